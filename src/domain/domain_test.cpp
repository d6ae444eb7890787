#include "domain/domain.hpp"

#include <gtest/gtest.h>

namespace treu {
namespace {

Order ValidOrder() {
  Order o;
  o.external_id = "o-1";
  o.placed_at = Timestamp::FromSeconds(1000);
  o.total = Money{1000, Currency::FromCode("EUR").value()};
  return o;
}

TEST(WorkspaceTest, Validates) {
  Workspace w;
  w.name = "shop-1";
  EXPECT_TRUE(ValidateWorkspace(w));
  w.name = "no spaces";
  EXPECT_EQ(ValidateWorkspace(w).error().ToString(),
            "workspace name: 'no spaces' must be 1 to 64 letters, digits, '_', '-' or '.'");
  w.name = "ok";
  w.time_zone = "Nowhere/Land";
  EXPECT_FALSE(ValidateWorkspace(w));
  w.time_zone = "Europe/Berlin";
  w.activity_window_days = 0;
  EXPECT_FALSE(ValidateWorkspace(w));
}

TEST(CustomerTest, Validates) {
  Customer c;
  c.external_id = "c1";
  c.email = "anna@example.de";
  c.country = "DE";
  c.locale = "de-DE";
  c.time_zone = "Europe/Berlin";
  c.attributes["plan_tier"] = std::string("gold");
  EXPECT_TRUE(ValidateCustomer(c));
  c.email = "anna";
  EXPECT_EQ(ValidateCustomer(c).error().ToString(), "email: 'anna' is not an email address");
  c.email = "";
  c.country = "de";
  EXPECT_FALSE(ValidateCustomer(c));
  c.country = "";
  c.external_id = "";
  EXPECT_EQ(ValidateCustomer(c).error().ToString(), "customer_id: is required");
  c.external_id = "c\x01";
  EXPECT_EQ(ValidateCustomer(c).error().ToString(), "customer_id: contains a control character");
  c.external_id = "c\xC3";
  EXPECT_EQ(ValidateCustomer(c).error().ToString(), "customer_id: is not valid UTF-8");
  c.external_id = "K\xC3\xBChn";  // Kühn
  EXPECT_TRUE(ValidateCustomer(c));
  c.attributes["bad name"] = 1.0;
  EXPECT_FALSE(ValidateCustomer(c));
}

TEST(AttributeTest, TypesValuesAndRoundTrips) {
  const TimeZone utc = TimeZone::Utc();
  EXPECT_EQ(TypeOf(ParseAttributeValue("true", utc)), AttributeType::kBool);
  EXPECT_EQ(TypeOf(ParseAttributeValue("12.5", utc)), AttributeType::kNumber);
  EXPECT_EQ(TypeOf(ParseAttributeValue("-3", utc)), AttributeType::kNumber);
  EXPECT_EQ(TypeOf(ParseAttributeValue("1e5", utc)), AttributeType::kString);
  EXPECT_EQ(TypeOf(ParseAttributeValue("1990-05-17", utc)), AttributeType::kTime);
  EXPECT_EQ(TypeOf(ParseAttributeValue("12 Main St", utc)), AttributeType::kString);
  for (const char* text : {"true", "12.5", "gold", "2024-03-01T10:00:00Z"}) {
    const AttributeValue v = ParseAttributeValue(text, utc);
    EXPECT_EQ(ParseAttributeValue(FormatAttributeValue(v), utc), v) << text;
  }
}

TEST(OrderTest, Validates) {
  Order o = ValidOrder();
  EXPECT_TRUE(ValidateOrder(o));
  o.total.minor = -1;
  EXPECT_EQ(ValidateOrder(o).error().ToString(),
            "total: must not be negative (record returns as refunds)");
  o = ValidOrder();
  o.refunds.push_back({Timestamp::FromSeconds(2000), 600});
  o.refunds.push_back({Timestamp::FromSeconds(3000), 400});
  EXPECT_TRUE(ValidateOrder(o));
  o.refunds.push_back({Timestamp::FromSeconds(3000), 1});
  EXPECT_EQ(ValidateOrder(o).error().ToString(), "refunded_total: refunds exceed the order total");
  o = ValidOrder();
  o.refunds.push_back({Timestamp::FromSeconds(10), 1});
  EXPECT_EQ(ValidateOrder(o).error().ToString(), "refunded_at: is before the order was placed");
  o = ValidOrder();
  o.lines.push_back({"p1", 0, 100});
  EXPECT_EQ(ValidateOrder(o).error().ToString(), "lines[0].quantity: must be at least 1");
}

TEST(SubscriptionTest, Validates) {
  Subscription s;
  s.external_id = "s1";
  s.currency = Currency::FromCode("EUR").value();
  s.started_at = Timestamp::FromSeconds(100);
  s.history.push_back({Timestamp::FromSeconds(100), "pro", BillingInterval::kMonth, 4900, 2, 0,
                       SubscriptionStatus::kActive});
  EXPECT_TRUE(ValidateSubscription(s));
  s.history.push_back(s.history.back());
  EXPECT_EQ(ValidateSubscription(s).error().ToString(),
            "effective_at: changes must have distinct, increasing times");
  s.history.pop_back();
  s.history[0].discount_bp = 10001;
  EXPECT_FALSE(ValidateSubscription(s));
  s.history[0].discount_bp = 0;
  s.ended_at = Timestamp::FromSeconds(50);
  EXPECT_EQ(ValidateSubscription(s).error().ToString(), "ended_at: is before started_at");
}

TEST(EnumTest, ParsesNamesAndListsAlternatives) {
  EXPECT_EQ(ParseOrderStatus("Completed").value(), OrderStatus::kCompleted);
  EXPECT_EQ(ParseOrderStatus("done").error().ToString(),
            "status: 'done' is not one of completed, refunded, cancelled");
  EXPECT_EQ(ParseBillingInterval("year").value(), BillingInterval::kYear);
  EXPECT_EQ(ParseRetentionBasis("both").value(), RetentionBasis::kBoth);
  EXPECT_EQ(ChannelName(Channel::kInApp), "inapp");
}

TEST(ScopeTest, SecretScopesNestAndTrackingStandsAlone) {
  EXPECT_TRUE(ScopeAllows(Scope::kAdmin, Scope::kWrite));
  EXPECT_TRUE(ScopeAllows(Scope::kWrite, Scope::kRead));
  EXPECT_FALSE(ScopeAllows(Scope::kRead, Scope::kWrite));
  EXPECT_FALSE(ScopeAllows(Scope::kTracking, Scope::kRead));
  EXPECT_FALSE(ScopeAllows(Scope::kAdmin, Scope::kTracking));
  EXPECT_TRUE(ScopeAllows(Scope::kTracking, Scope::kTracking));
  EXPECT_EQ(ParseScope("admin").value(), Scope::kAdmin);
  EXPECT_FALSE(ParseScope("root").has_value());
}

TEST(EventTest, Validates) {
  Event e;
  e.message_id = "m1";
  e.name = "Order Completed";
  e.user_id = "c1";
  EXPECT_TRUE(ValidateEvent(e));
  e.user_id = "";
  EXPECT_EQ(ValidateEvent(e).error().ToString(), "userId: userId or anonymousId is required");
}

}  // namespace
}  // namespace treu
