#include "analytics/predictions.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <tuple>

namespace treu {
namespace {

CivilDate UtcDay(Timestamp t) {
  return CivilFromDays(t.micros >= 0 ? t.micros / kMicrosPerDay : (t.micros - kMicrosPerDay + 1) / kMicrosPerDay);
}

std::int64_t DayOf(std::int64_t micros) {
  return micros >= 0 ? micros / kMicrosPerDay : (micros - kMicrosPerDay + 1) / kMicrosPerDay;
}

double MinorPerMajor(const Snapshot& s) { return std::pow(10.0, s.currency().exponent()); }

std::vector<std::pair<std::string, double>> Named(std::span<const std::string_view> names,
                                                  std::span<const double> values) {
  std::vector<std::pair<std::string, double>> out;
  for (std::size_t i = 0; i < names.size(); ++i) out.emplace_back(std::string(names[i]), values[i]);
  return out;
}

Result<double> Param(const ModelRun& run, std::string_view name) {
  for (const auto& [n, v] : run.params) {
    if (n == name) return v;
  }
  return FailedPrecondition("model run " + std::to_string(run.id), "has no parameter " + std::string(name));
}

// Spend summaries of the customers with repeat purchases of positive value (major units).
std::vector<SpendSummary> SpendData(const PurchaseData& d, double minor_per_major) {
  std::vector<SpendSummary> out;
  for (const CustomerSummary& c : d.summaries) {
    if (c.rft.x > 0 && c.mean_repeat_value > 0) out.push_back({c.rft.x, c.mean_repeat_value / minor_per_major});
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> ParseModelList(std::string_view field, std::string_view name) {
  if (name == "all") return std::vector<std::string>(std::begin(kFittableModels), std::end(kFittableModels));
  for (std::string_view m : kFittableModels) {
    if (m == name) return std::vector<std::string>{std::string(m)};
  }
  return InvalidArgument(std::string(field), "'" + std::string(name) +
                                                 "' is not a model: use bgnbd, pareto_nbd, mbgnbd, "
                                                 "gamma_gamma or all");
}

PurchaseData SummarizeSnapshot(const Snapshot& s, CivilDate calibration_end, double unit_days) {
  PurchaseData d;
  d.calibration_end = calibration_end;
  d.unit_days = unit_days;
  for (Snapshot::Index c = 0; c < s.customers(); ++c) {
    auto summary = SummarizePurchases(s.order_times(c), s.order_totals(c), calibration_end, unit_days);
    if (!summary) continue;
    d.customers.push_back(c);
    d.summaries.push_back(*summary);
  }
  return d;
}

Result<ModelRun> FitModel(const Snapshot& s, const FitRequest& request, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(auto models, ParseModelList("model", request.model));
  if (models.size() != 1) return InvalidArgument("model", "fit one model at a time");
  if (request.unit_days != 7 && request.unit_days != 1) {
    return InvalidArgument("unit", "must be week or day");
  }
  ModelRun run;
  run.workspace = s.workspace().id;
  run.model = request.model;
  run.calibration_end = request.calibration_end.value_or(UtcDay(now));
  run.unit_days = request.unit_days;
  run.created_at = now;
  const auto started = std::chrono::steady_clock::now();
  const PurchaseData data = SummarizeSnapshot(s, run.calibration_end, run.unit_days);
  if (data.summaries.empty()) {
    return InvalidArgument("calibration_end", "no customer has an order on or before " +
                                                  FormatDate(run.calibration_end));
  }
  std::vector<PurchaseSummary> rft;
  std::vector<SpendSummary> spend;
  if (request.model == "gamma_gamma") {
    spend = SpendData(data, MinorPerMajor(s));
  } else {
    rft.reserve(data.summaries.size());
    for (const CustomerSummary& c : data.summaries) rft.push_back(c.rft);
  }
  TREU_RETURN_IF_ERROR(FitInto(run, rft, spend));
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  run.status = JobStatus::kSucceeded;
  run.finished_at = now;
  return run;
}

Status FitInto(ModelRun& run, std::span<const PurchaseSummary> rft, std::span<const SpendSummary> spend) {
  if (run.model == "gamma_gamma") {
    TREU_ASSIGN_OR_RETURN(GammaGammaFit fit, FitGammaGamma(spend));
    const std::string_view names[] = {"p", "q", "gamma"};
    const double values[] = {fit.params.p, fit.params.q, fit.params.gamma};
    run.params = Named(names, values);
    run.std_errors = Named(names, fit.std_errors);
    run.log_likelihood = fit.log_likelihood;
    run.customers = static_cast<std::int64_t>(spend.size());
    run.evaluations = fit.evaluations;
  } else {
    TREU_ASSIGN_OR_RETURN(PurchaseModel kind, ParsePurchaseModel(run.model));
    TREU_ASSIGN_OR_RETURN(PurchaseModelFit fit, FitPurchaseModel(kind, rft));
    const auto names = PurchaseModelParamNames(kind);
    run.params = Named(names, fit.params.values);
    run.std_errors = Named(names, fit.std_errors);
    run.log_likelihood = fit.log_likelihood;
    run.customers = static_cast<std::int64_t>(rft.size());
    run.evaluations = fit.evaluations;
  }
  run.status = JobStatus::kSucceeded;
  return Ok();
}

Result<PurchaseModelParams> PurchaseParamsOf(const ModelRun& run) {
  TREU_ASSIGN_OR_RETURN(PurchaseModel kind, ParsePurchaseModel(run.model));
  PurchaseModelParams p{kind, {}};
  const auto names = PurchaseModelParamNames(kind);
  for (std::size_t i = 0; i < 4; ++i) {
    TREU_ASSIGN_OR_RETURN(p.values[i], Param(run, names[i]));
  }
  return p;
}

Result<GammaGammaParams> SpendParamsOf(const ModelRun& run) {
  if (run.model != "gamma_gamma") return InvalidArgument("model", "'" + run.model + "' is not a spend model");
  GammaGammaParams g;
  TREU_ASSIGN_OR_RETURN(g.p, Param(run, "p"));
  TREU_ASSIGN_OR_RETURN(g.q, Param(run, "q"));
  TREU_ASSIGN_OR_RETURN(g.gamma, Param(run, "gamma"));
  return g;
}

Result<CustomerPredictions> PredictCustomers(const Snapshot& s, const ModelRun& purchase,
                                             const std::optional<ModelRun>& spend, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(PurchaseModelParams params, PurchaseParamsOf(purchase));
  std::optional<GammaGammaParams> gg;
  if (spend) {
    TREU_ASSIGN_OR_RETURN(gg, SpendParamsOf(*spend));
    if (!(gg->q > 1)) gg.reset();  // no finite expected spend
  }
  CustomerPredictions out;
  out.purchase_run = purchase.id;
  out.spend_run = gg ? spend->id : 0;
  out.purchase_model = purchase.model;
  out.as_of = UtcDay(now);
  const std::size_t n = s.customers();
  out.p_alive.assign(n, NAN);
  out.expected_purchases_90d.assign(n, NAN);
  out.expected_value.assign(n, NAN);
  out.clv_12m.assign(n, NAN);
  out.rfm_r.assign(n, 0);
  out.rfm_f.assign(n, 0);
  out.rfm_m.assign(n, 0);
  out.rfm_segment.assign(n, std::nullopt);
  const double unit = purchase.unit_days, minor = MinorPerMajor(s);
  const std::int64_t today = DaysFromCivil(out.as_of);
  const ClvOptions clv{12, 0.01, unit};
  // The buyers' histories as of today, with their RFM inputs.
  std::vector<Snapshot::Index> buyers;
  std::vector<CustomerSummary> histories;
  std::vector<RfmInput> rfm;
  for (Snapshot::Index c = 0; c < n; ++c) {
    const auto times = s.order_times(c), totals = s.order_totals(c);
    auto summary = SummarizePurchases(times, totals, out.as_of, unit);
    if (!summary) continue;
    std::int64_t last = 0, count = 0, money = 0;
    for (std::size_t i = 0; i < times.size() && DayOf(times[i]) <= today; ++i) {
      last = DayOf(times[i]);
      ++count;
      money += totals[i];
    }
    buyers.push_back(c);
    histories.push_back(*summary);
    rfm.push_back({static_cast<double>(today - last), static_cast<double>(count), static_cast<double>(money) / minor});
  }
  // The purchase model per distinct (x, t_x, T): day-granular histories repeat a lot.
  std::vector<std::uint32_t> order(buyers.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](std::uint32_t i) { return std::tie(histories[i].rft.x, histories[i].rft.t_x, histories[i].rft.T); };
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return key(a) < key(b); });
  double clv_sum = 0, clv_count = 0;
  double alive = 0, e90 = 0, discounted = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const std::uint32_t i = order[k];
    const PurchaseSummary& h = histories[i].rft;
    if (k == 0 || key(order[k - 1]) != key(i)) {
      const Forecast f = ForecastHistory(params, h, 90 / unit, clv);
      alive = f.p_alive;
      e90 = f.expected_purchases;
      discounted = f.discounted_purchases;
    }
    const Snapshot::Index c = buyers[i];
    out.p_alive[c] = alive;
    out.expected_purchases_90d[c] = e90;
    if (gg) {
      out.expected_value[c] = GammaGammaExpectedValue(*gg, {h.x, histories[i].mean_repeat_value / minor});
      out.clv_12m[c] = out.expected_value[c] * discounted;
      clv_sum += out.clv_12m[c];
      clv_count += 1;
    }
  }
  const auto scores = ScoreRfm(rfm);
  for (std::size_t i = 0; i < buyers.size(); ++i) {
    const Snapshot::Index c = buyers[i];
    out.rfm_r[c] = static_cast<std::uint8_t>(scores[i].r);
    out.rfm_f[c] = static_cast<std::uint8_t>(scores[i].f);
    out.rfm_m[c] = static_cast<std::uint8_t>(scores[i].m);
    out.rfm_segment[c] = scores[i].segment;
  }
  if (clv_count > 0) out.clv_mean = clv_sum / clv_count;
  return out;
}

Result<PredictionRuns> LatestRuns(Store& store, const Workspace& ws) {
  auto newest = [&](std::string_view model) -> Result<std::optional<ModelRun>> {
    TREU_ASSIGN_OR_RETURN(auto runs, store.ListModelRuns(ws.id, model, 50));
    for (ModelRun& r : runs) {
      if (r.status == JobStatus::kSucceeded) return std::optional<ModelRun>(std::move(r));
    }
    return std::optional<ModelRun>();
  };
  const std::string_view model = PurchaseModelName(ws.purchase_model);
  TREU_ASSIGN_OR_RETURN(auto purchase, newest(model));
  if (!purchase) {
    return FailedPrecondition("predictions", "the workspace's purchase model " + std::string(model) +
                                                 " has not been fitted yet: run `treu fit " +
                                                 std::string(model) + "` (or `treu fit all`)");
  }
  TREU_ASSIGN_OR_RETURN(auto spend, newest("gamma_gamma"));
  return PredictionRuns{std::move(*purchase), std::move(spend)};
}

Result<BacktestReport> Backtest(const Snapshot& s, std::string_view model, CivilDate calibration_end,
                                double unit_days, Timestamp now) {
  if (model != "bgnbd" && model != "pareto_nbd" && model != "mbgnbd") {
    return InvalidArgument("model", "'" + std::string(model) + "' is not a purchase model: use bgnbd, "
                                                               "pareto_nbd or mbgnbd");
  }
  std::int64_t last_day = INT64_MIN;
  for (Snapshot::Index c = 0; c < s.customers(); ++c) {
    const auto times = s.order_times(c);
    if (!times.empty()) last_day = std::max(last_day, DayOf(times.back()));
  }
  const std::int64_t end_day = DaysFromCivil(calibration_end);
  if (last_day == INT64_MIN || last_day <= end_day) {
    return InvalidArgument("calibration_end", "must lie before the last order day, so that there is a "
                                              "holdout period to compare with");
  }
  BacktestReport r;
  TREU_ASSIGN_OR_RETURN(r.fit, FitModel(s, {std::string(model), calibration_end, unit_days}, now));
  TREU_ASSIGN_OR_RETURN(PurchaseModelParams params, PurchaseParamsOf(r.fit));
  r.holdout_end = CivilFromDays(last_day);
  r.holdout_units = static_cast<double>(last_day - end_day) / unit_days;
  const PurchaseData data = SummarizeSnapshot(s, calibration_end, unit_days);
  std::vector<double> predicted, actual, first, repeats;
  std::int64_t first_day = INT64_MAX;
  for (Snapshot::Index c : data.customers) first_day = std::min(first_day, DayOf(s.order_times(c).front()));
  r.first_day = CivilFromDays(first_day);
  for (std::size_t i = 0; i < data.customers.size(); ++i) {
    const CustomerSummary& h = data.summaries[i];
    predicted.push_back(ExpectedPurchases(params, h.rft, r.holdout_units));
    actual.push_back(static_cast<double>(h.holdout_purchases));
    std::int64_t previous = INT64_MIN;
    for (std::int64_t t : s.order_times(data.customers[i])) {
      const std::int64_t day = DayOf(t);
      if (previous == INT64_MIN) {
        first.push_back(static_cast<double>(day - first_day) / unit_days);
      } else if (day != previous) {
        repeats.push_back(static_cast<double>(day - first_day) / unit_days);
      }
      previous = day;
    }
  }
  r.accuracy = ComparePredictions(predicted, actual);
  const int weeks = static_cast<int>((last_day - first_day) / 7 + 1);
  r.weekly = TrackRepeatPurchases(first, repeats, [&](double t) { return ExpectedPurchasesNew(params, t); },
                                  7 / unit_days, weeks);
  return r;
}

}  // namespace treu
