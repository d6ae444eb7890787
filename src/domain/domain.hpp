// Domain value types of treu and their invariants. Each type's invariants are checked in
// one place: its Validate function, which names the field and the rule broken. Storage
// and services rely on validated values; the domain knows no storage and no JSON.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/ids.hpp"
#include "core/money.hpp"
#include "core/status.hpp"
#include "core/time.hpp"

namespace treu {

// ---------------------------------------------------------------------------------------------
// Workspace

enum class RetentionBasis { kPurchases, kSubscriptions, kBoth };
std::string_view RetentionBasisName(RetentionBasis b);
Result<RetentionBasis> ParseRetentionBasis(std::string_view text);

inline constexpr int kDefaultActivityWindowDays = 365;

// The purchase model behind a workspace's per-customer predictions (p_alive,
// expected_purchases_90d, clv_12m): BG/NBD, Pareto/NBD or MBG/NBD.
enum class PurchaseModel { kBgNbd, kParetoNbd, kMbgNbd };
std::string_view PurchaseModelName(PurchaseModel m);  // bgnbd, pareto_nbd, mbgnbd
Result<PurchaseModel> ParsePurchaseModel(std::string_view text);

struct Workspace {
  WorkspaceId id;
  std::string name;                 // unique, 1..64 chars of [A-Za-z0-9_.-]
  std::optional<Currency> currency;  // reporting currency; set at creation or by first import
  std::string time_zone = "UTC";    // IANA name
  RetentionBasis retention_basis = RetentionBasis::kPurchases;
  int activity_window_days = kDefaultActivityWindowDays;  // 1..3650
  PurchaseModel purchase_model = PurchaseModel::kParetoNbd;
  // Outgoing webhooks may reach private, loopback and link-local addresses (off by default).
  bool allow_private_webhooks = false;
  // The colour of survey pages and email scales, "#RRGGBB" (lower or upper case hex); "" for
  // treu's default.
  std::string brand_colour;
  Timestamp created_at;
};
Status ValidateWorkspace(const Workspace& w);

// ---------------------------------------------------------------------------------------------
// Customers

// A typed custom attribute value. Text from imports is typed by ParseAttributeValue.
using AttributeValue = std::variant<std::string, double, bool, Timestamp>;
enum class AttributeType { kString, kNumber, kBool, kTime };
AttributeType TypeOf(const AttributeValue& v);
std::string_view AttributeTypeName(AttributeType t);
// "true"/"false" → bool; a decimal number → number; an ISO 8601 date-time with offset or
// a bare date → time (dates at midnight in `zone`); anything else → string.
AttributeValue ParseAttributeValue(std::string_view text, const TimeZone& zone);
// Canonical text of a value; ParseAttributeValue reads it back to the same value.
std::string FormatAttributeValue(const AttributeValue& v);
// The value of a stored attribute from its type name ("string", "number", "bool", "time")
// and canonical text. InvalidArgument if the text is not of that type.
Result<AttributeValue> AttributeFromText(std::string_view type_name, std::string_view text);

enum class Channel { kEmail, kPush, kInApp, kSms, kWebhook };
inline constexpr Channel kAllChannels[] = {Channel::kEmail, Channel::kPush, Channel::kInApp,
                                           Channel::kSms, Channel::kWebhook};
std::string_view ChannelName(Channel c);
Result<Channel> ParseChannel(std::string_view text);

struct Consent {
  bool granted = false;
  std::string source;  // "import", "api", "double_opt_in", ...
  Timestamp at;
};

struct Customer {
  CustomerId id;
  std::string external_id;  // the shop's id, unique per workspace, 1..255 bytes
  std::string email;        // may be empty
  std::string name;
  std::string country;    // ISO 3166-1 alpha-2, upper case, or empty
  std::string locale;     // BCP 47 like "de" or "de-DE", or empty
  std::string time_zone;  // IANA name, or empty (the workspace's)
  std::map<std::string, AttributeValue> attributes;
  std::map<Channel, Consent> consent;
  Timestamp created_at;
  Timestamp updated_at;
};
Status ValidateCustomer(const Customer& c);

// ---------------------------------------------------------------------------------------------
// Products and orders

struct Product {
  ProductId id;
  std::string external_id;
  std::string name;
  std::optional<Money> price;
};
Status ValidateProduct(const Product& p);

enum class OrderStatus { kCompleted, kRefunded, kCancelled };
std::string_view OrderStatusName(OrderStatus s);
Result<OrderStatus> ParseOrderStatus(std::string_view text);

struct OrderLine {
  std::string product_external_id;
  std::int64_t quantity = 1;       // >= 1
  std::int64_t unit_price_minor = 0;  // in the order's currency, >= 0
};

struct Refund {
  Timestamp refunded_at;
  std::int64_t amount_minor = 0;  // > 0, in the order's currency
};

struct Order {
  OrderId id;
  std::string external_id;  // unique per workspace
  CustomerId customer;
  std::string customer_external_id;  // for display and import
  Timestamp placed_at;
  Money total;  // >= 0
  OrderStatus status = OrderStatus::kCompleted;
  std::vector<OrderLine> lines;
  std::vector<Refund> refunds;  // each not before placed_at; Σ amounts <= total
};
Status ValidateOrder(const Order& o);

// ---------------------------------------------------------------------------------------------
// Subscriptions

enum class BillingInterval { kDay, kWeek, kMonth, kQuarter, kYear };
std::string_view BillingIntervalName(BillingInterval i);
Result<BillingInterval> ParseBillingInterval(std::string_view text);

enum class SubscriptionStatus { kActive, kTrialing, kPastDue, kPaused, kCanceled };
std::string_view SubscriptionStatusName(SubscriptionStatus s);
Result<SubscriptionStatus> ParseSubscriptionStatus(std::string_view text);

inline constexpr int kDiscountScale = 10'000;  // discounts in basis points: 2500 = 25 %

// The terms of a subscription from `effective_at` until the next change.
struct SubscriptionState {
  Timestamp effective_at;
  std::string plan;
  BillingInterval interval = BillingInterval::kMonth;
  std::int64_t amount_minor = 0;  // per interval, per unit, >= 0
  std::int64_t quantity = 1;      // >= 0
  int discount_bp = 0;            // 0..10000 basis points
  SubscriptionStatus status = SubscriptionStatus::kActive;

