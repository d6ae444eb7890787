// The campaign scheduler of `treu serve`: a thread that runs RunScheduler (due campaigns
// launched, planned messages due within ten minutes rendered into the outbox) every few seconds
// (and at once when woken, e.g. after a campaign was scheduled for now) on its own connection.
// Several servers on one PostgreSQL may each run one: the compare-and-set of a campaign's state
// lets only one of them launch it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "analytics/model_fits.hpp"
#include "core/periodic.hpp"
#include "snapshot/snapshot.hpp"
#include "storage/store.hpp"
#include "surveys/answers.hpp"

namespace treu::campaigns {

// Starts the scheduler: a pass at once, then every `poll_seconds` (>= 1) and whenever woken
// (Periodic::Wake). Destroying it lets the launch under way finish. InvalidArgument without a
// snapshot cache or with a poll under a second.
Result<std::unique_ptr<Periodic>> StartCampaignScheduler(std::unique_ptr<Store> store, const Clock& clock,
                                                         SnapshotCache* snapshots, PredictionCache* predictions,
                                                         std::vector<std::uint8_t> secret, survey::SurveyReader read_survey,
                                                         int poll_seconds = 5);

}  // namespace treu::campaigns
