#include "api/routes.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "api/problem.hpp"
#include "api/tracking_routes.hpp"

namespace treu::api {
namespace {

using nlohmann::json;

constexpr int kDefaultLimit = 50;
constexpr int kMaxLimit = 500;

HttpResponse JsonResponse(const json& body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

json AttributeToJson(const AttributeValue& v) {
  switch (TypeOf(v)) {
    case AttributeType::kString: return std::get<std::string>(v);
    case AttributeType::kNumber: return std::get<double>(v);
    case AttributeType::kBool: return std::get<bool>(v);
    case AttributeType::kTime: return FormatTimestamp(std::get<Timestamp>(v));
  }
  return nullptr;
}

json CustomerToJson(const Customer& c) {
  json attrs = json::object();
  for (const auto& [k, v] : c.attributes) attrs[k] = AttributeToJson(v);
  json consent = json::object();
  for (const auto& [ch, k] : c.consent) {
    consent[std::string(ChannelName(ch))] = {
        {"granted", k.granted}, {"source", k.source}, {"at", FormatTimestamp(k.at)}};
  }
  auto opt = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return {{"id", c.external_id},     {"email", opt(c.email)},
          {"name", opt(c.name)},     {"country", opt(c.country)},
          {"locale", opt(c.locale)}, {"time_zone", opt(c.time_zone)},
          {"attributes", attrs},     {"consent", consent},
          {"created_at", FormatTimestamp(c.created_at)},
          {"updated_at", FormatTimestamp(c.updated_at)}};
}

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

// Cursors are opaque to clients: "c" followed by the last id of the previous page.
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

Result<HttpResponse> Health(RequestContext&) { return JsonResponse({{"status", "ok"}}); }

Result<HttpResponse> Ready(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(ctx.store.ListWorkspaces());
  return JsonResponse({{"status", "ready"}, {"database", ctx.store.backend()}});
}

Result<HttpResponse> GetWorkspace(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto all, ctx.store.ListWorkspaces());
  for (const Workspace& w : all) {
    if (w.id != ctx.workspace()) continue;
    return JsonResponse({{"name", w.name},
                         {"currency", w.currency ? json(w.currency->code()) : json(nullptr)},
                         {"time_zone", w.time_zone},
                         {"retention_basis", RetentionBasisName(w.retention_basis)},
                         {"activity_window_days", w.activity_window_days},
                         {"created_at", FormatTimestamp(w.created_at)}});
  }
  return NotFound("workspace", "no such workspace");
}

Result<HttpResponse> ListCustomers(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t after, ParseCursor(ctx.request));
  CustomerFilter filter;
  if (const auto* e = ctx.request.Query("email")) filter.email = *e;
  if (const auto* e = ctx.request.Query("external_id")) filter.external_id = *e;
  if (const auto* u = ctx.request.Query("updated_since")) {
    auto t = ParseTimestamp(*u, TimeZone::Utc());
    if (!t) return InvalidArgument("updated_since", t.error().detail());
    filter.updated_since = *t;
  }
  // One more than asked tells whether another page follows.
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListCustomers(ctx.workspace(), filter, after, limit + 1));
  json data = json::array();
  const bool more = static_cast<int>(page.size()) > limit;
  if (more) page.resize(static_cast<std::size_t>(limit));
  for (const Customer& c : page) data.push_back(CustomerToJson(c));
  json next = more ? json("c" + std::to_string(page.back().id.value)) : json(nullptr);
  return JsonResponse({{"data", data}, {"next_cursor", next}});
}

Result<HttpResponse> GetCustomer(RequestContext& ctx) {
  const std::string& id = ctx.params.at("id");
  TREU_ASSIGN_OR_RETURN(auto c, ctx.store.FindCustomer(ctx.workspace(), id));
  if (!c) return NotFound("customer " + id, "no such customer in this workspace");
  return JsonResponse(CustomerToJson(*c));
}

json EventToJson(const Event& e) {
  json props = json::parse(e.properties_json, nullptr, false);
  auto opt = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return {{"message_id", e.message_id},
          {"type", EventTypeName(e.type)},
          {"name", opt(e.name)},
          {"user_id", opt(e.user_id)},
          {"anonymous_id", opt(e.anonymous_id)},
          {"timestamp", FormatTimestamp(e.timestamp)},
          {"received_at", FormatTimestamp(e.received_at)},
          {"properties", props.is_discarded() ? json::object() : props}};
}

