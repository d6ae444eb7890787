#include "journeys/engine.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "journeys/definition_json.hpp"
#include "journeys/winback_testing.hpp"

namespace treu::journeys {
namespace {

using nlohmann::json;

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

Timestamp Plus(Timestamp t, std::int64_t days, std::int64_t hours = 0) {
  return {t.micros + days * kMicrosPerDay + hours * 3600 * kMicrosPerSecond};
}

using ::treu::journeys::testing::kWinback;

constexpr JourneyKey kKey{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

JourneyVersion Version(const json& j, int version = 1, std::int64_t journey_id = 7, const JourneyKey& key = kKey) {
  auto d = JourneyFromJson(j);
  EXPECT_TRUE(d) << d.error().ToString();
  auto v = JourneyVersion::Create(journey_id, version, key, d.value_or(JourneyDefinition{}));
  EXPECT_TRUE(v) << v.error().ToString();
  return std::move(*v);
}

JourneyVersion Winback(bool with_goal = true) {
  json j = json::parse(kWinback);
  if (!with_goal) j.erase("goal");
  return Version(j);
}

// A condition evaluator from a fixed table of answers, counting its calls.
struct Conditions {
  std::map<std::string, bool, std::less<>> answers;
  int calls = 0;
  StepContext Context() {
    StepContext ctx;
    ctx.condition = [this](std::string_view expr) -> Result<bool> {
      ++calls;
      auto it = answers.find(expr);
      if (it == answers.end()) return InvalidArgument("if", "unknown expression '" + std::string(expr) + "'");
      return it->second;
    };
    return ctx;
  }
};

// "type:detail" of each action, e.g. "send:winback", "grant_points:200".
std::vector<std::string> Names(const std::vector<Action>& actions) {
  std::vector<std::string> out;
  for (const Action& a : actions) {
    std::string detail = std::visit(
        [](const auto& s) -> std::string {
          using S = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<S, SendStep>) return s.template_name;
          else if constexpr (std::is_same_v<S, GrantPointsStep>) return std::to_string(s.points);
          else if constexpr (std::is_same_v<S, GrantRewardStep>) return s.reward;
          else if constexpr (std::is_same_v<S, WebhookStep>) return s.endpoint;
          else if constexpr (std::is_same_v<S, FollowupStep>) return s.note;
          else return s.name;
        },
        a.body);
    out.push_back(std::string(StepTypeName(a.type())) + ":" + detail);
  }
  return out;
}

const Timestamp kT0 = At("2026-03-02T10:00:00Z");
const CustomerId kCustomer{42};

// Enters the customer at kT0: offer sent, waiting 7 days.
JourneyRun EnterWinback(const JourneyVersion& v, Conditions& c) {
  auto out = Start(v, kCustomer, kT0, Zone("Europe/Berlin"), c.Context(), /*run_id=*/5);
  EXPECT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(Names(out->actions), std::vector<std::string>{"send:winback"});
  EXPECT_EQ(out->steps, 2);  // offer, wait1
  EXPECT_EQ(out->run.state, RunState::kWaiting);
  EXPECT_EQ(out->run.step, 1);
  EXPECT_EQ(out->run.wake_at, Plus(kT0, 7));
  return out->run;
}

TEST(Engine, EnterStartsAtTheStartStep) {
  const JourneyVersion v = Winback();
  const JourneyRun run = Enter(v, kCustomer, kT0, TimeZone::Utc(), 5);
  EXPECT_EQ(run.run_id, 5);
  EXPECT_EQ(run.journey_id, 7);
  EXPECT_EQ(run.version, 1);
  EXPECT_EQ(run.customer, kCustomer);
  EXPECT_EQ(run.step, v.start_index());
  EXPECT_EQ(run.state, RunState::kActive);
  EXPECT_EQ(run.entered_at, kT0);
  EXPECT_EQ(run.step_entered_at, kT0);
  EXPECT_EQ(run.steps_executed, 0);
}

TEST(Engine, WinbackCustomerWhoOrderedExitsAtTheBranch) {
  const JourneyVersion v = Winback();
  Conditions c{{{"orders_count > 3", true}}};
  JourneyRun run = EnterWinback(v, c);
  // A day early: nothing happens.
  auto early = OnWake(v, run, c.Context(), Plus(kT0, 6));
  ASSERT_TRUE(early);
  EXPECT_EQ(early->steps, 0);
  EXPECT_EQ(early->run.state, RunState::kWaiting);
  EXPECT_EQ(c.calls, 0);
  auto woke = OnWake(v, run, c.Context(), Plus(kT0, 7));
  ASSERT_TRUE(woke) << woke.error().ToString();
  EXPECT_TRUE(woke->actions.empty());
  EXPECT_EQ(woke->steps, 2);  // check, done
  EXPECT_EQ(woke->run.state, RunState::kExited);
  EXPECT_EQ(woke->run.step, v.IndexOf("done"));
  EXPECT_EQ(woke->run.ended_at, Plus(kT0, 7));
  EXPECT_EQ(woke->run.steps_executed, 4);
  EXPECT_EQ(c.calls, 1);
}

TEST(Engine, WinbackWithoutOrderGetsBonusAndPushThenOrders) {
  // Without the goal, so that the order reaches wait2's `next` rather than completing the run.
  const JourneyVersion v = Winback(/*with_goal=*/false);
  Conditions c{{{"orders_count > 3", false}}};
  JourneyRun run = EnterWinback(v, c);
  auto woke = OnWake(v, run, c.Context(), Plus(kT0, 7));
  ASSERT_TRUE(woke) << woke.error().ToString();
  EXPECT_EQ(Names(woke->actions), (std::vector<std::string>{"grant_points:200", "send:winback-push"}));
  EXPECT_EQ(woke->actions[0].step_id, "bonus");
  EXPECT_EQ(woke->actions[1].step_id, "push");
  EXPECT_EQ(woke->actions[0].sequence, 4);  // offer 1, wait1 2, check 3, bonus 4
  EXPECT_EQ(woke->actions[1].sequence, 5);
  EXPECT_EQ(woke->steps, 4);  // check, bonus, push, wait2
  run = woke->run;
  EXPECT_EQ(run.state, RunState::kWaitingForEvent);
  EXPECT_EQ(run.step, v.IndexOf("wait2"));
  EXPECT_EQ(run.wake_at, Plus(kT0, 14));
  EXPECT_EQ(run.step_entered_at, Plus(kT0, 7));

  // Another event, and the awaited one dated before the step was reached: nothing.
  auto other = OnEvent(v, run, "Page Viewed", c.Context(), Plus(kT0, 8));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->steps, 0);
  EXPECT_EQ(other->run.state, RunState::kWaitingForEvent);
  auto stale = OnEvent(v, run, "Order Completed", c.Context(), Plus(kT0, 6));
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->run.state, RunState::kWaitingForEvent);

