#include "api/routes.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "api/route_support.hpp"
#include "api/campaign_routes.hpp"
#include "api/journey_routes.hpp"
#include "api/customer_json.hpp"
#include "api/customer_routes.hpp"
#include "api/problem.hpp"
#include "api/analytics_routes.hpp"
#include "api/model_routes.hpp"
#include "api/segment_routes.hpp"
#include "api/session_routes.hpp"
#include "api/user_routes.hpp"
#include "api/survey_page_routes.hpp"
#include "api/followup_routes.hpp"
#include "api/loyalty_routes.hpp"
#include "api/message_page_routes.hpp"
#include "api/channel_routes.hpp"
#include "api/messaging_routes.hpp"
#include "api/survey_routes.hpp"
#include "api/import_routes.hpp"
#include "api/sdk_routes.hpp"
#include "api/tracking_routes.hpp"
#include "analytics/workspace_settings.hpp"
#include "ingest/records.hpp"

namespace treu::api {
namespace openapi_schemas {
extern const std::pair<std::string_view, std::string_view> kFiles[];
extern const std::size_t kFiles_count;
}  // namespace openapi_schemas

namespace {

using nlohmann::json;


// A list page: `items` holds up to limit + 1 rows (one more tells that another page follows).
template <typename T, typename ToJson>
HttpResponse PageResponse(std::vector<T>& items, int limit, ToJson to_json) {
  const bool more = static_cast<int>(items.size()) > limit;
  if (more) items.resize(static_cast<std::size_t>(limit));
  json data = json::array();
  for (const T& item : items) data.push_back(to_json(item));
  json next = more ? json(CursorAfter(items.back().id.value)) : json(nullptr);
  return JsonResponse({{"data", data}, {"next_cursor", next}});
}

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  return r;
}

Result<HttpResponse> Health(RequestContext&) { return JsonResponse({{"status", "ok"}}); }

Result<HttpResponse> Ready(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(ctx.store.ListWorkspaces());
  return JsonResponse({{"status", "ready"}, {"database", ctx.store.backend()}});
}

json WorkspaceJson(const Workspace& w) {
  return {{"name", w.name},
          {"currency", w.currency ? json(w.currency->code()) : json(nullptr)},
          {"time_zone", w.time_zone},
          {"retention_basis", RetentionBasisName(w.retention_basis)},
          {"activity_window", std::to_string(w.activity_window_days) + "d"},
          {"activity_window_days", w.activity_window_days},
          {"purchase_model", PurchaseModelName(w.purchase_model)},
          {"brand_colour", w.brand_colour.empty() ? json(nullptr) : json(w.brand_colour)},
          {"private_webhooks", w.allow_private_webhooks ? "allow" : "refuse"},
          {"created_at", FormatTimestamp(w.created_at)}};
}

Result<HttpResponse> GetWorkspace(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Workspace w, TheWorkspace(ctx));
  return JsonResponse(WorkspaceJson(w));
}

Result<HttpResponse> PatchWorkspace(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json j, BodyObject(ctx.request, {"currency", "time_zone", "retention_basis", "activity_window",
                                                         "purchase_model", "brand_colour", "private_webhooks"}));
  WorkspaceSettings s;
  for (const auto& [name, value] : j.items()) {
    std::optional<std::string>& field = name == "currency"          ? s.currency
                                        : name == "time_zone"       ? s.time_zone
                                        : name == "retention_basis" ? s.retention_basis
                                        : name == "activity_window" ? s.activity_window
                                        : name == "purchase_model"  ? s.purchase_model
                                        : name == "brand_colour"    ? s.brand_colour
                                                                    : s.private_webhooks;
    if (name == "brand_colour" && value.is_null()) {
      field = "default";
    } else if (!value.is_string()) {
      return InvalidArgument(name, "must be a string");
    } else {
      field = value.get<std::string>();
    }
  }
  TREU_ASSIGN_OR_RETURN(Workspace current, TheWorkspace(ctx));
  TREU_ASSIGN_OR_RETURN(Workspace w, ApplyWorkspaceSettings(ctx.store, current.name, s));
  return JsonResponse(WorkspaceJson(w));
}

