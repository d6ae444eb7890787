#include "journeys/definition_json.hpp"
#include "journeys/winback_testing.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace treu::journeys {
namespace {

using nlohmann::json;

using ::treu::journeys::testing::kWinback;

// Every step type and trigger member once.
constexpr const char* kEverything = R"({
  "name": "every.step_type-1",
  "trigger": {"type": "event", "event": "Page Viewed", "where": "country = \"DE\""},
  "reentry": "always",
  "goal": {"segment": "vip"},
  "start": "split",
  "steps": [
    {"id": "split", "type": "split", "branches": [{"weight": 1, "next": "a"}, {"weight": 999, "next": "b"},
                                                   {"next": "c"}]},
    {"id": "a", "type": "wait_until", "time": "10:00", "weekday": 1, "next": "b"},
    {"id": "b", "type": "wait", "days": 1, "hours": 2, "minutes": 3, "next": "c"},
    {"id": "c", "type": "send", "template": "receipt", "category": "transactional", "survey": "nps",
     "next": "d"},
    {"id": "d", "type": "grant_reward", "reward": "coffee", "next": "e"},
    {"id": "e", "type": "webhook", "endpoint": "crm", "next": "f"},
    {"id": "f", "type": "followup", "note": "Call them", "next": "g"},
    {"id": "g", "type": "set_attribute", "name": "winback_done", "value": true, "next": "h"},
    {"id": "h", "type": "set_attribute", "name": "score", "value": 4.25, "next": "i"},
    {"id": "i", "type": "set_attribute", "name": "level", "value": -3, "next": "j"},
    {"id": "j", "type": "set_attribute", "name": "note", "value": "won back"},
    {"id": "k", "type": "wait_for_event", "event": "Review Written", "timeout_hours": 5, "next": "l", "timeout_next": "l"}
  ]
})";

json Winback() { return json::parse(kWinback); }

TEST(JourneyJson, ParsesTheWinbackExample) {
  auto parsed = ParseJourneyJson(Winback());
  ASSERT_TRUE(parsed) << parsed.error().front().ToString();
  const JourneyDefinition& d = *parsed;
  EXPECT_EQ(d.name, "winback");
  EXPECT_EQ(d.trigger.type, TriggerType::kSegmentEntered);
  EXPECT_EQ(d.trigger.segment, "at_risk");
  EXPECT_EQ(d.reentry, (Reentry{ReentryMode::kAfterExit, 90}));
  EXPECT_EQ(d.goal, (Goal{"Order Completed", "", 30}));
  EXPECT_EQ(d.start, "offer");
  ASSERT_EQ(d.steps.size(), 8u);
  EXPECT_EQ(d.steps[0].id, "offer");
  EXPECT_EQ(std::get<SendStep>(d.steps[0].body), (SendStep{"winback", MessageCategory::kMarketing, "wait1", ""}));
  EXPECT_EQ(std::get<WaitStep>(d.steps[1].body), (WaitStep{7, 0, 0, "check"}));
  EXPECT_EQ(std::get<BranchStep>(d.steps[2].body), (BranchStep{"orders_count > 3", "done", "bonus"}));
  EXPECT_EQ(std::get<GrantPointsStep>(d.steps[3].body), (GrantPointsStep{200, "winback", "push"}));
  EXPECT_EQ(std::get<WaitForEventStep>(d.steps[5].body), (WaitForEventStep{"Order Completed", 7, 0, "done", "survey"}));
  EXPECT_EQ(d.steps[7].type(), StepType::kExit);
}

