#include "models/backtest.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>

namespace treu {

PredictionAccuracy ComparePredictions(std::span<const double> predicted, std::span<const double> actual) {
  PredictionAccuracy a;
  a.customers = predicted.size();
  if (predicted.empty()) return a;
  double sp = 0, sa = 0, spp = 0, saa = 0, spa = 0, abs_err = 0, sq_err = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i) {
    const double p = predicted[i], y = actual[i];
    sp += p;
    sa += y;
    spp += p * p;
    saa += y * y;
    spa += p * y;
    abs_err += std::abs(p - y);
    sq_err += (p - y) * (p - y);
  }
  const double n = static_cast<double>(predicted.size());
  a.predicted_total = sp;
  a.actual_total = sa;
  a.mae = abs_err / n;
  a.rmse = std::sqrt(sq_err / n);
  const double cov = spa - sp * sa / n, vp = spp - sp * sp / n, va = saa - sa * sa / n;
  a.correlation = vp > 0 && va > 0 ? cov / std::sqrt(vp * va) : NAN;
  return a;
}

std::vector<TrackingPoint> TrackRepeatPurchases(std::span<const double> first_purchase,
                                                std::span<const double> repeat_times,
                                                const std::function<double(double)>& expected_new,
                                                double period_length, int periods) {
  std::vector<TrackingPoint> out(static_cast<std::size_t>(std::max(periods, 0)));
  for (std::size_t k = 0; k < out.size(); ++k) out[k].period = static_cast<int>(k) + 1;
  for (double t : repeat_times) {
    const auto k = static_cast<std::int64_t>(std::floor(t / period_length));
    if (k >= 0 && k < periods) out[static_cast<std::size_t>(k)].actual += 1;
  }
  std::map<double, double> cohorts;  // first-purchase time → customers
  for (double f : first_purchase) cohorts[f] += 1;
  for (const auto& [f, n] : cohorts) {
    double before = 0;  // E[X] up to the start of the period
    for (std::size_t k = 0; k < out.size(); ++k) {
      const double end = static_cast<double>(k + 1) * period_length - f;
      if (end <= 0) continue;
      const double upto = expected_new(end);
      out[k].predicted += n * (upto - before);
      before = upto;
    }
  }
  return out;
}

}  // namespace treu
