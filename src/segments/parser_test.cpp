#include "segments/parser.hpp"

#include <gtest/gtest.h>

#include <random>
#include <regex>

namespace treu::segment {
namespace {

// The canonical text of `text`, or the error.
std::string Canon(std::string_view text) {
  auto e = ParseSegment(text);
  if (!e) return "ERROR " + e.error().ToString();
  return PrintSegment(**e);
}

std::string Err(std::string_view text) {
  auto e = ParseSegment(text);
  if (e) return "parsed: " + PrintSegment(**e);
  return e.error().ToString();
}

TEST(ParserTest, Comparisons) {
  EXPECT_EQ(Canon("revenue_total>100"), "revenue_total > 100");
  EXPECT_EQ(Canon("a=1"), "a = 1");
  EXPECT_EQ(Canon("a != 1"), "a != 1");
  EXPECT_EQ(Canon("a<1"), "a < 1");
  EXPECT_EQ(Canon("a<=1.5"), "a <= 1.5");
  EXPECT_EQ(Canon("a>=  -3"), "a >= -3");
  EXPECT_EQ(Canon("country in [\"DE\",\"AT\"]"), "country in [\"DE\", \"AT\"]");
  EXPECT_EQ(Canon("x in []"), "x in []");
  EXPECT_EQ(Canon("email contains \"@gmail\""), "email contains \"@gmail\"");
  EXPECT_EQ(Canon("email starts_with \"a\""), "email starts_with \"a\"");
  EXPECT_EQ(Canon("email matches \"^a.*\\\\.de$\""), "email matches \"^a.*\\\\.de$\"");
  EXPECT_EQ(Canon("plan is null"), "plan is null");
  EXPECT_EQ(Canon("plan is  not null"), "plan is not null");
  EXPECT_EQ(Canon("consent.email"), "consent.email");
  EXPECT_EQ(Canon("consent.email = true"), "consent.email = true");
}

TEST(ParserTest, Precedence) {
  EXPECT_EQ(Canon("a = 1 or b = 2 and c = 3"), "a = 1 or b = 2 and c = 3");
  EXPECT_EQ(Canon("(a = 1 or b = 2) and c = 3"), "(a = 1 or b = 2) and c = 3");
  EXPECT_EQ(Canon("((a = 1))"), "a = 1");
  EXPECT_EQ(Canon("not a = 1 and b = 2"), "not a = 1 and b = 2");
  EXPECT_EQ(Canon("not (a = 1 and b = 2)"), "not (a = 1 and b = 2)");
  EXPECT_EQ(Canon("a = 1 and (b = 2 and c = 3)"), "a = 1 and (b = 2 and c = 3)");
  EXPECT_EQ(Canon("(a = 1 and b = 2) and c = 3"), "a = 1 and b = 2 and c = 3");
  EXPECT_EQ(Canon("not not x"), "not not x");

  auto e = ParseSegment("a = 1 or b = 2 and not c = 3");
  ASSERT_TRUE(e);
  const Expr& root = **e;
  EXPECT_EQ(root.kind, ExprKind::kOr);
  EXPECT_EQ(root.children[1]->kind, ExprKind::kAnd);
  EXPECT_EQ(root.children[1]->children[1]->kind, ExprKind::kNot);
  EXPECT_EQ(root.children[1]->children[1]->children[0]->kind, ExprKind::kCompare);
}

TEST(ParserTest, Time) {
  EXPECT_EQ(Canon("last_order_at < now()-90d"), "last_order_at < now() - 90d");
  EXPECT_EQ(Canon("created_at > now() + 1y"), "created_at > now() + 1y");
  EXPECT_EQ(Canon("x > now() - 12w - 24h + 6mo"), "x > now() - 12w - 24h + 6mo");
  EXPECT_EQ(Canon("a - (b - c) > 1"), "a - (b - c) > 1");
  EXPECT_EQ(Canon("last_order_at < \"1998-01-01\""), "last_order_at < \"1998-01-01\"");
  auto e = ParseSegment("x < now() - 6mo");
  ASSERT_TRUE(e);
  const Expr& d = *(*e)->children[1]->children[1];
  EXPECT_EQ(d.kind, ExprKind::kDuration);
  EXPECT_EQ(d.duration, (Duration{6, DurationUnit::kMonths}));
}

TEST(ParserTest, CountAndInSegment) {
  EXPECT_EQ(Canon("count(event \"Page Viewed\" within 7d where properties.url contains \"/pricing\") >= 2"),
            "count(event \"Page Viewed\" within 7d where properties.url contains \"/pricing\") >= 2");
  EXPECT_EQ(Canon("count( event \"Signed Up\" ) > 0"), "count(event \"Signed Up\") > 0");
  EXPECT_EQ(Canon("count(event \"X\" where properties.a = 1 or properties.b = 2) = 0"),
            "count(event \"X\" where properties.a = 1 or properties.b = 2) = 0");
  EXPECT_EQ(Canon("in_segment(\"vip\") and not in_segment(\"churned\")"),
            "in_segment(\"vip\") and not in_segment(\"churned\")");
}

TEST(ParserTest, StringsCommentsAndLines) {
  EXPECT_EQ(Canon("plan = \"say \\\"hi\\\" \\\\ now\""), "plan = \"say \\\"hi\\\" \\\\ now\"");
  EXPECT_EQ(Canon("plan = \"a\\nb\\tc\""), "plan = \"a\\nb\tc\"");
  EXPECT_EQ(Canon("# VIPs\nrevenue_total > 100 # big spenders\n  and country = \"DE\""),
            "revenue_total > 100 and country = \"DE\"");
  auto e = ParseSegment("\n  a = 1\n  and b = 2");
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)->pos, (Pos{3, 3}));                             // the 'and'
  EXPECT_EQ((*e)->children[1]->children[0]->pos, (Pos{3, 7}));  // b
}

