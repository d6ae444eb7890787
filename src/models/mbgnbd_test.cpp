#include "models/mbgnbd.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "models/cdnow_testdata.hpp"
#include "models/hyp2f1.hpp"

namespace treu {
namespace {

// The printed BTYDplus estimates on CDNOW.
const MbgNbdParams kCdnow{0.525, 6.183, 0.891, 1.614};

TEST(MbgNbdTest, FitsTheCdnowSampleAsPublished) {
  const auto data = testdata::CdnowSummaries();
  const MbgNbdFit fit = FitMbgNbd(data).value();
  // BTYDplus (mbgnbd.EstimateParameters) and lifetimes: r = 0.525, α = 6.183, a = 0.891,
  // b = 1.614. No published log-likelihood was found; this file gives −9582.1327.
  EXPECT_NEAR(fit.params.r, 0.525, 0.0005);
  EXPECT_NEAR(fit.params.alpha, 6.183, 0.0005);
  EXPECT_NEAR(fit.params.a, 0.891, 0.0005);
  EXPECT_NEAR(fit.params.b, 1.614, 0.0005);
  EXPECT_DOUBLE_EQ(fit.log_likelihood, MbgNbdLogLikelihood(fit.params, data));
  EXPECT_GE(fit.log_likelihood, MbgNbdLogLikelihood(kCdnow, data));
  for (double se : fit.std_errors) {
    EXPECT_GT(se, 0);
    EXPECT_LT(se, 1.0);
  }
  EXPECT_GT(fit.evaluations, 0);
}

TEST(MbgNbdTest, LogLikelihoodOfOneHistoryAsInBtydPlus) {
  // BTYDplus xbgcnbd.LL with k = 1 and dropout_at_zero, written out for one history.
  const MbgNbdParams p{0.7, 3.0, 1.3, 2.2};
  const double x = 3, t_x = 4, age = 6;  // age: T
  const double lbeta_ratio = std::lgamma(p.a) + std::lgamma(p.b + x + 1) -
                             std::lgamma(p.a + p.b + x + 1) -
                             (std::lgamma(p.a) + std::lgamma(p.b) - std::lgamma(p.a + p.b));
  const double want =
      lbeta_ratio + std::lgamma(p.r + x) - std::lgamma(p.r) + p.r * std::log(p.alpha) -
      (p.r + x) * std::log(p.alpha + age) +
      std::log(p.a / (p.b + x) * std::pow((p.alpha + age) / (p.alpha + t_x), p.r + x) + 1);
  const std::vector<PurchaseSummary> one{{x, t_x, age}};
  EXPECT_NEAR(MbgNbdLogLikelihood(p, one), want, 1e-12 * std::abs(want));
  // A one-time buyer: alive throughout with b/(a+b) (α/(α+T))^r, or gone at once with a/(a+b).
  const std::vector<PurchaseSummary> zero{{0, 0, age}};
  EXPECT_NEAR(
      MbgNbdLogLikelihood(p, zero),
      std::log(p.b / (p.a + p.b) * std::pow(p.alpha / (p.alpha + age), p.r) + p.a / (p.a + p.b)),
      1e-14);
}

TEST(MbgNbdTest, GradientMatchesFiniteDifferences) {
  auto data = testdata::CdnowSummaries();
  data.resize(300);
  for (std::size_t i = 0; i < data.size(); ++i) data[i].n = 1 + static_cast<double>(i % 3);
  const MbgNbdParams p{0.4, 5.0, 1.2, 1.9};
  std::array<double, 4> g{};
  MbgNbdLogLikelihood(p, data, &g);
  for (int i = 0; i < 4; ++i) {
    auto at = [&](double f) {
      MbgNbdParams q = p;
      double* v[] = {&q.r, &q.alpha, &q.a, &q.b};
      *v[i] *= std::exp(f);  // a step in the log-parameter
      return MbgNbdLogLikelihood(q, data);
    };
    const double h = 1e-5;
    EXPECT_NEAR(g[i], (at(h) - at(-h)) / (2 * h), 1e-6 * std::max(1.0, std::abs(g[i]))) << i;
  }
}

TEST(MbgNbdTest, WeightedSampleEqualsExpandedSample) {
  const auto data = testdata::CdnowSummaries();
  std::map<std::tuple<double, double, double>, double> counts;
  for (const PurchaseSummary& s : data) counts[{s.x, s.t_x, s.T}] += 1;
  std::vector<PurchaseSummary> compressed;
  for (const auto& [key, n] : counts)
    compressed.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), n});
  ASSERT_LT(compressed.size(), data.size());
  std::array<double, 4> g_full{}, g_weighted{};
  const double ll_full = MbgNbdLogLikelihood(kCdnow, data, &g_full);
  EXPECT_NEAR(MbgNbdLogLikelihood(kCdnow, compressed, &g_weighted), ll_full,
              1e-12 * std::abs(ll_full));
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(g_weighted[i], g_full[i], 1e-9 * std::max(1.0, std::abs(g_full[i])));
  const MbgNbdFit a = FitMbgNbd(data).value(), b = FitMbgNbd(compressed).value();
  EXPECT_NEAR(b.params.r, a.params.r, 1e-6 * a.params.r);
  EXPECT_NEAR(b.params.alpha, a.params.alpha, 1e-6 * a.params.alpha);
  EXPECT_NEAR(b.params.a, a.params.a, 1e-6 * a.params.a);
  EXPECT_NEAR(b.params.b, a.params.b, 1e-6 * a.params.b);
}