Result<HttpResponse> ListCustomers(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t after, ParseCursor(ctx.request));
  CustomerFilter filter;
  if (const auto* e = ctx.request.Query("email")) filter.email = *e;
  if (const auto* e = ctx.request.Query("external_id")) filter.external_id = *e;
  if (const auto* q = ctx.request.Query("q")) {
    if (q->size() > 200) return InvalidArgument("q", "must be at most 200 characters");
    filter.text = *q;
  }
  if (const auto* u = ctx.request.Query("updated_since")) {
    auto t = ParseTimestamp(*u, TimeZone::Utc());
    if (!t) return InvalidArgument("updated_since", t.error().detail());
    filter.updated_since = *t;
  }
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListCustomers(ctx.workspace(), filter, after, limit + 1));
  return PageResponse(page, limit, CustomerToJson);
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
  return PageResponse(page, limit, EventToJson);
}

Result<json> ParseJsonObject(const HttpRequest& req) {
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded()) return InvalidArgument("body", "is not valid JSON");
  if (!j.is_object()) return InvalidArgument("body", "must be a JSON object");
  return j;
}

// The string at `name`, "" when absent or null; InvalidArgument when another type.
Result<std::string> StringField(const json& j, const char* name, const std::string& at = "") {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return it->dump();
  return InvalidArgument(at + name, "must be a string");
}

// A decimal sent as a JSON number or a string, parsed exactly into an integer scaled by
// 10^decimals (never through arithmetic on a double).
Result<std::int64_t> DecimalField(const json& j, const char* name, int decimals,
                                  const std::string& at = "") {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return InvalidArgument(at + name, "is required");
  if (!it->is_number() && !it->is_string()) return InvalidArgument(at + name, "must be a number");
  auto m = ParseFixedPoint(it->is_string() ? it->get<std::string>() : it->dump(), decimals);
  if (!m) return InvalidArgument(at + name, m.error().detail());
  return *m;
}

// A money amount in minor units of `c`.
Result<std::int64_t> AmountField(const json& j, const char* name, const Currency& c,
                                 const std::string& at = "") {
  return DecimalField(j, name, c.exponent(), at);
}

json Amount(std::int64_t minor, const Currency& c) {
  return json::parse(FormatMajorUnits(minor, c));
}

json OrderToJson(const Order& o) {
  json lines = json::array();
  for (const auto& l : o.lines) {
    lines.push_back({{"product_id", l.product_external_id},
                     {"quantity", l.quantity},
                     {"unit_price", Amount(l.unit_price_minor, o.total.currency)}});
  }
  json refunds = json::array();
  for (const auto& r : o.refunds) {
    refunds.push_back({{"refunded_at", FormatTimestamp(r.refunded_at)},
                       {"amount", Amount(r.amount_minor, o.total.currency)}});
  }
  return {{"id", o.external_id},
          {"customer_id", o.customer_external_id},
          {"placed_at", FormatTimestamp(o.placed_at)},
          {"total", Amount(o.total.minor, o.total.currency)},
          {"currency", o.total.currency.code()},
          {"status", OrderStatusName(o.status)},
          {"lines", lines},
          {"refunds", refunds}};
}

// The customer a POST or PATCH body describes; for PATCH `id` comes from the path.
Result<Customer> CustomerFromBody(RequestContext& ctx, const json& j) {
  Customer c;
  TREU_ASSIGN_OR_RETURN(c.external_id, StringField(j, "id"));
  TREU_ASSIGN_OR_RETURN(c.email, StringField(j, "email"));
  TREU_ASSIGN_OR_RETURN(c.name, StringField(j, "name"));
  TREU_ASSIGN_OR_RETURN(c.country, StringField(j, "country"));
  TREU_ASSIGN_OR_RETURN(c.locale, StringField(j, "locale"));
  TREU_ASSIGN_OR_RETURN(c.time_zone, StringField(j, "time_zone"));
  if (auto it = j.find("attributes"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgument("attributes", "must be an object");
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) c.attributes[k] = ParseAttributeValue(v.get<std::string>(), TimeZone::Utc());
      else if (v.is_boolean()) c.attributes[k] = v.get<bool>();
      else if (v.is_number()) c.attributes[k] = v.get<double>();
      else return InvalidArgument("attributes." + k, "must be a string, number or boolean");
    }
  }
  if (auto it = j.find("consent"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgument("consent", "must be an object");
    for (const auto& [k, v] : it->items()) {
      TREU_ASSIGN_OR_RETURN(Channel ch, ParseChannel(k));
      if (!v.is_boolean()) return InvalidArgument("consent." + k, "must be true or false");
      c.consent[ch] = Consent{v.get<bool>(), "api", ctx.clock.Now()};
    }
  }
  if (auto v = ValidateCustomer(c); !v) {
    const std::string field = v.error().context() == "customer_id" ? "id"
                              : v.error().context() == "time zone" ? "time_zone"
                                                                  : v.error().context();
    return InvalidArgument(field, v.error().detail());
  }
  return c;
}

