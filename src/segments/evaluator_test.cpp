#include "segments/evaluator.hpp"

#include <gtest/gtest.h>

#include "segments/binder.hpp"
#include "segments/parser.hpp"
#include "segments/table_testing.hpp"

namespace treu::segment {
namespace {

CustomerTable Table(Timestamp now) { return testing::FourCustomers(now); }

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

TEST(EvaluatorTest, EventConditionsWithoutEventsAreRefusedClearly) {
  const CustomerTable t = Table(kNow);
  auto bound = ParseAndBind("count(event \"Page Viewed\" within 7d) >= 2");
  ASSERT_TRUE(bound.has_value()) << bound.error().ToString();
  EvalContext ctx{&t, kNow, TimeZone::Utc(), {}};
  EXPECT_EQ(Evaluate(**bound, ctx).error().ToString(),
            "segment: count(event ...) needs the workspace's events, which were not loaded");
}

TEST(EvaluatorTest, EventCountsFollowTheWindowAndTheWhereClause) {
  const CustomerTable t = Table(kNow);
  ASSERT_GE(t.customers, 2u);
  EventLog log;
  EventLog::Stream& views = log.by_name["Page Viewed"];
  const std::int64_t day = kMicrosPerDay;
  // customer 0: two pricing views inside 7 days, one outside; customer 1: one inside, one
  // with another url, one in the future.
  const std::pair<Snapshot::Index, std::int64_t> rows[] = {{0, -1 * day}, {0, -6 * day}, {0, -8 * day},
                                                           {1, -2 * day}, {1, -3 * day}, {1, 1 * day}};
  const char* urls[] = {"/pricing", "/pricing?a", "/pricing", "/pricing", "/", "/pricing"};
  for (int i = 0; i < 6; ++i) {
    views.Add(rows[i].first, kNow.micros + rows[i].second, std::string("{\"url\":\"") + urls[i] + "\"}");
  }
  EvalContext ctx{&t, kNow, TimeZone::Utc(), {}, &log};
  auto count = [&](const char* text) {
    auto bound = ParseAndBind(std::string("count(event \"Page Viewed\"") + text + ") >= 0");
    EXPECT_TRUE(bound.has_value()) << bound.error().ToString();
    const std::vector<double> n = CountEvents(*(*bound)->children[0], ctx).value();
    return std::make_pair(n[0], n[1]);
  };
  EXPECT_EQ(count(""), std::make_pair(3.0, 2.0));
  EXPECT_EQ(count(" within 7d"), std::make_pair(2.0, 2.0));
  EXPECT_EQ(count(" within 7d where properties.url contains \"/pricing\""), std::make_pair(2.0, 1.0));
  EXPECT_EQ(count(" where properties.url = \"/\""), std::make_pair(0.0, 1.0));
  EXPECT_EQ(count(" where properties.missing is null"), std::make_pair(3.0, 2.0));
}

}  // namespace
}  // namespace treu::segment
