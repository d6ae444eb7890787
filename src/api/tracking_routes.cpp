#include "api/tracking_routes.hpp"

#include <sys/random.h>

#include <nlohmann/json.hpp>

#include "api/problem.hpp"
#include "ingest/tracking.hpp"

namespace treu::api {
namespace {

using nlohmann::json;

// Segment's documented limits.
constexpr std::size_t kMaxCallBytes = 32 * 1024;
constexpr std::size_t kMaxBatchBytes = 500 * 1024;

std::string RandomMessageId() {
  unsigned char b[16] = {};
  if (::getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) return "treu-generated";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "treu-";
  for (unsigned char c : b) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// A string field that clients may also send as a number (ids).
std::string IdText(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_integer() || j.is_number_unsigned()) return j.dump();
  return {};
}

// A decimal amount as its text, never through arithmetic on a double.
std::string AmountText(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number()) return j.dump();
  return {};
}

std::string AttributeName(const std::string& key) {
  std::string out;
  for (char c : key.substr(0, 64)) {
    out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  return out;
}

Result<TrackingMessage> ParseMessage(const json& j, EventType type, const std::string& at,
                                     const Clock& clock) {
  if (!j.is_object()) return InvalidArgument(at.empty() ? "/" : at, "must be a JSON object");
  TrackingMessage m;
  Event& e = m.event;
  e.type = type;
  const auto field = [&](const char* name) -> const json* {
    auto it = j.find(name);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  };
  if (const json* v = field("userId")) e.user_id = IdText(*v);
  if (const json* v = field("anonymousId")) e.anonymous_id = IdText(*v);
  if (const json* v = field("messageId")) e.message_id = IdText(*v);
  if (e.message_id.empty()) e.message_id = RandomMessageId();
  e.timestamp = clock.Now();
  if (const json* v = field("timestamp")) {
    if (!v->is_string()) return InvalidArgument(at + "/timestamp", "must be an ISO 8601 string");
    auto t = ParseTimestamp(v->get<std::string>(), TimeZone::Utc());
    if (!t) return InvalidArgument(at + "/timestamp", t.error().detail());
    e.timestamp = *t;
  }
  const char* payload = (type == EventType::kIdentify || type == EventType::kGroup) ? "traits" : "properties";
  const json* props = field(payload);
  if (props != nullptr && !props->is_object()) {
    return InvalidArgument(at + "/" + payload, "must be a JSON object");
  }
  e.properties_json = props ? props->dump(-1, ' ', false, json::error_handler_t::replace) : "{}";
  if (type == EventType::kTrack) {
    const json* ev = field("event");
    if (ev == nullptr || !ev->is_string()) return InvalidArgument(at + "/event", "is required for track calls");
    e.name = ev->get<std::string>();
  } else if (type == EventType::kPage || type == EventType::kScreen) {
    if (const json* v = field("name"); v && v->is_string()) e.name = v->get<std::string>();
  } else if (type == EventType::kGroup) {
    if (const json* v = field("groupId")) e.name = IdText(*v);
  } else if (type == EventType::kAlias) {
    if (const json* v = field("previousId")) e.name = IdText(*v);
  }
  if (auto v = ValidateEvent(e); !v) return InvalidArgument(at + "/" + v.error().context(), v.error().detail());

  if (type == EventType::kIdentify && !e.user_id.empty() && props != nullptr) {
    Customer c;
    c.external_id = e.user_id;
    for (const auto& [k, v] : props->items()) {
      if (k == "email" && v.is_string()) {
        c.email = v.get<std::string>();
      } else if (k == "name" && v.is_string()) {
        c.name = v.get<std::string>();
      } else if (v.is_string()) {
        c.attributes[AttributeName(k)] = v.get<std::string>();
      } else if (v.is_boolean()) {
        c.attributes[AttributeName(k)] = v.get<bool>();
      } else if (v.is_number()) {
        c.attributes[AttributeName(k)] = v.get<double>();
      }
    }
    if (c.name.empty() && props->contains("firstName")) {
      c.name = props->value("firstName", "") + " " + props->value("lastName", "");
    }
    if (const json* ctx = field("context"); ctx && ctx->is_object()) {
      if (auto it = ctx->find("locale"); it != ctx->end() && it->is_string()) c.locale = *it;
      if (auto it = ctx->find("timezone"); it != ctx->end() && it->is_string()) c.time_zone = *it;
    }
    if (auto v = ValidateCustomer(c); !v) {
      return InvalidArgument(at + "/traits/" + v.error().context(), v.error().detail());
    }
    m.profile = std::move(c);
  }
  if (type == EventType::kTrack && (e.name == "Order Completed" || e.name == "Order Refunded")) {
    const json empty = json::object();
    const json& p = props ? *props : empty;
    const std::string order_id = p.contains("order_id") ? IdText(p["order_id"]) : "";
    if (order_id.empty()) return InvalidArgument(at + "/properties/order_id", "is required for " + e.name);
    if (e.user_id.empty()) return InvalidArgument(at + "/userId", "is required for " + e.name);
    std::string total;
    if (p.contains("total")) total = AmountText(p["total"]);
    else if (p.contains("revenue")) total = AmountText(p["revenue"]);
    if (e.name == "Order Completed") {
      if (total.empty()) return InvalidArgument(at + "/properties/total", "is required for Order Completed");
      Order o;
      o.external_id = order_id;
      o.customer_external_id = e.user_id;
      o.placed_at = e.timestamp;
      m.order = std::move(o);
      m.order_total_text = total;
      if (p.contains("currency") && p["currency"].is_string()) m.currency_code = p["currency"];
    } else {
      m.refund_order_id = order_id;
      m.refund_total_text = total;
    }
  }
  return m;
}

Result<HttpResponse> Ingest(RequestContext& ctx, std::vector<TrackingMessage>& messages) {
  auto written = ctx.tracking != nullptr ? ctx.tracking->Write(ctx.workspace(), std::move(messages))
                                         : IngestTracking(ctx.store, ctx.workspace(), messages, ctx.clock);
  TREU_ASSIGN_OR_RETURN(TrackingResult r, std::move(written));
  if (ctx.metrics != nullptr) {
    ctx.metrics->ObserveTracking(r.stored, r.duplicates, r.stored + r.duplicates);
  }
  HttpResponse res;
  res.body = json({{"success", true}, {"stored", r.stored}, {"duplicates", r.duplicates}}).dump();
  return res;
}

// 413 when the body exceeds Segment's limit for the call, else nullopt.
std::optional<HttpResponse> TooLarge(const RequestContext& ctx, std::size_t limit) {
  if (ctx.request.body.size() <= limit) return std::nullopt;
  return ProblemResponse(413, "payload_too_large",
                         "the body is larger than " + std::to_string(limit / 1024) +
                             " KB, Segment's limit for this call",
                         ctx.request.path);
}

Result<json> ParseBody(const RequestContext& ctx) {
  json j = json::parse(ctx.request.body, nullptr, false);
  if (j.is_discarded()) return InvalidArgument("body", "is not valid JSON");
  return j;
}

RouteHandler Single(EventType type) {
  return [type](RequestContext& ctx) -> Result<HttpResponse> {
    if (auto r = TooLarge(ctx, kMaxCallBytes)) return std::move(*r);
    TREU_ASSIGN_OR_RETURN(json j, ParseBody(ctx));
    TREU_ASSIGN_OR_RETURN(TrackingMessage m, ParseMessage(j, type, "", ctx.clock));
    std::vector<TrackingMessage> one;
    one.push_back(std::move(m));
    auto r = Ingest(ctx, one);
    // A single call's pointers are relative to its body, not to a batch.
    if (!r && r.error().context().starts_with("/batch/0/")) {
      return std::unexpected(Error(r.error().code(), r.error().context().substr(8), r.error().detail()));
    }
    return r;
  };
}

Result<HttpResponse> Batch(RequestContext& ctx) {
  if (auto r = TooLarge(ctx, kMaxBatchBytes)) return std::move(*r);
  TREU_ASSIGN_OR_RETURN(json j, ParseBody(ctx));
  if (!j.is_object() || !j.contains("batch") || !j["batch"].is_array()) {
    return InvalidArgument("batch", "must be an array of calls");
  }
  std::vector<TrackingMessage> messages;
  const json& batch = j["batch"];
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const std::string at = "/batch/" + std::to_string(i);
    const json& item = batch[i];
    if (!item.is_object() || !item.contains("type") || !item["type"].is_string()) {
      return InvalidArgument(at + "/type", "must be one of identify, track, page, screen, group, alias");
    }
    auto type = ParseEventType(item["type"].get<std::string>());
    if (!type) return InvalidArgument(at + "/type", type.error().detail());
    TREU_ASSIGN_OR_RETURN(TrackingMessage m, ParseMessage(item, *type, at, ctx.clock));
    messages.push_back(std::move(m));
  }
  return Ingest(ctx, messages);
}

}  // namespace

std::vector<Route> TrackingRoutes() {
  const Access tracking = Access::Requires(Scope::kTracking);
  return {
      {"POST", "/v1/identify", tracking, "Segment identify: who the user is (traits)", Single(EventType::kIdentify), "TrackingResult"},
      {"POST", "/v1/track", tracking, "Segment track: something the user did", Single(EventType::kTrack), "TrackingResult"},
      {"POST", "/v1/page", tracking, "Segment page: a page view", Single(EventType::kPage), "TrackingResult"},
      {"POST", "/v1/screen", tracking, "Segment screen: an app screen view", Single(EventType::kScreen), "TrackingResult"},
      {"POST", "/v1/group", tracking, "Segment group: the user's company or group", Single(EventType::kGroup), "TrackingResult"},
      {"POST", "/v1/alias", tracking, "Segment alias: another id of the user", Single(EventType::kAlias), "TrackingResult"},
      {"POST", "/v1/batch", tracking, "Segment batch: up to 500 KB of calls, applied all or nothing", Batch, "TrackingResult"},
  };
}

}  // namespace treu::api
