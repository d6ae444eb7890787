#include "messaging/sealed.hpp"

#include <sodium.h>

#include <array>
#include <cstdlib>
#include <vector>

namespace treu::messaging {
namespace {

constexpr std::string_view kPrefix = "v1.";
constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

void InitSodium() {
  static const int ok = sodium_init();
  if (ok < 0) std::abort();  // no usable random source: nothing can be sealed safely
}

// The sealing key: BLAKE2b-256 of the server secret, keyed by the purpose, so the same secret
// signing links never serves directly as an encryption key.
std::array<unsigned char, crypto_secretbox_xchacha20poly1305_KEYBYTES> KeyOf(std::span<const std::uint8_t> secret) {
  static constexpr unsigned char kPurpose[] = "treu sealed secrets v1";
  std::array<unsigned char, crypto_secretbox_xchacha20poly1305_KEYBYTES> key{};
  crypto_generichash(key.data(), key.size(), secret.data(), secret.size(), kPurpose, sizeof kPurpose - 1);
  return key;
}

}  // namespace

std::string Seal(std::string_view plain, std::span<const std::uint8_t> secret) {
  InitSodium();
  auto key = KeyOf(secret);
  std::vector<unsigned char> box(crypto_secretbox_xchacha20poly1305_NONCEBYTES + crypto_secretbox_xchacha20poly1305_MACBYTES +
                                 plain.size());
  unsigned char* nonce = box.data();
  randombytes_buf(nonce, crypto_secretbox_xchacha20poly1305_NONCEBYTES);
  crypto_secretbox_xchacha20poly1305_easy(box.data() + crypto_secretbox_xchacha20poly1305_NONCEBYTES,
                                          reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), nonce,
                                          key.data());
  sodium_memzero(key.data(), key.size());
  std::string out(sodium_base64_ENCODED_LEN(box.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), box.data(), box.size(), kVariant);
  out.resize(out.size() - 1);  // the terminating NUL
  return std::string(kPrefix) + out;
}

Result<std::string> Unseal(std::string_view sealed, std::span<const std::uint8_t> secret) {
  if (sealed.empty()) return std::string();
  InitSodium();
  if (!sealed.starts_with(kPrefix)) {
    return InvalidArgument("sealed secret", "not a sealed secret of this server's format");
  }
  sealed.remove_prefix(kPrefix.size());
  if (sealed.empty()) return InvalidArgument("sealed secret", "not a sealed secret of this server's format");
  std::vector<unsigned char> box(sealed.size());
  std::size_t len = 0;
  if (sodium_base642bin(box.data(), box.size(), sealed.data(), sealed.size(), nullptr, &len, nullptr, kVariant) != 0 ||
      len < crypto_secretbox_xchacha20poly1305_NONCEBYTES + crypto_secretbox_xchacha20poly1305_MACBYTES) {
    return InvalidArgument("sealed secret", "not a sealed secret of this server's format");
  }
  const std::size_t body = len - crypto_secretbox_xchacha20poly1305_NONCEBYTES;
  std::string plain(body - crypto_secretbox_xchacha20poly1305_MACBYTES, '\0');
  auto key = KeyOf(secret);
  const int rc = crypto_secretbox_xchacha20poly1305_open_easy(
      reinterpret_cast<unsigned char*>(plain.data()), box.data() + crypto_secretbox_xchacha20poly1305_NONCEBYTES, body,
      box.data(), key.data());
  sodium_memzero(key.data(), key.size());
  if (rc != 0) {
    return MakeError(ErrorCode::kPermissionDenied, "sealed secret",
                     "does not open with this server's secret (altered, or sealed by another server)");
  }
  return plain;
}

}  // namespace treu::messaging