Result<HttpResponse> ListEvents(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t after, ParseCursor(ctx.request));
  const std::string* user = ctx.request.Query("user_id");
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListEvents(ctx.workspace(), user ? *user : "", after,
                                                        limit + 1));
  const bool more = static_cast<int>(page.size()) > limit;
  if (more) page.resize(static_cast<std::size_t>(limit));
  json data = json::array();
  for (const Event& e : page) data.push_back(EventToJson(e));
  json next = more ? json("c" + std::to_string(page.back().id.value)) : json(nullptr);
  return JsonResponse({{"data", data}, {"next_cursor", next}});
}

Result<HttpResponse> MetricsText(RequestContext& ctx) {
  if (ctx.metrics == nullptr) {
    return NotFound("metrics", "are off; start treu serve with --metrics");
  }
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = ctx.metrics->Render();
  return r;
}

Result<HttpResponse> OpenApi(RequestContext&) {
  static const std::string doc = OpenApiJson(ApiRoutes());
  HttpResponse r;
  r.body = doc;
  return r;
}

json Schemas() {
  const json nullable_string = {{"type", json::array({"string", "null"})}};
  return {
      {"Problem",
       {{"type", "object"},
        {"required", json::array({"type", "title", "status"})},
        {"properties",
         {{"type", {{"type", "string"}}},
          {"title", {{"type", "string"}}},
          {"status", {{"type", "integer"}}},
          {"detail", {{"type", "string"}}},
          {"instance", {{"type", "string"}}},
          {"errors",
           {{"type", "array"},
            {"items",
             {{"type", "object"},
              {"properties",
               {{"pointer", {{"type", "string"}}}, {"detail", {{"type", "string"}}}}}}}}}}}}},
      {"Health", {{"type", "object"}, {"properties", {{"status", {{"type", "string"}}}}}}},
      {"Workspace",
       {{"type", "object"},
        {"properties",
         {{"name", {{"type", "string"}}},
          {"currency", nullable_string},
          {"time_zone", {{"type", "string"}}},
          {"retention_basis", {{"type", "string"}, {"enum", {"purchases", "subscriptions", "both"}}}},
          {"activity_window_days", {{"type", "integer"}}},
          {"created_at", {{"type", "string"}, {"format", "date-time"}}}}}}},
      {"Customer",
       {{"type", "object"},
        {"required", json::array({"id", "created_at", "updated_at"})},
        {"properties",
         {{"id", {{"type", "string"}, {"description", "the shop's id of the customer"}}},
          {"email", nullable_string},
          {"name", nullable_string},
          {"country", nullable_string},
          {"locale", nullable_string},
          {"time_zone", nullable_string},
          {"attributes", {{"type", "object"}}},
          {"consent", {{"type", "object"}}},
          {"created_at", {{"type", "string"}, {"format", "date-time"}}},
          {"updated_at", {{"type", "string"}, {"format", "date-time"}}}}}}},
      {"CustomerList",
       {{"type", "object"},
        {"properties",
         {{"data", {{"type", "array"}, {"items", {{"$ref", "#/components/schemas/Customer"}}}}},
          {"next_cursor", nullable_string}}}}},
      {"OpenApi", {{"type", "object"}}},
      {"Event",
       {{"type", "object"},
        {"properties",
         {{"message_id", {{"type", "string"}}},
          {"type", {{"type", "string"}, {"enum", {"track", "identify", "page", "screen", "group", "alias"}}}},
          {"name", nullable_string},
          {"user_id", nullable_string},
          {"anonymous_id", nullable_string},
          {"timestamp", {{"type", "string"}, {"format", "date-time"}}},
          {"received_at", {{"type", "string"}, {"format", "date-time"}}},
          {"properties", {{"type", "object"}}}}}}},
      {"EventList",
       {{"type", "object"},
        {"properties",
         {{"data", {{"type", "array"}, {"items", {{"$ref", "#/components/schemas/Event"}}}}},
          {"next_cursor", nullable_string}}}}},
      {"TrackingResult",
       {{"type", "object"},
        {"properties",
         {{"success", {{"type", "boolean"}}},
          {"stored", {{"type", "integer"}, {"description", "new events"}}},
          {"duplicates", {{"type", "integer"}, {"description", "messageIds seen before"}}}}}}},
  };
}

}  // namespace

