// The loyalty ledger in a real store: concurrent redemptions never spend a point twice, and a
// seeded simulation with injected failures and retries keeps the stored ledger consistent.
// Built twice: against SQLite (treu_loyalty_test) and, with TREU_LOYALTY_PG, against the
// PostgreSQL server named by TREU_TEST_PG_URL (treu_loyalty_pgtest, run under
// scripts/with-postgres).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <latch>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "loyalty/catalog.hpp"
#include "loyalty/service.hpp"
#include "loyalty/writer.hpp"
#include "storage/open.hpp"

namespace treu::loyalty {
namespace {

using nlohmann::json;

constexpr Timestamp kStart = Timestamp::FromSeconds(1'780'000'000);  // 2026-05-28

// A clock many threads may read (the store stamps its change log with it).
class SharedClock final : public Clock {
 public:
  Timestamp Now() const override { return {now_.load()}; }
  void Advance(std::int64_t micros) { now_ += micros; }

 private:
  std::atomic<std::int64_t> now_{kStart.micros};
};

// Where the test's stores live: a temporary SQLite file, or the test PostgreSQL server. Every
// test makes a workspace of its own, so tests don't see each other's data.
class Backend {
 public:
  Backend() {
#ifdef TREU_LOYALTY_PG
    const char* url = std::getenv("TREU_TEST_PG_URL");
    if (url == nullptr || *url == '\0') {
      ADD_FAILURE() << "TREU_TEST_PG_URL is not set: run under scripts/with-postgres";
      return;
    }
    url_ = url;
#else
    static int n = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("treu-loyalty-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".db");
    url_ = "sqlite:" + path_.string();
#endif
  }
  ~Backend() {
    if (path_.empty()) return;
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + s);
  }
  bool ok() const { return !url_.empty(); }
  std::unique_ptr<Store> Open(const Clock& clock) const { return OpenStore(url_, clock).value(); }

 private:
  std::string url_;
  std::filesystem::path path_;
};

std::string UniqueName(const std::string& prefix) {
  static std::atomic<int> n{0};
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + "-" +
         std::to_string(std::random_device{}() % 100000);
}

struct Fixture {
  Backend backend;
  SharedClock clock;
  std::unique_ptr<Store> store;
  Workspace ws;
  Program program;
  LoyaltyReward reward;

  bool Setup(const json& definition) {
    if (!backend.ok()) return false;
    store = backend.Open(clock);
    Workspace w;
    w.name = UniqueName("loyalty");
    w.currency = Currency::FromCode("EUR").value();
    ws = store->CreateWorkspace(w).value();
    EXPECT_TRUE(SaveProgram(*store, ws, definition, clock.Now()));
    program = LoadProgram(*store, ws).value();
    reward = SaveReward(*store, ws.id, "coffee", json{{"title", "A coffee"}, {"kind", "free_product"}, {"points", 100}},
                        clock.Now())
                 .value();
    return true;
  }

  CustomerId Customer(const std::string& ext) {
    auto txn = store->BeginWrite(ws.id).value();
    const std::vector<std::string> ids = {ext};
    const CustomerId c = txn->ResolveCustomers(ids, clock.Now()).value().front();
    EXPECT_TRUE(txn->Commit());
    return c;
  }

  Status Run(Store& s, const std::function<Status(LoyaltyBatch&)>& work, LedgerCache* cache = nullptr) {
    TREU_ASSIGN_OR_RETURN(auto batch, LoyaltyBatch::Begin(s, ws, program, clock.Now(), cache));
    TREU_RETURN_IF_ERROR(work(*batch));
    return batch->Commit();
  }

  LoyaltyMember Member(CustomerId c) { return store->FindLoyaltyMember(ws.id, c).value().value(); }

  void ExpectConsistent() {
    auto report = VerifyLedger(*store, ws.id);
    ASSERT_TRUE(report) << report.error().ToString();
    for (const std::string& p : report->problems) ADD_FAILURE() << p;
  }
};

const json kProgram = {{"rules", json::array({{{"id", "spend"}, {"kind", "spend"}, {"points_per_unit", 1}}})},
                       {"tiers", json::array({{{"name", "member"}, {"threshold", 0}},
                                              {{"name", "silver"}, {"threshold", 500}},
                                              {{"name", "gold"}, {"threshold", 2000}}})},
                       {"tier_window_days", 30},
                       {"expiry_days", 20},
                       {"hold_minutes", 10}};

ManualTransfer Earn(std::string id, std::int64_t points) {
  return ManualTransfer{std::move(id), "earn", points, "test", std::nullopt, std::nullopt,
                        Source{SourceKind::kRule, "test", std::nullopt}};
}

#ifdef TREU_LOYALTY_PG
constexpr int kRounds = 3;
constexpr int kSimulationSteps = 300;
#else
constexpr int kRounds = 6;
constexpr int kSimulationSteps = 1200;
#endif

// 64 redemptions of 100 points race for a balance of 1,000: exactly 10 win, whatever the
// order. Half the requests go straight to the store on connections of their own (as from
// many processes), half through two group-commit writers with caches of their own (as two
// servers): the database lock is what serialises them all.
TEST(LoyaltyReliability, ConcurrentRedemptionsSpendEachPointOnce) {
  Fixture f;
  if (!f.Setup(kProgram)) return;
  for (int round = 0; round < kRounds; ++round) {
    const CustomerId c = f.Customer("race-" + std::to_string(round));
    ASSERT_TRUE(f.Run(*f.store, [&](LoyaltyBatch& b) { return StatusOf(b.Manual(c, Earn("seed-" + std::to_string(round), 1000))); }));
    LedgerCache cache_a, cache_b;
    // Warm both caches with the customer's ledger, so a stale cache would show.
    ASSERT_TRUE(f.Run(*f.store, [&](LoyaltyBatch& b) { return StatusOf(b.Member(c)); }, &cache_a));
    ASSERT_TRUE(f.Run(*f.store, [&](LoyaltyBatch& b) { return StatusOf(b.Member(c)); }, &cache_b));
    LoyaltyWriter writer_a(f.backend.Open(f.clock), f.clock, &cache_a);
    LoyaltyWriter writer_b(f.backend.Open(f.clock), f.clock, &cache_b);
    constexpr int kRequests = 64;
    std::latch start(kRequests);
    std::atomic<int> won{0}, refused{0}, other{0};
    std::mutex errors_mu;
    std::vector<std::string> errors;
    std::vector<std::thread> threads;
    for (int i = 0; i < kRequests; ++i) {
      threads.emplace_back([&, i] {
        std::mt19937 rng(static_cast<unsigned>(round * 1000 + i));
        const std::string id = "redeem-" + std::to_string(round) + "-" + std::to_string(i);
        // Hold then confirm (a reward), or redeem at once (points).
        auto work = [&, id, hold = i % 3 == 0](LoyaltyBatch& b) -> Status {
          if (!hold) {
            return StatusOf(b.Manual(c, ManualTransfer{id, "redeem", 100, "race", std::nullopt, std::nullopt,
                                                       Source{SourceKind::kRedemption, "race", std::nullopt}}));
          }
          TREU_ASSIGN_OR_RETURN(auto held, b.HoldReward(c, f.reward, id));
          return StatusOf(b.ConfirmRedemption(held.redemption.id));
        };
        std::unique_ptr<Store> own = i % 2 == 0 ? f.backend.Open(f.clock) : nullptr;
        start.arrive_and_wait();
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
        Status s = own ? f.Run(*own, work) : (i % 4 == 1 ? writer_a : writer_b).Run(f.ws, work);
        if (s) {
          ++won;
        } else if (s.error().code() == ErrorCode::kFailedPrecondition &&
                   s.error().detail().find("insufficient points") != std::string::npos) {
          ++refused;
        } else {
          ++other;
          std::lock_guard lock(errors_mu);
          errors.push_back(s.error().ToString());
        }
      });
    }
    for (auto& t : threads) t.join();
    for (const std::string& e : errors) ADD_FAILURE() << "round " << round << ": " << e;
    EXPECT_EQ(won.load(), 10) << "round " << round;
    EXPECT_EQ(refused.load(), kRequests - 10) << "round " << round;
    const LoyaltyMember m = f.Member(c);
    EXPECT_EQ(m.available, 0);
    EXPECT_EQ(m.held, 0);
    EXPECT_EQ(m.redeemed, 1000);
    f.ExpectConsistent();
  }
}

// A seeded random walk over the operations, with failures injected (a batch abandoned before
// its commit, as by a crash) and retries of earlier requests, on a cached and an uncached
// path; after every step the stored ledger replays to the member rows with all invariants.
TEST(LoyaltyReliability, SimulationWithFailuresAndRetriesStaysConsistent) {
  Fixture f;
  if (!f.Setup(kProgram)) return;
  std::mt19937_64 rng(20261124);
  std::vector<CustomerId> customers;
  for (int i = 0; i < 4; ++i) customers.push_back(f.Customer("sim-" + std::to_string(i)));
  LedgerCache cache;
  struct Done {
    CustomerId customer;
    ManualTransfer t;
  };
  std::vector<Done> done;  // committed manual transfers, to be retried
  std::vector<std::string> held;
  int next_id = 0, abandoned = 0, committed = 0, replays = 0;
  for (int step = 0; step < kSimulationSteps; ++step) {
    const CustomerId c = customers[rng() % customers.size()];
    const int op = static_cast<int>(rng() % 100);
    const bool abandon = rng() % 10 == 0;
    LedgerCache* use_cache = rng() % 2 == 0 ? &cache : nullptr;
    std::optional<Done> made;
    std::string hold_made;
    auto work = [&](LoyaltyBatch& b) -> Status {
      if (op < 30) {
        made = Done{c, Earn("e" + std::to_string(next_id++), 1 + static_cast<std::int64_t>(rng() % 400))};
        return StatusOf(b.Manual(c, made->t));
      }
      if (op < 45) {
        ManualTransfer t{"r" + std::to_string(next_id++), "redeem", 1 + static_cast<std::int64_t>(rng() % 300), "sim",
                         std::nullopt, std::nullopt, Source{SourceKind::kRedemption, "sim", std::nullopt}};
        made = Done{c, t};
        return StatusOf(b.Manual(c, t));
      }
      if (op < 55) {
        const std::int64_t points = static_cast<std::int64_t>(rng() % 200) - 100;
        ManualTransfer t{"a" + std::to_string(next_id++), "adjust", points == 0 ? 1 : points, "sim", std::nullopt,
                         std::nullopt, Source{SourceKind::kAdmin, "sim", 7}};
        made = Done{c, t};
        return StatusOf(b.Manual(c, t));
      }
      if (op < 65) {
        hold_made = "h" + std::to_string(next_id++);
        return StatusOf(b.HoldReward(c, f.reward, hold_made));
      }
      if (op < 75 && !held.empty()) {
        const std::string id = held[rng() % held.size()];
        return StatusOf((rng() % 2 == 0 ? b.ConfirmRedemption(id) : b.ReleaseRedemption(id)));
      }
      if (op < 85 && !done.empty()) {
        // A client retrying an earlier request: a replay, nothing changes.
        const Done& d = done[rng() % done.size()];
        TREU_ASSIGN_OR_RETURN(Posting p, b.Manual(d.customer, d.t));
        if (!p.replayed) return Internal("sim", "a retried transfer was applied again: " + d.t.id);
        ++replays;
        return {};
      }
      f.clock.Advance(static_cast<std::int64_t>(rng() % (3 * kMicrosPerDay)));
      return b.RunDue(c);
    };
    const std::int64_t before = f.store->ListLoyaltyTransfers(f.ws.id, CustomerId{}, 0, 1000000).value().size();
    auto batch = LoyaltyBatch::Begin(*f.store, f.ws, f.program, f.clock.Now(), use_cache);
    ASSERT_TRUE(batch) << batch.error().ToString();
    Status s = work(**batch);
    if (!s) {
      ASSERT_NE(s.error().code(), ErrorCode::kInternal) << "step " << step << ": " << s.error().ToString();
    }
    if (abandon) {
      batch->reset();  // rolled back: as if the process died before the commit
      ++abandoned;
      const std::int64_t after = f.store->ListLoyaltyTransfers(f.ws.id, CustomerId{}, 0, 1000000).value().size();
      ASSERT_EQ(after, before) << "step " << step << ": an abandoned batch left transfers behind";
    } else {
      ASSERT_TRUE((*batch)->Commit()) << "step " << step;
      ++committed;
      if (s && made) done.push_back(*made);
      if (s && !hold_made.empty()) held.push_back(hold_made);
    }
    f.ExpectConsistent();
    if (::testing::Test::HasFailure()) FAIL() << "at step " << step;
    // The tier is at least what the points earned in the window ending now qualify for
    // (upgrades happen at once), and never a tier the program doesn't have.
    for (CustomerId customer : customers) {
      auto m = f.store->FindLoyaltyMember(f.ws.id, customer).value();
      if (!m) continue;
      ASSERT_GE(TierRank(f.program, m->tier), 0);
    }
  }
  EXPECT_GT(abandoned, 0);
  EXPECT_GT(committed, kSimulationSteps / 2);
  EXPECT_GT(replays, 0);
}

}  // namespace
}  // namespace treu::loyalty
