#include "messaging/tracking.hpp"

#include <gtest/gtest.h>

namespace treu::messaging {
namespace {

std::string Redirect(std::string_view target) { return "https://t.example/c?u=" + std::string(target); }

TEST(Tracking, RewritesWebLinksOnly) {
  const std::string html =
      "<html><body><p><a href=\"https://shop.example/sale?a=1&amp;b=2\">Sale</a> "
      "<a href='http://shop.example/x'>x</a> <a href=\"mailto:help@shop.example\">mail</a> "
      "<a href=\"#top\">top</a> <a href=\"https://t.example/m/u/tok\">unsubscribe</a></p></body></html>";
  const std::string out = AddTracking(html, Redirect, "https://t.example/m/o/px.gif", "https://t.example/m/");
  // The decoded target (&amp; → &) is what the redirect gets; its output is attribute-escaped.
  EXPECT_NE(out.find("href=\"https://t.example/c?u=https://shop.example/sale?a=1&amp;b=2\""), std::string::npos) << out;
  EXPECT_NE(out.find("href=\"https://t.example/c?u=http://shop.example/x\""), std::string::npos) << out;
  EXPECT_NE(out.find("href=\"mailto:help@shop.example\""), std::string::npos);
  EXPECT_NE(out.find("href=\"#top\""), std::string::npos);
  EXPECT_NE(out.find("href=\"https://t.example/m/u/tok\""), std::string::npos) << "treu's own links stay";
  const auto pixel = out.find("<img src=\"https://t.example/m/o/px.gif\" width=\"1\" height=\"1\" alt=\"\">");
  ASSERT_NE(pixel, std::string::npos);
  EXPECT_LT(pixel, out.find("</body>"));
}

TEST(Tracking, FragmentsGetThePixelAtTheEnd) {
  const std::string out = AddTracking("<p>Hi <a href=\"https://a.example/\">a</a></p>", Redirect, "https://p/", "");
  EXPECT_TRUE(out.ends_with("<img src=\"https://p/\" width=\"1\" height=\"1\" alt=\"\">")) << out;
  EXPECT_NE(out.find("href=\"https://t.example/c?u=https://a.example/\""), std::string::npos);
}

TEST(Tracking, NoPixelWhenNoneIsGiven) {
  const std::string html = "<p>plain</p>";
  EXPECT_EQ(AddTracking(html, Redirect, "", ""), html);
}

TEST(Tracking, BodyInsideAnAttributeIsNotTheEnd) {
  const std::string html = "<a href=\"https://a.example/</body>\">x</a><p>after</p>";
  const std::string out = AddTracking(html, Redirect, "https://p/", "");
  EXPECT_TRUE(out.ends_with("<p>after</p><img src=\"https://p/\" width=\"1\" height=\"1\" alt=\"\">")) << out;
}

TEST(Tracking, HostileRedirectOutputIsEscaped) {
  const std::string out = AddTracking("<a href=\"https://a.example/\">x</a>",
                                      [](std::string_view) { return std::string("\"><script>x</script>"); }, "", "");
  EXPECT_EQ(out.find("<script>"), std::string::npos) << out;
}

}  // namespace
}  // namespace treu::messaging
