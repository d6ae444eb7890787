#include "api/survey_json.hpp"

#include <gtest/gtest.h>

namespace treu {
namespace {

using nlohmann::json;

json Quarterly() {
  return json::parse(R"({
    "name": "Quarterly NPS", "kind": "relationship", "every_days": 90, "min_gap_days": 30,
    "default_locale": "de",
    "title": {"de": "Ihre Meinung", "en": "Your opinion"},
    "thanks": {"de": "Danke!", "en": "Thank you!"},
    "nps_thresholds": "article",
    "questions": [
      {"id": "nps", "kind": "nps", "required": true,
       "text": {"de": "Wie wahrscheinlich ist es, dass Sie uns empfehlen?", "en": "How likely are you to recommend us?"},
       "follow_up": {"min": 0, "max": 7, "question": {"id": "improve", "kind": "text",
                     "text": {"de": "Was sollen wir besser machen?", "en": "What should we improve?"}}}},
      {"id": "channel", "kind": "single_choice", "text": {"de": "Wo kaufen Sie?"},
       "choices": [{"id": "web", "label": {"de": "Online"}}, {"id": "store", "label": {"de": "Im Laden"}}]}
    ]})");
}

TEST(SurveyJsonTest, RoundTrips) {
  auto s = SurveyFromJson(Quarterly());
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(s->name, "Quarterly NPS");
  EXPECT_EQ(s->nps, survey::NpsThresholds::Article());
  ASSERT_EQ(s->questions.size(), 2u);
  ASSERT_TRUE(s->questions[0].follow_up.has_value());
  EXPECT_EQ(s->questions[0].follow_up->max_score(), 7);
  EXPECT_EQ(s->questions[1].choices[1].id, "store");
  auto again = SurveyFromJson(SurveyToJson(*s));
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(*again, *s);
  EXPECT_EQ(SurveyToJson(*again), SurveyToJson(*s));
}

TEST(SurveyJsonTest, ErrorsNameTheField) {
  auto error = [](const std::function<void(json&)>& change) {
    json j = Quarterly();
    change(j);
    auto s = SurveyFromJson(j);
    return s ? std::string("ok") : s.error().ToString();
  };
  EXPECT_EQ(error([](json& j) { j["questions"][1]["choices"].erase(1); }),
            "/questions/1/choices: a single_choice question needs at least 2 choices");
  EXPECT_EQ(error([](json& j) { j["questions"][0]["kind"] = "stars"; }),
            "/questions/0/kind: \"stars\" is not one of nps, csat, ces, single_choice, multiple_choice, text");
  EXPECT_EQ(error([](json& j) { j["colour"] = "red"; }).substr(0, 26), "/colour: is not a member h");
  EXPECT_EQ(error([](json& j) { j["every_days"] = "90"; }), "/every_days: must be a whole number");
  EXPECT_EQ(error([](json& j) { j["nps_thresholds"] = "loose"; }).substr(0, 23), "/nps_thresholds: must b");
  EXPECT_EQ(error([](json& j) { j.erase("name"); }), "/name: is required");
  EXPECT_NE(error([](json& j) { j["questions"][0]["follow_up"]["max"] = 11; }).find("/questions/0/follow_up"),
            std::string::npos);
}

TEST(SurveyJsonTest, PathsBecomePointers) {
  EXPECT_EQ(SurveyPathToPointer("questions[1].choices"), "/questions/1/choices");
  EXPECT_EQ(SurveyPathToPointer("name"), "/name");
  EXPECT_EQ(SurveyPathToPointer("questions[0].follow_up.question.text"), "/questions/0/follow_up/question/text");
  EXPECT_EQ(SurveyPathToPointer("questions[2].follow_up.max_score"), "/questions/2/follow_up/max");
  EXPECT_EQ(SurveyPathToPointer("nps.promoter_min"), "/nps_thresholds/promoter_min");
}

}  // namespace
}  // namespace treu
