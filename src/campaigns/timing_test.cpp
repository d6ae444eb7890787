#include "campaigns/timing.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace treu::campaigns {
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

TEST(LocalTime, ParsesAndFormats) {
  auto t = ParseLocalTime("09:30", "send_at");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, (LocalTime{9, 30}));
  EXPECT_EQ(FormatLocalTime(*t), "09:30");
  EXPECT_EQ(FormatLocalTime({23, 5}), "23:05");
  for (std::string_view bad : {"9:30", "24:00", "12:60", "12-30", "", "12:30:00", "ab:cd"}) {
    auto r = ParseLocalTime(bad, "quiet_hours.start");
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().context(), "quiet_hours.start");
  }
}

TEST(NextLocalTime, SameDayOrNext) {
  const TimeZone berlin = Zone("Europe/Berlin");
  // 09:00 CET is 08:00Z in winter.
  EXPECT_EQ(NextLocalTime(At("2026-01-15T07:00:00Z"), berlin, {9, 0}), At("2026-01-15T08:00:00Z"));
  EXPECT_EQ(NextLocalTime(At("2026-01-15T08:00:00Z"), berlin, {9, 0}), At("2026-01-15T08:00:00Z"));
  EXPECT_EQ(NextLocalTime(At("2026-01-15T08:00:01Z"), berlin, {9, 0}), At("2026-01-16T08:00:00Z"));
  EXPECT_EQ(NextLocalTime(At("2026-01-15T23:30:00Z"), TimeZone::Utc(), {0, 0}), At("2026-01-16T00:00:00Z"));
}

TEST(NextLocalTime, EveryZoneGetsItsOwnMorning) {
  // One campaign "at 09:00 local" scheduled at 2026-06-01T00:00Z.
  const Timestamp now = At("2026-06-01T00:00:00Z");
  EXPECT_EQ(NextLocalTime(now, Zone("Pacific/Kiritimati"), {9, 0}), At("2026-06-01T19:00:00Z"));  // +14: 09:00 of 06-01 is past there
  EXPECT_EQ(NextLocalTime(now, Zone("Asia/Tokyo"), {9, 0}), At("2026-06-01T00:00:00Z"));
  EXPECT_EQ(NextLocalTime(now, Zone("Europe/Berlin"), {9, 0}), At("2026-06-01T07:00:00Z"));
  EXPECT_EQ(NextLocalTime(now, Zone("America/New_York"), {9, 0}), At("2026-06-01T13:00:00Z"));
  // −11: it is still 05-31 13:00 there, so 09:00 of 06-01 local.
  EXPECT_EQ(NextLocalTime(now, Zone("Pacific/Pago_Pago"), {9, 0}), At("2026-06-01T20:00:00Z"));
  EXPECT_EQ(NextLocalTime(now, Zone("Asia/Kolkata"), {9, 0}), At("2026-06-01T03:30:00Z"));
}

TEST(NextLocalTime, AcrossDaylightSavingChanges) {
  const TimeZone berlin = Zone("Europe/Berlin");
  // Spring forward on 2026-03-29 at 01:00Z (02:00 CET → 03:00 CEST): 09:00 the day before is
  // 08:00Z, on the day 07:00Z.
  EXPECT_EQ(NextLocalTime(At("2026-03-28T08:30:00Z"), berlin, {9, 0}), At("2026-03-29T07:00:00Z"));
  // 02:30 doesn't exist that night: the transition instant.
  EXPECT_EQ(NextLocalTime(At("2026-03-28T23:00:00Z"), berlin, {2, 30}), At("2026-03-29T01:00:00Z"));
  // Fall back on 2026-10-25 at 01:00Z (03:00 CEST → 02:00 CET): 02:30 happens twice, at 00:30Z
  // and 01:30Z; the first counts.
  EXPECT_EQ(NextLocalTime(At("2026-10-24T23:00:00Z"), berlin, {2, 30}), At("2026-10-25T00:30:00Z"));
  EXPECT_EQ(NextLocalTime(At("2026-10-25T05:00:00Z"), berlin, {9, 0}), At("2026-10-25T08:00:00Z"));
  // New York springs forward on 2026-03-08 at 07:00Z.
  const TimeZone ny = Zone("America/New_York");
  EXPECT_EQ(NextLocalTime(At("2026-03-07T15:00:00Z"), ny, {9, 0}), At("2026-03-08T13:00:00Z"));
  // Lord Howe Island moves by half an hour (2026-04-05 02:00 +11 → 01:30 +10:30).
  const TimeZone lord_howe = Zone("Australia/Lord_Howe");
  EXPECT_EQ(NextLocalTime(At("2026-04-04T12:00:00Z"), lord_howe, {9, 0}), At("2026-04-04T22:30:00Z"));
}

