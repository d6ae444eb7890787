#include "models/bgnbd.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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

// The distinct histories of a sample, each with its number of customers.
std::vector<PurchaseSummary> Compress(const std::vector<PurchaseSummary>& data) {
  std::map<std::tuple<double, double, double>, double> counts;
  for (const PurchaseSummary& s : data) counts[{s.x, s.t_x, s.T}] += s.n;
  std::vector<PurchaseSummary> out;
  for (const auto& [key, n] : counts)
    out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), n});
  return out;
}

// Customers simulated from the BG/NBD: first purchases spread uniformly over the first 12
// weeks, the calibration period ends at week 39. With `in_days`, purchase times are whole days
// (expressed in weeks) and same-day purchases merge, as in the platform's summaries; otherwise
// times are exact.
std::vector<PurchaseSummary> SimulateBgNbd(const BgNbdParams& p, int customers, std::uint64_t seed,
                                           bool in_days) {
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> rate(p.r, 1 / p.alpha), ga(p.a, 1), gb(p.b, 1);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::vector<PurchaseSummary> out;
  out.reserve(customers);
  for (int i = 0; i < customers; ++i) {
    const double first = in_days ? std::floor(84 * uniform(rng)) / 7 : 12 * uniform(rng);
    const double age = 39 - first - (in_days ? 1.0 / 7 : 0);  // T; in days the last day is 272
    const double lambda = rate(rng);
    const double u = ga(rng), v = gb(rng);
    const double dropout = u / (u + v);
    double time = 0, x = 0, t_x = 0;
    while (lambda > 0) {
      time += -std::log(1 - uniform(rng)) / lambda;
      const double at = in_days ? std::floor(7 * time) / 7 : time;
      if (at > age) break;
      if (at > t_x) {
        x += 1;
        t_x = at;
      }
      if (uniform(rng) < dropout) break;
    }
    out.push_back({x, t_x, age});
  }
  return out;
}

// Published full-precision CDNOW estimates (Fader, Hardie & Lee 2005; BTYD walkthrough).
const BgNbdParams kCdnow{0.2425982, 4.4136842, 0.7929899, 2.4261667};

TEST(BgNbdTest, FitsTheCdnowSampleAsPublished) {
  const auto data = testdata::CdnowSummaries();
  ASSERT_EQ(data.size(), 2357u);
  const BgNbdFit fit = FitBgNbd(data).value();
  // Fader, Hardie & Lee (2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4.
  EXPECT_NEAR(fit.params.r, 0.243, 0.0005);
  EXPECT_NEAR(fit.params.alpha, 4.414, 0.0005);
  EXPECT_NEAR(fit.params.a, 0.793, 0.0005);
  EXPECT_NEAR(fit.params.b, 2.426, 0.0005);
  // −9582.429 in the BTYD walkthrough; this file's times, rounded to 0.01 week, give −9582.4256
  // (also at the published full-precision estimates).
  EXPECT_NEAR(fit.log_likelihood, -9582.429, 0.005);
  EXPECT_DOUBLE_EQ(fit.log_likelihood, BgNbdLogLikelihood(fit.params, data));
  for (double se : fit.std_errors) {
    EXPECT_GT(se, 0);
    EXPECT_LT(se, 1.0);
  }
  EXPECT_GT(fit.evaluations, 0);
  // A customer who bought often but not lately is less likely alive than one who just did.
  const PurchaseSummary stale{5, 10, 38}, fresh{5, 37, 38};
  EXPECT_LT(BgNbdPAlive(fit.params, stale), BgNbdPAlive(fit.params, fresh));
  EXPECT_EQ(BgNbdPAlive(fit.params, {0, 0, 38}), 1.0);
}

TEST(BgNbdTest, GradientMatchesFiniteDifferences) {
  auto data = testdata::CdnowSummaries();
  data.resize(300);
  for (std::size_t i = 0; i < data.size(); ++i) data[i].n = 1 + static_cast<double>(i % 4) / 2;
  const BgNbdParams p{0.3, 5.0, 0.7, 2.1};
  std::array<double, 4> g{};
  const double ll = BgNbdLogLikelihood(p, data, &g);
  EXPECT_DOUBLE_EQ(ll, BgNbdLogLikelihood(p, data));
  for (int i = 0; i < 4; ++i) {
    auto at = [&](double f) {
      BgNbdParams q = p;
      double* v[] = {&q.r, &q.alpha, &q.a, &q.b};
      *v[i] *= std::exp(f);  // a step in the log-parameter
      return BgNbdLogLikelihood(q, data);
    };
    const double h = 1e-5;
    EXPECT_NEAR(g[i], (at(h) - at(-h)) / (2 * h), 1e-6 * std::max(1.0, std::abs(g[i]))) << i;
  }
}

