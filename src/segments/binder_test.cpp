#include "segments/binder.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <regex>

#include "segments/fields.hpp"
#include "segments/parser.hpp"

namespace treu::segment {
namespace {

// Saved segments by name, for in_segment().
class Library {
 public:
  void Add(std::string name, std::string text) {
    texts_[name] = std::move(text);
    auto e = ParseSegment(texts_[name]);
    ASSERT_TRUE(e) << e.error().ToString();
    trees_[name] = std::move(*e);
  }
  SegmentLookup Lookup() const {
    return [this](std::string_view name) -> std::optional<SavedSegment> {
      auto it = trees_.find(std::string(name));
      if (it == trees_.end()) return std::nullopt;
      return SavedSegment{it->second.get(), texts_.at(std::string(name))};
    };
  }

 private:
  std::map<std::string, std::string> texts_;
  std::map<std::string, ExprPtr> trees_;
};

std::string BindError(std::string_view text, const SegmentLookup& lookup = {}, std::string self = "") {
  auto e = ParseAndBind(text, {.source = {}, .lookup = lookup, .self_name = std::move(self)});
  if (e) return "bound: " + PrintSegment(**e);
  return e.error().ToString();
}

TEST(BinderTest, AcceptsValidSegments) {
  const char* kValid[] = {
      "revenue_total > 100",
      "revenue_total > average_order_value + 10",
      "orders_count >= 2 and days_since_last_order < 30",
      "last_order_at < now() - 90d",
      "created_at > now() - 1y and created_at <= now()",
      "now() - 6mo < first_order_at",
      "last_order_at < \"1998-01-01\"",
      "\"2024-01-01T08:00:00Z\" <= created_at",
      "last_order_at in [\"2024-01-01\", \"2024-01-02\"]",
      "country in [\"DE\", \"AT\"]",
      "rfm_r in [4, 5] and rfm_segment in [\"champions\", \"loyal\"]",
      "email contains \"@\" and email starts_with \"a\" and email matches \"^a.*\\\\.de$\"",
      "plan is null or plan is not null",
      "consent.email and not consent.sms",
      "consent.push = true",
      "subscription_status = \"past_due\"",
      "nps_category != \"detractor\"",
      "attributes.tier = \"gold\" and attributes.seats > 10 and attributes.vip",
      "attributes.trial_end < now() + 7d",
      "count(event \"Page Viewed\" within 7d where properties.url contains \"/pricing\") >= 2",
      "count(event \"Signed Up\") = 0",
      "p_alive < 0.5 and clv_12m > 1000.5",
      "(orders_count = 1) = true or false",
  };
  for (const char* text : kValid) {
    auto e = ParseAndBind(text);
    EXPECT_TRUE(e) << text << "\n" << e.error().ToString();
  }
}

TEST(BinderTest, Annotations) {
  auto e = ParseAndBind("revenue_total > 100 and last_order_at < \"1998-01-02\" and attributes.x = 1");
  ASSERT_TRUE(e) << e.error().ToString();
  const Expr& root = **e;
  EXPECT_EQ(root.type, Type::kBool);
  const Expr& money = *root.children[0]->children[0]->children[0];
  EXPECT_EQ(money.type, Type::kMoney);
  ASSERT_NE(money.field, nullptr);
  EXPECT_EQ(money.field->name, "revenue_total");
  const Expr& date = *root.children[0]->children[1]->children[1];
  EXPECT_EQ(date.type, Type::kTime);
  EXPECT_TRUE(date.date_only);
  EXPECT_EQ(date.time_micros, 883'699'200LL * 1'000'000);  // 1998-01-02T00:00:00Z
  const Expr& attr = *root.children[1]->children[0];
  EXPECT_EQ(attr.type, Type::kAny);
  EXPECT_EQ(attr.field, nullptr);
}

TEST(BinderTest, DateLiterals) {
  EXPECT_EQ(ParseDateLiteral("1970-01-01")->micros, 0);
  EXPECT_EQ(ParseDateLiteral("1970-01-02T00:00:01Z")->micros, 86'401'000'000LL);
  EXPECT_FALSE(ParseDateLiteral("1970-01-02T00:00:01Z")->date_only);
  EXPECT_EQ(ParseDateLiteral("2000-02-29 12:00")->micros, (951'782'400LL + 12 * 3600) * 1'000'000);
  EXPECT_EQ(ParseDateLiteral("1969-12-31")->micros, -86'400'000'000LL);
  for (const char* bad : {"", "1998", "1998-1-1", "1998-13-01", "1998-02-29", "1900-02-29", "1998-04-31",
                          "1998-01-00", "1998-01-01T24:00", "1998-01-01T10:60", "1998-01-01X10:00",
                          "1998-01-01T10:00:00+02:00", "abcd-ef-gh"}) {
    EXPECT_FALSE(ParseDateLiteral(bad)) << bad;
  }
}

TEST(BinderTest, UnknownField) {
  EXPECT_EQ(BindError("last_ordr_at < now() - 90d"),
            "segment:1:1: unknown field 'last_ordr_at'; did you mean 'last_order_at'?\n"
            "last_ordr_at < now() - 90d\n"
            "^");
  EXPECT_EQ(BindError("orders_count > 1 and\n  revnue > 1"),
            "segment:2:3: unknown field 'revnue'\n"
            "  revnue > 1\n"
            "  ^");
  EXPECT_EQ(BindError("properties.url = \"x\""),
            "segment:1:1: 'properties.url' is only allowed in the where clause of count(event ...)\n"
            "properties.url = \"x\"\n"
            "^");
  EXPECT_EQ(BindError("count(event \"E\" where email = \"x\") > 0"),
            "segment:1:23: only properties.<name> fields are allowed in a where clause, got 'email'\n"
            "count(event \"E\" where email = \"x\") > 0\n"
            "                      ^");
}

TEST(BinderTest, TypeErrors) {
  EXPECT_EQ(BindError("revenue_total > \"abc\""),
            "segment:1:15: cannot compare revenue_total (money) with \"abc\" (string)\n"
            "revenue_total > \"abc\"\n"
            "              ^");
  EXPECT_EQ(BindError("email = 3"),
            "segment:1:7: cannot compare email (string) with 3 (number)\n"
            "email = 3\n"
            "      ^");
  EXPECT_EQ(BindError("last_order_at < 5"),
            "segment:1:15: cannot compare last_order_at (time) with 5 (number)\n"
            "last_order_at < 5\n"
            "              ^");
  EXPECT_EQ(BindError("consent.email < true"),
            "segment:1:15: '<' cannot order bool values: consent.email (bool)\n"
            "consent.email < true\n"
            "              ^");
  EXPECT_EQ(BindError("revenue_total contains \"1\""),
            "segment:1:15: 'contains' needs a string on the left, got revenue_total (money)\n"
            "revenue_total contains \"1\"\n"
            "              ^");
  EXPECT_EQ(BindError("email starts_with 1"),
            "segment:1:19: 'starts_with' needs a string on the right, got 1 (number)\n"
            "email starts_with 1\n"
            "                  ^");
  EXPECT_EQ(BindError("email matches plan"),
            "segment:1:15: 'matches' needs a regular expression as a quoted string, got plan (string)\n"
            "email matches plan\n"
            "              ^");
  EXPECT_EQ(BindError("email matches \"a(b\""),
            "segment:1:15: invalid regular expression \"a(b\": unbalanced parentheses\n"
            "email matches \"a(b\"\n"
            "              ^");
  EXPECT_EQ(BindError("country in [\"DE\", 1]"),
            "segment:1:19: list items must all have the same type: \"DE\" (string) and 1 (number)\n"
            "country in [\"DE\", 1]\n"
            "                  ^");
  EXPECT_EQ(BindError("orders_count in [\"1\"]"),
            "segment:1:14: cannot compare orders_count (number) with \"1\" (string)\n"
            "orders_count in [\"1\"]\n"
            "             ^");
  EXPECT_EQ(BindError("country in [email]"),
            "segment:1:13: list items must be literals (numbers, strings or true/false), got email\n"
            "country in [email]\n"
            "            ^");
  EXPECT_EQ(BindError("country in []"),
            "segment:1:12: empty list after 'in'\n"
            "country in []\n"
            "           ^");
  EXPECT_EQ(BindError("orders_count"),
            "segment:1:1: expected a condition, got orders_count (number)\n"
            "orders_count\n"
            "^");
  EXPECT_EQ(BindError("consent.sms and email"),
            "segment:1:17: expected a condition, got email (string)\n"
            "consent.sms and email\n"
            "                ^");
  EXPECT_EQ(BindError("count(event \"E\" where properties.a) and 1 = 1"),
            "segment:1:1: expected a condition, got count(event \"E\" where properties.a) (number)\n"
            "count(event \"E\" where properties.a) and 1 = 1\n"
            "^");
}

TEST(BinderTest, RegexLimits) {
  EXPECT_EQ(BindError("email matches \"((a{100}){100}){100}\""),
            "segment:1:15: invalid regular expression \"((a{100}){100}){100}\": too complex\n"
            "email matches \"((a{100}){100}){100}\"\n"
            "              ^");
  std::string nested = "email matches \"" + std::string(51, '(') + "a" + std::string(51, ')') + "\"";
  EXPECT_TRUE(BindError(nested).starts_with(
      "segment:1:15: regular expression nested too deeply (more than 50 groups)\n"));
  std::string escaped = "email matches \"" + std::string(50, '(') + "\\\\(a" + std::string(50, ')') + "\"";
  EXPECT_TRUE(ParseAndBind(escaped)) << escaped;
  std::string long_re = "email matches \"" + std::string(1001, 'a') + "\"";
  EXPECT_TRUE(BindError(long_re).starts_with(
      "segment:1:15: regular expression too long (more than 1000 bytes)\n"));
}

TEST(BinderTest, DurationsOnlyInTimeArithmetic) {
  EXPECT_EQ(BindError("days_since_last_order > 90d"),
            "segment:1:25: a duration (90d) is only allowed in time arithmetic such as now() - 90d\n"
            "days_since_last_order > 90d\n"
            "                        ^");
  EXPECT_EQ(BindError("revenue_total - 90d > 1"),
            "segment:1:15: cannot apply '-' to revenue_total (money) and 90d (duration); a duration can only "
            "be added to or subtracted from a time\n"
            "revenue_total - 90d > 1\n"
            "              ^");
  EXPECT_EQ(BindError("now() - now() > 1"),
            "segment:1:7: cannot apply '-' to now() (time) and now() (time)\n"
            "now() - now() > 1\n"
            "      ^");
  EXPECT_EQ(BindError("90d - now() < created_at"),
            "segment:1:5: cannot apply '-' to 90d (duration) and now() (time); a duration can only be added "
            "to or subtracted from a time\n"
            "90d - now() < created_at\n"
            "    ^");
  EXPECT_TRUE(ParseAndBind("7d + now() > created_at"));
  EXPECT_EQ(BindError("email + 1 = 2"),
            "segment:1:7: cannot apply '+' to email (string) and 1 (number)\n"
            "email + 1 = 2\n"
            "      ^");
}

TEST(BinderTest, Dates) {
  EXPECT_EQ(BindError("last_order_at < \"1998-02-30\""),
            "segment:1:17: invalid date \"1998-02-30\" (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)\n"
            "last_order_at < \"1998-02-30\"\n"
            "                ^");
  EXPECT_EQ(BindError("created_at in [\"2024-01-01\", \"yesterday\"]"),
            "segment:1:30: invalid date \"yesterday\" (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)\n"
            "created_at in [\"2024-01-01\", \"yesterday\"]\n"
            "                             ^");
}

TEST(BinderTest, EnumeratedValues) {
  EXPECT_EQ(BindError("subscription_status = \"actve\""),
            "segment:1:23: unknown subscription_status value \"actve\"; did you mean \"active\"?\n"
            "subscription_status = \"actve\"\n"
            "                      ^");
  EXPECT_EQ(BindError("nps_category in [\"promoter\", \"fan\"]"),
            "segment:1:30: unknown nps_category value \"fan\"; expected one of promoter, passive, detractor\n"
            "nps_category in [\"promoter\", \"fan\"]\n"
            "                             ^");
  EXPECT_TRUE(ParseAndBind("\"at_risk\" = rfm_segment"));
  EXPECT_TRUE(ParseAndBind("plan = \"anything\""));
}

TEST(BinderTest, WhereClauses) {
  EXPECT_EQ(BindError("count(event \"E\" where count(event \"F\") > 1) > 0"),
            "segment:1:23: count(...) is not allowed inside a where clause\n"
            "count(event \"E\" where count(event \"F\") > 1) > 0\n"
            "                      ^");
  EXPECT_EQ(BindError("count(event \"E\" where in_segment(\"x\")) > 0"),
            "segment:1:23: in_segment(...) is not allowed inside a where clause\n"
            "count(event \"E\" where in_segment(\"x\")) > 0\n"
            "                      ^");
  EXPECT_TRUE(ParseAndBind("count(event \"E\" where properties.n > 3 and not properties.flag) > 0"));
}

TEST(BinderTest, SegmentReferences) {
  Library lib;
  lib.Add("vip", "revenue_total > 1000");
  lib.Add("a", "in_segment(\"b\")");
  lib.Add("b", "orders_count > 1 and in_segment(\"a\")");
  lib.Add("self", "in_segment(\"self\")");
  lib.Add("broken", "orders_count > 1 and\n  revnue_total > 1");
  lib.Add("uses_broken", "in_segment(\"broken\")");
  auto lookup = lib.Lookup();

  auto ok = ParseAndBind("in_segment(\"vip\") and orders_count > 2", {.source = {}, .lookup = lookup, .self_name = ""});
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ((*ok)->children[0]->type, Type::kBool);

  EXPECT_EQ(BindError("in_segment(\"nope\")", lookup),
            "segment:1:1: unknown segment \"nope\"\n"
            "in_segment(\"nope\")\n"
            "^");
  EXPECT_EQ(BindError("in_segment(\"vip\")"),  // no lookup at all
            "segment:1:1: unknown segment \"vip\"\n"
            "in_segment(\"vip\")\n"
            "^");
  EXPECT_EQ(BindError("in_segment(\"a\")", lookup), "segment: in_segment(\"a\") -> \"b\" -> \"a\" is a cycle");
  EXPECT_EQ(BindError("orders_count > 1 or in_segment(\"self\")", lookup),
            "segment: in_segment(\"self\") -> \"self\" is a cycle");
  // Saving "vip" as `in_segment("a") or in_segment("vip")` refers back to itself.
  EXPECT_EQ(BindError("in_segment(\"vip\")", lookup, "vip"), "segment: in_segment(\"vip\") -> \"vip\" is a cycle");
  EXPECT_EQ(BindError("in_segment(\"uses_broken\")", lookup),
            "in_segment(\"uses_broken\"): in_segment(\"broken\"): segment:2:3: unknown field 'revnue_total'; "
            "did you mean 'revenue_total'?\n"
            "  revnue_total > 1\n"
            "  ^");
}

TEST(BinderTest, DeepReferenceChainsStop) {
  std::map<std::string, ExprPtr> trees;
  for (int i = 0; i < 100; ++i) {
    std::string name = "s";
    name += std::to_string(i);
    std::string text = "in_segment(\"s";
    text += std::to_string(i + 1);
    text += "\")";
    trees[name] = *ParseSegment(text);
  }
  SegmentLookup lookup = [&](std::string_view name) -> std::optional<SavedSegment> {
    auto it = trees.find(std::string(name));
    if (it == trees.end()) return std::nullopt;
    return SavedSegment{it->second.get(), {}};
  };
  auto e = ParseAndBind("in_segment(\"s0\")", {.source = {}, .lookup = lookup, .self_name = ""});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().ToString().find("segments nested deeper than 32 levels"), std::string::npos)
      << e.error().ToString();
}

TEST(BinderTest, DiamondReferencesStayLinear) {
  // s<i> refers to s<i-1> twice: 2^30 paths, each segment bound once.
  std::map<std::string, ExprPtr> trees;
  trees["s0"] = *ParseSegment("orders_count > 1");
  for (int i = 1; i <= 30; ++i) {
    std::string prev = "s";
    prev += std::to_string(i - 1);
    std::string name = "s";
    name += std::to_string(i);
    trees[name] = *ParseSegment("in_segment(\"" + prev + "\") or in_segment(\"" + prev + "\")");
  }
  int lookups = 0;
  SegmentLookup lookup = [&](std::string_view name) -> std::optional<SavedSegment> {
    ++lookups;
    auto it = trees.find(std::string(name));
    if (it == trees.end()) return std::nullopt;
    return SavedSegment{it->second.get(), {}};
  };
  auto e = ParseAndBind("in_segment(\"s30\")", {.source = {}, .lookup = lookup, .self_name = ""});
  ASSERT_TRUE(e) << e.error().ToString();
  EXPECT_EQ(lookups, 31);
}

TEST(BinderTest, BindWithoutSourceHasNoCaret) {
  auto tree = MakeBinary(ExprKind::kCompare, Op::kGt, MakeField("revenu_total"), MakeNumber(1));
  auto e = Bind(std::move(tree), {});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().ToString(), "segment: unknown field 'revenu_total'; did you mean 'revenue_total'?");
}

}  // namespace
}  // namespace treu::segment

