// Secrets at rest (SMTP passwords, DKIM private keys): sealed with a key derived from the
// server's signing secret (src/access/secrets.hpp, a 0600 file), so a copy of the database
// alone reveals none of them. XChaCha20-Poly1305 (libsodium's secretbox); every seal has a
// fresh random nonce, and a sealed text that was altered or sealed under another secret does
// not open.
//
// Format: "v1." base64url(nonce || ciphertext) without padding.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace treu::messaging {

// Seals `plain`. REQUIRES: secret.size() >= 16.
std::string Seal(std::string_view plain, std::span<const std::uint8_t> secret);

// The plain text of `sealed`. InvalidArgument (context "sealed secret") when it isn't of the
// format; PermissionDenied when it doesn't open under `secret` (altered, or another server's).
// An empty `sealed` opens to "" (no secret stored).
Result<std::string> Unseal(std::string_view sealed, std::span<const std::uint8_t> secret);

}  // namespace treu::messaging
