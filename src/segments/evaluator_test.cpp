#include "segments/evaluator.hpp"

#include <gtest/gtest.h>

#include "segments/binder.hpp"
#include "segments/parser.hpp"

namespace treu::segment {
namespace {

// A hand-made table of four customers: anna, ben, cleo (no data), dora.
CustomerTable Table(Timestamp now) {
  CustomerTable t;
  t.customers = 4;
  t.as_of = now;
  Column email;
  email.type = ColumnType::kString;
  email.dictionary = {"anna@shop.example", "ben@mail.example", "dora@shop.example"};
  email.codes = {0, 1, -1, 2};
  t.columns["email"] = email;
  Column revenue;
  revenue.type = ColumnType::kMoney;
  revenue.numbers = {250.5, 99.99, NAN, 100};
  t.columns["revenue_total"] = revenue;
  Column orders;
  orders.type = ColumnType::kNumber;
  orders.numbers = {5, 1, 0, 2};
  t.columns["orders_count"] = orders;
  Column last;
  last.type = ColumnType::kTime;
  const std::int64_t day = kMicrosPerDay;
  last.times = {now.micros - 10 * day, now.micros - 200 * day, kNullTime, now.micros - 95 * day};
  t.columns["last_order_at"] = last;
  Column consent;
  consent.type = ColumnType::kBool;
  consent.bools = {1, 0, -1, 1};
  t.columns["consent.email"] = consent;
  Column tier;
  tier.type = ColumnType::kString;
  tier.dictionary = {"gold", "silver"};
  tier.codes = {0, 1, -1, 0};
  t.columns["attributes.tier"] = tier;
  return t;
}

std::vector<int> Members(std::string_view text, const CustomerTable& t, Timestamp now,
                         std::function<Result<ExprPtr>(std::string_view)> segments = {},
                         SegmentLookup lookup = {}) {
  auto bound = ParseAndBind(text, {.lookup = std::move(lookup)});
  EXPECT_TRUE(bound.has_value()) << text << ": " << bound.error().ToString();
  if (!bound) return {-1};
  EvalContext ctx{&t, now, TimeZone::Utc(), std::move(segments)};
  auto set = Evaluate(**bound, ctx);
  EXPECT_TRUE(set.has_value()) << set.error().ToString();
  std::vector<int> out;
  for (std::size_t c = 0; set && c < set->size(); ++c) {
    if ((*set)[c]) out.push_back(static_cast<int>(c));
  }
  return out;
}

const Timestamp kNow = Timestamp{20'000 * kMicrosPerDay + 12 * 3'600'000'000LL};  // 2024-10-04 12:00Z

TEST(EvaluatorTest, ComparisonsFollowTheTypes) {
  const CustomerTable t = Table(kNow);
  EXPECT_EQ(Members("revenue_total > 100", t, kNow), (std::vector<int>{0}));
  EXPECT_EQ(Members("revenue_total >= 100", t, kNow), (std::vector<int>{0, 3}));
  EXPECT_EQ(Members("orders_count = 1 or orders_count >= 5", t, kNow), (std::vector<int>{0, 1}));
  EXPECT_EQ(Members("last_order_at < now() - 90d", t, kNow), (std::vector<int>{1, 3}));
  EXPECT_EQ(Members("last_order_at >= \"2024-09-01\"", t, kNow), (std::vector<int>{0}));
  EXPECT_EQ(Members("email contains \"@shop.\"", t, kNow), (std::vector<int>{0, 3}));
  EXPECT_EQ(Members("email starts_with \"ben\"", t, kNow), (std::vector<int>{1}));
  EXPECT_EQ(Members("email matches \"^(anna|dora)@\"", t, kNow), (std::vector<int>{0, 3}));
  EXPECT_EQ(Members("attributes.tier in [\"gold\", \"bronze\"]", t, kNow), (std::vector<int>{0, 3}));
  EXPECT_EQ(Members("consent.email", t, kNow), (std::vector<int>{0, 3}));
  EXPECT_EQ(Members("consent.email = false", t, kNow), (std::vector<int>{1}));
}

TEST(EvaluatorTest, NullsAreUnknownNotFalse) {
  const CustomerTable t = Table(kNow);
  // cleo has no email: neither in `= x` nor in `not (= x)`.
  EXPECT_EQ(Members("not (email = \"anna@shop.example\")", t, kNow), (std::vector<int>{1, 3}));
  EXPECT_EQ(Members("email is null", t, kNow), (std::vector<int>{2}));
  EXPECT_EQ(Members("email is not null and revenue_total < 100", t, kNow), (std::vector<int>{1}));
  EXPECT_EQ(Members("email is null or revenue_total > 200", t, kNow), (std::vector<int>{0, 2}));
  // A field no customer has is null for everyone.
  EXPECT_EQ(Members("attributes.none = 1", t, kNow), (std::vector<int>{}));
}

TEST(EvaluatorTest, SavedSegmentsNest) {
  const CustomerTable t = Table(kNow);
  const std::string big_text = "revenue_total >= 100";
  const ExprPtr big = ParseSegment(big_text).value();
  auto saved = [&](std::string_view name) -> std::optional<SavedSegment> {
    if (name == "big") return SavedSegment{big.get(), big_text};
    return std::nullopt;
  };
  auto bound = [&](std::string_view name) -> Result<ExprPtr> {
    if (name == "big") return ParseAndBind(big_text);
    return NotFound("segment " + std::string(name), "no such segment");
  };
  EXPECT_EQ(Members("in_segment(\"big\") and consent.email", t, kNow, bound, saved), (std::vector<int>{0, 3}));
}

TEST(EvaluatorTest, CalendarMonthsClampTheDay) {
  const TimeZone berlin = TimeZone::Find("Europe/Berlin").value();
  // 2024-03-31 10:00 in Berlin minus one month is 2024-02-29 10:00 in Berlin.
  const Timestamp march = berlin.ToUtc({2024, 3, 31}, 10 * 3'600'000'000LL);
  EXPECT_EQ(AddDuration(march, {1, DurationUnit::kMonths}, -1, berlin), berlin.ToUtc({2024, 2, 29}, 10 * 3'600'000'000LL));
  EXPECT_EQ(AddDuration(march, {1, DurationUnit::kYears}, -1, berlin), berlin.ToUtc({2023, 3, 31}, 10 * 3'600'000'000LL));
  EXPECT_EQ(AddDuration(march, {12, DurationUnit::kWeeks}, 1, berlin).micros, march.micros + 84 * kMicrosPerDay);
}

TEST(EvaluatorTest, EventConditionsAreRefusedClearly) {
  const CustomerTable t = Table(kNow);
  auto bound = ParseAndBind("count(event \"Page Viewed\" within 7d) >= 2");
  ASSERT_TRUE(bound.has_value()) << bound.error().ToString();
  EvalContext ctx{&t, kNow, TimeZone::Utc(), {}};
  EXPECT_EQ(Evaluate(**bound, ctx).error().ToString(),
            "segment: count(event ...) conditions are not evaluated yet");
}

}  // namespace
}  // namespace treu::segment