TEST(JourneyJson, ParsesEveryStepType) {
  // "k" names a step "l" that doesn't exist: first see the error, then fix it.
  auto bad = ParseJourneyJson(json::parse(kEverything));
  ASSERT_FALSE(bad);
  ASSERT_EQ(bad.error().size(), 2u);
  EXPECT_EQ(bad.error()[0].ToString(), "steps.11.next: names no step 'l'");
  EXPECT_EQ(bad.error()[1].ToString(), "steps.11.timeout_next: names no step 'l'");

  json j = json::parse(kEverything);
  j["steps"][11]["next"] = "c";
  j["steps"][11]["timeout_next"] = "j";
  j["steps"][10]["next"] = "k";
  auto parsed = ParseJourneyJson(j);
  ASSERT_TRUE(parsed) << parsed.error().front().ToString();
  const JourneyDefinition& d = *parsed;
  EXPECT_EQ(d.trigger.where, "country = \"DE\"");
  EXPECT_EQ(d.reentry.mode, ReentryMode::kAlways);
  EXPECT_EQ(d.goal.segment, "vip");
  const auto& split = std::get<SplitStep>(d.steps[0].body);
  ASSERT_EQ(split.branches.size(), 3u);
  EXPECT_EQ(split.branches[2], (SplitBranch{1, "c"}));  // weight 1 by default
  EXPECT_EQ(std::get<WaitUntilStep>(d.steps[1].body), (WaitUntilStep{{10, 0}, 1, "b"}));
  EXPECT_EQ(std::get<WaitStep>(d.steps[2].body).micros(), (26 * 60 + 3) * 60 * kMicrosPerSecond);
  EXPECT_EQ(std::get<SendStep>(d.steps[3].body).category, MessageCategory::kTransactional);
  EXPECT_EQ(std::get<SendStep>(d.steps[3].body).survey, "nps");
  EXPECT_EQ(std::get<SetAttributeStep>(d.steps[7].body).value, AttributeValue(true));
  EXPECT_EQ(std::get<SetAttributeStep>(d.steps[8].body).value, AttributeValue(4.25));
  EXPECT_EQ(std::get<SetAttributeStep>(d.steps[9].body).value, AttributeValue(std::int64_t{-3}));
  EXPECT_EQ(std::get<SetAttributeStep>(d.steps[10].body).value, AttributeValue(std::string("won back")));
  EXPECT_EQ(std::get<WaitForEventStep>(d.steps[11].body).timeout_micros(), 5 * 3600 * kMicrosPerSecond);

  // Round trip of every type.
  const json written = JourneyToJson(d);
  auto again = ParseJourneyJson(written);
  ASSERT_TRUE(again) << again.error().front().ToString() << "\n" << written.dump(2);
  EXPECT_EQ(*again, d);
}

TEST(JourneyJson, RoundTripsThroughTheCanonicalForm) {
  auto d = ParseJourneyJson(Winback());
  ASSERT_TRUE(d);
  const json written = JourneyToJson(*d);
  // Defaults are written out (the send's category), the reentry with days as an object.
  EXPECT_EQ(written["steps"][0], json::parse(R"({"id": "offer", "type": "send", "template": "winback",
                                                "category": "marketing", "next": "wait1"})"));
  EXPECT_EQ(written["reentry"], json::parse(R"({"mode": "after_exit", "after_days": 90})"));
  EXPECT_EQ(written["goal"], json::parse(R"({"event": "Order Completed", "within_days": 30})"));
  EXPECT_EQ(written["steps"][7], json::parse(R"({"id": "done", "type": "exit"})"));
  auto again = ParseJourneyText(FormatJourneyJson(*d, 2));
  ASSERT_TRUE(again) << again.error().front().ToString();
  EXPECT_EQ(*again, *d);
  EXPECT_EQ(FormatJourneyJson(*again), FormatJourneyJson(*d));
}

TEST(JourneyJson, DateAndSurveyTriggersRoundTrip) {
  for (const char* trigger : {
           R"({"type": "date", "attribute": "birthday", "offset_days": -7, "at": "09:30", "yearly": true})",
           R"({"type": "date", "attribute": "renewal_date"})",
           R"({"type": "survey_answer", "survey": "nps", "max_score": 6})",
           R"({"type": "survey_answer", "survey": "nps", "min_score": 9, "max_score": 10})",
           R"({"type": "segment_left", "segment": "vip"})",
           R"({"type": "event", "event": "Signed Up"})",
       }) {
    SCOPED_TRACE(trigger);
    json j = Winback();
    j["trigger"] = json::parse(trigger);
    auto d = ParseJourneyJson(j);
    ASSERT_TRUE(d) << d.error().front().ToString();
    auto again = ParseJourneyJson(JourneyToJson(*d));
    ASSERT_TRUE(again) << again.error().front().ToString();
    EXPECT_EQ(*again, *d);
  }
  json j = Winback();
  j["trigger"] = json::parse(R"({"type": "date", "attribute": "birthday", "offset_days": -7, "at": "09:30", "yearly": true})");
  auto d = ParseJourneyJson(j);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->trigger.offset_days, -7);
  EXPECT_EQ(d->trigger.at, (TimeOfDay{9, 30}));
  EXPECT_TRUE(d->trigger.yearly);
  j["trigger"] = json::parse(R"({"type": "date", "attribute": "renewal_date"})");
  d = ParseJourneyJson(j);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->trigger.at, (TimeOfDay{9, 0}));  // the default
  EXPECT_FALSE(d->trigger.yearly);
}

