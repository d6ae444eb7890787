#include "models/pareto_nbd.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/math/special_functions/expm1.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <boost/math/special_functions/hypergeometric_pFq.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "models/cdnow_testdata.hpp"

namespace treu {
namespace {

using pareto_nbd_internal::LogHyp2F1;
using pareto_nbd_internal::LogHyp2F1APlusOne;

// The published estimates (Fader, Hardie & Lee 2005; BTYD walkthrough).
constexpr ParetoNbdParams kPublished{0.553, 10.578, 0.606, 11.669};

double BoostHyp2F1(double a, double b, double c, double z) {
  return boost::math::hypergeometric_pFq({a, b}, {c}, z);
}

// Draws n customers from the Pareto/NBD with the given parameters (times in weeks): first
// purchases on days spread uniformly over the first `cohort_weeks`, observed until
// `horizon_weeks` after the start of the cohort. With `whole_days`, repeat purchases are
// recorded on the day they fall in and purchases on the same day merge, as in real data
// (which biases the estimates slightly: on a million customers β comes out several standard
// errors high); otherwise times are exact.
std::vector<PurchaseSummary> Simulate(const ParetoNbdParams& p, int n, double cohort_weeks,
                                      double horizon_weeks, bool whole_days, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> lambda_dist(p.r, 1 / p.alpha), mu_dist(p.s, 1 / p.beta);
  std::uniform_int_distribution<int> first_day(0, static_cast<int>(cohort_weeks * 7) - 1);
  std::vector<PurchaseSummary> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    const double lambda = lambda_dist(rng), mu = mu_dist(rng);
    const double observed = horizon_weeks - first_day(rng) / 7.0;
    const double death = std::exponential_distribution<double>(mu)(rng);
    const double end = std::min(observed, death);
    std::exponential_distribution<double> gap(lambda);
    double t = 0, last = 0;
    int x = 0;
    while (true) {
      t += gap(rng);
      if (!(t <= end)) break;
      const double when = whole_days ? std::floor(t * 7) / 7 : t;
      if (when > last) {
        ++x;
        last = when;
      }
    }
    out.push_back({double(x), x > 0 ? last : 0, observed, 1});
  }
  return out;
}

TEST(ParetoNbdTest, FitsTheCdnowSampleAsPublished) {
  const auto data = testdata::CdnowSummaries();
  ASSERT_EQ(data.size(), 2357u);
  const auto start = std::chrono::steady_clock::now();
  const ParetoNbdFit fit = FitParetoNbd(data).value();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "CDNOW Pareto/NBD: r=%.6f alpha=%.6f s=%.6f beta=%.6f LL=%.6f SE=(%.4f %.4f %.4f %.4f) "
      "evaluations=%d, %.1f ms\n",
      fit.params.r, fit.params.alpha, fit.params.s, fit.params.beta, fit.log_likelihood,
      fit.std_errors[0], fit.std_errors[1], fit.std_errors[2], fit.std_errors[3], fit.evaluations,
      ms);
  // Published: r = 0.553, α = 10.578, s = 0.606, β = 11.669, LL = −9594.976 (BTYD: β =
  // 11.656). The likelihood is flat along a ridge in (s, β) (SE of β ≈ 6), so optimisers stop
  // at slightly different points: parameters within 0.2 % (r, α) and 0.5 % (s, β).
  EXPECT_NEAR(fit.params.r, 0.553, 0.002 * 0.553);
  EXPECT_NEAR(fit.params.alpha, 10.578, 0.002 * 10.578);
  EXPECT_NEAR(fit.params.s, 0.606, 0.005 * 0.606);
  EXPECT_NEAR(fit.params.beta, 11.669, 0.005 * 11.669);
  EXPECT_NEAR(fit.log_likelihood, -9594.976, 0.01);
  // The maximum is at least the likelihood at the (rounded) published estimates.
  EXPECT_GE(fit.log_likelihood, ParetoNbdLogLikelihood(kPublished, data) - 1e-9);
  for (double se : fit.std_errors) {
    EXPECT_GT(se, 0);
    EXPECT_LT(se, 20.0);
  }
}

TEST(ParetoNbdTest, LogLikelihoodMatchesAnIndependentEvaluation) {
  // The Fader & Hardie likelihood summed over the CDNOW sample at the published parameters in
  // 30-digit arithmetic (mpmath, hyp2f1): −9594.9740100409766.
  EXPECT_NEAR(ParetoNbdLogLikelihood(kPublished, testdata::CdnowSummaries()), -9594.9740100409766, 1e-8);
}

