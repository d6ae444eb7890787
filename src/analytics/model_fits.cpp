#include "analytics/model_fits.hpp"

namespace treu {

Result<std::unique_ptr<ModelFits>> ModelFits::Start(std::unique_ptr<Store> store, const Clock& clock,
                                                    SnapshotCache* snapshots) {
  TREU_RETURN_IF_ERROR(store->FailUnfinishedModelRuns("the server stopped before the fit finished", clock.Now()));
  return std::unique_ptr<ModelFits>(new ModelFits(std::move(store), clock, snapshots));
}

ModelFits::ModelFits(std::unique_ptr<Store> store, const Clock& clock, SnapshotCache* snapshots)
    : store_(std::move(store)), clock_(clock), snapshots_(snapshots), thread_([this] { Run(); }) {}

ModelFits::~ModelFits() {
  std::deque<Queued> dropped;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  thread_.join();
  for (Queued& q : dropped) {
    q.run.status = JobStatus::kFailed;
    q.run.error = "the server stopped before the fit started";
    q.run.finished_at = clock_.Now();
    (void)store_->UpdateModelRun(q.run);
  }
}

Result<ModelRun> ModelFits::Submit(Store& store, WorkspaceId ws, const FitRequest& request) {
  TREU_ASSIGN_OR_RETURN(auto models, ParseModelList("model", request.model));
  if (models.size() != 1) return InvalidArgument("model", "fit one model at a time");
  if (request.unit_days != 7 && request.unit_days != 1) return InvalidArgument("unit", "must be week or day");
  ModelRun run;
  run.workspace = ws;
  run.model = request.model;
  run.status = JobStatus::kQueued;
  run.calibration_end = request.calibration_end.value_or(CivilFromDays(clock_.Now().micros / kMicrosPerDay));
  run.unit_days = request.unit_days;
  run.created_at = clock_.Now();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Unavailable("model fits", "the server is stopping");
  }
  TREU_ASSIGN_OR_RETURN(run, store.CreateModelRun(run));
  {
    std::lock_guard lock(mu_);
    FitRequest fixed = request;
    fixed.calibration_end = run.calibration_end;  // "today" is the day of the request
    queue_.push_back({run, fixed});
  }
  cv_.notify_one();
  return run;
}

void ModelFits::Run() {
  while (true) {
    Queued q;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      q = std::move(queue_.front());
      queue_.pop_front();
    }
    RunOne(q);
  }
}

void ModelFits::RunOne(Queued& q) {
  q.run.status = JobStatus::kRunning;
  (void)store_->UpdateModelRun(q.run);
  auto snap = snapshots_ != nullptr ? snapshots_->Get(*store_, q.run.workspace) : BuildSnapshot(*store_, q.run.workspace);
  Result<ModelRun> fitted = snap ? FitModel(**snap, q.request, clock_.Now()) : Result<ModelRun>(std::unexpected(snap.error()));
  if (fitted) {
    fitted->id = q.run.id;
    fitted->created_at = q.run.created_at;
    q.run = std::move(*fitted);
  } else {
    q.run.status = JobStatus::kFailed;
    q.run.error = fitted.error().ToString();
  }
  q.run.finished_at = clock_.Now();
  (void)store_->UpdateModelRun(q.run);
}

Result<std::shared_ptr<const CustomerPredictions>> PredictionCache::Get(const std::shared_ptr<const Snapshot>& s,
                                                                        const PredictionRuns& runs, Timestamp now) {
  const std::int64_t spend = runs.spend ? runs.spend->id : 0;
  const CivilDate day = CivilFromDays(now.micros / kMicrosPerDay);
  const std::int64_t ws = s->workspace().id.value;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(ws);
    if (it != entries_.end() && it->second.purchase == runs.purchase.id && it->second.spend == spend &&
        it->second.day == day &&
        (it->second.seq == s->change_seq() ||
         now.micros - it->second.computed_at.micros < kMaxStaleSeconds * kMicrosPerSecond)) {
      return it->second.predictions;
    }
  }
  // Computed outside the lock: two requests may both compute; the last one is kept.
  TREU_ASSIGN_OR_RETURN(CustomerPredictions p, PredictCustomers(*s, runs.purchase, runs.spend, now));
  auto shared = std::make_shared<const CustomerPredictions>(std::move(p));
  std::lock_guard lock(mu_);
  entries_[ws] = {s->change_seq(), runs.purchase.id, spend, day, now, shared};
  return shared;
}

Result<std::shared_ptr<const CustomerPredictions>> CurrentPredictions(Store& store,
                                                                      const std::shared_ptr<const Snapshot>& s,
                                                                      Timestamp now, PredictionCache* cache) {
  TREU_ASSIGN_OR_RETURN(Workspace ws, store.FindWorkspace(s->workspace().name));
  TREU_ASSIGN_OR_RETURN(PredictionRuns runs, LatestRuns(store, ws));
  if (cache != nullptr) return cache->Get(s, runs, now);
  TREU_ASSIGN_OR_RETURN(auto computed, PredictCustomers(*s, runs.purchase, runs.spend, now));
  return std::make_shared<const CustomerPredictions>(std::move(computed));
}

Result<std::shared_ptr<const std::vector<double>>> CurrentClv(Store& store, const std::shared_ptr<const Snapshot>& s,
                                                              Timestamp now, PredictionCache* cache) {
  auto p = CurrentPredictions(store, s, now, cache);
  if (!p) {
    if (p.error().code() == ErrorCode::kFailedPrecondition) return std::shared_ptr<const std::vector<double>>();
    return std::unexpected(p.error());
  }
  if ((*p)->spend_run == 0) return std::shared_ptr<const std::vector<double>>();  // no spend model
  return std::shared_ptr<const std::vector<double>>(*p, &(*p)->clv_12m);  // shares p's lifetime
}

}  // namespace treu