  auto ordered = OnEvent(v, run, "Order Completed", c.Context(), Plus(kT0, 10));
  ASSERT_TRUE(ordered) << ordered.error().ToString();
  EXPECT_TRUE(ordered->actions.empty());
  EXPECT_EQ(ordered->steps, 1);  // done
  EXPECT_EQ(ordered->run.state, RunState::kExited);
  EXPECT_EQ(ordered->run.step, v.IndexOf("done"));
  EXPECT_EQ(ordered->run.ended_at, Plus(kT0, 10));
}

TEST(Engine, WinbackOrderDuringTheEventWaitReachesTheGoal) {
  const JourneyVersion v = Winback();
  Conditions c{{{"orders_count > 3", false}}};
  JourneyRun run = EnterWinback(v, c);
  run = OnWake(v, run, c.Context(), Plus(kT0, 7))->run;
  ASSERT_EQ(run.state, RunState::kWaitingForEvent);
  // The awaited event is the goal too: the goal wins.
  auto ordered = OnEvent(v, run, "Order Completed", c.Context(), Plus(kT0, 10));
  ASSERT_TRUE(ordered);
  EXPECT_EQ(ordered->run.state, RunState::kCompleted);
  EXPECT_EQ(ordered->run.step, v.IndexOf("wait2"));
  EXPECT_EQ(ordered->steps, 0);
}

