// Loyalty benchmarks on SQLite (a temporary file; TREU_BENCH_DB=postgresql://… for PostgreSQL):
// - BM_BalanceAndTier/member_row: one customer's balance and tier after 10,000 transfers, read
//   from the member row — against BM_BalanceAndTier/replay, the same answer by replaying the
//   customer's stored transfers (what the row saves). Goal: under 1 ms.
// - BM_DurableEarns/G: earn transfers through the service, G per commit (1: each alone; 64:
//   as the API's group-commit writer groups concurrent requests); items/s are durable transfers/s.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "loyalty/catalog.hpp"
#include "loyalty/service.hpp"
#include "storage/open.hpp"

namespace treu::loyalty {
namespace {

struct World {
  SystemClock clock;
  std::filesystem::path path;
  std::unique_ptr<Store> store;
  Workspace ws;
  Program program;
  std::vector<CustomerId> customers;
  CustomerId heavy;
  int next = 0;

  World() {
    const char* url = std::getenv("TREU_BENCH_DB");
    std::string db;
    if (url != nullptr && *url != '\0') {
      db = url;
    } else {
      path = std::filesystem::temp_directory_path() / ("treu-loyalty-bench-" + std::to_string(::getpid()) + ".db");
      db = "sqlite:" + path.string();
    }
    store = OpenStore(db, clock).value();
    Workspace w;
    w.name = "bench-" + std::to_string(::getpid());
    w.currency = Currency::FromCode("EUR").value();
    ws = store->CreateWorkspace(w).value();
    const nlohmann::json definition = {
        {"tiers", {{{"name", "basic"}, {"threshold", 0}}, {{"name", "silver"}, {"threshold", 1000}}}},
        {"expiry_days", 365}};
    SaveProgram(*store, ws, definition, clock.Now()).value();
    program = LoadProgram(*store, ws).value();
    std::vector<std::string> ids;
    for (int i = 0; i < 1000; ++i) ids.push_back("c-" + std::to_string(i));
    auto txn = store->BeginWrite(ws.id).value();
    customers = txn->ResolveCustomers(ids, clock.Now()).value();
    txn->Commit().value();
    heavy = customers.front();
    // 10,000 transfers for one customer: earns and redemptions.
    auto batch = LoyaltyBatch::Begin(*store, ws, program, clock.Now(), nullptr).value();
    for (int i = 0; i < 10'000; ++i) {
      const bool earn = i % 4 != 3;
      batch
          ->Manual(heavy, ManualTransfer{"h" + std::to_string(i), earn ? "earn" : "redeem", earn ? 20 : 30, "bench",
                                         std::nullopt, std::nullopt,
                                         Source{earn ? SourceKind::kRule : SourceKind::kRedemption, "bench", std::nullopt}})
          .value();
    }
    batch->Commit().value();
  }
  ~World() {
    store.reset();
    if (!path.empty()) {
      for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + s);
    }
  }
};

World& TheWorld() {
  static World w;
  return w;
}

void BM_BalanceAndTier_MemberRow(benchmark::State& state) {
  World& w = TheWorld();
  std::int64_t points = 0;
  std::size_t tier_bytes = 0;
  for (auto _ : state) {
    auto m = w.store->FindLoyaltyMember(w.ws.id, w.heavy);
    if (!m || !*m) state.SkipWithError("no member row");
    points += (**m).available;
    tier_bytes += (**m).tier.size();
  }
  benchmark::DoNotOptimize(points);
  benchmark::DoNotOptimize(tier_bytes);
  state.counters["transfers"] = static_cast<double>(w.store->FindLoyaltyMember(w.ws.id, w.heavy).value()->transfers);
}
BENCHMARK(BM_BalanceAndTier_MemberRow)->Unit(benchmark::kMicrosecond);

void BM_BalanceAndTier_Replay(benchmark::State& state) {
  World& w = TheWorld();
  for (auto _ : state) {
    auto records = w.store->ListLoyaltyTransfers(w.ws.id, w.heavy, 0, 1'000'000).value();
    Ledger ledger;
    for (const auto& r : records) ledger.Apply(FromRecord(r).value()).value();
    TierState tier = InitialTier(w.program, Timestamp{});
    AdvanceTier(w.program, tier, w.clock.Now(),
                [&](Timestamp from, Timestamp to) { return ledger.LifetimeEarned(w.heavy, from, to); });
    benchmark::DoNotOptimize(ledger.BalanceOf(w.heavy));
  }
}
BENCHMARK(BM_BalanceAndTier_Replay)->Unit(benchmark::kMillisecond);

void BM_DurableEarns(benchmark::State& state) {
  World& w = TheWorld();
  const int group = static_cast<int>(state.range(0));
  LedgerCache cache;
  for (auto _ : state) {
    auto batch = LoyaltyBatch::Begin(*w.store, w.ws, w.program, w.clock.Now(), &cache).value();
    for (int i = 0; i < group; ++i) {
      const int n = w.next++;
      batch
          ->Manual(w.customers[1 + n % (w.customers.size() - 1)],
                   ManualTransfer{"e" + std::to_string(n), "earn", 10, "bench", std::nullopt, std::nullopt,
                                  Source{SourceKind::kRule, "bench", std::nullopt}})
          .value();
    }
    batch->Commit().value();
  }
  state.SetItemsProcessed(state.iterations() * group);
}
BENCHMARK(BM_DurableEarns)->Arg(1)->Arg(16)->Arg(64)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

}  // namespace
}  // namespace treu::loyalty

BENCHMARK_MAIN();
