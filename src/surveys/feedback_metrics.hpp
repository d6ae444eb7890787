// The feedback KPIs (docs: KPIS.md, "Feedback"): NPS, CSAT, the CSAT good/bad ratio and CES
// over a list of score answers in a period. Pure functions over values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>

#include "core/ids.hpp"
#include "core/time.hpp"
#include "surveys/survey.hpp"

namespace treu::survey {

// One score answer, as the KPIs need it.
struct Answer {
  CustomerId customer;
  Timestamp at;
  QuestionKind kind = QuestionKind::kNps;  // nps, csat or ces; other kinds are ignored
  int score = 0;
  NpsThresholds thresholds;  // of the answer's own survey; used for NPS answers only
};

// Scores → number of answers. Holds every score of the kind's range, zeros included, so a
// chart can draw it as is.
using ScoreDistribution = std::map<int, std::int64_t>;

struct FeedbackResult {
  // NPS: 100 × (promoters − detractors) / answers, from −100 to 100; nullopt without answers.
  std::optional<double> nps;
  std::int64_t nps_answers = 0;
  std::int64_t promoters = 0;
  std::int64_t passives = 0;
  std::int64_t detractors = 0;

  // CSAT: 100 × answers of 4 or 5 / answers; nullopt without answers.
  std::optional<double> csat;
  // 100 × good (4–5) / bad (1–2); nullopt when there is no bad answer.
  std::optional<double> csat_good_bad_ratio;
  std::int64_t csat_answers = 0;
  std::int64_t csat_good = 0;  // 4 or 5
  std::int64_t csat_bad = 0;   // 1 or 2

  // CES: mean score (1–7); nullopt without answers.
  std::optional<double> ces;
  std::int64_t ces_answers = 0;

  ScoreDistribution nps_distribution;   // 0..10
  ScoreDistribution csat_distribution;  // 1..5
  ScoreDistribution ces_distribution;   // 1..7

  // Answers in the period left out because their kind has no score or their score is outside
  // the kind's range (see ValidateScore); they count nowhere else.
  std::int64_t invalid_answers = 0;
};

// The feedback KPIs over the answers with from <= at < to. With `latest_only`, only each
// customer's latest answer of each kind within the period counts (of answers at the same
// instant, the one later in `answers`). The order of `answers` doesn't matter otherwise.
// Each NPS answer is classified by its own thresholds. Thread-safe; allocates only the
// result and, with latest_only, a per-customer index.
FeedbackResult ComputeFeedback(std::span<const Answer> answers, Timestamp from, Timestamp to,
                               bool latest_only);

// Response rate in percent: 100 × answered / invited. nullopt when nobody was invited
// (invited <= 0) or answered is negative. Not capped: above 100 when there are more answers
// than invitations.
std::optional<double> ResponseRate(std::int64_t invited, std::int64_t answered);

}  // namespace treu::survey