Result<HttpResponse> PutCustomer(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json j, ParseJsonObject(ctx.request));
  TREU_ASSIGN_OR_RETURN(Customer c, CustomerFromBody(ctx, j));
  TREU_ASSIGN_OR_RETURN(WriteStats s, WriteCustomer(ctx.store, ctx.workspace(), c, ctx.clock));
  TREU_ASSIGN_OR_RETURN(auto stored, ctx.store.FindCustomer(ctx.workspace(), c.external_id));
  if (!stored) return Internal("customer " + c.external_id, "not found after writing");
  return JsonResponse(CustomerToJson(*stored), s.inserted > 0 ? 201 : 200);
}

// The currency of a write: the body's "currency", else the workspace's reporting currency.
Result<Currency> RequestCurrency(RequestContext& ctx, const json& j) {
  TREU_ASSIGN_OR_RETURN(std::string code, StringField(j, "currency"));
  if (!code.empty()) {
    auto c = Currency::FromCode(code);
    if (!c) return InvalidArgument("currency", c.error().detail());
    return *c;
  }
  TREU_ASSIGN_OR_RETURN(auto all, ctx.store.ListWorkspaces());
  for (const auto& w : all) {
    if (w.id == ctx.workspace() && w.currency) return *w.currency;
  }
  return InvalidArgument("currency", "is required: the workspace has no reporting currency yet");
}

