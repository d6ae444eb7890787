// Test support: stored surveys for the services that invite to them (campaigns' survey waves,
// journeys' survey steps). Header-only, included by *_test.cpp only.
#pragma once

#include <string>

#include "storage/store.hpp"
#include "surveys/answers.hpp"

namespace treu::testing {

// Saves survey `name` of workspace `ws` with an empty definition (read by ReadDefaultSurvey).
inline SurveyRecord SaveSurveyRecord(Store& store, WorkspaceId ws, std::string name, Timestamp now) {
  SurveyRecord r;
  r.workspace = ws;
  r.name = std::move(name);
  r.definition = "{}";
  r.created_at = r.updated_at = now;
  return store.SaveSurvey(r).value();
}

// What api's SurveyOf reads from a stored definition that sets nothing: a relationship survey
// asking nobody twice within 30 days of any survey.
inline const survey::SurveyReader kReadDefaultSurvey = [](const SurveyRecord& r) -> Result<survey::Survey> {
  survey::Survey s;
  s.id = r.id;
  s.name = r.name;
  return s;
};

}  // namespace treu::testing
