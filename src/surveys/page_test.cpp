#include "surveys/page.hpp"
#include "surveys/html_testing.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "surveys/html.hpp"

namespace treu::survey {
namespace {

using namespace std::string_view_literals;
using testing::Unescape;

// ---- A small HTML tag scanner for structural checks ----------------------------------------

struct Tag {
  std::string name;
  bool closing = false;
  std::map<std::string, std::string> attrs;  // values as written (still escaped)
  bool has(const std::string& a) const { return attrs.contains(a); }
  std::string get(const std::string& a) const {
    auto it = attrs.find(a);
    return it == attrs.end() ? std::string() : it->second;
  }
};

struct Document {
  std::vector<Tag> tags;
  std::vector<std::string> problems;  // anything that is not well-formed

  std::vector<Tag> Open(std::string_view name) const {
    std::vector<Tag> out;
    for (const Tag& t : tags) {
      if (!t.closing && t.name == name) out.push_back(t);
    }
    return out;
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    for (const Tag& t : tags) out.push_back((t.closing ? "/" : "") + t.name);
    return out;
  }
};

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Scans every tag; content of <style>, <title> and <textarea> is skipped up to its end tag.
// Every '<' outside those must start a tag, so escaped user text can never produce one.
Document Scan(std::string_view html) {
  static const std::set<std::string> kVoid = {"meta", "input", "br", "hr", "img", "link"};
  Document doc;
  std::vector<std::string> stack;
  std::size_t i = 0;
  while ((i = html.find('<', i)) != std::string_view::npos) {
    if (html.substr(i).starts_with("<!DOCTYPE html>")) {
      i += 15;
      continue;
    }
    Tag tag;
    std::size_t j = i + 1;
    if (j < html.size() && html[j] == '/') {
      tag.closing = true;
      ++j;
    }
    const std::size_t name_start = j;
    while (j < html.size() && IsNameChar(html[j])) ++j;
    tag.name = Lower(html.substr(name_start, j - name_start));
    if (tag.name.empty() || !std::isalpha(static_cast<unsigned char>(tag.name[0]))) {
      doc.problems.push_back("stray '<' at " + std::to_string(i));
      i = j;
      continue;
    }
    // Attributes.
    while (j < html.size() && html[j] != '>') {
      if (html[j] == ' ') {
        ++j;
        continue;
      }
      const std::size_t attr_start = j;
      while (j < html.size() && html[j] != '=' && html[j] != ' ' && html[j] != '>') ++j;
      std::string attr = Lower(html.substr(attr_start, j - attr_start));
      std::string value;
      if (j < html.size() && html[j] == '=') {
        ++j;
        if (j >= html.size() || html[j] != '"') {
          doc.problems.push_back("unquoted attribute " + attr);
          break;
        }
        const std::size_t close = html.find('"', j + 1);
        if (close == std::string_view::npos) {
          doc.problems.push_back("unterminated attribute " + attr);
          break;
        }
        value = std::string(html.substr(j + 1, close - j - 1));
        j = close + 1;
      }
      if (tag.attrs.contains(attr)) doc.problems.push_back("duplicate attribute " + attr);
      tag.attrs[attr] = value;
    }
    i = j + 1;
    if (tag.closing) {
      if (stack.empty() || stack.back() != tag.name) {
        doc.problems.push_back("unbalanced </" + tag.name + ">");
      } else {
        stack.pop_back();
      }
    } else if (!kVoid.contains(tag.name)) {
      stack.push_back(tag.name);
      if (tag.name == "style" || tag.name == "title" || tag.name == "textarea") {
        const std::size_t end = html.find("</" + tag.name + ">", i);
        if (end == std::string_view::npos) {
          doc.problems.push_back("unterminated <" + tag.name + ">");
        } else {
          const std::string_view content = html.substr(i, end - i);
          if (tag.name != "style" && content.find('<') != std::string_view::npos) {
            doc.problems.push_back("'<' inside <" + tag.name + ">");
          }
          i = end;
        }
      }
    }
    doc.tags.push_back(std::move(tag));
  }
  if (!stack.empty()) doc.problems.push_back("unclosed <" + stack.back() + ">");
  return doc;
}


std::size_t Count(std::string_view haystack, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t i = haystack.find(needle); i != std::string_view::npos;
       i = haystack.find(needle, i + needle.size())) {
    ++n;
  }
  return n;
}

std::vector<std::string> SplitIds(const std::string& list) {
  std::vector<std::string> out;
  std::istringstream in(list);
  for (std::string id; in >> id;) out.push_back(id);
  return out;
}

// Checks that hold for every page: well-formed, no script, no event handlers or inline
// styles, unique ids, and every for/aria-describedby/aria-labelledby/#href names an id.
void ExpectSafeAndConsistent(const std::string& html) {
  const Document doc = Scan(html);
  EXPECT_TRUE(doc.problems.empty()) << ::testing::PrintToString(doc.problems);
  EXPECT_EQ(Lower(html).find("<script"), std::string::npos);
  std::set<std::string> ids;
  for (const Tag& t : doc.tags) {
    EXPECT_NE(t.name, "script");
    EXPECT_NE(t.name, "link");
    for (const auto& [name, value] : t.attrs) {
      EXPECT_FALSE(name.starts_with("on")) << name;
      EXPECT_NE(name, "style");
      EXPECT_NE(name, "src");
    }
    if (t.has("id")) {
      EXPECT_TRUE(ids.insert(t.get("id")).second) << "duplicate id " << t.get("id");
    }
  }
  for (const Tag& t : doc.tags) {
    if (t.has("for")) {
      EXPECT_TRUE(ids.contains(t.get("for"))) << "for=" << t.get("for");
    }
    for (const char* aria : {"aria-describedby", "aria-labelledby"}) {
      for (const std::string& id : SplitIds(t.get(aria))) {
        EXPECT_TRUE(ids.contains(id)) << aria << "=" << id;
      }
    }
    if (t.name == "a" && t.get("href").starts_with("#")) {
      EXPECT_TRUE(ids.contains(t.get("href").substr(1))) << "href=" << t.get("href");
    }
  }
}

// ---- Fixtures ------------------------------------------------------------------------------

ScaleQuestion Nps(bool required = true) {
  ScaleQuestion q;
  q.id = "nps";
  q.text = "How likely are you to recommend us to a friend?";
  q.min = 0;
  q.max = 10;
  q.low_label = "Not at all likely";
  q.high_label = "Extremely likely";
  q.required = required;
  return q;
}

ChoiceQuestion Reasons(bool multiple) {
  ChoiceQuestion q;
  q.id = "reason";
  q.text = "What matters most?";
  q.multiple = multiple;
  q.choices = {{"price", "Price"}, {"service", "Service"}, {"quality", "Quality"}};
  return q;
}

TextQuestion Comment(bool required = false) {
  TextQuestion q;
  q.id = "comment";
  q.text = "Anything else?";
  q.required = required;
  return q;
}

SurveyPage ExamplePage() {
  SurveyPage page;
  page.locale = "en";
  page.workspace_name = "Bäckerei Huber";
  page.title = "Your opinion";
  page.intro = "Two minutes, three questions.";
  page.questions = {Nps(), Reasons(false), Comment()};
  page.action_url = "/s/abc123";
  page.csrf_or_token_field = "tok-123";
  return page;
}

std::vector<Tag> InputsNamed(const Document& doc, std::string_view name) {
  std::vector<Tag> out;
  for (const Tag& t : doc.Open("input")) {
    if (t.get("name") == name) out.push_back(t);
  }
  return out;
}

// ---- The survey page -----------------------------------------------------------------------

TEST(SurveyPageTest, IsACompleteDocument) {
  const std::string html = RenderSurveyPage(ExamplePage());
  ExpectSafeAndConsistent(html);
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(html.find("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"),
            std::string::npos);
  EXPECT_NE(html.find("<title>Your opinion – Bäckerei Huber</title>"), std::string::npos);
  EXPECT_NE(html.find("<style>" + std::string(SurveyPageCss()) + "</style>"), std::string::npos);
  EXPECT_NE(html.find("<style>:root{--brand:#1a56db;--on-brand:#ffffff}</style>"),
            std::string::npos);
  EXPECT_NE(html.find("<p>Bäckerei Huber</p>"), std::string::npos);
  EXPECT_NE(html.find("<h1>Your opinion</h1>"), std::string::npos);
  EXPECT_TRUE(html.ends_with("</html>\n"));

  const Document doc = Scan(html);
  ASSERT_EQ(doc.Open("form").size(), 1u);
  const Tag form = doc.Open("form")[0];
  EXPECT_EQ(form.get("method"), "post");
  EXPECT_EQ(form.get("action"), "/s/abc123");
  const auto token = InputsNamed(doc, kTokenFieldName);
  ASSERT_EQ(token.size(), 1u);
  EXPECT_EQ(token[0].get("type"), "hidden");
  EXPECT_EQ(token[0].get("value"), "tok-123");
  ASSERT_EQ(doc.Open("button").size(), 1u);
  EXPECT_EQ(doc.Open("button")[0].get("type"), "submit");
  EXPECT_NE(html.find(">Submit</button>"), std::string::npos);
  EXPECT_TRUE(doc.Open("script").empty());
}

TEST(SurveyPageTest, OneFieldsetWithLegendPerQuestion) {
  const Document doc = Scan(RenderSurveyPage(ExamplePage()));
  EXPECT_EQ(doc.Open("fieldset").size(), 3u);
  EXPECT_EQ(doc.Open("legend").size(), 3u);
  // Each legend directly follows its fieldset's start tag.
  for (std::size_t i = 0; i + 1 < doc.tags.size(); ++i) {
    if (doc.tags[i].name == "fieldset" && !doc.tags[i].closing) {
      EXPECT_EQ(doc.tags[i + 1].name, "legend");
    }
  }
}

TEST(SurveyPageTest, NpsIsElevenLabelledRadios) {
  const std::string html = RenderSurveyPage(ExamplePage());
  const Document doc = Scan(html);
  const auto radios = InputsNamed(doc, "nps");
  ASSERT_EQ(radios.size(), 11u);
  std::set<std::string> label_for;
  for (const Tag& label : doc.Open("label")) label_for.insert(label.get("for"));
  for (int score = 0; score <= 10; ++score) {
    const Tag& radio = radios[static_cast<std::size_t>(score)];
    EXPECT_EQ(radio.get("type"), "radio");
    EXPECT_EQ(radio.get("value"), std::to_string(score));
    EXPECT_FALSE(radio.get("id").empty());
    EXPECT_TRUE(label_for.contains(radio.get("id"))) << radio.get("id");
    EXPECT_TRUE(radio.has("required"));
    EXPECT_FALSE(radio.has("checked"));
    // Each label shows its score.
    EXPECT_NE(
        html.find("<label for=\"" + radio.get("id") + "\">" + std::to_string(score) + "</label>"),
        std::string::npos);
  }
  // The ends of the scale describe the first and the last radio.
  EXPECT_EQ(radios.front().get("aria-describedby"), "q1-low");
  EXPECT_EQ(radios.back().get("aria-describedby"), "q1-high");
  EXPECT_FALSE(radios[5].has("aria-describedby"));
  EXPECT_NE(html.find("<span id=\"q1-low\">0 – Not at all likely</span>"), std::string::npos);
  EXPECT_NE(html.find("<span id=\"q1-high\">10 – Extremely likely</span>"), std::string::npos);
}

TEST(SurveyPageTest, ShorterScales) {
  SurveyPage page = ExamplePage();
  ScaleQuestion five = Nps();
  five.id = "csat";
  five.min = 1;
  five.max = 5;
  ScaleQuestion seven = five;
  seven.id = "ces";
  seven.max = 7;
  seven.low_label.clear();
  page.questions = {five, seven};
  const std::string html = RenderSurveyPage(page);
  ExpectSafeAndConsistent(html);
  const Document doc = Scan(html);
  EXPECT_EQ(InputsNamed(doc, "csat").size(), 5u);
  EXPECT_EQ(InputsNamed(doc, "ces").size(), 7u);
  EXPECT_EQ(InputsNamed(doc, "csat").front().get("value"), "1");
  EXPECT_FALSE(InputsNamed(doc, "ces").front().has("aria-describedby"));  // no low label
  EXPECT_EQ(InputsNamed(doc, "ces").back().get("aria-describedby"), "q2-high");
}

TEST(SurveyPageTest, OutOfRangeScalesRenderSafely) {
  SurveyPage page = ExamplePage();
  ScaleQuestion wide = Nps();
  wide.max = 100;
  ScaleQuestion reversed = Nps();
  reversed.id = "reversed";
  reversed.min = 5;
  reversed.max = 1;
  ScaleQuestion extreme = Nps();
  extreme.id = "extreme";
  extreme.min = INT32_MIN;
  extreme.max = INT32_MAX;
  page.questions = {wide, reversed, extreme};
  EXPECT_FALSE(ValidateSurveyPage(page).has_value());
  const std::string html = RenderSurveyPage(page);
  ExpectSafeAndConsistent(html);
  const Document doc = Scan(html);
  EXPECT_EQ(InputsNamed(doc, "nps").size(), 11u);
  EXPECT_EQ(InputsNamed(doc, "reversed").size(), 0u);
  EXPECT_EQ(InputsNamed(doc, "extreme").size(), 11u);
}

TEST(SurveyPageTest, MarksRequiredQuestions) {
  SurveyPage page = ExamplePage();
  ChoiceQuestion single = Reasons(false);
  single.required = true;
  ChoiceQuestion multi = Reasons(true);
  multi.id = "features";
  multi.required = true;
  page.questions = {Nps(true), single, multi, Comment(true), Comment(false)};
  std::get<TextQuestion>(page.questions[4]).id = "optional";
  const std::string html = RenderSurveyPage(page);
  ExpectSafeAndConsistent(html);
  EXPECT_EQ(Count(html, "<span class=\"required\">(required)</span>"), 4u);

  const Document doc = Scan(html);
  for (const Tag& t : InputsNamed(doc, "reason")) EXPECT_TRUE(t.has("required"));
  // A required checkbox would force every box; the group is only marked.
  for (const Tag& t : InputsNamed(doc, "features")) {
    EXPECT_EQ(t.get("type"), "checkbox");
    EXPECT_FALSE(t.has("required"));
  }
  const auto textareas = doc.Open("textarea");
  ASSERT_EQ(textareas.size(), 2u);
  EXPECT_TRUE(textareas[0].has("required"));
  EXPECT_FALSE(textareas[1].has("required"));
  // The textarea is labelled by the label inside its legend.
  EXPECT_NE(html.find("<legend><label for=\"q4-text\">Anything else? <span class=\"required\">"),
            std::string::npos);

  page.locale = "de";
  EXPECT_EQ(Count(RenderSurveyPage(page), "<span class=\"required\">(Pflichtfeld)</span>"), 4u);
}

TEST(SurveyPageTest, ShowsSelectedValues) {
  SurveyPage page = ExamplePage();
  ScaleQuestion nps = Nps();
  nps.selected = 7;
  ChoiceQuestion multi = Reasons(true);
  multi.selected = {"price", "quality"};
  TextQuestion comment = Comment();
  comment.value = "\nFirst line was empty & <b>bold</b>";
  page.questions = {nps, multi, comment};
  const std::string html = RenderSurveyPage(page);
  ExpectSafeAndConsistent(html);
  const Document doc = Scan(html);
  for (const Tag& t : InputsNamed(doc, "nps")) EXPECT_EQ(t.has("checked"), t.get("value") == "7");
  std::vector<std::string> checked;
  for (const Tag& t : InputsNamed(doc, "reason")) {
    if (t.has("checked")) checked.push_back(t.get("value"));
  }
  EXPECT_EQ(checked, (std::vector<std::string>{"price", "quality"}));
  EXPECT_NE(html.find(">\n\nFirst line was empty &amp; &lt;b&gt;bold&lt;/b&gt;</textarea>"),
            std::string::npos);
}

TEST(SurveyPageTest, SingleChoiceChecksAtMostOne) {
  SurveyPage page = ExamplePage();
  ChoiceQuestion single = Reasons(false);
  single.selected = {"service", "price", "unknown"};
  page.questions = {single};
  const Document doc = Scan(RenderSurveyPage(page));
  std::vector<std::string> checked;
  for (const Tag& t : InputsNamed(doc, "reason")) {
    EXPECT_EQ(t.get("type"), "radio");
    if (t.has("checked")) checked.push_back(t.get("value"));
  }
  EXPECT_EQ(checked, (std::vector<std::string>{"price"}));  // first in choice order
}

TEST(SurveyPageTest, ErrorSummaryLinksToFields) {
  SurveyPage page = ExamplePage();
  page.questions = {Nps(), Reasons(true), Comment(true)};
  page.errors = {{"nps", "Please choose a score."},
                 {"comment", "Please write a comment."},
                 {"", "The form was open too long; please submit again."},
                 {"nps", "Really."}};
  const std::string html = RenderSurveyPage(page);
  ExpectSafeAndConsistent(html);
  const Document doc = Scan(html);

  std::vector<Tag> alerts;
  for (const Tag& t : doc.Open("div")) {
    if (t.get("role") == "alert") alerts.push_back(t);
  }
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].get("aria-labelledby"), "error-summary-title");
  EXPECT_NE(html.find("<h2 id=\"error-summary-title\">There is a problem</h2>"), std::string::npos);
  EXPECT_NE(html.find("<li><a href=\"#q1-s0\">Please choose a score.</a></li>"), std::string::npos);
  EXPECT_NE(html.find("<li><a href=\"#q3-text\">Please write a comment.</a></li>"),
            std::string::npos);
  EXPECT_NE(html.find("<li>The form was open too long; please submit again.</li>"),
            std::string::npos);
  // The summary comes before the heading.
  EXPECT_LT(html.find("role=\"alert\""), html.find("<h1>"));
  EXPECT_NE(html.find("<title>Error: Your opinion – Bäckerei Huber</title>"), std::string::npos);

  // Inline errors, tied to the controls.
  EXPECT_NE(html.find("<p class=\"field-error\" id=\"q1-error\"><span class=\"visually-hidden\">"
                      "Error: </span>Please choose a score. Really.</p>"),
            std::string::npos);
  const auto radios = InputsNamed(doc, "nps");
  EXPECT_EQ(radios.front().get("aria-describedby"), "q1-low q1-error");
  EXPECT_EQ(radios[3].get("aria-describedby"), "q1-error");
  for (const Tag& t : radios) EXPECT_EQ(t.get("aria-invalid"), "true");
  for (const Tag& t : InputsNamed(doc, "reason")) EXPECT_FALSE(t.has("aria-invalid"));
  const Tag textarea = doc.Open("textarea").at(0);
  EXPECT_EQ(textarea.get("aria-describedby"), "q3-error");
  EXPECT_EQ(textarea.get("aria-invalid"), "true");
}

