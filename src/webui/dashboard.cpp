#include "webui/dashboard.hpp"

#include <algorithm>
#include <string>

namespace treu::webui {
namespace {

constexpr std::string_view kNotBuilt =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>treu</title></head>"
    "<body><h1>treu</h1><p>This treu binary was built without its dashboard "
    "(cmake -DTREU_WEB=OFF). The HTTP API is at <a href=\"/api/v1/openapi.json\">"
    "/api/v1/openapi.json</a>.</p></body></html>\n";

const WebFile* Find(std::span<const WebFile> files, std::string_view path) {
  const auto it = std::lower_bound(files.begin(), files.end(), path,
                                   [](const WebFile& f, std::string_view p) { return f.path < p; });
  return it != files.end() && it->path == path ? &*it : nullptr;
}

// True when an Accept-Encoding header admits gzip (a "gzip;q=0" refuses it).
bool AcceptsGzip(std::string_view accept) {
  std::size_t pos = 0;
  while (pos <= accept.size()) {
    std::size_t end = accept.find(',', pos);
    if (end == std::string_view::npos) end = accept.size();
    std::string_view item = accept.substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    const std::size_t semi = item.find(';');
    std::string_view coding = item.substr(0, semi);
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    if (coding == "gzip" || coding == "*") {
      if (semi == std::string_view::npos) return true;
      std::string_view params = item.substr(semi + 1);
      while (!params.empty() && params.front() == ' ') params.remove_prefix(1);
      return !(params.starts_with("q=0") && params.find_first_not_of("0.", 2) == std::string_view::npos);
    }
    pos = end + 1;
  }
  return false;
}

}  // namespace

std::optional<api::HttpResponse> ServeDashboard(const api::HttpRequest& request,
                                                std::span<const WebFile> files) {
  if (request.method != "GET" && request.method != "HEAD") return std::nullopt;
  const bool app = request.path == "/" || request.path == "/index.html";
  if (files.empty()) {
    if (!app) return std::nullopt;
    api::HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = kNotBuilt;
    return r;
  }
  const WebFile* file = Find(files, app ? std::string_view("/index.html") : request.path);
  if (file == nullptr) return std::nullopt;

  api::HttpResponse r;
  r.content_type = std::string(file->content_type);
  r.headers.emplace_back("ETag", std::string(file->etag));
  r.headers.emplace_back("Cache-Control", file->path.starts_with("/assets/")
                                              ? "public, max-age=31536000, immutable"
                                              : "no-cache");
  const bool gzip = !file->gzip.empty();
  if (gzip) r.headers.emplace_back("Vary", "Accept-Encoding");
  const std::string_view if_none_match = request.Header("if-none-match");
  if (!if_none_match.empty() && if_none_match.find(file->etag) != std::string_view::npos) {
    r.status = 304;
    return r;
  }
  if (gzip && AcceptsGzip(request.Header("accept-encoding"))) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body = std::string(file->gzip);
  } else {
    r.body = std::string(file->body);
  }
  return r;
}

}  // namespace treu::webui