TEST(ParetoNbdTest, GradientMatchesFiniteDifferences) {
  const auto all = testdata::CdnowSummaries();
  std::vector<PurchaseSummary> data(all.begin(), all.begin() + 300);
  data.push_back({3, 20.0, 20.0, 2.5});  // t_x = T, weighted
  data.push_back({40, 5.0, 38.0, 1});    // large x, early last purchase
  const ParetoNbdParams points[] = {
      {0.3, 5.0, 0.7, 2.1},            // α > β
      {0.553, 10.578, 0.606, 11.669},  // α < β, near the optimum
      {1.7, 2.0, 2.5, 40.0},           // α ≪ β: z up to 0.95, the quadrature fallback
      {0.8, 60.0, 0.4, 3.0},           // α ≫ β: z up to 0.95, the quadrature fallback
      {0.5, 7.0, 0.9, 7.0},            // α = β
  };
  for (const ParetoNbdParams& p : points) {
    std::array<double, 4> g{};
    ParetoNbdLogLikelihood(p, data, &g);
    for (int i = 0; i < 4; ++i) {
      auto at = [&](double f) {
        ParetoNbdParams q = p;
        double* v[] = {&q.r, &q.alpha, &q.s, &q.beta};
        *v[i] *= std::exp(f);  // a step in the log-parameter
        return ParetoNbdLogLikelihood(q, data);
      };
      const double h = 1e-5;
      const double fd = (at(h) - at(-h)) / (2 * h);
      EXPECT_NEAR(g[i], fd, 1e-5 * std::max(1.0, std::abs(g[i])))
          << "param " << i << " at α=" << p.alpha << " β=" << p.beta;
    }
  }
}

TEST(ParetoNbdTest, WeightsAreRepeatedRecords) {
  const std::vector<PurchaseSummary> weighted{
      {0, 0, 30, 3}, {2, 10.5, 33, 2}, {7, 25, 25, 1}, {1, 3, 38, 4}};
  std::vector<PurchaseSummary> expanded;
  for (const PurchaseSummary& s : weighted) {
    for (int k = 0; k < s.n; ++k) expanded.push_back({s.x, s.t_x, s.T, 1});
  }
  std::reverse(expanded.begin(), expanded.end());
  for (const ParetoNbdParams& p : {kPublished, ParetoNbdParams{0.3, 5.0, 0.7, 2.1}}) {
    std::array<double, 4> gw{}, ge{};
    const double lw = ParetoNbdLogLikelihood(p, weighted, &gw);
    const double le = ParetoNbdLogLikelihood(p, expanded, &ge);
    EXPECT_NEAR(lw, le, 1e-12 * std::abs(le));
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(gw[i], ge[i], 1e-10 * std::max(1.0, std::abs(ge[i])));
    // And the log-likelihood is the weighted sum of one-customer log-likelihoods.
    double sum = 0;
    for (const PurchaseSummary& s : weighted) {
      const PurchaseSummary one{s.x, s.t_x, s.T, 1};
      sum += s.n * ParetoNbdLogLikelihood(p, std::span(&one, 1));
    }
    EXPECT_NEAR(lw, sum, 1e-12 * std::abs(sum));
  }
}

