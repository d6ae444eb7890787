#include "messaging/template.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace treu::messaging {

void PrintTo(const VariableUse& v, std::ostream* os) { *os << v.path << "@" << v.line << ":" << v.column; }

namespace {

using namespace std::string_view_literals;

const Timestamp kNow = Timestamp::FromSeconds(1709294400);  // 2024-03-01T12:00:00Z

RenderContext Ctx(std::string_view zone = "UTC", std::string_view locale = "en-US",
                  std::string_view currency = "USD") {
  auto tz = TimeZone::Find(zone);
  EXPECT_TRUE(tz.has_value());
  auto ctx = RenderContext::Make(*tz, locale, currency, kNow);
  EXPECT_TRUE(ctx.has_value()) << ctx.error().ToString();
  return *ctx;
}

// Renders `source` in `mode`; a parse or render failure becomes "ERROR <message>".
std::string Render(std::string_view source, const Value& data = Value(), Mode mode = Mode::kText,
                   const RenderContext& ctx = Ctx()) {
  auto t = Template::Parse(source, mode);
  if (!t) return "ERROR " + t.error().ToString();
  auto out = t->Render(data, ctx);
  if (!out) return "ERROR " + out.error().ToString();
  return *out;
}

std::string Html(std::string_view source, const Value& data = Value()) {
  return Render(source, data, Mode::kHtml);
}

// "LINE:COL message" of a parse error, or "parsed" when there is none.
std::string ParseError(std::string_view source, Mode mode = Mode::kText) {
  auto t = Template::Parse(source, mode);
  if (t) return "parsed";
  auto e = AsTemplateError(t.error());
  if (!e) return "not a template error: " + t.error().ToString();
  return std::to_string(e->line) + ":" + std::to_string(e->column) + " " + e->message;
}

Value Customer() {
  return Value::MakeObject({
      {"customer", Value::MakeObject({{"first_name", "Ada"},
                                      {"last_name", "Lovelace"},
                                      {"points", 1250},
                                      {"tier", "gold"},
                                      {"tags", Value::MakeArray({"vip", "newsletter"})}})},
      {"orders", Value::MakeArray({Value::MakeObject({{"id", 1}, {"total", 19.5}}),
                                   Value::MakeObject({{"id", 2}, {"total", 5}}),
                                   Value::MakeObject({{"id", 3}, {"total", 120.25}})})},
      {"empty_list", Value::Array()},
      {"blank_text", "   "},
      {"zero", 0},
      {"no", false},
  });
}

// ---- output, data, lookups ----

TEST(TemplateTest, RendersTextAndVariables) {
  EXPECT_EQ(Render("Hello {{ customer.first_name }}!", Customer()), "Hello Ada!");
  EXPECT_EQ(Render("no tags at all"), "no tags at all");
  EXPECT_EQ(Render(""), "");
  EXPECT_EQ(Render("{{ 'lit' }}{{ \"dq\" }}{{ 42 }}{{ -7 }}{{ 2.5 }}{{ true }}{{ nil }}"), "litdq42-72.5true");
  EXPECT_EQ(Render("{ not a tag } {x}"), "{ not a tag } {x}");
}

TEST(TemplateTest, UndefinedIsEmptyAndMissingKeysAreNil) {
  EXPECT_EQ(Render("[{{ nobody }}][{{ customer.nothing.deeper }}][{{ orders[7].id }}]", Customer()), "[][][]");
  EXPECT_EQ(Render("{% if customer.nothing == nil %}nil{% endif %}", Customer()), "nil");
  EXPECT_EQ(Render("[{{ x }}]", Value("not an object")), "[]");
}

TEST(TemplateTest, IndexesKeysAndProperties) {
  const Value data = Customer();
  EXPECT_EQ(Render("{{ orders[0].id }}{{ orders[-1].id }}{{ orders[1][\"id\"] }}", data), "132");
  EXPECT_EQ(Render("{{ orders.size }} {{ orders.first.id }} {{ orders.last.id }}", data), "3 1 3");
  EXPECT_EQ(Render("{{ customer.first_name.size }} {{ customer.size }}", data), "3 5");
  EXPECT_EQ(Render("{% assign i = 2 %}{{ orders[i].total }}", data), "120.25");
  EXPECT_EQ(Render("{{ customer[key] }}", Value::MakeObject({{"customer", Value::MakeObject({{"k", "v"}})},
                                                               {"key", "k"}})),
            "v");
  // A member named like a property wins.
  EXPECT_EQ(Render("{{ o.size }}", Value::MakeObject({{"o", Value::MakeObject({{"size", "XL"}})}})), "XL");
}

TEST(TemplateTest, WritesValuesAsText) {
  Value data = Value::MakeObject({{"d", 3.0},
                                  {"big", 1e20},
                                  {"list", Value::MakeArray({1, "a", 2.5})},
                                  {"obj", Value::MakeObject({{"a", 1}})},
                                  {"t", Timestamp::FromSeconds(1709294400)},
                                  {"b", false}});
  EXPECT_EQ(Render("{{ d }}|{{ big }}|{{ list }}|{{ obj }}|{{ t }}|{{ b }}", data),
            "3.0|1.0e+20|1a2.5||2024-03-01 12:00:00 +0000|false");
  EXPECT_EQ(Render("{{ t }}", data, Mode::kText, Ctx("Europe/Berlin")), "2024-03-01 13:00:00 +0100");
}

TEST(TemplateTest, WhitespaceControl) {
  EXPECT_EQ(Render("a  {{- 'b' -}}  \n c"), "abc");
  EXPECT_EQ(Render("<ul>\n  {%- for i in (1..3) -%}\n  <li>{{ i }}</li>\n  {%- endfor -%}\n</ul>"),
            "<ul><li>1</li><li>2</li><li>3</li></ul>");
  EXPECT_EQ(Render("a \n{% if true %} b {% endif %}\n c"), "a \n b \n c");
  EXPECT_EQ(Render("x {%- comment %} gone {% endcomment -%} y"), "xy");
}

// ---- tags ----

TEST(TemplateTest, IfElsifElseUnless) {
  const Value data = Customer();
  const std::string_view tier =
      "{% if customer.tier == 'platinum' %}P{% elsif customer.tier == 'gold' %}G{% else %}S{% endif %}";
  EXPECT_EQ(Render(tier, data), "G");
  EXPECT_EQ(Render("{% unless customer.points > 2000 %}below{% else %}above{% endunless %}", data), "below");
  EXPECT_EQ(Render("{% if zero %}0 is true{% endif %}{% if no %}x{% else %}false is false{% endif %}", data),
            "0 is truefalse is false");
  EXPECT_EQ(Render("{% if blank_text %}strings are true{% endif %}", data), "strings are true");
}

TEST(TemplateTest, Comparisons) {
  const Value data = Customer();
  EXPECT_EQ(Render("{% if 1 == 1.0 %}a{% endif %}{% if 2 != 3 %}b{% endif %}{% if 2 <> 2 %}X{% endif %}"), "ab");
  EXPECT_EQ(Render("{% if 1 < 2 %}a{% endif %}{% if 2 <= 2 %}b{% endif %}{% if 3 > 2.5 %}c{% endif %}"
                   "{% if 'b' >= 'a' %}d{% endif %}"),
            "abcd");
  EXPECT_EQ(Render("{% if 'a' < 1 %}X{% endif %}{% if nil < 1 %}X{% endif %}{% if '1' == 1 %}X{% endif %}"), "");
  EXPECT_EQ(Render("{% if customer.tags contains 'vip' %}a{% endif %}{% if customer.first_name contains 'd' %}b"
                   "{% endif %}{% if customer contains 'tier' %}c{% endif %}{% if orders contains 1 %}X{% endif %}",
                   data),
            "abc");
  EXPECT_EQ(Render("{% if empty_list == empty %}a{% endif %}{% if blank_text == blank %}b{% endif %}"
                   "{% if nobody == blank %}c{% endif %}{% if nobody == empty %}X{% endif %}"
                   "{% if customer.tags != empty %}d{% endif %}",
                   data),
            "abcd");
}

TEST(TemplateTest, AndOrEvaluateRightToLeft) {
  // Right to left: true or (false and false) = true; false and (false or true) = false.
  EXPECT_EQ(Render("{% if true or false and false %}yes{% else %}no{% endif %}"), "yes");
  EXPECT_EQ(Render("{% if false and false or true %}yes{% else %}no{% endif %}"), "no");
  EXPECT_EQ(Render("{% if true and true and 1 == 1 %}yes{% endif %}"), "yes");
}

TEST(TemplateTest, ForLoops) {
  const Value data = Customer();
  EXPECT_EQ(Render("{% for o in orders %}{{ o.id }}{% endfor %}", data), "123");
  EXPECT_EQ(Render("{% for o in orders limit: 2 %}{{ o.id }}{% endfor %}", data), "12");
  EXPECT_EQ(Render("{% for o in orders offset: 1 %}{{ o.id }}{% endfor %}", data), "23");
  EXPECT_EQ(Render("{% for o in orders reversed %}{{ o.id }}{% endfor %}", data), "321");
  EXPECT_EQ(Render("{% for o in orders offset: 1 limit: 1 reversed %}{{ o.id }}{% endfor %}", data), "2");
  EXPECT_EQ(Render("{% for o in empty_list %}x{% else %}none{% endfor %}", data), "none");
  EXPECT_EQ(Render("{% for o in nobody %}x{% else %}none{% endfor %}", data), "none");
  EXPECT_EQ(Render("{% for o in orders limit: 0 %}x{% else %}none{% endfor %}", data), "none");
  EXPECT_EQ(Render("{% for i in (1..4) %}{{ i }}{% endfor %}|{% for i in (3..1) %}x{% endfor %}"), "1234|");
  EXPECT_EQ(Render("{% assign n = 3 %}{% for i in (n..5) %}{{ i }}{% endfor %}"), "345");
  EXPECT_EQ(Render("{% for kv in customer limit: 2 %}{{ kv[0] }}={{ kv[1] }};{% endfor %}", data),
            "first_name=Ada;last_name=Lovelace;");
  EXPECT_EQ(Render("{% for c in 'abc' %}[{{ c }}]{% endfor %}"), "[abc]");
}

TEST(TemplateTest, ForloopProperties) {
  EXPECT_EQ(Render("{% for i in (5..7) %}{{ forloop.index }}{{ forloop.index0 }}{{ forloop.rindex }}"
                   "{{ forloop.rindex0 }}{{ forloop.first }}{{ forloop.last }}{{ forloop.length }};{% endfor %}"),
            "1032truefalse3;2121falsefalse3;3210falsetrue3;");
  EXPECT_EQ(Render("{% for a in (1..2) %}{% for b in (1..3) %}{{ forloop.length }}{% endfor %}"
                   "{{ forloop.length }} {% endfor %}"),
            "3332 3332 ");
  EXPECT_EQ(Render("{% for o in orders %}{% unless forloop.last %}{{ o.id }}, {% else %}{{ o.id }}{% endunless %}"
                   "{% endfor %}",
                   Customer()),
            "1, 2, 3");
}

TEST(TemplateTest, BreakAndContinue) {
  EXPECT_EQ(Render("{% for i in (1..10) %}{% if i == 4 %}{% break %}{% endif %}{{ i }}{% endfor %}"), "123");
  EXPECT_EQ(Render("{% for i in (1..5) %}{% if i == 2 or i == 4 %}{% continue %}{% endif %}{{ i }}{% endfor %}"),
            "135");
  EXPECT_EQ(Render("{% for i in (1..2) %}{% for j in (1..3) %}{% if j == 2 %}{% break %}{% endif %}{{ i }}{{ j }} "
                   "{% endfor %}{% endfor %}"),
            "11 21 ");
}

TEST(TemplateTest, Assign) {
  const Value data = Customer();
  EXPECT_EQ(Render("{% assign name = customer.first_name | upcase %}{{ name }}", data), "ADA");
  EXPECT_EQ(Render("{% assign total = 0 %}{% for o in orders %}{% assign total = total | plus: o.total %}"
                   "{% endfor %}{{ total }}",
                   data),
            "144.75");
  // Before its first assign, a name reads the data.
  EXPECT_EQ(Render("{{ zero }}{% assign zero = zero | plus: 1 %}{{ zero }}", data), "01");
  // Loop variables are not visible after the loop; assigned names are.
  EXPECT_EQ(Render("{% for o in orders %}{% assign last_id = o.id %}{% endfor %}[{{ o }}][{{ last_id }}]", data),
            "[][3]");
}

TEST(TemplateTest, ReassigningTheCollectionOfALoopIsSafe) {
  // The loop keeps iterating the old array (ASan checks that nothing dangles).
  EXPECT_EQ(Render("{% assign list = orders %}{% for o in list %}{% assign list = 'gone' %}{{ o.id }}{% endfor %}"
                   "{{ list }}",
                   Customer()),
            "123gone");
  EXPECT_EQ(Render("{% assign c = customer %}{% assign c = c.tags %}{{ c | join: ',' }}", Customer()),
            "vip,newsletter");
}

TEST(TemplateTest, CommentAndRaw) {
  EXPECT_EQ(Render("a{% comment %} {{ nothing }} {% if %} {% endcomment %}b"), "ab");
  EXPECT_EQ(Render("a{% comment %}{% comment %}x{% endcomment %}y{% endcomment %}b"), "ab");
  EXPECT_EQ(Render("{% raw %}{{ not_rendered }} {% if %}{% endraw %}"), "{{ not_rendered }} {% if %}");
  EXPECT_EQ(Render("a{% # a line comment %}b"), "ab");
}

// ---- filters ----

TEST(TemplateFilterTest, Default) {
  const Value data = Customer();
  EXPECT_EQ(Render("{{ nobody | default: 'there' }} {{ customer.first_name | default: 'there' }}", data),
            "there Ada");
  EXPECT_EQ(Render("{{ no | default: 'x' }}{{ empty_list | default: 'y' }}{{ '' | default: 'z' }}"
                   "{{ zero | default: 'w' }}",
                   data),
            "xyz0");
}

TEST(TemplateFilterTest, Case) {
  EXPECT_EQ(Render("{{ 'Hello' | upcase }} {{ 'Hello' | downcase }} {{ 'hELLO wORLD' | capitalize }}"),
            "HELLO hello Hello world");
  EXPECT_EQ(Render("{{ 'grüße' | upcase }} {{ 'ÄÖÜ' | downcase }} {{ 'élan' | capitalize }}"),
            "GRÜSSE äöü Élan");
  EXPECT_EQ(Render("{{ 42 | upcase }}{{ nil | upcase }}"), "42");
}

TEST(TemplateFilterTest, TruncateCountsCodePoints) {
  EXPECT_EQ(Render("{{ 'Hello world' | truncate: 8 }}"), "Hello...");
  EXPECT_EQ(Render("{{ 'Hello' | truncate: 5 }}|{{ 'Hello' | truncate: 50 }}"), "Hello|Hello");
  EXPECT_EQ(Render("{{ 'Grüße aus Köln' | truncate: 8 }}"), "Grüße...");
  EXPECT_EQ(Render("{{ '日本語のテキスト' | truncate: 5, '…' }}"), "日本語の…");
  EXPECT_EQ(Render("{{ '😀😀😀😀' | truncate: 3, '' }}"), "😀😀😀");
  EXPECT_EQ(Render("{{ 'abcdef' | truncate: 2 }}|{{ 'abcdef' | truncate: -1 }}"), "...|...");
  EXPECT_EQ(Render("{{ s | truncate }}", Value::MakeObject({{"s", std::string(60, 'x')}})),
            std::string(47, 'x') + "...");
}

TEST(TemplateFilterTest, Date) {
  const Value data = Value::MakeObject({{"t", Timestamp::FromSeconds(1709294400)},  // 2024-03-01T12:00:00Z
                                        {"iso", "2024-07-04T09:05:03Z"},
                                        {"local", "2024-12-24 18:30"},
                                        {"unix", 0}});
  EXPECT_EQ(Render("{{ t | date: '%Y-%m-%d %H:%M:%S %y %j %% %a %A %b %B %e' }}", data),
            "2024-03-01 12:00:00 24 061 % Fri Friday Mar March  1");
  EXPECT_EQ(Render("{{ iso | date: '%-d %B %Y, %-I:%M %p %z %Z' }}", data), "4 July 2024, 9:05 AM +0000 UTC");
  EXPECT_EQ(Render("{{ iso | date: '%-d.%-m.%Y %H:%M %Z %z' }}", data, Mode::kText, Ctx("Europe/Berlin")),
            "4.7.2024 11:05 CEST +0200");
  EXPECT_EQ(Render("{{ unix | date: '%F %T' }} {{ 'now' | date: '%F' }} {{ 'today' | date: '%s' }}", data),
            "1970-01-01 00:00:00 2024-03-01 1709294400");
  // ISO text without an offset is local time in the context's zone.
  EXPECT_EQ(Render("{{ local | date: '%H:%M %z' }}", data, Mode::kText, Ctx("America/New_York")), "18:30 -0500");
  // What is no time comes back as it is.
  EXPECT_EQ(Render("{{ 'next week' | date: '%Y' }}|{{ nil | date: '%Y' }}|{{ t | date: '' }}", data),
            "next week||2024-03-01 12:00:00 +0000");
}

TEST(TemplateFilterTest, DateAcrossTheBerlinDstChange) {
  // 2024-03-31 01:00Z: clocks go from 02:00 CET to 03:00 CEST.
  const Value data = Value::MakeObject({{"before", "2024-03-31T00:59:00Z"}, {"after", "2024-03-31T01:00:00Z"}});
  EXPECT_EQ(Render("{{ before | date: '%H:%M %Z' }} {{ after | date: '%H:%M %Z' }}", data, Mode::kText,
                   Ctx("Europe/Berlin")),
            "01:59 CET 03:00 CEST");
}

TEST(TemplateFilterTest, Money) {
  const Value data = Value::MakeObject({{"amount", 1234.5}, {"whole", 1234}, {"text", "1234.5"}, {"neg", -3.456}});
  EXPECT_EQ(Render("{{ amount | money }}", data, Mode::kText, Ctx("UTC", "en-US", "USD")), "$1,234.50");
  EXPECT_EQ(Render("{{ amount | money }}", data, Mode::kText, Ctx("UTC", "de-DE", "EUR")), "1.234,50\u00A0€");
  EXPECT_EQ(Render("{{ amount | money }}", data, Mode::kText, Ctx("UTC", "ja-JP", "JPY")), "￥1,235");
  EXPECT_EQ(Render("{{ whole | money }} {{ text | money }} {{ neg | money }}", data), "$1,234.00 $1,234.50 -$3.46");
  EXPECT_EQ(Render("{{ amount | money: 'EUR' }}", data), "€1,234.50");
  EXPECT_EQ(Render("{{ nil | money }}|{{ 'abc' | money }}"), "|abc");
  // Half away from zero at the currency's digits.
  EXPECT_EQ(Render("{{ 0.125 | money }} {{ 2.5 | money: 'JPY' }}"), "$0.13 ¥3");
}

TEST(TemplateFilterTest, EscapeAndUrlEncodeInTextMode) {
  EXPECT_EQ(Render("{{ '<a href=\"x\">&' | escape }}"), "&lt;a href=&quot;x&quot;&gt;&amp;");
  EXPECT_EQ(Render("{{ 'a b&c/é' | url_encode }}"), "a%20b%26c%2F%C3%A9");
  EXPECT_EQ(Render("{{ '<b>' | raw }}"), "<b>");
}

TEST(TemplateFilterTest, Strings) {
  EXPECT_EQ(Render("{{ 'Grüße' | size }} {{ nil | size }} {{ 5 | size }}"), "5 0 0");
  EXPECT_EQ(Render("{{ 'a' | append: 'b' | prepend: 'c' }} {{ 1 | append: 2 }}"), "cab 12");
  EXPECT_EQ(Render("{{ 'a-b-c' | replace: '-', '+' }} {{ 'aaa' | replace: 'a', 'bb' }} {{ 'x' | replace: '', 'y' }}"),
            "a+b+c bbbbbb x");
  EXPECT_EQ(Render("[{{ ' \t a b \n ' | strip }}]"), "[a b]");
  EXPECT_EQ(Render("{{ 'héllo' | first }}{{ 'héllo' | last }}{{ '' | first }}"), "ho");
}

TEST(TemplateFilterTest, Arrays) {
  const Value data = Customer();
  EXPECT_EQ(Render("{{ customer.tags | join: ', ' }}|{{ customer.tags | join }}|{{ 'x' | join: '-' }}", data),
            "vip, newsletter|vip newsletter|x");
  EXPECT_EQ(Render("{{ customer.tags | first }} {{ customer.tags | last }} {{ empty_list | first }}|", data),
            "vip newsletter |");
  EXPECT_EQ(Render("{{ orders | size }} {{ customer | size }}", data), "3 5");
}

TEST(TemplateFilterTest, Arithmetic) {
  EXPECT_EQ(Render("{{ 4 | plus: 2 }} {{ 4 | minus: 6 }} {{ 4 | times: 2.5 }} {{ 7 | divided_by: 2 }}"),
            "6 -2 10.0 3");
  EXPECT_EQ(Render("{{ -7 | divided_by: 2 }} {{ 7.0 | divided_by: 2 }} {{ 7 | divided_by: 0 }}|"), "-4 3.5 |");
  EXPECT_EQ(Render("{{ '3' | plus: '4' }} {{ '1.5' | plus: 1 }} {{ nil | plus: 1 }} {{ 'x' | plus: 1 }}"),
            "7 2.5 1 1");
  EXPECT_EQ(Render("{{ 9223372036854775807 | plus: 1 }}"), "9.223372036854776e+18");
  EXPECT_EQ(Render("{{ 0.00002 }} {{ 0.5 | times: 0.5 }}"), "2.0e-05 0.25");
  EXPECT_EQ(Render("{{ 2.456 | round: 2 }} {{ 2.5 | round }} {{ -2.5 | round }} {{ 1234 | round: -2 }} {{ 3 | round: 2 }}"),
            "2.46 3 -3 1200 3");
}

// ---- HTML mode: escaping by context ----

TEST(TemplateHtmlTest, EscapesTextAndAttributes) {
  const Value data = Value::MakeObject({{"x", "<b>\"Tom\" & 'Jerry'`</b>"}});
  EXPECT_EQ(Html("<p>{{ x }}</p>", data), "<p>&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;`&lt;/b&gt;</p>");
  EXPECT_EQ(Html("<p title=\"{{ x }}\" data-x='{{ x }}'>", data),
            "<p title=\"&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&#96;&lt;/b&gt;\" "
            "data-x='&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&#96;&lt;/b&gt;'>");
  EXPECT_EQ(Html("<title>{{ x }}</title><textarea>{{ x }}</textarea>", Value::MakeObject({{"x", "</title>"}})),
            "<title>&lt;/title&gt;</title><textarea>&lt;/title&gt;</textarea>");
}

TEST(TemplateHtmlTest, EscapeDoesNotEscapeTwice) {
  const Value data = Value::MakeObject({{"x", "a&b"}});
  EXPECT_EQ(Html("{{ x | escape }} {{ x }} <i title=\"{{ x | escape }}\"></i>", data),
            "a&amp;b a&amp;b <i title=\"a&amp;b\"></i>");
  EXPECT_EQ(Html("{{ x | escape | raw }}", data), "a&amp;b");
  EXPECT_EQ(Html("{% assign e = x | escape %}{{ e }}", data), "a&amp;b");
}

TEST(TemplateHtmlTest, RawIsTheEscapeHatch) {
  const Value data = Value::MakeObject({{"snippet", "<b>bold</b>"}});
  EXPECT_EQ(Html("<div>{{ snippet | raw }}</div><i title=\"{{ snippet | raw }}\"></i>", data),
            "<div><b>bold</b></div><i title=\"<b>bold</b>\"></i>");
}

TEST(TemplateHtmlTest, UrlAttributes) {
  auto with = [](std::string_view url) { return Value::MakeObject({{"u", url}, {"q", "a b&c"}}); };
  EXPECT_EQ(Html("<a href=\"{{ u }}\">", with("https://shop.example/?a=1&b=2")),
            "<a href=\"https://shop.example/?a=1&amp;b=2\">");
  EXPECT_EQ(Html("<a href=\"{{ u }}\">", with("javascript:alert(1)")), "<a href=\"about:invalid\">");
  EXPECT_EQ(Html("<a href=\" {{ u }}\">", with(" JaVa\tScRiPt:alert(1)")), "<a href=\" about:invalid\">");
  EXPECT_EQ(Html("<img src='{{ u }}'>", with("data:text/html,x")), "<img src='about:invalid'>");
  EXPECT_EQ(Html("<form action=\"{{ u }}\"><svg><a xlink:href=\"{{ u }}\">", with("vbscript:x")),
            "<form action=\"about:invalid\"><svg><a xlink:href=\"about:invalid\">");
  // Later in the value: one URL component, percent-encoded.
  EXPECT_EQ(Html("<a href=\"https://shop.example/s?q={{ q }}\">", with("")),
            "<a href=\"https://shop.example/s?q=a%20b%26c\">");
  EXPECT_EQ(Html("<a href=\"{{ u }}/p/{{ q }}\">", with("/base")), "<a href=\"/base/p/a%20b%26c\">");
  EXPECT_EQ(Html("<a href=\"java{{ u }}\">", with("script:alert(1)")), "<a href=\"javascript%3Aalert%281%29\">");
  // url_encode already did that: not again.
  EXPECT_EQ(Html("<a href=\"/s?q={{ q | url_encode }}\">", with("")), "<a href=\"/s?q=a%20b%26c\">");
  // raw skips SafeUrl too.
  EXPECT_EQ(Html("<a href=\"{{ u | raw }}\">", with("javascript:x")), "<a href=\"javascript:x\">");
}

TEST(TemplateHtmlTest, ContextFollowsBranchesAndLoops) {
  const Value data = Value::MakeObject({{"u", "javascript:x"}, {"c", true}, {"parts", Value::MakeArray({"a:b", "c d"})}});
  EXPECT_EQ(Html("<a {% if c %}class=\"x\"{% endif %} href=\"{{ u }}\">", data),
            "<a class=\"x\" href=\"about:invalid\">");
  EXPECT_EQ(Html("<a href=\"{% if c %}/x/{% endif %}{{ u }}\">", data), "<a href=\"/x/javascript%3Ax\">");
  // In a loop, later iterations are not at the start of the value: every part is encoded.
  EXPECT_EQ(Html("<a href=\"{% for p in parts %}{{ p }}{% endfor %}\">", data), "<a href=\"a%3Abc%20d\">");
  EXPECT_EQ(ParseError("<a {% if c %}href=\"{% endif %}{{ u }}\">", Mode::kHtml),
            "1:20 the branches of this block end in different HTML contexts (the value of the attribute 'href' "
            "and inside the tag <a>)");
  EXPECT_EQ(ParseError("{% for i in (1..2) %}<a href=\"{% endfor %}", Mode::kHtml),
            "1:31 the iterations of this loop end in different HTML contexts (text and the value of the "
            "attribute 'href')");
}

TEST(TemplateHtmlTest, RefusesUnsafePlaces) {
  struct Case {
    std::string_view source;
    std::string_view error;
  };
  const Case cases[] = {
      {"<script>var n = '{{ x }}';</script>", "1:18 output inside <script> is not allowed"},
      {"<SCRIPT type=text/javascript>{{ x }}</SCRIPT>", "1:30 output inside <script> is not allowed"},
      {"<style>p { color: {{ x }} }</style>", "1:19 output inside <style> is not allowed"},
      {"<a onclick=\"f('{{ x }}')\">", "1:16 output inside the event handler attribute 'onclick' is not allowed"},
      {"<a OnMouseOver='{{ x }}'>", "1:17 output inside the event handler attribute 'onmouseover' is not allowed"},
      {"<p style=\"color: {{ x }}\">", "1:18 output inside a style attribute is not allowed"},
      {"<p class={{ x }}>", "1:10 output in an unquoted attribute value is not allowed; put the value in quotes"},
      {"<p class=a{{ x }}>", "1:11 output in an unquoted attribute value is not allowed; put the value in quotes"},
      {"<{{ x }}>", "1:2 output inside a tag name is not allowed"},
      {"<p{{ x }}>", "1:3 output inside a tag name is not allowed"},
      {"</{{ x }}>", "1:3 output inside a tag name is not allowed"},
      {"<p {{ x }}>", "1:4 output in place of an attribute name is not allowed; write name=\"{{ ... }}\""},
      {"<p a=\"1\"{{ x }}>", "1:9 output in place of an attribute name is not allowed; write name=\"{{ ... }}\""},
      {"<!-- {{ x }} -->", "1:6 output inside an HTML comment is not allowed"},
      {"<!DOCTYPE {{ x }}>", "1:11 output inside an HTML declaration or processing instruction is not allowed"},
      {"<iframe srcdoc=\"{{ x }}\">", "1:17 output inside the 'srcdoc' attribute is not allowed"},
      {"<img srcset=\"{{ x }}\">", "1:14 output inside the 'srcset' attribute is not allowed"},
      {"<svg><animate attributeName=\"href\" values=\"{{ x }}\"/>",
       "1:44 output inside the 'values' attribute of an SVG animation is not allowed"},
      {"<iframe>{{ x }}</iframe>", "1:9 output inside <iframe> is not allowed"},
      {"<noscript>{{ x }}</noscript>", "1:11 output inside <noscript> is not allowed"},
      {"<script>{{ x | raw }}</script>", "1:9 output inside <script> is not allowed"},
      {"<script><!--</script>", "1:9 '<!' inside <script> is not supported"},
  };
  for (const Case& c : cases) EXPECT_EQ(ParseError(c.source, Mode::kHtml), c.error) << c.source;
  // The same texts are fine in text mode.
  for (const Case& c : cases) {
    if (c.source.starts_with("<script><!--")) continue;
    EXPECT_EQ(ParseError(c.source, Mode::kText), "parsed") << c.source;
  }
}

TEST(TemplateHtmlTest, TracksTheEndOfRawTextElements) {
  const Value data = Value::MakeObject({{"x", "<i>"}});
  EXPECT_EQ(Html("<script>if (a < b) {}</script ><p>{{ x }}</p><style>a{}</STYLE>{{ x }}", data),
            "<script>if (a < b) {}</script ><p>&lt;i&gt;</p><style>a{}</STYLE>&lt;i&gt;");
  EXPECT_EQ(ParseError("<script></scriptx>{{ x }}</script>", Mode::kHtml), "1:19 output inside <script> is not allowed");
  EXPECT_EQ(Html("<!-- a -- b --><p>{{ x }}</p><!---->{{ x }}<!--->{{ x }}", data),
            "<!-- a -- b --><p>&lt;i&gt;</p><!---->&lt;i&gt;<!--->&lt;i&gt;");
  EXPECT_EQ(Html("<p>a < b {{ x }}</p><a title=\"x>y\" href=\"{{ x }}\">", data),
            "<p>a < b &lt;i&gt;</p><a title=\"x>y\" href=\"&lt;i&gt;\">");
}

TEST(TemplateHtmlTest, TextModeDoesNotEscape) {
  const Value data = Value::MakeObject({{"x", "<b>&</b>"}});
  EXPECT_EQ(Render("{{ x }} <a href=\"{{ x }}\">", data), "<b>&</b> <a href=\"<b>&</b>\">");
}

// ---- errors ----

TEST(TemplateErrorTest, PositionsAndMessages) {
  struct Case {
    std::string_view source;
    std::string_view error;
  };
  const Case cases[] = {
      {"Hello {{ name | upcse }}", "1:17 unknown filter 'upcse'"},
      {"a\n  {% include 'x' %}", "2:6 unknown tag 'include'"},
      {"{% if a %}x", "1:4 'if' is never closed (expected 'endif')"},
      {"x{% endif %}", "1:5 'endif' without a matching 'if'"},
      {"{% else %}", "1:4 'else' without a matching 'if', 'unless' or 'for'"},
      {"{% if a %}{% endfor %}", "1:14 'endfor' does not close the 'if' at line 1, column 4 (expected 'endif')"},
      {"{% if a %}{% else %}{% else %}{% endif %}", "1:24 'else' after the 'else' of the 'if' at line 1, column 4"},
      {"{% for i in a %}{% else %}{% elsif b %}{% endfor %}",
       "1:30 'elsif' after the 'else' of the 'for' at line 1, column 4"},
      {"{{ a | truncate: 1, 2, 3 }}", "1:8 filter 'truncate' takes 0 to 2 arguments, not 3"},
      {"{{ a | append }}", "1:8 filter 'append' takes 1 argument, not 0"},
      {"{{ a | upcase: 1 }}", "1:8 filter 'upcase' takes no arguments, not 1"},
      {"{{ a | replace: 'x' }}", "1:8 filter 'replace' takes 2 arguments, not 1"},
      {"{{ }}", "1:4 expected a value, found the end of the tag"},
      {"{{ a b }}", "1:6 unexpected 'b' (expected '|' or '}}')"},
      {"{{ a == b }}", "1:6 comparisons are only allowed in if, elsif and unless"},
      {"{{ 'abc }}", "1:4 unterminated string"},
      {"{{ a", "1:1 '{{' is not closed by '}}'"},
      {"x {% if a", "1:3 '{%' is not closed by '%}'"},
      {"{% if a | size > 1 %}{% endif %}", "1:9 filters are not allowed in conditions; assign the filtered value first"},
      {"{% if %}{% endif %}", "1:7 expected a value, found the end of the tag"},
      {"{% if a = 1 %}{% endif %}", "1:9 unexpected '=' in the condition"},
      {"{% for in a %}{% endfor %}", "1:8 expected a loop variable name, found 'in'"},
      {"{% for x a %}{% endfor %}", "1:10 expected 'in' after the loop variable, found 'a'"},
      {"{% for x in a limit 2 %}{% endfor %}", "1:15 expected limit:, offset: or reversed, found 'limit'"},
      {"{% assign = 1 %}", "1:11 expected a variable name after 'assign', found '='"},
      {"{% assign x 1 %}", "1:13 expected '=' after the variable name, found '1'"},
      {"{% assign x = y | raw %}", "1:19 'raw' is only for output, not for assign"},
      {"{{ x | raw | upcase }}", "1:8 'raw' must be the last filter"},
      {"{% break %}", "1:4 'break' outside a for loop"},
      {"{% for i in a %}{% break now %}{% endfor %}", "1:26 'break' takes no arguments"},
      {"{% endif x %}", "1:4 'endif' without a matching 'if'"},
      {"{{ forloop.index }}", "1:4 'forloop' is only defined inside a for loop"},
      {"{% for i in a %}{{ forloop.nope }}{% endfor %}", "1:28 unknown forloop property 'nope'"},
      {"{{ (1..3) }}", "1:4 a range (a..b) is only allowed in a for loop"},
      {"{{ a | date: '%Y-%Q' }}", "1:18 unknown date directive '%Q'"},
      {"{{ a | money: 'XYZ' }}", "1:15 'XYZ' is not an ISO 4217 currency code"},
      {"{{ a | default: allow_false: true }}", "1:17 keyword arguments (allow_false: ...) are not supported"},
      {"{{ a.b. }}", "1:9 expected a name after '.', found the end of the tag"},
      {"{{ a[ }}", "1:7 expected a number, a string or a variable in '[ ]', found the end of the tag"},
      {"{{ 99999999999999999999 }}", "1:4 number out of range"},
      {"{{ a ; }}", "1:6 unexpected character ';'"},
      {"{{ a \x01 }}", "1:6 unexpected byte 0x01"},
      {"{{ ä }}", "1:4 unexpected character 'ä'"},
      {"{% %}", "1:4 expected a tag name after '{%'"},
      {"{% comment %} never closed", "1:1 'comment' is never closed by 'endcomment'"},
      {"{% raw %} never closed", "1:1 'raw' is never closed by 'endraw'"},
      {"{% assign true = 1 %}", "1:11 cannot assign to 'true'"},
      // Columns count code points; tabs are one column.
      {"äöü\t{{ x | nope }}", "1:12 unknown filter 'nope'"},
      {"ok\n\xC3\x28", "2:1 invalid UTF-8"},
  };
  for (const Case& c : cases) EXPECT_EQ(ParseError(c.source), c.error) << c.source;
}

TEST(TemplateErrorTest, ErrorCarriesContextLineAndCaret) {
  auto t = Template::Parse("Dear {{ name }},\n  {{ name | upcse }}", Mode::kText);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(t.error().context(), "template:2:13");
  EXPECT_EQ(t.error().detail(), "unknown filter 'upcse'\n  {{ name | upcse }}\n            ^");
  const auto e = AsTemplateError(t.error());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->line, 2);
  EXPECT_EQ(e->column, 13);
  EXPECT_EQ(e->message, "unknown filter 'upcse'");
  // The caret keeps tabs so it lines up.
  auto tab = Template::Parse("\t{{ x | bad }}", Mode::kText);
  ASSERT_FALSE(tab.has_value());
  EXPECT_EQ(tab.error().detail(), "unknown filter 'bad'\n\t{{ x | bad }}\n\t       ^");
  EXPECT_FALSE(AsTemplateError(Error(ErrorCode::kInvalidArgument, "segment:1:2", "x")).has_value());
  EXPECT_FALSE(AsTemplateError(Error(ErrorCode::kResourceExhausted, "template", "x")).has_value());
}

