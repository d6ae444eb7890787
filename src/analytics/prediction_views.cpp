#include "analytics/prediction_views.hpp"

#include <algorithm>
#include <cmath>

#include "models/backtest.hpp"

namespace treu {

Distribution DistributionOf(std::span<const double> values, int bins, std::optional<double> lo,
                            std::optional<double> hi) {
  Distribution d;
  std::vector<double> v;
  v.reserve(values.size());
  for (double x : values) {
    if (!std::isnan(x)) v.push_back(x);
  }
  d.n = static_cast<std::int64_t>(v.size());
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  d.mean = sum / static_cast<double>(v.size());
  const std::size_t mid = v.size() / 2;
  d.median = v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  const double from = lo.value_or(v.front());
  double to = hi.value_or(v.back());
  if (to <= from) to = from + 1;  // all values equal: one unit wide
  const double width = (to - from) / bins;
  d.bins.resize(static_cast<std::size_t>(bins));
  for (int b = 0; b < bins; ++b) {
    d.bins[static_cast<std::size_t>(b)].lo = from + width * b;
    d.bins[static_cast<std::size_t>(b)].hi = b + 1 == bins ? to : from + width * (b + 1);
  }
  for (double x : v) {
    int b = static_cast<int>(std::floor((x - from) / width));
    b = std::clamp(b, 0, bins - 1);
    ++d.bins[static_cast<std::size_t>(b)].count;
  }
  return d;
}

PredictionDistributions DistributionsOf(const CustomerPredictions& p, int bins) {
  PredictionDistributions out;
  out.p_alive = DistributionOf(p.p_alive, bins, 0.0, 1.0);
  out.n = out.p_alive.n;
  out.expected_purchases_90d = DistributionOf(p.expected_purchases_90d, bins, 0.0);
  if (p.spend_run != 0) out.clv_12m = DistributionOf(p.clv_12m, bins);
  return out;
}

Result<RunTracking> TrackRun(const Snapshot& s, const ModelRun& run) {
  if (run.status != JobStatus::kSucceeded) return InvalidArgument("run", "has not succeeded");
  if (run.model != "bgnbd" && run.model != "pareto_nbd" && run.model != "mbgnbd") {
    return InvalidArgument("run", "is a run of " + run.model + ", not of a purchase model");
  }
  TREU_ASSIGN_OR_RETURN(PurchaseModelParams params, PurchaseParamsOf(run));
  RunTracking r;
  r.unit_days = run.unit_days;
  r.calibration_end = run.calibration_end;
  const PurchaseData data = SummarizeSnapshot(s, run.calibration_end, run.unit_days);
  if (data.customers.empty()) return r;
  auto day_of = [](std::int64_t micros) {
    return micros >= 0 ? micros / kMicrosPerDay : -((-micros + kMicrosPerDay - 1) / kMicrosPerDay);
  };
  std::int64_t first_day = INT64_MAX, last_day = INT64_MIN;
  for (Snapshot::Index c : data.customers) {
    first_day = std::min(first_day, day_of(s.order_times(c).front()));
    last_day = std::max(last_day, day_of(s.order_times(c).back()));
  }
  r.first_day = CivilFromDays(first_day);
  std::vector<double> first, repeats;
  for (Snapshot::Index c : data.customers) {
    std::int64_t previous = INT64_MIN;
    for (std::int64_t t : s.order_times(c)) {
      const std::int64_t day = day_of(t);
      if (previous == INT64_MIN) {
        first.push_back(static_cast<double>(day - first_day) / run.unit_days);
      } else if (day != previous) {
        repeats.push_back(static_cast<double>(day - first_day) / run.unit_days);
      }
      previous = day;
    }
  }
  const auto period_days = static_cast<std::int64_t>(run.unit_days);
  const int periods = static_cast<int>((last_day - first_day) / period_days + 1);
  const auto points = TrackRepeatPurchases(first, repeats, [&](double t) { return ExpectedPurchasesNew(params, t); },
                                           1.0, periods);
  double actual = 0, predicted = 0;
  for (const TrackingPoint& p : points) {
    actual += p.actual;
    predicted += p.predicted;
    RunTracking::Point out;
    out.period_start = CivilFromDays(first_day + period_days * (p.period - 1));
    out.actual = p.actual;
    out.predicted = p.predicted;
    out.actual_cumulative = actual;
    out.predicted_cumulative = predicted;
    r.points.push_back(out);
  }
  return r;
}

}  // namespace treu
