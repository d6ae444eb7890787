#include "campaigns/scheduler.hpp"

#include <cstdio>

#include "campaigns/service.hpp"

namespace treu::campaigns {

Result<std::unique_ptr<Periodic>> StartCampaignScheduler(std::unique_ptr<Store> store, const Clock& clock,
                                                         SnapshotCache* snapshots, PredictionCache* predictions,
                                                         std::vector<std::uint8_t> secret, survey::SurveyReader read_survey,
                                                         int poll_seconds) {
  if (poll_seconds < 1) return InvalidArgument("campaign scheduler", "poll must be at least one second");
  if (snapshots == nullptr) return InvalidArgument("campaign scheduler", "needs the server's snapshot cache");
  std::shared_ptr<Store> own(std::move(store));
  auto pass = [store = std::move(own), &clock, snapshots, predictions, secret = std::move(secret),
               read_survey = std::move(read_survey)] {
    auto run = RunScheduler(*store, *snapshots, predictions, secret, read_survey, clock.Now());
    if (!run) std::fprintf(stderr, "treu: campaign scheduler: %s\n", run.error().ToString().c_str());
    else if (run->failed > 0)
      std::fprintf(stderr, "treu: campaign scheduler: %d launch(es) failed (see last_error)\n", run->failed);
  };
  return std::make_unique<Periodic>(std::move(pass), poll_seconds);
}

}  // namespace treu::campaigns
