#include "journeys/worker.hpp"

#include <cstdio>

#include "journeys/service.hpp"

namespace treu::journeys {

Result<std::unique_ptr<JourneyWorker>> JourneyWorker::Start(std::unique_ptr<Store> store, const Clock& clock,
                                                            SnapshotCache* snapshots, PredictionCache* predictions,
                                                            std::vector<std::uint8_t> secret,
                                                            survey::SurveyReader read_survey, Options options) {
  if (options.poll_seconds < 1) return InvalidArgument("journey worker", "poll must be at least one second");
  if (snapshots == nullptr) return InvalidArgument("journey worker", "needs the server's snapshot cache");
  std::unique_ptr<JourneyWorker> w(new JourneyWorker(std::move(store), clock, snapshots, predictions, std::move(secret),
                                                       std::move(read_survey)));
  w->thread_.emplace([p = w.get()] { p->Pass(); }, options.poll_seconds);
  return w;
}

JourneyWorker::JourneyWorker(std::unique_ptr<Store> store, const Clock& clock, SnapshotCache* snapshots,
                             PredictionCache* predictions, std::vector<std::uint8_t> secret,
                             survey::SurveyReader read_survey)
    : store_(std::move(store)),
      clock_(clock),
      snapshots_(snapshots),
      predictions_(predictions),
      secret_(std::move(secret)),
      read_survey_(std::move(read_survey)) {}

JourneyWorker::~JourneyWorker() { thread_.reset(); }

void JourneyWorker::Wake() { thread_->Wake(); }

void JourneyWorker::Pass() {
  auto workspaces = store_->ListWorkspaces();
  if (!workspaces) {
    std::fprintf(stderr, "treu: journey worker: %s\n", workspaces.error().ToString().c_str());
    return;
  }
  const RunOptions options{secret_, predictions_, read_survey_};
  for (const Workspace& ws : *workspaces) {
    auto pass = RunJourneys(*store_, ws, *snapshots_, options, clock_.Now());
    if (!pass) std::fprintf(stderr, "treu: journeys of %s: %s\n", ws.name.c_str(), pass.error().ToString().c_str());
  }
}

}  // namespace treu::journeys
