// Analytics on a snapshot of generated data (bench/synth sizes S, M, L):
//   BM_SnapshotBuild   lay out the snapshot from the generated facts (generation not timed)
//   BM_AllMetrics      every KPI for 12 monthly periods plus the customer and revenue cohort
//                      matrices, the work behind a dashboard's overview
//   BM_ApplyOneOrder   a new version with one more order of one customer (SnapshotEditor)
// Counters: bytes per customer and per order of the snapshot's base columns.
// Usage: treu_snapshot_bench [--benchmark_filter=/S$] (sizes S and M by default; add
// TREU_BENCH_L=1 for L, about 10M orders, which takes a few minutes to generate).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <algorithm>
#include <map>

#include "analytics/kpis.hpp"
#include "synth/synth.hpp"

namespace treu {
namespace {

// Collects generated data as per-customer facts (store-like ids: the customer's sequence).
class FactsSink final : public SynthSink {
 public:
  Status OnCustomer(const Customer& c) override {
    facts_.emplace_back();
    facts_.back().id = CustomerId{static_cast<std::int64_t>(facts_.size())};
    facts_.back().external_id = c.external_id;
    deltas_.clear();
    return Ok();
  }
  Status OnOrder(const Order& o) override {
    if (o.status == OrderStatus::kCancelled) return Ok();
    CustomerFacts& f = facts_.back();
    f.order_id.push_back(++order_seq_);
    f.order_at.push_back(o.placed_at.micros);
    f.order_total.push_back(o.total.minor);
    for (const auto& r : o.refunds) {
      f.refund_order.push_back(order_seq_);
      f.refund_at.push_back(r.refunded_at.micros);
      f.refund_amount.push_back(r.amount_minor);
    }
    return Ok();
  }
  Status OnSubscription(const Subscription& s) override {
    auto d = SnapshotBuilder::MrrDeltas(s);
    deltas_.insert(deltas_.end(), d.begin(), d.end());
    CustomerFacts& f = facts_.back();
    SnapshotBuilder::MrrPoints(deltas_, f.mrr_at, f.mrr_value);
    return Ok();
  }
  Status OnEvent(const Event&) override { return Ok(); }
  std::vector<CustomerFacts> facts_;

 private:
  std::int64_t order_seq_ = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> deltas_;
};

struct Data {
  Workspace workspace;
  std::vector<CustomerFacts> facts;
  std::shared_ptr<const Snapshot> snapshot;
};

const Data& Get(const std::string& size) {
  static std::map<std::string, Data> cache;
  auto it = cache.find(size);
  if (it != cache.end()) return it->second;
  SynthConfig config = SynthSize(size).value();
  config.events = false;
  FactsSink sink;
  if (auto s = GenerateSynth(config, sink); !s) std::abort();
  Data d;
  d.workspace.name = "bench";
  d.workspace.currency = Currency::FromCode("EUR").value();
  d.workspace.time_zone = "UTC";
  d.workspace.retention_basis = RetentionBasis::kBoth;
  d.facts = std::move(sink.facts_);
  SnapshotBuilder b(d.workspace);
  for (const auto& f : d.facts) b.AddFacts(f);
  d.snapshot = b.Build();
  return cache.emplace(size, std::move(d)).first->second;
}

std::string SizeOf(const benchmark::State& state) {
  static const char* kSizes[] = {"S", "M", "L"};
  return kSizes[state.range(0)];
}

void BM_SnapshotBuild(benchmark::State& state) {
  const Data& d = Get(SizeOf(state));
  std::shared_ptr<const Snapshot> snap;
  for (auto _ : state) {
    SnapshotBuilder b(d.workspace);
    for (const auto& f : d.facts) b.AddFacts(f);
    snap = b.Build();
    benchmark::DoNotOptimize(snap);
  }
  const double customers = static_cast<double>(snap->customers());
  const double orders = static_cast<double>(snap->total_orders());
  state.counters["customers"] = customers;
  state.counters["orders"] = orders;
  // Order columns (id, time, total) per order; everything else (ids, names, offsets, refunds,
  // MRR) per customer.
  const double order_bytes = 24;
  state.counters["bytes_per_order"] = order_bytes;
  state.counters["bytes_per_customer"] = (static_cast<double>(snap->BaseBytes()) - order_bytes * orders) / customers;
}

void BM_AllMetrics(benchmark::State& state) {
  const Data& d = Get(SizeOf(state));
  const Analytics a(d.snapshot);
  const KpiOptions o = DefaultKpiOptions(*d.snapshot);
  const Period last = Period::Parse("2025-12").value();
  for (auto _ : state) {
    benchmark::DoNotOptimize(a.ComputeSeries(last, 12, o));
    benchmark::DoNotOptimize(CohortsBoth(a, CohortOptions{}, o));
  }
}

void BM_ApplyOneOrder(benchmark::State& state) {
  const Data& d = Get(SizeOf(state));
  std::shared_ptr<const Snapshot> snap = d.snapshot;
  std::uint64_t x = 88172645463325252ull;
  std::int64_t order = 1'000'000'000;
  std::size_t most = 0;
  for (auto _ : state) {
    // LiveSnapshot folds the overlay into a new base beyond 1/16 of the customers.
    if (snap->overlaid() > snap->customers() / 16 + 64) {
      state.PauseTiming();
      most = std::max(most, snap->overlaid());
      snap = d.snapshot;
      state.ResumeTiming();
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const auto c = static_cast<Snapshot::Index>(x % snap->customers());
    auto facts = std::make_shared<CustomerFacts>(snap->Facts(c));
    facts->order_id.push_back(++order);
    facts->order_at.push_back(Timestamp::FromSeconds(1'767'225'600).micros);  // 2026-01-01
    facts->order_total.push_back(4200);
    SnapshotEditor editor(*snap);
    editor.Put(c, std::move(facts));
    snap = editor.Finish(snap->change_seq() + 1);
  }
  state.counters["max_overlaid"] = static_cast<double>(std::max(most, snap->overlaid()));
}

void Sizes(benchmark::internal::Benchmark* b) {
  b->Arg(0)->Arg(1);
  if (std::getenv("TREU_BENCH_L") != nullptr) b->Arg(2);
  b->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_SnapshotBuild)->Apply(Sizes)->Iterations(3);
BENCHMARK(BM_AllMetrics)->Apply(Sizes)->Iterations(3);
BENCHMARK(BM_ApplyOneOrder)->Apply(Sizes)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace treu

BENCHMARK_MAIN();