TEST(ParetoNbdTest, Hyp2F1MatchesBoost) {
  const double as[] = {0.05, 0.3, 1.2, 5.5, 40.7, 300.5};
  const double bs[] = {0.2, 1.0, 1.6, 7.3, 30.2, 250.3};
  const double zs[] = {-0.9, -0.5, -0.1, -1e-3, 0, 1e-3, 0.1, 0.5, 0.8, 0.9, 0.92, 0.95, 0.99};
  int compared = 0;
  for (double a : as) {
    for (double b : bs) {
      for (double z : zs) {
        double want = 0, boost_error = 0;
        try {
          want = boost::math::hypergeometric_pFq({a, b}, {a + 1}, z, &boost_error);
        } catch (const std::exception&) {
          continue;  // Boost gives up (cancellation of its series at z < 0)
        }
        if (boost_error > 1e-15 * std::abs(want)) continue;  // Boost unsure of its digits
        const LogHyp2F1 got = LogHyp2F1APlusOne(a, b, z);
        if (std::abs(z) <= 0.5 && b < 100) {
          EXPECT_FALSE(got.quadrature);
        }
        EXPECT_NEAR(std::exp(got.value - std::log(want)), 1.0, 1e-12) << a << " " << b << " " << z;
        ++compared;
        // Derivatives against central differences of Boost.
        const double h = 1e-5;
        auto log_f = [](double a_, double b_, double z_) {
          return std::log(BoostHyp2F1(a_, b_, a_ + 1, z_));
        };
        const double d_a = (log_f(a * (1 + h), b, z) - log_f(a * (1 - h), b, z)) / (2 * h * a);
        const double d_b = (log_f(a, b * (1 + h), z) - log_f(a, b * (1 - h), z)) / (2 * h * b);
        const double hz = h * (1 - std::abs(z)) / (1 + b / 10);  // ln F is ~b-times as curved in z
        const double d_z = (log_f(a, b, z + hz) - log_f(a, b, z - hz)) / (2 * hz);
        EXPECT_NEAR(got.d_a, d_a, 1e-7 * std::max(1.0, std::abs(d_a))) << a << " " << b << " " << z;
        EXPECT_NEAR(got.d_b, d_b, 1e-7 * std::max(1.0, std::abs(d_b))) << a << " " << b << " " << z;
        EXPECT_NEAR(got.d_z, d_z, 1e-7 * std::max(1.0, std::abs(d_z))) << a << " " << b << " " << z;
      }
    }
  }
  std::printf("compared with Boost at %d points (a, b, z)\n", compared);
  EXPECT_GT(compared, 300);
}

TEST(ParetoNbdTest, Hyp2F1FarFromTheSeriesRegion) {
  // 40-digit values from mpmath's hyp2f1, where Boost's series is itself ~1e-12 off (z → 1),
  // gives up (z < 0 with large b: cancellation) or diverges (z < −1).
  struct Case {
    double a, b, z, value;
  };
  const Case cases[] = {
      {0.3, 30.2, 0.9999, 6.4831028738642954057e+114}, {5.5, 7.3, 0.9999, 1.383657799042669604e+25},
      {1.2, 1.6, 0.9999, 499.71708907862443146},       {0.3, 7.3, 0.999, 378680248157954989.25},
      {5.5, 250.3, -0.9, 3.5531752850048069905e-11},   {0.3, 30.2, -3, 0.23372813775316559757},
      {40.7, 7.3, -8, 1.285830281392379355e-7},        {1.2, 1.6, -20, 0.050809624976028447723},
      {300.5, 250.3, 0.8, 2.0740027841170773793e+174}, {2.5, 250.3, 0.5, 2.2202374725492664455e+73},
  };
  for (const Case& c : cases) {
    const LogHyp2F1 got = LogHyp2F1APlusOne(c.a, c.b, c.z);
    EXPECT_NEAR(std::exp(got.value - std::log(c.value)), 1.0, 1e-12)
        << c.a << " " << c.b << " " << c.z;
  }
  // Near z = 1 the connection formula to 1 - z serves where no two digits cancel.
  EXPECT_FALSE(LogHyp2F1APlusOne(1.2, 1.6, 0.9999).quadrature);
  EXPECT_FALSE(LogHyp2F1APlusOne(5.5, 7.3, 0.9999).quadrature);
  EXPECT_TRUE(LogHyp2F1APlusOne(1.2, 1.6, -20).quadrature);
  EXPECT_FALSE(LogHyp2F1APlusOne(0.3, 30.2, -3).quadrature);
  EXPECT_TRUE(std::isnan(LogHyp2F1APlusOne(1, 1, 1).value));
  EXPECT_TRUE(std::isnan(LogHyp2F1APlusOne(-1, 1, 0.5).value));
}

