#include "core/period.hpp"

#include <gtest/gtest.h>

namespace treu {
namespace {

TEST(PeriodTest, ParsesEveryForm) {
  struct Case {
    const char* text;
    CivilDate first, last;
    PeriodKind kind;
  };
  const Case cases[] = {
      {"2024-03", {2024, 3, 1}, {2024, 3, 31}, PeriodKind::kMonth},
      {"2024-02", {2024, 2, 1}, {2024, 2, 29}, PeriodKind::kMonth},
      {"2024-Q1", {2024, 1, 1}, {2024, 3, 31}, PeriodKind::kQuarter},
      {"2024-Q4", {2024, 10, 1}, {2024, 12, 31}, PeriodKind::kQuarter},
      {"2024", {2024, 1, 1}, {2024, 12, 31}, PeriodKind::kYear},
      {"2024-W09", {2024, 2, 26}, {2024, 3, 3}, PeriodKind::kWeek},
      {"2021-W01", {2021, 1, 4}, {2021, 1, 10}, PeriodKind::kWeek},
      {"2020-W53", {2020, 12, 28}, {2021, 1, 3}, PeriodKind::kWeek},
      {"2024-03-01..2024-04-15", {2024, 3, 1}, {2024, 4, 15}, PeriodKind::kRange},
      {"2024-03-05", {2024, 3, 5}, {2024, 3, 5}, PeriodKind::kDay},
  };
  for (const auto& c : cases) {
    auto p = Period::Parse(c.text);
    ASSERT_TRUE(p.has_value()) << c.text << ": " << p.error().ToString();
    EXPECT_EQ(p->first_day(), c.first) << c.text;
    EXPECT_EQ(p->last_day(), c.last) << c.text;
    EXPECT_EQ(p->kind(), c.kind) << c.text;
    EXPECT_EQ(p->Label(), c.text);
  }
}

TEST(PeriodTest, RejectsBadPeriods) {
  for (const char* bad : {"2024-13", "2024-Q5", "2024-W54", "2021-W53", "24", "2024-3",
                          "2024-04-15..2024-03-01", "2024-03-01..", "march"}) {
    EXPECT_FALSE(Period::Parse(bad).has_value()) << bad;
  }
  EXPECT_EQ(Period::Parse("2021-W53").error().ToString(), "period: '2021-W53': 2021 has no ISO week 53");
}

TEST(PeriodTest, HalfOpenInTheZone) {
  const TimeZone berlin = TimeZone::Find("Europe/Berlin").value();
  const Period march = Period::Parse("2024-03").value();
  EXPECT_EQ(FormatTimestamp(march.Start(berlin)), "2024-02-29T23:00:00Z");
  // March 2024 ends after the DST change: April starts at +02:00.
  EXPECT_EQ(FormatTimestamp(march.End(berlin)), "2024-03-31T22:00:00Z");
  EXPECT_EQ(march.End(TimeZone::Utc()), march.Shift(1).Start(TimeZone::Utc()));
}

TEST(PeriodTest, ShiftsByKind) {
  EXPECT_EQ(Period::Parse("2024-01").value().Shift(-1).Label(), "2023-12");
  EXPECT_EQ(Period::Parse("2024-Q1").value().Shift(-1).Label(), "2023-Q4");
  EXPECT_EQ(Period::Parse("2024-Q4").value().Shift(5).Label(), "2026-Q1");
  EXPECT_EQ(Period::Parse("2020-W53").value().Shift(1).Label(), "2021-W01");
  EXPECT_EQ(Period::Parse("2024").value().Shift(2).Label(), "2026");
  EXPECT_EQ(Period::Parse("2024-03-01..2024-03-10").value().Shift(1).Label(),
            "2024-03-11..2024-03-20");
}

TEST(PeriodTest, ContainingFindsTheCalendarPeriodOfADay) {
  EXPECT_EQ(Period::Containing(PeriodKind::kMonth, {2024, 2, 29}).Label(), "2024-02");
  EXPECT_EQ(Period::Containing(PeriodKind::kQuarter, {2024, 6, 30}).Label(), "2024-Q2");
  EXPECT_EQ(Period::Containing(PeriodKind::kYear, {2024, 12, 31}).Label(), "2024");
  // ISO weeks: 2021-01-03 (a Sunday) belongs to 2020-W53; 2024-12-30 (a Monday) to 2025-W01.
  EXPECT_EQ(Period::Containing(PeriodKind::kWeek, {2021, 1, 3}).Label(), "2020-W53");
  EXPECT_EQ(Period::Containing(PeriodKind::kWeek, {2024, 12, 30}).Label(), "2025-W01");
  EXPECT_EQ(Period::Containing(PeriodKind::kWeek, {1969, 12, 29}).first_day(), (CivilDate{1969, 12, 29}));
  EXPECT_EQ(Period::Containing(PeriodKind::kDay, {2024, 3, 31}).Label(), "2024-03-31");
}

TEST(PeriodKindTest, NamesRoundTripAndRangeIsNotParsed) {
  for (PeriodKind k : {PeriodKind::kDay, PeriodKind::kWeek, PeriodKind::kMonth, PeriodKind::kQuarter, PeriodKind::kYear}) {
    EXPECT_EQ(ParsePeriodKind(PeriodKindName(k)).value(), k);
  }
  EXPECT_FALSE(ParsePeriodKind("range"));
  EXPECT_FALSE(ParsePeriodKind("Month"));
  EXPECT_EQ(ParsePeriodKind("fortnight").error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace treu
