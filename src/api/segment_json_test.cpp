#include "api/segment_json.hpp"

#include <gtest/gtest.h>

#include <random>

#include "segments/binder.hpp"
#include "segments/parser.hpp"

namespace treu {
namespace {

using segment::ParseSegment;
using segment::PrintSegment;
using segment::SameTree;

const char* const kExpressions[] = {
    "revenue_total > 100",
    "revenue_total >= 99.95 and orders_count < 3",
    "last_order_at < now() - 90d",
    "created_at > now() + 1y",
    "first_order_at >= now() - 12w - 24h",
    "last_order_at < \"1998-01-01\"",
    "country in [\"DE\", \"AT\", \"CH\"]",
    "rfm_r in [4, 5]",
    "email contains \"@example.com\" or email starts_with \"anna\"",
    "email matches \"^[a-z]+@(gmail|web)\\\\.de$\"",
    "plan is null and mrr is not null",
    "consent.email and not consent.sms",
    "not (country = \"DE\" or country = \"AT\")",
    "a = 1 or (b = 2 or c = 3)",
    "count(event \"Page Viewed\" within 7d where properties.url contains \"/pricing\") >= 2",
    "count(event \"Signed Up\") = 0",
    "count(event \"Order\" within 6mo) > 3",
    "in_segment(\"vip\") and not in_segment(\"churned\")",
    "attributes.tier = \"gold\"",
    "nps_last_score <= -1",
    "a - (b - c) > 1",
    "plan = \"quote \\\" and backslash \\\\ and\\nnewline\"",
    "(a = 1) = true",
};

TEST(SegmentJsonTest, Shape) {
  auto e = ParseSegment("count(event \"E\" within 7d where properties.u contains \"/p\") >= 2 and\nx in [1, 2.5]");
  ASSERT_TRUE(e);
  nlohmann::json want = R"({
    "kind": "and", "pos": [1, 66],
    "left": {"kind": "compare", "op": ">=", "pos": [1, 61],
             "left": {"kind": "count", "pos": [1, 1], "event": "E",
                      "within": {"amount": 7, "unit": "d"},
                      "where": {"kind": "compare", "op": "contains", "pos": [1, 46],
                                "left": {"kind": "field", "name": "properties.u", "pos": [1, 33]},
                                "right": {"kind": "string", "value": "/p", "pos": [1, 55]}}},
             "right": {"kind": "number", "value": 2.0, "pos": [1, 64]}},
    "right": {"kind": "compare", "op": "in", "pos": [2, 3],
              "left": {"kind": "field", "name": "x", "pos": [2, 1]},
              "right": {"kind": "list", "pos": [2, 6], "items": [
                  {"kind": "number", "value": 1.0, "pos": [2, 7]},
                  {"kind": "number", "value": 2.5, "pos": [2, 10]}]}}
  })"_json;
  EXPECT_EQ(SegmentToJson(**e).dump(2), want.dump(2));
}

TEST(SegmentJsonTest, RoundTrips) {
  for (const char* text : kExpressions) {
    auto e = ParseSegment(text);
    ASSERT_TRUE(e) << text;
    nlohmann::json j = SegmentToJson(**e);
    auto back = SegmentFromJson(j);
    ASSERT_TRUE(back) << text << ": " << back.error().ToString();
    EXPECT_TRUE(SameTree(**e, **back)) << text;
    EXPECT_EQ(SegmentToJson(**back), j) << text;
    EXPECT_EQ(PrintSegment(**back), text);
    // Through the serialised text too.
    auto reparsed = SegmentFromJson(nlohmann::json::parse(j.dump()));
    ASSERT_TRUE(reparsed);
    EXPECT_TRUE(SameTree(**e, **reparsed)) << text;
  }
}

TEST(SegmentJsonTest, WithoutPositionsPrintsAndBinds) {
  auto e = SegmentFromJson(R"({"kind": "compare", "op": ">", "left": {"kind": "field", "name": "revenue_total"},
                               "right": {"kind": "number", "value": 100}})"_json);
  ASSERT_TRUE(e) << e.error().ToString();
  EXPECT_EQ((*e)->pos, segment::Pos{});
  EXPECT_EQ(PrintSegment(**e), "revenue_total > 100");
  EXPECT_TRUE(segment::Bind(std::move(*e), {}));
}

std::string JsonError(std::string_view text) {
  auto e = SegmentFromJson(nlohmann::json::parse(text));
  if (e) return "read: " + PrintSegment(**e);
  return e.error().ToString();
}

