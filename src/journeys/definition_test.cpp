#include "journeys/definition.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace treu::journeys {
namespace {

Timestamp At(std::string_view text) {
  auto t = ParseTimestamp(text, TimeZone::Utc());
  EXPECT_TRUE(t.has_value()) << text;
  return t.value_or(Timestamp{});
}

TimeZone Zone(std::string_view name) {
  auto z = TimeZone::Find(name);
  EXPECT_TRUE(z.has_value()) << name;
  return z.value_or(TimeZone::Utc());
}

// send → wait 1 day → exit, built in C++.
JourneyDefinition Small() {
  JourneyDefinition d;
  d.name = "small";
  d.trigger.type = TriggerType::kEvent;
  d.trigger.event = "Signed Up";
  d.start = "hello";
  d.steps = {Step{"hello", SendStep{"welcome", MessageCategory::kMarketing, "pause", ""}},
             Step{"pause", WaitStep{1, 0, 0, "bye"}}, Step{"bye", ExitStep{}}};
  return d;
}

std::vector<std::string> Contexts(const JourneyDefinition& d) {
  std::vector<std::string> out;
  for (const Error& e : ValidateJourney(d)) out.push_back(e.context());
  return out;
}

TEST(TimeOfDay, ParsesAndFormats) {
  auto t = ParseTimeOfDay("09:30", "steps.1.time");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, (TimeOfDay{9, 30}));
  EXPECT_EQ(FormatTimeOfDay({23, 5}), "23:05");
  EXPECT_EQ(t->micros(), (9 * 60 + 30) * 60 * kMicrosPerSecond);
  for (std::string_view bad : {"9:30", "24:00", "12:60", "12-30", "", "12:30:00", "ab:cd"}) {
    auto r = ParseTimeOfDay(bad, "trigger.at");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().context(), "trigger.at");
  }
}

TEST(StepTypes, NamesAndKinds) {
  for (int i = 0; i <= static_cast<int>(StepType::kExit); ++i) {
    const auto t = static_cast<StepType>(i);
    EXPECT_EQ(ParseStepType(StepTypeName(t)), t);
  }
  EXPECT_FALSE(ParseStepType("sleep"));
  EXPECT_TRUE(IsWaitType(StepType::kWaitForEvent));
  EXPECT_FALSE(IsWaitType(StepType::kBranch));
  EXPECT_TRUE(IsActionType(StepType::kSend));
  EXPECT_TRUE(IsActionType(StepType::kSetAttribute));
  EXPECT_FALSE(IsActionType(StepType::kSplit));
  EXPECT_FALSE(IsActionType(StepType::kExit));
}

TEST(ValidateJourney, AcceptsAValidDefinition) {
  EXPECT_TRUE(ValidateJourney(Small()).empty());
  EXPECT_TRUE(CheckJourney(Small()));
}

TEST(ValidateJourney, RefusesStrayTriggerMembers) {
  JourneyDefinition d = Small();
  d.trigger.segment = "vip";
  d.trigger.offset_days = 3;
  d.trigger.min_score = 1;
  EXPECT_EQ(Contexts(d), (std::vector<std::string>{"trigger.segment", "trigger.offset_days", "trigger.min_score"}));
  EXPECT_EQ(ValidateJourney(d)[0].detail(), "is not a field of an event trigger");
}

TEST(ValidateJourney, ChecksValuesOfEveryStepType) {
  JourneyDefinition d = Small();
  d.steps = {
      Step{"a", WaitStep{-1, 0, 0, "b"}},
      Step{"b", WaitUntilStep{{24, 0}, 9, ""}},
      Step{"c", WaitForEventStep{"", 0, 0, "d", "d"}},
      Step{"d", BranchStep{"", "e", ""}},
      Step{"e", SplitStep{{{0, "f"}}}},
      Step{"f", SendStep{"", MessageCategory::kMarketing, "", ""}},
      Step{"g", GrantPointsStep{0, "", ""}},
      Step{"h", GrantRewardStep{"", ""}},
      Step{"i", WebhookStep{"", ""}},
      Step{"j", FollowupStep{std::string(2001, 'x'), ""}},
      Step{"k", SetAttributeStep{"", AttributeValue(std::numeric_limits<double>::infinity()), ""}},
  };
  d.start = "a";
  EXPECT_EQ(Contexts(d), (std::vector<std::string>{
                             "steps.0.days", "steps.1.time", "steps.1.weekday", "steps.1.next", "steps.2.event",
                             "steps.2", "steps.3.if", "steps.3.else", "steps.4.branches", "steps.4.branches.0.weight",
                             "steps.5.template", "steps.6.points", "steps.6.reason", "steps.7.reward",
                             "steps.8.endpoint", "steps.9.note", "steps.10.name", "steps.10.value"}));
}