// ---- limits ----

TEST(TemplateLimitTest, TemplateSizeAndNesting) {
  auto big = Template::Parse(std::string(kMaxTemplateBytes + 1, 'x'), Mode::kText);
  ASSERT_FALSE(big.has_value());
  const auto e = AsTemplateError(big.error());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->line, 0);
  EXPECT_EQ(e->message, "the template is larger than 256 KiB");
  EXPECT_TRUE(Template::Parse(std::string(kMaxTemplateBytes, 'x'), Mode::kText).has_value());

  std::string deep;
  for (int i = 0; i < kMaxBlockDepth; ++i) deep += "{% if true %}";
  std::string closes;
  for (int i = 0; i < kMaxBlockDepth; ++i) closes += "{% endif %}";
  EXPECT_EQ(Render(deep + "x" + closes), "x");
  EXPECT_EQ(ParseError(deep + "{% if true %}x{% endif %}" + closes),
            "1:" + std::to_string(kMaxBlockDepth * 13 + 4) + " blocks nested deeper than 64");
  std::string lookup = "{{ a";
  for (int i = 0; i < kMaxLookupDepth; ++i) lookup += "[a";
  EXPECT_EQ(ParseError(lookup + " }}").substr(0, 9), "1:" + std::to_string(4 + 2 * (kMaxLookupDepth - 1) + 1) + " look");
}