TEST(SegmentJsonTest, ErrorsNameThePointer) {
  EXPECT_EQ(JsonError("[]"), "segment json: /: expected an object");
  EXPECT_EQ(JsonError("{}"), "segment json: /: missing 'kind'");
  EXPECT_EQ(JsonError(R"({"kind": "xor"})"), "segment json: /kind: unknown kind 'xor'");
  EXPECT_EQ(JsonError(R"({"kind": "and", "left": {"kind": "bool", "value": true}})"),
            "segment json: /: missing 'right'");
  EXPECT_EQ(JsonError(R"({"kind": "and", "left": {"kind": "bool", "value": 1}, "right": {"kind": "now"}})"),
            "segment json: /left/value: expected true or false");
  EXPECT_EQ(JsonError(R"({"kind": "compare", "op": "==", "left": {"kind": "now"}, "right": {"kind": "now"}})"),
            "segment json: /op: unknown operator '=='");
  EXPECT_EQ(JsonError(R"({"kind": "arith", "op": "=", "left": {"kind": "now"}, "right": {"kind": "now"}})"),
            "segment json: /op: unknown operator '='");
  EXPECT_EQ(JsonError(R"({"kind": "not", "operand": {"kind": "field", "name": "a b"}})"),
            "segment json: /operand/name: invalid field name 'a b'");
  EXPECT_EQ(JsonError(R"({"kind": "not", "operand": {"kind": "field", "name": "and"}})"),
            "segment json: /operand/name: invalid field name 'and'");
  EXPECT_EQ(JsonError(R"({"kind": "compare", "op": "in", "left": {"kind": "now"}, "right": {"kind": "now"}})"),
            "segment json: /right: expected a list after 'in'");
  EXPECT_EQ(JsonError(R"({"kind": "compare", "op": "=", "left": {"kind": "now"}, "right": {"kind": "list", "items": []}})"),
            "segment json: /right: a list is only allowed as the right side of 'in'");
  EXPECT_EQ(JsonError(R"({"kind": "compare", "op": "in", "left": {"kind": "field", "name": "x"},
                          "right": {"kind": "list", "items": [{"kind": "number", "value": 1}, {"kind": "number"}]}})"),
            "segment json: /right/items/1: missing 'value'");
  EXPECT_EQ(JsonError(R"({"kind": "duration", "amount": 1.5, "unit": "d"})"),
            "segment json: /amount: expected a whole number from 0 to 100000");
  EXPECT_EQ(JsonError(R"({"kind": "count", "event": "E", "within": {"amount": 7, "unit": "days"}})"),
            "segment json: /within/unit: unknown duration unit 'days' (use h, d, w, mo or y)");
  EXPECT_EQ(JsonError(R"({"kind": "count", "event": 3})"), "segment json: /event: expected a string");
  EXPECT_EQ(JsonError(R"({"kind": "now", "pos": [1]})"), "segment json: /pos: expected [line, column]");
  EXPECT_EQ(JsonError(R"({"kind": "is_null", "operand": {"kind": "now"}, "negated": "yes"})"),
            "segment json: /negated: expected true or false");
}

TEST(SegmentJsonTest, DeepNestingIsRejected) {
  nlohmann::json j = {{"kind", "bool"}, {"value", true}};
  auto wrap = [&j](int times) {
    for (int i = 0; i < times; ++i) {
      nlohmann::json node = {{"kind", "not"}};
      node["operand"] = std::move(j);
      j = std::move(node);
    }
  };
  wrap(150);
  EXPECT_EQ(SegmentFromJson(j).error().ToString(), "segment json: /: expression nested too deeply");
  wrap(3000);
  auto e = SegmentFromJson(j);
  ASSERT_FALSE(e);
  EXPECT_TRUE(e.error().detail().starts_with("/operand/operand/")) << e.error().detail().substr(0, 100);
  EXPECT_TRUE(e.error().detail().ends_with(": expression nested too deeply")) << e.error().detail().substr(0, 100);
}

// The largest expression the parser accepts (a long left-deep chain) survives every pass.
TEST(SegmentJsonTest, LargestChainRoundTrips) {
  std::string text = "consent.email";
  while (true) {
    std::string longer = text + " or consent.email";
    if (!ParseSegment(longer)) break;
    text = std::move(longer);
  }
  EXPECT_GT(text.size(), 5'000u);
  auto bound = segment::ParseAndBind(text);
  ASSERT_TRUE(bound) << bound.error().ToString();
  auto back = SegmentFromJson(nlohmann::json::parse(SegmentToJson(**bound).dump()));
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(PrintSegment(**back), text);
  auto copy = segment::Clone(**back);
  EXPECT_TRUE(SameTree(*copy, **bound));
}

// Every parseable random expression survives text -> AST -> JSON -> AST -> text.
TEST(SegmentJsonTest, RandomRoundTrips) {
  std::mt19937 rng(7);
  static const char* kPieces[] = {"a", "x.y", "(", ")", "=", "<", ">=", "!=", "and", "or", "not", "1", "2.5",
                                  "\"s\"", "now()", "-", "+", "7d", "in [1, 2]", "is null", "is not null",
                                  "contains \"q\"", "true", "count(event \"E\" within 1w where properties.p = 1)",
                                  "in_segment(\"v\")"};
  int checked = 0;
  for (int i = 0; i < 50'000; ++i) {
    std::string text;
    int n = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) {
      text += kPieces[rng() % std::size(kPieces)];
      text += ' ';
    }
    auto e = ParseSegment(text);
    if (!e) continue;
    ++checked;
    auto back = SegmentFromJson(SegmentToJson(**e));
    ASSERT_TRUE(back) << text << ": " << back.error().ToString();
    ASSERT_TRUE(SameTree(**e, **back)) << text;
    ASSERT_EQ(PrintSegment(**back), PrintSegment(**e));
  }
  EXPECT_GT(checked, 500);
}

}  // namespace
}  // namespace treu