TEST(BgNbdTest, WeightedSampleEqualsExpandedSample) {
  const auto data = testdata::CdnowSummaries();
  const auto compressed = Compress(data);
  ASSERT_LT(compressed.size(), data.size());
  const BgNbdParams p{0.3, 5.0, 0.7, 2.1};
  std::array<double, 4> g_full{}, g_weighted{};
  const double ll_full = BgNbdLogLikelihood(p, data, &g_full);
  const double ll_weighted = BgNbdLogLikelihood(p, compressed, &g_weighted);
  EXPECT_NEAR(ll_weighted, ll_full, 1e-12 * std::abs(ll_full));
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(g_weighted[i], g_full[i], 1e-9 * std::max(1.0, std::abs(g_full[i])));
  // Weight 2 on every history is the sample twice over.
  auto doubled = data, weighted = data;
  doubled.insert(doubled.end(), data.begin(), data.end());
  for (PurchaseSummary& s : weighted) s.n = 2;
  EXPECT_NEAR(BgNbdLogLikelihood(p, weighted), BgNbdLogLikelihood(p, doubled),
              1e-12 * std::abs(2 * ll_full));
  const BgNbdFit a = FitBgNbd(data).value(), b = FitBgNbd(compressed).value();
  EXPECT_NEAR(b.params.r, a.params.r, 1e-6 * a.params.r);
  EXPECT_NEAR(b.params.alpha, a.params.alpha, 1e-6 * a.params.alpha);
  EXPECT_NEAR(b.params.a, a.params.a, 1e-6 * a.params.a);
  EXPECT_NEAR(b.params.b, a.params.b, 1e-6 * a.params.b);
  EXPECT_NEAR(b.log_likelihood, a.log_likelihood, 1e-9 * std::abs(a.log_likelihood));
}

TEST(BgNbdTest, RecoversSimulatedParametersFromALargeSample) {
  // 200,000 customers with exact times: the fit takes the subsample-then-polish path.
  const auto data = SimulateBgNbd(kCdnow, 200000, 7, /*in_days=*/false);
  const BgNbdFit fit = FitBgNbd(data).value();
  const double truth[] = {kCdnow.r, kCdnow.alpha, kCdnow.a, kCdnow.b};
  const double got[] = {fit.params.r, fit.params.alpha, fit.params.a, fit.params.b};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(got[i], truth[i], 4 * fit.std_errors[i]) << i;
  // Deterministic to the bit.
  const BgNbdFit again = FitBgNbd(data).value();
  EXPECT_EQ(again.params.r, fit.params.r);
  EXPECT_EQ(again.params.alpha, fit.params.alpha);
  EXPECT_EQ(again.params.a, fit.params.a);
  EXPECT_EQ(again.params.b, fit.params.b);
  EXPECT_EQ(again.log_likelihood, fit.log_likelihood);
}

TEST(BgNbdTest, LargeDaySampleFitsTheSameWhenCompressed) {
  // Whole days: 300,000 customers have far fewer distinct histories. The expanded sample takes
  // the two-thread, subsample-then-polish path, the compressed one neither.
  const auto data = SimulateBgNbd(kCdnow, 300000, 11, /*in_days=*/true);
  const auto compressed = Compress(data);
  ASSERT_LT(compressed.size(), 100000u);
  const BgNbdParams p{0.25, 4.5, 0.8, 2.4};
  std::array<double, 4> g_full{}, g_weighted{};
  const double ll_full = BgNbdLogLikelihood(p, data, &g_full);
  EXPECT_NEAR(BgNbdLogLikelihood(p, compressed, &g_weighted), ll_full, 1e-12 * std::abs(ll_full));
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(g_weighted[i], g_full[i], 1e-8 * std::max(1.0, std::abs(g_full[i])));
  const BgNbdFit a = FitBgNbd(data).value(), b = FitBgNbd(compressed).value();
  EXPECT_NEAR(b.params.r, a.params.r, 1e-5 * a.params.r);
  EXPECT_NEAR(b.params.alpha, a.params.alpha, 1e-5 * a.params.alpha);
  EXPECT_NEAR(b.params.a, a.params.a, 1e-5 * a.params.a);
  EXPECT_NEAR(b.params.b, a.params.b, 1e-5 * a.params.b);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(b.std_errors[i], a.std_errors[i], 1e-3 * a.std_errors[i]);
}

