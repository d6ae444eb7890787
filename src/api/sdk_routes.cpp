#include "api/sdk_routes.hpp"

#include <algorithm>
#include <string>

#include "api/problem.hpp"

namespace treu::api {
namespace {

// Answers with the embedded file `name` of sdk/. Shops load it from their own pages, so any
// origin may read it (no credentials are involved), and caches may keep it for an hour: a
// new treu version reaches the shops' visitors within that time.
RouteHandler Serve(std::string_view name) {
  return [name](RequestContext& ctx) -> Result<HttpResponse> {
    const std::span<const WebFile> files = SdkFiles();
    const auto it = std::find_if(files.begin(), files.end(), [&](const WebFile& f) { return f.path == name; });
    if (it == files.end()) {
      return std::unexpected(Error(ErrorCode::kNotFound, "", "this build has no " + std::string(name)));
    }
    HttpResponse r;
    r.content_type = std::string(it->content_type);
    r.headers = {{"Cache-Control", "public, max-age=3600"},
                 {"Access-Control-Allow-Origin", "*"},
                 {"Cross-Origin-Resource-Policy", "cross-origin"},
                 {"ETag", std::string(it->etag)}};
    const std::string_view if_none_match = ctx.request.Header("if-none-match");
    if (!if_none_match.empty() && if_none_match.find(it->etag) != std::string_view::npos) {
      r.status = 304;
      return r;
    }
    r.body = std::string(it->body);
    return r;
  };
}

}  // namespace

std::vector<Route> SdkRoutes() {
  return {
      {"GET", "/sdk/treu.js", Access::Public(),
       "The browser SDK (JavaScript) for the shop's pages: tracking, web push, in-app messages (docs/sdk.md)",
       Serve("/treu.js")},
      {"GET", "/sdk/treu-sw.js", Access::Public(),
       "A sample service worker for web push, for the shop to copy to its own origin (docs/sdk.md)",
       Serve("/treu-sw.js")},
  };
}

}  // namespace treu::api