TEST(SurveyPageTest, NoErrorsNoAlert) {
  const std::string html = RenderSurveyPage(ExamplePage());
  EXPECT_EQ(html.find("role=\"alert\""), std::string::npos);
  EXPECT_EQ(html.find(" aria-invalid="), std::string::npos);
  EXPECT_EQ(html.find("field-error\""), std::string::npos);
}

TEST(SurveyPageTest, GermanPage) {
  SurveyPage page = ExamplePage();
  page.locale = "de";
  page.errors = {{"nps", "Bitte wählen Sie einen Wert."}};
  const std::string html = RenderSurveyPage(page);
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>\n<html lang=\"de\">"));
  EXPECT_NE(html.find(">Absenden</button>"), std::string::npos);
  EXPECT_NE(html.find(">Bitte prüfen Sie Ihre Angaben</h2>"), std::string::npos);
  EXPECT_NE(html.find("<title>Fehler: "), std::string::npos);
  EXPECT_EQ(html.find(">Submit<"), std::string::npos);

  page.locale = "fr";  // unknown: English
  EXPECT_TRUE(RenderSurveyPage(page).starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
  page.locale = "\"><script>";
  EXPECT_TRUE(RenderSurveyPage(page).starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
}

TEST(SurveyPageTest, NoActionAttributeWithoutUrlAndUnsafeActionsAreDropped) {
  SurveyPage page = ExamplePage();
  page.action_url.clear();
  EXPECT_FALSE(Scan(RenderSurveyPage(page)).Open("form").at(0).has("action"));
  page.action_url = "javascript:alert(1)";
  EXPECT_EQ(Scan(RenderSurveyPage(page)).Open("form").at(0).get("action"), kInvalidUrl);
  page.action_url = "https://survey.example.com/s?t=a&b=1";
  EXPECT_EQ(Scan(RenderSurveyPage(page)).Open("form").at(0).get("action"),
            "https://survey.example.com/s?t=a&amp;b=1");
}

// Every user-provided string, set to `s`.
SurveyPage PageFilledWith(std::string_view s) {
  const std::string v(s);
  SurveyPage page;
  page.locale = "en";
  page.workspace_name = v;
  page.title = v;
  page.intro = v;
  ScaleQuestion nps = Nps();
  nps.id = v;
  nps.text = v;
  nps.low_label = v;
  nps.high_label = v;
  ChoiceQuestion choice;
  choice.id = v + "c";
  choice.text = v;
  choice.multiple = true;
  choice.choices = {{v, v}, {v + "2", v}};
  choice.selected = {v};
  TextQuestion text;
  text.id = v + "t";
  text.text = v;
  text.value = v;
  page.questions = {nps, choice, text};
  page.action_url = v;
  page.csrf_or_token_field = v;
  page.errors = {{v, v}, {v + "t", v}, {"", v}};
  return page;
}

const std::vector<std::string_view>& Payloads() {
  static const std::vector<std::string_view> kPayloads = {
      "<script>alert(1)</script>"sv,
      "\"><img src=x onerror=alert(1)>"sv,
      "'><svg onload=alert(1)>"sv,
      "javascript:alert(1)"sv,
      "</textarea><script>alert(1)</script>"sv,
      "</title><script>alert(1)</script>"sv,
      "</style><script>alert(1)</script>"sv,
      "\" autofocus onfocus=\"alert(1)"sv,
      "' onmouseover='alert(1)"sv,
      "`onmouseover=alert(1)`"sv,
      "<ScRiPt>alert(1)</sCrIpT>"sv,
      "<!--<script>alert(1)//-->"sv,
      "<![CDATA[<script>]]>"sv,
      "&lt;script&gt;"sv,
      "\xC0\xBCscript\xC0\xBE"sv,
      "\xE2\x82\"><script>alert(1)</script>"sv,
      "<scr\0ipt>alert(1)</scr\0ipt>"sv,
      "\xE2\x80\xAE<script>alert(1)</script>"sv,
      "\xEF\xBC\x9Cscript\xEF\xBC\x9E"sv,
      "\n</textarea><script>alert(1)</script>"sv,
      "q1-s0\" id=\"q1-s0"sv,
  };
  return kPayloads;
}

TEST(SurveyPageTest, EscapesEveryUserProvidedString) {
  // The structure of the page does not depend on what the strings contain.
  const std::vector<std::string> benign = Scan(RenderSurveyPage(PageFilledWith("x"))).Names();
  for (std::string_view payload : Payloads()) {
    SCOPED_TRACE(::testing::PrintToString(std::string(payload)));
    const SurveyPage page = PageFilledWith(payload);
    const std::string html = RenderSurveyPage(page);
    ExpectSafeAndConsistent(html);
    EXPECT_EQ(Scan(html).Names(), benign);
    EXPECT_EQ(html.find('\0'), std::string::npos);
    EXPECT_EQ(SanitizeUtf8(html), html);
    // The strings are there, escaped.
    EXPECT_NE(html.find("<h1>" + EscapeHtml(payload) + "</h1>"), std::string::npos);
    EXPECT_GE(Count(html, EscapeHtml(payload)), 10u);

    const std::string message = RenderMessagePage("en", payload, payload, payload, payload);
    ExpectSafeAndConsistent(message);
    EXPECT_EQ(Scan(message).Names(), Scan(RenderMessagePage("en", "x", "x", "x", "x")).Names());
  }
}

TEST(SurveyPageTest, HasNoInlineStylesOrScriptsAndWrapsTheScale) {
  const std::string html = RenderSurveyPage(ExamplePage());
  EXPECT_EQ(html.find(" style="), std::string::npos);
  EXPECT_EQ(Count(html, "<style>"), 2u);
  const std::string_view css = SurveyPageCss();
  EXPECT_EQ(css.find('<'), std::string_view::npos);
  EXPECT_NE(css.find(".scale-options{display:flex;flex-wrap:wrap"), std::string_view::npos);
  EXPECT_NE(css.find(":focus-visible"), std::string_view::npos);
  EXPECT_NE(css.find("@media (max-width:"), std::string_view::npos);
  EXPECT_EQ(css.find("url("), std::string_view::npos);  // no external resources
  EXPECT_EQ(css.find("@import"), std::string_view::npos);
}

// ---- Validation ----------------------------------------------------------------------------

TEST(ValidateSurveyPageTest, AcceptsAGoodPage) {
  SurveyPage page = ExamplePage();
  page.errors = {{"nps", "x"}, {"", "y"}};
  EXPECT_TRUE(ValidateSurveyPage(page).has_value());
  page.brand_colour.clear();  // empty means the default
  EXPECT_TRUE(ValidateSurveyPage(page).has_value());
}

TEST(ValidateSurveyPageTest, ReportsTheFirstProblem) {
  const auto error_of = [](const SurveyPage& page) {
    auto status = ValidateSurveyPage(page);
    return status ? std::string("ok") : status.error().ToString();
  };
  SurveyPage page = ExamplePage();
  page.brand_colour = "red;}</style><script>";
  EXPECT_EQ(error_of(page), "brand_colour: 'red;}</style><script>' is not a #RRGGBB colour");

  page = ExamplePage();
  std::get<ScaleQuestion>(page.questions[0]).max = 11;
  EXPECT_EQ(error_of(page), "question 'nps': a scale needs 2 to 11 points, not 12");
  std::get<ScaleQuestion>(page.questions[0]).max = 0;
  EXPECT_EQ(error_of(page), "question 'nps': a scale needs 2 to 11 points, not 1");

  page = ExamplePage();
  std::get<ScaleQuestion>(page.questions[0]).selected = 11;
  EXPECT_EQ(error_of(page), "question 'nps': the selected value 11 is outside the scale");

  page = ExamplePage();
  std::get<TextQuestion>(page.questions[2]).id = "nps";
  EXPECT_EQ(error_of(page), "question 'nps': the question id is not unique");
  std::get<TextQuestion>(page.questions[2]).id = "";
  EXPECT_EQ(error_of(page), "question 3: the question id is empty");
  std::get<TextQuestion>(page.questions[2]).id = "token";
  EXPECT_EQ(error_of(page), "question 'token': the id 'token' is reserved for the token field");

  page = ExamplePage();
  auto& choice = std::get<ChoiceQuestion>(page.questions[1]);
  choice.selected = {"price", "service"};
  EXPECT_EQ(error_of(page), "question 'reason': a single choice has more than one selected choice");
  choice.selected = {"gold"};
  EXPECT_EQ(error_of(page), "question 'reason': the selected choice 'gold' is unknown");
  choice.selected.clear();
  choice.choices.push_back({"price", "Again"});
  EXPECT_EQ(error_of(page), "question 'reason': the choice id 'price' is not unique");
  choice.choices.clear();
  EXPECT_EQ(error_of(page), "question 'reason': there are no choices");

  page = ExamplePage();
  page.errors = {{"nope", "x"}};
  EXPECT_EQ(error_of(page), "errors: the error names an unknown question 'nope'");
}

// ---- Colours -------------------------------------------------------------------------------

TEST(BrandColourTest, ParsesOnlyHashAndSixHexDigits) {
  EXPECT_EQ(ParseBrandColour("#1a56db").value(), (Rgb{0x1a, 0x56, 0xdb}));
  EXPECT_EQ(ParseBrandColour("#1A56DB").value(), (Rgb{0x1a, 0x56, 0xdb}));
  EXPECT_EQ(ParseBrandColour("#000000").value(), kBlack);
  EXPECT_EQ(ParseBrandColour("#FFFFFF").value(), kWhite);
  for (std::string_view bad :
       {"red"sv, "#fff"sv, "1a56db"sv, "#1a56dg"sv, "#1a56db "sv, " #1a56db"sv, "#1a56db0"sv, ""sv,
        "#"sv, "red;}</style><script>alert(1)</script>"sv, "#1a56db;}</style>"sv, "#12345\0"sv,
        "rgb(0,0,0)"sv, "var(--x)"sv, "#+1a56d"sv, "#-1a56d"sv}) {
    auto parsed = ParseBrandColour(bad);
    ASSERT_FALSE(parsed.has_value()) << ::testing::PrintToString(std::string(bad));
    EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(parsed.error().context(), "brand_colour");
  }
  EXPECT_EQ(ParseBrandColour("red").error().ToString(),
            "brand_colour: 'red' is not a #RRGGBB colour");
}

TEST(BrandColourTest, InvalidColoursFallBackToTheDefault) {
  EXPECT_EQ(FormatColour(BrandColourOrDefault("red;}</style><script>")), kDefaultBrandColour);
  EXPECT_EQ(FormatColour(BrandColourOrDefault("")), kDefaultBrandColour);
  EXPECT_EQ(FormatColour(BrandColourOrDefault("#ABCDEF")), "#abcdef");

  SurveyPage page = ExamplePage();
  page.brand_colour = "red;}</style><script>alert(1)</script>";
  const std::string html = RenderSurveyPage(page);
  ExpectSafeAndConsistent(html);
  EXPECT_NE(html.find("<style>:root{--brand:#1a56db;--on-brand:#ffffff}</style>"),
            std::string::npos);
  EXPECT_EQ(html.find("red;"), std::string::npos);
}

TEST(ContrastTest, KnownValues) {
  EXPECT_DOUBLE_EQ(RelativeLuminance(kBlack), 0.0);
  EXPECT_DOUBLE_EQ(RelativeLuminance(kWhite), 1.0);
  EXPECT_DOUBLE_EQ(ContrastRatio(kWhite, kBlack), 21.0);
  EXPECT_DOUBLE_EQ(ContrastRatio(kBlack, kWhite), 21.0);
  EXPECT_DOUBLE_EQ(ContrastRatio(Rgb{0x1a, 0x56, 0xdb}, Rgb{0x1a, 0x56, 0xdb}), 1.0);
  // #767676 is the lightest grey that passes AA on white, #777777 the first that fails.
  EXPECT_NEAR(ContrastRatio(Rgb{0x76, 0x76, 0x76}, kWhite), 4.54, 0.005);
  EXPECT_NEAR(ContrastRatio(Rgb{0x77, 0x77, 0x77}, kWhite), 4.48, 0.005);
  // The default brand colour.
  const Rgb brand = *ParseBrandColour(kDefaultBrandColour);
  EXPECT_NEAR(RelativeLuminance(brand), 0.1199, 0.0001);
  EXPECT_NEAR(ContrastRatio(kWhite, brand), 6.18, 0.005);
  EXPECT_GE(ContrastRatio(kWhite, brand), 4.5);
}

TEST(ContrastTest, PicksBlackOrWhiteText) {
  EXPECT_EQ(TextColourOn(*ParseBrandColour("#1a56db")), kWhite);
  EXPECT_EQ(TextColourOn(*ParseBrandColour("#ffff00")), kBlack);  // yellow
  EXPECT_EQ(TextColourOn(*ParseBrandColour("#ffffff")), kBlack);
  EXPECT_EQ(TextColourOn(*ParseBrandColour("#000000")), kWhite);
  EXPECT_EQ(TextColourOn(*ParseBrandColour("#b91c1c")), kWhite);
  EXPECT_EQ(TextColourOn(*ParseBrandColour("#22c55e")), kBlack);  // light green
  EXPECT_EQ(BrandCss("#ffff00"), ":root{--brand:#ffff00;--on-brand:#000000}");
  EXPECT_EQ(BrandCss("#1A56DB"), ":root{--brand:#1a56db;--on-brand:#ffffff}");
}

TEST(ContrastTest, ChosenTextAlwaysMeetsAa) {
  double worst = 21;
  for (int r = 0; r < 256; r += 5) {
    for (int g = 0; g < 256; g += 5) {
      for (int b = 0; b < 256; b += 5) {
        const Rgb bg{static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g),
                     static_cast<std::uint8_t>(b)};
        worst = std::min(worst, ContrastRatio(bg, TextColourOn(bg)));
      }
    }
  }
  for (int v = 0; v < 256; ++v) {
    const Rgb grey{static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v),
                   static_cast<std::uint8_t>(v)};
    worst = std::min(worst, ContrastRatio(grey, TextColourOn(grey)));
  }
  EXPECT_GE(worst, 4.58);
}