TEST(BgNbdTest, ExactTimesGiveTheSameLikelihoodAsSmallChunks) {
  // Exact times hardly repeat, so the whole sample is evaluated history by history, while
  // chunks of 1,000 histories go through the tables of distinct values: the sums must agree.
  const auto data = SimulateBgNbd(kCdnow, 20000, 3, /*in_days=*/false);
  const BgNbdParams p{0.3, 5.0, 0.7, 2.1};
  std::array<double, 4> g{}, g_chunks{};
  const double ll = BgNbdLogLikelihood(p, data, &g);
  double ll_chunks = 0;
  for (std::size_t i = 0; i < data.size(); i += 1000) {
    std::array<double, 4> gc{};
    ll_chunks += BgNbdLogLikelihood(p, std::span(data).subspan(i, 1000), &gc);
    for (int k = 0; k < 4; ++k) g_chunks[k] += gc[k];
  }
  EXPECT_NEAR(ll, ll_chunks, 1e-12 * std::abs(ll));
  for (int k = 0; k < 4; ++k)
    EXPECT_NEAR(g[k], g_chunks[k], 1e-9 * std::max(1.0, std::abs(g[k]))) << k;
  for (int i = 0; i < 4; ++i) {
    auto at = [&](double f) {
      BgNbdParams q = p;
      double* v[] = {&q.r, &q.alpha, &q.a, &q.b};
      *v[i] *= std::exp(f);
      return BgNbdLogLikelihood(q, data);
    };
    const double h = 1e-5;  // rounding in the difference is ~1e-16 |ll| / h
    EXPECT_NEAR(g[i], (at(h) - at(-h)) / (2 * h),
                1e-6 * std::max(1.0, std::abs(g[i])) + 1e-9 * std::abs(ll))
        << i;
  }
}

