// The campaign scheduler of `treu serve`: a thread that runs RunDueCampaigns every few seconds
// (and at once when woken, e.g. after a campaign was scheduled for now) on its own connection.
// Several servers on one PostgreSQL may each run one: the compare-and-set of a campaign's state
// lets only one of them launch it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "analytics/model_fits.hpp"
#include "core/periodic.hpp"
#include "snapshot/snapshot.hpp"
#include "storage/store.hpp"

namespace treu::campaigns {

class CampaignScheduler {
 public:
  struct Options {
    int poll_seconds = 5;
  };
  static Result<std::unique_ptr<CampaignScheduler>> Start(std::unique_ptr<Store> store, const Clock& clock,
                                                          SnapshotCache* snapshots, PredictionCache* predictions,
                                                          std::vector<std::uint8_t> secret, Options options);
  ~CampaignScheduler();  // finishes the launch under way
  CampaignScheduler(const CampaignScheduler&) = delete;
  CampaignScheduler& operator=(const CampaignScheduler&) = delete;

  // Asks for a look at the due campaigns now.
  void Wake();

 private:
  CampaignScheduler(std::unique_ptr<Store> store, const Clock& clock, SnapshotCache* snapshots,
                    PredictionCache* predictions, std::vector<std::uint8_t> secret);
  void Pass();

  std::unique_ptr<Store> store_;
  const Clock& clock_;
  SnapshotCache* snapshots_;
  PredictionCache* predictions_;
  std::vector<std::uint8_t> secret_;
  std::optional<Periodic> thread_;  // last: stopped first
};

}  // namespace treu::campaigns