// ---- UI strings and message pages ----------------------------------------------------------

TEST(UiTextTest, GermanAndEnglishFromOneTable) {
  EXPECT_EQ(UiText("en", UiKey::kSubmit), "Submit");
  EXPECT_EQ(UiText("de", UiKey::kSubmit), "Absenden");
  EXPECT_EQ(UiText("en", UiKey::kRequired), "required");
  EXPECT_EQ(UiText("de", UiKey::kRequired), "Pflichtfeld");
  EXPECT_EQ(UiText("en", UiKey::kThankYouTitle), "Thank you");
  EXPECT_EQ(UiText("de", UiKey::kThankYouTitle), "Vielen Dank");
  EXPECT_EQ(UiText("en", UiKey::kExpiredTitle), "This link has expired");
  EXPECT_EQ(UiText("de", UiKey::kExpiredTitle), "Dieser Link ist abgelaufen");
  EXPECT_EQ(UiText("en", UiKey::kInvalidTitle), "This link is not valid");
  EXPECT_EQ(UiText("de", UiKey::kInvalidTitle), "Dieser Link ist ungültig");
  EXPECT_EQ(UiText("en", UiKey::kErrorSummaryTitle), "There is a problem");
  EXPECT_EQ(UiText("de", UiKey::kErrorSummaryTitle), "Bitte prüfen Sie Ihre Angaben");
}

