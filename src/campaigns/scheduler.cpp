#include "campaigns/scheduler.hpp"

#include <cstdio>

#include "campaigns/service.hpp"

namespace treu::campaigns {

Result<std::unique_ptr<CampaignScheduler>> CampaignScheduler::Start(std::unique_ptr<Store> store, const Clock& clock,
                                                                    SnapshotCache* snapshots,
                                                                    PredictionCache* predictions,
                                                                    std::vector<std::uint8_t> secret, Options options) {
  if (options.poll_seconds < 1) return InvalidArgument("campaign scheduler", "poll must be at least one second");
  if (snapshots == nullptr) return InvalidArgument("campaign scheduler", "needs the server's snapshot cache");
  std::unique_ptr<CampaignScheduler> s(
      new CampaignScheduler(std::move(store), clock, snapshots, predictions, std::move(secret)));
  s->thread_.emplace([p = s.get()] { p->Pass(); }, options.poll_seconds);
  return s;
}

CampaignScheduler::CampaignScheduler(std::unique_ptr<Store> store, const Clock& clock, SnapshotCache* snapshots,
                                     PredictionCache* predictions, std::vector<std::uint8_t> secret)
    : store_(std::move(store)),
      clock_(clock),
      snapshots_(snapshots),
      predictions_(predictions),
      secret_(std::move(secret)) {}

CampaignScheduler::~CampaignScheduler() { thread_.reset(); }

void CampaignScheduler::Wake() { thread_->Wake(); }

void CampaignScheduler::Pass() {
  auto run = RunDueCampaigns(*store_, *snapshots_, predictions_, secret_, clock_.Now());
  if (!run) std::fprintf(stderr, "treu: campaign scheduler: %s\n", run.error().ToString().c_str());
  else if (run->failed > 0) std::fprintf(stderr, "treu: campaign scheduler: %d launch(es) failed (see last_error)\n", run->failed);
}

}  // namespace treu::campaigns
