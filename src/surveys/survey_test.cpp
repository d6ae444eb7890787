#include "surveys/survey.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace treu::survey {
namespace {

Question Nps(std::string id = "recommend") {
  Question q;
  q.id = std::move(id);
  q.kind = QuestionKind::kNps;
  q.text = {{"en", "How likely are you to recommend us?"},
            {"de", "Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen?"}};
  q.required = true;
  return q;
}

Question TextQuestion(std::string id, std::string en) {
  Question q;
  q.id = std::move(id);
  q.kind = QuestionKind::kText;
  q.text = {{"en", std::move(en)}};
  return q;
}

Question SingleChoice(std::string id, int n) {
  Question q;
  q.id = std::move(id);
  q.kind = QuestionKind::kSingleChoice;
  q.text = {{"en", "Why?"}};
  for (int i = 0; i < n; ++i) {
    q.choices.push_back(Choice{"c" + std::to_string(i), {{"en", "Choice " + std::to_string(i)}}});
  }
  return q;
}

Survey Valid() {
  Survey s;
  s.name = "Quarterly NPS";
  s.kind = SurveyKind::kRelationship;
  s.every_days = 90;
  s.min_gap_days = 30;
  s.title = {{"en", "Your opinion"}, {"de", "Ihre Meinung"}};
  Question nps = Nps();
  nps.follow_up = FollowUp(0, 6, TextQuestion("improve", "What should we improve?"));
  s.questions.push_back(std::move(nps));
  s.questions.push_back(SingleChoice("reason", 3));
  return s;
}

// Applies `mutate` to a valid survey and returns the validation error as "context: detail".
std::string ErrorAfter(const std::function<void(Survey&)>& mutate) {
  Survey s = Valid();
  mutate(s);
  Status st = ValidateSurvey(s);
  if (st) return "ok";
  EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
  return st.error().ToString();
}

TEST(QuestionKindTest, NamesRoundTrip) {
  for (QuestionKind k :
       {QuestionKind::kNps, QuestionKind::kCsat, QuestionKind::kCes, QuestionKind::kSingleChoice,
        QuestionKind::kMultipleChoice, QuestionKind::kText}) {
    EXPECT_EQ(ParseQuestionKind(QuestionKindName(k)).value(), k);
  }
  EXPECT_EQ(QuestionKindName(QuestionKind::kMultipleChoice), "multiple_choice");
  auto bad = ParseQuestionKind("NPS");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().context(), "question kind");
  EXPECT_FALSE(ParseQuestionKind(""));
}

TEST(QuestionKindTest, ScoreRanges) {
  EXPECT_EQ(ScoreRangeOf(QuestionKind::kNps), (ScoreRange{0, 10}));
  EXPECT_EQ(ScoreRangeOf(QuestionKind::kCsat), (ScoreRange{1, 5}));
  EXPECT_EQ(ScoreRangeOf(QuestionKind::kCes), (ScoreRange{1, 7}));
  EXPECT_EQ(ScoreRangeOf(QuestionKind::kText), std::nullopt);
  EXPECT_TRUE(IsScoreKind(QuestionKind::kCes));
  EXPECT_FALSE(IsScoreKind(QuestionKind::kSingleChoice));
  EXPECT_TRUE(IsChoiceKind(QuestionKind::kMultipleChoice));
  EXPECT_FALSE(IsChoiceKind(QuestionKind::kNps));
}

TEST(ValidateScoreTest, AcceptsTheRangeAndNamesItOtherwise) {
  EXPECT_EQ(ValidateScore(QuestionKind::kNps, 0).value(), 0);
  EXPECT_EQ(ValidateScore(QuestionKind::kNps, 10).value(), 10);
  EXPECT_EQ(ValidateScore(QuestionKind::kNps, 11).error().ToString(),
            "score: must be a whole number from 0 to 10");
  EXPECT_EQ(ValidateScore(QuestionKind::kNps, -1).error().ToString(),
            "score: must be a whole number from 0 to 10");
  EXPECT_EQ(ValidateScore(QuestionKind::kCsat, 0).error().ToString(),
            "score: must be a whole number from 1 to 5");
  EXPECT_EQ(ValidateScore(QuestionKind::kCsat, 5).value(), 5);
  EXPECT_EQ(ValidateScore(QuestionKind::kCes, 8).error().ToString(),
            "score: must be a whole number from 1 to 7");
  EXPECT_EQ(ValidateScore(QuestionKind::kCes, 1).value(), 1);
  auto text = ValidateScore(QuestionKind::kText, 3);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(text.error().ToString(), "score: text questions have no score");
}

