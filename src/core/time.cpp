#include "core/time.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <charconv>
#include <chrono>
#include <cstdio>

namespace treu {
namespace {

using Micros = std::chrono::duration<std::int64_t, std::micro>;

bool ParseInt(std::string_view s, int& out) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::int64_t DaysFromCivil(CivilDate d) {
  return date::sys_days(date::year{d.year} / d.month / d.day).time_since_epoch().count();
}

CivilDate CivilFromDays(std::int64_t days) {
  const date::year_month_day ymd{date::sys_days{date::days{days}}};
  return {static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
          static_cast<int>(static_cast<unsigned>(ymd.day()))};
}

bool IsValidDate(int year, int month, int day) {
  if (month < 1 || month > 12 || day < 1 || day > 31 || year < 1 || year > 9999) return false;
  return date::year_month_day{date::year{year} / month / day}.ok();
}

Result<TimeZone> TimeZone::Find(std::string_view name) {
  TimeZone tz;
  tz.name_ = std::string(name);
  if (name == "UTC" || name == "Etc/UTC") return tz;
  try {
    tz.zone_ = date::locate_zone(name);
  } catch (const std::exception&) {
    return InvalidArgument("time zone", "'" + std::string(name) +
                                            "' is not an IANA time zone name like Europe/Berlin");
  }
  return tz;
}

TimeZone TimeZone::Utc() { return TimeZone(); }

Timestamp TimeZone::ToUtc(CivilDate d, std::int64_t micros_of_day) const {
  const std::int64_t local = DaysFromCivil(d) * kMicrosPerDay + micros_of_day;
  if (zone_ == nullptr) return {local};
  const date::local_time<Micros> lt{Micros{local}};
  const auto info = zone_->get_info(lt);
  std::int64_t offset_s = 0;
  switch (info.result) {
    case date::local_info::unique:
    case date::local_info::ambiguous:  // earlier occurrence: the first offset
      offset_s = info.first.offset.count();
      return {local - offset_s * kMicrosPerSecond};
    case date::local_info::nonexistent:
      // The skipped local time maps to the instant of the transition.
      return {std::chrono::time_point_cast<Micros>(info.second.begin).time_since_epoch().count()};
  }
  return {local};
}

std::int64_t TimeZone::OffsetSeconds(Timestamp t) const {
  if (zone_ == nullptr) return 0;
  const date::sys_time<Micros> st{Micros{t.micros}};
  return zone_->get_info(st).offset.count();
}

std::string TimeZone::Abbreviation(Timestamp t) const {
  if (zone_ == nullptr) return "UTC";
  const date::sys_time<Micros> st{Micros{t.micros}};
  return zone_->get_info(st).abbrev;
}

CivilDate TimeZone::LocalDate(Timestamp t) const {
  std::int64_t local = t.micros + OffsetSeconds(t) * kMicrosPerSecond;
  std::int64_t days = local / kMicrosPerDay;
  if (local % kMicrosPerDay < 0) --days;
  return CivilFromDays(days);
}

Result<CivilDate> ParseDate(std::string_view text) {
  int y = 0, m = 0, d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !ParseInt(text.substr(0, 4), y) ||
      !ParseInt(text.substr(5, 2), m) || !ParseInt(text.substr(8, 2), d)) {
    return InvalidArgument("date", "'" + std::string(text) + "' is not a date like 2024-03-01");
  }
  if (!IsValidDate(y, m, d)) {
    return InvalidArgument("date", "'" + std::string(text) + "' is not a valid calendar date");
  }
  return CivilDate{y, m, d};
}

Result<Timestamp> ParseTimestamp(std::string_view text, const TimeZone& zone) {
  auto bad = [&] {
    return InvalidArgument("time", "'" + std::string(text) +
                                       "' is not an ISO 8601 date or date-time like "
                                       "2024-03-01 or 2024-03-01T12:30:00Z");
  };
  if (text.size() < 10) return bad();
  auto date = ParseDate(text.substr(0, 10));
  if (!date) return std::unexpected(date.error());
  if (text.size() == 10) return zone.StartOfDay(*date);
  if (text[10] != 'T' && text[10] != ' ' && text[10] != 't') return bad();
  std::string_view rest = text.substr(11);
  int hh = 0, mm = 0, ss = 0;
  if (rest.size() < 5 || rest[2] != ':' || !ParseInt(rest.substr(0, 2), hh) ||
      !ParseInt(rest.substr(3, 2), mm)) {
    return bad();
  }
  rest.remove_prefix(5);
  std::int64_t frac_micros = 0;
  if (!rest.empty() && rest[0] == ':') {
    if (rest.size() < 3 || !ParseInt(rest.substr(1, 2), ss)) return bad();
    rest.remove_prefix(3);
    if (!rest.empty() && (rest[0] == '.' || rest[0] == ',')) {
      rest.remove_prefix(1);
      int digits = 0;
      while (!rest.empty() && rest[0] >= '0' && rest[0] <= '9') {
        if (digits < 6) {
          frac_micros = frac_micros * 10 + (rest[0] - '0');
          ++digits;
        }
        rest.remove_prefix(1);
      }
      if (digits == 0) return bad();
      for (; digits < 6; ++digits) frac_micros *= 10;
    }
  }
  if (hh > 23 || mm > 59 || ss > 60) return bad();
  if (ss == 60) ss = 59;  // leap second: clamp
  const std::int64_t tod = (hh * 3600LL + mm * 60LL + ss) * kMicrosPerSecond + frac_micros;
  if (rest.empty()) return zone.ToUtc(*date, tod);
  std::int64_t offset_s = 0;
  if (rest == "Z" || rest == "z") {
    offset_s = 0;
  } else if (rest[0] == '+' || rest[0] == '-') {
    int oh = 0, om = 0;
    std::string_view o = rest.substr(1);
    if (o.size() == 5 && o[2] == ':' && ParseInt(o.substr(0, 2), oh) && ParseInt(o.substr(3, 2), om)) {
    } else if (o.size() == 4 && ParseInt(o.substr(0, 2), oh) && ParseInt(o.substr(2, 2), om)) {
    } else if (o.size() == 2 && ParseInt(o, oh)) {
    } else {
      return bad();
    }
    if (oh > 23 || om > 59) return bad();
    offset_s = (oh * 3600LL + om * 60LL) * (rest[0] == '-' ? -1 : 1);
  } else {
    return bad();
  }
  return Timestamp{DaysFromCivil(*date) * kMicrosPerDay + tod - offset_s * kMicrosPerSecond};
}

std::string FormatDate(CivilDate d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
  return buf;
}

std::string FormatTimestamp(Timestamp t) {
  std::int64_t days = t.micros / kMicrosPerDay;
  std::int64_t rem = t.micros % kMicrosPerDay;
  if (rem < 0) {
    rem += kMicrosPerDay;
    --days;
  }
  const CivilDate d = CivilFromDays(days);
  const std::int64_t secs = rem / kMicrosPerSecond;
  const std::int64_t frac = rem % kMicrosPerSecond;
  char buf[48];
  if (frac == 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", d.year, d.month, d.day,
                  static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                  static_cast<int>(secs % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", d.year, d.month, d.day,
                  static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                  static_cast<int>(secs % 60), static_cast<int>(frac));
  }
  return buf;
}

Timestamp SystemClock::Now() const {
  return {std::chrono::duration_cast<Micros>(std::chrono::system_clock::now().time_since_epoch())
              .count()};
}

}  // namespace treu
