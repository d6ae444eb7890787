// When a message goes out in its recipient's own day: a chosen local time of day ("send at
// 09:00 in each customer's time zone"), quiet hours (a message due inside them waits for their
// end; it is deferred, never dropped) and send-time optimisation (the hour a customer has
// opened and clicked most). Daylight-saving changes follow the tz database: a local time the
// clocks skip maps to the transition instant, a repeated one to its first occurrence.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "core/time.hpp"

namespace treu::campaigns {

struct LocalTime {
  int hour = 0;    // 0..23
  int minute = 0;  // 0..59
  constexpr std::int64_t micros() const { return (hour * 60LL + minute) * 60 * kMicrosPerSecond; }
  auto operator<=>(const LocalTime&) const = default;
};

// "HH:MM" (24 h); InvalidArgument with `context` otherwise.
Result<LocalTime> ParseLocalTime(std::string_view text, std::string context);
std::string FormatLocalTime(LocalTime t);

// Microseconds since local midnight at instant t in `zone` (by the wall clock: 09:00 is
// 9 hours of micros even on a day that lost an hour).
std::int64_t LocalMicrosOfDay(Timestamp t, const TimeZone& zone);

// The first instant at or after `not_before` whose local time in `zone` is `at`.
Timestamp NextLocalTime(Timestamp not_before, const TimeZone& zone, LocalTime at);

// Quiet hours in the recipient's zone, e.g. 21:00–08:00 (across midnight) or 12:00–14:00;
// start == end means none.
struct QuietHours {
  LocalTime start;
  LocalTime end;
  bool empty() const { return start == end; }
};

bool InQuietHours(Timestamp t, const TimeZone& zone, const QuietHours& quiet);
// Whether local time of day `t` is inside them.
bool InQuietHours(LocalTime t, const QuietHours& quiet);
// t itself outside quiet hours; inside, the instant they end.
Timestamp DeferPastQuietHours(Timestamp t, const TimeZone& zone, const QuietHours& quiet);

// Send-time optimisation: the local hour (0..23) at which a customer engages most, from the
// instants of their opens and clicks. Counts per local hour are smoothed over the neighbouring
// hours (weights 1, 2, 1, around midnight too), so a history of 9:50, 10:05 and 10:40 peaks at
// 10 rather than splitting; ties go to the earliest hour. nullopt with fewer than
// `min_engagements` (the campaign's chosen hour is used then).
std::optional<int> BestLocalHour(std::span<const Timestamp> engagements, const TimeZone& zone,
                                 int min_engagements = 3);

}  // namespace treu::campaigns
