// RFM: recency, frequency and monetary value scored 1 (worst) to 5 (best) by quintiles of the
// customers who have bought, and the named segments marketers use for them.
#pragma once

#include <span>
#include <string_view>
#include <vector>

namespace treu {

// One buyer: days since the last purchase, number of purchases, money spent (any unit).
struct RfmInput {
  double recency_days = 0;
  double frequency = 0;
  double monetary = 0;
};

enum class RfmSegment {
  kChampions,
  kLoyal,
  kPotentialLoyalists,
  kNew,
  kPromising,
  kNeedAttention,
  kAboutToSleep,
  kAtRisk,
  kCannotLoseThem,
  kHibernating,
  kLost,
};
inline constexpr int kRfmSegments = 11;
// snake_case id ("cannot_lose_them") and English title ("Cannot lose them").
std::string_view RfmSegmentName(RfmSegment s);
std::string_view RfmSegmentTitle(RfmSegment s);

struct RfmScore {
  int r = 0, f = 0, m = 0;  // 1..5
  RfmSegment segment = RfmSegment::kLost;
};

// Scores every input. A value's score is 1 + ⌊5 · (share of the customers with a strictly
// worse value)⌋: ties share a score, so when 60 % bought once they all get F = 1 and the
// next frequency starts at F = 4. Worse means a longer recency, a lower frequency or a lower
// monetary value. O(n log n).
std::vector<RfmScore> ScoreRfm(std::span<const RfmInput> customers);

// The segment of an R score and the FM score ⌈(F + M) / 2⌉ (both 1..5), by this map:
//
//          FM=1            FM=2                FM=3                FM=4              FM=5
//   R=5    New             Potential loyalists Potential loyalists Champions         Champions
//   R=4    Promising       Potential loyalists Potential loyalists Loyal             Champions
//   R=3    About to sleep  About to sleep      Need attention      Loyal             Loyal
//   R=2    Hibernating     Hibernating         At risk             At risk           Cannot lose them
//   R=1    Lost            Lost                Hibernating         At risk           Cannot lose them
RfmSegment RfmSegmentOf(int r, int fm);

}  // namespace treu