TEST(QuietHours, AcrossMidnightAndDst) {
  const TimeZone berlin = Zone("Europe/Berlin");
  const QuietHours night{{21, 0}, {8, 0}};
  EXPECT_FALSE(InQuietHours(At("2026-01-15T19:59:59Z"), berlin, night));  // 20:59:59 CET
  EXPECT_TRUE(InQuietHours(At("2026-01-15T20:00:00Z"), berlin, night));   // 21:00 CET
  EXPECT_TRUE(InQuietHours(At("2026-01-16T06:59:59Z"), berlin, night));
  EXPECT_FALSE(InQuietHours(At("2026-01-16T07:00:00Z"), berlin, night));  // 08:00 CET
  // Deferred to the end, the same night or the next morning; outside, unchanged.
  EXPECT_EQ(DeferPastQuietHours(At("2026-01-15T22:00:00Z"), berlin, night), At("2026-01-16T07:00:00Z"));
  EXPECT_EQ(DeferPastQuietHours(At("2026-01-16T03:00:00Z"), berlin, night), At("2026-01-16T07:00:00Z"));
  EXPECT_EQ(DeferPastQuietHours(At("2026-01-16T12:00:00Z"), berlin, night), At("2026-01-16T12:00:00Z"));
  // The night the clocks spring forward, 08:00 CEST is 06:00Z.
  EXPECT_EQ(DeferPastQuietHours(At("2026-03-28T21:30:00Z"), berlin, night), At("2026-03-29T06:00:00Z"));
  // The night they fall back, 08:00 CET is 07:00Z.
  EXPECT_EQ(DeferPastQuietHours(At("2026-10-24T21:30:00Z"), berlin, night), At("2026-10-25T07:00:00Z"));
  // Quiet hours within a day, and none.
  const QuietHours lunch{{12, 0}, {14, 0}};
  EXPECT_TRUE(InQuietHours(At("2026-01-15T12:30:00Z"), TimeZone::Utc(), lunch));
  EXPECT_FALSE(InQuietHours(At("2026-01-15T14:00:00Z"), TimeZone::Utc(), lunch));
  EXPECT_EQ(DeferPastQuietHours(At("2026-01-15T13:59:00Z"), TimeZone::Utc(), lunch), At("2026-01-15T14:00:00Z"));
  EXPECT_TRUE(InQuietHours(LocalTime{21, 0}, night));
  EXPECT_TRUE(InQuietHours(LocalTime{7, 59}, night));
  EXPECT_FALSE(InQuietHours(LocalTime{8, 0}, night));
  EXPECT_FALSE(InQuietHours(LocalTime{20, 59}, night));
  const QuietHours none{{8, 0}, {8, 0}};
  EXPECT_FALSE(InQuietHours(At("2026-01-15T08:00:00Z"), TimeZone::Utc(), none));
}

TEST(BestLocalHour, PeaksWhereTheCustomerEngages) {
  const TimeZone tokyo = Zone("Asia/Tokyo");
  // 09:50, 10:05 and 10:40 in Tokyo (UTC+9) on different days, and one stray 22:10.
  std::vector<Timestamp> opens{At("2026-05-01T00:50:00Z"), At("2026-05-03T01:05:00Z"), At("2026-05-09T01:40:00Z"),
                               At("2026-05-10T13:10:00Z")};
  EXPECT_EQ(BestLocalHour(opens, tokyo), 10);
  // The same instants read in Berlin (UTC+2 in May) peak at 03.
  EXPECT_EQ(BestLocalHour(opens, Zone("Europe/Berlin")), 3);
  // Too little history: no opinion.
  EXPECT_EQ(BestLocalHour(std::span(opens).first(2), tokyo), std::nullopt);
  EXPECT_EQ(BestLocalHour(std::span(opens).first(2), tokyo, 2), 9);  // 9 and 10 tie: the earlier
  EXPECT_EQ(BestLocalHour({}, tokyo, 0), std::nullopt);
  // Smoothing wraps around midnight: 23:30, 00:10, 00:20 → 0.
  std::vector<Timestamp> late{At("2026-05-01T23:30:00Z"), At("2026-05-02T00:10:00Z"), At("2026-05-03T00:20:00Z")};
  EXPECT_EQ(BestLocalHour(late, TimeZone::Utc()), 0);
}

}  // namespace
}  // namespace treu::campaigns
