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

}  // namespace
}  // namespace treu::survey
