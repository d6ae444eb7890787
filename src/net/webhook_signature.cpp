#include "net/webhook_signature.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace treu::net {

std::string SignWebhook(std::string_view secret, std::int64_t unix_time, std::string_view body) {
  const std::string timestamp = std::to_string(unix_time);
  std::string message;
  message.reserve(timestamp.size() + 1 + body.size());
  message.append(timestamp).append(".").append(body);

  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_size = 0;
  // HMAC accepts a null key pointer only with length 0; pass a valid pointer always.
  static constexpr char kNoKey = 0;
  const char* key = secret.empty() ? &kNoKey : secret.data();
  ::HMAC(EVP_sha256(), key, static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(),
         &mac_size);

  constexpr std::string_view kHex = "0123456789abcdef";
  std::string out = "t=" + timestamp + ",v1=";
  for (unsigned int i = 0; i < mac_size; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0x0f]);
  }
  return out;
}

}  // namespace treu::net
