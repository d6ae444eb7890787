// The journey worker of `treu serve`: a thread that runs a journey pass (RunJourneys) over every
// workspace every few seconds on its own store connection, and at once when woken (a journey
// was saved). One pass at a time, and one server per database makes them: the one whose
// connection holds the store lock kPassLock; the others wait and take over when it is let go.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "analytics/model_fits.hpp"
#include "core/periodic.hpp"
#include "snapshot/snapshot.hpp"
#include "storage/store.hpp"
#include "surveys/answers.hpp"

namespace treu::journeys {

// One pass of the worker on `store` (what StartJourneyWorker repeats): when the store holds
// kPassLock, or gets it now, RunJourneys over every workspace; otherwise nothing. Errors go to
// standard error.
std::function<void()> JourneyWorkerPass(std::shared_ptr<Store> store, const Clock& clock, SnapshotCache* snapshots,
                                        PredictionCache* predictions, std::vector<std::uint8_t> secret,
                                        survey::SurveyReader read_survey);

// Starts the worker: a pass at once, then every `poll_seconds` (>= 1) and whenever woken
// (Periodic::Wake). Destroying it lets the pass under way finish. InvalidArgument without a
// snapshot cache or with a poll under a second.
Result<std::unique_ptr<Periodic>> StartJourneyWorker(std::unique_ptr<Store> store, const Clock& clock,
                                                     SnapshotCache* snapshots, PredictionCache* predictions,
                                                     std::vector<std::uint8_t> secret, survey::SurveyReader read_survey,
                                                     int poll_seconds = 2);

}  // namespace treu::journeys
