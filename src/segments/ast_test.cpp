#include "segments/ast.hpp"

#include <gtest/gtest.h>

#include "segments/parser.hpp"

namespace treu::segment {
namespace {

// Expressions covering every node kind and operator; also used by segment_json_test.cpp.
const char* const kExpressions[] = {
    "revenue_total > 100",
    "revenue_total >= 99.95 and orders_count < 3",
    "last_order_at < now() - 90d",
    "created_at > now() + 1y",
    "first_order_at >= now() - 12w - 24h",
    "last_order_at < \"1998-01-01\"",
    "last_order_at >= \"2024-03-01T12:30:00\"",
    "country in [\"DE\", \"AT\", \"CH\"]",
    "rfm_r in [4, 5]",
    "email contains \"@example.com\"",
    "email starts_with \"anna\"",
    "email matches \"^[a-z]+@(gmail|web)\\\\.de$\"",
    "plan is null",
    "plan is not null",
    "consent.email",
    "not consent.sms",
    "consent.push = false",
    "not (country = \"DE\" or country = \"AT\")",
    "(p_alive < 0.3 or days_since_last_order > 120) and clv_12m > 500",
    "a = 1 or b = 2 or c = 3",
    "a = 1 or (b = 2 or c = 3)",
    "a = 1 and (b = 2 or c = 3) and not d = 4",
    "count(event \"Page Viewed\" within 7d where properties.url contains \"/pricing\") >= 2",
    "count(event \"Signed Up\") = 0",
    "count(event \"Order\" within 6mo) > 3",
    "count(event \"X\" where properties.a = 1 and (properties.b = 2 or properties.c is null)) > 0",
    "in_segment(\"vip\") and not in_segment(\"churned\")",
    "attributes.tier = \"gold\"",
    "nps_last_score <= -1",
    "revenue_total - 10 > average_order_value + 5",
    "a - (b - c) > 1",
    "subscription_status != \"canceled\" and mrr > 0",
    "plan = \"quote \\\" and backslash \\\\\"",
    "(a = 1) = true",
    "tenure_days > 0.000001",
};

TEST(PrinterTest, CanonicalFormIsAFixedPoint) {
  for (const char* text : kExpressions) {
    auto first = ParseSegment(text);
    ASSERT_TRUE(first) << text << ": " << first.error().ToString();
    std::string printed = PrintSegment(**first);
    EXPECT_EQ(printed, text) << "not canonical";
    auto second = ParseSegment(printed);
    ASSERT_TRUE(second) << printed;
    EXPECT_TRUE(SameTree(**first, **second)) << text;
    EXPECT_EQ(PrintSegment(**second), printed);
  }
}

TEST(PrinterTest, NormalisesSpacingAndParentheses) {
  const std::pair<const char*, const char*> kCases[] = {
      {"  ( ( revenue_total>100 ) )", "revenue_total > 100"},
      {"a=1 and(b=2)", "a = 1 and b = 2"},
      {"(a=1 and b=2) or c=3", "a = 1 and b = 2 or c = 3"},
      {"not(a=1)", "not a = 1"},
      {"x<now()-90d", "x < now() - 90d"},
      {"x in[1,2 , 3]", "x in [1, 2, 3]"},
      {"x = 1.50", "x = 1.5"},
      {"x = 007", "x = 7"},
      {"count(event \"E\"within 7d where(properties.a=1))>0",
       "count(event \"E\" within 7d where properties.a = 1) > 0"},
      {"a = 1 # comment\nor\n\tb = 2", "a = 1 or b = 2"},
  };
  for (auto [in, want] : kCases) {
    auto e = ParseSegment(in);
    ASSERT_TRUE(e) << in;
    EXPECT_EQ(PrintSegment(**e), want) << in;
  }
}

TEST(PrinterTest, TreesBuiltByHandGetParentheses) {
  // or under and, compare under compare, arith on the right of '-', and/or on the right.
  auto e = MakeBinary(ExprKind::kAnd, Op::kNone,
                      MakeBinary(ExprKind::kOr, Op::kNone, MakeField("a"), MakeField("b")),
                      MakeNot(MakeBinary(ExprKind::kAnd, Op::kNone, MakeField("c"), MakeField("d"))));
  EXPECT_EQ(PrintSegment(*e), "(a or b) and not (c and d)");
  auto arith = MakeBinary(ExprKind::kCompare, Op::kGt,
                          MakeBinary(ExprKind::kArith, Op::kSub, MakeField("x"),
                                     MakeBinary(ExprKind::kArith, Op::kAdd, MakeNumber(1), MakeNumber(2))),
                          MakeNumber(-0.5));
  EXPECT_EQ(PrintSegment(*arith), "x - (1 + 2) > -0.5");
  auto nested = MakeIsNull(MakeBinary(ExprKind::kCompare, Op::kEq, MakeField("a"), MakeNumber(1)), true);
  EXPECT_EQ(PrintSegment(*nested), "(a = 1) is not null");
  auto big = MakeBinary(ExprKind::kCompare, Op::kLt, MakeField("x"), MakeNumber(1e21));
  EXPECT_EQ(PrintSegment(*big), "x < 1000000000000000000000");
  for (const auto* tree : {e.get(), arith.get(), nested.get(), big.get()}) {
    auto again = ParseSegment(PrintSegment(*tree));
    ASSERT_TRUE(again);
    EXPECT_TRUE(SameTree(*tree, **again)) << PrintSegment(*tree);
  }
}

TEST(PrinterTest, CloneAndSameTree) {
  auto e = ParseSegment("count(event \"E\" within 7d where properties.a = 1) > 2 and x in [1, 2]");
  ASSERT_TRUE(e);
  auto c = Clone(**e);
  EXPECT_TRUE(SameTree(**e, *c));
  c->children[1]->children[1]->children[0]->number = 3;
  EXPECT_FALSE(SameTree(**e, *c));
  auto d = Clone(**e);
  d->children[0]->children[0]->within = Duration{8, DurationUnit::kDays};
  EXPECT_FALSE(SameTree(**e, *d));
}

TEST(SegmentErrorTest, Format) {
  EXPECT_EQ(SegmentError("a\nbb = 1\nc", {2, 4}, "boom").ToString(), "segment:2:4: boom\nbb = 1\n   ^");
  EXPECT_EQ(SegmentError("x\r\ny", {1, 2}, "eol").ToString(), "segment:1:2: eol\nx\n ^");
  EXPECT_EQ(SegmentError("", {0, 0}, "no position").ToString(), "segment: no position");
}

}  // namespace
}  // namespace treu::segment
