// Answering a survey through an invitation link: opening the link (checking its signature,
// expiry and the recorded invitation), and recording the answers — one response per
// invitation, replaced when the customer answers again — with a `Survey Answered` event for
// segments and journeys.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "storage/store.hpp"
#include "surveys/survey.hpp"

namespace treu::survey {

// An invitation link that checked out, with what the page needs.
struct OpenedInvitation {
  Workspace workspace;
  Survey survey;
  SurveyInvitation invitation;
  std::string customer;  // external id
  std::string locale;    // the customer's, else the survey's default
  // The answers given so far: question id → values (one for scores, texts and single
  // choices; any number for multiple choices).
  std::map<std::string, std::vector<std::string>> answers;
};

// Reads a stored survey definition (the JSON form lives at the API edge, api/survey_json.hpp).
using SurveyReader = std::function<Result<Survey>(const SurveyRecord&)>;

// Opens `token`. Errors: InvalidArgument or PermissionDenied for a malformed, tampered or
// foreign token and for one whose invitation or survey no longer exists (the page says "not
// valid"); FailedPrecondition "expired" for an expired one. Reads only.
Result<OpenedInvitation> OpenInvitation(Store& store, std::string_view token, std::span<const std::uint8_t> secret,
                                        Timestamp now, const SurveyReader& read);

// A problem with one submitted answer.
struct AnswerError {
  std::string question_id;
  std::string message;
};

// Checks `submitted` (question id → values) against the survey and, when it is all valid,
// stores it merged over the earlier answers (a question submitted again is replaced; with
// `partial` false, a question left out is cleared) and records the first answer as a
// `Survey Answered` event with the survey and, for its first score question, score and NPS
// category. A detractor's response opens its follow-up item (surveys/followups.hpp). Returns the problems (nothing is stored then), or none. Unknown question ids,
// scores out of range, unknown choices, several values for a single choice and missing
// required answers (unless `partial`) are problems.
Result<std::vector<AnswerError>> RecordAnswers(Store& store, OpenedInvitation& opened,
                                               const std::map<std::string, std::vector<std::string>>& submitted,
                                               bool partial, Timestamp now);

// Checks `submitted` against survey `s` and merges it into `merged` (with `partial` false,
// `merged` is cleared first), as RecordAnswers describes. Returns the problems; `merged` is
// meaningful only without any.
std::vector<AnswerError> MergeAnswers(const Survey& s, const std::map<std::string, std::vector<std::string>>& submitted,
                                      bool partial, std::map<std::string, std::vector<std::string>>& merged);

// The stored JSON form of valid answers: scores as numbers, multiple choices as arrays, other
// answers as strings.
std::string EncodeAnswers(const Survey& s, const std::map<std::string, std::vector<std::string>>& answers);

// The `Survey Answered` event of a response with `answers` given through invitation `nonce` by
// `customer` (whose external id is `user_id`) at `at`: survey name and id and, for the first
// score question, question, kind, score and NPS category. Its message id derives from the
// survey and nonce, so one response makes one event however often it is recorded.
Event AnsweredEvent(const Survey& s, const std::map<std::string, std::vector<std::string>>& answers,
                    const std::string& user_id, CustomerId customer, std::int64_t nonce, Timestamp at);

// One click on a score link of the email scale: `score` (as sent) for the survey's first score
// question, stored like RecordAnswers(partial = true). Problems as RecordAnswers; a survey
// without a score question has none and stores nothing.
Result<std::vector<AnswerError>> RecordScoreClick(Store& store, OpenedInvitation& opened, std::string_view score,
                                                  Timestamp now);

// What submitting the survey form led to.
struct FormOutcome {
  std::vector<AnswerError> errors;  // nothing was stored when not empty
  bool follow_up = false;           // stored, and a follow-up question the form didn't show applies now
};

// The survey form, as posted: `fields` (name, value) in order, the token field ignored. The
// form showed VisibleQuestions of the earlier answers; a shown question left out is cleared
// (RecordAnswers with partial = false).
Result<FormOutcome> SubmitForm(Store& store, OpenedInvitation& opened,
                               const std::vector<std::pair<std::string, std::string>>& fields,
                               std::string_view token_field, Timestamp now);

// The questions shown for `answers`: every top-level question, and each follow-up whose
// parent's score lies in its range.
std::vector<const Question*> VisibleQuestions(const Survey& s, const std::map<std::string, std::vector<std::string>>& answers);

}  // namespace treu::survey
