// Signed survey invitation links. A token names the workspace, survey and customer it was
// sent to and when it stops working, and carries an HMAC-SHA256 so that nobody without the
// secret can forge or alter one. Tokens are not encrypted: anyone holding one can read its
// ids (they are opaque numbers, not personal data).
//
// Format: base64url(payload) "." base64url(HMAC-SHA256(secret, label || payload)), without
// padding; payload = version byte 1, then workspace, survey id, customer, nonce and
// expires_at (microseconds) as big-endian 64-bit integers. About 100 URL-safe characters
// ([A-Za-z0-9_-] and one '.').
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.hpp"
#include "core/status.hpp"
#include "core/time.hpp"

namespace treu::survey {

struct Invitation {
  WorkspaceId workspace;
  std::int64_t survey_id = 0;
  CustomerId customer;
  std::int64_t nonce = 0;  // tells invitations apart, e.g. the delivery id
  Timestamp expires_at;    // the token works while now < expires_at

  bool operator==(const Invitation&) const = default;
};

// Secrets shorter than this are refused by VerifyInvitation.
inline constexpr std::size_t kMinSecretBytes = 16;

// A fresh 32-byte secret from the operating system's random source. Internal if that fails.
Result<std::vector<std::uint8_t>> NewSecret();

// The signed token of `invitation`.
// REQUIRES: secret.size() >= kMinSecretBytes.
std::string SignInvitation(const Invitation& invitation, std::span<const std::uint8_t> secret);

// The invitation a token carries, after checking it in this order:
//   - InvalidArgument (context "invitation token") when it isn't a token of this format;
//   - PermissionDenied (context "invitation token") when its signature doesn't match
//     `secret` (compared in constant time);
//   - FailedPrecondition (context "invitation", detail "expired") when now >= expires_at.
// Also FailedPrecondition (context "invitation secret") when the secret is shorter than
// kMinSecretBytes. Thread-safe.
Result<Invitation> VerifyInvitation(std::string_view token, std::span<const std::uint8_t> secret,
                                    Timestamp now);

// A nonce derived from a caller's idempotency key (HMAC-SHA256 under `secret` and a label of
// its own, its first 63 bits): the same key of the same survey always gives the same nonce, so
// an invitation made again after a crash is found instead of made twice.
std::int64_t NonceForKey(WorkspaceId ws, std::int64_t survey_id, std::string_view key,
                         std::span<const std::uint8_t> secret);

// base64url (RFC 4648 §5) without padding.
std::string Base64UrlEncode(std::span<const std::uint8_t> data);
// Decodes unpadded base64url. Rejects other characters, padding, impossible lengths and
// non-zero unused trailing bits, so every byte string has exactly one accepted encoding.
// InvalidArgument (context "base64url") otherwise.
Result<std::vector<std::uint8_t>> Base64UrlDecode(std::string_view text);

}  // namespace treu::survey