TEST(ParetoNbdTest, PAliveAndExpectations) {
  // Customer 1 of CDNOW (x = 2, t_x = 30.43, T = 38.86) at the published parameters, from the
  // Fader & Hardie expressions in 30-digit arithmetic (mpmath).
  const PurchaseSummary c1{2, 30.43, 38.86};
  EXPECT_NEAR(ParetoNbdPAlive(kPublished, c1), 0.86916755915301119, 1e-12);
  EXPECT_NEAR(ParetoNbdExpectedPurchases(kPublished, c1, 39), 1.4551231932576024, 1e-11);
  EXPECT_NEAR(ParetoNbdExpectedPurchasesNew(kPublished, 39), 1.2130028442810157, 1e-12);

  // P(alive) falls as the last purchase recedes, and is 1 right after a purchase.
  double previous = 1.0 + 1e-15;
  for (double t_x = 38.86; t_x > 0.5; t_x -= 1.0) {
    const double pa = ParetoNbdPAlive(kPublished, {5, t_x, 38.86});
    EXPECT_LT(pa, previous);
    previous = pa;
  }
  EXPECT_DOUBLE_EQ(ParetoNbdPAlive(kPublished, {5, 38.86, 38.86}), 1.0);
  EXPECT_DOUBLE_EQ(ParetoNbdPAlive(kPublished, {0, 0, 0}), 1.0);
  // A one-time buyer observed for long is probably gone, unlike BG/NBD's P(alive) = 1.
  EXPECT_LT(ParetoNbdPAlive(kPublished, {0, 0, 38}), 0.7);

  // A customer just acquired (x = 0, T → 0) expects what a new customer expects.
  for (const ParetoNbdParams& p :
       {kPublished, ParetoNbdParams{0.3, 5.0, 1.0, 2.1}, ParetoNbdParams{2, 3, 4, 5}}) {
    for (double t : {1.0, 39.0, 200.0}) {
      EXPECT_NEAR(ParetoNbdExpectedPurchases(p, {0, 0, 1e-9}, t),
                  ParetoNbdExpectedPurchasesNew(p, t), 1e-8);
      EXPECT_DOUBLE_EQ(ParetoNbdExpectedPurchases(p, {0, 0, 0}, t),
                       ParetoNbdExpectedPurchasesNew(p, t));
    }
  }
  // s = 1 is the limit ln(1 + t/β) of the general expression.
  EXPECT_NEAR(ParetoNbdExpectedPurchasesNew({0.5, 4, 1, 8}, 10), 0.5 / 4 * 8 * std::log1p(10.0 / 8),
              1e-15);
  EXPECT_NEAR(ParetoNbdExpectedPurchasesNew({0.5, 4, 1 + 1e-9, 8}, 10),
              0.5 / 4 * 8 * std::log1p(10.0 / 8), 1e-9);
  EXPECT_EQ(ParetoNbdExpectedPurchasesNew(kPublished, 0), 0.0);
}

// P(X(t) = x) by the closed form of Fader & Hardie's note, with Boost's 2F1:
//   NBD(x) (β/(β+t))^s + α^r β^s B(r+x, s+1)/B(r, s) · [B1 − Σ_i t^i (r+s)_i/i! · B2_i],
// i = 0..x, B1 and B2_i ratios of 2F1s to powers of κ and κ+t (κ = max(α, β)).
double ProbPurchasesClosedForm(const ParetoNbdParams& p, double t, int x) {
  const double r = p.r, alpha = p.alpha, s = p.s, beta = p.beta;
  const double nbd = std::exp(std::lgamma(r + x) - std::lgamma(r) - std::lgamma(x + 1.0) +
                              r * std::log(alpha / (alpha + t)) + x * std::log(t / (alpha + t)) +
                              s * std::log(beta / (beta + t)));
  const bool ge = alpha >= beta;
  const double kappa = ge ? alpha : beta, b = ge ? s + 1 : r + x, c = r + s + x + 1;
  const double b1 =
      BoostHyp2F1(r + s, b, c, std::abs(alpha - beta) / kappa) / std::pow(kappa, r + s);
  double sum = 0;
  for (int i = 0; i <= x; ++i) {
    const double b2 = BoostHyp2F1(r + s + i, b, c, std::abs(alpha - beta) / (kappa + t)) /
                      std::pow(kappa + t, r + s + i);
    sum += std::exp(i * std::log(t) + std::lgamma(r + s + i) - std::lgamma(r + s) -
                    std::lgamma(i + 1.0)) *
           b2;
  }
  const double lead =
      std::exp(r * std::log(alpha) + s * std::log(beta) + std::lgamma(r + x) + std::lgamma(s + 1) -
               std::lgamma(r + s + x + 1) - std::lgamma(r) - std::lgamma(s) + std::lgamma(r + s));
  return nbd + lead * (b1 - sum);
}