Result<HttpResponse> PostOrder(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json j, ParseJsonObject(ctx.request));
  Order o;
  TREU_ASSIGN_OR_RETURN(o.external_id, StringField(j, "id"));
  TREU_ASSIGN_OR_RETURN(o.customer_external_id, StringField(j, "customer_id"));
  if (o.customer_external_id.empty()) return InvalidArgument("customer_id", "is required");
  TREU_ASSIGN_OR_RETURN(const Currency cur, RequestCurrency(ctx, j));
  TREU_ASSIGN_OR_RETURN(std::string placed, StringField(j, "placed_at"));
  if (placed.empty()) return InvalidArgument("placed_at", "is required");
  auto t = ParseTimestamp(placed, TimeZone::Utc());
  if (!t) return InvalidArgument("placed_at", t.error().detail());
  o.placed_at = *t;
  TREU_ASSIGN_OR_RETURN(std::int64_t total, AmountField(j, "total", cur));
  o.total = Money{total, cur};
  TREU_ASSIGN_OR_RETURN(std::string status, StringField(j, "status"));
  if (!status.empty()) {
    auto st = ParseOrderStatus(status);
    if (!st) return InvalidArgument("status", st.error().detail());
    o.status = *st;
  }
  if (auto it = j.find("lines"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgument("lines", "must be an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& l = (*it)[i];
      const std::string at = "lines/" + std::to_string(i) + "/";
      if (!l.is_object()) return InvalidArgument("/" + at.substr(0, at.size() - 1), "must be an object");
      OrderLine line;
      TREU_ASSIGN_OR_RETURN(line.product_external_id, StringField(l, "product_id", "/" + at));
      if (l.contains("quantity")) {
        if (!l["quantity"].is_number_integer()) return InvalidArgument("/" + at + "quantity", "must be a whole number");
        line.quantity = l["quantity"].get<std::int64_t>();
      }
      TREU_ASSIGN_OR_RETURN(line.unit_price_minor, AmountField(l, "unit_price", cur, "/" + at));
      o.lines.push_back(std::move(line));
    }
  }
  if (auto it = j.find("refunds"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgument("refunds", "must be an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& r = (*it)[i];
      const std::string at = "/refunds/" + std::to_string(i) + "/";
      if (!r.is_object()) return InvalidArgument(at.substr(0, at.size() - 1), "must be an object");
      TREU_ASSIGN_OR_RETURN(std::string when, StringField(r, "refunded_at", at));
      auto rt = ParseTimestamp(when, TimeZone::Utc());
      if (!rt) return InvalidArgument(at + "refunded_at", rt.error().detail());
      TREU_ASSIGN_OR_RETURN(std::int64_t amount, AmountField(r, "amount", cur, at));
      o.refunds.push_back({*rt, amount});
    }
  }
  if (auto v = ValidateOrder(o); !v) {
    std::string field = v.error().context();
    if (field == "order_id") field = "id";
    if (field.starts_with("lines[")) field = "/lines/" + field.substr(6, field.find(']') - 6) + "/" + field.substr(field.find('.') + 1);
    if (field == "refunded_total") field = "refunds";
    return InvalidArgument(field, v.error().detail());
  }
  TREU_ASSIGN_OR_RETURN(WriteStats s, WriteOrder(ctx.store, ctx.workspace(), o, ctx.clock));
  TREU_ASSIGN_OR_RETURN(auto stored, ctx.store.FindOrder(ctx.workspace(), o.external_id));
  if (!stored) return Internal("order " + o.external_id, "not found after writing");
  return JsonResponse(OrderToJson(*stored), s.inserted > 0 ? 201 : 200);
}

json SubscriptionToJson(const Subscription& sub) {
  json history = json::array();
  for (const auto& st : sub.history) {
    history.push_back({{"effective_at", FormatTimestamp(st.effective_at)},
                       {"plan", st.plan},
                       {"interval", BillingIntervalName(st.interval)},
                       {"amount", Amount(st.amount_minor, sub.currency)},
                       {"quantity", st.quantity},
                       {"discount_percent", json::parse(FormatFixedPoint(st.discount_bp, 2))},
                       {"status", SubscriptionStatusName(st.status)}});
  }
  return {{"id", sub.external_id},
          {"customer_id", sub.customer_external_id},
          {"currency", sub.currency.code()},
          {"started_at", FormatTimestamp(sub.started_at)},
          {"ended_at", sub.ended_at ? json(FormatTimestamp(*sub.ended_at)) : json(nullptr)},
          {"history", history}};
}

Result<Timestamp> TimeField(const json& j, const char* name, const std::string& at, bool required) {
  TREU_ASSIGN_OR_RETURN(std::string text, StringField(j, name, at));
  if (text.empty()) {
    if (required) return InvalidArgument(at + name, "is required");
    return Timestamp{INT64_MIN};
  }
  auto t = ParseTimestamp(text, TimeZone::Utc());
  if (!t) return InvalidArgument(at + name, t.error().detail());
  return *t;
}

Result<HttpResponse> PostSubscription(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json j, ParseJsonObject(ctx.request));
  Subscription sub;
  TREU_ASSIGN_OR_RETURN(sub.external_id, StringField(j, "id"));
  TREU_ASSIGN_OR_RETURN(sub.customer_external_id, StringField(j, "customer_id"));
  if (sub.customer_external_id.empty()) return InvalidArgument("customer_id", "is required");
  TREU_ASSIGN_OR_RETURN(sub.currency, RequestCurrency(ctx, j));
  TREU_ASSIGN_OR_RETURN(sub.started_at, TimeField(j, "started_at", "", true));
  TREU_ASSIGN_OR_RETURN(Timestamp ended, TimeField(j, "ended_at", "", false));
  if (ended.micros != INT64_MIN) sub.ended_at = ended;
  auto hist = j.find("history");
  if (hist == j.end() || !hist->is_array() || hist->empty()) {
    return InvalidArgument("history", "must be a non-empty array of states");
  }
  for (std::size_t i = 0; i < hist->size(); ++i) {
    const json& h = (*hist)[i];
    const std::string at = "/history/" + std::to_string(i) + "/";
    if (!h.is_object()) return InvalidArgument(at.substr(0, at.size() - 1), "must be an object");
    SubscriptionState st;
    TREU_ASSIGN_OR_RETURN(Timestamp eff, TimeField(h, "effective_at", at, false));
    st.effective_at = eff.micros == INT64_MIN ? sub.started_at : eff;
    TREU_ASSIGN_OR_RETURN(st.plan, StringField(h, "plan", at));
    TREU_ASSIGN_OR_RETURN(std::string interval, StringField(h, "interval", at));
    if (!interval.empty()) {
      auto iv = ParseBillingInterval(interval);
      if (!iv) return InvalidArgument(at + "interval", iv.error().detail());
      st.interval = *iv;
    }
    TREU_ASSIGN_OR_RETURN(st.amount_minor, AmountField(h, "amount", sub.currency, at));
    if (h.contains("quantity")) {
      if (!h["quantity"].is_number_integer() || h["quantity"].get<std::int64_t>() < 0) {
        return InvalidArgument(at + "quantity", "must be a whole number >= 0");
      }
      st.quantity = h["quantity"].get<std::int64_t>();
    }
    if (h.contains("discount_percent")) {
      // Percent with two decimals = basis points.
      TREU_ASSIGN_OR_RETURN(std::int64_t bp, DecimalField(h, "discount_percent", 2, at));
      if (bp < 0 || bp > kDiscountScale) return InvalidArgument(at + "discount_percent", "must be from 0 to 100");
      st.discount_bp = static_cast<int>(bp);
    }
    TREU_ASSIGN_OR_RETURN(std::string status, StringField(h, "status", at));
    if (!status.empty()) {
      auto ss = ParseSubscriptionStatus(status);
      if (!ss) return InvalidArgument(at + "status", ss.error().detail());
      st.status = *ss;
    }
    sub.history.push_back(std::move(st));
  }
  std::stable_sort(sub.history.begin(), sub.history.end(),
                   [](const auto& a, const auto& b) { return a.effective_at < b.effective_at; });
  if (auto v = ValidateSubscription(sub); !v) {
    std::string field = v.error().context();
    if (field == "subscription_id") field = "id";
    if (field == "effective_at" || field == "amount" || field == "discount" || field == "plan" || field == "quantity") field = "history";
    return InvalidArgument(field, v.error().detail());
  }
  TREU_ASSIGN_OR_RETURN(WriteStats s, WriteSubscription(ctx.store, ctx.workspace(), sub, ctx.clock));
  TREU_ASSIGN_OR_RETURN(auto stored, ctx.store.FindSubscription(ctx.workspace(), sub.external_id));
  if (!stored) return Internal("subscription " + sub.external_id, "not found after writing");
  return JsonResponse(SubscriptionToJson(*stored), s.inserted > 0 ? 201 : 200);
}

