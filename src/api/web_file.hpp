// A file compiled into the binary at build time by src/webui/embed_dir.cpp: the dashboard's
// build (webui/dashboard.hpp) and the browser SDK (api/sdk_routes.hpp).
#pragma once

#include <string_view>

namespace treu::api {

struct WebFile {
  std::string_view path;          // "/index.html", "/treu.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
  std::string_view gzip;  // the body gzip-compressed, or empty
  std::string_view etag;  // quoted content hash
};

}  // namespace treu::api
