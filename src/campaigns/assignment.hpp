// Who of a campaign's audience is held out, who is in the A/B test and which variant they get.
//
// Every customer's arm follows from one number: SipHash-2-4 (libsodium's crypto_shorthash) of
// the customer id under the campaign's 128-bit key, read as a uniform u in [0, 1). So the
// assignment is random over customers, the same whenever and wherever it is computed (a
// re-run, another process, the report months later), and independent between campaigns,
// each of which draws its own key. u below the holdout share: held out; then the test share
// of the rest, split among the variants by weight; the remainder waits for the winner.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.hpp"
#include "core/status.hpp"

namespace treu::campaigns {

using SplitKey = std::array<std::uint8_t, 16>;

// A new random key (libsodium's randombytes).
SplitKey NewSplitKey();
// 32 lower-case hex digits and back; InvalidArgument (context "split_key") otherwise.
std::string FormatSplitKey(const SplitKey& key);
Result<SplitKey> ParseSplitKey(std::string_view hex);

struct Split {
  SplitKey key{};
  // Share of the audience held out (sent nothing, measured against), in per mille: 0..500.
  int holdout_permille = 0;
  // Share of the others in the A/B test, in per mille: 1..1000. 1000 sends every variant to
  // everyone at once (no winner phase); below, the rest get the winner after the test window.
  int test_permille = 1000;
  // One weight per variant, each 1..1000; one variant when there is no A/B test.
  std::vector<int> weights{1};
};

// InvalidArgument naming the field ("holdout_permille", "test_permille", "weights",
// "weights.<i>") or OK. At most 26 variants (A..Z).
Status CheckSplit(const Split& s);

enum class ArmKind : std::uint8_t { kHoldout, kVariant, kRemainder };

struct Arm {
  ArmKind kind = ArmKind::kVariant;
  int variant = 0;  // kVariant: the index into Split::weights; else 0
  auto operator<=>(const Arm&) const = default;
};

class Assigner {
 public:
  // `split` must pass CheckSplit.
  explicit Assigner(const Split& split);

  Arm Assign(CustomerId customer) const;
  // The customer's u in [0, 1) (53 bits of the hash).
  double Uniform(CustomerId customer) const;

 private:
  SplitKey key_;
  std::uint64_t holdout_below_ = 0;        // hash < this: held out
  std::uint64_t test_below_ = 0;           // else hash < this: in the test
  std::vector<std::uint64_t> variant_below_;  // within the test, by cumulative weight
};

// The variant's letter: 0 → "A", 1 → "B", ...
std::string VariantName(int index);

}  // namespace treu::campaigns
