#include "webui/dashboard.hpp"

#include <gtest/gtest.h>

#include <string>

namespace treu::webui {
namespace {

// Sorted by path, as the generated table is.
constexpr WebFile kFiles[] = {
    {"/assets/app-1a2b.js", "text/javascript; charset=utf-8", "console.log(1)", "GZ-JS", "\"e1\""},
    {"/favicon.svg", "image/svg+xml", "<svg/>", "", "\"e2\""},
    {"/index.html", "text/html; charset=utf-8", "<!doctype html>", "GZ-HTML", "\"e3\""},
};

api::HttpRequest Get(std::string path) {
  api::HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  return r;
}

std::string HeaderOf(const api::HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

TEST(ServeDashboard, TheAppAtTheRootIsRevalidatedAndAssetsAreImmutable) {
  auto root = ServeDashboard(Get("/"), kFiles);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->status, 200);
  EXPECT_EQ(root->body, "<!doctype html>");
  EXPECT_EQ(root->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(HeaderOf(*root, "Cache-Control"), "no-cache");
  EXPECT_EQ(HeaderOf(*root, "ETag"), "\"e3\"");

  auto js = ServeDashboard(Get("/assets/app-1a2b.js"), kFiles);
  ASSERT_TRUE(js);
  EXPECT_EQ(js->body, "console.log(1)");
  EXPECT_EQ(HeaderOf(*js, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(HeaderOf(*ServeDashboard(Get("/favicon.svg"), kFiles), "Cache-Control"), "no-cache");
}

TEST(ServeDashboard, OtherPathsAndMethodsAreLeftToTheRouter) {
  EXPECT_FALSE(ServeDashboard(Get("/api/v1/customers"), kFiles));
  EXPECT_FALSE(ServeDashboard(Get("/assets/missing.js"), kFiles));
  EXPECT_FALSE(ServeDashboard(Get("/assets"), kFiles));
  auto post = Get("/");
  post.method = "POST";
  EXPECT_FALSE(ServeDashboard(post, kFiles));
  auto head = Get("/index.html");
  head.method = "HEAD";
  EXPECT_TRUE(ServeDashboard(head, kFiles));
}

TEST(ServeDashboard, GzipWhenTheClientAcceptsIt) {
  auto req = Get("/assets/app-1a2b.js");
  req.headers["accept-encoding"] = "br, gzip, deflate";
  auto r = ServeDashboard(req, kFiles);
  EXPECT_EQ(r->body, "GZ-JS");
  EXPECT_EQ(HeaderOf(*r, "Content-Encoding"), "gzip");
  EXPECT_EQ(HeaderOf(*r, "Vary"), "Accept-Encoding");

  for (const char* refuses : {"", "deflate", "gzip;q=0", "gzip; q=0.000", "identity"}) {
    req.headers["accept-encoding"] = refuses;
    r = ServeDashboard(req, kFiles);
    EXPECT_EQ(r->body, "console.log(1)") << refuses;
    EXPECT_EQ(HeaderOf(*r, "Content-Encoding"), "") << refuses;
  }
  req.headers["accept-encoding"] = "gzip;q=0.5";
  EXPECT_EQ(ServeDashboard(req, kFiles)->body, "GZ-JS");
  // A file without a gzip variant is sent as it is.
  auto svg = Get("/favicon.svg");
  svg.headers["accept-encoding"] = "gzip";
  EXPECT_EQ(ServeDashboard(svg, kFiles)->body, "<svg/>");
}

TEST(ServeDashboard, AMatchingETagAnswersNotModified) {
  auto req = Get("/");
  req.headers["if-none-match"] = "\"e3\"";
  auto r = ServeDashboard(req, kFiles);
  EXPECT_EQ(r->status, 304);
  EXPECT_TRUE(r->body.empty());
  req.headers["if-none-match"] = "\"other\"";
  EXPECT_EQ(ServeDashboard(req, kFiles)->status, 200);
}

TEST(ServeDashboard, ABinaryWithoutTheDashboardSaysSoAtTheRoot) {
  auto r = ServeDashboard(Get("/"), {});
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("TREU_WEB=OFF"), std::string::npos);
  EXPECT_FALSE(ServeDashboard(Get("/assets/app.js"), {}));
}

}  // namespace
}  // namespace treu::webui