TEST(Engine, WinbackTimeoutSendsTheSurvey) {
  const JourneyVersion v = Winback();
  Conditions c{{{"orders_count > 3", false}}};
  JourneyRun run = EnterWinback(v, c);
  run = OnWake(v, run, c.Context(), Plus(kT0, 7))->run;
  // An hour before the timeout: not due yet.
  auto not_yet = OnWake(v, run, c.Context(), Plus(kT0, 14, -1));
  ASSERT_TRUE(not_yet);
  EXPECT_EQ(not_yet->run.state, RunState::kWaitingForEvent);
  auto timeout = OnWake(v, run, c.Context(), Plus(kT0, 14));
  ASSERT_TRUE(timeout) << timeout.error().ToString();
  EXPECT_EQ(Names(timeout->actions), std::vector<std::string>{"send:nps-invite"});
  EXPECT_EQ(timeout->actions[0].step_id, "survey");
  EXPECT_EQ(timeout->steps, 2);  // survey, done
  EXPECT_EQ(timeout->run.state, RunState::kExited);
  EXPECT_EQ(timeout->run.steps_executed, 8);
  // Waking an ended run does nothing.
  auto again = OnWake(v, timeout->run, c.Context(), Plus(kT0, 20));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->steps, 0);
  EXPECT_EQ(again->run.state, RunState::kExited);
}

TEST(Engine, EventAtTheTimeoutIsTheTimeouts) {
  const JourneyVersion v = Winback(/*with_goal=*/false);
  Conditions c{{{"orders_count > 3", false}}};
  JourneyRun run = EnterWinback(v, c);
  run = OnWake(v, run, c.Context(), Plus(kT0, 7))->run;
  auto at_timeout = OnEvent(v, run, "Order Completed", c.Context(), Plus(kT0, 14));
  ASSERT_TRUE(at_timeout);
  EXPECT_EQ(at_timeout->steps, 0);
  EXPECT_EQ(at_timeout->run.state, RunState::kWaitingForEvent);
  auto just_before = OnEvent(v, run, "Order Completed", c.Context(), Timestamp{Plus(kT0, 14).micros - 1});
  ASSERT_TRUE(just_before);
  EXPECT_EQ(just_before->run.state, RunState::kExited);
}

TEST(Engine, GoalEventExitsFromAWait) {
  const JourneyVersion v = Winback();
  Conditions c;
  JourneyRun run = EnterWinback(v, c);
  auto goal = OnEvent(v, run, "Order Completed", c.Context(), Plus(kT0, 3));
  ASSERT_TRUE(goal);
  EXPECT_EQ(goal->run.state, RunState::kCompleted);
  EXPECT_EQ(goal->run.step, v.IndexOf("wait1"));  // where it was converted
  EXPECT_EQ(goal->run.ended_at, Plus(kT0, 3));
  EXPECT_EQ(goal->run.wake_at, Timestamp{});
  EXPECT_TRUE(goal->actions.empty());
  // A completed run stays so: later events and wakes do nothing.
  auto later = OnEvent(v, goal->run, "Order Completed", c.Context(), Plus(kT0, 4));
  ASSERT_TRUE(later);
  EXPECT_EQ(later->run.ended_at, Plus(kT0, 3));
  auto wake = OnWake(v, goal->run, c.Context(), Plus(kT0, 7));
  ASSERT_TRUE(wake);
  EXPECT_EQ(wake->run.state, RunState::kCompleted);
  EXPECT_EQ(c.calls, 0);
}