Result<HttpResponse> GetSubscription(RequestContext& ctx) {
  const std::string& id = ctx.params.at("id");
  TREU_ASSIGN_OR_RETURN(auto sub, ctx.store.FindSubscription(ctx.workspace(), id));
  if (!sub) return NotFound("subscription " + id, "no such subscription in this workspace");
  return JsonResponse(SubscriptionToJson(*sub));
}

json ProductToJson(const Product& p) {
  return {{"id", p.external_id},
          {"name", p.name},
          {"price", p.price ? Amount(p.price->minor, p.price->currency) : json(nullptr)},
          {"currency", p.price ? json(p.price->currency.code()) : json(nullptr)}};
}

Result<HttpResponse> PostProduct(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json j, ParseJsonObject(ctx.request));
  Product p;
  TREU_ASSIGN_OR_RETURN(p.external_id, StringField(j, "id"));
  TREU_ASSIGN_OR_RETURN(p.name, StringField(j, "name"));
  if (auto it = j.find("price"); it != j.end() && !it->is_null()) {
    TREU_ASSIGN_OR_RETURN(const Currency cur, RequestCurrency(ctx, j));
    TREU_ASSIGN_OR_RETURN(std::int64_t minor, AmountField(j, "price", cur));
    p.price = Money{minor, cur};
  }
  if (auto v = ValidateProduct(p); !v) {
    return InvalidArgument(v.error().context() == "product_id" ? "id" : v.error().context(), v.error().detail());
  }
  TREU_ASSIGN_OR_RETURN(WriteStats s, WriteProduct(ctx.store, ctx.workspace(), p));
  TREU_ASSIGN_OR_RETURN(auto stored, ctx.store.FindProduct(ctx.workspace(), p.external_id));
  if (!stored) return Internal("product " + p.external_id, "not found after writing");
  return JsonResponse(ProductToJson(*stored), s.inserted > 0 ? 201 : 200);
}

Result<HttpResponse> GetProduct(RequestContext& ctx) {
  const std::string& id = ctx.params.at("id");
  TREU_ASSIGN_OR_RETURN(auto p, ctx.store.FindProduct(ctx.workspace(), id));
  if (!p) return NotFound("product " + id, "no such product in this workspace");
  return JsonResponse(ProductToJson(*p));
}

Result<HttpResponse> GetOrder(RequestContext& ctx) {
  const std::string& id = ctx.params.at("id");
  TREU_ASSIGN_OR_RETURN(auto o, ctx.store.FindOrder(ctx.workspace(), id));
  if (!o) return NotFound("order " + id, "no such order in this workspace");
  return JsonResponse(OrderToJson(*o));
}

// PATCH: the body's fields replace the stored ones; fields left out are kept.
Result<HttpResponse> PatchCustomer(RequestContext& ctx) {
  const std::string& id = ctx.params.at("id");
  TREU_ASSIGN_OR_RETURN(json j, ParseJsonObject(ctx.request));
  if (auto it = j.find("id"); it != j.end() && !(it->is_string() && *it == id)) {
    return InvalidArgument("id", "can't be changed; it must be left out or equal the path's id");
  }
  j["id"] = id;
  TREU_ASSIGN_OR_RETURN(auto stored, ctx.store.FindCustomer(ctx.workspace(), id));
  if (!stored) return NotFound("customer " + id, "no such customer in this workspace");
  TREU_ASSIGN_OR_RETURN(Customer c, CustomerFromBody(ctx, j));
  TREU_RETURN_IF_ERROR(WriteCustomer(ctx.store, ctx.workspace(), c, ctx.clock));
  TREU_ASSIGN_OR_RETURN(auto updated, ctx.store.FindCustomer(ctx.workspace(), id));
  if (!updated) return Internal("customer " + id, "not found after writing");
  return JsonResponse(CustomerToJson(*updated));
}

