// The journey pass on a real SQLite store, beside its baselines:
//  1. a burst: N customers (default 1,000,000) enter a journey at once (EnterCurrentMembers:
//     the segment's members read, re-entry checked, each run started and executed to its first
//     wait, runs and step counts written) — beside writing the same N runs straight to the store
//     (WriteJourneyRuns, the storage floor);
//  2. the wake: a day later every run's wait is over and the journey worker's pass
//     (RunJourneys) reads the due runs, executes a random split and a wait on each and writes
//     them back — beside the pure engine executing the same steps in memory.
// Prints wall times, runs/s and steps/s, and the ratios. A simulated clock moves the day on.
//
//   build/release/bench/journeys/treu_journey_pass_bench [--customers N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "journeys/definition_json.hpp"
#include "journeys/engine.hpp"
#include "journeys/service.hpp"
#include "segments/library.hpp"
#include "segments/membership.hpp"
#include "storage/sqlite/temp_store_testing.hpp"

namespace treu {
namespace {

constexpr std::string_view kJourney = R"({
  "name": "burst",
  "trigger": {"type": "segment_entered", "segment": "everyone"},
  "steps": [
    {"id": "first", "type": "wait", "days": 1, "next": "split"},
    {"id": "split", "type": "split", "branches": [{"weight": 1, "next": "morning"}, {"weight": 1, "next": "later"}]},
    {"id": "morning", "type": "wait_until", "time": "09:00", "next": "done"},
    {"id": "later", "type": "wait", "hours": 2, "next": "done"},
    {"id": "done", "type": "exit"}
  ]
})";

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", what, r.error().ToString().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

void Must(Status s, const char* what) {
  if (!s) {
    std::fprintf(stderr, "%s: %s\n", what, s.error().ToString().c_str());
    std::exit(1);
  }
}

int Run(int customers) {
  ManualClock clock(ParseTimestamp("2026-03-23T12:00:00Z", TimeZone::Utc()).value());
  testing::TempSqliteStore db("treu-journey-bench", clock);
  Store& store = *db.store;
  const Workspace& ws = db.workspace;
  const char* zones[] = {"Europe/Berlin", "America/New_York", "Asia/Tokyo"};
  std::fprintf(stderr, "setting up %d customers and their segment\n", customers);
  for (int from = 0; from < customers; from += 10'000) {
    std::vector<Customer> batch;
    for (int i = from; i < std::min(customers, from + 10'000); ++i) {
      Customer c;
      c.external_id = "c" + std::to_string(i);
      c.time_zone = zones[i % 3];
      batch.push_back(std::move(c));
    }
    auto tx = Must(store.BeginWrite(ws.id), "begin");
    Must(tx->UpsertCustomers(batch, clock.Now()), "customers");
    Must(tx->Commit(), "commit");
  }
  Must(segment::SaveChecked(store, ws.id, "everyone", "orders_count >= 0", clock.Now()), "segment");
  SnapshotCache snapshots;
  auto snap = Must(snapshots.Get(store, ws.id), "snapshot");
  Must(segment::RefreshSegments(store, ws, snap, clock.Now(), nullptr), "refresh");
  auto def = journeys::ParseJourneyText(kJourney);
  if (!def) return 1;
  const auto saved = Must(journeys::SaveJourney(store, ws, *def, "active", clock.Now()), "save");
  const std::vector<std::uint8_t> secret(32, 1);
  const journeys::RunOptions options{secret, nullptr};

  // 1. The burst, beside the storage floor.
  auto start = std::chrono::steady_clock::now();
  const auto entered = Must(journeys::EnterCurrentMembers(store, ws, snapshots, "burst", options, clock.Now()), "enter");
  const double burst = Seconds(start);
  journeys::JourneyDefinition floor_def = *def;
  floor_def.name = "floor";
  const auto floor = Must(journeys::SaveJourney(store, ws, floor_def, "paused", clock.Now()), "save floor");
  const auto members = Must(store.ListSegmentMembers(ws.id, Must(store.FindSegment(ws.id, "everyone"), "segment")->id, 0, 0),
                            "members");
  start = std::chrono::steady_clock::now();
  std::vector<JourneyRunRow> rows;
  for (const SegmentMember& m : members) {
    JourneyRunRow r;
    r.journey_id = floor.record.id;
    r.customer = m.customer;
    r.state = "waiting";
    r.wake_at = Timestamp{clock.Now().micros + kMicrosPerDay};
    r.entered_at = r.step_entered_at = clock.Now();
    r.steps_executed = 1;
    rows.push_back(std::move(r));
    if (rows.size() == 10'000) {
      Must(store.WriteJourneyRuns(ws.id, floor.record.id, rows, {}, nullptr), "floor");
      rows.clear();
    }
  }
  if (!rows.empty()) Must(store.WriteJourneyRuns(ws.id, floor.record.id, rows, {}, nullptr), "floor");
  const double floor_s = Seconds(start);

  Must(journeys::DeleteJourney(store, ws.id, "floor"), "delete floor");

  // 2. The wake, beside the pure engine.
  clock.Advance(kMicrosPerDay + 60 * kMicrosPerSecond);
  start = std::chrono::steady_clock::now();
  const auto woke = Must(journeys::RunJourneys(store, ws, snapshots, options, clock.Now()), "wake");
  const double wake = Seconds(start);
  const auto version = Must(journeys::LoadVersion(store, saved.record, 1), "version");
  std::vector<journeys::JourneyRun> runs;
  runs.reserve(members.size());
  for (const SegmentMember& m : members) {
    auto out = Must(journeys::Start(version, m.customer, Timestamp{clock.Now().micros - kMicrosPerDay - 60 * kMicrosPerSecond},
                                    TimeZone::Utc(), journeys::StepContext{}),
                    "start");
    runs.push_back(out.run);
  }
  start = std::chrono::steady_clock::now();
  std::int64_t engine_steps = 0;
  for (const journeys::JourneyRun& r : runs)
    engine_steps += Must(journeys::OnWake(version, r, journeys::StepContext{}, clock.Now()), "engine").steps;
  const double engine = Seconds(start);

  std::printf("customers                 %d\n", customers);
  std::printf("burst: enter + schedule   %8.2f s  %lld runs (%.0f runs/s)\n", burst,
              static_cast<long long>(entered.entered), static_cast<double>(entered.entered) / burst);
  std::printf("  storage floor           %8.2f s  the same runs written directly  (burst / floor = %.2f)\n", floor_s,
              burst / floor_s);
  std::printf("wake pass                 %8.2f s  %lld runs woken, %lld steps (%.0f steps/s)\n", wake,
              static_cast<long long>(woke.woken), static_cast<long long>(woke.steps),
              static_cast<double>(woke.steps) / wake);
  std::printf("  engine only             %8.3f s  %lld steps (%.0f steps/s)  (pass / engine = %.1f)\n", engine,
              static_cast<long long>(engine_steps), static_cast<double>(engine_steps) / engine, wake / engine);
  return 0;
}

}  // namespace
}  // namespace treu

int main(int argc, char** argv) {
  int customers = 1'000'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--customers") customers = std::atoi(argv[i + 1]);
  }
  if (customers < 1) {
    std::fprintf(stderr, "usage: %s [--customers N]\n", argv[0]);
    return 2;
  }
  return treu::Run(customers);
}