TEST(Engine, GoalWindowAndSegmentGoal) {
  // A 60-day wait with a 30-day goal window: an order on day 31 no longer counts.
  json j = json::parse(R"({
    "name": "nurture", "trigger": {"type": "event", "event": "Signed Up"},
    "goal": {"segment": "buyers", "within_days": 30},
    "steps": [{"id": "hi", "type": "send", "template": "hi", "next": "w"},
              {"id": "w", "type": "wait", "days": 60, "next": "bye"},
              {"id": "bye", "type": "send", "template": "bye"}]})");
  const JourneyVersion v = Version(j);
  Conditions c;
  auto start = Start(v, kCustomer, kT0, TimeZone::Utc(), c.Context());
  ASSERT_TRUE(start);
  const JourneyRun run = start->run;
  auto other = OnSegmentEntered(v, run, "vip", Plus(kT0, 1));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->run.state, RunState::kWaiting);
  auto late = OnSegmentEntered(v, run, "buyers", Plus(kT0, 31));
  ASSERT_TRUE(late);
  EXPECT_EQ(late->run.state, RunState::kWaiting);
  auto edge = OnSegmentEntered(v, run, "buyers", Plus(kT0, 30));
  ASSERT_TRUE(edge);
  EXPECT_EQ(edge->run.state, RunState::kCompleted);
  // A segment goal ignores events of that name.
  auto event = OnEvent(v, run, "buyers", c.Context(), Plus(kT0, 1));
  ASSERT_TRUE(event);
  EXPECT_EQ(event->run.state, RunState::kWaiting);
  // The last action has no next: the run exits after it.
  auto end = OnWake(v, run, c.Context(), Plus(kT0, 60));
  ASSERT_TRUE(end);
  EXPECT_EQ(Names(end->actions), std::vector<std::string>{"send:bye"});
  EXPECT_EQ(end->run.state, RunState::kExited);
  EXPECT_EQ(end->run.step, v.IndexOf("bye"));
}

JourneyVersion WaitUntilJourney(int weekday = 0) {
  json j = json::parse(R"({
    "name": "morning", "trigger": {"type": "event", "event": "Signed Up"},
    "steps": [{"id": "w", "type": "wait_until", "time": "10:00", "next": "hi"},
              {"id": "hi", "type": "send", "template": "hi"}]})");
  if (weekday) j["steps"][0]["weekday"] = weekday;
  return Version(j);
}

Timestamp WakeAt(const JourneyVersion& v, Timestamp entered, const TimeZone& zone) {
  auto out = Start(v, kCustomer, entered, zone, StepContext{});
  EXPECT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(out->run.state, RunState::kWaiting);
  return out->run.wake_at;
}

TEST(Engine, WaitUntilAcrossBerlinDaylightSavingChanges) {
  const JourneyVersion v = WaitUntilJourney();
  const TimeZone berlin = Zone("Europe/Berlin");
  // Spring: 10:00 CET on 03-28 is 09:00Z, 10:00 CEST on 03-29 08:00Z.
  EXPECT_EQ(WakeAt(v, At("2026-03-28T08:30:00Z"), berlin), At("2026-03-28T09:00:00Z"));
  EXPECT_EQ(WakeAt(v, At("2026-03-28T12:00:00Z"), berlin), At("2026-03-29T08:00:00Z"));
  EXPECT_EQ(WakeAt(v, At("2026-03-29T00:30:00Z"), berlin), At("2026-03-29T08:00:00Z"));  // before the change at 01:00Z
  // Autumn: 10:00 CEST on 10-24 is 08:00Z, 10:00 CET on 10-25 09:00Z.
  EXPECT_EQ(WakeAt(v, At("2026-10-24T07:00:00Z"), berlin), At("2026-10-24T08:00:00Z"));
  EXPECT_EQ(WakeAt(v, At("2026-10-24T12:00:00Z"), berlin), At("2026-10-25T09:00:00Z"));
  EXPECT_EQ(WakeAt(v, At("2026-10-25T08:30:00Z"), berlin), At("2026-10-25T09:00:00Z"));
  // Exactly at 10:00: the next day's (strictly after).
  EXPECT_EQ(WakeAt(v, At("2026-10-25T09:00:00Z"), berlin), At("2026-10-26T09:00:00Z"));
  // The same journey in New York and UTC.
  EXPECT_EQ(WakeAt(v, At("2026-03-28T12:00:00Z"), Zone("America/New_York")), At("2026-03-28T14:00:00Z"));
  EXPECT_EQ(WakeAt(v, At("2026-03-28T12:00:00Z"), TimeZone::Utc()), At("2026-03-29T10:00:00Z"));
  // Monday only: from Saturday 2026-03-28 to Monday 03-30, 10:00 CEST.
  EXPECT_EQ(WakeAt(WaitUntilJourney(1), At("2026-03-28T12:00:00Z"), berlin), At("2026-03-30T08:00:00Z"));
  // Sunday, the day of the change itself.
  EXPECT_EQ(WakeAt(WaitUntilJourney(7), At("2026-03-25T12:00:00Z"), berlin), At("2026-03-29T08:00:00Z"));
  // Woken at the time, the message goes.
  auto run = Start(v, kCustomer, At("2026-03-28T12:00:00Z"), berlin, StepContext{});
  ASSERT_TRUE(run);
  auto woke = OnWake(v, run->run, StepContext{}, At("2026-03-29T08:00:00Z"));
  ASSERT_TRUE(woke);
  EXPECT_EQ(Names(woke->actions), std::vector<std::string>{"send:hi"});
}

