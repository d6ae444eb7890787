#include "models/summary.hpp"

#include <vector>

namespace treu {

std::optional<CustomerSummary> SummarizePurchases(std::span<const std::int64_t> times,
                                                  std::span<const std::int64_t> values,
                                                  CivilDate last_day, double unit_days) {
  const std::int64_t end_day = DaysFromCivil(last_day);
  if (times.empty() || times.front() >= (end_day + 1) * kMicrosPerDay) return std::nullopt;
  // Purchase days (UTC) with their summed values.
  std::vector<std::pair<std::int64_t, std::int64_t>> days;
  for (std::size_t i = 0; i < times.size(); ++i) {
    const std::int64_t day = times[i] >= 0 ? times[i] / kMicrosPerDay : (times[i] - kMicrosPerDay + 1) / kMicrosPerDay;
    if (!days.empty() && days.back().first == day) {
      days.back().second += values[i];
    } else {
      days.emplace_back(day, values[i]);
    }
  }
  const std::int64_t first_day = days.front().first;
  CustomerSummary s;
  std::int64_t repeat_value = 0;
  for (std::size_t i = 1; i < days.size(); ++i) {
    if (days[i].first > end_day) {
      ++s.holdout_purchases;
      continue;
    }
    s.rft.x += 1;
    s.rft.t_x = static_cast<double>(days[i].first - first_day) / unit_days;
    repeat_value += days[i].second;
  }
  s.rft.T = static_cast<double>(end_day - first_day) / unit_days;
  if (s.rft.x > 0) s.mean_repeat_value = static_cast<double>(repeat_value) / s.rft.x;
  return s;
}

}  // namespace treu
