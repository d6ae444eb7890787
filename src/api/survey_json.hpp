// The JSON form of a survey definition, for the HTTP API, `treu survey create FILE` and
// storage:
//   {"name": "Quarterly NPS", "kind": "relationship", "every_days": 90, "min_gap_days": 30,
//    "default_locale": "de", "title": {"de": "…", "en": "…"}, "intro": {…}, "thanks": {…},
//    "nps_thresholds": "standard" | "article" | {"promoter_min": 9, "detractor_max": 6},
//    "questions": [
//      {"id": "nps", "kind": "nps", "text": {"de": "…"}, "required": true,
//       "follow_up": {"min": 0, "max": 6, "question": {"id": "improve", "kind": "text", "text": {…}}}},
//      {"id": "channel", "kind": "single_choice", "text": {…},
//       "choices": [{"id": "web", "label": {"de": "…"}}, …]}]}
// Transactional surveys have "trigger_event" and "delay_hours" instead of "every_days".
#pragma once

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "storage/store.hpp"
#include "surveys/survey.hpp"

namespace treu {

nlohmann::json SurveyToJson(const survey::Survey& s);

// Reads and validates (survey::ValidateSurvey) a survey. Errors are kInvalidArgument with a
// JSON pointer as context: "/questions/1/choices: a single_choice question needs at least 2
// choices"; unknown members are refused by name. The id is not read.
Result<survey::Survey> SurveyFromJson(const nlohmann::json& j);

// A field path of ValidateSurvey ("questions[1].choices") as a JSON pointer
// ("/questions/1/choices").
std::string SurveyPathToPointer(std::string_view path);

// Checks `j` (SurveyFromJson) and stores it in `ws` under its name at `now`; with `replace`
// false, AlreadyExists ("/name") when a survey of that name exists. Returns the stored row.
Result<SurveyRecord> SaveSurveyDefinition(Store& store, WorkspaceId ws, const nlohmann::json& j, bool replace,
                                          Timestamp now);

// The survey of a stored row (with its id).
Result<survey::Survey> SurveyOf(const SurveyRecord& r);

}  // namespace treu