TEST(UiTextTest, EveryKeyInBothLanguages) {
  for (UiKey key :
       {UiKey::kSubmit, UiKey::kRequired, UiKey::kErrorSummaryTitle, UiKey::kErrorPrefix,
        UiKey::kThankYouTitle, UiKey::kThankYouMessage, UiKey::kExpiredTitle,
        UiKey::kExpiredMessage, UiKey::kInvalidTitle, UiKey::kInvalidMessage}) {
    EXPECT_FALSE(UiText("en", key).empty());
    EXPECT_FALSE(UiText("de", key).empty());
    EXPECT_NE(UiText("en", key), UiText("de", key));
    EXPECT_EQ(SanitizeUtf8(UiText("de", key)), UiText("de", key));
  }
}

TEST(UiTextTest, LocaleFallsBackToEnglish) {
  EXPECT_EQ(PageLanguage("de"), "de");
  EXPECT_EQ(PageLanguage("DE"), "de");
  EXPECT_EQ(PageLanguage("de-AT"), "de");
  EXPECT_EQ(PageLanguage("de_CH"), "de");
  EXPECT_EQ(PageLanguage("en"), "en");
  EXPECT_EQ(PageLanguage("fr"), "en");
  EXPECT_EQ(PageLanguage("deu"), "en");
  EXPECT_EQ(PageLanguage(""), "en");
  EXPECT_EQ(UiText("fr", UiKey::kSubmit), "Submit");
  EXPECT_EQ(UiText("de-AT", UiKey::kSubmit), "Absenden");
}