TEST(ParserTest, Errors) {
  EXPECT_EQ(Err("a = "),
            "segment:1:5: expected a value, got end of input\n"
            "a = \n"
            "    ^");
  EXPECT_EQ(Err("(a = 1"),
            "segment:1:7: expected ')', got end of input\n"
            "(a = 1\n"
            "      ^");
  EXPECT_EQ(Err("a = 1 b"),
            "segment:1:7: unexpected 'b' after the end of the expression\n"
            "a = 1 b\n"
            "      ^");
  EXPECT_EQ(Err("a = 1 and\n  b = $"),
            "segment:2:7: unexpected character '$'\n"
            "  b = $\n"
            "      ^");
  EXPECT_EQ(Err("plan = \"abc"),
            "segment:1:8: unterminated string\n"
            "plan = \"abc\n"
            "       ^");
  EXPECT_EQ(Err("plan = \"a\\qb\""),
            "segment:1:10: unknown escape in string (use \\\", \\\\, \\n or \\t)\n"
            "plan = \"a\\qb\"\n"
            "         ^");
  EXPECT_EQ(Err("x < now() - 90days"),
            "segment:1:15: unknown duration unit 'days' (use h, d, w, mo or y)\n"
            "x < now() - 90days\n"
            "              ^");
  EXPECT_EQ(Err("x < now() - 1.5d"),
            "segment:1:13: a duration needs a whole number: '1.5d'\n"
            "x < now() - 1.5d\n"
            "            ^");
  EXPECT_EQ(Err("plan = null"),
            "segment:1:8: use 'is null' or 'is not null' to test for null\n"
            "plan = null\n"
            "       ^");
  EXPECT_EQ(Err("plan is nul"),
            "segment:1:9: expected 'null', got 'nul'\n"
            "plan is nul\n"
            "        ^");
  EXPECT_EQ(Err("country in \"DE\""),
            "segment:1:12: expected '[' after 'in', got string \"DE\"\n"
            "country in \"DE\"\n"
            "           ^");
  EXPECT_EQ(Err("country = [\"DE\"]"),
            "segment:1:11: a list is only allowed after 'in'\n"
            "country = [\"DE\"]\n"
            "          ^");
  EXPECT_EQ(Err("country in [\"DE\" \"AT\"]"),
            "segment:1:18: expected ',' or ']', got string \"AT\"\n"
            "country in [\"DE\" \"AT\"]\n"
            "                 ^");
  EXPECT_EQ(Err("count(\"X\") > 1"),
            "segment:1:7: expected 'event', got string \"X\"\n"
            "count(\"X\") > 1\n"
            "      ^");
  EXPECT_EQ(Err("count(event \"X\" within 7) > 1"),
            "segment:1:24: expected a duration such as 7d after 'within', got '7'\n"
            "count(event \"X\" within 7) > 1\n"
            "                       ^");
  EXPECT_EQ(Err("in_segment(vip)"),
            "segment:1:12: expected a segment name as a quoted string, got 'vip'\n"
            "in_segment(vip)\n"
            "           ^");
  EXPECT_EQ(Err("a = 1 and or b = 2"),
            "segment:1:11: expected a value, got 'or'\n"
            "a = 1 and or b = 2\n"
            "          ^");
  EXPECT_EQ(Err("a = = 1"),
            "segment:1:5: expected a value, got '='\n"
            "a = = 1\n"
            "    ^");
  EXPECT_EQ(Err("a = 1 = 2"),
            "segment:1:7: unexpected '=' after the end of the expression\n"
            "a = 1 = 2\n"
            "      ^");
  EXPECT_EQ(Err("a = 1."),
            "segment:1:7: expected a digit after '.'\n"
            "a = 1.\n"
            "      ^");
  EXPECT_EQ(Err("\ta = \xff"),
            "segment:1:6: unexpected byte 0xff\n"
            "\ta = \xff\n"
            "\t    ^");
  EXPECT_EQ(Err(""),
            "segment:1:1: expected a value, got end of input\n"
            "\n"
            "^");
}