JourneyVersion SplitJourney(const JourneyKey& key, int w0, int w1) {
  json j = json::parse(R"({
    "name": "ab", "trigger": {"type": "event", "event": "Signed Up"},
    "steps": [{"id": "ab", "type": "split", "branches": [{"weight": 30, "next": "a"}, {"weight": 70, "next": "b"}]},
              {"id": "a", "type": "send", "template": "a"},
              {"id": "b", "type": "send", "template": "b"}]})");
  j["steps"][0]["branches"][0]["weight"] = w0;
  j["steps"][0]["branches"][1]["weight"] = w1;
  return Version(j, 1, 7, key);
}

TEST(Engine, SplitSharesAreWithinBinomialBoundsAndStable) {
  const JourneyVersion v = SplitJourney(kKey, 30, 70);
  const int n = 10'000;
  int a = 0;
  std::vector<int> first(n + 1);
  for (int i = 1; i <= n; ++i) {
    auto out = Start(v, CustomerId{i}, kT0, TimeZone::Utc(), StepContext{});
    ASSERT_TRUE(out);
    ASSERT_EQ(out->actions.size(), 1u);
    first[static_cast<std::size_t>(i)] = out->actions[0].step;
    if (out->actions[0].step_id == "a") ++a;
    EXPECT_EQ(out->steps, 2);
  }
  // Expected 3000, σ = √(10000 · 0.3 · 0.7) ≈ 45.8: within 4.5σ.
  EXPECT_NEAR(a, 3000, 206) << a;
  // The same customer always takes the same branch: again, later, in another process.
  int moved = 0;
  const JourneyVersion other_key = SplitJourney(JourneyKey{9, 9, 9}, 30, 70);
  for (int i = 1; i <= n; ++i) {
    auto again = Start(v, CustomerId{i}, Plus(kT0, 100), Zone("Asia/Tokyo"), StepContext{});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->actions[0].step, first[static_cast<std::size_t>(i)]);
    auto other = Start(other_key, CustomerId{i}, kT0, TimeZone::Utc(), StepContext{});
    ASSERT_TRUE(other);
    if (other->actions[0].step != first[static_cast<std::size_t>(i)]) ++moved;
  }
  // Another journey's key draws independently: P(differ) = 2 · 0.3 · 0.7 = 0.42.
  EXPECT_NEAR(moved, 4200, 225) << moved;
}