TEST(MessagePageTest, ThankYouExpiredAndInvalid) {
  for (UiKey title : {UiKey::kThankYouTitle, UiKey::kExpiredTitle, UiKey::kInvalidTitle}) {
    for (std::string_view locale : {"de"sv, "en"sv}) {
      const UiKey message = static_cast<UiKey>(static_cast<int>(title) + 1);
      const std::string html = RenderMessagePage(locale, "Bäckerei Huber", "#ffff00",
                                                 UiText(locale, title), UiText(locale, message));
      ExpectSafeAndConsistent(html);
      EXPECT_TRUE(html.starts_with("<!DOCTYPE html>\n<html lang=\"" + std::string(locale) + "\">"));
      EXPECT_NE(html.find("<h1>" + std::string(UiText(locale, title)) + "</h1>"),
                std::string::npos);
      EXPECT_NE(html.find("<p class=\"message\">" + std::string(UiText(locale, message)) + "</p>"),
                std::string::npos);
      EXPECT_NE(
          html.find("<title>" + std::string(UiText(locale, title)) + " – Bäckerei Huber</title>"),
          std::string::npos);
      EXPECT_NE(html.find(":root{--brand:#ffff00;--on-brand:#000000}"), std::string::npos);
      EXPECT_EQ(html.find("<form"), std::string::npos);
      EXPECT_NE(html.find("<meta name=\"viewport\""), std::string::npos);
    }
  }
  EXPECT_NE(RenderMessagePage("de", "W", "", UiText("de", UiKey::kExpiredTitle), "")
                .find("<h1>Dieser Link ist abgelaufen</h1>"),
            std::string::npos);
}

