#include "analytics/customer_view.hpp"

#include <gtest/gtest.h>

#include "storage/sqlite/temp_store_testing.hpp"

namespace treu {
namespace {

class CustomerViewTest : public ::testing::Test {
 protected:
  static Timestamp Day(int d) { return Timestamp{(19'000LL + d) * kMicrosPerDay}; }

  void SetUp() override {
    auto tx = store->BeginWrite(w.id).value();
    std::vector<Customer> customers(2);
    customers[0].external_id = "anna";
    customers[0].email = "anna@shop.example";
    customers[1].external_id = "ben";
    ASSERT_TRUE(tx->UpsertCustomers(customers, Day(0)));
    std::vector<std::string> ext{"anna", "ben"};
    ids = tx->ResolveCustomers(ext, Day(0)).value();
    std::vector<Order> orders(3);
    const int days[] = {10, 40, 20};
    for (int i = 0; i < 3; ++i) {
      orders[i].external_id = "o" + std::to_string(i);
      orders[i].customer = ids[i < 2 ? 0 : 1];
      orders[i].placed_at = Day(days[i]);
      orders[i].total = Money{1000 * (i + 1), *w.currency};
    }
    orders[1].refunds.push_back({Day(45), 500});
    ASSERT_TRUE(tx->InsertOrders(orders));
    Subscription s;
    s.external_id = "s1";
    s.customer = ids[0];
    s.currency = *w.currency;
    s.started_at = Day(30);
    s.history.push_back({Day(30), "basic", BillingInterval::kMonth, 2000, 1, 0, SubscriptionStatus::kActive});
    s.history.push_back({Day(60), "pro", BillingInterval::kMonth, 5000, 2, 0, SubscriptionStatus::kActive});
    ASSERT_TRUE(tx->UpsertSubscriptions(std::span(&s, 1)));
    Event e;
    e.type = EventType::kTrack;
    e.name = "Viewed Product";
    e.message_id = "m1";
    e.user_id = "anna";
    e.customer = ids[0];
    e.timestamp = e.received_at = Day(35);
    e.properties_json = R"({"sku":"x"})";
    ASSERT_TRUE(tx->InsertEvents(std::span(&e, 1)));
    ASSERT_TRUE(tx->Commit());
    SegmentDefinition d;
    d.workspace = w.id;
    d.name = "vip";
    d.expr = "orders_count >= 2";
    d.created_at = d.updated_at = Day(0);
    segment = store->SaveSegment(d).value();
    SegmentRefresh in{w.id, segment.id, Day(41), {ids[0]}, {}, 1, true};
    ASSERT_TRUE(store->ApplySegmentRefresh(in));
  }

  ManualClock clock{Day(100)};
  testing::TempSqliteStore temp{"treu-customer-view", clock};
  std::unique_ptr<Store>& store = temp.store;
  Workspace& w = temp.workspace;
  std::vector<CustomerId> ids;
  SegmentDefinition segment;
};

TEST_F(CustomerViewTest, FiguresAndOverview) {
  const auto snap = BuildSnapshot(*store, w.id).value();
  const Customer anna = store->FindCustomer(w.id, "anna").value().value();
  const CustomerOverview o = OverviewOf(*store, w.id, *snap, anna, Day(100)).value();
  EXPECT_EQ(o.figures.orders_count, 2);
  EXPECT_EQ(o.figures.revenue_minor, 1000 + 2000 - 500);
  EXPECT_DOUBLE_EQ(*o.figures.average_order_value, 12.5);
  EXPECT_EQ(*o.figures.first_order_at, Day(10));
  EXPECT_EQ(*o.figures.last_order_at, Day(40));
  EXPECT_EQ(o.figures.mrr_minor, 10000);
  EXPECT_EQ(o.segments, std::vector<std::string>{"vip"});
  EXPECT_FALSE(o.loyalty.has_value());
  const Customer ben = store->FindCustomer(w.id, "ben").value().value();
  const CustomerOverview b = OverviewOf(*store, w.id, *snap, ben, Day(100)).value();
  EXPECT_TRUE(b.segments.empty());
  EXPECT_EQ(b.figures.mrr_minor, 0);
  // Unknown to the snapshot: all zero, no average.
  const CustomerFigures none = FiguresOf(*snap, std::nullopt, Day(100));
  EXPECT_EQ(none.orders_count, 0);
  EXPECT_FALSE(none.average_order_value.has_value());
}

TEST_F(CustomerViewTest, TimelineMergesNewestFirst) {
  SegmentRefresh out{w.id, segment.id, Day(70), {}, {ids[0]}, 0, true};
  ASSERT_TRUE(store->ApplySegmentRefresh(out));
  const Customer anna = store->FindCustomer(w.id, "anna").value().value();
  const auto items = CustomerTimeline(*store, w.id, anna).value();
  std::vector<std::string> kinds;
  for (const auto& i : items) kinds.push_back(std::string(TimelineKindName(i.kind)) + "@" + std::to_string(i.at.micros / kMicrosPerDay - 19'000));
  EXPECT_EQ(kinds, (std::vector<std::string>{"segment_left@70", "subscription@60", "refund@45", "segment_entered@41",
                                             "order@40", "event@35", "subscription@30", "order@10"}));
  EXPECT_EQ(items[2].ref, "o1");
  EXPECT_EQ(items[2].amount->minor, 500);
  EXPECT_EQ(items[3].ref, "vip");
  EXPECT_EQ(items[5].ref, "Viewed Product");
  EXPECT_EQ(items[5].json, R"({"sku":"x"})");
  EXPECT_EQ(items[1].plan, "pro");
  EXPECT_EQ(items[7].title, "Order o0 (10.00 EUR)");
}

}  // namespace
}  // namespace treu
