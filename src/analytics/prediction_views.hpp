// What the dashboard's prediction pages show of fitted models: the distribution of today's
// per-customer predictions, and the repeat-purchase tracking chart of a fitted run (actual
// against expected repeat purchases per period). Snapshot and runs in, numbers out.
#pragma once

#include <optional>
#include <vector>

#include "analytics/predictions.hpp"

namespace treu {

// A histogram of one prediction over the customers that have it.
struct Distribution {
  struct Bin {
    double lo = 0, hi = 0;  // [lo, hi); the last bin includes hi
    std::int64_t count = 0;
  };
  std::vector<Bin> bins;
  std::int64_t n = 0;  // values counted (NaN skipped)
  double mean = NAN, median = NAN;
};
// `bins` equal-width bins from `lo` to `hi` (nullopt: the smallest and largest value). With no
// value, bins are empty and mean and median NaN. REQUIRES: bins >= 1.
Distribution DistributionOf(std::span<const double> values, int bins, std::optional<double> lo = std::nullopt,
                            std::optional<double> hi = std::nullopt);

struct PredictionDistributions {
  std::int64_t n = 0;  // customers with predictions
  Distribution p_alive;                // bins over [0, 1]
  Distribution expected_purchases_90d;
  std::optional<Distribution> clv_12m;  // nullopt without a spend model
};
PredictionDistributions DistributionsOf(const CustomerPredictions& p, int bins);

// The tracking chart of a purchase model run: per period of the run's unit (weeks or days),
// from the day of the first order of the customers it was fitted on (those with an order on
// or before its calibration end) to the last order day, their repeat purchases (orders on a
// later day than the previous one) and the model's expectation Σ_c E[X(t − f_c)] differenced.
struct RunTracking {
  double unit_days = 7;
  CivilDate calibration_end;
  CivilDate first_day;
  struct Point {
    CivilDate period_start;
    double actual = 0, predicted = 0, actual_cumulative = 0, predicted_cumulative = 0;
  };
  std::vector<Point> points;
};
// InvalidArgument unless `run` is a succeeded run of a purchase model; empty points when no
// customer ordered by its calibration end.
Result<RunTracking> TrackRun(const Snapshot& s, const ModelRun& run);

}  // namespace treu