// ---- The scale inside an e-mail ------------------------------------------------------------

EmailScale ExampleEmailScale() {
  EmailScale scale;
  scale.question = "How likely are you to recommend Bäckerei Huber?";
  scale.low_label = "Not at all likely";
  scale.high_label = "Extremely likely";
  scale.link_for = [](int score) {
    return "https://survey.example.com/r?t=abc&s=" + std::to_string(score);
  };
  scale.brand_colour = "#1a56db";
  return scale;
}

std::vector<std::string> Hrefs(const std::string& html) {
  std::vector<std::string> out;
  for (const Tag& t : Scan(html).Open("a")) out.push_back(t.get("href"));
  return out;
}

TEST(EmailScaleTest, OneLinkPerScoreInOrder) {
  const EmailScale scale = ExampleEmailScale();
  const std::string html = RenderEmailScale(scale);
  const Document doc = Scan(html);
  EXPECT_TRUE(doc.problems.empty()) << ::testing::PrintToString(doc.problems);
  const std::vector<std::string> hrefs = Hrefs(html);
  ASSERT_EQ(hrefs.size(), 11u);
  for (int score = 0; score <= 10; ++score) {
    EXPECT_EQ(hrefs[static_cast<std::size_t>(score)],
              "https://survey.example.com/r?t=abc&amp;s=" + std::to_string(score));
    EXPECT_EQ(Unescape(hrefs[static_cast<std::size_t>(score)]), scale.link_for(score));
  }
  // The link texts are the scores, in order.
  std::vector<std::string> texts;
  for (std::size_t i = html.find("\">"); i != std::string::npos; i = html.find("\">", i + 2)) {
    const std::size_t end = html.find("</a>", i);
    if (end != std::string::npos && end - i - 2 <= 2 && html.substr(end + 4, 5) == "</td>") {
      texts.push_back(html.substr(i + 2, end - i - 2));
    }
  }
  EXPECT_EQ(texts,
            (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}));
  EXPECT_NE(html.find(">How likely are you to recommend Bäckerei Huber?</td>"), std::string::npos);
  EXPECT_NE(html.find(">Not at all likely</td>"), std::string::npos);
  EXPECT_NE(html.find(">Extremely likely</td>"), std::string::npos);
  EXPECT_NE(html.find("role=\"presentation\""), std::string::npos);
  EXPECT_NE(html.find("bgcolor=\"#1a56db\""), std::string::npos);
  EXPECT_NE(html.find("color:#ffffff;"), std::string::npos);
  EXPECT_EQ(html.find("class="), std::string::npos);
  EXPECT_EQ(Lower(html).find("<script"), std::string::npos);
}

