// The journey worker of `treu serve`: a thread that runs a journey pass (RunJourneys) over every
// workspace every few seconds on its own store connection, and at once when woken (a journey
// was saved). One pass at a time per server; run one server's worker per database (a second
// one would enter customers twice only if both read the same inputs at once, which the unique
// run per customer and journey refuses).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "analytics/model_fits.hpp"
#include "core/periodic.hpp"
#include "snapshot/snapshot.hpp"
#include "storage/store.hpp"
#include "surveys/answers.hpp"

namespace treu::journeys {

// Starts the worker: a pass at once, then every `poll_seconds` (>= 1) and whenever woken
// (Periodic::Wake). Destroying it lets the pass under way finish. InvalidArgument without a
// snapshot cache or with a poll under a second.
Result<std::unique_ptr<Periodic>> StartJourneyWorker(std::unique_ptr<Store> store, const Clock& clock,
                                                     SnapshotCache* snapshots, PredictionCache* predictions,
                                                     std::vector<std::uint8_t> secret, survey::SurveyReader read_survey,
                                                     int poll_seconds = 2);

}  // namespace treu::journeys
