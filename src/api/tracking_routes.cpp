#include "api/tracking_routes.hpp"

#include <sys/random.h>

#include <simdjson.h>

#include <optional>
#include <string_view>

#include "api/problem.hpp"
#include "ingest/tracking.hpp"

namespace treu::api {
namespace {

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

using Element = simdjson::dom::element;
using Type = simdjson::dom::element_type;

// The member `name` of `obj`, or nullopt when it is missing or null.
std::optional<Element> Member(const simdjson::dom::object& obj, std::string_view name) {
  Element v;
  if (obj.at_key(name).get(v) != simdjson::SUCCESS || v.type() == Type::NULL_VALUE) {
    return std::nullopt;
  }
  return v;
}

std::optional<std::string> String(const std::optional<Element>& v) {
  if (!v || v->type() != Type::STRING) return std::nullopt;
  return std::string(std::string_view(*v));
}

// A string field that clients may also send as a number (ids).
std::string IdText(const std::optional<Element>& v) {
  if (!v) return {};
  switch (v->type()) {
    case Type::STRING: return std::string(std::string_view(*v));
    case Type::INT64: return std::to_string(std::int64_t(*v));
    case Type::UINT64: return std::to_string(std::uint64_t(*v));
    default: return {};
  }
}

// A decimal amount as its text (a number as its shortest round-trip form), never through
// arithmetic on a double.
std::string AmountText(const std::optional<Element>& v) {
  if (!v) return {};
  switch (v->type()) {
    case Type::STRING: return std::string(std::string_view(*v));
    case Type::INT64:
    case Type::UINT64:
    case Type::DOUBLE: return simdjson::minify(*v);
    default: return {};
  }
}

std::string AttributeName(std::string_view key) {
  std::string out;
  for (char c : key.substr(0, 64)) {
    out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  return out;
}

Result<TrackingMessage> ParseMessage(Element j, EventType type, const std::string& at,
                                     const Clock& clock) {
  simdjson::dom::object obj;
  if (j.get(obj) != simdjson::SUCCESS) return InvalidArgument(at.empty() ? "/" : at, "must be a JSON object");
  TrackingMessage m;
  Event& e = m.event;
  e.type = type;
  e.user_id = IdText(Member(obj, "userId"));
  e.anonymous_id = IdText(Member(obj, "anonymousId"));
  e.message_id = IdText(Member(obj, "messageId"));
  if (e.message_id.empty()) e.message_id = RandomMessageId();
  e.timestamp = clock.Now();
  if (const auto v = Member(obj, "timestamp")) {
    const auto text = String(v);
    if (!text) return InvalidArgument(at + "/timestamp", "must be an ISO 8601 string");
    auto t = ParseTimestamp(*text, TimeZone::Utc());
    if (!t) return InvalidArgument(at + "/timestamp", t.error().detail());
    e.timestamp = *t;
  }
  const char* payload = (type == EventType::kIdentify || type == EventType::kGroup) ? "traits" : "properties";
  simdjson::dom::object props;
  bool has_props = false;
  if (const auto v = Member(obj, payload)) {
    if (v->get(props) != simdjson::SUCCESS) return InvalidArgument(at + "/" + payload, "must be a JSON object");
    has_props = true;
    e.properties_json = simdjson::minify(props);
  } else {
    e.properties_json = "{}";
  }
  if (type == EventType::kTrack) {
    const auto ev = String(Member(obj, "event"));
    if (!ev) return InvalidArgument(at + "/event", "is required for track calls");
    e.name = *ev;
  } else if (type == EventType::kPage || type == EventType::kScreen) {
    if (auto name = String(Member(obj, "name"))) e.name = std::move(*name);
  } else if (type == EventType::kGroup) {
    e.name = IdText(Member(obj, "groupId"));
  } else if (type == EventType::kAlias) {
    e.name = IdText(Member(obj, "previousId"));
  }
  if (auto v = ValidateEvent(e); !v) return InvalidArgument(at + "/" + v.error().context(), v.error().detail());

  if (type == EventType::kIdentify && !e.user_id.empty() && has_props) {
    Customer c;
    c.external_id = e.user_id;
    for (const auto field : props) {
      const Element v = field.value;
      if (field.key == "email" && v.type() == Type::STRING) {
        c.email = std::string(std::string_view(v));
      } else if (field.key == "name" && v.type() == Type::STRING) {
        c.name = std::string(std::string_view(v));
      } else if (v.type() == Type::STRING) {
        c.attributes[AttributeName(field.key)] = std::string(std::string_view(v));
      } else if (v.type() == Type::BOOL) {
        c.attributes[AttributeName(field.key)] = bool(v);
      } else if (v.type() == Type::INT64 || v.type() == Type::UINT64 || v.type() == Type::DOUBLE) {
        double d = 0;
        if (v.get(d) == simdjson::SUCCESS) c.attributes[AttributeName(field.key)] = d;
      }
    }
    if (c.name.empty()) {
      const auto first = String(Member(props, "firstName"));
      const auto last = String(Member(props, "lastName"));
      if (first || last) c.name = first.value_or("") + (first && last ? " " : "") + last.value_or("");
    }
    simdjson::dom::object context;
    if (const auto v = Member(obj, "context"); v && v->get(context) == simdjson::SUCCESS) {
      if (auto locale = String(Member(context, "locale"))) c.locale = std::move(*locale);
      if (auto zone = String(Member(context, "timezone"))) c.time_zone = std::move(*zone);
    }
    if (auto v = ValidateCustomer(c); !v) {
      return InvalidArgument(at + "/traits/" + v.error().context(), v.error().detail());
    }
    m.profile = std::move(c);
  }
  if (type == EventType::kTrack && (e.name == "Order Completed" || e.name == "Order Refunded")) {
    const auto prop = [&](std::string_view name) {
      return has_props ? Member(props, name) : std::nullopt;
    };
    const std::string order_id = IdText(prop("order_id"));
    if (order_id.empty()) return InvalidArgument(at + "/properties/order_id", "is required for " + e.name);
    if (e.user_id.empty()) return InvalidArgument(at + "/userId", "is required for " + e.name);
    std::string total = AmountText(prop("total"));
    if (total.empty()) total = AmountText(prop("revenue"));
    if (e.name == "Order Completed") {
      if (total.empty()) return InvalidArgument(at + "/properties/total", "is required for Order Completed");
      Order o;
      o.external_id = order_id;
      o.customer_external_id = e.user_id;
      o.placed_at = e.timestamp;
      m.order = std::move(o);
      m.order_total_text = total;
      if (auto currency = String(prop("currency"))) m.currency_code = std::move(*currency);
    } else {
      m.refund_order_id = order_id;
      m.refund_total_text = total;
    }
  }
  return m;
}

using Done = std::function<void(Result<HttpResponse>)>;

// Hands the calls to the tracking writer (or writes them here when the server has none) and
// answers once they are durable. A single call's pointers are relative to its body, not to
// a batch.
void Ingest(RequestContext& ctx, std::vector<TrackingMessage> messages, bool single, Done done) {
  auto answer = [metrics = ctx.metrics, single, done = std::move(done)](
                    Result<TrackingResult> written) {
    if (!written) {
      const Error& e = written.error();
      if (single && e.context().starts_with("/batch/0/")) {
        return done(std::unexpected(Error(e.code(), e.context().substr(8), e.detail())));
      }
      return done(std::unexpected(e));
    }
    if (metrics != nullptr) metrics->ObserveTracking(written->stored, written->duplicates);
    HttpResponse res;
    res.body = R"({"success":true,"stored":)" + std::to_string(written->stored) +
               R"(,"duplicates":)" + std::to_string(written->duplicates) + "}";
    done(std::move(res));
  };
  if (ctx.tracking != nullptr) {
    ctx.tracking->Submit(ctx.workspace(), std::move(messages), std::move(answer));
  } else {
    answer(IngestTracking(ctx.store, ctx.workspace(), messages, ctx.clock));
  }
}

// 413 when the body exceeds Segment's limit for the call, else nullopt.
std::optional<HttpResponse> TooLarge(const RequestContext& ctx, std::size_t limit) {
  if (ctx.request.body.size() <= limit) return std::nullopt;
  return ProblemResponse(413, "payload_too_large",
                         "the body is larger than " + std::to_string(limit / 1024) +
                             " KB, Segment's limit for this call",
                         ctx.request.path);
}

// Parses the body with this thread's parser; the element lives until the thread's next parse.
Result<Element> ParseBody(const RequestContext& ctx) {
  thread_local simdjson::dom::parser parser;
  Element root;
  if (const auto err = parser.parse(ctx.request.body).get(root); err != simdjson::SUCCESS) {
    return InvalidArgument("body", std::string("is not valid JSON: ") + simdjson::error_message(err));
  }
  return root;
}

// Parses a single call; InvalidArgument when it is malformed.
Result<std::vector<TrackingMessage>> ParseSingle(const RequestContext& ctx, EventType type) {
  TREU_ASSIGN_OR_RETURN(Element j, ParseBody(ctx));
  TREU_ASSIGN_OR_RETURN(TrackingMessage m, ParseMessage(j, type, "", ctx.clock));
  std::vector<TrackingMessage> one;
  one.push_back(std::move(m));
  return one;
}

Result<std::vector<TrackingMessage>> ParseBatch(const RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Element j, ParseBody(ctx));
  simdjson::dom::object obj;
  simdjson::dom::array batch;
  if (j.get(obj) != simdjson::SUCCESS || obj.at_key("batch").get(batch) != simdjson::SUCCESS) {
    return InvalidArgument("batch", "must be an array of calls");
  }
  std::vector<TrackingMessage> messages;
  messages.reserve(batch.size());
  std::size_t i = 0;
  for (const Element item : batch) {
    const std::string at = "/batch/" + std::to_string(i++);
    simdjson::dom::object call;
    std::optional<std::string> type_name;
    if (item.get(call) == simdjson::SUCCESS) type_name = String(Member(call, "type"));
    if (!type_name) {
      return InvalidArgument(at + "/type", "must be one of identify, track, page, screen, group, alias");
    }
    auto type = ParseEventType(*type_name);
    if (!type) return InvalidArgument(at + "/type", type.error().detail());
    TREU_ASSIGN_OR_RETURN(TrackingMessage m, ParseMessage(item, *type, at, ctx.clock));
    messages.push_back(std::move(m));
  }
  return messages;
}

AsyncRouteHandler Single(EventType type) {
  return [type](RequestContext& ctx, Done done) {
    if (auto r = TooLarge(ctx, kMaxCallBytes)) return done(std::move(*r));
    auto messages = ParseSingle(ctx, type);
    if (!messages) return done(std::unexpected(messages.error()));
    Ingest(ctx, std::move(*messages), true, std::move(done));
  };
}

void Batch(RequestContext& ctx, Done done) {
  if (auto r = TooLarge(ctx, kMaxBatchBytes)) return done(std::move(*r));
  auto messages = ParseBatch(ctx);
  if (!messages) return done(std::unexpected(messages.error()));
  Ingest(ctx, std::move(*messages), false, std::move(done));
}

}  // namespace

std::vector<Route> TrackingRoutes() {
  const Access tracking = Access::Requires(Scope::kTracking);
  return {
      {"POST", "/v1/identify", tracking, "Segment identify: who the user is (traits)", nullptr, "TrackingResult", {}, Single(EventType::kIdentify)},
      {"POST", "/v1/track", tracking, "Segment track: something the user did", nullptr, "TrackingResult", {}, Single(EventType::kTrack)},
      {"POST", "/v1/page", tracking, "Segment page: a page view", nullptr, "TrackingResult", {}, Single(EventType::kPage)},
      {"POST", "/v1/screen", tracking, "Segment screen: an app screen view", nullptr, "TrackingResult", {}, Single(EventType::kScreen)},
      {"POST", "/v1/group", tracking, "Segment group: the user's company or group", nullptr, "TrackingResult", {}, Single(EventType::kGroup)},
      {"POST", "/v1/alias", tracking, "Segment alias: another id of the user", nullptr, "TrackingResult", {}, Single(EventType::kAlias)},
      {"POST", "/v1/batch", tracking, "Segment batch: up to 500 KB of calls, applied all or nothing", nullptr, "TrackingResult", {}, Batch},
  };
}

}  // namespace treu::api
