// Signed links in messages: unsubscribe (RFC 8058 one-click), the preference page, the double
// opt-in confirmation, the open pixel and click redirects. A token names its kind, workspace,
// customer and message and when it stops working, and carries a truncated HMAC-SHA256 under the
// server's secret, so nobody can forge or alter one or use one kind as another. A click token
// also covers the URL it redirects to, so a link cannot be turned into an open redirect.
//
// Format: base64url(payload) "." base64url(first 16 bytes of HMAC-SHA256(secret, "treu link v1"
// || payload || 0x00 || bound text)), unpadded; payload = version byte 1, kind byte, then
// workspace, customer, ref and expires_at (µs, 0: never) as big-endian 64-bit integers.
// 69 URL-safe characters.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/ids.hpp"
#include "core/status.hpp"
#include "core/time.hpp"

namespace treu::messaging {

enum class LinkKind : std::uint8_t { kUnsubscribe = 1, kPreferences = 2, kConfirm = 3, kOpen = 4, kClick = 5 };

struct LinkClaims {
  LinkKind kind = LinkKind::kUnsubscribe;
  WorkspaceId workspace;
  CustomerId customer;
  // What the link is about: the message (open, click), the template whose topic it
  // unsubscribes from (unsubscribe; 0: all marketing email), else 0.
  std::int64_t ref = 0;
  Timestamp expires_at;         // the epoch: never expires

  bool operator==(const LinkClaims&) const = default;
};

// The token of `claims`; `bound` is the text it also covers (a click's target URL, else "").
// REQUIRES: secret.size() >= 16.
std::string SignLink(const LinkClaims& claims, std::string_view bound, std::span<const std::uint8_t> secret);

// SignLink with the secret's HMAC key schedule worked out once: for signing many links (a send
// to a whole audience). Signs exactly as SignLink does.
class LinkSigner {
 public:
  // REQUIRES: secret.size() >= 16.
  explicit LinkSigner(std::span<const std::uint8_t> secret);
  ~LinkSigner();
  std::string Sign(const LinkClaims& claims, std::string_view bound) const;

 private:
  unsigned char keyed_[512];  // a crypto_auth_hmacsha256_state after its init with the secret
};

// The claims of `token` after checking, in this order: InvalidArgument (context "link") when it
// isn't a token of this format; PermissionDenied (context "link") when its signature doesn't
// match (constant-time), or it is of another kind than `kind`, or `bound` differs from what was
// signed; FailedPrecondition (context "link", detail "expired") when it has expired at `now`.
Result<LinkClaims> VerifyLink(std::string_view token, LinkKind kind, std::string_view bound,
                              std::span<const std::uint8_t> secret, Timestamp now);

}  // namespace treu::messaging
