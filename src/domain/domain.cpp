#include "domain/domain.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace treu {
namespace {

template <typename E, std::size_t N>
Result<E> ParseName(std::string_view field, std::string_view text,
                    const std::pair<std::string_view, E> (&names)[N]) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string allowed;
  for (const auto& [name, value] : names) {
    if (name == lower) return value;
    if (!allowed.empty()) allowed += ", ";
    allowed += name;
  }
  return InvalidArgument(std::string(field),
                         "'" + std::string(text) + "' is not one of " + allowed);
}

template <typename E, std::size_t N>
std::string_view NameOf(E value, const std::pair<std::string_view, E> (&names)[N]) {
  for (const auto& [name, v] : names) {
    if (v == value) return name;
  }
  return "unknown";
}

constexpr std::pair<std::string_view, RetentionBasis> kBases[] = {
    {"purchases", RetentionBasis::kPurchases},
    {"subscriptions", RetentionBasis::kSubscriptions},
    {"both", RetentionBasis::kBoth}};
constexpr std::pair<std::string_view, PurchaseModel> kPurchaseModels[] = {
    {"bgnbd", PurchaseModel::kBgNbd},
    {"pareto_nbd", PurchaseModel::kParetoNbd},
    {"mbgnbd", PurchaseModel::kMbgNbd}};
constexpr std::pair<std::string_view, Channel> kChannels[] = {
    {"email", Channel::kEmail}, {"push", Channel::kPush}, {"inapp", Channel::kInApp},
    {"sms", Channel::kSms},     {"webhook", Channel::kWebhook}};
constexpr std::pair<std::string_view, OrderStatus> kOrderStatuses[] = {
    {"completed", OrderStatus::kCompleted},
    {"refunded", OrderStatus::kRefunded},
    {"cancelled", OrderStatus::kCancelled}};
constexpr std::pair<std::string_view, BillingInterval> kIntervals[] = {
    {"day", BillingInterval::kDay},         {"week", BillingInterval::kWeek},
    {"month", BillingInterval::kMonth},     {"quarter", BillingInterval::kQuarter},
    {"year", BillingInterval::kYear}};
constexpr std::pair<std::string_view, SubscriptionStatus> kSubStatuses[] = {
    {"active", SubscriptionStatus::kActive},
    {"trialing", SubscriptionStatus::kTrialing},
    {"past_due", SubscriptionStatus::kPastDue},
    {"paused", SubscriptionStatus::kPaused},
    {"canceled", SubscriptionStatus::kCanceled}};
constexpr std::pair<std::string_view, Scope> kScopes[] = {
    {"tracking", Scope::kTracking}, {"read", Scope::kRead},
    {"write", Scope::kWrite},       {"admin", Scope::kAdmin}};
constexpr std::pair<std::string_view, EventType> kEventTypes[] = {
    {"track", EventType::kTrack},   {"identify", EventType::kIdentify},
    {"page", EventType::kPage},     {"screen", EventType::kScreen},
    {"group", EventType::kGroup},   {"alias", EventType::kAlias}};

bool ValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = 0;
    if (c < 0x80) n = 0;
    else if ((c & 0xE0) == 0xC0 && c >= 0xC2) n = 1;
    else if ((c & 0xF0) == 0xE0) n = 2;
    else if ((c & 0xF8) == 0xF0 && c <= 0xF4) n = 3;
    else return false;
    if (n > 0 && i + n >= s.size()) return false;
    for (int k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += static_cast<std::size_t>(n) + 1;
  }
  return true;
}

Status CheckText(std::string_view field, std::string_view value, std::size_t max_bytes,
                 bool required) {
  if (required && value.empty()) return InvalidArgument(std::string(field), "is required");
  if (value.size() > max_bytes) {
    return InvalidArgument(std::string(field),
                           "is longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (!ValidUtf8(value)) return InvalidArgument(std::string(field), "is not valid UTF-8");
  for (unsigned char c : value) {
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      return InvalidArgument(std::string(field), "contains a control character");
    }
  }
  return Ok();
}

bool PlausibleEmail(std::string_view e) {
  const auto at = e.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= e.size()) return false;
  if (e.find('@', at + 1) != std::string_view::npos) return false;
  if (e.find_first_of(" \t\r\n<>,;\"") != std::string_view::npos) return false;
  const auto domain = e.substr(at + 1);
  return domain.find('.') != std::string_view::npos && domain.front() != '.' && domain.back() != '.';
}

}  // namespace

