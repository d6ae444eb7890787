#include "core/html_escape.hpp"
#include "core/html_escape_testing.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace treu {
namespace {

using namespace std::string_view_literals;
using html_testing::Unescape;

constexpr std::string_view kFffd = "\xEF\xBF\xBD";

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}


// True if `s` (valid UTF-8) holds a character that EscapeHtml replaces by U+FFFD: C0 controls
// other than TAB, LF, FF and CR, DEL, and C1 controls (C2 80 to C2 9F).
bool HasControl(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f') return true;
    if (b == 0x7F) return true;
    if (b == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      return true;
    }
  }
  return false;
}

// Classic cross-site scripting payloads, including encodings and Unicode tricks.
const std::vector<std::string_view>& XssPayloads() {
  static const std::vector<std::string_view> kPayloads = {
      "<script>alert(1)</script>"sv,
      "\"><img src=x onerror=alert(1)>"sv,
      "'><svg onload=alert(1)>"sv,
      "javascript:alert(1)"sv,
      "JaVaScRiPt:alert(document.cookie)"sv,
      "</textarea><script>alert(1)</script>"sv,
      "</title><script>alert(1)</script>"sv,
      "</style><script>alert(1)</script>"sv,
      "<img src=\"x\" onerror=\"alert('xss')\">"sv,
      "<iframe src=javascript:alert(1)>"sv,
      "<body onload=alert(1)>"sv,
      "<a href=\"javascript:alert(1)\">x</a>"sv,
      "\" autofocus onfocus=\"alert(1)"sv,
      "' onmouseover='alert(1)"sv,
      "`onmouseover=alert(1)`"sv,
      "<ScRiPt>alert(1)</sCrIpT>"sv,
      "<scr<script>ipt>alert(1)</script>"sv,
      "<!--<script>alert(1)//-->"sv,
      "<![CDATA[<script>alert(1)</script>]]>"sv,
      "&lt;script&gt;alert(1)&lt;/script&gt;"sv,
      "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"sv,
      "<svg><script>alert(1)</script></svg>"sv,
      "<details open ontoggle=alert(1)>"sv,
      "<input value=\"\" onfocus=alert(1) autofocus>"sv,
      "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="sv,
      "\\\"><script>alert(1)</script>"sv,
      "<a href=\"&#106;avascript:alert(1)\">x</a>"sv,
      "%3Cscript%3Ealert(1)%3C/script%3E"sv,
      "+ADw-script+AD4-alert(1)+ADw-/script+AD4-"sv,
      // Fullwidth and small less-than/greater-than signs: not markup, kept as they are.
      "\xEF\xBC\x9Cscript\xEF\xBC\x9E"
      "alert(1)\xEF\xB9\xA4/script\xEF\xB9\xA5"sv,
      // Overlong encodings of '<' and '>' (2 and 3 bytes): invalid, never decoded to '<'.
      "\xC0\xBCscript\xC0\xBE"
      "alert(1)\xE0\x80\xBC/script\xE0\x80\xBE"sv,
      // A truncated sequence must not swallow the quote after it.
      "\xE2\x82\"><script>alert(1)</script>"sv,
      "\xF0\x9F\x98\"><svg onload=alert(1)>"sv,
      // NUL inside the tag name, right-to-left override, zero-width joiner.
      "<scr\0ipt>alert(1)</scr\0ipt>"sv,
      "\xE2\x80\xAE<script>alert(1)</script>"sv,
      "<s\xE2\x80\x8D"
      "cript>alert(1)</script>"sv,
      // Surrogate code point and a code point beyond U+10FFFF, both invalid in UTF-8.
      "\xED\xA0\x80<script>\xF4\x90\x80\x80"sv,
  };
  return kPayloads;
}

TEST(EscapeHtmlTest, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(EscapeHtml("a & b < c > d \" e ' f"), "a &amp; b &lt; c &gt; d &quot; e &#39; f");
  EXPECT_EQ(EscapeHtml("&amp;"), "&amp;amp;");
  EXPECT_EQ(EscapeHtml(""), "");
  EXPECT_EQ(EscapeHtml("plain text / = `"), "plain text / = `");
}

TEST(EscapeHtmlTest, KeepsValidUtf8) {
  EXPECT_EQ(EscapeHtml("Grüße 😀 日本 «ß»"), "Grüße 😀 日本 «ß»");
  EXPECT_EQ(EscapeHtml("\xEF\xBC\x9C"), "\xEF\xBC\x9C");  // fullwidth '<' is no markup
  EXPECT_EQ(EscapeHtml("tab\tnew\nline\r\f"), "tab\tnew\nline\r\f");
}

TEST(EscapeHtmlTest, ReplacesInvalidUtf8PerMaximalSubpart) {
  struct Case {
    std::string_view input;
    std::string expected;
  };
  const std::string r(kFffd);
  const Case cases[] = {
      {"\x80"sv, r},                   // lone continuation byte
      {"\xC0\xBC"sv, r + r},           // overlong '<': two bad bytes
      {"\xE0\x80\xBC"sv, r + r + r},   // 3-byte overlong '<'
      {"\xE2\x82"sv, r},               // truncated at the end: one subpart
      {"\xE2\x82<"sv, r + "&lt;"},     // the '<' after it survives
      {"\xE2\x82\""sv, r + "&quot;"},  // and so does a quote
      {"\xF0\x9F\x98'"sv, r + "&#39;"},
      {"\xED\xA0\x80"sv, r + r + r},          // UTF-16 surrogate
      {"\xF4\x90\x80\x80"sv, r + r + r + r},  // above U+10FFFF
      {"\xF5\x80"sv, r + r},
      {"\xFF"sv, r},
      {"a\xC3"sv, "a" + r},
      {"\xC3\xA9\xC3"sv, "\xC3\xA9" + r},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(EscapeHtml(c.input), c.expected) << ::testing::PrintToString(std::string(c.input));
    EXPECT_EQ(SanitizeUtf8(c.input), Unescape(c.expected))
        << ::testing::PrintToString(std::string(c.input));
  }
}