TEST(EmailScaleTest, OtherRangesColoursAndUnsafeLinks) {
  EmailScale scale = ExampleEmailScale();
  scale.min = 1;
  scale.max = 5;
  scale.brand_colour = "#ffff00";
  scale.link_for = [](int score) {
    return score == 3 ? std::string("javascript:alert(1)") : "/r/" + std::to_string(score);
  };
  const std::string html = RenderEmailScale(scale);
  EXPECT_EQ(Hrefs(html),
            (std::vector<std::string>{"/r/1", "/r/2", std::string(kInvalidUrl), "/r/4", "/r/5"}));
  EXPECT_NE(html.find("color:#000000;"), std::string::npos);
  EXPECT_NE(html.find("colspan=\"3\""), std::string::npos);  // low label over 3 of 5
  EXPECT_NE(html.find("colspan=\"2\""), std::string::npos);

  scale.brand_colour = "red;\" onmouseover=\"alert(1)";
  scale.question = "<script>alert(1)</script>";
  scale.low_label = "\"><img src=x onerror=alert(1)>";
  const std::string hostile = RenderEmailScale(scale);
  const Document doc = Scan(hostile);
  EXPECT_TRUE(doc.problems.empty());
  for (const Tag& t : doc.tags) {
    for (const auto& [name, value] : t.attrs) EXPECT_FALSE(name.starts_with("on")) << name;
  }
  EXPECT_EQ(Lower(hostile).find("<script"), std::string::npos);
  EXPECT_NE(hostile.find("bgcolor=\"#1a56db\""), std::string::npos);

  scale.min = 0;
  scale.max = 50;  // cut to 11 points
  EXPECT_EQ(Hrefs(RenderEmailScale(scale)).size(), 11u);
}

TEST(EmailScaleTest, PlainTextAlternative) {
  EmailScale scale = ExampleEmailScale();
  std::string expected =
      "How likely are you to recommend Bäckerei Huber?\n"
      "(0 = Not at all likely, 10 = Extremely likely)\n";
  for (int score = 0; score <= 10; ++score) {
    expected += std::to_string(score) +
                ": https://survey.example.com/r?t=abc&s=" + std::to_string(score) + "\n";
  }
  EXPECT_EQ(RenderEmailScaleText(scale), expected);

  scale.question.clear();
  scale.low_label.clear();
  scale.high_label = "Very easy";
  scale.min = 1;
  scale.max = 3;
  scale.link_for = [](int score) { return "/r/" + std::to_string(score); };
  EXPECT_EQ(RenderEmailScaleText(scale), "(3 = Very easy)\n1: /r/1\n2: /r/2\n3: /r/3\n");
}

}  // namespace
}  // namespace treu::survey