TEST(TemplateLimitTest, RenderLimits) {
  auto render = [](std::string_view source) {
    auto t = Template::Parse(source, Mode::kText);
    EXPECT_TRUE(t.has_value()) << t.error().ToString();
    return t->Render(Value(), Ctx());
  };
  auto loops = render("{% for i in (1..1000) %}{% for j in (1..1000) %}{% endfor %}{% endfor %}");
  ASSERT_FALSE(loops.has_value());
  EXPECT_EQ(loops.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(loops.error().ToString(), "template: the template ran more than 100000 loop iterations");
  EXPECT_TRUE(render("{% for i in (1..100000) %}{% endfor %}").has_value());
  EXPECT_FALSE(render("{% for i in (1..100001) %}{% endfor %}").has_value());
  EXPECT_FALSE(render("{% for i in (-9223372036854775807..9223372036854775807) %}{% endfor %}").has_value());

  auto output = render("{% for i in (1..3000) %}" + std::string(1000, 'x') + "{% endfor %}");
  ASSERT_FALSE(output.has_value());
  EXPECT_EQ(output.error().ToString(), "template: a value or the output grew beyond 2 MiB");

  auto doubling = render("{% assign s = 'ab' %}{% for i in (1..64) %}{% assign s = s | append: s %}{% endfor %}");
  ASSERT_FALSE(doubling.has_value());
  EXPECT_EQ(doubling.error().code(), ErrorCode::kResourceExhausted);

  std::string many_ifs;
  for (int i = 0; i < 25; ++i) many_ifs += "{% if i %}{% endif %}";
  auto steps = render("{% for i in (1..100000) %}" + many_ifs + "{% endfor %}");  // 50 steps each
  ASSERT_FALSE(steps.has_value());
  EXPECT_EQ(steps.error().ToString(), "template: the template took more than 4000000 steps");

  auto work = render("{% assign s = 'abcdefghijklmnop' %}{% for i in (1..16) %}{% assign s = s | append: s %}"
                     "{% endfor %}{% for i in (1..5000) %}{% if s contains 'zz' %}{% endif %}{% endfor %}");
  ASSERT_FALSE(work.has_value());
  EXPECT_EQ(work.error().ToString(), "template: the template did more than 64 MiB of string work");
}

// ---- variables ----

TEST(TemplateVariablesTest, ListsDataPathsWithPositions) {
  auto t = Template::Parse(
      "Hi {{ customer.first_name | default: fallback.name }}\n"
      "{% for o in orders limit: max %}{{ o.total }}{{ forloop.index }}{% endfor %}\n"
      "{% assign n = customer.points | plus: 1 %}{{ n }}{{ customer.first_name }}\n"
      "{% if customer.tags.size > 0 and orders[0].id %}{{ items[idx.key].name }}{% endif %}",
      Mode::kText);
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  const std::vector<VariableUse> expected = {
      {"customer.first_name", 1, 7}, {"fallback.name", 1, 38}, {"orders", 2, 13},  {"max", 2, 27},
      {"customer.points", 3, 15},    {"customer.tags", 4, 7},  {"items", 4, 52}, {"idx.key", 4, 58},
  };
  EXPECT_EQ(t->Variables(), expected);
}

TEST(TemplateVariablesTest, AssignedNamesAreDataUntilAssignedOnEveryPath) {
  auto paths = [](std::string_view source) {
    auto t = Template::Parse(source, Mode::kText);
    EXPECT_TRUE(t.has_value()) << t.error().ToString();
    std::string out;
    for (const VariableUse& v : t->Variables()) out += v.path + " ";
    return out;
  };
  EXPECT_EQ(paths("{% assign x = 1 %}{{ x }}"), "");
  EXPECT_EQ(paths("{{ x }}{% assign x = 1 %}"), "x ");
  EXPECT_EQ(paths("{% assign x = x | plus: 1 %}"), "x ");
  EXPECT_EQ(paths("{% if a %}{% assign x = 1 %}{% endif %}{{ x }}"), "a x ");
  EXPECT_EQ(paths("{% if a %}{% assign x = 1 %}{% else %}{% assign x = 2 %}{% endif %}{{ x }}"), "a ");
  EXPECT_EQ(paths("{% for i in l %}{% assign x = i %}{% endfor %}{{ x }}"), "l x ");
  EXPECT_EQ(paths("{% for i in l %}{{ i.a }}{% endfor %}{{ i }}"), "l i ");
}

// ---- concurrency ----

TEST(TemplateTest, RendersConcurrently) {
  auto t = Template::Parse(
      "<p>Hi {{ customer.first_name | default: 'there' }}</p>{% for o in orders %}<li>{{ o.id }}: "
      "{{ o.total | money }} {{ 'now' | date: '%-d %B' }}</li>{% endfor %}",
      Mode::kHtml);
  ASSERT_TRUE(t.has_value()) << t.error().ToString();
  const Value data = Customer();
  const RenderContext ctx = Ctx("Europe/Berlin", "de-DE", "EUR");
  const std::string expected = *t->Render(data, ctx);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(8, 0);
  for (int k = 0; k < 8; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 200; ++i) {
        auto out = t->Render(data, ctx);
        if (!out || *out != expected) ++mismatches[static_cast<std::size_t>(k)];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
  EXPECT_NE(expected.find("19,50\u00A0€"), std::string::npos) << expected;
}

TEST(TemplateTest, RenderToAppends) {
  auto t = Template::Parse("{{ a }}", Mode::kText);
  ASSERT_TRUE(t.has_value());
  std::string out = "x:";
  ASSERT_TRUE(t->RenderTo(Value::MakeObject({{"a", 1}}), Ctx(), out).has_value());
  EXPECT_EQ(out, "x:1");
  EXPECT_EQ(t->mode(), Mode::kText);
}

TEST(TemplateTest, RenderContextValidates) {
  EXPECT_FALSE(RenderContext::Make(TimeZone::Utc(), "de-DE", "XYZ", kNow).has_value());
  EXPECT_FALSE(RenderContext::Make(TimeZone::Utc(), "not a tag!", "EUR", kNow).has_value());
  const RenderContext ctx = RenderContext();
  EXPECT_EQ(ctx.locale(), "en-US");
  EXPECT_EQ(ctx.currency(), "USD");
  EXPECT_EQ(Render("{{ 5 | money }}", Value(), Mode::kText, ctx), "$5.00");
}

TEST(TemplateTest, ValueBasics) {
  Value v;
  EXPECT_TRUE(v.is_null());
  v.Set("a", 1);
  v.Set("a", 2);
  EXPECT_EQ(v.Find("a")->as_integer(), 1);  // the first wins
  EXPECT_EQ(v.Find("b"), nullptr);
  Value list;
  list.Push("x").kind();
  EXPECT_EQ(list.as_array().size(), 1u);
  EXPECT_TRUE(Value::MakeArray({1, "a"}) == Value::MakeArray({1, "a"}));
  EXPECT_FALSE(Value(1) == Value(1.0));
}

// Every filter of the language is documented in docs/templates.md.
TEST(TemplateTest, DocsListEveryFilter) {
  std::ifstream in(TREU_TEMPLATE_DOCS);
  ASSERT_TRUE(in.good()) << TREU_TEMPLATE_DOCS;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string docs = ss.str();
  const std::size_t begin = docs.find("\n## Filters\n");
  ASSERT_NE(begin, std::string::npos);
  const std::string section = docs.substr(begin, docs.find("\n## ", begin + 1) - begin);
  ASSERT_GE(Filters().size(), 23u);
  for (const FilterInfo& f : Filters()) {
    EXPECT_NE(section.find("`" + std::string(f.name) + "`"), std::string::npos) << f.name;
  }
}

}  // namespace
}  // namespace treu::messaging