TEST(JourneyJson, HashIgnoresSpellingAndSeesChanges) {
  auto a = ParseJourneyJson(Winback());
  ASSERT_TRUE(a);
  json spelled = Winback();
  spelled.erase("start");  // the first step by default
  spelled["steps"][0]["category"] = "marketing";
  spelled["steps"][2] = json::parse(R"({"else": "bonus", "then": "done", "if": "orders_count > 3",
                                        "type": "branch", "id": "check"})");
  auto b = ParseJourneyJson(spelled);
  ASSERT_TRUE(b) << b.error().front().ToString();
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(DefinitionHash(*a), DefinitionHash(*b));
  EXPECT_EQ(DefinitionHash(*a).size(), 64u);

  json changed = Winback();
  changed["steps"][3]["points"] = 201;
  auto c = ParseJourneyJson(changed);
  ASSERT_TRUE(c);
  EXPECT_NE(*a, *c);
  EXPECT_NE(DefinitionHash(*a), DefinitionHash(*c));

  json never = Winback();
  never["reentry"] = "never";
  auto n1 = ParseJourneyJson(never);
  never["reentry"] = json::parse(R"({"mode": "never"})");
  auto n2 = ParseJourneyJson(never);
  ASSERT_TRUE(n1 && n2);
  EXPECT_EQ(DefinitionHash(*n1), DefinitionHash(*n2));
}

bool IsPointerContext(const std::string& s) {
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  return !s.empty();
}

struct BadCase {
  const char* what;
  std::function<void(json&)> change;
  const char* context;  // of the first error
  const char* detail;   // a part of its detail
};

json Step(const char* text) { return json::parse(text); }

