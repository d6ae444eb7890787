#include "api/survey_results_json.hpp"

namespace treu {
namespace {

using nlohmann::json;

json Optional(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json Distribution(const survey::ScoreDistribution& d) {
  json out = json::object();
  for (const auto& [score, count] : d) out[std::to_string(score)] = count;
  return out;
}

json Themes(const std::vector<survey::Theme>& themes) {
  json out = json::array();
  for (const survey::Theme& t : themes) out.push_back({{"text", t.text}, {"count", t.count}});
  return out;
}

}  // namespace

json SurveyResultsJson(const survey::Survey& s, const survey::SurveyResults& r, std::size_t max_verbatims) {
  const survey::FeedbackResult& f = r.feedback;
  json verbatims = json::array();
  for (std::size_t i = 0; i < r.verbatims.size() && i < max_verbatims; ++i) {
    const survey::Verbatim& v = r.verbatims[i];
    verbatims.push_back({{"customer_id", v.customer},
                         {"question", v.question_id},
                         {"text", v.text},
                         {"score", v.score ? json(*v.score) : json(nullptr)},
                         {"category", v.category ? json(survey::NpsCategoryName(*v.category)) : json(nullptr)},
                         {"at", FormatTimestamp(v.at)}});
  }
  json trend = json::array();
  for (const survey::TrendPoint& p : r.trend) {
    trend.push_back({{"period", p.period.Label()},
                     {"responses", p.responses},
                     {"nps", Optional(p.feedback.nps)},
                     {"nps_answers", p.feedback.nps_answers},
                     {"csat", Optional(p.feedback.csat)},
                     {"csat_answers", p.feedback.csat_answers},
                     {"ces", Optional(p.feedback.ces)},
                     {"ces_answers", p.feedback.ces_answers}});
  }
  json out = {{"survey", s.name},
          {"survey_id", s.id},
          {"invited", r.invited},
          {"responses", r.responses},
          {"response_rate", Optional(r.response_rate)},
          {"nps",
           {{"value", Optional(f.nps)},
            {"answers", f.nps_answers},
            {"promoters", f.promoters},
            {"passives", f.passives},
            {"detractors", f.detractors},
            {"distribution", Distribution(f.nps_distribution)}}},
          {"csat",
           {{"value", Optional(f.csat)},
            {"good_bad_ratio", Optional(f.csat_good_bad_ratio)},
            {"answers", f.csat_answers},
            {"distribution", Distribution(f.csat_distribution)}}},
          {"ces", {{"value", Optional(f.ces)}, {"answers", f.ces_answers}, {"distribution", Distribution(f.ces_distribution)}}},
          {"verbatims", verbatims},
          {"verbatims_total", r.verbatims.size()},
          {"detractor_themes", Themes(r.detractor_themes)},
          {"passive_themes", Themes(r.passive_themes)},
          {"promoter_themes", Themes(r.promoter_themes)}};
  if (!r.trend.empty()) out["trend"] = trend;
  return out;
}

}  // namespace treu