std::string_view RetentionBasisName(RetentionBasis b) { return NameOf(b, kBases); }
Result<RetentionBasis> ParseRetentionBasis(std::string_view t) {
  return ParseName("retention basis", t, kBases);
}
std::string_view PurchaseModelName(PurchaseModel m) { return NameOf(m, kPurchaseModels); }
Result<PurchaseModel> ParsePurchaseModel(std::string_view t) {
  return ParseName("purchase model", t, kPurchaseModels);
}
std::string_view ChannelName(Channel c) { return NameOf(c, kChannels); }
Result<Channel> ParseChannel(std::string_view t) { return ParseName("channel", t, kChannels); }
std::string_view OrderStatusName(OrderStatus s) { return NameOf(s, kOrderStatuses); }
Result<OrderStatus> ParseOrderStatus(std::string_view t) {
  return ParseName("status", t, kOrderStatuses);
}
std::string_view BillingIntervalName(BillingInterval i) { return NameOf(i, kIntervals); }
Result<BillingInterval> ParseBillingInterval(std::string_view t) {
  return ParseName("interval", t, kIntervals);
}
std::string_view SubscriptionStatusName(SubscriptionStatus s) { return NameOf(s, kSubStatuses); }
Result<SubscriptionStatus> ParseSubscriptionStatus(std::string_view t) {
  return ParseName("status", t, kSubStatuses);
}
std::string_view EventTypeName(EventType t) { return NameOf(t, kEventTypes); }
Result<EventType> ParseEventType(std::string_view t) { return ParseName("type", t, kEventTypes); }

std::string_view ScopeName(Scope s) { return NameOf(s, kScopes); }
Result<Scope> ParseScope(std::string_view t) { return ParseName("scope", t, kScopes); }
bool ScopeAllows(Scope held, Scope required) {
  if (held == Scope::kTracking || required == Scope::kTracking) return held == required;
  return static_cast<int>(held) >= static_cast<int>(required);
}

Status ValidateWorkspace(const Workspace& w) {
  if (w.name.empty() || w.name.size() > 64 ||
      !std::all_of(w.name.begin(), w.name.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '-' || c == '.';
      })) {
    return InvalidArgument("workspace name", "'" + w.name +
                                                 "' must be 1 to 64 letters, digits, '_', '-' or '.'");
  }
  TREU_RETURN_IF_ERROR(TimeZone::Find(w.time_zone));
  if (w.activity_window_days < 1 || w.activity_window_days > 3650) {
    return InvalidArgument("activity window", "must be between 1 and 3650 days");
  }
  const std::string& c = w.brand_colour;
  if (!c.empty() && (c.size() != 7 || c[0] != '#' ||
                     !std::all_of(c.begin() + 1, c.end(), [](unsigned char h) { return std::isxdigit(h); }))) {
    return InvalidArgument("brand colour", "'" + c + "' must be #RRGGBB, e.g. #0a7f5a");
  }
  return Ok();
}

AttributeType TypeOf(const AttributeValue& v) { return static_cast<AttributeType>(v.index()); }

std::string_view AttributeTypeName(AttributeType t) {
  switch (t) {
    case AttributeType::kString: return "string";
    case AttributeType::kNumber: return "number";
    case AttributeType::kBool: return "bool";
    case AttributeType::kTime: return "time";
  }
  return "string";
}