TEST(JourneyJson, RefusesBadDefinitionsNamingTheMember) {
  const std::vector<BadCase> cases = {
      {"root not an object", [](json& j) { j = json::array(); }, "", "must be a JSON object"},
      {"unknown top-level member", [](json& j) { j["descripton"] = "x"; }, "descripton",
       "is not a field of a journey (name, trigger, reentry, goal, start, steps)"},
      {"bad name", [](json& j) { j["name"] = "win back!"; }, "name", "letters, digits"},
      {"name missing", [](json& j) { j.erase("name"); }, "name", "is required"},
      {"name of the wrong type", [](json& j) { j["name"] = 5; }, "name", "must be a string"},
      {"trigger missing", [](json& j) { j.erase("trigger"); }, "trigger", "is required"},
      {"unknown trigger type", [](json& j) { j["trigger"]["type"] = "segment_joined"; }, "trigger.type",
       "not 'segment_joined'"},
      {"trigger without its segment", [](json& j) { j["trigger"].erase("segment"); }, "trigger.segment", "is required"},
      {"member of another trigger type", [](json& j) { j["trigger"]["event"] = "Order Completed"; }, "trigger.event",
       "is not a field of a segment_entered trigger (type, segment)"},
      {"bad segment name", [](json& j) { j["trigger"]["segment"] = "at risk"; }, "trigger.segment", "segment name"},
      {"date offset out of range",
       [](json& j) { j["trigger"] = Step(R"({"type": "date", "attribute": "birthday", "offset_days": 400})"); },
       "trigger.offset_days", "between -365 and 365"},
      {"date trigger's bad time",
       [](json& j) { j["trigger"] = Step(R"({"type": "date", "attribute": "birthday", "at": "9:00"})"); },
       "trigger.at", "HH:MM"},
      {"yearly not a bool",
       [](json& j) { j["trigger"] = Step(R"({"type": "date", "attribute": "birthday", "yearly": "yes"})"); },
       "trigger.yearly", "true or false"},
      {"scores upside down",
       [](json& j) { j["trigger"] = Step(R"({"type": "survey_answer", "survey": "nps", "min_score": 7, "max_score": 6})"); },
       "trigger.max_score", "not be below min_score"},
      {"score out of range",
       [](json& j) { j["trigger"] = Step(R"({"type": "survey_answer", "survey": "nps", "max_score": 11})"); },
       "trigger.max_score", "between 0 and 10"},
      {"unknown reentry mode", [](json& j) { j["reentry"] = "sometimes"; }, "reentry", "not 'sometimes'"},
      {"reentry days without after_exit", [](json& j) { j["reentry"] = Step(R"({"mode": "never", "after_days": 5})"); },
       "reentry.after_days", "only for the mode after_exit"},
      {"reentry days out of range", [](json& j) { j["reentry"]["after_days"] = 4000; }, "reentry.after_days",
       "between 1 and 3650"},
      {"goal with both", [](json& j) { j["goal"]["segment"] = "vip"; }, "goal", "not both"},
      {"goal window too long", [](json& j) { j["goal"]["within_days"] = 366; }, "goal.within_days", "between 1 and 365"},
      {"start names no step", [](json& j) { j["start"] = "ofer"; }, "start", "names no step 'ofer'"},
      {"steps not an array", [](json& j) { j["steps"] = json::object(); }, "steps", "must be an array"},
      {"no steps", [](json& j) { j["steps"] = json::array(); }, "steps", "at least one step"},
      {"too many steps",
       [](json& j) {
         j["steps"] = json::array();
         for (int i = 0; i < 201; ++i)
           j["steps"].push_back({{"id", "s" + std::to_string(i)}, {"type", "send"}, {"template", "t"},
                                 {"next", "s" + std::to_string(i + 1)}});
         j["start"] = "s0";
       },
       "steps", "has 201 steps; at most 200"},
      {"step not an object", [](json& j) { j["steps"][0] = 5; }, "steps.0", "must be a JSON object"},
      {"unknown step type", [](json& j) { j["steps"][0]["type"] = "sned"; }, "steps.0.type", "not 'sned'"},
      {"step type missing", [](json& j) { j["steps"][6].erase("type"); }, "steps.6.type", "is required"},
      {"unknown step field", [](json& j) { j["steps"][6]["tempalte"] = "nps"; }, "steps.6.tempalte",
       "is not a field of a send step (id, type, template, category, survey, next)"},
      {"template missing", [](json& j) { j["steps"][6].erase("template"); }, "steps.6.template", "is required"},
      {"bad category", [](json& j) { j["steps"][0]["category"] = "promo"; }, "steps.0.category",
       "marketing or transactional, not 'promo'"},
      {"bad step id", [](json& j) { j["steps"][1]["id"] = "Wait 1"; }, "steps.1.id", "a-z, 0-9"},
      {"id too long", [](json& j) { j["steps"][7]["id"] = std::string(65, 'x'); }, "steps.7.id", "1 to 64"},
      {"duplicate id", [](json& j) { j["steps"][4]["id"] = "wait1"; }, "steps.4.id", "id 'wait1' is also step 1's"},
      {"next names no step", [](json& j) { j["steps"][1]["next"] = "chek"; }, "steps.1.next", "names no step 'chek'"},
      {"else names no step", [](json& j) { j["steps"][2]["else"] = "bonsu"; }, "steps.2.else", "names no step 'bonsu'"},
      {"wait without next", [](json& j) { j["steps"][1].erase("next"); }, "steps.1.next", "is required"},
      {"next of the wrong type", [](json& j) { j["steps"][1]["next"] = 3; }, "steps.1.next", "must be a string"},
      {"days as a string", [](json& j) { j["steps"][1]["days"] = "7"; }, "steps.1.days", "whole number"},
      {"days a fraction", [](json& j) { j["steps"][1]["days"] = 1.5; }, "steps.1.days", "whole number"},
      {"days zero", [](json& j) { j["steps"][1]["days"] = 0; }, "steps.1.days", "greater than 0"},
      {"wait without a duration", [](json& j) { j["steps"][1].erase("days"); }, "steps.1",
       "a wait needs a duration (days, hours, minutes)"},
      {"wait over a year", [](json& j) { j["steps"][1]["days"] = 366; }, "steps.1.days", "more than 365 days"},
      {"wait over a year in total", [](json& j) { j["steps"][1]["hours"] = 24 * 360; }, "steps.1",
       "more than 365 days in total"},
      {"bad HH:MM", [](json& j) { j["steps"][1] = Step(R"({"id": "wait1", "type": "wait_until", "time": "25:00", "next": "check"})"); },
       "steps.1.time", "between 00:00 and 23:59"},
      {"HH:MM without a leading zero",
       [](json& j) { j["steps"][1] = Step(R"({"id": "wait1", "type": "wait_until", "time": "9:30", "next": "check"})"); },
       "steps.1.time", "HH:MM"},
      {"wait_until without time", [](json& j) { j["steps"][1] = Step(R"({"id": "wait1", "type": "wait_until", "next": "check"})"); },
       "steps.1.time", "is required"},
      {"weekday out of range",
       [](json& j) { j["steps"][1] = Step(R"({"id": "wait1", "type": "wait_until", "time": "10:00", "weekday": 8, "next": "check"})"); },
       "steps.1.weekday", "1 (Monday) to 7 (Sunday)"},
      {"event wait without timeout_next", [](json& j) { j["steps"][5].erase("timeout_next"); }, "steps.5.timeout_next",
       "is required"},
      {"event wait without a timeout", [](json& j) { j["steps"][5].erase("timeout_days"); }, "steps.5",
       "needs a duration (timeout_days, timeout_hours)"},
      {"event wait timeout too long", [](json& j) { j["steps"][5]["timeout_days"] = 400; }, "steps.5.timeout_days",
       "more than 365 days"},
      {"branch without condition", [](json& j) { j["steps"][2].erase("if"); }, "steps.2.if", "is required"},
      {"points negative", [](json& j) { j["steps"][3]["points"] = -5; }, "steps.3.points", "between 1 and 1000000000"},
      {"points missing", [](json& j) { j["steps"][3].erase("points"); }, "steps.3.points", "is required"},
      {"points as text", [](json& j) { j["steps"][3]["points"] = "200"; }, "steps.3.points", "whole number"},
      {"weight zero",
       [](json& j) { j["steps"][2] = Step(R"({"id": "check", "type": "split", "branches": [{"weight": 0, "next": "done"}, {"weight": 1, "next": "bonus"}]})"); },
       "steps.2.branches.0.weight", "between 1 and 1000"},
      {"weight too big",
       [](json& j) { j["steps"][2] = Step(R"({"id": "check", "type": "split", "branches": [{"weight": 1, "next": "done"}, {"weight": 1001, "next": "bonus"}]})"); },
       "steps.2.branches.1.weight", "between 1 and 1000"},
      {"split of one branch",
       [](json& j) { j["steps"][2] = Step(R"({"id": "check", "type": "split", "branches": [{"weight": 1, "next": "bonus"}]})"); },
       "steps.2.branches", "needs 2 to 10 branches, not 1"},
      {"split branch to nowhere",
       [](json& j) { j["steps"][2] = Step(R"({"id": "check", "type": "split", "branches": [{"next": "done"}, {"next": "bonnus"}]})"); },
       "steps.2.branches.1.next", "names no step 'bonnus'"},
      {"set_attribute value null",
       [](json& j) { j["steps"][6] = Step(R"({"id": "survey", "type": "set_attribute", "name": "x", "value": null, "next": "done"})"); },
       "steps.6.value", "a string, a number, true or false"},
      {"survey of the wrong type", [](json& j) { j["steps"][0]["survey"] = 5; }, "steps.0.survey", "must be a string"},
      {"survey name too long", [](json& j) { j["steps"][0]["survey"] = std::string(201, 's'); }, "steps.0.survey",
       "longer than 200"},
      {"set_attribute without value",
       [](json& j) { j["steps"][6] = Step(R"({"id": "survey", "type": "set_attribute", "name": "x"})"); },
       "steps.6.value", "is required"},
      {"attribute name with a space",
       [](json& j) { j["steps"][6] = Step(R"({"id": "survey", "type": "set_attribute", "name": "a b", "value": 1})"); },
       "steps.6.name", "attribute name"},
      {"unreachable step", [](json& j) { j["steps"].push_back(Step(R"({"id": "orphan", "type": "exit"})")); }, "steps.8",
       "step 'orphan' can't be reached from the start step 'offer'"},
      {"loop without a wait",
       [](json& j) {
         j["steps"][2]["then"] = "push";   // check → push → wait2 ...
         j["steps"][3]["next"] = "check";  // ... and check → bonus → check at one instant
       },
       "steps.2", "the steps 'check' → 'bonus' → 'check' form a loop without a wait step"},
  };
  ASSERT_GE(cases.size(), 20u);
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.what);
    json j = Winback();
    c.change(j);
    auto parsed = ParseJourneyJson(j);
    ASSERT_FALSE(parsed);
    ASSERT_FALSE(parsed.error().empty());
    const Error& first = parsed.error().front();
    EXPECT_EQ(first.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(first.context(), c.context) << first.ToString();
    EXPECT_NE(first.detail().find(c.detail), std::string::npos) << first.ToString();
    if (*c.context != '\0') {
      EXPECT_TRUE(IsPointerContext(first.context())) << first.context();
    }
    // The first-error form agrees.
    auto one = JourneyFromJson(j);
    ASSERT_FALSE(one);
    EXPECT_EQ(one.error().ToString(), first.ToString());
  }
}

