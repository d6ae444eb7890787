#include "surveys/import.hpp"

#include <openssl/sha.h>

#include <limits>

#include "surveys/followups.hpp"

namespace treu::survey {
namespace {

constexpr std::size_t kMaxProblems = 100;

// A stable nonce for the row: the first 63 bits of SHA-256 over survey, customer and the row's
// identity.
std::int64_t ImportNonce(std::int64_t survey_id, const ImportedResponse& row) {
  const std::string identity = "treu survey import\n" + std::to_string(survey_id) + "\n" + row.customer + "\n" +
                               (row.response_id.empty() ? "at:" + std::to_string(row.answered_at.micros)
                                                        : "id:" + row.response_id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(identity.data()), identity.size(), digest);
  std::int64_t nonce = 0;
  for (int i = 0; i < 8; ++i) nonce = (nonce << 8) | digest[i];
  return nonce & std::numeric_limits<std::int64_t>::max();
}

}  // namespace

Result<ImportOutcome> ImportResponses(Store& store, const Workspace& ws, const Survey& s,
                                      const std::vector<ImportedResponse>& rows, Timestamp now) {
  ImportOutcome out;
  struct Ready {
    const ImportedResponse* row;
    CustomerId customer;
    std::int64_t nonce;
    std::map<std::string, std::vector<std::string>> answers;
  };
  std::vector<Ready> ready;
  std::map<std::int64_t, std::int64_t> first_line_of_nonce;
  auto problem = [&](std::int64_t line, std::string field, std::string message) {
    if (out.problems.size() < kMaxProblems) out.problems.push_back({line, std::move(field), std::move(message)});
  };
  for (const ImportedResponse& row : rows) {
    TREU_ASSIGN_OR_RETURN(auto customer, store.FindCustomer(ws.id, row.customer));
    if (!customer) {
      problem(row.line, "customer_id", "no customer '" + row.customer + "' in this workspace");
      continue;
    }
    std::map<std::string, std::vector<std::string>> merged;
    const std::vector<AnswerError> errors = MergeAnswers(s, row.answers, true, merged);
    for (const AnswerError& e : errors) problem(row.line, e.question_id, e.message);
    if (!errors.empty()) continue;
    if (merged.empty()) {
      problem(row.line, "", "has no answers");
      continue;
    }
    const std::int64_t nonce = ImportNonce(s.id, row);
    if (auto [it, added] = first_line_of_nonce.emplace(nonce, row.line); !added) {
      problem(row.line, "", "repeats the response of line " + std::to_string(it->second) +
                                " (same customer and response id, or answer time)");
      continue;
    }
    ready.push_back({&row, customer->id, nonce, std::move(merged)});
  }
  if (!out.problems.empty()) return out;

  std::vector<SurveyInvitation> invitations;
  for (const Ready& r : ready) {
    TREU_ASSIGN_OR_RETURN(auto had, store.FindSurveyInvitation(ws.id, s.id, r.nonce));
    if (had) {
      ++out.replaced;
      continue;
    }
    ++out.imported;
    invitations.push_back({0, ws.id, s.id, r.customer, r.nonce, r.row->answered_at, r.row->answered_at});
  }
  TREU_RETURN_IF_ERROR(store.CreateSurveyInvitations(invitations));
  std::vector<Event> events;
  for (const Ready& r : ready) {
    TREU_RETURN_IF_ERROR(store.SaveSurveyResponse(WithNps(s, {0, ws.id, s.id, r.customer, r.nonce,
                                                              EncodeAnswers(s, r.answers), r.row->answered_at,
                                                              r.row->answered_at})));
    Event e = AnsweredEvent(s, r.answers, r.row->customer, r.customer, r.nonce, r.row->answered_at);
    e.received_at = now;
    events.push_back(std::move(e));
  }
  TREU_ASSIGN_OR_RETURN(auto tx, store.BeginWrite(ws.id));
  TREU_RETURN_IF_ERROR(tx->InsertEvents(events));
  TREU_RETURN_IF_ERROR(tx->Commit());
  return out;
}

}  // namespace treu::survey