TEST(LocalizedTextTest, ResolveFallsBackFromRegionToLanguageToDefault) {
  LocalizedText t{{"en", "Thanks"}, {"de", "Danke"}, {"de-CH", "Merci vielmal"}};
  EXPECT_EQ(t.Resolve("de-CH", "en"), "Merci vielmal");
  EXPECT_EQ(t.Resolve("de-AT", "en"), "Danke");
  EXPECT_EQ(t.Resolve("de", "en"), "Danke");
  EXPECT_EQ(t.Resolve("fr-FR", "en"), "Thanks");
  EXPECT_EQ(t.Resolve("", "en"), "Thanks");
  // Tags compare case-insensitively, '_' as '-'.
  EXPECT_EQ(t.Resolve("DE_ch", "en"), "Merci vielmal");
  EXPECT_EQ(t.Resolve("de_AT", "en"), "Danke");
  // The default locale itself falls back to its language.
  EXPECT_EQ(t.Resolve("fr", "en-GB"), "Thanks");
  EXPECT_EQ(t.Resolve("fr", "it"), "");
}

TEST(LocalizedTextTest, EmptyTextsAreSkipped) {
  LocalizedText t{{"en", "Thanks"}, {"de", ""}};
  EXPECT_EQ(t.Resolve("de", "en"), "Thanks");
  EXPECT_FALSE(t.Has("de"));
  EXPECT_TRUE(t.Has("EN"));
  t.Set("de", "Danke");
  EXPECT_EQ(t.Resolve("de-AT", "en"), "Danke");
  EXPECT_TRUE(LocalizedText().empty());
}

TEST(NpsThresholdsTest, StandardClassification) {
  constexpr NpsThresholds t = NpsThresholds::Standard();
  EXPECT_EQ(t, NpsThresholds{});
  for (int s = 0; s <= 6; ++s) EXPECT_EQ(t.Classify(s), NpsCategory::kDetractor) << s;
  EXPECT_EQ(t.Classify(7), NpsCategory::kPassive);
  EXPECT_EQ(t.Classify(8), NpsCategory::kPassive);
  EXPECT_EQ(t.Classify(9), NpsCategory::kPromoter);
  EXPECT_EQ(t.Classify(10), NpsCategory::kPromoter);
  static_assert(NpsThresholds::Standard().Classify(9) == NpsCategory::kPromoter);
}

TEST(NpsThresholdsTest, ArticleHasNoPassives) {
  constexpr NpsThresholds t = NpsThresholds::Article();
  EXPECT_EQ(t.promoter_min, 8);
  EXPECT_EQ(t.detractor_max, 7);
  for (int s = 0; s <= 7; ++s) EXPECT_EQ(t.Classify(s), NpsCategory::kDetractor) << s;
  for (int s = 8; s <= 10; ++s) EXPECT_EQ(t.Classify(s), NpsCategory::kPromoter) << s;
  EXPECT_EQ(NpsCategoryName(NpsCategory::kPassive), "passive");
}

TEST(SurveyKindTest, NamesRoundTrip) {
  EXPECT_EQ(ParseSurveyKind("relationship").value(), SurveyKind::kRelationship);
  EXPECT_EQ(ParseSurveyKind(SurveyKindName(SurveyKind::kTransactional)).value(),
            SurveyKind::kTransactional);
  EXPECT_EQ(ParseSurveyKind("weekly").error().context(), "survey kind");
}

TEST(FollowUpTest, CopiesAreDeepAndCompareByValue) {
  FollowUp a(0, 6, TextQuestion("improve", "What should we improve?"));
  FollowUp b = a;
  EXPECT_EQ(a, b);
  b.mutable_question().id = "other";
  EXPECT_EQ(a.question().id, "improve");
  EXPECT_NE(a, b);
  a = b;
  EXPECT_EQ(a.question().id, "other");
  FollowUp c = std::move(a);
  EXPECT_EQ(c.question().id, "other");
  EXPECT_TRUE(c.ShownFor(0));
  EXPECT_TRUE(c.ShownFor(6));
  EXPECT_FALSE(c.ShownFor(7));
  Survey s1 = Valid();
  Survey s2 = s1;
  EXPECT_EQ(s1, s2);
  s2.questions[0].follow_up->mutable_question().text.Set("en", "Anything else?");
  EXPECT_NE(s1, s2);
}

