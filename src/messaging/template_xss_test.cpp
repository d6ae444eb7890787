// Renders every payload of test/logic/templates/xss_payloads.txt as customer data into HTML
// templates (text, quoted attributes, URL attributes, loops, filters) and parses the result
// with a real HTML parser (gumbo). The document must hold exactly the elements and attributes
// the template itself writes (the same as for a harmless value), none of them script, iframe,
// object or embed, no on* attribute, and no URL attribute with a javascript:, vbscript: or
// data: scheme.

#include <gtest/gtest.h>
#include <gumbo.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "core/html_escape.hpp"
#include "messaging/template.hpp"

namespace treu::messaging {
namespace {

std::vector<std::string> LoadPayloads() {
  std::ifstream in(std::string(TREU_TEMPLATE_SCENARIOS) + "/xss_payloads.txt");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.starts_with("#")) continue;
    std::string p;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '\\') {
        p += '\\';
        ++i;
      } else if (line[i] == '\\' && i + 3 < line.size() && line[i + 1] == 'x') {
        p += static_cast<char>(std::stoi(line.substr(i + 2, 2), nullptr, 16));
        i += 3;
      } else if (line[i] == '\\' && i + 1 < line.size() && (line[i + 1] == 't' || line[i + 1] == 'n' || line[i + 1] == 'r')) {
        p += line[i + 1] == 't' ? '\t' : (line[i + 1] == 'n' ? '\n' : '\r');
        ++i;
      } else {
        p += line[i];
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

// The templates: every place HTML mode lets data go.
const char* const kTemplates[] = {
    // Text nodes, RCDATA and attributes.
    "<!DOCTYPE html><html><head><title>{{ p }}</title></head><body>"
    "<p class=\"greeting\">Hello {{ p }}!</p><p>{{ p | upcase }} {{ p | truncate: 12 }}</p>"
    "<textarea>{{ p }}</textarea><div title=\"{{ p }}\" data-x='{{ p | append: \"'\" }}'>x</div>"
    "<input value=\"{{ p | escape }}\"><span title=\"{{ p | prepend: '\\\"' }}\">y</span></body></html>",
    // URL attributes at their start and later in the value.
    "<!DOCTYPE html><html><body><a href=\"{{ p }}\">a</a><a href=' {{ p }}'>b</a>"
    "<img src=\"{{ p }}\" alt=\"{{ p }}\"><form action=\"{{ p }}\"><button formaction=\"{{ p }}\">c</button></form>"
    "<a href=\"https://shop.example/s?q={{ p }}&amp;r={{ p | url_encode }}\">d</a>"
    "<a href=\"/u/{{ p }}/{{ p }}\">e</a><video poster=\"{{ p }}\"></video><blockquote cite=\"{{ p }}\">f</blockquote>"
    "<svg><a xlink:href=\"{{ p }}\"><text>{{ p }}</text></a></svg></body></html>",
    // Loops, conditions, assign and default.
    "<!DOCTYPE html><html><body>{% assign q = p | default: 'x' %}"
    "{% for item in list %}<li class=\"{{ item }}\"><a href=\"{{ item }}\">{{ item }}</a></li>{% endfor %}"
    "{% if p contains '<' %}<b>{{ q }}</b>{% else %}<b>{{ q | upcase }}</b>{% endif %}"
    "<a href=\"{% if p %}{{ p }}{% endif %}\">g</a></body></html>",
};

struct Element {
  std::string tag;
  std::vector<std::string> attributes;  // names, in order
  bool operator==(const Element&) const = default;
};

std::string TagName(const GumboElement& e) {
  if (e.tag != GUMBO_TAG_UNKNOWN) return gumbo_normalized_tagname(e.tag);
  GumboStringPiece original = e.original_tag;
  gumbo_tag_from_original_text(&original);
  std::string name(original.data, original.length);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return "unknown:" + name;
}

bool IsUrlAttribute(std::string_view name) {
  static constexpr std::string_view kNames[] = {"href", "src", "action", "formaction", "poster", "background",
                                                "cite", "data", "codebase", "srcdoc", "xlink:href", "ping"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

// The scheme of a URL attribute value as a browser reads it (after entity decoding, which
// gumbo did): leading C0 controls and spaces skipped, TAB/LF/CR removed, lower-cased.
std::string Scheme(std::string_view url) {
  std::size_t start = 0;
  while (start < url.size() && static_cast<unsigned char>(url[start]) <= 0x20) ++start;
  std::string s;
  for (char c : url.substr(start)) {
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (c == ':') return s;
    if (c == '/' || c == '?' || c == '#') return "";
    s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return "";
}

void Collect(const GumboNode* node, std::vector<Element>& out, std::vector<std::string>& problems) {
  if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_DOCUMENT && node->type != GUMBO_NODE_TEMPLATE) {
    return;
  }
  const GumboVector* children = nullptr;
  if (node->type == GUMBO_NODE_DOCUMENT) {
    children = &node->v.document.children;
  } else {
    const GumboElement& e = node->v.element;
    Element el;
    el.tag = TagName(e);
    for (const char* bad : {"script", "iframe", "object", "embed"}) {
      if (el.tag == bad) problems.push_back("a <" + el.tag + "> element");
    }
    for (unsigned i = 0; i < e.attributes.length; ++i) {
      const auto* a = static_cast<const GumboAttribute*>(e.attributes.data[i]);
      std::string name = a->name;
      el.attributes.push_back(name);
      if (name.size() >= 2 && std::tolower(static_cast<unsigned char>(name[0])) == 'o' &&
          std::tolower(static_cast<unsigned char>(name[1])) == 'n') {
        problems.push_back("an event handler attribute " + name + " on <" + el.tag + ">");
      }
      if (IsUrlAttribute(name)) {
        const std::string scheme = Scheme(a->value);
        if (scheme == "javascript" || scheme == "vbscript" || scheme == "data") {
          problems.push_back("a " + scheme + ": URL in " + name + " of <" + el.tag + ">");
        }
      }
    }
    out.push_back(std::move(el));
    children = &e.children;
  }
  for (unsigned i = 0; i < children->length; ++i) {
    Collect(static_cast<const GumboNode*>(children->data[i]), out, problems);
  }
}

struct Parsed {
  std::vector<Element> elements;
  std::vector<std::string> problems;
};

Parsed ParseHtml(const std::string& html) {
  GumboOutput* output = gumbo_parse_with_options(&kGumboDefaultOptions, html.data(), html.size());
  Parsed p;
  Collect(output->document, p.elements, p.problems);
  gumbo_destroy_output(&kGumboDefaultOptions, output);
  return p;
}

Value Data(const std::string& payload) {
  return Value::MakeObject({{"p", payload}, {"list", Value::MakeArray({Value(payload), Value("plain")})}});
}

TEST(TemplateXssTest, PayloadsNeverBecomeMarkup) {
  const std::vector<std::string> payloads = LoadPayloads();
  ASSERT_GE(payloads.size(), 40u);
  auto ctx = RenderContext::Make(TimeZone::Utc(), "en-US", "USD", Timestamp{});
  ASSERT_TRUE(ctx.has_value());
  for (const char* source : kTemplates) {
    auto t = Template::Parse(source, Mode::kHtml);
    ASSERT_TRUE(t.has_value()) << t.error().ToString();
    auto reference_html = t->Render(Data("harmless"), *ctx);
    ASSERT_TRUE(reference_html.has_value());
    const Parsed reference = ParseHtml(*reference_html);
    ASSERT_TRUE(reference.problems.empty());
    ASSERT_GT(reference.elements.size(), 5u);
    for (const std::string& payload : payloads) {
      SCOPED_TRACE(::testing::PrintToString(payload));
      auto html = t->Render(Data(payload), *ctx);
      ASSERT_TRUE(html.has_value()) << html.error().ToString();
      EXPECT_EQ(SanitizeUtf8(*html), *html) << "the output is not valid UTF-8";
      const Parsed parsed = ParseHtml(*html);
      EXPECT_TRUE(parsed.problems.empty()) << ::testing::PrintToString(parsed.problems) << "\n" << *html;
      // Exactly the template's own elements and attributes.
      EXPECT_EQ(parsed.elements.size(), reference.elements.size()) << *html;
      for (std::size_t i = 0; i < std::min(parsed.elements.size(), reference.elements.size()); ++i) {
        EXPECT_EQ(parsed.elements[i].tag, reference.elements[i].tag) << *html;
        EXPECT_EQ(parsed.elements[i].attributes, reference.elements[i].attributes) << *html;
      }
    }
  }
}

// The checker itself catches what it is meant to catch.
TEST(TemplateXssTest, CheckerSeesInjectedMarkup) {
  EXPECT_FALSE(ParseHtml("<p><script>x</script></p>").problems.empty());
  EXPECT_FALSE(ParseHtml("<img src=x onerror=alert(1)>").problems.empty());
  EXPECT_FALSE(ParseHtml("<a href=\" JAVA&#x09;script:x\">").problems.empty());
  EXPECT_FALSE(ParseHtml("<svg><a xlink:href=\"data:x\"></a></svg>").problems.empty());
  EXPECT_TRUE(ParseHtml("<a href=\"https://x/?javascript:\">").problems.empty());
  EXPECT_NE(ParseHtml("<p>x</p>").elements, ParseHtml("<p><b>x</b></p>").elements);
  EXPECT_NE(ParseHtml("<p>x</p>").elements, ParseHtml("<p title=a>x</p>").elements);
  // The same payload rendered without escaping would be caught: a template in text mode.
  auto t = Template::Parse("<p>{{ p }}</p>", Mode::kText);
  ASSERT_TRUE(t.has_value());
  auto html = t->Render(Data("<img src=x onerror=alert(1)>"), RenderContext());
  ASSERT_TRUE(html.has_value());
  EXPECT_FALSE(ParseHtml(*html).problems.empty());
}

}  // namespace
}  // namespace treu::messaging
