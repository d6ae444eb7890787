#include "snapshot/snapshot.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "storage/sqlite/sqlite_store.hpp"

namespace treu {
namespace {

TEST(SnapshotTest, BuildsColumnsFromTheStore) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("treu-snapshot-test-" + std::to_string(::getpid()) + ".db");
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + s);
  ManualClock clock{Timestamp::FromSeconds(1'700'000'000)};
  auto store = OpenSqliteStore(path.string(), clock).value();
  Workspace w;
  w.name = "shop";
  w.currency = Currency::FromCode("EUR").value();
  w = store->CreateWorkspace(w).value();
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
  EXPECT_GT(snap->MemoryBytes(), 0u);
  store.reset();
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + s);
}

}  // namespace
}  // namespace treu
