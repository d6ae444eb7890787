// Back-testing a purchase model: its predictions for a holdout period against what customers
// then did — per customer (error and correlation) and in aggregate over time (the tracking
// series of Fader, Hardie & Lee's figures).
#pragma once

#include <functional>
#include <span>
#include <vector>

namespace treu {

struct PredictionAccuracy {
  std::size_t customers = 0;
  double predicted_total = 0, actual_total = 0;
  double mae = 0;          // mean absolute error per customer
  double rmse = 0;
  double correlation = 0;  // Pearson; NaN when either side is constant
};
// REQUIRES: predicted.size() == actual.size().
PredictionAccuracy ComparePredictions(std::span<const double> predicted, std::span<const double> actual);

struct TrackingPoint {
  int period = 0;  // 1-based
  double actual = 0, predicted = 0;
};
// Repeat purchases per period of `period_length` units from time 0: actual counts of
// `repeat_times` (units since time 0) against the model's expectation Σ_c E[X(end − f_c)] −
// E[X(start − f_c)] over the customers' first-purchase times f_c (units since time 0), with
// `expected_new(t)` the expected repeat purchases in (0, t] of a new customer (0 for t <= 0).
// Customers with equal first-purchase times are evaluated once.
std::vector<TrackingPoint> TrackRepeatPurchases(std::span<const double> first_purchase,
                                                std::span<const double> repeat_times,
                                                const std::function<double(double)>& expected_new,
                                                double period_length, int periods);

}  // namespace treu