TEST(Engine, ChooseSplitBranchByWeight) {
  const std::vector<SplitBranch> three = {{1, "a"}, {1, "b"}, {2, "c"}};
  std::vector<int> counts(3);
  for (int i = 1; i <= 20'000; ++i) ++counts[static_cast<std::size_t>(ChooseSplitBranch(kKey, CustomerId{i}, "s", three))];
  // 5000, 5000, 10000; σ ≈ 61, 61, 71.
  EXPECT_NEAR(counts[0], 5000, 300);
  EXPECT_NEAR(counts[1], 5000, 300);
  EXPECT_NEAR(counts[2], 10000, 330);
  // The step id is part of the draw: two splits of one journey are independent.
  int same = 0;
  const std::vector<SplitBranch> halves = {{1, "a"}, {1, "b"}};
  for (int i = 1; i <= 10'000; ++i)
    same += ChooseSplitBranch(kKey, CustomerId{i}, "first", halves) == ChooseSplitBranch(kKey, CustomerId{i}, "second", halves);
  EXPECT_NEAR(same, 5000, 225);
  // Weight 1000 against 1.
  const std::vector<SplitBranch> skewed = {{1000, "a"}, {1, "b"}};
  int rare = 0;
  for (int i = 1; i <= 10'000; ++i) rare += ChooseSplitBranch(kKey, CustomerId{i}, "s", skewed);
  EXPECT_LT(rare, 40);
}

TEST(Engine, RunsKeepTheirVersion) {
  json v1_json = json::parse(R"({
    "name": "onboarding", "trigger": {"type": "event", "event": "Signed Up"},
    "steps": [{"id": "hi", "type": "send", "template": "welcome-v1", "next": "w"},
              {"id": "w", "type": "wait", "days": 2, "next": "tip"},
              {"id": "tip", "type": "send", "template": "tip-v1"}]})");
  json v2_json = json::parse(R"({
    "name": "onboarding", "trigger": {"type": "event", "event": "Signed Up"},
    "steps": [{"id": "hi", "type": "send", "template": "welcome-v2", "next": "w"},
              {"id": "w", "type": "wait", "days": 1, "next": "coupon"},
              {"id": "coupon", "type": "grant_reward", "reward": "coupon", "next": "tip"},
              {"id": "tip", "type": "send", "template": "tip-v2"}]})");
  const JourneyVersion v1 = Version(v1_json, 1);
  const JourneyVersion v2 = Version(v2_json, VersionForSave(&v1, *JourneyFromJson(v2_json)));
  EXPECT_EQ(v2.version(), 2);
  EXPECT_EQ(VersionForSave(&v1, *JourneyFromJson(v1_json)), 1);  // unchanged: no new version

  auto old_run = Start(v1, CustomerId{1}, kT0, TimeZone::Utc(), StepContext{});
  ASSERT_TRUE(old_run);
  EXPECT_EQ(old_run->run.version, 1);
  // Version 2 is saved now; the run is not moved by it.
  auto wrong = OnWake(v2, old_run->run, StepContext{}, Plus(kT0, 2));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(wrong.error().context(), "version");
  // One day in, version 1's two-day wait holds; on day 2 version 1's tip goes.
  auto day1 = OnWake(v1, old_run->run, StepContext{}, Plus(kT0, 1));
  ASSERT_TRUE(day1);
  EXPECT_EQ(day1->steps, 0);
  auto day2 = OnWake(v1, old_run->run, StepContext{}, Plus(kT0, 2));
  ASSERT_TRUE(day2);
  EXPECT_EQ(Names(day2->actions), std::vector<std::string>{"send:tip-v1"});
  EXPECT_EQ(day2->run.version, 1);

  auto new_run = Start(v2, CustomerId{2}, Plus(kT0, 1), TimeZone::Utc(), StepContext{});
  ASSERT_TRUE(new_run);
  EXPECT_EQ(new_run->run.version, 2);
  EXPECT_EQ(Names(new_run->actions), std::vector<std::string>{"send:welcome-v2"});
  auto new_woke = OnWake(v2, new_run->run, StepContext{}, Plus(kT0, 2));
  ASSERT_TRUE(new_woke);
  EXPECT_EQ(Names(new_woke->actions), (std::vector<std::string>{"grant_reward:coupon", "send:tip-v2"}));
  // A run of another journey is refused too.
  const JourneyVersion elsewhere = Version(v1_json, 1, /*journey_id=*/8);
  auto foreign = OnWake(elsewhere, old_run->run, StepContext{}, Plus(kT0, 2));
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().context(), "journey");
}

