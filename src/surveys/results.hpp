// What a survey's answers say: the feedback metrics of docs/kpis.md over a period, the score
// distributions, the response rate, the comments (verbatims, searchable) and the themes of
// the detractors' comments.
#pragma once

#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/period.hpp"
#include "storage/store.hpp"
#include "surveys/feedback_metrics.hpp"
#include "surveys/themes.hpp"

namespace treu::survey {

struct ResultsOptions {
  Timestamp from{std::numeric_limits<std::int64_t>::min()};  // answers last changed in [from, to)
  Timestamp to{std::numeric_limits<std::int64_t>::max()};
  bool latest_only = false;  // each customer's latest answer only
  std::string search;        // only comments matching this full-text query (CommentSearch)
  std::size_t themes = 10;   // how many themes per category
  // Only the invitations and answers of these customers (by id), e.g. a segment's members.
  std::optional<std::set<std::int64_t>> customers;
  // Also the feedback metrics per day, week, month, quarter or year (not kRange) in `zone`.
  std::optional<PeriodKind> trend;
  TimeZone zone = TimeZone::Utc();
};

// The feedback metrics of one period of a trend.
struct TrendPoint {
  Period period;
  std::int64_t responses = 0;
  FeedbackResult feedback;
};

// One comment: a text answer, with the score its respondent gave.
struct Verbatim {
  std::string customer;  // external id
  std::string question_id;
  std::string text;
  std::optional<int> score;  // of the survey's first score question
  std::optional<NpsCategory> category;
  Timestamp at;
};

struct SurveyResults {
  FeedbackResult feedback;
  std::int64_t invited = 0;    // invitations sent
  std::int64_t responses = 0;  // invitations answered (in the period)
  std::optional<double> response_rate;
  std::vector<Verbatim> verbatims;       // newest first
  std::vector<Theme> detractor_themes;   // what NPS detractors (or CSAT 1-2 answers) write about
  std::vector<Theme> passive_themes;     // NPS passives (or CSAT 3)
  std::vector<Theme> promoter_themes;    // NPS promoters (or CSAT 4-5)
  // With ResultsOptions::trend: every period from the first answer's to the last one's,
  // oldest first, empty periods included.
  std::vector<TrendPoint> trend;
};

// The results of survey `s` (stored as `survey_id` of `ws`). Reads the responses page by page.
Result<SurveyResults> ComputeResults(Store& store, WorkspaceId ws, const Survey& s, const ResultsOptions& options);

}  // namespace treu::survey
