// API keys: creation and authentication. A key is shown once at creation; the store keeps
// only its SHA-256 (keys are 190 random bits, so a fast hash is enough — no password
// stretching is needed for secrets that can't be guessed).
//
// Format: "treu_pk_<32 base62>" for tracking (public) keys, "treu_sk_<32 base62>" for
// secret keys (read, write, admin).
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.hpp"
#include "core/time.hpp"
#include "storage/store.hpp"

namespace treu {

struct CreatedKey {
  std::string secret;  // the key itself: show it once, never store it
  ApiKey record;       // what was stored
};

// Creates a key of `scope` for workspace `ws`. Internal if the system's random source fails.
// `rate_per_minute` limits the key's requests (0: no limit).
Result<CreatedKey> CreateApiKey(Store& store, WorkspaceId ws, Scope scope, std::string name,
                                const Clock& clock, int rate_per_minute = 0);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// What the store keeps of a key: its Sha256Hex.
inline std::string HashApiKey(std::string_view key) { return Sha256Hex(key); }

// The stored record of a presented key. Unauthenticated when the key is malformed, unknown
// or revoked (one message for all, so callers learn nothing about which).
Result<ApiKey> AuthenticateApiKey(Store& store, std::string_view key);

// Remembers keys that authenticated, by hash, for `ttl`, so a busy server doesn't query the
// store on every request; a revoked key stops working within `ttl`. Unknown keys are never
// remembered (so guessing can't fill memory). Thread-safe.
class ApiKeyCache {
 public:
  explicit ApiKeyCache(std::int64_t ttl_micros = 5 * kMicrosPerSecond, std::size_t capacity = 10000)
      : ttl_(ttl_micros), capacity_(capacity) {}

  // As AuthenticateApiKey, answering from memory when the key was seen within the ttl.
  Result<ApiKey> Authenticate(Store& store, std::string_view key, Timestamp now);

 private:
  struct Entry {
    ApiKey key;
    Timestamp until;
  };
  const std::int64_t ttl_;
  const std::size_t capacity_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // by key hash; guarded by mu_
};

}  // namespace treu
