// Outbox benchmarks on SQLite (a temporary file; TREU_BENCH_DB=postgresql://… for PostgreSQL),
// with rendered emails of about 3 KB (html and text):
// - BM_Enqueue/B: 100,000 messages enqueued in batches of B; items/s are durable messages/s
//   (each with its "queued" log line).
// - BM_Claim/L: claiming 100,000 due messages, at most L per call; items/s are messages/s.
// - BM_ClaimAndFinish/L: as BM_Claim, each message then finished as sent (its own transaction),
//   as a delivery worker does.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "storage/open.hpp"

namespace treu {
namespace {

constexpr int kMessages = 100'000;

struct World {
  SystemClock clock;
  std::filesystem::path path;
  std::unique_ptr<Store> store;
  Workspace ws;
  std::vector<CustomerId> customers;
  std::int64_t next_key = 0;

  World() {
    static int n = 0;
    const char* url = std::getenv("TREU_BENCH_DB");
    std::string db;
    if (url != nullptr && *url != '\0') {
      db = url;
    } else {
      path = std::filesystem::temp_directory_path() /
             ("treu-messaging-bench-" + std::to_string(::getpid()) + "-" + std::to_string(n) + ".db");
      db = "sqlite:" + path.string();
    }
    store = OpenStore(db, clock).value();
    Workspace w;
    w.name = "bench-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
    ws = store->CreateWorkspace(w).value();
    std::vector<std::string> ids;
    for (int i = 0; i < 1000; ++i) ids.push_back("c-" + std::to_string(i));
    auto txn = store->BeginWrite(ws.id).value();
    customers = txn->ResolveCustomers(ids, clock.Now()).value();
    txn->Commit().value();
  }
  ~World() {
    store.reset();
    if (!path.empty()) {
      for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + s);
    }
  }

  // `n` rendered emails with new idempotency keys, due now.
  std::vector<OutboxMessage> Batch(int n) {
    static const std::string html = [] {
      std::string h = "<html><body><h1>Hello Anna</h1>";
      while (h.size() < 2'200) h += "<p>Our spring collection is here: 20 % off everything until Sunday.</p>";
      return h + "</body></html>";
    }();
    static const std::string text(800, 't');
    std::vector<OutboxMessage> out(static_cast<std::size_t>(n));
    for (auto& m : out) {
      const std::int64_t k = next_key++;
      m.idempotency_key = "campaign-1:" + std::to_string(k);
      m.customer = customers[static_cast<std::size_t>(k % 1000)];
      m.campaign = "campaign-1";
      m.topic = "news";
      m.template_id = 1;
      m.recipient = "customer" + std::to_string(k) + "@example.de";
      m.subject = "Spring is here, Anna";
      m.html = html;
      m.text = text;
      m.next_attempt_at = Timestamp{0};
    }
    return out;
  }
};

void BM_Enqueue(benchmark::State& state) {
  World world;
  const int batch = static_cast<int>(state.range(0));
  std::int64_t added = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::vector<OutboxMessage> messages = world.Batch(batch);
    state.ResumeTiming();
    added += world.store->EnqueueMessages(world.ws.id, messages, world.clock.Now()).value();
  }
  state.SetItemsProcessed(added);
}
BENCHMARK(BM_Enqueue)->Arg(1'000)->Iterations(kMessages / 1'000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Enqueue)->Arg(10'000)->Iterations(kMessages / 10'000)->Unit(benchmark::kMillisecond)->UseRealTime();

void Claim(benchmark::State& state, bool finish) {
  World world;
  for (int i = 0; i < kMessages / 10'000; ++i) {
    world.store->EnqueueMessages(world.ws.id, world.Batch(10'000), world.clock.Now()).value();
  }
  const int limit = static_cast<int>(state.range(0));
  std::int64_t claimed = 0;
  for (auto _ : state) {
    const Timestamp now = world.clock.Now();
    const auto got = world.store->ClaimMessages(Channel::kEmail, now, 600 * kMicrosPerSecond, "w", limit).value();
    claimed += static_cast<std::int64_t>(got.size());
    if (!finish) continue;
    for (const OutboxMessage& m : got) {
      MessageOutcome o;
      o.id = m.id;
      o.worker = "w";
      o.state = MessageState::kSent;
      o.provider_id = "<" + std::to_string(m.id) + "@treu>";
      o.log_kind = "sent";
      o.log_detail = "250 2.0.0 Ok";
      o.at = now;
      if (!world.store->FinishMessage(o).value()) state.SkipWithError("lost a claim");
    }
  }
  state.SetItemsProcessed(claimed);
}
void BM_Claim(benchmark::State& state) { Claim(state, false); }
void BM_ClaimAndFinish(benchmark::State& state) { Claim(state, true); }
BENCHMARK(BM_Claim)->Arg(100)->Iterations(kMessages / 100)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ClaimAndFinish)->Arg(100)->Iterations(kMessages / 100 / 10)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace treu

BENCHMARK_MAIN();
