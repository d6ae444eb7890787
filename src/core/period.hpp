// Periods: half-open intervals [start, end) of civil dates evaluated in a time zone.
#pragma once

#include <string>
#include <string_view>

#include "core/status.hpp"
#include "core/time.hpp"

namespace treu {

enum class PeriodKind { kDay, kWeek, kMonth, kQuarter, kYear, kRange };

// "day", "week", "month", "quarter", "year" or "range".
std::string_view PeriodKindName(PeriodKind kind);
// The kind named "day", "week", "month", "quarter" or "year" (not "range"); InvalidArgument
// (context "period kind") naming them otherwise.
Result<PeriodKind> ParsePeriodKind(std::string_view name);

// A calendar period by its civil dates: [first, last] both included. Independent of any
// time zone until Start/End are asked for one.
class Period {
 public:
  // Parses "2024-03" (month), "2024-Q1", "2024" (year), "2024-W09" (ISO week),
  // "2024-03-01" (day) and "2024-03-01..2024-04-15" (both days included).
  static Result<Period> Parse(std::string_view text);
  static Period Month(int year, int month);
  static Period Quarter(int year, int quarter);
  static Period Year(int year);
  static Period IsoWeek(int iso_year, int week);
  static Period Day(CivilDate d);
  // REQUIRES: first <= last.
  static Period Range(CivilDate first, CivilDate last);
  // The day, ISO week, month, quarter or year that contains `d`. REQUIRES: kind != kRange.
  static Period Containing(PeriodKind kind, CivilDate d);

  PeriodKind kind() const { return kind_; }
  CivilDate first_day() const { return first_; }
  CivilDate last_day() const { return last_; }
  // Days in the period, >= 1.
  int days() const;

  // [Start, End) in `zone`: midnight starting the first day and midnight after the last.
  Timestamp Start(const TimeZone& zone) const { return zone.StartOfDay(first_); }
  Timestamp End(const TimeZone& zone) const;

  // The period `n` steps later (negative: earlier) of the same kind: the next month, quarter,
  // ISO week, or for a range the range of equal length right after it.
  Period Shift(int n) const;

  // The canonical label, which Parse reads back: "2024-03", "2024-Q1", "2024-W09", ...
  std::string Label() const;

  bool operator==(const Period& o) const {
    return kind_ == o.kind_ && first_ == o.first_ && last_ == o.last_;
  }

 private:
  Period(PeriodKind kind, CivilDate first, CivilDate last)
      : kind_(kind), first_(first), last_(last) {}
  PeriodKind kind_;
  CivilDate first_;
  CivilDate last_;
};

}  // namespace treu
