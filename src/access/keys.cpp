#include "access/keys.hpp"

#include <openssl/evp.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace treu {
namespace {

constexpr std::string_view kAlphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr int kRandomChars = 32;  // 32 × log2(62) ≈ 190 bits

Result<std::string> RandomBase62(int n) {
  std::string out;
  while (static_cast<int>(out.size()) < n) {
    std::array<unsigned char, 64> buf{};
    if (::getrandom(buf.data(), buf.size(), 0) != static_cast<ssize_t>(buf.size())) {
      return Internal("api key", std::string("random source failed: ") + std::strerror(errno));
    }
    for (unsigned char b : buf) {
      // Rejection sampling keeps the characters uniform: 248 = 4 × 62.
      if (b < 248 && static_cast<int>(out.size()) < n) out += kAlphabet[b % 62];
    }
  }
  return out;
}

std::unexpected<Error> BadKey() {
  return MakeError(ErrorCode::kUnauthenticated, "api key", "missing, unknown or revoked");
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

Result<CreatedKey> CreateApiKey(Store& store, WorkspaceId ws, Scope scope, std::string name,
                                const Clock& clock, int rate_per_minute) {
  TREU_ASSIGN_OR_RETURN(std::string random, RandomBase62(kRandomChars));
  CreatedKey out;
  out.secret = std::string(scope == Scope::kTracking ? "treu_pk_" : "treu_sk_") + random;
  ApiKey rec;
  rec.workspace = ws;
  rec.scope = scope;
  rec.prefix = out.secret.substr(0, 12);
  rec.hash_hex = HashApiKey(out.secret);
  rec.name = std::move(name);
  rec.rate_per_minute = rate_per_minute;
  rec.created_at = clock.Now();
  TREU_ASSIGN_OR_RETURN(out.record, store.CreateApiKey(rec));
  return out;
}

Result<ApiKey> AuthenticateApiKey(Store& store, std::string_view key) {
  if (key.size() != 8 + kRandomChars ||
      !(key.starts_with("treu_pk_") || key.starts_with("treu_sk_"))) {
    return BadKey();
  }
  TREU_ASSIGN_OR_RETURN(std::optional<ApiKey> found, store.FindApiKey(HashApiKey(key)));
  if (!found || found->revoked_at) return BadKey();
  return *found;
}

Result<ApiKey> ApiKeyCache::Authenticate(Store& store, std::string_view key, Timestamp now) {
  if (key.size() != 8 + kRandomChars ||
      !(key.starts_with("treu_pk_") || key.starts_with("treu_sk_"))) {
    return BadKey();
  }
  std::string hash = HashApiKey(key);
  {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(hash); it != entries_.end() && now < it->second.until) {
      return it->second.key;
    }
  }
  TREU_ASSIGN_OR_RETURN(std::optional<ApiKey> found, store.FindApiKey(hash));
  if (!found || found->revoked_at) return BadKey();
  std::lock_guard lock(mu_);
  if (entries_.size() >= capacity_) {
    std::erase_if(entries_, [&](const auto& e) { return !(now < e.second.until); });
    if (entries_.size() >= capacity_) entries_.clear();
  }
  entries_.insert_or_assign(std::move(hash), Entry{*found, Timestamp{now.micros + ttl_}});
  return *found;
}

}  // namespace treu