namespace treu::segment {
namespace {

// Random token soup through parse + bind: never a crash; every bind error has a position.
TEST(BinderTest, FuzzNeverCrashes) {
  std::mt19937 rng(1);
  static const char* kPieces[] = {
      "revenue_total", "last_order_at", "email", "consent.sms", "attributes.x", "properties.p", "rfm_segment",
      "subscription_status", "(", ")", "=", "<", ">=", "and", "or", "not", "1", "-2.5", "\"DE\"", "\"1998-01-01\"",
      "\"act\"", "now()", "-", "+", "90d", "6mo", "in [1, 2]", "in [\"a\"]", "is null", "contains \"q\"",
      "matches \"(a\"", "matches \"^a$\"", "true", "count(event \"E\" within 1w where properties.p = 1)",
      "count(event \"E\" where email = 1)", "in_segment(\"v\")", "in_segment(\"w\")"};
  ExprPtr v = *ParseSegment("orders_count > 1");
  ExprPtr w = *ParseSegment("in_segment(\"w\")");
  SegmentLookup lookup = [&](std::string_view name) -> std::optional<SavedSegment> {
    if (name == "v") return SavedSegment{v.get(), "orders_count > 1"};
    if (name == "w") return SavedSegment{w.get(), "in_segment(\"w\")"};
    return std::nullopt;
  };
  const std::regex context_re("segment(:[0-9]+:[0-9]+)?");
  int bound = 0, bind_errors = 0;
  for (int i = 0; i < 30'000; ++i) {
    std::string text;
    int n = 1 + static_cast<int>(rng() % 10);
    for (int k = 0; k < n; ++k) {
      text += kPieces[rng() % std::size(kPieces)];
      text += ' ';
    }
    auto parsed = ParseSegment(text);
    if (!parsed) continue;
    auto e = Bind(std::move(*parsed), {.source = text, .lookup = lookup, .self_name = ""});
    if (e) {
      ++bound;
      ASSERT_NE((*e)->type, Type::kUnbound);
      continue;
    }
    ++bind_errors;
    ASSERT_TRUE(std::regex_match(e.error().context(), context_re)) << e.error().ToString();
  }
  EXPECT_GT(bound, 100);
  EXPECT_GT(bind_errors, 100);
}

}  // namespace
}  // namespace treu::segment
