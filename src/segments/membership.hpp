// Live segment membership: the built-in segments every workspace has, the re-evaluation of
// saved segments that records who entered and who left (Store::ApplySegmentRefresh), and the
// server's background refresher that keeps membership current as data changes and time passes.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/time.hpp"
#include "segments/library.hpp"

namespace treu::segment {

// The built-in segments of `ws` (name, expression): rfm_<name> for each RFM segment, at_risk,
// new and dormant (docs/segments.md).
std::vector<std::pair<std::string, std::string>> BuiltinSegments(const Workspace& ws);

// Creates the built-in segments `ws` lacks and updates those whose expression follows a
// workspace setting (dormant: the activity window). A segment the user saved under a
// built-in name is left alone.
Status EnsureBuiltinSegments(Store& store, const Workspace& ws, Timestamp now);

struct RefreshReport {
  std::size_t segments = 0;        // re-evaluated
  std::int64_t entered = 0, left = 0;
  std::vector<std::string> failed;  // "name: reason" of segments that couldn't be evaluated
  double seconds = 0;
};

// Re-evaluates every saved segment of `ws` over snapshot `s` as of `now` and records the
// changes: members added and removed, an entered/left transition each, and the size (when it
// changed, and at least once a day). Customers newer than `s` keep their membership until a
// later refresh sees them. `predictions` may be null. Ensures the built-in segments first.
Result<RefreshReport> RefreshSegments(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                      Timestamp now, PredictionCache* predictions);

// Re-evaluates the segments of every workspace on its own thread and store connection: when
// a workspace's data has changed (checked every `poll_seconds`) and at least every
// `interval_seconds` (time-dependent conditions such as now() - 90d drift). After a refresh
// that took t seconds the next one waits at least 5t, so a large workspace doesn't keep a
// core busy.
class SegmentRefresher {
 public:
  struct Options {
    int poll_seconds = 5;
    int interval_seconds = 300;
  };
  static Result<std::unique_ptr<SegmentRefresher>> Start(std::unique_ptr<Store> store, const Clock& clock,
                                                         SnapshotCache* snapshots, PredictionCache* predictions,
                                                         Options options);
  ~SegmentRefresher();  // finishes the refresh under way
  SegmentRefresher(const SegmentRefresher&) = delete;
  SegmentRefresher& operator=(const SegmentRefresher&) = delete;

  // Asks for a check of every workspace now (e.g. after a segment was saved).
  void Wake();

 private:
  SegmentRefresher(std::unique_ptr<Store> store, const Clock& clock, SnapshotCache* snapshots,
                   PredictionCache* predictions, Options options);
  void Run();
  void RefreshDue();

  struct State {
    std::int64_t seq = -1;
    Timestamp at;
    double seconds = 0;
    std::int64_t segments_version = -1;
  };
  std::unique_ptr<Store> store_;
  const Clock& clock_;
  SnapshotCache* snapshots_;
  PredictionCache* predictions_;
  Options options_;
  std::map<std::int64_t, State> state_;  // by workspace; the runner thread's
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool woken_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace treu::segment
