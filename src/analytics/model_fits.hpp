// Model fits requested over HTTP, run in the background one at a time, and the per-customer
// predictions a server keeps while they are current.
//
// ModelFits::Submit records a queued run (Store::CreateModelRun) and returns at once; a runner
// thread with its own store connection takes the workspace's snapshot, fits, and records the
// outcome (succeeded with the parameters, or failed with the reason). A run still queued or
// running when the server stopped is marked failed at the next start.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "analytics/predictions.hpp"

namespace treu {

class ModelFits {
 public:
  // `store` is the runner's own connection; `snapshots` the server's cache (may be null:
  // then each fit builds its snapshot). Marks runs left unfinished by an earlier process failed.
  static Result<std::unique_ptr<ModelFits>> Start(std::unique_ptr<Store> store, const Clock& clock,
                                                  SnapshotCache* snapshots);
  ~ModelFits();  // fails queued runs, waits for the running one
  ModelFits(const ModelFits&) = delete;
  ModelFits& operator=(const ModelFits&) = delete;

  // Queues a fit for workspace `ws`, recorded through the caller's `store`. InvalidArgument
  // for an unknown model or unit; Unavailable when stopping.
  Result<ModelRun> Submit(Store& store, WorkspaceId ws, const FitRequest& request);

 private:
  struct Queued {
    ModelRun run;
    FitRequest request;
  };
  ModelFits(std::unique_ptr<Store> store, const Clock& clock, SnapshotCache* snapshots);
  void Run();
  void RunOne(Queued& q);

  std::unique_ptr<Store> store_;  // the runner thread's
  const Clock& clock_;
  SnapshotCache* snapshots_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Queued> queue_;  // guarded by mu_
  bool stopping_ = false;     // guarded by mu_
  std::thread thread_;
};

// The per-customer predictions of each workspace, recomputed when the runs used or the day
// change, and when the snapshot has changed and the predictions are older than
// kMaxStaleSeconds (a busy shop's every order would otherwise recompute them all).
// Thread-safe.
class PredictionCache {
 public:
  static constexpr std::int64_t kMaxStaleSeconds = 60;

  Result<std::shared_ptr<const CustomerPredictions>> Get(const std::shared_ptr<const Snapshot>& s,
                                                         const PredictionRuns& runs, Timestamp now);

 private:
  struct Entry {
    std::int64_t seq = -1, purchase = 0, spend = 0;
    CivilDate day;
    Timestamp computed_at;
    std::shared_ptr<const CustomerPredictions> predictions;
  };
  std::mutex mu_;
  std::map<std::int64_t, Entry> entries_;  // by workspace; guarded by mu_
};

// Today's per-customer predictions of the snapshot's workspace from its newest runs (from
// `cache` when it has them; `cache` may be null). FailedPrecondition when the workspace's
// purchase model has never been fitted.
Result<std::shared_ptr<const CustomerPredictions>> CurrentPredictions(Store& store,
                                                                      const std::shared_ptr<const Snapshot>& s,
                                                                      Timestamp now, PredictionCache* cache);

// Today's predicted 12-month CLV per customer (for the clv_predicted KPI): null when the
// workspace's purchase model or gamma_gamma has not been fitted. `cache` may be null.
Result<std::shared_ptr<const std::vector<double>>> CurrentClv(Store& store, const std::shared_ptr<const Snapshot>& s,
                                                              Timestamp now, PredictionCache* cache);

}  // namespace treu
