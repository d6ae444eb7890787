#include "api/survey_page_routes.hpp"

#include "api/route_support.hpp"
#include "api/survey_json.hpp"
#include "surveys/answers.hpp"
#include "surveys/page.hpp"

namespace treu::api {
namespace {

using survey::UiKey;
using survey::UiText;


// The page for a link that can't be used: expired, or not valid (malformed, tampered,
// foreign, or its invitation is gone). Nothing is recorded.
HttpResponse LinkProblem(const RequestContext& ctx, const Error& e) {
  const std::string locale(ctx.request.Header("accept-language").substr(0, 2));
  const bool expired = e.code() == ErrorCode::kFailedPrecondition && e.detail() == "expired";
  const std::string_view lang = survey::PageLanguage(locale);
  return PublicPage(expired ? 410 : 404,
              survey::RenderMessagePage(lang, "", "", UiText(lang, expired ? UiKey::kExpiredTitle : UiKey::kInvalidTitle),
                                        UiText(lang, expired ? UiKey::kExpiredMessage : UiKey::kInvalidMessage)));
}

survey::SurveyPage PageOf(const survey::OpenedInvitation& o, const std::string& token,
                          const std::vector<survey::AnswerError>& errors) {
  const survey::Survey& s = o.survey;
  survey::SurveyPage page;
  page.locale = std::string(survey::PageLanguage(o.locale));
  auto text = [&](const survey::LocalizedText& t) { return std::string(t.Resolve(o.locale, s.default_locale)); };
  page.workspace_name = o.workspace.name;
  if (!o.workspace.brand_colour.empty()) page.brand_colour = o.workspace.brand_colour;
  page.title = text(s.title);
  page.intro = text(s.intro);
  page.csrf_or_token_field = token;
  auto answer = [&](const std::string& id) {
    auto it = o.answers.find(id);
    return it == o.answers.end() ? std::vector<std::string>{} : it->second;
  };
  for (const survey::Question* q : survey::VisibleQuestions(s, o.answers)) {
    const std::vector<std::string> given = answer(q->id);
    if (auto range = survey::ScoreRangeOf(q->kind)) {
      const auto [low, high] = survey::ScaleEndLabels(page.locale, q->kind);
      survey::ScaleQuestion scale{q->id, text(q->text), range->min, range->max, std::string(low), std::string(high),
                                  std::nullopt, q->required};
      if (!given.empty()) scale.selected = std::stoi(given[0]);
      page.questions.push_back(scale);
    } else if (survey::IsChoiceKind(q->kind)) {
      survey::ChoiceQuestion choice{q->id, text(q->text), q->kind == survey::QuestionKind::kMultipleChoice, {}, given,
                                    q->required};
      for (const survey::Choice& c : q->choices) choice.choices.emplace_back(c.id, text(c.label));
      page.questions.push_back(choice);
    } else {
      page.questions.push_back(survey::TextQuestion{q->id, text(q->text), given.empty() ? "" : given[0], q->required});
    }
  }
  for (const survey::AnswerError& e : errors) page.errors.push_back({e.question_id, e.message});
  return page;
}

Result<survey::OpenedInvitation> Open(RequestContext& ctx) {
  if (ctx.signing_secret == nullptr) return Unavailable("surveys", "this server has no signing secret");
  return survey::OpenInvitation(ctx.store, ctx.params.at("token"), *ctx.signing_secret, ctx.clock.Now(), SurveyOf);
}

// The answer to a link that can't be opened: the link's problem page, or the server error.
Result<HttpResponse> Refusal(const RequestContext& ctx, const Error& e) {
  if (e.code() == ErrorCode::kUnavailable || e.code() == ErrorCode::kInternal) return std::unexpected(e);
  return LinkProblem(ctx, e);
}

Result<HttpResponse> ShowSurvey(RequestContext& ctx) {
  auto opened = Open(ctx);
  if (!opened) return Refusal(ctx, opened.error());
  std::vector<survey::AnswerError> errors;
  const std::string* score = ctx.request.Query("score");
  if (score != nullptr) {  // one click from the email
    TREU_ASSIGN_OR_RETURN(errors, survey::RecordScoreClick(ctx.store, *opened, *score, ctx.clock.Now()));
  }
  survey::SurveyPage page = PageOf(*opened, ctx.params.at("token"), errors);
  if (score != nullptr && errors.empty()) page.notice = UiText(page.locale, survey::UiKey::kScoreSaved);
  return PublicPage(errors.empty() ? 200 : 422, survey::RenderSurveyPage(page));
}

Result<HttpResponse> SubmitSurvey(RequestContext& ctx) {
  auto opened = Open(ctx);
  if (!opened) return Refusal(ctx, opened.error());
  // application/x-www-form-urlencoded: '+' is a space, the rest is percent-encoding.
  std::string encoded;
  for (char c : ctx.request.body) encoded += c == '+' ? std::string("%20") : std::string(1, c);
  std::string path;
  std::vector<std::pair<std::string, std::string>> fields;
  if (!ParseTarget("/?" + encoded, path, fields)) return InvalidArgument("body", "is not a valid form submission");
  TREU_ASSIGN_OR_RETURN(survey::FormOutcome outcome,
                        survey::SubmitForm(ctx.store, *opened, fields, survey::kTokenFieldName, ctx.clock.Now()));
  if (!outcome.errors.empty()) {
    return PublicPage(422, survey::RenderSurveyPage(PageOf(*opened, ctx.params.at("token"), outcome.errors)));
  }
  if (outcome.follow_up) {  // ask the follow-up the score opened before thanking
    survey::SurveyPage page = PageOf(*opened, ctx.params.at("token"), {});
    page.notice = UiText(page.locale, survey::UiKey::kFollowUpIntro);
    return PublicPage(200, survey::RenderSurveyPage(page));
  }
  const std::string_view lang = survey::PageLanguage(opened->locale);
  const std::string thanks(opened->survey.thanks.Resolve(opened->locale, opened->survey.default_locale));
  return PublicPage(200, survey::RenderMessagePage(lang, opened->workspace.name, opened->workspace.brand_colour,
                                             UiText(lang, UiKey::kThankYouTitle),
                                             thanks.empty() ? UiText(lang, UiKey::kThankYouMessage) : thanks));
}

}  // namespace

std::vector<Route> SurveyPageRoutes() {
  return {
      {"GET", "/s/{token}", Access::Public(),
       "The survey page of an invitation link (HTML); ?score=N records the first score question in one click",
       ShowSurvey},
      {"POST", "/s/{token}", Access::Public(),
       "Answers from the survey page's form (application/x-www-form-urlencoded); HTML", SubmitSurvey},
  };
}

}  // namespace treu::api
