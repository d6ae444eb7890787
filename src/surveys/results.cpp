#include "surveys/results.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

namespace treu::survey {

using nlohmann::json;

Result<SurveyResults> ComputeResults(Store& store, WorkspaceId ws, const Survey& s, const ResultsOptions& options) {
  SurveyResults out;
  if (options.customers) {
    TREU_RETURN_IF_ERROR(store.ScanSurveyInvitations(ws, [&](std::int64_t survey_id, CustomerId c, Timestamp) {
      if (survey_id == s.id && options.customers->contains(c.value)) ++out.invited;
    }));
  } else {
    TREU_ASSIGN_OR_RETURN(out.invited, store.CountSurveyInvitations(ws, s.id));
  }
  const Question* first_score = nullptr;
  for (const Question& q : s.questions) {
    if (IsScoreKind(q.kind)) {
      first_score = &q;
      break;
    }
  }
  std::vector<Answer> answers;
  // Comments by how their respondent felt: unhappy, neutral, happy.
  std::array<std::vector<std::string>, 3> comments;
  std::map<std::int64_t, std::string> external_ids;
  std::vector<Timestamp> response_times;
  CommentSearch search(options.search);
  std::int64_t after = 0;
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ListSurveyResponses(ws, s.id, after, 1000));
    if (page.empty()) break;
    after = page.back().id;
    for (const SurveyResponse& r : page) {
      if (r.updated_at.micros < options.from.micros || r.updated_at.micros >= options.to.micros) continue;
      if (options.customers && !options.customers->contains(r.customer.value)) continue;
      const json j = json::parse(r.answers, nullptr, false);
      if (!j.is_object()) continue;
      ++out.responses;
      response_times.push_back(r.updated_at);
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
      // 0 unhappy, 1 neutral, 2 happy; -1 unknown (no NPS or CSAT score).
      int mood = -1;
      if (category) mood = *category == NpsCategory::kDetractor ? 0 : *category == NpsCategory::kPassive ? 1 : 2;
      if (score && first_score->kind == QuestionKind::kCsat) mood = *score <= 2 ? 0 : *score == 3 ? 1 : 2;
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
        if (mood >= 0) comments[static_cast<std::size_t>(mood)].push_back(text);
        if (!search.Matches(text)) continue;
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
  out.detractor_themes = TopThemes(comments[0], "", options.themes);
  out.passive_themes = TopThemes(comments[1], "", options.themes);
  out.promoter_themes = TopThemes(comments[2], "", options.themes);
  if (options.trend && *options.trend != PeriodKind::kRange && !response_times.empty()) {
    std::sort(response_times.begin(), response_times.end());
    const Period end = Period::Containing(*options.trend, options.zone.LocalDate(response_times.back()));
    for (Period p = Period::Containing(*options.trend, options.zone.LocalDate(response_times.front()));;
         p = p.Shift(1)) {
      TrendPoint point{p, 0, ComputeFeedback(answers, p.Start(options.zone), p.End(options.zone), options.latest_only)};
      out.trend.push_back(std::move(point));
      if (p == end || out.trend.size() >= 10'000) break;
    }
    std::size_t k = 0;
    for (const Timestamp t : response_times) {
      while (k + 1 < out.trend.size() && t >= out.trend[k].period.End(options.zone)) ++k;
      ++out.trend[k].responses;
    }
  }
  return out;
}

}  // namespace treu::survey
