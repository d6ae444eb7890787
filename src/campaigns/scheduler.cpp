#include "campaigns/scheduler.hpp"

#include <chrono>
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
      new CampaignScheduler(std::move(store), clock, snapshots, predictions, std::move(secret), options));
  s->thread_ = std::thread([p = s.get()] { p->Run(); });
  return s;
}

CampaignScheduler::CampaignScheduler(std::unique_ptr<Store> store, const Clock& clock, SnapshotCache* snapshots,
                                     PredictionCache* predictions, std::vector<std::uint8_t> secret, Options options)
    : store_(std::move(store)),
      clock_(clock),
      snapshots_(snapshots),
      predictions_(predictions),
      secret_(std::move(secret)),
      options_(options) {}

CampaignScheduler::~CampaignScheduler() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CampaignScheduler::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void CampaignScheduler::Run() {
  while (true) {
    auto run = RunDueCampaigns(*store_, *snapshots_, predictions_, secret_, clock_.Now());
    if (!run) std::fprintf(stderr, "treu: campaign scheduler: %s\n", run.error().ToString().c_str());
    else if (run->failed > 0) std::fprintf(stderr, "treu: campaign scheduler: %d launch(es) failed (see last_error)\n", run->failed);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(options_.poll_seconds), [this] { return stopping_ || woken_; });
    if (stopping_) return;
    woken_ = false;
  }
}

}  // namespace treu::campaigns
