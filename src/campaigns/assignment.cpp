#include "campaigns/assignment.hpp"

#include <sodium.h>

#include <cstring>
#include <numeric>

namespace treu::campaigns {
namespace {

// The hash is read as a 53-bit integer, so thresholds times 1000 stay inside 64 bits.
constexpr std::uint64_t kScale = std::uint64_t{1} << 53;

std::uint64_t Hash53(const SplitKey& key, CustomerId customer) {
  static_assert(crypto_shorthash_KEYBYTES == 16 && crypto_shorthash_BYTES == 8);
  std::uint8_t in[8];
  const auto v = static_cast<std::uint64_t>(customer.value);
  for (int i = 0; i < 8; ++i) in[i] = static_cast<std::uint8_t>(v >> (8 * i));  // little-endian on every host
  std::uint8_t out[8];
  crypto_shorthash(out, in, sizeof in, key.data());
  std::uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h |= static_cast<std::uint64_t>(out[i]) << (8 * i);
  return h >> 11;
}

}  // namespace

SplitKey NewSplitKey() {
  if (sodium_init() < 0) std::abort();  // libsodium cannot start: no randomness to draw from
  SplitKey key;
  randombytes_buf(key.data(), key.size());
  return key;
}

std::string FormatSplitKey(const SplitKey& key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (std::uint8_t b : key) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Result<SplitKey> ParseSplitKey(std::string_view hex) {
  if (hex.size() != 32) return InvalidArgument("split_key", "must be 32 hexadecimal digits");
  SplitKey key;
  for (std::size_t i = 0; i < 16; ++i) {
    int v = 0;
    for (char c : hex.substr(2 * i, 2)) {
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return InvalidArgument("split_key", "must be 32 lower-case hexadecimal digits");
      v = v * 16 + d;
    }
    key[i] = static_cast<std::uint8_t>(v);
  }
  return key;
}

Status CheckSplit(const Split& s) {
  if (s.holdout_permille < 0 || s.holdout_permille > 500)
    return InvalidArgument("holdout_permille", "must be between 0 and 500 (at most half the audience held out)");
  if (s.test_permille < 1 || s.test_permille > 1000)
    return InvalidArgument("test_permille", "must be between 1 and 1000");
  if (s.weights.empty()) return InvalidArgument("weights", "needs at least one variant");
  if (s.weights.size() > 26) return InvalidArgument("weights", "at most 26 variants (A to Z)");
  for (std::size_t i = 0; i < s.weights.size(); ++i)
    if (s.weights[i] < 1 || s.weights[i] > 1000)
      return InvalidArgument("weights." + std::to_string(i), "a weight must be between 1 and 1000");
  if (s.test_permille < 1000 && s.weights.size() < 2)
    return InvalidArgument("test_permille", "a test share below 1000 needs at least two variants to pick a winner from");
  return Ok();
}

Assigner::Assigner(const Split& split) : key_(split.key) {
  holdout_below_ = kScale / 1000 * static_cast<std::uint64_t>(split.holdout_permille) +
                   kScale % 1000 * static_cast<std::uint64_t>(split.holdout_permille) / 1000;
  const std::uint64_t rest = kScale - holdout_below_;
  test_below_ = split.test_permille == 1000 ? kScale
                                            : holdout_below_ + rest * static_cast<std::uint64_t>(split.test_permille) / 1000;
  const std::uint64_t total = static_cast<std::uint64_t>(std::accumulate(split.weights.begin(), split.weights.end(), 0));
  const std::uint64_t span = test_below_ - holdout_below_;
  std::uint64_t cumulative = 0;
  for (int w : split.weights) {
    cumulative += static_cast<std::uint64_t>(w);
    // span * cumulative may pass 2^64 for 26 weights of 1000: divide first, then the remainder.
    variant_below_.push_back(holdout_below_ + span / total * cumulative + span % total * cumulative / total);
  }
  variant_below_.back() = test_below_;
}

Arm Assigner::Assign(CustomerId customer) const {
  const std::uint64_t h = Hash53(key_, customer);
  if (h < holdout_below_) return {ArmKind::kHoldout, 0};
  if (h >= test_below_) return {ArmKind::kRemainder, 0};
  int v = 0;
  while (h >= variant_below_[static_cast<std::size_t>(v)]) ++v;
  return {ArmKind::kVariant, v};
}

double Assigner::Uniform(CustomerId customer) const {
  return static_cast<double>(Hash53(key_, customer)) / static_cast<double>(kScale);
}

std::string VariantName(int index) {
  return std::string(1, static_cast<char>('A' + index));
}

}  // namespace treu::campaigns