TEST(ValidateSurveyTest, ValidSurveysPass) {
  EXPECT_TRUE(ValidateSurvey(Valid()));
  Survey t = Valid();
  t.kind = SurveyKind::kTransactional;
  t.trigger_event = "Order Completed";
  t.delay_hours = 48;
  t.every_days = 0;  // not used by transactional surveys
  EXPECT_TRUE(ValidateSurvey(t));
  Survey de = Valid();
  de.default_locale = "de";
  de.title = {{"de", "Ihre Meinung"}};
  de.questions = {Nps()};
  de.questions[0].kind = QuestionKind::kCsat;
  de.nps = NpsThresholds::Article();
  EXPECT_TRUE(ValidateSurvey(de));
}

TEST(ValidateSurveyTest, Name) {
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.name = ""; }), "name: must not be empty");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.name = "   "; }), "name: must not be empty");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.name = std::string(100, 'x'); }), "ok");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.name = std::string(101, 'x'); }),
            "name: must be at most 100 characters, not 101");
  // Characters, not bytes: 100 × "ü" is 200 bytes.
  std::string umlauts;
  for (int i = 0; i < 100; ++i) umlauts += "\xC3\xBC";
  EXPECT_EQ(ErrorAfter([&](Survey& s) { s.name = umlauts; }), "ok");
}

TEST(ValidateSurveyTest, QuestionsAndIds) {
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.questions.clear(); }),
            "questions: a survey needs at least one question");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.questions[1].id = "recommend"; }),
            "questions[1].id: \"recommend\" is used by another question");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.questions[1].id = "improve"; }),
            "questions[1].id: \"improve\" is used by another question");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.questions[1].id = "bad-id"; }),
            "questions[1].id: must be 1 or more letters, digits or '_'");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.questions[0].id = ""; }),
            "questions[0].id: must be 1 or more letters, digits or '_'");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.questions[0].id = std::string(65, 'q'); }),
            "questions[0].id: must be at most 64 characters");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.questions[0].id = "Q_2"; }), "ok");
}

TEST(ValidateSurveyTest, TextsInTheDefaultLocale) {
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.title = {{"de", "Ihre Meinung"}};
            }),
            "title: needs a text in the default locale \"en\"");
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.questions[1].text = {{"en", " "}};
            }),
            "questions[1].text: needs a text in the default locale \"en\"");
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.intro = {{"de", "Hallo"}};
            }),
            "intro: needs a text in the default locale \"en\"");
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.thanks = {{"de", "Danke"}};
            }),
            "thanks: needs a text in the default locale \"en\"");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.thanks = {{"de", "Danke"}, {"en", "Thanks"}}; }), "ok");
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.questions[1].choices[2].label = {{"de", "x"}};
            }),
            "questions[1].choices[2].label: needs a text in the default locale \"en\"");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.title.Set("en US", "x"); }),
            "title: \"en US\" is not a locale tag such as \"de\" or \"de-AT\"");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.default_locale = ""; }),
            "default_locale: must be a locale tag such as \"en\" or \"de-AT\"");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.default_locale = "de"; }),
            "questions[0].follow_up.question.text: needs a text in the default locale \"de\"");
}

TEST(ValidateSurveyTest, Choices) {
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.questions[1] = SingleChoice("reason", 1); }),
            "questions[1].choices: a single_choice question needs at least 2 choices");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.questions[1] = SingleChoice("reason", 2); }), "ok");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.questions[1] = SingleChoice("reason", 20); }), "ok");
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.questions[1] = SingleChoice("reason", 21);
              s.questions[1].kind = QuestionKind::kMultipleChoice;
            }),
            "questions[1].choices: a multiple_choice question can have at most 20 choices");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.questions[1].choices[2].id = "c0"; }),
            "questions[1].choices[2].id: \"c0\" is used by another choice");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.questions[1].choices[1].id = "a b"; }),
            "questions[1].choices[1].id: must be 1 to 64 letters, digits or '_'");
  // A choice id may repeat a question id: they live in different namespaces.
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.questions[1].choices[0].id = "recommend"; }), "ok");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.questions[0].choices = SingleChoice("x", 2).choices; }),
            "questions[0].choices: nps questions have no choices");
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.questions.push_back(TextQuestion("comment", "Anything else?"));
              s.questions.back().choices = SingleChoice("x", 2).choices;
            }),
            "questions[2].choices: text questions have no choices");
}

