#include "surveys/answers.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "surveys/followups.hpp"
#include "surveys/tokens.hpp"

namespace treu::survey {
namespace {

using nlohmann::json;

std::optional<int> ScoreOf(const std::vector<std::string>& values) {
  if (values.size() != 1) return std::nullopt;
  int v = 0;
  const std::string& t = values[0];
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size()) return std::nullopt;
  return v;
}

const Question* FindQuestion(const Survey& s, std::string_view id) {
  for (const Question* q : AllQuestions(s)) {
    if (q->id == id) return q;
  }
  return nullptr;
}

std::map<std::string, std::vector<std::string>> DecodeAnswers(const std::string& text) {
  std::map<std::string, std::vector<std::string>> out;
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return out;
  for (const auto& [id, v] : j.items()) {
    if (v.is_number_integer()) out[id] = {std::to_string(v.get<std::int64_t>())};
    if (v.is_string()) out[id] = {v.get<std::string>()};
    if (v.is_array()) {
      for (const json& e : v) {
        if (e.is_string()) out[id].push_back(e.get<std::string>());
      }
    }
  }
  return out;
}

}  // namespace

std::string EncodeAnswers(const Survey& s, const std::map<std::string, std::vector<std::string>>& answers) {
  json out = json::object();
  for (const auto& [id, values] : answers) {
    const Question* q = FindQuestion(s, id);
    if (q == nullptr || values.empty()) continue;
    if (IsScoreKind(q->kind)) {
      out[id] = *ScoreOf(values);
    } else if (q->kind == QuestionKind::kMultipleChoice) {
      out[id] = values;
    } else {
      out[id] = values[0];
    }
  }
  return out.dump();
}

std::vector<const Question*> VisibleQuestions(const Survey& s,
                                              const std::map<std::string, std::vector<std::string>>& answers) {
  std::vector<const Question*> out;
  for (const Question& q : s.questions) {
    out.push_back(&q);
    if (!q.follow_up) continue;
    auto it = answers.find(q.id);
    if (it == answers.end()) continue;
    if (auto score = ScoreOf(it->second); score && q.follow_up->ShownFor(*score)) {
      out.push_back(&q.follow_up->question());
    }
  }
  return out;
}

Result<OpenedInvitation> OpenInvitation(Store& store, std::string_view token, std::span<const std::uint8_t> secret,
                                        Timestamp now, const SurveyReader& read) {
  TREU_ASSIGN_OR_RETURN(Invitation inv, VerifyInvitation(token, secret, now));
  auto invalid = [] { return std::unexpected(Error(ErrorCode::kPermissionDenied, "invitation", "is not valid")); };
  TREU_ASSIGN_OR_RETURN(auto stored, store.FindSurveyInvitation(inv.workspace, inv.survey_id, inv.nonce));
  if (!stored || stored->customer != inv.customer) return invalid();
  TREU_ASSIGN_OR_RETURN(auto record, store.FindSurveyById(inv.workspace, inv.survey_id));
  if (!record) return invalid();
  OpenedInvitation out;
  TREU_ASSIGN_OR_RETURN(auto workspaces, store.ListWorkspaces());
  bool found = false;
  for (Workspace& w : workspaces) {
    if (w.id == inv.workspace) out.workspace = std::move(w), found = true;
  }
  if (!found) return invalid();
  auto survey = read(*record);
  if (!survey) return invalid();
  out.survey = std::move(*survey);
  out.invitation = *stored;
  TREU_ASSIGN_OR_RETURN(auto external, store.CustomerExternalId(inv.workspace, inv.customer));
  if (!external) return invalid();
  out.customer = *external;
  TREU_ASSIGN_OR_RETURN(auto customer, store.FindCustomer(inv.workspace, out.customer));
  TREU_ASSIGN_OR_RETURN(auto response, store.FindSurveyResponse(inv.workspace, inv.survey_id, inv.nonce));
  if (response) out.answers = DecodeAnswers(response->answers);
  out.locale = customer && !customer->locale.empty() ? customer->locale : out.survey.default_locale;
  return out;
}

std::vector<AnswerError> MergeAnswers(const Survey& s, const std::map<std::string, std::vector<std::string>>& submitted,
                                      bool partial, std::map<std::string, std::vector<std::string>>& merged) {
  std::vector<AnswerError> errors;
  if (!partial) merged.clear();
  for (const auto& [id, values] : submitted) {
    const Question* q = FindQuestion(s, id);
    if (q == nullptr) {
      errors.push_back({"", "unknown question '" + id + "'"});
      continue;
    }
    std::vector<std::string> kept;
    for (const std::string& v : values) {
      if (v.empty()) continue;
      // Browsers send a text area's line breaks as CR LF; they are kept as LF.
      std::string text;
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (!(v[i] == '\r' && i + 1 < v.size() && v[i + 1] == '\n')) text += v[i];
      }
      kept.push_back(std::move(text));
    }
    if (kept.empty()) {
      merged.erase(id);
      continue;
    }
    if (IsScoreKind(q->kind)) {
      const auto score = ScoreOf(kept);
      const auto range = *ScoreRangeOf(q->kind);
      if (!score || !range.Contains(*score)) {
        errors.push_back({id, "must be a whole number from " + std::to_string(range.min) + " to " + std::to_string(range.max)});
        continue;
      }
    } else if (IsChoiceKind(q->kind)) {
      if (q->kind == QuestionKind::kSingleChoice && kept.size() > 1) {
        errors.push_back({id, "choose one answer"});
        continue;
      }
      for (const std::string& v : kept) {
        const bool known = std::any_of(q->choices.begin(), q->choices.end(), [&](const Choice& c) { return c.id == v; });
        if (!known) errors.push_back({id, "'" + v + "' is not one of the choices"});
      }
    } else if (kept.size() > 1 || kept[0].size() > 10'000) {
      errors.push_back({id, "must be one text of at most 10,000 bytes"});
      continue;
    }
    merged[id] = kept;
  }
  if (!partial) {
    for (const Question* q : VisibleQuestions(s, merged)) {
      if (q->required && !merged.contains(q->id)) errors.push_back({q->id, "is required"});
    }
  }
  return errors;
}

