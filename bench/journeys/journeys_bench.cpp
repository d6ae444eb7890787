// Journey engine benchmarks, pure CPU (no storage):
// - BM_SendWait/1000000: 1M customers enter a send → wait 1 day → send → exit journey (2 steps
//   each: the send and the wait), then all are woken (2 steps each: the second send and the
//   exit). items/s are executed steps/s.
// - BM_Winback: one customer through the win-back journey of docs/journeys.md (branch, points,
//   push, event wait, timeout, survey: 8 steps in 3 calls); items/s are steps/s.
// - BM_ParseWinback: reading and validating that definition from its JSON text.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <vector>

#include "journeys/definition_json.hpp"
#include "journeys/engine.hpp"
#include "journeys/winback_testing.hpp"

namespace treu::journeys {
namespace {

using ::treu::journeys::testing::kWinback;

constexpr const char* kSendWait = R"({
  "name": "sendwait", "trigger": {"type": "event", "event": "Signed Up"},
  "steps": [{"id": "hi", "type": "send", "template": "welcome", "next": "w"},
            {"id": "w", "type": "wait", "days": 1, "next": "tip"},
            {"id": "tip", "type": "send", "template": "tip", "next": "bye"},
            {"id": "bye", "type": "exit"}]})";

JourneyVersion VersionOf(const char* text) {
  auto def = ParseJourneyText(text);
  if (!def) std::abort();
  auto v = JourneyVersion::Create(1, 1, JourneyKey{}, std::move(*def));
  if (!v) std::abort();
  return std::move(*v);
}

void BM_SendWait(benchmark::State& state) {
  const JourneyVersion v = VersionOf(kSendWait);
  const auto n = static_cast<std::int64_t>(state.range(0));
  const Timestamp t0 = Timestamp::FromSeconds(1'780'000'000);
  const StepContext ctx;
  std::vector<JourneyRun> runs(static_cast<std::size_t>(n));
  std::int64_t steps = 0;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < n; ++i) {
      auto out = Start(v, CustomerId{i + 1}, t0, TimeZone::Utc(), ctx, i + 1);
      steps += out->steps;
      runs[static_cast<std::size_t>(i)] = std::move(out->run);
    }
    const Timestamp later{t0.micros + kMicrosPerDay};
    for (std::int64_t i = 0; i < n; ++i) {
      auto out = OnWake(v, runs[static_cast<std::size_t>(i)], ctx, later);
      steps += out->steps;
      benchmark::DoNotOptimize(out->run.state);
    }
  }
  state.SetItemsProcessed(steps);
}
BENCHMARK(BM_SendWait)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

void BM_Winback(benchmark::State& state) {
  const JourneyVersion v = VersionOf(kWinback);
  StepContext ctx;
  ctx.condition = [](std::string_view) -> Result<bool> { return false; };
  const Timestamp t0 = Timestamp::FromSeconds(1'780'000'000);
  std::int64_t steps = 0, customer = 0;
  for (auto _ : state) {
    auto a = Start(v, CustomerId{++customer}, t0, TimeZone::Utc(), ctx);
    auto b = OnWake(v, a->run, ctx, a->run.wake_at);
    auto c = OnWake(v, b->run, ctx, b->run.wake_at);
    steps += a->steps + b->steps + c->steps;
    benchmark::DoNotOptimize(c->run.state);
  }
  state.SetItemsProcessed(steps);
}
BENCHMARK(BM_Winback);

void BM_ParseWinback(benchmark::State& state) {
  for (auto _ : state) {
    auto def = ParseJourneyText(kWinback);
    benchmark::DoNotOptimize(def);
  }
}
BENCHMARK(BM_ParseWinback);

}  // namespace
}  // namespace treu::journeys

BENCHMARK_MAIN();