TEST(MbgNbdTest, ExactTimesGiveTheSameLikelihoodAsSmallChunks) {
  // Histories with times that do not repeat are evaluated one by one; chunks of 1,000 go
  // through the tables of distinct values. The sums and gradients must agree.
  std::vector<PurchaseSummary> data;
  for (int i = 0; i < 20000; ++i) {
    const double x = i % 7, age = 27 + 12 * std::fmod(i * 0.6180339887, 1.0);
    data.push_back({x, x > 0 ? age * (0.01 + 0.99 * std::fmod(i * 0.4142135624, 1.0)) : 0, age});
  }
  const MbgNbdParams p{0.4, 5.0, 1.2, 1.9};
  std::array<double, 4> g{}, g_chunks{};
  const double ll = MbgNbdLogLikelihood(p, data, &g);
  double ll_chunks = 0;
  for (std::size_t i = 0; i < data.size(); i += 1000) {
    std::array<double, 4> gc{};
    ll_chunks += MbgNbdLogLikelihood(p, std::span(data).subspan(i, 1000), &gc);
    for (int k = 0; k < 4; ++k) g_chunks[k] += gc[k];
  }
  EXPECT_NEAR(ll, ll_chunks, 1e-12 * std::abs(ll));
  for (int k = 0; k < 4; ++k)
    EXPECT_NEAR(g[k], g_chunks[k], 1e-9 * std::max(1.0, std::abs(g[k]))) << k;
}

TEST(MbgNbdTest, RejectsBadSamples) {
  EXPECT_EQ(FitMbgNbd({}).error().code(), ErrorCode::kInvalidArgument);
  const std::vector<PurchaseSummary> t_x_after_T{{1, 2, 30}, {2, 5, 4}};
  EXPECT_EQ(FitMbgNbd(t_x_after_T).error().code(), ErrorCode::kInvalidArgument);
  const std::vector<PurchaseSummary> zero_weight{{1, 2, 30}, {2, 3, 4, 0}};
  EXPECT_EQ(FitMbgNbd(zero_weight).error().code(), ErrorCode::kInvalidArgument);
  const std::vector<PurchaseSummary> recency_without_purchases{{0, 2, 30}};
  EXPECT_EQ(FitMbgNbd(recency_without_purchases).error().code(), ErrorCode::kInvalidArgument);
}

TEST(MbgNbdTest, OneTimeBuyersMayBeGone) {
  const double p0 = MbgNbdPAlive(kCdnow, {0, 0, 38.86});
  EXPECT_LT(p0, 1.0);
  EXPECT_NEAR(
      p0, 1 / (1 + kCdnow.a / kCdnow.b * std::pow((kCdnow.alpha + 38.86) / kCdnow.alpha, kCdnow.r)),
      1e-15);
  EXPECT_LT(MbgNbdPAlive(kCdnow, {5, 10, 38}), MbgNbdPAlive(kCdnow, {5, 37, 38}));
  EXPECT_EQ(MbgNbdPAlive(kCdnow, {1000, 10, 100}), 0.0);  // no overflow
  EXPECT_TRUE(std::isnan(MbgNbdPAlive(kCdnow, {1, 3, 2})));
}

// Batislam et al. (2007) as implemented by lifetimes, with Hyp2F1.
double ClosedFormExpected(const MbgNbdParams& p, const PurchaseSummary& s, double t) {
  const double z = t / (p.alpha + s.T + t);
  const double bracket = 1 - std::pow((p.alpha + s.T) / (p.alpha + s.T + t), p.r + s.x) *
                                 Hyp2F1(p.r + s.x, p.b + s.x + 1, p.a + p.b + s.x, z);
  return (p.a + p.b + s.x) / (p.a - 1) * bracket * MbgNbdPAlive(p, s);
}

TEST(MbgNbdTest, ExpectedPurchasesAgreeWithTheClosedForms) {
  const PurchaseSummary histories[] = {
      {0, 0, 38.86}, {2, 30.43, 38.86}, {1, 1.71, 38.86}, {29, 37.0, 38.0}, {50, 20, 60}};
  const MbgNbdParams params[] = {kCdnow, {1.3, 12.0, 2.5, 0.6}, {0.1, 0.5, 0.3, 0.4}};
  for (const MbgNbdParams& p : params) {
    for (const PurchaseSummary& s : histories) {
      for (double t : {0.1, 1.0, 13.0, 39.0, 52.0, 200.0}) {
        const double want = ClosedFormExpected(p, s, t);
        EXPECT_NEAR(MbgNbdExpectedPurchases(p, s, t), want, 1e-10 * want) << s.x << " " << t;
      }
    }
    for (double t : {0.5, 10.0, 39.0, 78.0, 520.0}) {
      const double want = p.b / (p.a - 1) *
                          (1 - std::pow(p.alpha / (p.alpha + t), p.r) *
                                   Hyp2F1(p.r, p.b + 1, p.a + p.b, t / (p.alpha + t)));
      EXPECT_NEAR(MbgNbdExpectedPurchasesNew(p, t), want, 1e-10 * want) << t;
    }
  }
  // Customer 1 of CDNOW at the MBG/NBD estimates.
  EXPECT_NEAR(MbgNbdExpectedPurchases(kCdnow, {2, 30.43, 38.86}, 39), 1.2627, 0.0005);
}

