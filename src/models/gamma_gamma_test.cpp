#include "models/gamma_gamma.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "models/cdnow_testdata.hpp"

namespace treu {
namespace {

// CDNOW sample: x repeat purchases and their mean value zbar (dollars), 2,357 customers.
std::vector<SpendSummary> Cdnow() {
  std::vector<SpendSummary> out;
  for (const auto& f : testdata::CdnowCsv("cdnow_customers_summary_with_transactions.csv")) {
    out.push_back({std::stod(f[1]), std::stod(f[4])});  // ID,x,t_x,T,zbar
  }
  return out;
}

TEST(GammaGammaTest, FitsTheCdnowSampleAsPublished) {
  const auto data = Cdnow();
  ASSERT_EQ(data.size(), 2357u);
  const GammaGammaFit fit = FitGammaGamma(data).value();
  // Fader & Hardie, "The Gamma-Gamma model of monetary value" (2013): p = 6.25, q = 3.74,
  // γ = 15.44 on the 946 customers with repeat purchases.
  EXPECT_NEAR(fit.params.p, 6.25, 0.01);
  EXPECT_NEAR(fit.params.q, 3.74, 0.01);
  EXPECT_NEAR(fit.params.gamma, 15.44, 0.02);
  for (double se : fit.std_errors) EXPECT_GT(se, 0);
  // Shrinkage: a customer's expected value lies between their own mean and the population's.
  const double population = fit.params.p * fit.params.gamma / (fit.params.q - 1);
  const double e = GammaGammaExpectedValue(fit.params, {2, 100});
  EXPECT_GT(e, population);
  EXPECT_LT(e, 100);
}

TEST(GammaGammaTest, GradientMatchesFiniteDifferences) {
  const auto data = Cdnow();
  const GammaGammaParams p{5, 3, 12};
  double g[3];
  GammaGammaLogLikelihood(p, data, g);
  for (int i = 0; i < 3; ++i) {
    auto at = [&](double d) {
      GammaGammaParams q = p;
      double* v[] = {&q.p, &q.q, &q.gamma};
      *v[i] += d;
      return GammaGammaLogLikelihood(q, data);
    };
    const double h = 1e-6;
    EXPECT_NEAR(g[i], (at(h) - at(-h)) / (2 * h), 1e-3 * std::max(1.0, std::abs(g[i]))) << i;
  }
}

TEST(GammaGammaTest, RejectsSamplesWithoutRepeatBuyers) {
  const std::vector<SpendSummary> none{{0, 0}, {0, 0}};
  EXPECT_EQ(FitGammaGamma(none).error().code(), ErrorCode::kInvalidArgument);
  const std::vector<SpendSummary> bad{{2, -5}};
  EXPECT_EQ(FitGammaGamma(bad).error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace treu