TEST(JourneyJson, ListsEveryErrorOnce) {
  json j = Winback();
  j["steps"][0]["tempalte"] = "x";     // unknown member
  j["steps"][1]["days"] = "7";         // wrong type: no "needs a duration" on top
  j["steps"][3]["points"] = 0;         // out of range
  j["trigger"]["segment"] = "at risk";  // bad name
  auto parsed = ParseJourneyJson(j);
  ASSERT_FALSE(parsed);
  std::vector<std::string> got;
  for (const Error& e : parsed.error()) got.push_back(e.ToString());
  EXPECT_EQ(got, (std::vector<std::string>{
                     "steps.0.tempalte: is not a field of a send step (id, type, template, category, survey, next)",
                     "steps.1.days: must be a whole number",
                     "steps.3.points: must be between 1 and 1000000000",
                     "trigger.segment: must be a segment name: 1 to 64 letters, digits, '_', '-' or '.'",
                 }));
}

TEST(JourneyJson, AnUnknownStepTypeHidesOnlyThatStepsOtherErrors) {
  json j = Winback();
  j["steps"][6] = Step(R"({"id": "survey", "type": "sruvey", "template": "nps-invite", "next": "done"})");
  j["steps"][4]["next"] = "wiat2";
  auto parsed = ParseJourneyJson(j);
  ASSERT_FALSE(parsed);
  std::vector<std::string> got;
  for (const Error& e : parsed.error()) got.push_back(e.context());
  // No complaint about the survey step's members, nor about reachability while the input is
  // broken; the bad target is still found.
  EXPECT_EQ(got, (std::vector<std::string>{"steps.6.type", "steps.4.next"}));
}

TEST(JourneyJson, SyntaxErrorsAndTheDefaultStart) {
  auto bad = ParseJourneyText("{\"name\": ");
  ASSERT_FALSE(bad);
  ASSERT_EQ(bad.error().size(), 1u);
  EXPECT_EQ(bad.error()[0].context(), "");
  EXPECT_NE(bad.error()[0].detail().find("is not valid JSON (at byte"), std::string::npos);

  json j = Winback();
  j.erase("start");
  auto d = ParseJourneyJson(j);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->start, "offer");
  EXPECT_EQ(JourneyToJson(*d)["start"], "offer");
  // Without a goal and reentry: none, never.
  j.erase("goal");
  j.erase("reentry");
  d = ParseJourneyJson(j);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->goal.empty());
  EXPECT_EQ(d->reentry, Reentry{});
  EXPECT_FALSE(JourneyToJson(*d).contains("goal"));
  EXPECT_EQ(JourneyToJson(*d)["reentry"], "never");
}

}  // namespace
}  // namespace treu::journeys
