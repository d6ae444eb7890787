#include "journeys/worker.hpp"

#include <cstdio>

#include "journeys/service.hpp"

namespace treu::journeys {

Result<std::unique_ptr<Periodic>> StartJourneyWorker(std::unique_ptr<Store> store, const Clock& clock,
                                                     SnapshotCache* snapshots, PredictionCache* predictions,
                                                     std::vector<std::uint8_t> secret, survey::SurveyReader read_survey,
                                                     int poll_seconds) {
  if (poll_seconds < 1) return InvalidArgument("journey worker", "poll must be at least one second");
  if (snapshots == nullptr) return InvalidArgument("journey worker", "needs the server's snapshot cache");
  std::shared_ptr<Store> own(std::move(store));
  auto pass = [store = std::move(own), &clock, snapshots, predictions, secret = std::move(secret),
               read_survey = std::move(read_survey)] {
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
  return std::make_unique<Periodic>(std::move(pass), poll_seconds);
}

}  // namespace treu::journeys