AttributeValue ParseAttributeValue(std::string_view text, const TimeZone& zone) {
  if (text == "true") return true;
  if (text == "false") return false;
  if (!text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '-' ||
                        text[0] == '+' || text[0] == '.')) {
    // Only plain decimals: "1e5" or "0x10" stay strings. from_chars doesn't take '+'.
    const std::string_view body = text[0] == '+' ? text.substr(1) : text;
    const bool plain = body.find_first_not_of("0123456789.-") == std::string_view::npos;
    double d = 0;
    auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), d,
                                   std::chars_format::fixed);
    if (plain && ec == std::errc() && p == body.data() + body.size() && std::isfinite(d)) return d;
    if (text.size() >= 10 && text[4] == '-') {
      if (auto t = ParseTimestamp(text, zone)) return *t;
    }
  }
  return std::string(text);
}

std::string FormatAttributeValue(const AttributeValue& v) {
  switch (TypeOf(v)) {
    case AttributeType::kString: return std::get<std::string>(v);
    case AttributeType::kBool: return std::get<bool>(v) ? "true" : "false";
    case AttributeType::kTime: return FormatTimestamp(std::get<Timestamp>(v));
    case AttributeType::kNumber: {
      char buf[64];
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, std::get<double>(v),
                                   std::chars_format::fixed);
      return ec == std::errc() ? std::string(buf, p) : "0";
    }
  }
  return {};
}

Result<AttributeValue> AttributeFromText(std::string_view type_name, std::string_view text) {
  const std::string ctx = "attribute of type " + std::string(type_name);
  if (type_name == "string") return AttributeValue(std::string(text));
  if (type_name == "bool") {
    if (text == "true") return AttributeValue(true);
    if (text == "false") return AttributeValue(false);
    return InvalidArgument(ctx, "'" + std::string(text) + "' is not true or false");
  }
  if (type_name == "number") {
    double d = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (ec != std::errc() || p != text.data() + text.size()) {
      return InvalidArgument(ctx, "'" + std::string(text) + "' is not a number");
    }
    return AttributeValue(d);
  }
  if (type_name == "time") {
    TREU_ASSIGN_OR_RETURN(Timestamp t, ParseTimestamp(text, TimeZone::Utc()));
    return AttributeValue(t);
  }
  return InvalidArgument(ctx, "unknown attribute type");
}

Status ValidateCustomer(const Customer& c) {
  TREU_RETURN_IF_ERROR(CheckText("customer_id", c.external_id, 255, true));
  TREU_RETURN_IF_ERROR(CheckText("email", c.email, 254, false));
  if (!c.email.empty() && !PlausibleEmail(c.email)) {
    return InvalidArgument("email", "'" + c.email + "' is not an email address");
  }
  TREU_RETURN_IF_ERROR(CheckText("name", c.name, 255, false));
  if (!c.country.empty() &&
      (c.country.size() != 2 || !std::isupper(static_cast<unsigned char>(c.country[0])) ||
       !std::isupper(static_cast<unsigned char>(c.country[1])))) {
    return InvalidArgument("country", "'" + c.country +
                                          "' is not an ISO 3166-1 alpha-2 code like DE");
  }
  if (!c.locale.empty()) {
    const bool ok = c.locale.size() <= 35 && std::isalpha(static_cast<unsigned char>(c.locale[0])) &&
                    std::all_of(c.locale.begin(), c.locale.end(), [](unsigned char ch) {
                      return std::isalnum(ch) || ch == '-' || ch == '_';
                    });
    if (!ok) return InvalidArgument("locale", "'" + c.locale + "' is not a locale like de-DE");
  }
  if (!c.time_zone.empty()) TREU_RETURN_IF_ERROR(TimeZone::Find(c.time_zone));
  for (const auto& [key, value] : c.attributes) {
    if (key.empty() || key.size() > 64 ||
        !std::all_of(key.begin(), key.end(), [](unsigned char ch) {
          return std::isalnum(ch) || ch == '_';
        })) {
      return InvalidArgument("attributes." + key,
                             "attribute names are 1 to 64 letters, digits or '_'");
    }
    if (const auto* s = std::get_if<std::string>(&value)) {
      TREU_RETURN_IF_ERROR(CheckText("attributes." + key, *s, 4096, false));
    }
  }
  return Ok();
}