TEST(ParserTest, ErrorsCarryPositionAndCode) {
  auto e = ParseSegment("a = ");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(e.error().context(), "segment:1:5");
}

TEST(ParserTest, Limits) {
  std::string deep(kMaxNestingDepth + 1, '(');
  deep += "a";
  EXPECT_EQ(ParseSegment(deep).error().detail().substr(0, 29), "expression nested too deeply\n");
  std::string nots;
  for (int i = 0; i < 200; ++i) nots += "not ";
  EXPECT_FALSE(ParseSegment(nots + "a"));
  std::string chain = "a";
  for (int i = 0; i < kMaxTreeDepth; ++i) chain += " or a";
  EXPECT_EQ(Err(chain).substr(0, 65), "segment:1:1: expression nested too deeply (more than 500 levels)\n");
  std::string wide = "a in [1";
  for (int i = 0; i < kMaxNodes; ++i) wide += ", 1";
  wide += "]";
  auto w = ParseSegment(wide);
  ASSERT_FALSE(w);
  EXPECT_TRUE(w.error().detail().starts_with("expression too large")) << w.error().ToString();
  EXPECT_FALSE(ParseSegment(std::string(kMaxTextBytes + 1, ' ')));
  EXPECT_EQ(Err("x < now() - 100001d").substr(0, 35), "segment:1:13: duration too large: '");
  std::string huge(400, '9');
  EXPECT_EQ(Err("x > " + huge).substr(0, 35), "segment:1:5: number out of range: '");
}

TEST(ParserTest, FieldNames) {
  EXPECT_TRUE(IsValidFieldName("revenue_total"));
  EXPECT_TRUE(IsValidFieldName("attributes.plan_tier"));
  EXPECT_TRUE(IsValidFieldName("properties.2fa"));
  EXPECT_FALSE(IsValidFieldName(""));
  EXPECT_FALSE(IsValidFieldName("and"));
  EXPECT_FALSE(IsValidFieldName("a..b"));
  EXPECT_FALSE(IsValidFieldName("a."));
  EXPECT_FALSE(IsValidFieldName("1a"));
  EXPECT_FALSE(IsValidFieldName("a-b"));
}

// Random bytes and random token soup: never a crash or hang, every error has a position.
TEST(ParserTest, FuzzNeverCrashes) {
  std::mt19937 rng(42);
  const std::regex context_re("segment:[0-9]+:[0-9]+");
  static const char* kPieces[] = {"a", "revenue_total", " ", "(", ")", "[", "]", ",", "=", "!=", "<", ">=",
                                  "and", "or", "not", "in", "is", "null", "now()", "90d", "1.5", "\"x\"",
                                  "\"", "\\", "count(event \"E\"", "within", "where", "in_segment(", "-",
                                  "+", "#", "\n", "contains", "matches", "true", "properties.u", "6mo"};
  int parsed = 0;
  for (int i = 0; i < 100'000; ++i) {
    std::string text;
    int n = static_cast<int>(rng() % 24);
    bool soup = i % 2 == 0;
    for (int k = 0; k < n; ++k) {
      if (soup) {
        text += kPieces[rng() % std::size(kPieces)];
        text += ' ';
      } else {
        text += static_cast<char>(rng() % 256);
      }
    }
    auto e = ParseSegment(text);
    if (e) {
      ++parsed;
      // Whatever parses prints to text that parses to the same tree.
      std::string printed = PrintSegment(**e);
      auto again = ParseSegment(printed);
      ASSERT_TRUE(again) << text << " -> " << printed;
      ASSERT_TRUE(SameTree(**e, **again)) << text << " -> " << printed;
      continue;
    }
    ASSERT_TRUE(std::regex_match(e.error().context(), context_re)) << e.error().ToString();
  }
  EXPECT_GT(parsed, 100);
}

}  // namespace
}  // namespace treu::segment
