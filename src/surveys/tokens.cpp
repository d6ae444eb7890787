#include "surveys/tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <limits>

namespace treu::survey {
namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kPayloadBytes = 1 + 5 * 8;
constexpr std::size_t kMacBytes = 32;
// Bound on the token text; real tokens are 55 + 1 + 43 characters.
constexpr std::size_t kMaxTokenChars = 256;
// Prefixed to the payload before signing, so a MAC made for another purpose with the same
// secret can never pass as an invitation's.
constexpr std::string_view kLabel{"treu survey invitation\0", 23};
// Keys nonces derived from a caller's idempotency key apart from token signatures.
constexpr std::string_view kNonceLabel{"treu survey invitation nonce\0", 29};

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int DecodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

void PutInt64(std::vector<std::uint8_t>& out, std::int64_t v) {
  auto u = static_cast<std::uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(u >> shift));
}

std::int64_t GetInt64(std::span<const std::uint8_t> in) {
  std::uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | in[i];
  return static_cast<std::int64_t>(u);
}

std::vector<std::uint8_t> EncodePayload(const Invitation& inv) {
  std::vector<std::uint8_t> out;
  out.reserve(kPayloadBytes);
  out.push_back(kVersion);
  PutInt64(out, inv.workspace.value);
  PutInt64(out, inv.survey_id);
  PutInt64(out, inv.customer.value);
  PutInt64(out, inv.nonce);
  PutInt64(out, inv.expires_at.micros);
  return out;
}

std::array<std::uint8_t, kMacBytes> Mac(std::span<const std::uint8_t> secret,
                                        std::span<const std::uint8_t> payload, std::string_view label = kLabel) {
  std::vector<std::uint8_t> message(label.begin(), label.end());
  message.insert(message.end(), payload.begin(), payload.end());
  std::array<std::uint8_t, kMacBytes> mac{};
  unsigned int len = 0;
  // HMAC accepts a null key pointer only with length 0; pass a valid pointer always.
  static constexpr std::uint8_t kNoKey = 0;
  const std::uint8_t* key = secret.empty() ? &kNoKey : secret.data();
  ::HMAC(EVP_sha256(), key, static_cast<int>(secret.size()), message.data(), message.size(),
         mac.data(), &len);
  return mac;
}

std::unexpected<Error> Malformed(std::string detail) {
  return InvalidArgument("invitation token", std::move(detail));
}

}  // namespace

std::int64_t NonceForKey(WorkspaceId ws, std::int64_t survey_id, std::string_view key,
                         std::span<const std::uint8_t> secret) {
  std::vector<std::uint8_t> payload;
  PutInt64(payload, ws.value);
  PutInt64(payload, survey_id);
  payload.insert(payload.end(), key.begin(), key.end());
  const std::array<std::uint8_t, kMacBytes> mac = Mac(secret, payload, kNonceLabel);
  return GetInt64(mac) & std::numeric_limits<std::int64_t>::max();
}

std::string Base64UrlEncode(std::span<const std::uint8_t> data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    std::uint32_t n =
        (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  std::size_t rest = data.size() - i;
  if (rest == 1) {
    std::uint32_t n = std::uint32_t{data[i]} << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
  } else if (rest == 2) {
    std::uint32_t n = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

Result<std::vector<std::uint8_t>> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return InvalidArgument("base64url", "impossible length");
  std::vector<std::uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = DecodeChar(c);
    if (v < 0) return InvalidArgument("base64url", "unexpected character");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  // What is left (2 or 4 bits after a partial group) must be zero in the canonical encoding.
  if (acc != 0) return InvalidArgument("base64url", "non-zero trailing bits");
  return out;
}

Result<std::vector<std::uint8_t>> NewSecret() {
  std::vector<std::uint8_t> secret(32);
  std::size_t filled = 0;
  while (filled < secret.size()) {
    ssize_t n = ::getrandom(secret.data() + filled, secret.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Internal("invitation secret",
                      std::string("random source failed: ") + std::strerror(errno));
    }
    filled += static_cast<std::size_t>(n);
  }
  return secret;
}

std::string SignInvitation(const Invitation& invitation, std::span<const std::uint8_t> secret) {
  const std::vector<std::uint8_t> payload = EncodePayload(invitation);
  const std::array<std::uint8_t, kMacBytes> mac = Mac(secret, payload);
  return Base64UrlEncode(payload) + "." + Base64UrlEncode(mac);
}

Result<Invitation> VerifyInvitation(std::string_view token, std::span<const std::uint8_t> secret,
                                    Timestamp now) {
  if (secret.size() < kMinSecretBytes) {
    return FailedPrecondition("invitation secret",
                              "must be at least " + std::to_string(kMinSecretBytes) + " bytes");
  }
  if (token.empty()) return Malformed("empty");
  if (token.size() > kMaxTokenChars) return Malformed("too long");
  const std::size_t dot = token.find('.');
  if (dot == std::string_view::npos) return Malformed("expected payload.signature");
  auto payload = Base64UrlDecode(token.substr(0, dot));
  if (!payload) return Malformed("payload is not base64url");
  auto signature = Base64UrlDecode(token.substr(dot + 1));
  if (!signature) return Malformed("signature is not base64url");
  if (payload->size() != kPayloadBytes) return Malformed("payload has the wrong length");
  if (signature->size() != kMacBytes) return Malformed("signature has the wrong length");

  const std::array<std::uint8_t, kMacBytes> expected = Mac(secret, *payload);
  if (CRYPTO_memcmp(expected.data(), signature->data(), kMacBytes) != 0) {
    return MakeError(ErrorCode::kPermissionDenied, "invitation token", "signature mismatch");
  }
  // Signed by us, so the version can only be unknown after a format change.
  const std::span<const std::uint8_t> p(*payload);
  if (p[0] != kVersion) return Malformed("unknown version " + std::to_string(p[0]));

  Invitation inv;
  inv.workspace = WorkspaceId{GetInt64(p.subspan(1))};
  inv.survey_id = GetInt64(p.subspan(9));
  inv.customer = CustomerId{GetInt64(p.subspan(17))};
  inv.nonce = GetInt64(p.subspan(25));
  inv.expires_at = Timestamp{GetInt64(p.subspan(33))};
  if (!(now < inv.expires_at)) return FailedPrecondition("invitation", "expired");
  return inv;
}

}  // namespace treu::survey
