#include "surveys/html.hpp"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>

namespace treu::survey {
namespace {

TEST(HtmlTest, EscapesTextAndAttributesByDefault) {
  Html h;
  h.Open("a").Attr("title", "\"><script>").UrlAttr("href", "javascript:alert(1)");
  h.Text("<b>&</b>").Close("a");
  EXPECT_EQ(h.Take(),
            "<a title=\"&quot;&gt;&lt;script&gt;\" href=\"about:invalid\">"
            "&lt;b&gt;&amp;&lt;/b&gt;</a>");
}

TEST(HtmlTest, FlagsNumbersAndVoidElements) {
  Html h;
  h.Open("input").Attr("type", "radio").Attr("value", 7).Flag("checked").Flag("required", false);
  h.Open("br").Raw("<hr>");
  EXPECT_EQ(h.Take(), "<input type=\"radio\" value=\"7\" checked><br><hr>");
  EXPECT_EQ(h.Take(), "");  // Take leaves the builder empty
}

TEST(HtmlTest, StyleCannotCloseItsElement) {
  Html h;
  h.Style("a{color:red}</style><script>alert(1)</script>");
  const std::string out = h.Take();
  EXPECT_EQ(out, "<style>a{color:red}/style>script>alert(1)/script></style>");
  EXPECT_EQ(out.find("<script"), std::string::npos);
}

TEST(HtmlTest, RawTakesOnlyLiterals) {
  static_assert(std::is_constructible_v<Markup, const char(&)[5]>);
  static_assert(!std::is_constructible_v<Markup, std::string>);
  static_assert(!std::is_constructible_v<Markup, std::string_view>);
  static_assert(!std::is_constructible_v<Markup, const char*>);
  Html h;
  h.Raw("<!DOCTYPE html>");
  EXPECT_EQ(h.Take(), "<!DOCTYPE html>");
}

}  // namespace
}  // namespace treu::survey
