// The statistics of campaign reports: how much a campaign changed what its recipients did,
// against the holdout that got nothing, with a confidence interval; and which A/B variant won.
//
// Rates (converted, ordered, retained) use Newcombe's hybrid score interval for the difference
// of two independent proportions (method 10 of Newcombe 1998, built on Wilson intervals), which
// holds up for small groups and rates near 0 or 1 where the textbook Wald interval does not.
// Means (revenue per customer) use Welch's t interval, which doesn't assume equal variances.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace treu::campaigns {

struct Proportion {
  std::int64_t successes = 0;
  std::int64_t trials = 0;
  double rate() const { return trials > 0 ? static_cast<double>(successes) / static_cast<double>(trials) : 0.0; }
};

struct Interval {
  double low = 0;
  double high = 0;
};

// Wilson's score interval of one proportion; {0, 1} for no trials. confidence in (0, 1).
Interval WilsonInterval(Proportion p, double confidence = 0.95);

struct Lift {
  double treated = 0;           // rate or mean of the recipients
  double holdout = 0;           // of the holdout
  double difference = 0;        // treated − holdout
  std::optional<double> relative;  // difference / holdout; none when the holdout's is 0
  Interval interval;            // of the difference
  double p_value = 1;           // two-sided, of no difference
  bool significant = false;     // the interval excludes 0
};

// Difference of two rates; nullopt when either group is empty.
std::optional<Lift> RateLift(Proportion treated, Proportion holdout, double confidence = 0.95);

// A sample by its sums: n, Σx and Σx².
struct Sample {
  std::int64_t n = 0;
  double sum = 0;
  double sum_squares = 0;
  void Add(double x) {
    ++n;
    sum += x;
    sum_squares += x * x;
  }
};

// Difference of two means (Welch); nullopt when either group has fewer than two values.
std::optional<Lift> MeanLift(const Sample& treated, const Sample& holdout, double confidence = 0.95);

struct Winner {
  int variant = 0;        // the highest rate; ties go to the lower index
  double p_value = 1;     // two-sided, of the best against the runner-up (pooled z test)
  bool significant = false;  // p_value < 1 − confidence
};

// The A/B winner among variants (at least one); a variant with no trials has rate 0.
Winner PickWinner(std::span<const Proportion> variants, double confidence = 0.95);

}  // namespace treu::campaigns
