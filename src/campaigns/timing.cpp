#include "campaigns/timing.hpp"

#include <array>
#include <cstdio>

namespace treu::campaigns {

Result<LocalTime> ParseLocalTime(std::string_view text, std::string context) {
  auto digit = [&](std::size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (text.size() != 5 || text[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4))
    return InvalidArgument(std::move(context), "must be a time of day as HH:MM, e.g. 09:30");
  LocalTime t{(text[0] - '0') * 10 + (text[1] - '0'), (text[3] - '0') * 10 + (text[4] - '0')};
  if (t.hour > 23 || t.minute > 59)
    return InvalidArgument(std::move(context), "must be a time of day between 00:00 and 23:59");
  return t;
}

std::string FormatLocalTime(LocalTime t) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", t.hour, t.minute);
  return buf;
}

std::int64_t LocalMicrosOfDay(Timestamp t, const TimeZone& zone) {
  const std::int64_t local = t.micros + zone.OffsetSeconds(t) * kMicrosPerSecond;
  const std::int64_t r = local % kMicrosPerDay;
  return r < 0 ? r + kMicrosPerDay : r;
}

Timestamp NextLocalTime(Timestamp not_before, const TimeZone& zone, LocalTime at) {
  // The local date of `not_before` or the next: a zone's offset is within ±26 h, so one of
  // the candidates of the day before to two days after is the answer.
  const std::int64_t today = DaysFromCivil(zone.LocalDate(not_before));
  for (std::int64_t d = today - 1; d <= today + 2; ++d) {
    const Timestamp candidate = zone.ToUtc(CivilFromDays(d), at.micros());
    if (candidate >= not_before) return candidate;
  }
  return zone.ToUtc(CivilFromDays(today + 3), at.micros());  // not reached for real zones
}

namespace {
bool Inside(std::int64_t m, const QuietHours& quiet) {
  if (quiet.empty()) return false;
  const std::int64_t start = quiet.start.micros(), end = quiet.end.micros();
  return start < end ? m >= start && m < end : m >= start || m < end;
}
}  // namespace

bool InQuietHours(Timestamp t, const TimeZone& zone, const QuietHours& quiet) {
  return Inside(LocalMicrosOfDay(t, zone), quiet);
}

bool InQuietHours(LocalTime t, const QuietHours& quiet) { return Inside(t.micros(), quiet); }

Timestamp DeferPastQuietHours(Timestamp t, const TimeZone& zone, const QuietHours& quiet) {
  return InQuietHours(t, zone, quiet) ? NextLocalTime(t, zone, quiet.end) : t;
}

std::optional<int> BestLocalHour(std::span<const Timestamp> engagements, const TimeZone& zone, int min_engagements) {
  if (engagements.empty() || static_cast<std::int64_t>(engagements.size()) < min_engagements) return std::nullopt;
  std::array<int, 24> counts{};
  for (Timestamp t : engagements) ++counts[static_cast<std::size_t>(LocalMicrosOfDay(t, zone) / (3600 * kMicrosPerSecond))];
  int best = 0, best_score = -1;
  for (int h = 0; h < 24; ++h) {
    const int score = counts[static_cast<std::size_t>((h + 23) % 24)] + 2 * counts[static_cast<std::size_t>(h)] +
                      counts[static_cast<std::size_t>((h + 1) % 24)];
    if (score > best_score) best = h, best_score = score;
  }
  return best;
}

}  // namespace treu::campaigns
