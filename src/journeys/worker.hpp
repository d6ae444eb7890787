// The journey worker of `treu serve`: a thread that runs a journey pass (RunJourneys) over every
// workspace every few seconds on its own store connection, and at once when woken (a journey
// was saved). One pass at a time per server; run one server's worker per database (a second
// one would enter customers twice only if both read the same inputs at once, which the unique
// run per customer and journey refuses).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "analytics/model_fits.hpp"
#include "core/periodic.hpp"
#include "snapshot/snapshot.hpp"
#include "storage/store.hpp"
#include "surveys/answers.hpp"

namespace treu::journeys {

class JourneyWorker {
 public:
  struct Options {
    int poll_seconds = 2;
  };
  static Result<std::unique_ptr<JourneyWorker>> Start(std::unique_ptr<Store> store, const Clock& clock,
                                                      SnapshotCache* snapshots, PredictionCache* predictions,
                                                      std::vector<std::uint8_t> secret,
                                                      survey::SurveyReader read_survey, Options options);
  ~JourneyWorker();  // finishes the pass under way
  JourneyWorker(const JourneyWorker&) = delete;
  JourneyWorker& operator=(const JourneyWorker&) = delete;

  void Wake();

 private:
  JourneyWorker(std::unique_ptr<Store> store, const Clock& clock, SnapshotCache* snapshots,
                PredictionCache* predictions, std::vector<std::uint8_t> secret, survey::SurveyReader read_survey);
  void Pass();

  std::unique_ptr<Store> store_;
  const Clock& clock_;
  SnapshotCache* snapshots_;
  PredictionCache* predictions_;
  std::vector<std::uint8_t> secret_;
  survey::SurveyReader read_survey_;
  std::optional<Periodic> thread_;  // last: stopped first
};

}  // namespace treu::journeys