TEST(ValidateJourney, GoalAndReentryRules) {
  JourneyDefinition d = Small();
  d.goal.within_days = 5;
  EXPECT_EQ(Contexts(d), std::vector<std::string>{"goal"});
  d.goal = Goal{"", "bad segment", 0};
  EXPECT_EQ(Contexts(d), std::vector<std::string>{"goal.segment"});
  d.goal = Goal{"Order Completed", "", 0};
  d.reentry = Reentry{ReentryMode::kAlways, 3};
  EXPECT_EQ(Contexts(d), std::vector<std::string>{"reentry.after_days"});
  d.reentry = Reentry{ReentryMode::kAfterExit, 3};
  EXPECT_TRUE(Contexts(d).empty());
}

TEST(ValidateJourney, LimitsStepsAndErrors) {
  JourneyDefinition d = Small();
  d.steps.clear();
  for (int i = 0; i < 201; ++i) d.steps.push_back(Step{"s" + std::to_string(i), ExitStep{}});
  d.start = "s0";
  auto errors = ValidateJourney(d);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].ToString(), "steps: has 201 steps; at most 200");
  // 200 steps, each wrong: the list stops at 100.
  d.steps.resize(200);
  for (Step& s : d.steps) s.body = SendStep{"", MessageCategory::kMarketing, "", ""};
  EXPECT_EQ(ValidateJourney(d).size(), 100u);
}

TEST(ValidateJourney, LoopsThroughAWaitAreFine) {
  // hello → pause (1 day) → hello: a weekly reminder until the goal.
  JourneyDefinition d = Small();
  std::get<WaitStep>(d.steps[1].body).next = "hello";
  d.steps.pop_back();
  EXPECT_TRUE(ValidateJourney(d).empty());
  // Without the wait the loop is refused, naming the step it closes at.
  d.steps[0] = Step{"hello", SendStep{"welcome", MessageCategory::kMarketing, "again", ""}};
  d.steps[1] = Step{"again", FollowupStep{"call", "hello"}};
  auto errors = ValidateJourney(d);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].context(), "steps.0");
  EXPECT_NE(errors[0].detail().find("'hello' → 'again' → 'hello'"), std::string::npos) << errors[0].ToString();
  // A branch's both ways count: one of them loops back without waiting.
  d.steps[1] = Step{"again", BranchStep{"x > 1", "hello", "bye"}};
  d.steps.push_back(Step{"bye", ExitStep{}});
  errors = ValidateJourney(d);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].context(), "steps.0");
  // A step looping to itself.
  d.steps[1] = Step{"again", SplitStep{{{1, "again"}, {1, "bye"}}}};
  errors = ValidateJourney(d);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].ToString(),
            "steps.1: the steps 'again' → 'again' form a loop without a wait step; a run would go round it forever");
  EXPECT_FALSE(JourneyVersion::Create(1, 1, JourneyKey{}, d));
}

TEST(JourneyKey, FormatsAndParses) {
  const JourneyKey key = NewJourneyKey();
  EXPECT_NE(key, NewJourneyKey());
  const std::string hex = FormatJourneyKey(key);
  EXPECT_EQ(hex.size(), 32u);
  EXPECT_EQ(ParseJourneyKey(hex), key);
  EXPECT_FALSE(ParseJourneyKey("00"));
  EXPECT_EQ(ParseJourneyKey(std::string(32, 'G')).error().context(), "key");
}

TEST(JourneyVersion, ResolvesTargets) {
  JourneyDefinition d = Small();
  d.steps.insert(d.steps.begin() + 2, Step{"maybe", BranchStep{"vip", "bye", "hello2"}});
  std::get<WaitStep>(d.steps[1].body).next = "maybe";
  d.steps.push_back(Step{"hello2", SendStep{"again", MessageCategory::kMarketing, "", ""}});
  auto v = JourneyVersion::Create(9, 2, JourneyKey{}, d);
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(v->journey_id(), 9);
  EXPECT_EQ(v->version(), 2);
  EXPECT_EQ(v->start_index(), 0);
  EXPECT_EQ(v->IndexOf("maybe"), 2);
  EXPECT_EQ(v->IndexOf("nope"), -1);
  EXPECT_EQ(std::vector<int>(v->Targets(0).begin(), v->Targets(0).end()), std::vector<int>{1});
  EXPECT_EQ(std::vector<int>(v->Targets(2).begin(), v->Targets(2).end()), (std::vector<int>{3, 4}));
  EXPECT_TRUE(v->Targets(3).empty());                              // exit
  EXPECT_EQ(std::vector<int>(v->Targets(4).begin(), v->Targets(4).end()), std::vector<int>{-1});  // no next
  EXPECT_FALSE(JourneyVersion::Create(9, 0, JourneyKey{}, d));
  d.start = "nowhere";
  auto bad = JourneyVersion::Create(9, 1, JourneyKey{}, d);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().ToString(), "start: names no step 'nowhere'");
}

