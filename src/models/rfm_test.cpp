#include "models/rfm.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace treu {
namespace {

TEST(RfmTest, DistinctValuesFallIntoQuintiles) {
  // Ten customers with distinct values: two per quintile.
  std::vector<RfmInput> in;
  for (int i = 0; i < 10; ++i) in.push_back({double(100 - 10 * i), double(i + 1), double(10 * (i + 1))});
  const auto s = ScoreRfm(in);
  const int expected[] = {1, 1, 2, 2, 3, 3, 4, 4, 5, 5};
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(s[i].r, expected[i]) << i;  // recency 100 days is the worst
    EXPECT_EQ(s[i].f, expected[i]) << i;
    EXPECT_EQ(s[i].m, expected[i]) << i;
  }
  EXPECT_EQ(s[0].segment, RfmSegment::kLost);
  EXPECT_EQ(s[9].segment, RfmSegment::kChampions);
}

TEST(RfmTest, TiesShareAScore) {
  // Six one-time buyers and four repeat buyers: all one-timers get F = 1, the next F = 4.
  std::vector<RfmInput> in;
  for (int i = 0; i < 6; ++i) in.push_back({10, 1, 50});
  for (int i = 0; i < 4; ++i) in.push_back({10, double(2 + i), 50});
  const auto s = ScoreRfm(in);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(s[i].f, 1);
  EXPECT_EQ(s[6].f, 4);  // 6 of 10 worse: 1 + ⌊3⌋
  EXPECT_EQ(s[7].f, 4);  // 7 of 10
  EXPECT_EQ(s[8].f, 5);
  EXPECT_EQ(s[9].f, 5);
  for (const auto& x : s) {
    EXPECT_EQ(x.r, 1);  // everyone equal: nobody is worse
    EXPECT_EQ(x.m, 1);
  }
  EXPECT_TRUE(ScoreRfm({}).empty());
}

TEST(RfmTest, TheMapNamesEverySegmentAndFollowsTheTable) {
  EXPECT_EQ(RfmSegmentOf(5, 1), RfmSegment::kNew);
  EXPECT_EQ(RfmSegmentOf(4, 1), RfmSegment::kPromising);
  EXPECT_EQ(RfmSegmentOf(5, 5), RfmSegment::kChampions);
  EXPECT_EQ(RfmSegmentOf(4, 4), RfmSegment::kLoyal);
  EXPECT_EQ(RfmSegmentOf(3, 3), RfmSegment::kNeedAttention);
  EXPECT_EQ(RfmSegmentOf(3, 1), RfmSegment::kAboutToSleep);
  EXPECT_EQ(RfmSegmentOf(2, 4), RfmSegment::kAtRisk);
  EXPECT_EQ(RfmSegmentOf(1, 5), RfmSegment::kCannotLoseThem);
  EXPECT_EQ(RfmSegmentOf(2, 2), RfmSegment::kHibernating);
  EXPECT_EQ(RfmSegmentOf(1, 1), RfmSegment::kLost);
  EXPECT_EQ(RfmSegmentOf(5, 3), RfmSegment::kPotentialLoyalists);
  std::set<RfmSegment> seen;
  for (int r = 1; r <= 5; ++r) {
    for (int fm = 1; fm <= 5; ++fm) seen.insert(RfmSegmentOf(r, fm));
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kRfmSegments));
  EXPECT_EQ(RfmSegmentName(RfmSegment::kCannotLoseThem), "cannot_lose_them");
  EXPECT_EQ(RfmSegmentTitle(RfmSegment::kPotentialLoyalists), "Potential loyalists");
}

}  // namespace
}  // namespace treu
