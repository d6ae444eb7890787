#include "api/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace treu::api {

RateDecision RateLimiter::Take(std::int64_t key_id, int per_minute, Timestamp now) {
  const double capacity = per_minute;
  const double per_micro = capacity / (60.0 * kMicrosPerSecond);
  std::lock_guard lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(key_id, Bucket{capacity, now.micros});
  Bucket& b = it->second;
  if (!fresh) {
    b.tokens = std::min(capacity, b.tokens + static_cast<double>(now.micros - b.at) * per_micro);
    b.at = now.micros;
  }
  RateDecision d;
  d.limit = per_minute;
  d.allowed = b.tokens >= 1.0;
  if (d.allowed) b.tokens -= 1.0;
  d.remaining = static_cast<int>(std::floor(b.tokens));
  d.reset_seconds = static_cast<int>(std::ceil((capacity - b.tokens) / per_micro / kMicrosPerSecond));
  return d;
}

}  // namespace treu::api
