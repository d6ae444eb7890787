#include "models/bgnbd.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "models/cdnow_testdata.hpp"

namespace treu {
namespace {

// The CDNOW sample of Fader, Hardie & Lee: 2,357 customers, x, t_x and T in weeks.
std::vector<PurchaseSummary> Cdnow() {
  std::vector<PurchaseSummary> out;
  for (const auto& f : testdata::CdnowCsv("cdnow_customers_summary.csv")) {  // ID,frequency,recency,T
    out.push_back({std::stod(f[1]), std::stod(f[2]), std::stod(f[3])});
  }
  return out;
}

TEST(BgNbdTest, FitsTheCdnowSampleAsPublished) {
  const auto data = Cdnow();
  ASSERT_EQ(data.size(), 2357u);
  const BgNbdFit fit = FitBgNbd(data).value();
  // Fader, Hardie & Lee (2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4.
  EXPECT_NEAR(fit.params.r, 0.243, 0.0005);
  EXPECT_NEAR(fit.params.alpha, 4.414, 0.005);
  EXPECT_NEAR(fit.params.a, 0.793, 0.001);
  EXPECT_NEAR(fit.params.b, 2.426, 0.005);
  EXPECT_NEAR(fit.log_likelihood, -9582.4, 0.05);
  for (double se : fit.std_errors) {
    EXPECT_GT(se, 0);
    EXPECT_LT(se, 1.0);
  }
  // A customer who bought often but not lately is less likely alive than one who just did.
  const PurchaseSummary stale{5, 10, 38}, fresh{5, 37, 38};
  EXPECT_LT(BgNbdPAlive(fit.params, stale), BgNbdPAlive(fit.params, fresh));
  EXPECT_EQ(BgNbdPAlive(fit.params, {0, 0, 38}), 1.0);
}

TEST(BgNbdTest, GradientMatchesFiniteDifferences) {
  const auto all = Cdnow();
  const std::span<const PurchaseSummary> data(all.data(), 300);
  const BgNbdParams p{0.3, 5.0, 0.7, 2.1};
  std::array<double, 4> g{};
  BgNbdLogLikelihood(p, data, &g);
  for (int i = 0; i < 4; ++i) {
    auto at = [&](double f) {
      BgNbdParams q = p;
      double* v[] = {&q.r, &q.alpha, &q.a, &q.b};
      *v[i] *= std::exp(f);  // a step in the log-parameter
      return BgNbdLogLikelihood(q, data);
    };
    const double h = 1e-6;
    EXPECT_NEAR(g[i], (at(h) - at(-h)) / (2 * h), 1e-4 * std::max(1.0, std::abs(g[i]))) << i;
  }
}

TEST(BgNbdTest, RejectsBadSamples) {
  EXPECT_EQ(FitBgNbd({}).error().code(), ErrorCode::kInvalidArgument);
  const std::vector<PurchaseSummary> bad{{2, 5, 4}};  // t_x > T
  EXPECT_EQ(FitBgNbd(bad).error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace treu
