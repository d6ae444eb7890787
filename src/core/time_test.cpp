#include "core/time.hpp"

#include <gtest/gtest.h>

namespace treu {
namespace {

TimeZone Zone(std::string_view name) { return TimeZone::Find(name).value(); }

TEST(TimeTest, ParsesDatesAndDateTimes) {
  const TimeZone utc = TimeZone::Utc();
  EXPECT_EQ(FormatTimestamp(ParseTimestamp("2024-03-01", utc).value()), "2024-03-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(ParseTimestamp("2024-03-01T12:30:00Z", utc).value()),
            "2024-03-01T12:30:00Z");
  EXPECT_EQ(FormatTimestamp(ParseTimestamp("2024-03-01 12:30", utc).value()),
            "2024-03-01T12:30:00Z");
  EXPECT_EQ(FormatTimestamp(ParseTimestamp("2024-03-01T12:30:00.25+02:00", utc).value()),
            "2024-03-01T10:30:00.250000Z");
  EXPECT_EQ(FormatTimestamp(ParseTimestamp("2024-03-01T00:30:00-0130", utc).value()),
            "2024-03-01T02:00:00Z");
}

TEST(TimeTest, BareDateIsMidnightInTheZone) {
  const TimeZone berlin = Zone("Europe/Berlin");
  EXPECT_EQ(FormatTimestamp(ParseTimestamp("2024-01-15", berlin).value()), "2024-01-14T23:00:00Z");
  EXPECT_EQ(FormatTimestamp(ParseTimestamp("2024-07-15", berlin).value()), "2024-07-14T22:00:00Z");
  // An explicit offset wins over the zone.
  EXPECT_EQ(FormatTimestamp(ParseTimestamp("2024-07-15T00:00:00Z", berlin).value()),
            "2024-07-15T00:00:00Z");
}

TEST(TimeTest, DstGapAndOverlap) {
  const TimeZone berlin = Zone("Europe/Berlin");
  // 2024-03-31 02:30 does not exist in Berlin: maps to the transition at 01:00Z.
  EXPECT_EQ(FormatTimestamp(ParseTimestamp("2024-03-31T02:30:00", berlin).value()),
            "2024-03-31T01:00:00Z");
  // 2024-10-27 02:30 happens twice: the earlier one (CEST, +02:00).
  EXPECT_EQ(FormatTimestamp(ParseTimestamp("2024-10-27T02:30:00", berlin).value()),
            "2024-10-27T00:30:00Z");
  const Timestamp t = ParseTimestamp("2024-10-26T22:30:00Z", TimeZone::Utc()).value();
  EXPECT_EQ(berlin.LocalDate(t), (CivilDate{2024, 10, 27}));
  EXPECT_EQ(berlin.OffsetSeconds(t), 7200);
}

TEST(TimeTest, AbbreviationFollowsDst) {
  const TimeZone berlin = Zone("Europe/Berlin");
  const TimeZone utc = TimeZone::Utc();
  EXPECT_EQ(berlin.Abbreviation(ParseTimestamp("2024-03-31T00:59:59Z", utc).value()), "CET");
  EXPECT_EQ(berlin.Abbreviation(ParseTimestamp("2024-03-31T01:00:00Z", utc).value()), "CEST");
  EXPECT_EQ(utc.Abbreviation(Timestamp{}), "UTC");
}

TEST(TimeTest, RejectsBadInput) {
  const TimeZone utc = TimeZone::Utc();
  for (const char* bad : {"2024-02-30", "2024-13-01", "24-03-01", "2024-03-01T25:00:00",
                          "2024-03-01T12:00:00+2", "2024-03-01X", "", "2024/03/01",
                          "2024-03-01T12:00:00.Z"}) {
    EXPECT_FALSE(ParseTimestamp(bad, utc).has_value()) << bad;
  }
  EXPECT_EQ(ParseTimestamp("2023-02-29", utc).error().ToString(),
            "date: '2023-02-29' is not a valid calendar date");
  EXPECT_EQ(TimeZone::Find("Mars/Olympus").error().ToString(),
            "time zone: 'Mars/Olympus' is not an IANA time zone name like Europe/Berlin");
}

TEST(TimeTest, CivilDayRoundTrip) {
  for (std::int64_t d = -800000; d < 800000; d += 997) {
    EXPECT_EQ(DaysFromCivil(CivilFromDays(d)), d);
  }
  EXPECT_EQ(DaysFromCivil({1970, 1, 1}), 0);
  EXPECT_EQ(FormatTimestamp(Timestamp{-1}), "1969-12-31T23:59:59.999999Z");
}

TEST(ClockTest, ManualClockAdvances) {
  ManualClock clock(Timestamp::FromSeconds(100));
  clock.Advance(kMicrosPerSecond);
  EXPECT_EQ(clock.Now(), Timestamp::FromSeconds(101));
  SystemClock system;
  EXPECT_GT(system.Now(), ParseTimestamp("2020-01-01", TimeZone::Utc()).value());
}

}  // namespace
}  // namespace treu
