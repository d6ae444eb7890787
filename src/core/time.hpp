// Time: instants are UTC microseconds since the Unix epoch. Civil dates and periods are
// evaluated in an IANA time zone through Howard Hinnant's date/tz on the system tzdata.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace date {
class time_zone;
}

namespace treu {

struct Timestamp {
  std::int64_t micros = 0;  // UTC microseconds since 1970-01-01T00:00:00Z

  static constexpr Timestamp FromSeconds(std::int64_t s) { return {s * 1'000'000}; }
  constexpr auto operator<=>(const Timestamp&) const = default;
};

inline constexpr std::int64_t kMicrosPerSecond = 1'000'000;
inline constexpr std::int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

// A civil calendar date.
struct CivilDate {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  auto operator<=>(const CivilDate&) const = default;
};

// An IANA time zone ("Europe/Berlin", "UTC"). Cheap to copy; the rules live in the
// process-wide tz database, which is loaded once and never freed.
class TimeZone {
 public:
  // Fails with InvalidArgument for names the system tz database doesn't know.
  static Result<TimeZone> Find(std::string_view name);
  static TimeZone Utc();

  const std::string& name() const { return name_; }
  bool is_utc() const { return zone_ == nullptr; }

  // The instant at which the local civil time `date` + `micros_of_day` occurs. A local time
  // skipped by a DST change maps to the transition instant; an ambiguous one (repeated hour)
  // to its earlier occurrence.
  Timestamp ToUtc(CivilDate date, std::int64_t micros_of_day = 0) const;
  // Midnight starting `date` in this zone.
  Timestamp StartOfDay(CivilDate date) const { return ToUtc(date, 0); }
  // The local civil date at instant t.
  CivilDate LocalDate(Timestamp t) const;
  // UTC offset in seconds at instant t.
  std::int64_t OffsetSeconds(Timestamp t) const;
  // The zone's abbreviation at instant t as the tz database writes it ("CET", "CEST", "UTC";
  // some zones have only numeric ones such as "+03").
  std::string Abbreviation(Timestamp t) const;

 private:
  std::string name_ = "UTC";
  const date::time_zone* zone_ = nullptr;  // nullptr: UTC fast path
};

// Days since 1970-01-01 of a civil date (proleptic Gregorian) and back.
std::int64_t DaysFromCivil(CivilDate d);
CivilDate CivilFromDays(std::int64_t days);
bool IsValidDate(int year, int month, int day);

// Parses "YYYY-MM-DD".
Result<CivilDate> ParseDate(std::string_view text);

// Parses an ISO 8601 date or date-time: "2024-03-01" (midnight in `zone`),
// "2024-03-01T12:30:00", "2024-03-01 12:30:00.25" (local time in `zone`), with an optional
// "Z" or "+02:00"/"+0200" offset (then `zone` is not used).
Result<Timestamp> ParseTimestamp(std::string_view text, const TimeZone& zone);

// RFC 3339 in UTC with microseconds only when non-zero: "2024-03-01T12:30:00Z".
std::string FormatTimestamp(Timestamp t);
std::string FormatDate(CivilDate d);

// Source of the current time. Core logic never reads the system clock itself.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

// The real wall clock. Thread-safe.
class SystemClock final : public Clock {
 public:
  Timestamp Now() const override;
};

// A clock that shows what tests set. Not thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp t) : now_(t) {}
  Timestamp Now() const override { return now_; }
  void Set(Timestamp t) { now_ = t; }
  void Advance(std::int64_t micros) { now_.micros += micros; }

 private:
  Timestamp now_;
};

}  // namespace treu
