#include "storage/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "storage/store_contract_test.hpp"

namespace treu {
namespace {

std::string TempDbPath() {
  static std::atomic<int> n{0};
  const auto dir = std::filesystem::temp_directory_path() /
                   ("treu-sqlite-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // Fresh even if an earlier process with the same pid left its files behind.
  const std::string path = (dir / ("t" + std::to_string(n++) + ".db")).string();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return path;
}

std::unique_ptr<Store> OpenFreshSqlite(const Clock& clock) {
  auto store = OpenSqliteStore(TempDbPath(), clock);
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  return store ? std::move(*store) : nullptr;
}

}  // namespace

namespace testing_contract {
INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContractTest, ::testing::Values(&OpenFreshSqlite));
}  // namespace testing_contract

namespace {

std::string Pragma(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  std::string out;
  if (sqlite3_step(s) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

TEST(SqliteStoreTest, UsesWalAndKeepsMigrationsOnReopen) {
  ManualClock clock(Timestamp::FromSeconds(1'700'000'000));
  const std::string path = TempDbPath();
  {
    auto store = OpenSqliteStore(path, clock).value();
    Workspace w;
    w.name = "shop";
    ASSERT_TRUE(store->CreateWorkspace(w));
  }
  auto again = OpenSqliteStore(path, clock);
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_TRUE((*again)->FindWorkspace("shop").has_value());
  EXPECT_EQ(Pragma(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(Pragma(path, "SELECT count(*) FROM schema_migrations"), "22");
  EXPECT_EQ(Pragma(path, "SELECT group_concat(name, ' ') FROM schema_migrations"),
            "001_initial.sql 002_api_keys.sql 003_idempotency.sql 004_identities.sql "
            "005_key_rate_limits.sql 006_lists_deletes_imports.sql 007_model_runs.sql "
            "008_segments.sql 009_segment_membership.sql 010_surveys.sql 011_survey_answers.sql 012_followups.sql "
            "013_loyalty.sql 014_dashboard_users.sql 015_dashboard_lookups.sql 016_messaging.sql "
            "017_channels.sql 018_campaigns.sql 019_campaign_messages.sql 020_journeys.sql 021_campaign_surveys.sql "
            "022_campaign_plans.sql");
  EXPECT_EQ(Pragma(path, "PRAGMA integrity_check"), "ok");
}

TEST(SqliteStoreTest, SecondWriterWaitsThenFailsAsUnavailable) {
  ManualClock clock(Timestamp::FromSeconds(1'700'000'000));
  const std::string path = TempDbPath();
  auto a = OpenSqliteStore(path, clock).value();
  Workspace w;
  w.name = "shop";
  const Workspace ws = a->CreateWorkspace(w).value();
  auto tx = a->BeginWrite(ws.id).value();
  // A second connection with a short busy timeout can't get the write lock.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 50);
  EXPECT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_BUSY);
  sqlite3_close(db);
  ASSERT_TRUE(tx->Commit());
}

TEST(SqliteStoreTest, ALockIsHeldByOneStoreUntilItCloses) {
  ManualClock clock(Timestamp::FromSeconds(1'700'000'000));
  const std::string path = TempDbPath();
  auto a = OpenSqliteStore(path, clock).value();
  auto b = OpenSqliteStore(path, clock).value();
  EXPECT_TRUE(a->HoldLock("journeys").value());
  EXPECT_TRUE(a->HoldLock("journeys").value()) << "asking again while holding it";
  EXPECT_FALSE(b->HoldLock("journeys").value()) << "another store on the database";
  EXPECT_TRUE(std::filesystem::exists(path + "-journeys.lock"));
  EXPECT_TRUE(b->HoldLock("other_work").value()) << "locks of other names are independent";
  EXPECT_FALSE(a->HoldLock("other_work").value());
  a.reset();
  EXPECT_TRUE(b->HoldLock("journeys").value()) << "closing a store lets go of its locks";
  EXPECT_EQ(b->HoldLock("Journeys!").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(b->HoldLock("").error().code(), ErrorCode::kInvalidArgument);
  auto memory = OpenSqliteStore(":memory:", clock).value();
  EXPECT_TRUE(memory->HoldLock("journeys").value()) << "an in-memory database is this store's alone";
  b.reset();
  for (const char* lock : {"-journeys.lock", "-other_work.lock"}) std::filesystem::remove(path + lock);
}

TEST(SqliteStoreTest, BackupIsAConsistentCopy) {
  ManualClock clock(Timestamp::FromSeconds(1'700'000'000));
  const std::string path = TempDbPath();
  auto store = OpenSqliteStore(path, clock).value();
  Workspace w;
  w.name = "shop";
  const Workspace ws = store->CreateWorkspace(w).value();
  {
    auto tx = store->BeginWrite(ws.id).value();
    std::vector<std::string> ids{"a", "b", "c"};
    ASSERT_TRUE(tx->ResolveCustomers(ids, clock.Now()));
    ASSERT_TRUE(tx->Commit());
  }
  const std::string copy = TempDbPath();
  ASSERT_TRUE(BackupSqlite(path, copy));
  auto restored = OpenSqliteStore(copy, clock).value();
  const auto ws2 = restored->FindWorkspace("shop").value();
  EXPECT_EQ(restored->Counts(ws2.id).value().customers, 3);
  EXPECT_EQ(Pragma(copy, "PRAGMA integrity_check"), "ok");
}

TEST(SqliteStoreTest, BulkInsertsLogOneChangeRowPerRunAndKeepForeignKeys) {
  ManualClock clock(Timestamp::FromSeconds(1'700'000'000));
  const std::string path = TempDbPath();
  auto store = OpenSqliteStore(path, clock).value();
  Workspace w;
  w.name = "shop";
  const Workspace ws = store->CreateWorkspace(w).value();
  auto tx = store->BeginWrite(ws.id).value();
  std::vector<std::string> ext;
  for (int i = 0; i < 500; ++i) ext.push_back("c" + std::to_string(i));
  const auto ids = tx->ResolveCustomers(ext, clock.Now()).value();
  std::vector<Order> orders;
  for (int i = 0; i < 1000; ++i) {
    Order o;
    o.external_id = "o" + std::to_string(i);
    o.customer = ids[static_cast<std::size_t>(i % 500)];
    o.placed_at = Timestamp::FromSeconds(i);
    o.total = Money{100, Currency::FromCode("EUR").value()};
    orders.push_back(o);
  }
  ASSERT_TRUE(tx->InsertOrders(orders));
  ASSERT_TRUE(tx->Commit());
  EXPECT_EQ(Pragma(path, "PRAGMA foreign_key_check"), "");
  const auto changes = store->ReadChanges(ws.id, 0, 100).value();
  ASSERT_EQ(changes.size(), 3u);  // workspace, 500 customers, 1000 orders
  EXPECT_EQ(changes[1].count(), 500);
  EXPECT_EQ(changes[2].entity, Entity::kOrder);
  EXPECT_EQ(changes[2].count(), 1000);
}

TEST(SqliteStoreTest, OpenFailsClearlyForABadPath) {
  ManualClock clock(Timestamp::FromSeconds(0));
  auto store = OpenSqliteStore("/nonexistent-dir/x/y.db", clock);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(store.error().ToString().find("/nonexistent-dir/x/y.db"), std::string::npos);
}

}  // namespace
}  // namespace treu
