#include "loyalty/program.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

namespace treu::loyalty {
namespace {

Timestamp Day(std::int64_t d) { return Timestamp{d * kMicrosPerDay}; }

EarnRule SpendRule(Milli rate, std::int64_t min_order_minor = 0) {
  EarnRule r;
  r.id = "spend";
  r.kind = EarnRuleKind::kSpend;
  r.points_per_unit = rate;
  r.min_order_minor = min_order_minor;
  return r;
}

TEST(ParseMilliTest, ParsesUpToThreePlaces) {
  EXPECT_EQ(ParseMilli("1"), 1000);
  EXPECT_EQ(ParseMilli("1.5"), 1500);
  EXPECT_EQ(ParseMilli("0.125"), 125);
  EXPECT_EQ(ParseMilli("2.50"), 2500);
  EXPECT_EQ(ParseMilli("0"), 0);
  EXPECT_EQ(ParseMilli("100"), 100'000);
  // Zeros beyond the third place change nothing.
  EXPECT_EQ(ParseMilli("1.5000"), 1500);
}

TEST(ParseMilliTest, RefusesMorePlacesSignsAndGarbage) {
  for (const char* bad : {"1.2345", "-1", "-0.5", "abc", "", "1e3", "1,5", " 1", "."}) {
    auto m = ParseMilli(bad);
    ASSERT_FALSE(m) << bad;
    EXPECT_EQ(m.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ParseMilli("1.2345").error().detail(),
            "'1.2345' is not a decimal >= 0 with up to 3 places");
}

TEST(FormatMilliTest, DropsTrailingZeros) {
  EXPECT_EQ(FormatMilli(1500), "1.5");
  EXPECT_EQ(FormatMilli(1000), "1");
  EXPECT_EQ(FormatMilli(125), "0.125");
  EXPECT_EQ(FormatMilli(1250), "1.25");
  EXPECT_EQ(FormatMilli(0), "0");
  EXPECT_EQ(FormatMilli(10'000), "10");
  EXPECT_EQ(FormatMilli(100'010), "100.01");
  for (Milli m : {0, 1, 10, 100, 999, 1000, 1001, 123'456, 100'000})
    EXPECT_EQ(ParseMilli(FormatMilli(m)), m) << m;
}

TEST(CapPeriodTest, NamesRoundTrip) {
  for (CapPeriod p : {CapPeriod::kDay, CapPeriod::kWeek, CapPeriod::kMonth, CapPeriod::kYear}) {
    EXPECT_EQ(ParseCapPeriod(CapPeriodName(p)), p);
  }
  EXPECT_EQ(CapPeriodName(CapPeriod::kWeek), "week");
  EXPECT_FALSE(ParseCapPeriod("fortnight"));
  EXPECT_FALSE(ParseCapPeriod("Month"));
}

TEST(SpendPointsTest, IsExactAndRoundsDown) {
  // The header's example: 19.99 EUR at 1.5 points per EUR, 2× multiplier: floor(59.97) = 59.
  EXPECT_EQ(SpendPoints(SpendRule(1500), 1999, 2, 2000), 59);
  EXPECT_EQ(SpendPoints(SpendRule(1500), 1999, 2, kOne), 29);  // 29.985
  EXPECT_EQ(SpendPoints(SpendRule(1000), 1999, 2, kOne), 19);
  EXPECT_EQ(SpendPoints(SpendRule(1000), 2000, 2, kOne), 20);
  // Exactly representable products stay exact (a binary float would give 0.1 × 3 < 0.3).
  EXPECT_EQ(SpendPoints(SpendRule(100), 300, 2, kOne), 0);         // 0.3 points
  EXPECT_EQ(SpendPoints(SpendRule(100), 1000, 2, kOne), 1);        // 10 EUR at 0.1 = 1 point
  EXPECT_EQ(SpendPoints(SpendRule(125), 800, 2, 1500), 1);         // 8 × 0.125 × 1.5 = 1.5
  EXPECT_EQ(SpendPoints(SpendRule(333), 300'000, 2, 3000), 2997);  // 3000 × 0.333 × 3
}

TEST(SpendPointsTest, CurrencyDigits) {
  // JPY has no minor units: 1999 yen at 1.5 = 2998.5 → 2998.
  EXPECT_EQ(SpendPoints(SpendRule(1500), 1999, 0, kOne), 2998);
  // KWD has three: 1.999 KWD at 1.5 = 2.9985 → 2.
  EXPECT_EQ(SpendPoints(SpendRule(1500), 1999, 3, kOne), 2);
}

TEST(SpendPointsTest, MinimumOrderAndNonPositiveTotals) {
  const EarnRule r = SpendRule(kOne, 1000);
  EXPECT_EQ(SpendPoints(r, 999, 2, kOne), 0);
  EXPECT_EQ(SpendPoints(r, 1000, 2, kOne), 10);
  EXPECT_EQ(SpendPoints(r, 0, 2, kOne), 0);
  EXPECT_EQ(SpendPoints(SpendRule(kOne), -500, 2, kOne), 0);
}

TEST(SpendPointsTest, EventRulesGiveNoSpendPoints) {
  EarnRule r = SpendRule(kOne);
  r.kind = EarnRuleKind::kEvent;
  EXPECT_EQ(SpendPoints(r, 100'000, 2, kOne), 0);
}

TEST(SpendPointsTest, HugeTotalsDoNotOverflow) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(SpendPoints(SpendRule(100 * kOne), kMax, 0, 100 * kOne), 1'000'000'000);
  EXPECT_EQ(SpendPoints(SpendRule(1), kMax, 2, kOne), 1'000'000'000);
  // Just below the cap stays exact.
  EXPECT_EQ(SpendPoints(SpendRule(kOne), 99'999'999'900, 2, kOne), 999'999'999);
  EXPECT_EQ(SpendPoints(SpendRule(kOne), 100'000'000'000, 2, kOne), 1'000'000'000);
  EXPECT_EQ(SpendPoints(SpendRule(kOne), 100'000'000'100, 2, kOne), 1'000'000'000);
}

// Tiers bronze/silver/gold, rules spend and review, and three multipliers.
Program MultiplierProgram() {
  Program p;
  p.tiers = {{"bronze", 0}, {"silver", 1000}, {"gold", 5000}};
  p.rules = {SpendRule(kOne)};
  EarnRule review;
  review.id = "review";
  review.kind = EarnRuleKind::kEvent;
  review.event = "Review Written";
  review.points = 50;
  p.rules.push_back(review);
  Multiplier gold;
  gold.id = "gold";
  gold.factor = 2000;
  gold.tier = "gold";
  gold.rules = {"spend"};
  Multiplier vip;
  vip.id = "vip";
  vip.factor = 1500;
  vip.segment = "vip";
  Multiplier black_friday;
  black_friday.id = "black-friday";
  black_friday.factor = 3000;
  black_friday.starts_at = Day(10);
  black_friday.ends_at = Day(11);
  p.multipliers = {gold, vip, black_friday};
  return p;
}

TEST(MultiplierForTest, NoneApplyingIsOne) {
  const Program p = MultiplierProgram();
  EXPECT_EQ(MultiplierFor(p, "spend", Day(1), {"bronze", {}}), kOne);
  EXPECT_EQ(MultiplierFor(Program{}, "spend", Day(1), {"gold", {"vip"}}), kOne);
}

TEST(MultiplierForTest, TierSegmentAndRulesFilter) {
  const Program p = MultiplierProgram();
  EXPECT_EQ(MultiplierFor(p, "spend", Day(1), {"gold", {}}), 2000);
  EXPECT_EQ(MultiplierFor(p, "spend", Day(1), {"silver", {}}), kOne);
  // The gold multiplier is for the spend rule only.
  EXPECT_EQ(MultiplierFor(p, "review", Day(1), {"gold", {}}), kOne);
  EXPECT_EQ(MultiplierFor(p, "review", Day(1), {"gold", {"other", "vip"}}), 1500);
  EXPECT_EQ(MultiplierFor(p, "spend", Day(1), {"bronze", {"vip"}}), 1500);
  EXPECT_EQ(MultiplierFor(p, "spend", Day(1), {"bronze", {"vips"}}), kOne);
}

TEST(MultiplierForTest, HighestCountsAndTheyDoNotCompound) {
  const Program p = MultiplierProgram();
  EXPECT_EQ(MultiplierFor(p, "spend", Day(1), {"gold", {"vip"}}), 2000);
  // Black Friday: [day 10, day 11).
  EXPECT_EQ(MultiplierFor(p, "spend", Day(10), {"gold", {"vip"}}), 3000);
  EXPECT_EQ(MultiplierFor(p, "review", Day(10), {"bronze", {}}), 3000);
  EXPECT_EQ(MultiplierFor(p, "review", Timestamp{Day(11).micros - 1}, {"bronze", {}}), 3000);
  EXPECT_EQ(MultiplierFor(p, "review", Day(11), {"bronze", {}}), kOne);
  EXPECT_EQ(MultiplierFor(p, "review", Timestamp{Day(10).micros - 1}, {"bronze", {}}), kOne);
  // Order in the program doesn't matter.
  Program reversed = p;
  std::reverse(reversed.multipliers.begin(), reversed.multipliers.end());
  EXPECT_EQ(MultiplierFor(reversed, "spend", Day(10), {"gold", {"vip"}}), 3000);
  EXPECT_EQ(MultiplierFor(reversed, "spend", Day(1), {"gold", {"vip"}}), 2000);
}

TEST(MultiplierForTest, OpenEndedRanges) {
  Program p = MultiplierProgram();
  p.multipliers[2].starts_at.reset();  // until day 11
  EXPECT_EQ(MultiplierFor(p, "spend", Day(-100), {"bronze", {}}), 3000);
  EXPECT_EQ(MultiplierFor(p, "spend", Day(11), {"bronze", {}}), kOne);
  p.multipliers[2].starts_at = Day(10);
  p.multipliers[2].ends_at.reset();  // from day 10 on
  EXPECT_EQ(MultiplierFor(p, "spend", Day(9), {"bronze", {}}), kOne);
  EXPECT_EQ(MultiplierFor(p, "spend", Day(10'000), {"bronze", {}}), 3000);
}

TEST(RuleAppliesTest, ProgramStartRuleRangeAndSegment) {
  Program p;
  p.starts_at = Day(5);
  EarnRule r = SpendRule(kOne);
  EXPECT_FALSE(RuleApplies(r, p, Timestamp{Day(5).micros - 1}, {}));
  EXPECT_TRUE(RuleApplies(r, p, Day(5), {}));
  EXPECT_TRUE(RuleApplies(r, p, Day(500), {}));

  r.starts_at = Day(10);
  r.ends_at = Day(20);
  EXPECT_FALSE(RuleApplies(r, p, Day(9), {}));
  EXPECT_TRUE(RuleApplies(r, p, Day(10), {}));
  EXPECT_TRUE(RuleApplies(r, p, Timestamp{Day(20).micros - 1}, {}));
  EXPECT_FALSE(RuleApplies(r, p, Day(20), {}));

  // A rule starting before the program still earns only from the program's start.
  r.starts_at = Day(1);
  EXPECT_FALSE(RuleApplies(r, p, Day(3), {}));
  EXPECT_TRUE(RuleApplies(r, p, Day(6), {}));

  r.segment = "vip";
  EXPECT_FALSE(RuleApplies(r, p, Day(6), {"gold", {}}));
  EXPECT_FALSE(RuleApplies(r, p, Day(6), {"gold", {"vips", "other"}}));
  EXPECT_TRUE(RuleApplies(r, p, Day(6), {"", {"other", "vip"}}));
  EXPECT_FALSE(RuleApplies(r, p, Day(20), {"", {"vip"}}));
}

TEST(ValidateProgramTest, DefaultProgramIsValid) { EXPECT_TRUE(ValidateProgram(Program{})); }

TEST(FindRuleTest, ById) {
  const Program p = MultiplierProgram();
  ASSERT_NE(FindRule(p, "review"), nullptr);
  EXPECT_EQ(FindRule(p, "review")->points, 50);
  EXPECT_EQ(FindRule(p, "nope"), nullptr);
}

}  // namespace
}  // namespace treu::loyalty
