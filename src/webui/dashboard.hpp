// The web dashboard's files (web/, built by Vite at build time), embedded in the binary, and
// the handler that serves them, so `treu serve` and `treu demo` need no other process.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "api/http.hpp"
#include "api/web_file.hpp"

namespace treu::webui {

// One embedded file of the build (api/web_file.hpp).
using WebFile = api::WebFile;

// The embedded files, sorted by path. Empty when the binary was built without the dashboard
// (cmake -DTREU_WEB=OFF).
std::span<const WebFile> DashboardFiles();

// Answers a GET or HEAD of the dashboard from `files`: "/" and "/index.html" (the app, not
// cached), and any other file of the build ("/assets/…": immutable, cached for a year).
// Honours Accept-Encoding: gzip and If-None-Match. nullopt for other methods and paths, so the
// caller routes them on (the API, tracking and survey pages).
std::optional<api::HttpResponse> ServeDashboard(const api::HttpRequest& request,
                                                std::span<const WebFile> files);
inline std::optional<api::HttpResponse> ServeDashboard(const api::HttpRequest& request) {
  return ServeDashboard(request, DashboardFiles());
}

}  // namespace treu::webui