Event AnsweredEvent(const Survey& s, const std::map<std::string, std::vector<std::string>>& answers,
                    const std::string& user_id, CustomerId customer, std::int64_t nonce, Timestamp at) {
  json properties = {{"survey", s.name}, {"survey_id", s.id}};
  for (const Question& q : s.questions) {
    if (!IsScoreKind(q.kind)) continue;
    auto it = answers.find(q.id);
    if (it == answers.end()) break;
    const int score = *ScoreOf(it->second);
    properties["question"] = q.id;
    properties["kind"] = QuestionKindName(q.kind);
    properties["score"] = score;
    if (q.kind == QuestionKind::kNps) properties["category"] = NpsCategoryName(s.nps.Classify(score));
    break;
  }
  Event e;
  e.name = "Survey Answered";
  e.message_id = "survey-" + std::to_string(s.id) + "-" + std::to_string(nonce);
  e.user_id = user_id;
  e.customer = customer;
  e.timestamp = e.received_at = at;
  e.properties_json = properties.dump();
  return e;
}

Result<std::vector<AnswerError>> RecordAnswers(Store& store, OpenedInvitation& opened,
                                               const std::map<std::string, std::vector<std::string>>& submitted,
                                               bool partial, Timestamp now) {
  const Survey& s = opened.survey;
  std::map<std::string, std::vector<std::string>> merged = opened.answers;
  std::vector<AnswerError> errors = MergeAnswers(s, submitted, partial, merged);
  if (!errors.empty()) return errors;
  TREU_ASSIGN_OR_RETURN(auto earlier, store.FindSurveyResponse(opened.workspace.id, s.id, opened.invitation.nonce));
  const bool first = !earlier.has_value();
  TREU_ASSIGN_OR_RETURN(const SurveyResponse stored,
                        store.SaveSurveyResponse(WithNps(s, {0, opened.workspace.id, s.id, opened.invitation.customer,
                                                             opened.invitation.nonce, EncodeAnswers(s, merged), now,
                                                             now})));
  opened.answers = merged;
  // Finished: a full form whose every question is now shown was on it (no follow-up opened).
  bool finished = !partial;
  for (const Question* q : VisibleQuestions(s, merged)) finished = finished && submitted.contains(q->id);
  TREU_RETURN_IF_ERROR(OpenFollowUpFor(store, s, stored, finished, now));
  if (first) {
    const Event e = AnsweredEvent(s, merged, opened.customer, opened.invitation.customer, opened.invitation.nonce, now);
    TREU_ASSIGN_OR_RETURN(auto tx, store.BeginWrite(opened.workspace.id));
    TREU_RETURN_IF_ERROR(tx->InsertEvents(std::span<const Event>(&e, 1)));
    TREU_RETURN_IF_ERROR(tx->Commit());
  }
  return errors;
}

Result<std::vector<AnswerError>> RecordScoreClick(Store& store, OpenedInvitation& opened, std::string_view score,
                                                  Timestamp now) {
  for (const Question& q : opened.survey.questions) {
    if (IsScoreKind(q.kind)) return RecordAnswers(store, opened, {{q.id, {std::string(score)}}}, true, now);
  }
  return std::vector<AnswerError>{};
}

Result<FormOutcome> SubmitForm(Store& store, OpenedInvitation& opened,
                               const std::vector<std::pair<std::string, std::string>>& fields,
                               std::string_view token_field, Timestamp now) {
  const std::vector<const Question*> shown = VisibleQuestions(opened.survey, opened.answers);
  std::map<std::string, std::vector<std::string>> submitted;
  for (const Question* q : shown) submitted[q->id];
  for (const auto& [name, value] : fields) {
    if (name != token_field) submitted[name].push_back(value);
  }
  FormOutcome out;
  TREU_ASSIGN_OR_RETURN(out.errors, RecordAnswers(store, opened, submitted, false, now));
  if (out.errors.empty()) {
    for (const Question* q : VisibleQuestions(opened.survey, opened.answers)) {
      if (std::find(shown.begin(), shown.end(), q) == shown.end()) out.follow_up = true;
    }
  }
  return out;
}

}  // namespace treu::survey
