#include "models/rfm.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace treu {
namespace {

struct SegmentName {
  RfmSegment segment;
  std::string_view name, title;
};
constexpr SegmentName kNames[kRfmSegments] = {
    {RfmSegment::kChampions, "champions", "Champions"},
    {RfmSegment::kLoyal, "loyal", "Loyal"},
    {RfmSegment::kPotentialLoyalists, "potential_loyalists", "Potential loyalists"},
    {RfmSegment::kNew, "new", "New"},
    {RfmSegment::kPromising, "promising", "Promising"},
    {RfmSegment::kNeedAttention, "need_attention", "Need attention"},
    {RfmSegment::kAboutToSleep, "about_to_sleep", "About to sleep"},
    {RfmSegment::kAtRisk, "at_risk", "At risk"},
    {RfmSegment::kCannotLoseThem, "cannot_lose_them", "Cannot lose them"},
    {RfmSegment::kHibernating, "hibernating", "Hibernating"},
    {RfmSegment::kLost, "lost", "Lost"},
};

using S = RfmSegment;
// kMap[5 - r][fm - 1]: the table in rfm.hpp.
constexpr RfmSegment kMap[5][5] = {
    {S::kNew, S::kPotentialLoyalists, S::kPotentialLoyalists, S::kChampions, S::kChampions},
    {S::kPromising, S::kPotentialLoyalists, S::kPotentialLoyalists, S::kLoyal, S::kChampions},
    {S::kAboutToSleep, S::kAboutToSleep, S::kNeedAttention, S::kLoyal, S::kLoyal},
    {S::kHibernating, S::kHibernating, S::kAtRisk, S::kAtRisk, S::kCannotLoseThem},
    {S::kLost, S::kLost, S::kHibernating, S::kAtRisk, S::kCannotLoseThem},
};

// Scores one dimension: `better(a, b)` is true when a is the better value.
template <typename Key>
void Score(std::span<const RfmInput> in, Key key, bool higher_is_better, std::vector<int>& out) {
  const std::size_t n = in.size();
  std::vector<double> sorted(n);
  for (std::size_t i = 0; i < n; ++i) sorted[i] = key(in[i]);
  std::sort(sorted.begin(), sorted.end());
  out.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double v = key(in[i]);
    // The customers with a strictly worse value.
    const std::size_t worse =
        higher_is_better
            ? static_cast<std::size_t>(std::lower_bound(sorted.begin(), sorted.end(), v) - sorted.begin())
            : static_cast<std::size_t>(sorted.end() - std::upper_bound(sorted.begin(), sorted.end(), v));
    out[i] = 1 + static_cast<int>(5 * worse / n);
  }
}

}  // namespace

std::string_view RfmSegmentName(RfmSegment s) { return kNames[static_cast<int>(s)].name; }
std::string_view RfmSegmentTitle(RfmSegment s) { return kNames[static_cast<int>(s)].title; }

RfmSegment RfmSegmentOf(int r, int fm) {
  r = std::clamp(r, 1, 5);
  fm = std::clamp(fm, 1, 5);
  return kMap[5 - r][fm - 1];
}

std::vector<RfmScore> ScoreRfm(std::span<const RfmInput> customers) {
  std::vector<int> r, f, m;
  Score(customers, [](const RfmInput& c) { return c.recency_days; }, false, r);
  Score(customers, [](const RfmInput& c) { return c.frequency; }, true, f);
  Score(customers, [](const RfmInput& c) { return c.monetary; }, true, m);
  std::vector<RfmScore> out(customers.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = {r[i], f[i], m[i], RfmSegmentOf(r[i], (f[i] + m[i] + 1) / 2)};
  }
  return out;
}

}  // namespace treu