TEST(Engine, ZeroWaitLoopsAreRefusedSoTheStepLimitIsOnlyASafetyNet) {
  json loop = json::parse(R"({
    "name": "spin", "trigger": {"type": "event", "event": "x"},
    "steps": [{"id": "a", "type": "send", "template": "t", "next": "b"},
              {"id": "b", "type": "branch", "if": "true", "then": "a", "else": "c"},
              {"id": "c", "type": "exit"}]})");
  auto parsed = ParseJourneyJson(loop);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().front().context(), "steps.0");
  // The same loop through a wait is valid and waits each round.
  loop["steps"][0]["next"] = "w";
  loop["steps"].push_back(json::parse(R"({"id": "w", "type": "wait", "minutes": 1, "next": "b"})"));
  const JourneyVersion v = Version(loop);
  Conditions c{{{"true", true}}};
  auto out = Start(v, kCustomer, kT0, TimeZone::Utc(), c.Context());
  ASSERT_TRUE(out);
  JourneyRun run = out->run;
  std::vector<std::int64_t> sequences = {out->actions.at(0).sequence};
  for (int i = 1; i <= 3; ++i) {
    auto woke = OnWake(v, run, c.Context(), run.wake_at);
    ASSERT_TRUE(woke);
    ASSERT_EQ(woke->actions.size(), 1u);
    EXPECT_EQ(woke->run.wake_at.micros, run.wake_at.micros + 60 * kMicrosPerSecond);
    sequences.push_back(woke->actions[0].sequence);
    run = woke->run;
  }
  // Each visit of the send step has its own sequence number (for idempotent delivery).
  EXPECT_EQ(sequences, (std::vector<std::int64_t>{1, 4, 7, 10}));
  // The safety limit itself, with a lower limit than a valid journey could reach.
  json chain = json::parse(R"({
    "name": "chain", "trigger": {"type": "event", "event": "x"},
    "steps": [{"id": "a", "type": "send", "template": "t", "next": "b"},
              {"id": "b", "type": "webhook", "endpoint": "crm", "next": "c"},
              {"id": "c", "type": "followup", "note": "n", "next": "d"},
              {"id": "d", "type": "exit"}]})");
  StepContext tight;
  tight.max_steps = 2;
  auto limited = Start(Version(chain), kCustomer, kT0, TimeZone::Utc(), tight);
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(limited.error().context(), "steps.2");
  auto fine = Start(Version(chain), kCustomer, kT0, TimeZone::Utc(), StepContext{});
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->steps, 4);
  EXPECT_EQ(Names(fine->actions), (std::vector<std::string>{"send:t", "webhook:crm", "followup:n"}));
}

TEST(Engine, ConditionErrorsChangeNothing) {
  const JourneyVersion v = Winback();
  Conditions c;  // knows no expression
  JourneyRun run = EnterWinback(v, c);
  auto failed = OnWake(v, run, c.Context(), Plus(kT0, 7));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(failed.error().ToString().find("journey step 'check'"), std::string::npos) << failed.error().ToString();
  // Without an evaluator at all.
  auto none = OnWake(v, run, StepContext{}, Plus(kT0, 7));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(none.error().context(), "steps.2.if");
  // The stored run is still the waiting one: retrying works.
  c.answers["orders_count > 3"] = false;
  auto retried = OnWake(v, run, c.Context(), Plus(kT0, 7));
  ASSERT_TRUE(retried);
  EXPECT_EQ(retried->actions.size(), 2u);
}

TEST(Engine, AdvanceNeedsAnActiveRunAndExitRunEndsOne) {
  const JourneyVersion v = Winback();
  Conditions c;
  JourneyRun run = EnterWinback(v, c);
  auto advance = Advance(v, run, c.Context(), Plus(kT0, 1));
  ASSERT_FALSE(advance);
  EXPECT_EQ(advance.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(advance.error().context(), "state");
  const JourneyRun stopped = ExitRun(run, Plus(kT0, 2));
  EXPECT_EQ(stopped.state, RunState::kExited);
  EXPECT_EQ(stopped.ended_at, Plus(kT0, 2));
  EXPECT_EQ(ExitRun(stopped, Plus(kT0, 3)).ended_at, Plus(kT0, 2));
  auto woke = OnWake(v, stopped, c.Context(), Plus(kT0, 7));
  ASSERT_TRUE(woke);
  EXPECT_EQ(woke->steps, 0);
  EXPECT_EQ(RunStateName(RunState::kWaitingForEvent), "waiting_for_event");
}

TEST(Engine, SetAttributeAndOtherActionsCarryTheirStep) {
  json j = json::parse(R"({
    "name": "tag", "trigger": {"type": "survey_answer", "survey": "nps", "max_score": 6},
    "steps": [{"id": "mark", "type": "set_attribute", "name": "detractor", "value": true, "next": "call"},
              {"id": "call", "type": "followup", "note": "Call back within a day", "next": "gift"},
              {"id": "gift", "type": "grant_reward", "reward": "voucher-5", "next": "tell"},
              {"id": "tell", "type": "send", "template": "sorry", "category": "transactional"}]})");
  const JourneyVersion v = Version(j);
  auto out = Start(v, kCustomer, kT0, TimeZone::Utc(), StepContext{});
  ASSERT_TRUE(out);
  ASSERT_EQ(out->actions.size(), 4u);
  EXPECT_EQ(out->actions[0].type(), StepType::kSetAttribute);
  EXPECT_EQ(std::get<SetAttributeStep>(out->actions[0].body).value, AttributeValue(true));
  EXPECT_EQ(out->actions[1].type(), StepType::kFollowup);
  EXPECT_EQ(out->actions[2].type(), StepType::kGrantReward);
  EXPECT_EQ(out->actions[3].type(), StepType::kSend);
  EXPECT_EQ(std::get<SendStep>(out->actions[3].body).category, MessageCategory::kTransactional);
  EXPECT_EQ(out->actions[3].step, 3);
  EXPECT_EQ(out->run.state, RunState::kExited);
  EXPECT_EQ(out->run.step, 3);
}