TEST(ValidateSurveyTest, FollowUps) {
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.questions[0].follow_up = FollowUp(0, 11, TextQuestion("improve", "x"));
            }),
            "questions[0].follow_up.max_score: must be from 0 to 10 for a nps question");
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.questions[0].kind = QuestionKind::kCsat;
              s.questions[0].follow_up = FollowUp(0, 2, TextQuestion("improve", "x"));
            }),
            "questions[0].follow_up.min_score: must be from 1 to 5 for a csat question");
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.questions[0].follow_up = FollowUp(7, 6, TextQuestion("improve", "x"));
            }),
            "questions[0].follow_up: min_score (7) must not be above max_score (6)");
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              Question nested = Nps("again");
              nested.follow_up = FollowUp(0, 10, TextQuestion("deeper", "y"));
              s.questions[0].follow_up = FollowUp(0, 6, nested);
            }),
            "questions[0].follow_up.question.follow_up: a follow-up question can't have a "
            "follow-up of its own");
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.questions[1].follow_up = FollowUp(0, 1, TextQuestion("more", "x"));
            }),
            "questions[1].follow_up: only nps, csat and ces questions can have a follow-up, not "
            "single_choice");
  EXPECT_EQ(
      ErrorAfter([](Survey& s) { s.questions[0].follow_up->mutable_question().id = "reason"; }),
      "questions[1].id: \"reason\" is used by another question");
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.questions[0].follow_up = FollowUp(9, 10, SingleChoice("liked", 1));
            }),
            "questions[0].follow_up.question.choices: a single_choice question needs at least 2 "
            "choices");
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.questions[0].follow_up = FollowUp(0, 10, TextQuestion("why", "Why?"));
            }),
            "ok");
}

TEST(ValidateSurveyTest, Thresholds) {
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.nps = {8, 8};
            }),
            "nps: detractor_max (8) must be below promoter_min (8)");
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.nps = {5, 6};
            }),
            "nps: detractor_max (6) must be below promoter_min (5)");
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.nps = {11, 6};
            }),
            "nps.promoter_min: must be from 0 to 10");
  EXPECT_EQ(ErrorAfter([](Survey& s) {
              s.nps = {9, -1};
            }),
            "nps.detractor_max: must be from 0 to 10");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.nps = {1, 0}; }), "ok");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.nps = {10, 9}; }), "ok");
}

TEST(ValidateSurveyTest, Schedules) {
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.every_days = 0; }),
            "every_days: a relationship survey must repeat every 1 or more days");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.every_days = 1; }), "ok");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.min_gap_days = -1; }), "min_gap_days: must be 0 or more");
  EXPECT_EQ(ErrorAfter([](Survey& s) { s.min_gap_days = 0; }), "ok");
  auto transactional = [](Survey& s) {
    s.kind = SurveyKind::kTransactional;
    s.trigger_event = "Order Completed";
  };
  EXPECT_EQ(ErrorAfter(transactional), "ok");
  EXPECT_EQ(ErrorAfter([&](Survey& s) {
              transactional(s);
              s.trigger_event = " ";
            }),
            "trigger_event: a transactional survey needs a trigger event");
  EXPECT_EQ(ErrorAfter([&](Survey& s) {
              transactional(s);
              s.delay_hours = -1;
            }),
            "delay_hours: must be a whole number from 0 to 8760");
  EXPECT_EQ(ErrorAfter([&](Survey& s) {
              transactional(s);
              s.delay_hours = 8761;
            }),
            "delay_hours: must be a whole number from 0 to 8760");
  EXPECT_EQ(ErrorAfter([&](Survey& s) {
              transactional(s);
              s.delay_hours = 8760;
            }),
            "ok");
}

}  // namespace
}  // namespace treu::survey
