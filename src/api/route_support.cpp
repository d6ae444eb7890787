#include "api/route_support.hpp"

#include <algorithm>
#include <charconv>

namespace treu::api {

Result<int> ParseLimit(const HttpRequest& req) {
  const std::string* text = req.Query("limit");
  if (text == nullptr) return kDefaultLimit;
  int v = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || p != text->data() + text->size() || v < 1 || v > kMaxLimit) {
    return InvalidArgument("limit", "must be a whole number from 1 to " + std::to_string(kMaxLimit));
  }
  return v;
}

Result<std::int64_t> ParseCursor(const HttpRequest& req) {
  const std::string* text = req.Query("cursor");
  if (text == nullptr || text->empty()) return 0;
  std::int64_t v = 0;
  if (text->size() < 2 || (*text)[0] != 'c') return InvalidArgument("cursor", "is not a cursor from this API");
  auto [p, ec] = std::from_chars(text->data() + 1, text->data() + text->size(), v);
  if (ec != std::errc() || p != text->data() + text->size() || v < 0) {
    return InvalidArgument("cursor", "is not a cursor from this API");
  }
  return v;
}

std::string CursorAfter(std::int64_t last_id) { return "c" + std::to_string(last_id); }

const std::vector<std::uint8_t>& Secret(const RequestContext& ctx) {
  static const std::vector<std::uint8_t> none;
  return ctx.signing_secret != nullptr ? *ctx.signing_secret : none;
}

Status NeedSecret(const RequestContext& ctx, std::string_view what) {
  if (ctx.signing_secret == nullptr) return Unavailable(std::string(what), "this server has no signing secret");
  return {};
}

HttpResponse JsonResponse(const nlohmann::json& body, int status) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Result<Workspace> TheWorkspace(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto all, ctx.store.ListWorkspaces());
  for (Workspace& w : all) {
    if (w.id == ctx.workspace()) return std::move(w);
  }
  return NotFound("workspace", "no such workspace");
}

Result<std::shared_ptr<const Snapshot>> SnapshotOf(RequestContext& ctx) {
  return ctx.snapshots != nullptr ? ctx.snapshots->Get(ctx.store, ctx.workspace())
                                  : BuildSnapshot(ctx.store, ctx.workspace());
}

Result<nlohmann::json> BodyObject(const HttpRequest& req, std::initializer_list<std::string_view> allowed) {
  const nlohmann::json j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("body", "must be a JSON object");
  for (const auto& [name, value] : j.items()) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return InvalidArgument(name, "is not a field here (" + list + ")");
    }
  }
  return j;
}

Result<std::optional<std::string>> OptionalString(const nlohmann::json& body, const std::string& name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return InvalidArgument(name, "must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::int64_t> PathId(const RequestContext& ctx, std::string_view what) {
  const std::string& text = ctx.params.at("id");
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || p != text.data() + text.size() || id <= 0) {
    return NotFound(std::string(what) + " " + text, "no such " + std::string(what) + " in this workspace");
  }
  return id;
}

Result<Customer> CustomerOfPath(RequestContext& ctx, const std::string& param) {
  const std::string& ext = ctx.params.at(param);
  TREU_ASSIGN_OR_RETURN(auto c, ctx.store.FindCustomer(ctx.workspace(), ext));
  if (!c) return NotFound("customer " + ext, "no such customer in this workspace");
  return std::move(*c);
}

HttpResponse PublicPage(int status, std::string body) {
  // Pages hold no scripts and load nothing; styles are inline <style> elements.
  static constexpr const char* kPolicy =
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
  HttpResponse r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  r.headers.emplace_back("Content-Security-Policy", kPolicy);
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Robots-Tag", "noindex");
  return r;
}

}  // namespace treu::api