TEST(BgNbdTest, RejectsBadSamples) {
  EXPECT_EQ(FitBgNbd({}).error().code(), ErrorCode::kInvalidArgument);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const PurchaseSummary bad[] = {
      {2, 5, 4},       // t_x > T
      {-1, 0, 4},      // x < 0
      {2, 0, 4},       // x > 0 but t_x = 0
      {0, 1, 4},       // x = 0 but t_x > 0
      {1, 1, inf},     // T not finite
      {nan, 1, 4},     // x not a number
      {1, 1, 4, 0},    // zero weight
      {1, 1, 4, -2},   // negative weight
      {1, 1, 4, nan},  // weight not a number
      {1, 1, 4, inf},  // infinite weight
  };
  for (const PurchaseSummary& b : bad) {
    const std::vector<PurchaseSummary> sample{{1, 2, 30}, b};
    const auto fit = FitBgNbd(sample);
    ASSERT_FALSE(fit.has_value()) << b.x << " " << b.t_x << " " << b.T << " " << b.n;
    EXPECT_EQ(fit.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(fit.error().context(), "data[1]");
  }
}

TEST(BgNbdTest, ExpectedPurchasesOfCustomerOneAsInHardiesNote) {
  // Customer 1 of CDNOW: x = 2, t_x = 30.43, T = 38.86; E[X(39)] = 1.226 (Hardie's note 004).
  EXPECT_NEAR(BgNbdExpectedPurchases(kCdnow, {2, 30.43, 38.86}, 39), 1.226, 0.0005);
}

// FHL (2005) eq. 10 as printed, with Hyp2F1.
double Equation10(const BgNbdParams& p, const PurchaseSummary& s, double t) {
  const double z = t / (p.alpha + s.T + t);
  const double bracket = 1 - std::pow((p.alpha + s.T) / (p.alpha + s.T + t), p.r + s.x) *
                                 Hyp2F1(p.r + s.x, p.b + s.x, p.a + p.b + s.x - 1, z);
  return (p.a + p.b + s.x - 1) / (p.a - 1) * bracket * BgNbdPAlive(p, s);
}

TEST(BgNbdTest, ExpectedPurchasesAgreeWithEquation10) {
  const PurchaseSummary histories[] = {{0, 0, 38.86}, {2, 30.43, 38.86}, {1, 1.71, 38.86},
                                       {7, 29.5, 32}, {29, 37.0, 38.0},  {50, 20, 60},
                                       {3, 0.5, 1}};
  const BgNbdParams params[] = {kCdnow, {1.3, 12.0, 2.5, 0.6}, {0.1, 0.5, 0.3, 0.4}};
  for (const BgNbdParams& p : params) {
    for (const PurchaseSummary& s : histories) {
      for (double t : {0.1, 1.0, 13.0, 39.0, 52.0, 200.0}) {
        if (p.a + p.b + s.x - 1 <= 0) {  // outside Hyp2F1's domain (c <= 0); the series is fine
          EXPECT_GT(BgNbdExpectedPurchases(p, s, t), 0);
          continue;
        }
        const double want = Equation10(p, s, t);
        EXPECT_NEAR(BgNbdExpectedPurchases(p, s, t), want, 1e-10 * want) << s.x << " " << t;
      }
    }
  }
  EXPECT_EQ(BgNbdExpectedPurchases(kCdnow, {2, 30.43, 38.86}, 0), 0.0);
}

TEST(BgNbdTest, ExpectedPurchasesAreSmoothAtAEqualToOne) {
  // Eq. 9 and 10 divide by a − 1; the series has no such singularity.
  const PurchaseSummary s{3, 20, 38};
  BgNbdParams p = kCdnow;
  const auto at = [&](double a) {
    p.a = a;
    return std::pair(BgNbdExpectedPurchases(p, s, 39), BgNbdExpectedPurchasesNew(p, 39));
  };
  const auto [below_c, below_n] = at(1 - 1e-6);
  const auto [one_c, one_n] = at(1);
  const auto [above_c, above_n] = at(1 + 1e-6);
  EXPECT_TRUE(std::isfinite(one_c) && std::isfinite(one_n));
  EXPECT_NEAR(one_c, (below_c + above_c) / 2, 1e-10 * one_c);
  EXPECT_NEAR(one_n, (below_n + above_n) / 2, 1e-10 * one_n);
  EXPECT_GT(below_c, one_c);  // a larger a means more drop-outs, fewer purchases
  EXPECT_GT(one_c, above_c);
}

TEST(BgNbdTest, ExpectedPurchasesOfANewCustomerAsInHardiesSpreadsheet) {
  // Hardie's spreadsheet values of E[X(t)] at the CDNOW estimates (as used in lifetimes' tests;
  // the last differs by 3.4e-4 from eq. 9 at the published estimates, checked below).
  const double times[] = {0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00};
  const double expected[] = {0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576};
  for (int i = 0; i < 6; ++i)
    EXPECT_NEAR(BgNbdExpectedPurchasesNew(kCdnow, times[i]), expected[i], 5e-4) << times[i];
  // And FHL eq. 9 with Hyp2F1.
  for (double t : {0.5, 10.0, 39.0, 78.0, 520.0}) {
    const BgNbdParams& p = kCdnow;
    const double eq9 = (p.a + p.b - 1) / (p.a - 1) *
                       (1 - std::pow(p.alpha / (p.alpha + t), p.r) *
                                Hyp2F1(p.r, p.b, p.a + p.b - 1, t / (p.alpha + t)));
    EXPECT_NEAR(BgNbdExpectedPurchasesNew(p, t), eq9, 1e-11 * eq9) << t;
  }
}

TEST(BgNbdTest, PurchaseProbabilitiesAsInBtyd) {
  // BTYD's bgnbd.pmf at the rounded CDNOW estimates (as used in lifetimes' tests).
  const BgNbdParams p{0.243, 4.414, 0.793, 2.426};
  EXPECT_NEAR(BgNbdProbPurchases(p, 2, 10), 1.07869e-07, 1e-12);
  EXPECT_NEAR(BgNbdProbPurchases(p, 39, 0), 0.5737864, 1e-7);
  const double pmf30[] = {0.0019995214, 0.0015170236, 0.0011633150, 0.0009003148, 0.0007023638,
                          0.0005517902, 0.0004361913, 0.0003467171, 0.0002769613, 0.0002222260};
  for (int n = 11; n <= 20; ++n)
    EXPECT_NEAR(BgNbdProbPurchases(p, 30, n), pmf30[n - 11], 1e-10) << n;
}

TEST(BgNbdTest, PurchaseProbabilitiesSumToOneWithTheExpectedMean) {
  for (double t : {1.0, 39.0, 78.0, 520.0}) {
    double total = 0, mean = 0;
    for (int n = 0; n <= 6000; ++n) {
      const double q = BgNbdProbPurchases(kCdnow, t, n);
      ASSERT_GE(q, 0);
      total += q;
      mean += n * q;
    }
    EXPECT_NEAR(total, 1, 1e-10) << t;
    const double e = BgNbdExpectedPurchasesNew(kCdnow, t);
    EXPECT_NEAR(mean, e, 1e-8 * e) << t;
  }
  EXPECT_EQ(BgNbdProbPurchases(kCdnow, 0, 0), 1.0);
  EXPECT_EQ(BgNbdProbPurchases(kCdnow, 0, 3), 0.0);
  EXPECT_EQ(BgNbdProbPurchases(kCdnow, 5, -1), 0.0);
}

// Customers who buy at regular intervals and don't differ in their drop-out: the maximum lies
// at a boundary (a, b → ∞ with a/(a+b) fixed), where the likelihood is flat to rounding and
// L-BFGS's line search gives up. The fit stops there and reports it, instead of failing.
TEST(BgNbdTest, FitsWhenTheMaximumLiesAtABoundary) {
  std::vector<PurchaseSummary> data;
  for (int i = 0; i < 300; ++i) {
    std::vector<int> days;
    for (int k = 0; k <= i % 5; ++k) {
      const int d = (i * 7 + k * (11 + i % 23)) % 360;
      days.push_back(30 * (d / 30) + d % 28);  // day of the year, as month and day of month
    }
    std::sort(days.begin(), days.end());
    days.erase(std::unique(days.begin(), days.end()), days.end());
    const double x = static_cast<double>(days.size() - 1);
    data.push_back({x, x > 0 ? (days.back() - days.front()) / 7.0 : 0, (365 - days.front()) / 7.0});
  }
  const auto fitted = FitBgNbd(data);
  ASSERT_TRUE(fitted.has_value()) << fitted.error().ToString();
  const BgNbdFit& fit = *fitted;
  EXPECT_GT(fit.params.a, 1e4);
  EXPECT_GT(fit.params.b, 1e4);
  EXPECT_NEAR(fit.params.a / (fit.params.a + fit.params.b), 0.3, 0.05);  // a fixed drop-out chance
  // No other point of a coarse grid around it is better.
  for (double f : {0.9, 1.1}) {
    for (int i = 0; i < 4; ++i) {
      BgNbdParams q = fit.params;
      double* v[] = {&q.r, &q.alpha, &q.a, &q.b};
      *v[i] *= f;
      EXPECT_LE(BgNbdLogLikelihood(q, data), fit.log_likelihood + 1e-6) << i << " " << f;
    }
  }
}

TEST(BgNbdTest, PredictionsAreNaNForBadInput) {
  EXPECT_TRUE(std::isnan(BgNbdExpectedPurchases({0, 1, 1, 1}, {1, 1, 2}, 1)));
  EXPECT_TRUE(std::isnan(BgNbdExpectedPurchases(kCdnow, {1, 3, 2}, 1)));  // t_x > T
  EXPECT_TRUE(std::isnan(BgNbdExpectedPurchases(kCdnow, {1, 1, 2}, -1)));
  EXPECT_TRUE(std::isnan(BgNbdExpectedPurchasesNew({1, -1, 1, 1}, 1)));
  EXPECT_TRUE(
      std::isnan(BgNbdExpectedPurchasesNew(kCdnow, std::numeric_limits<double>::quiet_NaN())));
  EXPECT_TRUE(std::isnan(BgNbdProbPurchases({1, 1, 0, 1}, 1, 1)));
  EXPECT_TRUE(std::isnan(BgNbdProbPurchases(kCdnow, -1, 1)));
}

}  // namespace
}  // namespace treu
