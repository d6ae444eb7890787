#include "surveys/invitations.hpp"

#include <gtest/gtest.h>

namespace treu::survey {
namespace {

constexpr std::int64_t kHour = 3600 * kMicrosPerSecond;
const Timestamp kNow = Timestamp::FromSeconds(1'700'000'000);

Timestamp DaysAgo(double days) { return Timestamp{kNow.micros - static_cast<std::int64_t>(days * kMicrosPerDay)}; }

Survey Relationship() {
  Survey s;
  s.id = 7;
  s.kind = SurveyKind::kRelationship;
  s.every_days = 90;
  s.min_gap_days = 30;
  return s;
}

Survey Transactional() {
  Survey s;
  s.id = 8;
  s.kind = SurveyKind::kTransactional;
  s.trigger_event = "Order Completed";
  s.delay_hours = 48;
  s.min_gap_days = 14;
  return s;
}

TEST(ScheduleTest, RelationshipSurveysRepeatEveryDaysAndKeepTheMinimumGap) {
  const Survey s = Relationship();
  EXPECT_EQ(CheckSchedule(s, {}, kNow), NotDue::kDue);
  EXPECT_EQ(CheckSchedule(s, {DaysAgo(89.9), DaysAgo(89.9), {}}, kNow), NotDue::kAskedRecently);
  EXPECT_EQ(CheckSchedule(s, {DaysAgo(90), DaysAgo(90), {}}, kNow), NotDue::kDue);
  // Another survey 29 days ago blocks; 30 days ago doesn't.
  EXPECT_EQ(CheckSchedule(s, {DaysAgo(29), DaysAgo(200), {}}, kNow), NotDue::kMinGap);
  EXPECT_EQ(CheckSchedule(s, {DaysAgo(30), DaysAgo(200), {}}, kNow), NotDue::kDue);
  EXPECT_EQ(CheckSchedule(s, {DaysAgo(1), std::nullopt, {}}, kNow), NotDue::kMinGap);
  Survey no_gap = s;
  no_gap.min_gap_days = 0;
  EXPECT_EQ(CheckSchedule(no_gap, {kNow, DaysAgo(100), {}}, kNow), NotDue::kDue);
}

TEST(ScheduleTest, TransactionalSurveysFollowTheLatestTriggerAfterTheDelay) {
  const Survey s = Transactional();
  EXPECT_EQ(CheckSchedule(s, {}, kNow), NotDue::kNoTrigger);
  const Timestamp just_now{kNow.micros - 47 * kHour};
  EXPECT_EQ(CheckSchedule(s, {{}, {}, just_now}, kNow), NotDue::kTooSoon);
  const Timestamp ordered{kNow.micros - 48 * kHour};
  EXPECT_EQ(CheckSchedule(s, {{}, {}, ordered}, kNow), NotDue::kDue);
  // Asked after that order already: not again until the next one.
  EXPECT_EQ(CheckSchedule(s, {kNow, kNow, ordered}, kNow), NotDue::kAlreadyAsked);
  EXPECT_EQ(CheckSchedule(s, {DaysAgo(20), DaysAgo(20), ordered}, kNow), NotDue::kDue);
  // A survey of any kind within min_gap_days blocks.
  EXPECT_EQ(CheckSchedule(s, {DaysAgo(13), DaysAgo(20), ordered}, kNow), NotDue::kMinGap);
}

TEST(ScheduleTest, ReasonsHaveStableNames) {
  EXPECT_EQ(NotDueName(NotDue::kDue), "due");
  EXPECT_EQ(NotDueName(NotDue::kMinGap), "min_gap");
  EXPECT_EQ(NotDueName(NotDue::kAskedRecently), "asked_recently");
  EXPECT_EQ(NotDueName(NotDue::kNoTrigger), "no_trigger");
  EXPECT_EQ(NotDueName(NotDue::kTooSoon), "too_soon");
  EXPECT_EQ(NotDueName(NotDue::kAlreadyAsked), "already_asked");
}

TEST(ScheduleTest, FactsOfACustomerAddTheirLastOrderAsTheTriggerOfAnAfterOrderSurvey) {
  const Survey after_order = Transactional();
  const RecordedFacts recorded{{1, {DaysAgo(20), DaysAgo(20), DaysAgo(10)}}};
  const CustomerId known{1}, unknown{2};

  // No record and no order: no facts at all.
  const ScheduleFacts none = FactsOf(after_order, recorded, unknown, std::nullopt);
  EXPECT_FALSE(none.last_invited_any || none.last_invited_this || none.last_trigger);
  // A customer without a record: their last order is the trigger.
  EXPECT_EQ(FactsOf(after_order, recorded, unknown, DaysAgo(3)).last_trigger, DaysAgo(3));
  // A recorded customer keeps their invitations; the later of event and order is the trigger.
  const ScheduleFacts later = FactsOf(after_order, recorded, known, DaysAgo(3));
  EXPECT_EQ(later.last_invited_any, DaysAgo(20));
  EXPECT_EQ(later.last_invited_this, DaysAgo(20));
  EXPECT_EQ(later.last_trigger, DaysAgo(3));
  EXPECT_EQ(FactsOf(after_order, recorded, known, DaysAgo(15)).last_trigger, DaysAgo(10));
  EXPECT_EQ(FactsOf(after_order, recorded, known, std::nullopt).last_trigger, DaysAgo(10));

  // Orders are not the trigger of a survey on another event, nor of a relationship survey.
  Survey on_signup = Transactional();
  on_signup.trigger_event = "Signed Up";
  EXPECT_FALSE(FactsOf(on_signup, recorded, unknown, DaysAgo(3)).last_trigger);
  EXPECT_EQ(FactsOf(on_signup, recorded, known, DaysAgo(3)).last_trigger, DaysAgo(10));
  EXPECT_FALSE(FactsOf(Relationship(), {}, unknown, DaysAgo(3)).last_trigger);

  // What the schedule makes of it: a customer asked 20 days ago about the event 25 days ago is
  // due again only for an order after that.
  const RecordedFacts asked{{3, {DaysAgo(20), DaysAgo(20), DaysAgo(25)}}};
  EXPECT_EQ(CheckSchedule(after_order, FactsOf(after_order, asked, CustomerId{3}, std::nullopt), kNow), NotDue::kAlreadyAsked);
  EXPECT_EQ(CheckSchedule(after_order, FactsOf(after_order, asked, CustomerId{3}, DaysAgo(22)), kNow), NotDue::kAlreadyAsked);
  EXPECT_EQ(CheckSchedule(after_order, FactsOf(after_order, asked, CustomerId{3}, DaysAgo(3)), kNow), NotDue::kDue);
}

}  // namespace
}  // namespace treu::survey