// Runs `op` in a write transaction of the caller's workspace; 204, or 404 when `op` found
// nothing to delete.
Result<HttpResponse> DeleteIn(RequestContext& ctx, const std::string& what,
                              const std::function<Result<bool>(WriteTransaction&)>& op) {
  TREU_ASSIGN_OR_RETURN(auto tx, ctx.store.BeginWrite(ctx.workspace()));
  TREU_ASSIGN_OR_RETURN(bool found, op(*tx));
  if (!found) return NotFound(what + " " + ctx.params.at("id"), "no such " + what + " in this workspace");
  TREU_RETURN_IF_ERROR(tx->Commit());
  return NoContent();
}

Result<HttpResponse> EraseCustomer(RequestContext& ctx) {
  return DeleteIn(ctx, "customer", [&](WriteTransaction& tx) {
    return tx.EraseCustomer(ctx.params.at("id"), ctx.clock.Now());
  });
}

Result<HttpResponse> DeleteOrder(RequestContext& ctx) {
  return DeleteIn(ctx, "order", [&](WriteTransaction& tx) { return tx.DeleteOrder(ctx.params.at("id")); });
}

Result<HttpResponse> DeleteSubscription(RequestContext& ctx) {
  return DeleteIn(ctx, "subscription",
                  [&](WriteTransaction& tx) { return tx.DeleteSubscription(ctx.params.at("id")); });
}

Result<HttpResponse> DeleteProduct(RequestContext& ctx) {
  return DeleteIn(ctx, "product", [&](WriteTransaction& tx) { return tx.DeleteProduct(ctx.params.at("id")); });
}

Result<HttpResponse> PatchProduct(RequestContext& ctx) {
  const std::string& id = ctx.params.at("id");
  TREU_ASSIGN_OR_RETURN(json j, ParseJsonObject(ctx.request));
  if (auto it = j.find("id"); it != j.end() && !(it->is_string() && *it == id)) {
    return InvalidArgument("id", "can't be changed; it must be left out or equal the path's id");
  }
  TREU_ASSIGN_OR_RETURN(auto stored, ctx.store.FindProduct(ctx.workspace(), id));
  if (!stored) return NotFound("product " + id, "no such product in this workspace");
  Product p = *stored;
  if (j.contains("name")) {
    TREU_ASSIGN_OR_RETURN(p.name, StringField(j, "name"));
  }
  if (auto it = j.find("price"); it != j.end()) {
    if (it->is_null()) {
      p.price.reset();
    } else {
      TREU_ASSIGN_OR_RETURN(const Currency cur, RequestCurrency(ctx, j));
      TREU_ASSIGN_OR_RETURN(std::int64_t minor, AmountField(j, "price", cur));
      p.price = Money{minor, cur};
    }
  }
  if (auto v = ValidateProduct(p); !v) return InvalidArgument(v.error().context(), v.error().detail());
  TREU_RETURN_IF_ERROR(WriteProduct(ctx.store, ctx.workspace(), p));
  TREU_ASSIGN_OR_RETURN(auto updated, ctx.store.FindProduct(ctx.workspace(), id));
  if (!updated) return Internal("product " + id, "not found after writing");
  return JsonResponse(ProductToJson(*updated));
}

Result<HttpResponse> ListOrders(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t after, ParseCursor(ctx.request));
  const std::string* customer = ctx.request.Query("customer_id");
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListOrders(ctx.workspace(), customer ? *customer : "",
                                                        after, limit + 1));
  return PageResponse(page, limit, OrderToJson);
}

Result<HttpResponse> ListSubscriptions(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t after, ParseCursor(ctx.request));
  const std::string* customer = ctx.request.Query("customer_id");
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListSubscriptions(
                                       ctx.workspace(), customer ? *customer : "", after, limit + 1));
  return PageResponse(page, limit, SubscriptionToJson);
}

Result<HttpResponse> ListProducts(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t after, ParseCursor(ctx.request));
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListProducts(ctx.workspace(), after, limit + 1));
  return PageResponse(page, limit, ProductToJson);
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

