#include "campaigns/assignment.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace treu::campaigns {
namespace {

SplitKey KeyOf(std::uint8_t first) {
  SplitKey key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(first + i);
  return key;
}

// Pearson's statistic of observed counts against expected ones.
double ChiSquare(const std::vector<double>& observed, const std::vector<double>& expected) {
  double x = 0;
  for (std::size_t i = 0; i < observed.size(); ++i)
    x += (observed[i] - expected[i]) * (observed[i] - expected[i]) / expected[i];
  return x;
}

TEST(SplitKey, FormatsAndParses) {
  const SplitKey key = KeyOf(0xf0);
  EXPECT_EQ(FormatSplitKey(key), "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
  auto back = ParseSplitKey(FormatSplitKey(key));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, key);
  EXPECT_FALSE(ParseSplitKey("f0f1").has_value());
  EXPECT_FALSE(ParseSplitKey("F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF").has_value());
  EXPECT_FALSE(ParseSplitKey("g0f1f2f3f4f5f6f7f8f9fafbfcfdfeff").has_value());
  EXPECT_EQ(ParseSplitKey("xx").error().context(), "split_key");
}

TEST(SplitKey, NewKeysDiffer) {
  std::set<SplitKey> keys;
  for (int i = 0; i < 100; ++i) keys.insert(NewSplitKey());
  EXPECT_EQ(keys.size(), 100u);
}

TEST(Split, ChecksNameTheField) {
  Split s;
  EXPECT_TRUE(CheckSplit(s).has_value());
  s.holdout_permille = 501;
  EXPECT_EQ(CheckSplit(s).error().context(), "holdout_permille");
  s.holdout_permille = -1;
  EXPECT_EQ(CheckSplit(s).error().context(), "holdout_permille");
  s.holdout_permille = 100;
  s.test_permille = 0;
  EXPECT_EQ(CheckSplit(s).error().context(), "test_permille");
  s.test_permille = 200;  // a winner phase with one variant
  EXPECT_EQ(CheckSplit(s).error().context(), "test_permille");
  s.weights = {50, 0};
  EXPECT_EQ(CheckSplit(s).error().context(), "weights.1");
  s.weights = {};
  EXPECT_EQ(CheckSplit(s).error().context(), "weights");
  s.weights = std::vector<int>(27, 1);
  EXPECT_EQ(CheckSplit(s).error().context(), "weights");
  s.weights = std::vector<int>(26, 1000);
  EXPECT_TRUE(CheckSplit(s).has_value());
}

// The hash is SipHash-2-4: the reference implementation's test vector for the key 00..0f and
// the 8-byte message 00 01 .. 07 (the customer id 0x0706050403020100 in little-endian bytes)
// is 62 24 93 9a 79 f5 f5 93, i.e. 0x93f5f5799a932462; the assigner keeps its top 53 bits.
// So the arms are the same on every machine and with every build.
TEST(Assigner, IsSipHashOfTheCustomerId) {
  Split s;
  s.key = KeyOf(0);
  Assigner a(s);
  const double u = a.Uniform(CustomerId{0x0706050403020100});
  EXPECT_EQ(u, static_cast<double>(0x93f5f5799a932462ull >> 11) / 9007199254740992.0);
}

TEST(Assigner, IsStableAndDependsOnTheKey) {
  Split s;
  s.key = KeyOf(7);
  s.holdout_permille = 100;
  s.weights = {1, 1};
  Assigner a(s), again(s);
  s.key = KeyOf(8);
  Assigner other(s);
  int differs = 0;
  for (std::int64_t c = 1; c <= 10'000; ++c) {
    EXPECT_EQ(a.Assign(CustomerId{c}), again.Assign(CustomerId{c}));
    differs += a.Assign(CustomerId{c}) != other.Assign(CustomerId{c});
  }
  // Independent keys: a customer's arm under another key matches with probability
  // 0.1² + 2 · 0.45² = 0.415, so about 5,850 of 10,000 differ.
  EXPECT_NEAR(differs, 5850, 250);
}

TEST(Assigner, HashIsUniform) {
  // 100 equal bins of u over 200,000 consecutive ids, for 5 keys: chi-square with 99 degrees
  // of freedom stays below 148.2 (the 0.999 quantile) for a uniform hash.
  for (std::uint8_t k = 0; k < 5; ++k) {
    Split s;
    s.key = KeyOf(static_cast<std::uint8_t>(16 * k + 1));
    Assigner a(s);
    std::vector<double> bins(100, 0.0);
    for (std::int64_t c = 1; c <= 200'000; ++c) bins[static_cast<std::size_t>(a.Uniform(CustomerId{c}) * 100)] += 1;
    EXPECT_LT(ChiSquare(bins, std::vector<double>(100, 2000.0)), 148.2) << "key " << int(k);
  }
}

TEST(Assigner, SharesFollowTheSplit) {
  // 10 % held out; 20 % of the rest in the test, variants weighted 1:1:2; the remainder waits.
  Split s;
  s.key = KeyOf(42);
  s.holdout_permille = 100;
  s.test_permille = 200;
  s.weights = {1, 1, 2};
  Assigner a(s);
  const double n = 400'000;
  std::vector<double> observed(5, 0.0);  // holdout, A, B, C, remainder
  for (std::int64_t c = 1; c <= static_cast<std::int64_t>(n); ++c) {
    Arm arm = a.Assign(CustomerId{c});
    observed[arm.kind == ArmKind::kHoldout ? 0 : arm.kind == ArmKind::kRemainder ? 4 : 1 + arm.variant] += 1;
  }
  const std::vector<double> expected{0.1 * n, 0.9 * 0.2 * 0.25 * n, 0.9 * 0.2 * 0.25 * n, 0.9 * 0.2 * 0.5 * n,
                                     0.9 * 0.8 * n};
  // 4 degrees of freedom: the 0.999 quantile is 18.47.
  EXPECT_LT(ChiSquare(observed, expected), 18.47);
}

TEST(Assigner, HoldoutIsUnrelatedToTheIdsOrder) {
  // Ids created together (a burst of sign-ups) or of one parity are held out as often as any:
  // the holdout share of each block of 10,000 consecutive ids and of even and odd ids is 10 %
  // within four standard deviations (σ = 0.3 % for 10,000).
  Split s;
  s.key = KeyOf(99);
  s.holdout_permille = 100;
  Assigner a(s);
  int parity[2] = {0, 0};
  for (int block = 0; block < 20; ++block) {
    int held = 0;
    for (std::int64_t c = block * 10'000 + 1; c <= (block + 1) * 10'000; ++c)
      if (a.Assign(CustomerId{c}).kind == ArmKind::kHoldout) {
        ++held;
        ++parity[c % 2];
      }
    EXPECT_NEAR(held, 1000, 120) << "block " << block;
  }
  EXPECT_NEAR(parity[0], 10'000, 4 * 95);
  EXPECT_NEAR(parity[1], 10'000, 4 * 95);
}

TEST(Assigner, HoldoutsOfTwoCampaignsAreIndependent) {
  // Two campaigns holding out 10 % each share 1 % of the audience, not 10 % (a shared holdout
  // would keep the same customers from every campaign) nor 0 %.
  Split s;
  s.holdout_permille = 100;
  s.key = KeyOf(1);
  Assigner first(s);
  s.key = KeyOf(2);
  Assigner second(s);
  int both = 0;
  for (std::int64_t c = 1; c <= 100'000; ++c)
    both += first.Assign(CustomerId{c}).kind == ArmKind::kHoldout && second.Assign(CustomerId{c}).kind == ArmKind::kHoldout;
  EXPECT_NEAR(both, 1000, 4 * 31);
}

TEST(Assigner, EdgesOfTheShares) {
  Split s;
  s.key = KeyOf(3);
  Assigner none(s);  // no holdout, one variant, everyone now
  s.holdout_permille = 500;
  Assigner half(s);
  int held = 0;
  for (std::int64_t c = 1; c <= 20'000; ++c) {
    EXPECT_EQ(none.Assign(CustomerId{c}), (Arm{ArmKind::kVariant, 0}));
    held += half.Assign(CustomerId{c}).kind == ArmKind::kHoldout;
  }
  EXPECT_NEAR(held, 10'000, 4 * 71);
  EXPECT_EQ(VariantName(0), "A");
  EXPECT_EQ(VariantName(25), "Z");
}

}  // namespace
}  // namespace treu::campaigns
