#include "messaging/links.hpp"

#include <openssl/crypto.h>
#include <sodium.h>

#include <array>
#include <cstdlib>
#include <cstring>

namespace treu::messaging {
namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kPayloadBytes = 2 + 4 * 8;
constexpr std::size_t kMacBytes = 16;
constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
constexpr std::string_view kLabel = "treu link v1";

using Payload = std::array<unsigned char, kPayloadBytes>;
using Mac = std::array<unsigned char, kMacBytes>;

void PutU64(unsigned char* p, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<unsigned char>(v & 0xff);
    v >>= 8;
  }
}
std::uint64_t GetU64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

static_assert(sizeof(crypto_auth_hmacsha256_state) <= 512);

// HMAC-SHA256 under a key already absorbed into `keyed` (a copy is finished).
Mac MacWith(const crypto_auth_hmacsha256_state& keyed, const Payload& payload, std::string_view bound) {
  crypto_auth_hmacsha256_state st = keyed;
  const unsigned char zero = 0;
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(kLabel.data()), kLabel.size());
  crypto_auth_hmacsha256_update(&st, payload.data(), payload.size());
  crypto_auth_hmacsha256_update(&st, &zero, 1);
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(bound.data()), bound.size());
  unsigned char full[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&st, full);
  Mac mac{};
  std::copy_n(full, kMacBytes, mac.begin());
  sodium_memzero(&st, sizeof st);
  return mac;
}

Mac MacOf(const Payload& payload, std::string_view bound, std::span<const std::uint8_t> secret) {
  crypto_auth_hmacsha256_state keyed;
  crypto_auth_hmacsha256_init(&keyed, secret.data(), secret.size());
  const Mac mac = MacWith(keyed, payload, bound);
  sodium_memzero(&keyed, sizeof keyed);
  return mac;
}

Payload PayloadOf(const LinkClaims& claims) {
  Payload p{};
  p[0] = kVersion;
  p[1] = static_cast<unsigned char>(claims.kind);
  PutU64(&p[2], static_cast<std::uint64_t>(claims.workspace.value));
  PutU64(&p[10], static_cast<std::uint64_t>(claims.customer.value));
  PutU64(&p[18], static_cast<std::uint64_t>(claims.ref));
  PutU64(&p[26], static_cast<std::uint64_t>(claims.expires_at.micros));
  return p;
}

std::string Encode(const unsigned char* data, std::size_t n) {
  std::string out(sodium_base64_ENCODED_LEN(n, kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, kVariant);
  out.resize(out.size() - 1);
  return out;
}

bool Decode(std::string_view text, unsigned char* out, std::size_t n) {
  if (text.size() != sodium_base64_ENCODED_LEN(n, kVariant) - 1) return false;
  std::size_t len = 0;
  return sodium_base642bin(out, n, text.data(), text.size(), nullptr, &len, nullptr, kVariant) == 0 && len == n;
}

}  // namespace

std::string SignLink(const LinkClaims& claims, std::string_view bound, std::span<const std::uint8_t> secret) {
  const Payload p = PayloadOf(claims);
  const Mac mac = MacOf(p, bound, secret);
  return Encode(p.data(), p.size()) + "." + Encode(mac.data(), mac.size());
}

LinkSigner::LinkSigner(std::span<const std::uint8_t> secret) {
  crypto_auth_hmacsha256_state keyed;
  crypto_auth_hmacsha256_init(&keyed, secret.data(), secret.size());
  std::memcpy(keyed_, &keyed, sizeof keyed);
  sodium_memzero(&keyed, sizeof keyed);
}

LinkSigner::~LinkSigner() { sodium_memzero(keyed_, sizeof keyed_); }

std::string LinkSigner::Sign(const LinkClaims& claims, std::string_view bound) const {
  const Payload p = PayloadOf(claims);
  crypto_auth_hmacsha256_state keyed;
  std::memcpy(&keyed, keyed_, sizeof keyed);
  const Mac mac = MacWith(keyed, p, bound);
  sodium_memzero(&keyed, sizeof keyed);
  return Encode(p.data(), p.size()) + "." + Encode(mac.data(), mac.size());
}

Result<LinkClaims> VerifyLink(std::string_view token, LinkKind kind, std::string_view bound,
                              std::span<const std::uint8_t> secret, Timestamp now) {
  const auto dot = token.find('.');
  Payload p{};
  Mac mac{};
  if (dot == std::string_view::npos || !Decode(token.substr(0, dot), p.data(), p.size()) ||
      !Decode(token.substr(dot + 1), mac.data(), mac.size()) || p[0] != kVersion) {
    return InvalidArgument("link", "not a link token of this server");
  }
  const Mac expected = MacOf(p, bound, secret);
  if (CRYPTO_memcmp(expected.data(), mac.data(), kMacBytes) != 0 || p[1] != static_cast<unsigned char>(kind)) {
    return MakeError(ErrorCode::kPermissionDenied, "link", "the link's signature does not match");
  }
  LinkClaims c;
  c.kind = kind;
  c.workspace = WorkspaceId{static_cast<std::int64_t>(GetU64(&p[2]))};
  c.customer = CustomerId{static_cast<std::int64_t>(GetU64(&p[10]))};
  c.ref = static_cast<std::int64_t>(GetU64(&p[18]));
  c.expires_at = Timestamp{static_cast<std::int64_t>(GetU64(&p[26]))};
  if (c.expires_at.micros != 0 && now.micros >= c.expires_at.micros) {
    return MakeError(ErrorCode::kFailedPrecondition, "link", "expired");
  }
  return c;
}

}  // namespace treu::messaging