JourneyRun Ended(std::int64_t journey, Timestamp entered, RunState state = RunState::kExited) {
  JourneyRun r;
  r.journey_id = journey;
  r.entered_at = entered;
  r.state = state;
  return r;
}

TEST(Engine, MayEnterFollowsTheReentryMode) {
  json j = json::parse(kWinback);
  auto version_with = [&](const char* reentry) {
    j["reentry"] = json::parse(reentry);
    return Version(j);
  };
  const Timestamp now = At("2026-06-01T00:00:00Z");
  const std::vector<JourneyRun> none;
  const std::vector<JourneyRun> inside = {Ended(7, Plus(now, -200)), Ended(7, Plus(now, -5), RunState::kWaiting)};
  const std::vector<JourneyRun> ended_recently = {Ended(7, Plus(now, -200)), Ended(7, Plus(now, -60), RunState::kCompleted)};
  const std::vector<JourneyRun> ended_long_ago = {Ended(7, Plus(now, -90)), Ended(7, Plus(now, -300))};
  const std::vector<JourneyRun> other_journey = {Ended(8, Plus(now, -1), RunState::kWaiting)};

  const JourneyVersion never = version_with(R"("never")");
  EXPECT_TRUE(MayEnter(never, none, now));
  EXPECT_TRUE(MayEnter(never, other_journey, now));
  EXPECT_FALSE(MayEnter(never, ended_long_ago, now));
  EXPECT_FALSE(MayEnter(never, inside, now));

  const JourneyVersion always = version_with(R"("always")");
  EXPECT_TRUE(MayEnter(always, ended_recently, now));
  EXPECT_FALSE(MayEnter(always, inside, now));

  const JourneyVersion after_exit = version_with(R"("after_exit")");
  EXPECT_TRUE(MayEnter(after_exit, ended_recently, now));
  EXPECT_FALSE(MayEnter(after_exit, inside, now));

  const JourneyVersion after_90 = version_with(R"({"mode": "after_exit", "after_days": 90})");
  EXPECT_FALSE(MayEnter(after_90, ended_recently, now));   // last entry 60 days ago
  EXPECT_TRUE(MayEnter(after_90, ended_long_ago, now));    // exactly 90 days ago
  EXPECT_FALSE(MayEnter(after_90, ended_long_ago, Timestamp{now.micros - 1}));
  EXPECT_FALSE(MayEnter(after_90, inside, now));
  EXPECT_TRUE(MayEnter(after_90, none, now));
}

TEST(Engine, StepsAreCountedAcrossTheRun) {
  const JourneyVersion v = Winback();
  Conditions c{{{"orders_count > 3", false}}};
  std::int64_t total = 0;
  auto start = Start(v, kCustomer, kT0, TimeZone::Utc(), c.Context());
  ASSERT_TRUE(start);
  total += start->steps;
  auto w1 = OnWake(v, start->run, c.Context(), Plus(kT0, 7));
  ASSERT_TRUE(w1);
  total += w1->steps;
  auto w2 = OnWake(v, w1->run, c.Context(), Plus(kT0, 14));
  ASSERT_TRUE(w2);
  total += w2->steps;
  EXPECT_EQ(total, 8);  // offer wait1 | check bonus push wait2 | survey done
  EXPECT_EQ(w2->run.steps_executed, total);
}

}  // namespace
}  // namespace treu::journeys
