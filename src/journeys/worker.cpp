#include "journeys/worker.hpp"

#include <cstdio>

#include "journeys/service.hpp"

namespace treu::journeys {

std::function<void()> JourneyWorkerPass(std::shared_ptr<Store> store, const Clock& clock, SnapshotCache* snapshots,
                                        PredictionCache* predictions, std::vector<std::uint8_t> secret,
                                        survey::SurveyReader read_survey) {
  return [store = std::move(store), &clock, snapshots, predictions, secret = std::move(secret),
          read_survey = std::move(read_survey), waiting = false]() mutable {
    // One server per database makes the passes: the one whose connection holds the lock. The
    // others ask again every pass and take over when it is let go (that server stopped or died).
    auto held = store->HoldLock(kPassLock);
    if (!held) {
      std::fprintf(stderr, "treu: journey worker: %s\n", held.error().ToString().c_str());
      return;
    }
    if (!*held) {
      if (!waiting) std::fprintf(stderr, "treu: journey worker: another server runs the journeys of this database; waiting\n");
      waiting = true;
      return;
    }
    if (waiting) std::fprintf(stderr, "treu: journey worker: running the journeys of this database now\n");
    waiting = false;
    auto workspaces = store->ListWorkspaces();
    if (!workspaces) {
      std::fprintf(stderr, "treu: journey worker: %s\n", workspaces.error().ToString().c_str());
      return;
    }
    const RunOptions options{secret, predictions, read_survey};
    for (const Workspace& ws : *workspaces) {
      auto pass = RunJourneys(*store, ws, *snapshots, options, clock.Now());
      if (!pass) std::fprintf(stderr, "treu: journeys of %s: %s\n", ws.name.c_str(), pass.error().ToString().c_str());
    }
  };
}

Result<std::unique_ptr<Periodic>> StartJourneyWorker(std::unique_ptr<Store> store, const Clock& clock,
                                                     SnapshotCache* snapshots, PredictionCache* predictions,
                                                     std::vector<std::uint8_t> secret, survey::SurveyReader read_survey,
                                                     int poll_seconds) {
  if (poll_seconds < 1) return InvalidArgument("journey worker", "poll must be at least one second");
  if (snapshots == nullptr) return InvalidArgument("journey worker", "needs the server's snapshot cache");
  return std::make_unique<Periodic>(JourneyWorkerPass(std::move(store), clock, snapshots, predictions, std::move(secret),
                                                      std::move(read_survey)),
                                    poll_seconds);
}

}  // namespace treu::journeys
