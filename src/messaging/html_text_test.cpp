#include "messaging/html_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace treu::messaging {
namespace {

TEST(HtmlToTextTest, HeadingsParagraphsAndBreaks) {
  EXPECT_EQ(HtmlToText("<h1>Welcome</h1><p>First   paragraph\n spread\tover lines.</p>"
                       "<p>Second<br>line two<br><br>after a blank</p>"),
            "Welcome\n\nFirst paragraph spread over lines.\n\nSecond\nline two\n\nafter a blank");
}

TEST(HtmlToTextTest, Lists) {
  EXPECT_EQ(HtmlToText("<p>Items:</p><ul><li>one</li><li><p>two</p></li></ul>"
                       "<ol start=\"3\"><li>three<ol><li>nested</li></ol></li><li>four</li></ol>"),
            "Items:\n\n- one\n- two\n\n3. three\n  1. nested\n4. four");
}

TEST(HtmlToTextTest, Links) {
  EXPECT_EQ(HtmlToText("<p><a href=\"https://shop.example/sale\">the sale</a></p>"),
            "the sale (https://shop.example/sale)");
  EXPECT_EQ(HtmlToText("<a href=\"https://shop.example/\">https://shop.example/</a>"),
            "https://shop.example/");
  EXPECT_EQ(HtmlToText("<a href=\"mailto:help@shop.example\">help@shop.example</a>"),
            "help@shop.example");
  EXPECT_EQ(HtmlToText("<a href=\"javascript:alert(1)\">click</a> <a href=\"#top\">top</a>"),
            "click top");
  EXPECT_EQ(HtmlToText("<a href=\"https://shop.example/x\"><img src=\"b.png\"></a>"),
            "https://shop.example/x");
  EXPECT_EQ(HtmlToText("<a href=\"https://x.example/?a=1&amp;b=2\">A &amp; B</a>"),
            "A & B (https://x.example/?a=1&b=2)");
}

TEST(HtmlToTextTest, ImagesTablesAndSkippedElements) {
  EXPECT_EQ(HtmlToText("<html><head><title>T</title><style>p{color:red}</style></head><body>"
                       "<script>var x = '<p>no</p>';</script>"
                       "<img src=\"logo.png\" alt=\"Shop logo\">"
                       "<table><tr><th>Item</th><th>Price</th></tr>"
                       "<tr><td>Socks</td><td>9,00&nbsp;€</td></tr></table>"
                       "<noscript>enable js</noscript></body></html>"),
            "Shop logo\nItem Price\nSocks 9,00 €");
}

TEST(HtmlToTextTest, EntitiesPreAndCollapsing) {
  EXPECT_EQ(HtmlToText("<p>Gr&uuml;&szlig;e &lt;3 &#x1F389;</p><pre>  keep\n    this</pre><p>x</p>"),
            "Grüße <3 🎉\n\n  keep\n    this\n\nx");
  EXPECT_EQ(HtmlToText("<div>a</div><div></div><div></div><div>b</div>"), "a\nb");
  EXPECT_EQ(HtmlToText("  "), "");
  EXPECT_EQ(HtmlToText("plain <b>bold</b> <i>text</i>"), "plain bold text");
}

TEST(HtmlToTextTest, PreheaderFillerIsDropped) {
  EXPECT_EQ(HtmlToText("<div style=\"display:none\">Sale ends Sunday&zwnj;&nbsp;&zwnj;&nbsp;"
                       "&zwnj;&nbsp;&#847;&shy;</div><p>Hello</p>"),
            "Sale ends Sunday\n\nHello");
}

TEST(HtmlToTextTest, BrokenAndDeeplyNestedMarkup) {
  EXPECT_EQ(HtmlToText("<p>unclosed <b>bold <i>both</p><p>next"), "unclosed bold both\n\nnext");
  std::string deep;
  for (int i = 0; i < 20000; ++i) deep += "<span>";
  deep += "deep";
  EXPECT_EQ(HtmlToText(deep), "deep");
}

}  // namespace
}  // namespace treu::messaging
