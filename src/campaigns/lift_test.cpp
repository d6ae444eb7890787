#include "campaigns/lift.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace treu::campaigns {
namespace {

// Newcombe, "Two-sided confidence intervals for the single proportion" (Stat Med 1998;17:857),
// example 81/263: Wilson's interval 0.2553 to 0.3662.
TEST(WilsonInterval, MatchesNewcombe) {
  const Interval i = WilsonInterval({81, 263});
  EXPECT_NEAR(i.low, 0.2553, 5e-5);
  EXPECT_NEAR(i.high, 0.3662, 5e-5);
  const Interval none = WilsonInterval({0, 0});
  EXPECT_EQ(none.low, 0);
  EXPECT_EQ(none.high, 1);
  const Interval zero = WilsonInterval({0, 20});
  EXPECT_EQ(zero.low, 0);
  EXPECT_GT(zero.high, 0.1);
}

// Newcombe, "Interval estimation for the difference between independent proportions"
// (Stat Med 1998;17:873), Table II, method 10: 56/70 − 48/80 → 0.0524 to 0.3339 and
// 9/10 − 3/10 → 0.1705 to 0.8090.
TEST(RateLift, MatchesNewcombeMethod10) {
  auto a = RateLift({56, 70}, {48, 80});
  ASSERT_TRUE(a.has_value());
  EXPECT_DOUBLE_EQ(a->difference, 0.2);
  EXPECT_NEAR(a->interval.low, 0.0524, 5e-5);
  EXPECT_NEAR(a->interval.high, 0.3339, 5e-5);
  EXPECT_TRUE(a->significant);
  ASSERT_TRUE(a->relative.has_value());
  EXPECT_NEAR(*a->relative, 0.2 / 0.6, 1e-12);
  // The pooled z test by hand: p = 104/150, z = 0.2 / sqrt(p(1−p)(1/70 + 1/80)) = 2.6502,
  // two-sided p = 0.00805.
  EXPECT_NEAR(a->p_value, 0.00805, 5e-5);

  auto c = RateLift({9, 10}, {3, 10});
  ASSERT_TRUE(c.has_value());
  EXPECT_NEAR(c->interval.low, 0.1705, 5e-5);
  EXPECT_NEAR(c->interval.high, 0.8090, 5e-5);
}

TEST(RateLift, NoEffectAndEdges) {
  auto same = RateLift({100, 1000}, {10, 100});
  ASSERT_TRUE(same.has_value());
  EXPECT_DOUBLE_EQ(same->difference, 0);
  EXPECT_LT(same->interval.low, 0);
  EXPECT_GT(same->interval.high, 0);
  EXPECT_FALSE(same->significant);
  EXPECT_NEAR(same->p_value, 1.0, 1e-12);
  // A holdout that never converted: no relative lift, the difference still has an interval.
  auto zero = RateLift({5, 100}, {0, 50});
  ASSERT_TRUE(zero.has_value());
  EXPECT_FALSE(zero->relative.has_value());
  EXPECT_LT(zero->interval.low, zero->difference);
  EXPECT_FALSE(RateLift({5, 100}, {0, 0}).has_value());
  EXPECT_FALSE(RateLift({0, 0}, {5, 100}).has_value());
}

// R: t.test(extra ~ group, data = sleep) (Welch) gives a difference of means of −1.58 with the
// 95 % interval −3.3654832 to 0.2054832, t = −1.8608, df = 17.776, p = 0.07939.
TEST(MeanLift, MatchesRsWelchTest) {
  Sample one, two;
  for (double x : {0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0}) one.Add(x);
  for (double x : {1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4}) two.Add(x);
  auto l = MeanLift(one, two);
  ASSERT_TRUE(l.has_value());
  EXPECT_NEAR(l->difference, -1.58, 1e-12);
  EXPECT_NEAR(l->interval.low, -3.3654832, 1e-6);
  EXPECT_NEAR(l->interval.high, 0.2054832, 1e-6);
  EXPECT_NEAR(l->p_value, 0.07939, 5e-6);
  EXPECT_FALSE(l->significant);
  EXPECT_FALSE(MeanLift(one, Sample{}).has_value());
}

TEST(MeanLift, ConstantGroups) {
  Sample a, b;
  for (int i = 0; i < 5; ++i) a.Add(10), b.Add(4);
  auto l = MeanLift(a, b);
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->interval.low, 6);
  EXPECT_EQ(l->interval.high, 6);
  EXPECT_TRUE(l->significant);
}

TEST(PickWinner, HighestRateAndWhetherItIsClear) {
  std::vector<Proportion> clear{{48, 80}, {56, 70}};
  Winner w = PickWinner(clear);
  EXPECT_EQ(w.variant, 1);
  EXPECT_NEAR(w.p_value, 0.00805, 5e-5);
  EXPECT_TRUE(w.significant);
  std::vector<Proportion> close{{50, 1000}, {52, 1000}, {10, 1000}};
  w = PickWinner(close);
  EXPECT_EQ(w.variant, 1);
  EXPECT_FALSE(w.significant);  // against the runner-up, not the worst
  std::vector<Proportion> tie{{5, 100}, {5, 100}};
  EXPECT_EQ(PickWinner(tie).variant, 0);
  std::vector<Proportion> one{{5, 100}};
  EXPECT_EQ(PickWinner(one).variant, 0);
}

}  // namespace
}  // namespace treu::campaigns