TEST(MbgNbdTest, PurchaseProbabilitiesSumToOneWithTheExpectedMean) {
  for (double t : {1.0, 39.0, 78.0, 520.0}) {
    double total = 0, mean = 0;
    for (int n = 0; n <= 6000; ++n) {
      const double q = MbgNbdProbPurchases(kCdnow, t, n);
      ASSERT_GE(q, 0);
      total += q;
      mean += n * q;
    }
    EXPECT_NEAR(total, 1, 1e-10) << t;
    const double e = MbgNbdExpectedPurchasesNew(kCdnow, t);
    EXPECT_NEAR(mean, e, 1e-8 * e) << t;
  }
  EXPECT_EQ(MbgNbdProbPurchases(kCdnow, 0, 0), 1.0);
  EXPECT_EQ(MbgNbdProbPurchases(kCdnow, 0, 2), 0.0);
  EXPECT_EQ(MbgNbdProbPurchases(kCdnow, 5, -1), 0.0);
  // Those gone right after the first purchase never buy again.
  EXPECT_GT(MbgNbdProbPurchases(kCdnow, 1e6, 0), kCdnow.a / (kCdnow.a + kCdnow.b));
}

TEST(MbgNbdTest, PredictionsMatchASimulation) {
  // 200,000 customers simulated from the model, each observed for T = 39 weeks after the first
  // purchase and then for t = 26 more.
  const MbgNbdParams p = kCdnow;
  const double observed = 39, ahead = 26;  // T and t
  const int customers = 200000;
  std::mt19937_64 rng(2024);
  std::gamma_distribution<double> rate(p.r, 1 / p.alpha), ga(p.a, 1), gb(p.b, 1);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::vector<int> count(8, 0);
  double sum_x = 0, holdout_zero = 0, holdout_zero_sq = 0;
  int zeros = 0;
  for (int i = 0; i < customers; ++i) {
    const double lambda = rate(rng);
    const double u = ga(rng), v = gb(rng);
    const double dropout = u / (u + v);
    bool alive = uniform(rng) >= dropout;  // the chance to drop out right after the first purchase
    double time = 0;
    int x = 0, holdout = 0;
    while (alive) {
      time += -std::log(1 - uniform(rng)) / lambda;
      if (time > observed + ahead) break;
      (time <= observed ? x : holdout) += 1;
      alive = uniform(rng) >= dropout;
    }
    if (x < 8) ++count[x];
    sum_x += x;
    if (x == 0) {
      ++zeros;
      holdout_zero += holdout;
      holdout_zero_sq += static_cast<double>(holdout) * holdout;
    }
  }
  for (int n = 0; n < 8; ++n) {
    const double q = MbgNbdProbPurchases(p, observed, n);
    const double se = std::sqrt(q * (1 - q) / customers);
    EXPECT_NEAR(static_cast<double>(count[n]) / customers, q, 5 * se) << n;
  }
  EXPECT_NEAR(sum_x / customers, MbgNbdExpectedPurchasesNew(p, observed), 0.02);
  // One-time buyers: x = 0 and t_x = 0 is their whole history.
  const double mean = holdout_zero / zeros;
  const double se = std::sqrt((holdout_zero_sq / zeros - mean * mean) / zeros);
  EXPECT_NEAR(mean, MbgNbdExpectedPurchases(p, {0, 0, observed}, ahead), 5 * se);
}

TEST(MbgNbdTest, PredictionsAreNaNForBadInput) {
  EXPECT_TRUE(std::isnan(MbgNbdExpectedPurchases({0, 1, 1, 1}, {1, 1, 2}, 1)));
  EXPECT_TRUE(
      std::isnan(MbgNbdExpectedPurchases(kCdnow, {0, 1, 2}, 1)));  // t_x > 0 without purchases
  EXPECT_TRUE(std::isnan(MbgNbdExpectedPurchases(kCdnow, {1, 1, 2}, -1)));
  EXPECT_TRUE(std::isnan(MbgNbdExpectedPurchasesNew({1, 1, 1, -1}, 1)));
  EXPECT_TRUE(std::isnan(MbgNbdProbPurchases({1, 1, 1, 0}, 1, 1)));
  EXPECT_TRUE(std::isnan(MbgNbdProbPurchases(kCdnow, std::numeric_limits<double>::infinity(), 1)));
}

}  // namespace
}  // namespace treu