  bool operator==(const SubscriptionState&) const = default;
};

struct Subscription {
  SubscriptionId id;
  std::string external_id;  // unique per workspace
  CustomerId customer;
  std::string customer_external_id;
  Currency currency;
  Timestamp started_at;
  std::optional<Timestamp> ended_at;      // not before started_at
  std::vector<SubscriptionState> history;  // non-empty, sorted by effective_at, distinct times
};
Status ValidateSubscription(const Subscription& s);

// ---------------------------------------------------------------------------------------------
// Behavioural events (Segment spec)

enum class EventType { kTrack, kIdentify, kPage, kScreen, kGroup, kAlias };
std::string_view EventTypeName(EventType t);
Result<EventType> ParseEventType(std::string_view text);

struct Event {
  EventId id;
  EventType type = EventType::kTrack;
  std::string name;          // track: the event name; page/screen: the page name
  std::string message_id;    // the client's id, used for dedupe; 1..100 bytes
  std::string user_id;       // the customer's external id, or empty
  std::string anonymous_id;  // or empty; at least one of user_id/anonymous_id
  CustomerId customer;       // resolved customer, or invalid while anonymous
  Timestamp timestamp;
  Timestamp received_at;
  std::string properties_json;  // the properties object as a JSON text, "{}" when none
};
Status ValidateEvent(const Event& e);

// ---------------------------------------------------------------------------------------------
// API keys

// What a key may do. A tracking key is the public write key of the Segment spec: it sends
// tracking calls only (it ends up in browsers and apps). Secret keys: read ⊂ write ⊂ admin.
enum class Scope { kTracking, kRead, kWrite, kAdmin };
std::string_view ScopeName(Scope s);
Result<Scope> ParseScope(std::string_view text);
// True when a key of scope `held` may call a route that requires `required`.
bool ScopeAllows(Scope held, Scope required);

// A stored API key: never the key itself, only its SHA-256 and a displayable prefix.
struct ApiKey {
  std::int64_t id = 0;
  WorkspaceId workspace;
  Scope scope = Scope::kRead;
  std::string prefix;      // the key's first characters, to recognise it in lists
  std::string hash_hex;    // lower-case hex SHA-256 of the whole key
  std::string name;        // optional label
  int rate_per_minute = 0;  // request limit of this key; 0: none
  Timestamp created_at;
  std::optional<Timestamp> revoked_at;
};

}  // namespace treu