TEST(JourneyVersion, SavingAnUnchangedDefinitionKeepsTheVersion) {
  EXPECT_EQ(VersionForSave(nullptr, Small()), 1);
  auto v3 = JourneyVersion::Create(1, 3, JourneyKey{}, Small());
  ASSERT_TRUE(v3);
  EXPECT_EQ(VersionForSave(&*v3, Small()), 3);
  JourneyDefinition changed = Small();
  std::get<WaitStep>(changed.steps[1].body).hours = 1;
  EXPECT_EQ(VersionForSave(&*v3, changed), 4);
}

TEST(NextLocalTimeAfter, StrictlyAfterAndByWeekday) {
  const TimeZone berlin = Zone("Europe/Berlin");
  // 10:00 CET is 09:00Z in winter; exactly at it, the next day's.
  EXPECT_EQ(NextLocalTimeAfter(At("2026-01-15T08:00:00Z"), berlin, {10, 0}), At("2026-01-15T09:00:00Z"));
  EXPECT_EQ(NextLocalTimeAfter(At("2026-01-15T09:00:00Z"), berlin, {10, 0}), At("2026-01-16T09:00:00Z"));
  // 2026-01-15 is a Thursday: the next Monday is the 19th, the next Thursday a week on.
  EXPECT_EQ(NextLocalTimeAfter(At("2026-01-15T08:00:00Z"), berlin, {10, 0}, 1), At("2026-01-19T09:00:00Z"));
  EXPECT_EQ(NextLocalTimeAfter(At("2026-01-15T08:00:00Z"), berlin, {10, 0}, 4), At("2026-01-15T09:00:00Z"));
  EXPECT_EQ(NextLocalTimeAfter(At("2026-01-15T09:30:00Z"), berlin, {10, 0}, 4), At("2026-01-22T09:00:00Z"));
  EXPECT_EQ(NextLocalTimeAfter(At("2026-01-15T08:00:00Z"), berlin, {10, 0}, 7), At("2026-01-18T09:00:00Z"));
  // Across midnight UTC: Tokyo's Monday 08:00 is Sunday 23:00Z.
  EXPECT_EQ(NextLocalTimeAfter(At("2026-01-15T00:00:00Z"), Zone("Asia/Tokyo"), {8, 0}, 1), At("2026-01-18T23:00:00Z"));
  // 02:30 doesn't exist in Berlin on 2026-03-29: the transition instant.
  EXPECT_EQ(NextLocalTimeAfter(At("2026-03-28T23:00:00Z"), berlin, {2, 30}), At("2026-03-29T01:00:00Z"));
}

TEST(NextDateTrigger, OneOffAndYearly) {
  const TimeZone berlin = Zone("Europe/Berlin");
  Trigger renewal;
  renewal.type = TriggerType::kDate;
  renewal.attribute = "renewal_date";
  renewal.offset_days = -7;
  renewal.at = {9, 0};
  // A week before 2026-07-01, 09:00 CEST.
  EXPECT_EQ(NextDateTrigger(renewal, {2026, 7, 1}, berlin, At("2026-01-01T00:00:00Z")), At("2026-06-24T07:00:00Z"));
  EXPECT_EQ(NextDateTrigger(renewal, {2026, 7, 1}, berlin, At("2026-06-24T07:00:00Z")), std::nullopt);

  Trigger birthday;
  birthday.type = TriggerType::kDate;
  birthday.attribute = "birthday";
  birthday.yearly = true;
  birthday.at = {10, 0};
  EXPECT_EQ(NextDateTrigger(birthday, {1990, 5, 12}, berlin, At("2026-01-01T00:00:00Z")), At("2026-05-12T08:00:00Z"));
  EXPECT_EQ(NextDateTrigger(birthday, {1990, 5, 12}, berlin, At("2026-05-12T08:00:00Z")), At("2027-05-12T08:00:00Z"));
  // 29 February on the 28th in other years.
  EXPECT_EQ(NextDateTrigger(birthday, {2000, 2, 29}, TimeZone::Utc(), At("2026-01-01T00:00:00Z")),
            At("2026-02-28T10:00:00Z"));
  EXPECT_EQ(NextDateTrigger(birthday, {2000, 2, 29}, TimeZone::Utc(), At("2027-03-01T00:00:00Z")),
            At("2028-02-29T10:00:00Z"));
  // An offset that crosses the new year: 3 days before a 2 January birthday.
  birthday.offset_days = -3;
  EXPECT_EQ(NextDateTrigger(birthday, {1980, 1, 2}, TimeZone::Utc(), At("2026-06-01T00:00:00Z")),
            At("2026-12-30T10:00:00Z"));
}

}  // namespace
}  // namespace treu::journeys
