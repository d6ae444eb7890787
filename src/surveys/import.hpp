// Importing survey answers collected by other tools. Each row becomes a response to the survey
// through an invitation recorded as already used (created and expired at the answer's time),
// and a `Survey Answered` event at that time, so imported answers count in results, segments
// and journeys like answers given on treu's own pages. Imported detractors open no follow-up
// item (the other tool's loop had them).
//
// A row's invitation nonce derives from the survey, the customer and the row's response id
// (else its answer time), so importing the same file again replaces the same responses instead
// of adding new ones.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "storage/store.hpp"
#include "surveys/answers.hpp"
#include "surveys/survey.hpp"

namespace treu::survey {

struct ImportedResponse {
  std::int64_t line = 0;     // for error messages
  std::string customer;      // external id; the customer must exist
  std::string response_id;   // the other tool's id of the response; may be empty
  Timestamp answered_at;
  std::map<std::string, std::vector<std::string>> answers;  // question id → values
};

struct ImportProblem {
  std::int64_t line = 0;
  std::string field;  // "customer_id" or a question id
  std::string message;
};

struct ImportOutcome {
  std::vector<ImportProblem> problems;  // nothing was stored when not empty (at most 100 kept)
  std::int64_t imported = 0;            // new responses
  std::int64_t replaced = 0;            // responses imported before and now replaced
};

// Checks every row (unknown customers, unknown questions, scores out of range, unknown choices;
// required answers may be missing) and, when all are valid, stores them.
Result<ImportOutcome> ImportResponses(Store& store, const Workspace& ws, const Survey& s,
                                      const std::vector<ImportedResponse>& rows, Timestamp now);

}  // namespace treu::survey
