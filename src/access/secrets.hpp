// The server's signing secret (survey links, later unsubscribe links): 32 random bytes kept in
// a file readable only by the server's user (mode 0600), created on first use.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/status.hpp"

namespace treu {

inline constexpr std::size_t kSecretBytes = 32;

// Reads the secret at `path`, creating it (64 hex digits, mode 0600, written and synced
// before it is used) when there is none. Refuses a file that others can read or write
// (FailedPrecondition naming the chmod that fixes it) and one that isn't 64 hex digits.
// Two processes creating it at once end up with the same secret.
Result<std::vector<std::uint8_t>> LoadOrCreateSecret(const std::filesystem::path& path);

}  // namespace treu