// The components' schemas: the JSON files in src/api/openapi/, embedded into the binary at build
// time (cmake/EmbedFiles.cmake) and parsed whenever the document is built (the route caches it).
// JSON text rather than a nlohmann::json initializer list: GCC takes minutes over one this big.
// A schema name defined in two files is a mistake, not an override.
json Schemas() {
  json schemas = json::object();
  for (std::size_t i = 0; i < openapi_schemas::kFiles_count; ++i) {
    const auto& [file, text] = openapi_schemas::kFiles[i];
    json part = json::parse(text);
    for (auto& [name, schema] : part.items()) {
      if (schemas.contains(name)) {
        throw std::logic_error("OpenAPI schema " + name + " is defined twice (" + std::string(file) + ")");
      }
      schemas[name] = std::move(schema);
    }
  }
  return schemas;
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
      {"PATCH", "/api/v1/workspace", Access::Requires(Scope::kAdmin),
       "Change the workspace's settings (as treu workspace set): currency (while it has none), time_zone, "
       "retention_basis, activity_window, purchase_model, brand_colour (null: treu's own), private_webhooks; "
       "the others stay; a bad one changes nothing",
       PatchWorkspace, "Workspace"},
      {"GET", "/api/v1/customers", Access::Requires(Scope::kRead),
       "List customers, oldest first, with cursor pagination", ListCustomers, "CustomerList",
       {{"limit", "page size, 1 to 500 (default 50)"},
        {"cursor", "next_cursor of the previous page"},
        {"email", "only the customer with this email"},
        {"external_id", "only the customer with this id"},
        {"q", "only customers whose id, email or name contains this text (ignoring case)"},
        {"updated_since", "only customers updated at or after this RFC 3339 time"}}},
      {"GET", "/api/v1/customers/{id}", Access::Requires(Scope::kRead),
       "One customer by the shop's id", GetCustomer, "Customer"},
      {"POST", "/api/v1/customers", Access::Requires(Scope::kWrite),
       "Create or update a customer by the shop's id (201 when created); accepts "
       "Idempotency-Key",
       PutCustomer, "Customer"},
      {"PATCH", "/api/v1/customers/{id}", Access::Requires(Scope::kWrite),
       "Update a customer: fields sent replace the stored ones, others are kept", PatchCustomer,
       "Customer"},
      {"DELETE", "/api/v1/customers/{id}", Access::Requires(Scope::kWrite),
       "Erase a customer's personal data and events (right to erasure); orders and "
       "subscriptions stay, anonymous, in the figures. 204",
       EraseCustomer},
      {"GET", "/api/v1/orders", Access::Requires(Scope::kRead),
       "List orders, oldest first, with cursor pagination", ListOrders, "OrderList",
       {{"limit", "page size, 1 to 500 (default 50)"},
        {"cursor", "next_cursor of the previous page"},
        {"customer_id", "only the orders of this customer"}}},
      {"POST", "/api/v1/orders", Access::Requires(Scope::kWrite),
       "Record an order (201 when new); a known id may gain refunds or a new status; "
       "accepts Idempotency-Key",
       PostOrder, "Order"},
      {"GET", "/api/v1/orders/{id}", Access::Requires(Scope::kRead), "One order by the shop's id",
       GetOrder, "Order"},
      {"DELETE", "/api/v1/orders/{id}", Access::Requires(Scope::kWrite),
       "Delete an order with its lines and refunds (e.g. a test order). 204", DeleteOrder},
      {"GET", "/api/v1/subscriptions", Access::Requires(Scope::kRead),
       "List subscriptions with their history, oldest first, with cursor pagination",
       ListSubscriptions, "SubscriptionList",
       {{"limit", "page size, 1 to 500 (default 50)"},
        {"cursor", "next_cursor of the previous page"},
        {"customer_id", "only the subscriptions of this customer"}}},
      {"POST", "/api/v1/subscriptions", Access::Requires(Scope::kWrite),
       "Record a subscription or new states of its history (201 when new); accepts "
       "Idempotency-Key",
       PostSubscription, "Subscription"},
      {"GET", "/api/v1/subscriptions/{id}", Access::Requires(Scope::kRead),
       "One subscription with its change history", GetSubscription, "Subscription"},
      {"DELETE", "/api/v1/subscriptions/{id}", Access::Requires(Scope::kWrite),
       "Delete a subscription with its history. 204", DeleteSubscription},
      {"GET", "/api/v1/products", Access::Requires(Scope::kRead),
       "List products, oldest first, with cursor pagination", ListProducts, "ProductList",
       {{"limit", "page size, 1 to 500 (default 50)"},
        {"cursor", "next_cursor of the previous page"}}},
      {"POST", "/api/v1/products", Access::Requires(Scope::kWrite),
       "Create or update a product by the shop's id (201 when created); accepts "
       "Idempotency-Key",
       PostProduct, "Product"},
      {"GET", "/api/v1/products/{id}", Access::Requires(Scope::kRead),
       "One product by the shop's id", GetProduct, "Product"},
      {"PATCH", "/api/v1/products/{id}", Access::Requires(Scope::kWrite),
       "Update a product's name or price (null removes the price)", PatchProduct, "Product"},
      {"DELETE", "/api/v1/products/{id}", Access::Requires(Scope::kWrite),
       "Delete a product (order lines keep its id). 204", DeleteProduct},
      {"GET", "/api/v1/events", Access::Requires(Scope::kRead),
       "List tracked events, oldest first, with cursor pagination", ListEvents, "EventList",
       {{"limit", "page size, 1 to 500 (default 50)"},
        {"cursor", "next_cursor of the previous page"},
        {"user_id", "only the events of this user id"}}},
  };
  for (Route& r : SessionRoutes()) routes.push_back(std::move(r));
  for (Route& r : UserRoutes()) routes.push_back(std::move(r));
  for (Route& r : CustomerRoutes()) routes.push_back(std::move(r));
  for (Route& r : ImportRoutes()) routes.push_back(std::move(r));
  for (Route& r : AnalyticsRoutes()) routes.push_back(std::move(r));
  for (Route& r : ModelRoutes()) routes.push_back(std::move(r));
  for (Route& r : SegmentRoutes()) routes.push_back(std::move(r));
  for (Route& r : SurveyRoutes()) routes.push_back(std::move(r));
  for (Route& r : FollowUpRoutes()) routes.push_back(std::move(r));
  for (Route& r : LoyaltyRoutes()) routes.push_back(std::move(r));
  for (Route& r : SurveyPageRoutes()) routes.push_back(std::move(r));
  for (Route& r : MessagingRoutes()) routes.push_back(std::move(r));
  for (Route& r : MessagePageRoutes()) routes.push_back(std::move(r));
  for (Route& r : ChannelRoutes()) routes.push_back(std::move(r));
  for (Route& r : CampaignRoutes()) routes.push_back(std::move(r));
  for (Route& r : JourneyRoutes()) routes.push_back(std::move(r));
  for (Route& r : TrackingRoutes()) routes.push_back(std::move(r));
  for (Route& r : SdkRoutes()) routes.push_back(std::move(r));
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
    const int status = r.status != 0 ? r.status : r.method == "DELETE" ? 204 : 200;
    json ok = {{"description", status == 204 ? "No Content" : status == 202 ? "Accepted" : "OK"}};
    if (!r.response_schema.empty()) {
      ok["content"] = {{"application/json",
                        {{"schema", {{"$ref", "#/components/schemas/" + std::string(r.response_schema)}}}}}};
    }
    op["responses"][std::to_string(status)] = ok;
    const json problem = {{"description", "Error"},
                          {"content",
                           {{"application/problem+json",
                             {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
    op["responses"]["default"] = problem;
    if (r.access.is_public) {
      op["security"] = json::array();
    } else if (r.access.session_only) {
      op["security"] = json::array({{{"sessionCookie", json::array()}}});
      op["description"] = "Requires a dashboard session (the treu_session cookie); API keys are refused.";
    } else if (r.access.scope != Scope::kTracking) {
      op["security"] = json::array({{{"bearerKey", json::array()}}, {{"sessionCookie", json::array()}}});
      op["description"] = "Requires a key of scope " + std::string(ScopeName(r.access.scope)) +
                          " or wider, or a dashboard session whose role allows it (with "
                          "X-CSRF-Token on writes).";
    } else {
      op["security"] = json::array({{{"writeKey", json::array()}}});
      op["description"] = "Requires a key of scope tracking or wider.";
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
          {"writeKey", {{"type", "http"}, {"scheme", "basic"}, {"description", "a tracking key treu_pk_… as the user name"}}},
          {"sessionCookie",
           {{"type", "apiKey"},
            {"in", "cookie"},
            {"name", "treu_session"},
            {"description", "the dashboard's session, set by POST /api/v1/session; requests other "
                            "than GET and HEAD also send X-CSRF-Token"}}}}}}}};
  return doc.dump(2);
}

}  // namespace treu::api