Status ValidateProduct(const Product& p) {
  TREU_RETURN_IF_ERROR(CheckText("product_id", p.external_id, 255, true));
  TREU_RETURN_IF_ERROR(CheckText("name", p.name, 255, false));
  if (p.price && p.price->minor < 0) return InvalidArgument("price", "must not be negative");
  return Ok();
}

Status ValidateOrder(const Order& o) {
  TREU_RETURN_IF_ERROR(CheckText("order_id", o.external_id, 255, true));
  if (o.total.currency.empty()) return InvalidArgument("currency", "is required");
  if (o.total.minor < 0) {
    return InvalidArgument("total", "must not be negative (record returns as refunds)");
  }
  std::int64_t lines_sum = 0;
  for (std::size_t i = 0; i < o.lines.size(); ++i) {
    const auto& l = o.lines[i];
    const std::string at = "lines[" + std::to_string(i) + "]";
    TREU_RETURN_IF_ERROR(CheckText(at + ".product_id", l.product_external_id, 255, true));
    if (l.quantity < 1) return InvalidArgument(at + ".quantity", "must be at least 1");
    if (l.unit_price_minor < 0) return InvalidArgument(at + ".price", "must not be negative");
    lines_sum += l.quantity * l.unit_price_minor;
  }
  (void)lines_sum;  // totals may include shipping and tax, so lines need not add up
  std::int64_t refunded = 0;
  for (const auto& r : o.refunds) {
    if (r.amount_minor <= 0) return InvalidArgument("refunded_total", "must be greater than 0");
    if (r.refunded_at < o.placed_at) {
      return InvalidArgument("refunded_at", "is before the order was placed");
    }
    refunded += r.amount_minor;
  }
  if (refunded > o.total.minor) {
    return InvalidArgument("refunded_total", "refunds exceed the order total");
  }
  return Ok();
}

Status ValidateSubscription(const Subscription& s) {
  TREU_RETURN_IF_ERROR(CheckText("subscription_id", s.external_id, 255, true));
  if (s.currency.empty()) return InvalidArgument("currency", "is required");
  if (s.ended_at && *s.ended_at < s.started_at) {
    return InvalidArgument("ended_at", "is before started_at");
  }
  if (s.history.empty()) return InvalidArgument("history", "needs at least one state");
  for (std::size_t i = 0; i < s.history.size(); ++i) {
    const auto& st = s.history[i];
    TREU_RETURN_IF_ERROR(CheckText("plan", st.plan, 255, false));
    if (st.amount_minor < 0) return InvalidArgument("amount", "must not be negative");
    if (st.quantity < 0) return InvalidArgument("quantity", "must not be negative");
    if (st.discount_bp < 0 || st.discount_bp > kDiscountScale) {
      return InvalidArgument("discount", "must be between 0 and 100 %");
    }
    if (i > 0 && !(s.history[i - 1].effective_at < st.effective_at)) {
      return InvalidArgument("effective_at", "changes must have distinct, increasing times");
    }
  }
  if (s.history.front().effective_at < s.started_at) {
    return InvalidArgument("effective_at", "a change takes effect before the subscription started");
  }
  return Ok();
}

Status ValidateEvent(const Event& e) {
  TREU_RETURN_IF_ERROR(CheckText("messageId", e.message_id, 100, true));
  TREU_RETURN_IF_ERROR(CheckText("userId", e.user_id, 255, false));
  TREU_RETURN_IF_ERROR(CheckText("anonymousId", e.anonymous_id, 255, false));
  if (e.user_id.empty() && e.anonymous_id.empty()) {
    return InvalidArgument("userId", "userId or anonymousId is required");
  }
  if (e.type == EventType::kTrack) TREU_RETURN_IF_ERROR(CheckText("event", e.name, 200, true));
  TREU_RETURN_IF_ERROR(CheckText("name", e.name, 200, false));
  return Ok();
}

}  // namespace treu
