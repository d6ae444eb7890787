// Per-customer purchase summaries for the purchase models: from a customer's purchase times
// and values, x (repeat purchases), t_x (time of the last one after the first), T (time from
// the first purchase to the calibration end) and m (mean value of the repeat purchases), in a
// model time unit. Purchases on the same day (UTC) count as one purchase of their summed value.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "core/time.hpp"
#include "models/bgnbd.hpp"

namespace treu {

struct CustomerSummary {
  PurchaseSummary rft;        // x, t_x, T
  double mean_repeat_value = 0;  // m, in minor units; 0 when x = 0
  std::int64_t holdout_purchases = 0;  // purchase days after the calibration end
};

// `times` sorted; `values` in minor units, one per time. The calibration period ends with the
// day `last_day` (UTC): purchases on it count, and times are whole days, so T runs from the
// first purchase day to `last_day` (the convention of Fader & Hardie's CDNOW data).
// `unit_days`: 7 for weeks, 1 for days. nullopt when the first purchase is after `last_day`.
std::optional<CustomerSummary> SummarizePurchases(std::span<const std::int64_t> times,
                                                  std::span<const std::int64_t> values,
                                                  CivilDate last_day, double unit_days);

}  // namespace treu