TEST(ParetoNbdTest, ProbPurchasesMatchesTheClosedFormAndTheMean) {
  const ParetoNbdParams cases[] = {
      kPublished,             // α < β
      {0.3, 5.0, 0.7, 2.1},   // α > β
      {0.8, 60.0, 0.4, 3.0},  // α ≫ β: quadrature for the died-before-t part
      {1.7, 2.0, 2.5, 40.0},  // α ≪ β
      {0.5, 7.0, 0.9, 7.0},   // α = β
  };
  for (const ParetoNbdParams& p : cases) {
    for (double t : {0.5, 39.0, 150.0}) {
      for (int x : {0, 1, 2, 5}) {
        const double want = ProbPurchasesClosedForm(p, t, x);
        EXPECT_NEAR(ParetoNbdProbPurchases(p, t, x), want, 1e-9 * want + 1e-14)
            << "x=" << x << " t=" << t << " α=" << p.alpha << " β=" << p.beta;
      }
      // The probabilities sum to 1 and their mean is E[X(t)].
      double total = 0, mean = 0;
      for (int x = 0; x < 4000; ++x) {
        const double px = ParetoNbdProbPurchases(p, t, x);
        ASSERT_GE(px, 0);
        total += px;
        mean += x * px;
        if (x > 20 && px < 1e-18 * (1 + mean)) break;
      }
      EXPECT_NEAR(total, 1.0, 1e-10) << "t=" << t << " α=" << p.alpha;
      EXPECT_NEAR(mean, ParetoNbdExpectedPurchasesNew(p, t), 1e-9 * (1 + mean))
          << "t=" << t << " α=" << p.alpha;
    }
  }
  EXPECT_EQ(ParetoNbdProbPurchases(kPublished, 0, 0), 1.0);
  EXPECT_EQ(ParetoNbdProbPurchases(kPublished, 0, 3), 0.0);
  EXPECT_EQ(ParetoNbdProbPurchases(kPublished, 10, -1), 0.0);
}

TEST(ParetoNbdTest, RecoversSimulatedParameters) {
  const ParetoNbdParams truth{0.8, 9.0, 0.7, 12.0};
  const auto data = Simulate(truth, 20000, 12, 39, false, 7);
  const ParetoNbdFit fit = FitParetoNbd(data).value();
  // Within 3 standard errors.
  EXPECT_NEAR(fit.params.r, truth.r, 3 * fit.std_errors[0]);
  EXPECT_NEAR(fit.params.alpha, truth.alpha, 3 * fit.std_errors[1]);
  EXPECT_NEAR(fit.params.s, truth.s, 3 * fit.std_errors[2]);
  EXPECT_NEAR(fit.params.beta, truth.beta, 3 * fit.std_errors[3]);
}

// A timing run, not part of the suite: --gtest_also_run_disabled_tests
// --gtest_filter='*MillionCustomers*' (Release build).
TEST(ParetoNbdTest, DISABLED_FitsAMillionCustomers) {
  const auto data = Simulate(kPublished, 1'000'000, 12, 39, true, 1);
  const auto start = std::chrono::steady_clock::now();
  const ParetoNbdFit fit = FitParetoNbd(data).value();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("1M customers: r=%.4f alpha=%.4f s=%.4f beta=%.4f LL=%.3f evaluations=%d, %.0f ms\n",
              fit.params.r, fit.params.alpha, fit.params.s, fit.params.beta, fit.log_likelihood,
              fit.evaluations, ms);
  EXPECT_LT(ms, 3000);
}

TEST(ParetoNbdTest, RejectsBadSamples) {
  EXPECT_EQ(FitParetoNbd({}).error().code(), ErrorCode::kInvalidArgument);
  const std::vector<std::vector<PurchaseSummary>> bad = {
      {{2, 5, 4}},               // t_x > T
      {{-1, 0, 4}},              // x < 0
      {{1, 0, 4}},               // a repeat purchase at time 0
      {{1, 2, 4, 0}},            // n = 0
      {{1, 2, 4, -2}},           // n < 0
      {{1, 2, INFINITY}},        // T not finite
      {{NAN, 2, 4}},             // x not finite
      {{1, 2, 4}, {1, NAN, 4}},  // t_x not finite, second record
  };
  for (const auto& data : bad) {
    const auto fit = FitParetoNbd(data);
    ASSERT_FALSE(fit.has_value());
    EXPECT_EQ(fit.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_TRUE(std::isnan(ParetoNbdLogLikelihood(kPublished, data)));
  }
  EXPECT_EQ(FitParetoNbd(bad.back()).error().context(), "data[1]");
  EXPECT_TRUE(std::isnan(ParetoNbdLogLikelihood({0, 1, 1, 1}, testdata::CdnowSummaries())));
}

}  // namespace
}  // namespace treu