const std::vector<Route>& ApiRoutes() {
  static const std::vector<Route> routes = [] {
  std::vector<Route> routes = {
      {"GET", "/healthz", Access::Public(), "Liveness: the process answers", Health, "Health"},
      {"GET", "/readyz", Access::Public(), "Readiness: the database answers", Ready, "Health"},
      {"GET", "/api/v1/openapi.json", Access::Public(), "This OpenAPI document", OpenApi,
       "OpenApi"},
      {"GET", "/metrics", Access::Public(),
       "Prometheus text metrics (only with treu serve --metrics)", MetricsText},
      {"GET", "/api/v1/workspace", Access::Requires(Scope::kRead),
       "The workspace of the calling key", GetWorkspace, "Workspace"},
      {"GET", "/api/v1/customers", Access::Requires(Scope::kRead),
       "List customers, oldest first, with cursor pagination", ListCustomers, "CustomerList",
       {{"limit", "page size, 1 to 500 (default 50)"},
        {"cursor", "next_cursor of the previous page"},
        {"email", "only the customer with this email"},
        {"external_id", "only the customer with this id"},
        {"updated_since", "only customers updated at or after this RFC 3339 time"}}},
      {"GET", "/api/v1/customers/{id}", Access::Requires(Scope::kRead),
       "One customer by the shop's id", GetCustomer, "Customer"},
      {"GET", "/api/v1/events", Access::Requires(Scope::kRead),
       "List tracked events, oldest first, with cursor pagination", ListEvents, "EventList",
       {{"limit", "page size, 1 to 500 (default 50)"},
        {"cursor", "next_cursor of the previous page"},
        {"user_id", "only the events of this user id"}}},
  };
  for (Route& r : TrackingRoutes()) routes.push_back(std::move(r));
  return routes;
  }();
  return routes;
}

std::string OpenApiJson(const std::vector<Route>& routes) {
  json paths = json::object();
  for (const Route& r : routes) {
    std::string method(r.method);
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    json op = {{"summary", r.summary},
               {"operationId", method + std::string(r.pattern)},
               {"responses", json::object()}};
    json params = json::array();
    std::string_view p = r.pattern;
    for (auto open = p.find('{'); open != std::string_view::npos; open = p.find('{', open + 1)) {
      const auto close = p.find('}', open);
      params.push_back({{"name", std::string(p.substr(open + 1, close - open - 1))},
                        {"in", "path"},
                        {"required", true},
                        {"schema", {{"type", "string"}}}});
    }
    for (const QueryParam& q : r.query) {
      params.push_back({{"name", q.name},
                        {"in", "query"},
                        {"required", false},
                        {"description", q.description},
                        {"schema", {{"type", "string"}}}});
    }
    if (!params.empty()) op["parameters"] = params;
    json ok = {{"description", "OK"}};
    if (!r.response_schema.empty()) {
      ok["content"] = {{"application/json",
                        {{"schema", {{"$ref", "#/components/schemas/" + std::string(r.response_schema)}}}}}};
    }
    op["responses"]["200"] = ok;
    const json problem = {{"description", "Error"},
                          {"content",
                           {{"application/problem+json",
                             {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
    op["responses"]["default"] = problem;
    if (r.access.is_public) {
      op["security"] = json::array();
    } else {
      op["security"] = json::array({{{r.access.scope == Scope::kTracking ? "writeKey" : "bearerKey",
                                      json::array()}}});
      op["description"] = "Requires a key of scope " + std::string(ScopeName(r.access.scope)) +
                          " or wider.";
    }
    paths[std::string(r.pattern)][method] = op;
  }
  json doc = {
      {"openapi", "3.1.0"},
      {"info",
       {{"title", "treu API"},
        {"version", TREU_VERSION},
        {"description", "Customers, orders, subscriptions and events of one workspace. Every "
                        "non-public call is confined to the workspace of its key."}}},
      {"paths", paths},
      {"components",
       {{"schemas", Schemas()},
        {"securitySchemes",
         {{"bearerKey", {{"type", "http"}, {"scheme", "bearer"}, {"description", "a secret key treu_sk_…"}}},
          {"writeKey", {{"type", "http"}, {"scheme", "basic"}, {"description", "a tracking key treu_pk_… as the user name"}}}}}}}};
  return doc.dump(2);
}

}  // namespace treu::api