TEST(EscapeHtmlTest, ReplacesControlCharacters) {
  const std::string r(kFffd);
  EXPECT_EQ(EscapeHtml("a\0b"sv), "a" + r + "b");
  EXPECT_EQ(EscapeHtml("\x01\x1B\x7F"), r + r + r);
  EXPECT_EQ(EscapeHtml("\xC2\x80\xC2\x9F\xC2\xA0"), r + r + "\xC2\xA0");  // C1 out, NBSP kept
  // SanitizeUtf8 only repairs encoding; it keeps controls.
  EXPECT_EQ(SanitizeUtf8("a\0b"sv), "a\0b"sv);
}

TEST(EscapeHtmlTest, XssPayloadsLeaveNoMarkup) {
  ASSERT_GE(XssPayloads().size(), 20u);
  for (std::string_view payload : XssPayloads()) {
    SCOPED_TRACE(::testing::PrintToString(std::string(payload)));
    for (const std::string& out : {EscapeHtml(payload), EscapeAttribute(payload)}) {
      EXPECT_EQ(out.find_first_of("<>\"'"), std::string::npos) << out;
      EXPECT_EQ(Lower(out).find("<script"), std::string::npos) << out;
      EXPECT_EQ(out.find('\0'), std::string::npos);
      EXPECT_EQ(SanitizeUtf8(out), out) << "output must be valid UTF-8";
      // Nothing is lost: decoding the entities gives back the (repaired) input.
      if (!HasControl(SanitizeUtf8(payload))) {
        EXPECT_EQ(Unescape(out), SanitizeUtf8(payload));
      }
    }
  }
}

TEST(EscapeAttributeTest, AlsoEscapesBacktick) {
  EXPECT_EQ(EscapeAttribute("`x` \"y\" 'z'"), "&#96;x&#96; &quot;y&quot; &#39;z&#39;");
  EXPECT_EQ(EscapeAttribute("a&b=c"), "a&amp;b=c");
}

TEST(UrlEncodeTest, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UrlEncode("abcXYZ019-._~"), "abcXYZ019-._~");
  EXPECT_EQ(UrlEncode("a b&c=d/é?#+%"), "a%20b%26c%3Dd%2F%C3%A9%3F%23%2B%25");
  EXPECT_EQ(UrlEncode("\"><script>"), "%22%3E%3Cscript%3E");
  EXPECT_EQ(UrlEncode("\0\xFF"sv), "%00%FF");
  EXPECT_EQ(UrlEncode(""), "");
}

TEST(UrlEncodeTest, EncodesEveryOtherByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string encoded = UrlEncode(all);
  EXPECT_EQ(encoded.size(), 66u + (256u - 66u) * 3u);  // 66 unreserved characters
  EXPECT_EQ(encoded.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%"),
            std::string::npos);
}

TEST(SafeUrlTest, KeepsHttpMailtoAndRelativeUrls) {
  for (std::string_view url :
       {"https://example.com/s?t=a&b=1"sv, "http://example.com"sv, "HTTPS://EXAMPLE.COM"sv,
        "mailto:team@example.com"sv, "/s/abc?score=7"sv, "?score=7"sv, "#top"sv, ""sv,
        "//example.com/path"sv, "path/with:colon"sv, "javascript&colon;alert(1)"sv}) {
    EXPECT_EQ(SafeUrl(url), url);
  }
}

TEST(SafeUrlTest, RejectsScriptAndOtherSchemes) {
  for (std::string_view url :
       {"javascript:alert(1)"sv, "JaVaScRiPt:alert(1)"sv, " javascript:alert(1)"sv,
        "\x01\x02javascript:alert(1)"sv, "java\tscript:alert(1)"sv, "java\nscript:alert(1)"sv,
        "java\rscript:alert(1)"sv, "vbscript:msgbox(1)"sv, "data:text/html,<script>"sv,
        "file:///etc/passwd"sv, "ftp://example.com"sv, "https\\:x"sv, ":nothing"sv,
        "\0javascript:alert(1)"sv}) {
    EXPECT_EQ(SafeUrl(url), kInvalidUrl) << ::testing::PrintToString(std::string(url));
  }
}

TEST(AppendEscapedTest, AppendsWhatTheReturningFormsReturn) {
  const std::string_view inputs[] = {""sv, "plain"sv, "a<b>&\"'`c"sv, "Grüße \xC0\xBC\0x"sv,
                                     "\"><script>alert(1)</script>"sv};
  for (std::string_view in : inputs) {
    std::string out = "prefix:";
    AppendEscapedHtml(out, in);
    EXPECT_EQ(out, "prefix:" + EscapeHtml(in));
    out = "prefix:";
    AppendEscapedAttribute(out, in);
    EXPECT_EQ(out, "prefix:" + EscapeAttribute(in));
    out = "prefix:";
    AppendUrlEncoded(out, in);
    EXPECT_EQ(out, "prefix:" + UrlEncode(in));
  }
}

TEST(SafeUrlTest, IsSafeUrlAgreesWithSafeUrl) {
  for (std::string_view url :
       {"https://example.com"sv, "javascript:alert(1)"sv, " JAVA\tSCRIPT:x"sv, "/a:b"sv,
        "a?b:c"sv, "mailto:x@y"sv, "verylongschemename:x"sv, "httpsx:y"sv, ""sv}) {
    EXPECT_EQ(IsSafeUrl(url), SafeUrl(url) == url) << url;
  }
}

}  // namespace
}  // namespace treu
