#include "core/period.hpp"

#include <date/date.h>
#include <date/iso_week.h>

#include <charconv>
#include <cstdio>

namespace treu {
namespace {

bool ParseUnsigned(std::string_view s, int& out) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

CivilDate LastOfMonth(int year, int month) {
  const date::year_month_day_last ymdl{date::year{year} / date::month(month) / date::last};
  return {year, month, static_cast<int>(static_cast<unsigned>(ymdl.day()))};
}

CivilDate AddMonths(int year, int month, int n) {
  const int total = year * 12 + (month - 1) + n;
  return {total / 12, total % 12 + 1, 1};
}

std::unexpected<Error> BadPeriod(std::string_view text) {
  return InvalidArgument("period", "'" + std::string(text) +
                                       "' is not a period; use 2024-03, 2024-Q1, 2024, 2024-W09, "
                                       "2024-03-01 or 2024-03-01..2024-04-15");
}

}  // namespace

Period Period::Month(int year, int month) {
  return Period(PeriodKind::kMonth, {year, month, 1}, LastOfMonth(year, month));
}
Period Period::Quarter(int year, int quarter) {
  const int m = (quarter - 1) * 3 + 1;
  return Period(PeriodKind::kQuarter, {year, m, 1}, LastOfMonth(year, m + 2));
}
Period Period::Year(int year) { return Period(PeriodKind::kYear, {year, 1, 1}, {year, 12, 31}); }
Period Period::Day(CivilDate d) { return Period(PeriodKind::kDay, d, d); }
Period Period::Range(CivilDate first, CivilDate last) {
  return Period(PeriodKind::kRange, first, last);
}
Period Period::IsoWeek(int iso_year, int week) {
  const date::sys_days monday{iso_week::year{iso_year} / iso_week::weeknum(week) / iso_week::mon};
  const auto d = monday.time_since_epoch().count();
  return Period(PeriodKind::kWeek, CivilFromDays(d), CivilFromDays(d + 6));
}

Period Period::Containing(PeriodKind kind, CivilDate d) {
  switch (kind) {
    case PeriodKind::kDay:
    case PeriodKind::kRange: return Day(d);
    case PeriodKind::kWeek: {
      const std::int64_t days = DaysFromCivil(d);
      const std::int64_t monday = days - ((days % 7 + 7 + 3) % 7);  // 1970-01-01 was a Thursday
      return Period(PeriodKind::kWeek, CivilFromDays(monday), CivilFromDays(monday + 6));
    }
    case PeriodKind::kMonth: return Month(d.year, d.month);
    case PeriodKind::kQuarter: return Quarter(d.year, (d.month - 1) / 3 + 1);
    case PeriodKind::kYear: return Year(d.year);
  }
  return Day(d);
}

std::string_view PeriodKindName(PeriodKind kind) {
  switch (kind) {
    case PeriodKind::kDay: return "day";
    case PeriodKind::kWeek: return "week";
    case PeriodKind::kMonth: return "month";
    case PeriodKind::kQuarter: return "quarter";
    case PeriodKind::kYear: return "year";
    case PeriodKind::kRange: return "range";
  }
  return "range";
}

Result<PeriodKind> ParsePeriodKind(std::string_view name) {
  for (PeriodKind k : {PeriodKind::kDay, PeriodKind::kWeek, PeriodKind::kMonth, PeriodKind::kQuarter, PeriodKind::kYear}) {
    if (PeriodKindName(k) == name) return k;
  }
  return InvalidArgument("period kind", "must be day, week, month, quarter or year");
}

Result<Period> Period::Parse(std::string_view text) {
  int y = 0, n = 0;
  if (const auto dots = text.find(".."); dots != std::string_view::npos) {
    auto a = ParseDate(text.substr(0, dots));
    auto b = ParseDate(text.substr(dots + 2));
    if (!a || !b) return BadPeriod(text);
    if (*b < *a) {
      return InvalidArgument("period", "'" + std::string(text) + "' ends before it starts");
    }
    return Range(*a, *b);
  }
  if (text.size() == 4 && ParseUnsigned(text, y) && y >= 1) return Year(y);
  if (text.size() == 7 && text[4] == '-' && ParseUnsigned(text.substr(0, 4), y) && y >= 1) {
    if (ParseUnsigned(text.substr(5, 2), n) && n >= 1 && n <= 12) return Month(y, n);
    if ((text[5] == 'Q' || text[5] == 'q') && ParseUnsigned(text.substr(6, 1), n) && n >= 1 && n <= 4) {
      return Quarter(y, n);
    }
    return BadPeriod(text);
  }
  if (text.size() == 8 && text[4] == '-' && (text[5] == 'W' || text[5] == 'w') &&
      ParseUnsigned(text.substr(0, 4), y) && ParseUnsigned(text.substr(6, 2), n) && y >= 1) {
    const auto last_week = iso_week::year{y} / iso_week::last;
    if (n < 1 || n > static_cast<int>(static_cast<unsigned>(last_week.weeknum()))) {
      return InvalidArgument("period", "'" + std::string(text) + "': " + std::to_string(y) +
                                           " has no ISO week " + std::to_string(n));
    }
    return IsoWeek(y, n);
  }
  if (text.size() == 10) {
    if (auto d = ParseDate(text)) return Day(*d);
  }
  return BadPeriod(text);
}

int Period::days() const {
  return static_cast<int>(DaysFromCivil(last_) - DaysFromCivil(first_) + 1);
}

Timestamp Period::End(const TimeZone& zone) const {
  return zone.StartOfDay(CivilFromDays(DaysFromCivil(last_) + 1));
}

Period Period::Shift(int n) const {
  switch (kind_) {
    case PeriodKind::kDay:
      return Day(CivilFromDays(DaysFromCivil(first_) + n));
    case PeriodKind::kWeek: {
      const auto d = DaysFromCivil(first_) + 7LL * n;
      return Period(PeriodKind::kWeek, CivilFromDays(d), CivilFromDays(d + 6));
    }
    case PeriodKind::kMonth: {
      const CivilDate f = AddMonths(first_.year, first_.month, n);
      return Month(f.year, f.month);
    }
    case PeriodKind::kQuarter: {
      const CivilDate f = AddMonths(first_.year, first_.month, 3 * n);
      return Quarter(f.year, (f.month - 1) / 3 + 1);
    }
    case PeriodKind::kYear:
      return Year(first_.year + n);
    case PeriodKind::kRange: {
      const auto len = static_cast<std::int64_t>(days());
      const auto f = DaysFromCivil(first_) + len * n;
      return Range(CivilFromDays(f), CivilFromDays(f + len - 1));
    }
  }
  return *this;
}

std::string Period::Label() const {
  char buf[32];
  switch (kind_) {
    case PeriodKind::kDay:
      return FormatDate(first_);
    case PeriodKind::kWeek: {
      const iso_week::year_weeknum_weekday iw{date::sys_days{date::days{DaysFromCivil(first_)}}};
      std::snprintf(buf, sizeof buf, "%04d-W%02u", static_cast<int>(iw.year()),
                    static_cast<unsigned>(iw.weeknum()));
      return buf;
    }
    case PeriodKind::kMonth:
      std::snprintf(buf, sizeof buf, "%04d-%02d", first_.year, first_.month);
      return buf;
    case PeriodKind::kQuarter:
      std::snprintf(buf, sizeof buf, "%04d-Q%d", first_.year, (first_.month - 1) / 3 + 1);
      return buf;
    case PeriodKind::kYear:
      return std::to_string(first_.year);
    case PeriodKind::kRange:
      return FormatDate(first_) + ".." + FormatDate(last_);
  }
  return {};
}

}  // namespace treu
