// The survey answers of a workspace as the source of the feedback metrics (nps, csat,
// csat_good_bad_ratio, ces) of `treu kpi` and /api/v1/kpis: every score answer of every survey,
// each NPS answer classified by its own survey's thresholds, at the time it was last changed.
#pragma once

#include <memory>
#include <vector>

#include "analytics/kpis.hpp"
#include "snapshot/snapshot.hpp"
#include "storage/store.hpp"
#include "surveys/answers.hpp"
#include "surveys/feedback_metrics.hpp"

namespace treu::survey {

class SurveyFeedback final : public FeedbackSource {
 public:
  // Reads the responses of every survey of `ws` (definitions through `read`); customers are
  // matched to the indexes of `snapshot`. With `latest_only`, each customer's latest answer of
  // each kind in a period counts.
  static Result<std::shared_ptr<const SurveyFeedback>> Load(Store& store, WorkspaceId ws, const Snapshot& snapshot,
                                                            const SurveyReader& read, bool latest_only = false);

  // Over given answers; `index[i]` is the snapshot index of answers[i]'s customer (-1: none).
  // REQUIRES: index.size() == answers.size().
  SurveyFeedback(std::vector<Answer> answers, std::vector<std::int64_t> index, bool latest_only)
      : answers_(std::move(answers)), index_(std::move(index)), latest_only_(latest_only) {}
  SurveyFeedback() = default;

  FeedbackSums Sum(Timestamp start, Timestamp end, const std::vector<bool>* customers) const override;

 private:
  std::vector<Answer> answers_;
  std::vector<std::int64_t> index_;  // the snapshot index of each answer's customer, -1 if none
  bool latest_only_ = false;
};

}  // namespace treu::survey
