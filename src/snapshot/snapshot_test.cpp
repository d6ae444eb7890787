#include "snapshot/snapshot.hpp"

#include <gtest/gtest.h>


#include "storage/sqlite/temp_store_testing.hpp"

namespace treu {
namespace {

// A fresh SQLite store with one workspace reporting in EUR.
class SnapshotTest : public ::testing::Test {
 protected:
  ManualClock clock{Timestamp::FromSeconds(1'700'000'000)};
  testing::TempSqliteStore temp{"treu-snapshot-test", clock};
  std::unique_ptr<Store>& store = temp.store;
  Workspace& w = temp.workspace;
};

TEST_F(SnapshotTest, BuildsColumnsFromTheStore) {
  {
    auto tx = store->BeginWrite(w.id).value();
    std::vector<std::string> ext{"c2", "c1"};
    const auto ids = tx->ResolveCustomers(ext, clock.Now()).value();
    std::vector<Order> orders(3);
    for (int i = 0; i < 3; ++i) {
      orders[i].external_id = "o" + std::to_string(i);
      orders[i].customer = ids[i == 2 ? 1 : 0];
      orders[i].placed_at = Timestamp::FromSeconds(3000 - 1000 * i);  // c2's later order first
      orders[i].total = Money{100 * (i + 1), *w.currency};
    }
    orders[1].refunds.push_back({Timestamp::FromSeconds(5000), 50});
    ASSERT_TRUE(tx->InsertOrders(orders));
    Subscription s;
    s.external_id = "s1";
    s.customer = ids[1];
    s.currency = *w.currency;
    s.started_at = Timestamp::FromSeconds(1000);
    s.ended_at = Timestamp::FromSeconds(9000);
    s.history.push_back({Timestamp::FromSeconds(1000), "basic", BillingInterval::kYear, 12000, 1, 0,
                         SubscriptionStatus::kActive});
    ASSERT_TRUE(tx->UpsertSubscriptions(std::span(&s, 1)));
    ASSERT_TRUE(tx->Commit());
  }
  const auto snap = BuildSnapshot(*store, w.id).value();
  ASSERT_EQ(snap->customers(), 2u);
  EXPECT_EQ(snap->external_id(0), "c2");
  const auto t = snap->order_times(0);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_LT(t[0], t[1]);  // sorted by time
  EXPECT_EQ(snap->order_totals(0)[0], 200);
  EXPECT_EQ(snap->refund_amounts(0)[0], 50);
  EXPECT_EQ(snap->order_totals(1)[0], 300);
  // 120.00 a year = 10.00 a month, from 1000 s until 9000 s.
  EXPECT_EQ(snap->MrrAt(1, Timestamp::FromSeconds(999)), 0);
  EXPECT_EQ(snap->MrrAt(1, Timestamp::FromSeconds(1000)), 1000 * kMrrUnitsPerMinor);
  EXPECT_EQ(snap->MrrAt(1, Timestamp::FromSeconds(9000)), 0);
  EXPECT_EQ(snap->FirstMrr(1), Timestamp::FromSeconds(1000));
  EXPECT_GT(snap->BaseBytes(), 0u);
}

TEST_F(SnapshotTest, LiveSnapshotAppliesCommittedChangesAndLeavesOldVersionsAlone) {
  const Currency eur = *w.currency;
  auto order = [&](const std::string& id, CustomerId c, std::int64_t at_s, std::int64_t total) {
    Order o;
    o.external_id = id;
    o.customer = c;
    o.placed_at = Timestamp::FromSeconds(at_s);
    o.total = Money{total, eur};
    return o;
  };
  std::vector<CustomerId> ids;
  {
    auto tx = store->BeginWrite(w.id).value();
    std::vector<std::string> ext{"c1", "c2"};
    ids = tx->ResolveCustomers(ext, clock.Now()).value();
    std::vector<Order> orders{order("o1", ids[0], 1000, 100), order("o2", ids[1], 2000, 200)};
    ASSERT_TRUE(tx->InsertOrders(orders));
    ASSERT_TRUE(tx->Commit());
  }
  auto live = LiveSnapshot::Open(*store, w.id).value();
  const auto v1 = live->current();
  ASSERT_EQ(v1->customers(), 2u);
  EXPECT_EQ(live->Refresh(*store).value(), v1);  // nothing changed: the same version
  {
    auto tx = store->BeginWrite(w.id).value();
    std::vector<std::string> ext{"c3"};
    const CustomerId c3 = tx->ResolveCustomers(ext, clock.Now()).value()[0];
    // An earlier order of c1 (kept in time order), an order of the new c3, a refund of o2.
    std::vector<Order> orders{order("o3", ids[0], 500, 50), order("o4", c3, 3000, 300), order("o2", ids[1], 2000, 200)};
    orders[2].refunds.push_back({Timestamp::FromSeconds(2500), 20});
    orders[2].status = OrderStatus::kRefunded;
    ASSERT_TRUE(tx->InsertOrders(orders));
    Subscription s;
    s.external_id = "s1";
    s.customer = ids[1];
    s.currency = eur;
    s.started_at = Timestamp::FromSeconds(1000);
    s.history.push_back({Timestamp::FromSeconds(1000), "basic", BillingInterval::kMonth, 900, 1, 0,
                         SubscriptionStatus::kActive});
    ASSERT_TRUE(tx->UpsertSubscriptions(std::span(&s, 1)));
    ASSERT_TRUE(tx->Commit());
  }
  const auto v2 = live->Refresh(*store).value();
  EXPECT_EQ(live->rebuilds(), 1);  // applied, not rebuilt
  ASSERT_EQ(v2->customers(), 3u);
  EXPECT_GT(v2->overlaid(), 0u);
  const auto c1_times = v2->order_times(0);
  ASSERT_EQ(c1_times.size(), 2u);
  EXPECT_EQ(c1_times[0], Timestamp::FromSeconds(500).micros);
  EXPECT_EQ(v2->order_totals(0)[0], 50);
  ASSERT_EQ(v2->refund_amounts(1).size(), 1u);
  EXPECT_EQ(v2->refund_amounts(1)[0], 20);
  EXPECT_EQ(v2->MrrAt(1, Timestamp::FromSeconds(1500)), 900 * kMrrUnitsPerMinor);
  EXPECT_EQ(v2->external_id(2), "c3");
  EXPECT_EQ(v2->order_totals(2)[0], 300);
  EXPECT_EQ(v2->total_orders(), 4);
  // The old version is untouched.
  EXPECT_EQ(v1->customers(), 2u);
  EXPECT_EQ(v1->order_times(0).size(), 1u);
  EXPECT_TRUE(v1->refund_amounts(1).empty());
  // The same as a fresh build.
  const auto fresh = BuildSnapshot(*store, w.id).value();
  for (Snapshot::Index c = 0; c < 3; ++c) {
    const auto a = v2->Facts(c);
    const auto b = fresh->Facts(c);
    EXPECT_EQ(a.external_id, b.external_id);
    EXPECT_EQ(a.order_at, b.order_at);
    EXPECT_EQ(a.order_total, b.order_total);
    EXPECT_EQ(a.refund_amount, b.refund_amount);
    EXPECT_EQ(a.mrr_value, b.mrr_value);
  }
  // A delete rebuilds.
  {
    auto tx = store->BeginWrite(w.id).value();
    ASSERT_TRUE(tx->DeleteOrder("o3").value());
    ASSERT_TRUE(tx->Commit());
  }
  const auto v3 = live->Refresh(*store).value();
  EXPECT_EQ(live->rebuilds(), 2);
  EXPECT_EQ(v3->overlaid(), 0u);
  EXPECT_EQ(v3->total_orders(), 3);
}

}  // namespace
}  // namespace treu
