#include "analytics/customer_table.hpp"

#include <gtest/gtest.h>


#include "storage/sqlite/temp_store_testing.hpp"

namespace treu {
namespace {

class CustomerTableTest : public ::testing::Test {
 protected:
  static Timestamp Day(int d) { return Timestamp{(19'000LL + d) * kMicrosPerDay}; }  // 2022-01-08 + d

  ManualClock clock{Day(100)};
  testing::TempSqliteStore temp{"treu-customer-table", clock};
  std::unique_ptr<Store>& store = temp.store;
  Workspace& w = temp.workspace;
};

TEST_F(CustomerTableTest, HoldsProfileOrdersSubscriptionsAndNulls) {
  {
    auto tx = store->BeginWrite(w.id).value();
    std::vector<Customer> customers(3);
    customers[0].external_id = "anna";
    customers[0].email = "anna@shop.example";
    customers[0].country = "DE";
    customers[0].attributes["plan_size"] = 3.0;
    customers[0].attributes["source"] = std::string("ads");
    customers[0].consent[Channel::kEmail] = {true, "import", Day(1)};
    customers[1].external_id = "ben";
    customers[1].attributes["source"] = 7.0;  // another type: the column becomes text
    customers[1].consent[Channel::kEmail] = {false, "api", Day(2)};
    customers[2].external_id = "cleo";  // no data at all
    ASSERT_TRUE(tx->UpsertCustomers(customers, Day(0)));
    std::vector<std::string> ext{"anna", "ben"};
    const auto ids = tx->ResolveCustomers(ext, Day(0)).value();
    std::vector<Order> orders(3);
    const int days[] = {10, 40, 20};
    for (int i = 0; i < 3; ++i) {
      orders[i].external_id = "o" + std::to_string(i);
      orders[i].customer = ids[i < 2 ? 0 : 1];
      orders[i].placed_at = Day(days[i]);
      orders[i].total = Money{1000 * (i + 1), *w.currency};
    }
    orders[1].refunds.push_back({Day(45), 500});
    orders.push_back(orders[0]);  // a future order does not count yet
    orders[3].external_id = "later";
    orders[3].placed_at = Day(200);
    ASSERT_TRUE(tx->InsertOrders(orders));
    Subscription s;
    s.external_id = "s1";
    s.customer = ids[1];
    s.currency = *w.currency;
    s.started_at = Day(30);
    s.history.push_back({Day(30), "basic", BillingInterval::kMonth, 2000, 1, 0, SubscriptionStatus::kActive});
    s.history.push_back({Day(60), "pro", BillingInterval::kMonth, 5000, 2, 0, SubscriptionStatus::kActive});
    ASSERT_TRUE(tx->UpsertSubscriptions(std::span(&s, 1)));
    ASSERT_TRUE(tx->Commit());
  }
  const auto snap = BuildSnapshot(*store, w.id).value();
  const CustomerTable t = BuildCustomerTable(*store, *snap, nullptr, Day(100)).value();
  ASSERT_EQ(t.customers, 3u);
  std::map<std::string, Snapshot::Index> at;
  for (Snapshot::Index c = 0; c < 3; ++c) at[snap->external_id(c)] = c;
  const auto anna = at["anna"], ben = at["ben"], cleo = at["cleo"];
  auto text = [&](const char* name, Snapshot::Index c) {
    const Column& col = *t.Find(name);
    return col.IsNull(c) ? std::string("null") : col.dictionary[static_cast<std::size_t>(col.codes[c])];
  };
  EXPECT_EQ(text("email", anna), "anna@shop.example");
  EXPECT_EQ(text("email", cleo), "null");
  EXPECT_EQ(text("country", anna), "DE");
  EXPECT_EQ(t.Find("attributes.plan_size")->type, ColumnType::kNumber);
  EXPECT_EQ(t.Find("attributes.plan_size")->numbers[anna], 3.0);
  EXPECT_TRUE(t.Find("attributes.plan_size")->IsNull(ben));
  EXPECT_EQ(text("attributes.source", anna), "ads");
  EXPECT_EQ(text("attributes.source", ben), "7");
  EXPECT_EQ(t.Find("consent.email")->bools[anna], 1);
  EXPECT_EQ(t.Find("consent.email")->bools[ben], 0);
  EXPECT_EQ(t.Find("consent.email")->bools[cleo], -1);

  const Column& orders = *t.Find("orders_count");
  EXPECT_EQ(orders.numbers[anna], 2);  // the order on day 200 is in the future
  EXPECT_EQ(orders.numbers[ben], 1);
  EXPECT_EQ(orders.numbers[cleo], 0);
  EXPECT_EQ(t.Find("revenue_total")->type, ColumnType::kMoney);
  EXPECT_DOUBLE_EQ(t.Find("revenue_total")->numbers[anna], 10 + 20 - 5);  // net of the refund
  EXPECT_DOUBLE_EQ(t.Find("average_order_value")->numbers[anna], 12.5);
  EXPECT_TRUE(t.Find("average_order_value")->IsNull(cleo));
  EXPECT_EQ(t.Find("first_order_at")->times[anna], Day(10).micros);
  EXPECT_EQ(t.Find("last_order_at")->times[anna], Day(40).micros);
  EXPECT_EQ(t.Find("days_since_last_order")->numbers[anna], 60);
  EXPECT_TRUE(t.Find("last_order_at")->IsNull(cleo));

  EXPECT_DOUBLE_EQ(t.Find("mrr")->numbers[ben], 100);  // pro: 50.00 × 2 a month
  EXPECT_EQ(t.Find("tenure_days")->numbers[ben], 70);
  EXPECT_EQ(text("plan", ben), "pro");
  EXPECT_EQ(text("subscription_status", ben), "active");
  EXPECT_TRUE(t.Find("mrr")->IsNull(anna));
  EXPECT_EQ(text("plan", anna), "null");
  EXPECT_EQ(t.Find("p_alive"), nullptr);  // no predictions given

  // With predictions: their columns, nulls where a customer has none.
  CustomerPredictions p;
  p.p_alive = {NAN, NAN, NAN};
  p.expected_purchases_90d = p.expected_value = p.clv_12m = p.p_alive;
  p.rfm_r = p.rfm_f = p.rfm_m = {0, 0, 0};
  p.rfm_segment.assign(3, std::nullopt);
  p.p_alive[anna] = 0.8;
  p.clv_12m[anna] = 42.5;
  p.rfm_r[anna] = 5;
  p.rfm_segment[anna] = RfmSegment::kChampions;
  const CustomerTable with = BuildCustomerTable(*store, *snap, &p, Day(100)).value();
  EXPECT_EQ(with.Find("p_alive")->numbers[anna], 0.8);
  EXPECT_TRUE(with.Find("p_alive")->IsNull(cleo));
  EXPECT_EQ(with.Find("clv_12m")->type, ColumnType::kMoney);
  EXPECT_EQ(with.Find("rfm_r")->numbers[anna], 5);
  EXPECT_TRUE(with.Find("rfm_r")->IsNull(ben));
  const Column& seg = *with.Find("rfm_segment");
  EXPECT_EQ(seg.dictionary[static_cast<std::size_t>(seg.codes[anna])], "champions");
  EXPECT_TRUE(seg.IsNull(cleo));
}

}  // namespace
}  // namespace treu
