// Per-key request rate limits: a token bucket per API key, refilled continuously at the
// key's rate per minute with a burst of one minute's worth. Thread-safe; in memory, so each
// treu process limits on its own.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "core/time.hpp"

namespace treu::api {

struct RateDecision {
  bool allowed = true;
  int limit = 0;              // requests per minute
  int remaining = 0;          // whole requests left in the bucket
  int reset_seconds = 0;      // until the bucket is full again
};

class RateLimiter {
 public:
  // Takes one request from key `key_id`'s bucket. REQUIRES: per_minute > 0.
  RateDecision Take(std::int64_t key_id, int per_minute, Timestamp now);

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t at = 0;  // micros of the last refill
  };
  std::mutex mu_;
  std::unordered_map<std::int64_t, Bucket> buckets_;  // guarded by mu_
};

}  // namespace treu::api
