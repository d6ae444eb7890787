#include "api/models_json.hpp"

#include <cmath>

namespace treu {

using nlohmann::json;

namespace {

json Number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json NamedJson(const std::vector<std::pair<std::string, double>>& values) {
  json out = json::object();
  for (const auto& [name, v] : values) out[name] = Number(v);
  return out;
}

std::string_view UnitName(double unit_days) { return unit_days == 1 ? "day" : "week"; }

}  // namespace

json ModelRunJson(const ModelRun& run) {
  return {{"id", run.id},
          {"model", run.model},
          {"status", JobStatusName(run.status)},
          {"params", NamedJson(run.params)},
          {"std_errors", NamedJson(run.std_errors)},
          {"log_likelihood", run.status == JobStatus::kSucceeded ? Number(run.log_likelihood) : json(nullptr)},
          {"n_customers", run.customers},
          {"converged", run.status == JobStatus::kSucceeded},
          {"iterations", run.evaluations},
          {"calibration_end", FormatDate(run.calibration_end)},
          {"unit", UnitName(run.unit_days)},
          {"seconds", run.seconds},
          {"created_at", FormatTimestamp(run.created_at)},
          {"finished_at", run.finished_at ? json(FormatTimestamp(*run.finished_at)) : json(nullptr)},
          {"error", run.error.empty() ? json(nullptr) : json(run.error)}};
}

std::string AliveSummary(double p) {
  if (!std::isfinite(p)) return "no purchases yet";
  const int percent = static_cast<int>(std::lround(100 * p));
  const char* reading = p >= 0.7 ? "likely still active" : p >= 0.3 ? "may have lapsed" : "probably lapsed";
  return std::string(reading) + ": " + std::to_string(percent) + "%";
}

json CustomerPredictionJson(const Snapshot& s, const CustomerPredictions& p, Snapshot::Index c) {
  json rfm = nullptr;
  if (p.rfm_segment[c]) {
    rfm = {{"r", p.rfm_r[c]},
           {"f", p.rfm_f[c]},
           {"m", p.rfm_m[c]},
           {"segment", RfmSegmentName(*p.rfm_segment[c])},
           {"segment_title", RfmSegmentTitle(*p.rfm_segment[c])}};
  }
  return {{"customer_id", s.external_id(c)},
          {"as_of", FormatDate(p.as_of)},
          {"model", p.purchase_model},
          {"model_run", p.purchase_run},
          {"spend_model_run", p.spend_run == 0 ? json(nullptr) : json(p.spend_run)},
          {"p_alive", Number(p.p_alive[c])},
          {"expected_purchases_90d", Number(p.expected_purchases_90d[c])},
          {"expected_value", Number(p.expected_value[c])},
          {"clv_12m", Number(p.clv_12m[c])},
          {"currency", s.currency().code()},
          {"rfm", rfm},
          {"summary", AliveSummary(p.p_alive[c])}};
}

json BacktestJson(const BacktestReport& r) {
  json weekly = json::array();
  for (const TrackingPoint& w : r.weekly) {
    const CivilDate start = CivilFromDays(DaysFromCivil(r.first_day) + 7 * (w.period - 1));
    weekly.push_back({{"week", w.period}, {"start", FormatDate(start)}, {"actual", w.actual},
                      {"predicted", w.predicted}});
  }
  return {{"model", r.fit.model},
          {"fit", ModelRunJson(r.fit)},
          {"calibration_end", FormatDate(r.fit.calibration_end)},
          {"holdout_end", FormatDate(r.holdout_end)},
          {"holdout_length", r.holdout_units},
          {"unit", UnitName(r.fit.unit_days)},
          {"customers", r.accuracy.customers},
          {"predicted_total", r.accuracy.predicted_total},
          {"actual_total", r.accuracy.actual_total},
          {"mae", Number(r.accuracy.mae)},
          {"rmse", Number(r.accuracy.rmse)},
          {"correlation", Number(r.accuracy.correlation)},
          {"weekly", weekly}};
}

}  // namespace treu
