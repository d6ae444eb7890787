#include "surveys/results.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace treu::survey {
namespace {

using nlohmann::json;

bool ContainsFolded(std::string_view text, std::string_view needle) {
  if (needle.empty()) return true;
  auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  return std::search(text.begin(), text.end(), needle.begin(), needle.end(),
                     [&](char a, char b) { return lower(a) == lower(b); }) != text.end();
}

}  // namespace

Result<SurveyResults> ComputeResults(Store& store, WorkspaceId ws, const Survey& s, const ResultsOptions& options) {
  SurveyResults out;
  TREU_ASSIGN_OR_RETURN(out.invited, store.CountSurveyInvitations(ws, s.id));
  const Question* first_score = nullptr;
  for (const Question& q : s.questions) {
    if (IsScoreKind(q.kind)) {
      first_score = &q;
      break;
    }
  }
  std::vector<Answer> answers;
  std::vector<std::string> detractor_comments;
  std::map<std::int64_t, std::string> external_ids;
  std::int64_t after = 0;
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ListSurveyResponses(ws, s.id, after, 1000));
    if (page.empty()) break;
    after = page.back().id;
    for (const SurveyResponse& r : page) {
      if (r.updated_at.micros < options.from.micros || r.updated_at.micros >= options.to.micros) continue;
      const json j = json::parse(r.answers, nullptr, false);
      if (!j.is_object()) continue;
      ++out.responses;
      std::optional<int> score;
      for (const auto& [id, value] : j.items()) {
        for (const Question& top : s.questions) {
          const Question* q = &top;
          if (top.id != id && top.follow_up && top.follow_up->question().id == id) q = &top.follow_up->question();
          if (q->id != id || !IsScoreKind(q->kind) || !value.is_number_integer()) continue;
          const int v = value.get<int>();
          answers.push_back({r.customer, r.updated_at, q->kind, v, s.nps});
          if (q == first_score) score = v;
        }
      }
      std::optional<NpsCategory> category;
      if (score && first_score->kind == QuestionKind::kNps) category = s.nps.Classify(*score);
      const bool unhappy = (category && *category == NpsCategory::kDetractor) ||
                           (score && first_score->kind == QuestionKind::kCsat && *score <= 2);
      for (const auto& [id, value] : j.items()) {
        if (!value.is_string()) continue;
        bool is_text = false;
        for (const Question& top : s.questions) {
          if ((top.id == id && top.kind == QuestionKind::kText) ||
              (top.follow_up && top.follow_up->question().id == id && top.follow_up->question().kind == QuestionKind::kText)) {
            is_text = true;
          }
        }
        if (!is_text) continue;
        const std::string text = value.get<std::string>();
        if (unhappy) detractor_comments.push_back(text);
        if (!ContainsFolded(text, options.search)) continue;
        auto [it, added] = external_ids.try_emplace(r.customer.value);
        if (added) {
          TREU_ASSIGN_OR_RETURN(auto ext, store.CustomerExternalId(ws, r.customer));
          it->second = ext.value_or("");
        }
        out.verbatims.push_back({it->second, id, text, score, category, r.updated_at});
      }
    }
  }
  const Timestamp to = options.to;
  out.feedback = ComputeFeedback(answers, options.from, to, options.latest_only);
  out.response_rate = ResponseRate(out.invited, out.responses);
  std::sort(out.verbatims.begin(), out.verbatims.end(),
            [](const Verbatim& a, const Verbatim& b) { return a.at.micros > b.at.micros; });
  out.detractor_themes = TopThemes(detractor_comments, "", options.themes);
  return out;
}

}  // namespace treu::survey
