#include "models/purchase_model.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "models/cdnow_testdata.hpp"

namespace treu {
namespace {

TEST(PurchaseModelTest, CompressingMergesEqualHistoriesWithoutChangingTheFit) {
  const auto data = testdata::CdnowSummaries();
  const auto compressed = CompressSummaries(data);
  EXPECT_LT(compressed.size(), data.size());
  double n = 0;
  for (const auto& s : compressed) n += s.n;
  EXPECT_EQ(n, 2357);
  for (PurchaseModel m : {PurchaseModel::kBgNbd, PurchaseModel::kParetoNbd, PurchaseModel::kMbgNbd}) {
    const auto full = FitPurchaseModel(m, data).value();
    const auto fast = FitPurchaseModel(m, compressed).value();
    EXPECT_EQ(fast.customers, 2357);
    EXPECT_NEAR(fast.log_likelihood, full.log_likelihood, 1e-6) << PurchaseModelName(m);
    for (int i = 0; i < 4; ++i) {
      EXPECT_NEAR(fast.params.values[i], full.params.values[i], 1e-4 * full.params.values[i])
          << PurchaseModelName(m) << " " << PurchaseModelParamNames(m)[i];
    }
  }
}

TEST(PurchaseModelTest, TheFrontDoorAgreesWithEachModel) {
  const auto data = testdata::CdnowSummaries();
  const auto bg = FitPurchaseModel(PurchaseModel::kBgNbd, data).value();
  EXPECT_NEAR(bg.params.values[0], 0.243, 0.0005);
  EXPECT_NEAR(bg.log_likelihood, -9582.43, 0.01);
  const auto pareto = FitPurchaseModel(PurchaseModel::kParetoNbd, data).value();
  EXPECT_NEAR(pareto.log_likelihood, -9594.98, 0.01);
  EXPECT_EQ(PurchaseModelParamNames(PurchaseModel::kParetoNbd)[3], "beta");
  // Customer 1 of FHL's note: 1.226 purchases expected in the next 39 weeks.
  const PurchaseSummary c1{2, 30.43, 38.86};
  EXPECT_NEAR(ExpectedPurchases(bg.params, c1, 39), 1.226, 0.0005);
  EXPECT_EQ(ExpectedPurchases(bg.params, c1, 0), 0);
  EXPECT_EQ(ExpectedPurchasesNew(bg.params, -1), 0);
  for (const auto* fit : {&bg, &pareto}) {
    EXPECT_GT(PAlive(fit->params, c1), 0.5);
    EXPECT_LT(PAlive(fit->params, {2, 5, 38.86}), PAlive(fit->params, c1));
  }
}

TEST(PurchaseModelTest, TheCurveIsTheExpectationAtEachHorizon) {
  const std::vector<double> horizons{0, 1, 4.348, 13, 39, 52.18};
  for (const PurchaseModelParams& p :
       {PurchaseModelParams{PurchaseModel::kParetoNbd, {0.553, 10.578, 0.606, 11.669}},
        PurchaseModelParams{PurchaseModel::kBgNbd, {0.243, 4.414, 0.793, 2.426}},
        PurchaseModelParams{PurchaseModel::kMbgNbd, {0.525, 6.183, 0.891, 1.614}}}) {
    for (const PurchaseSummary& s : {PurchaseSummary{2, 30.43, 38.86}, PurchaseSummary{0, 0, 27},
                                     PurchaseSummary{12, 38, 38.5}}) {
      std::vector<double> curve(horizons.size());
      ExpectedPurchasesCurve(p, s, horizons, curve);
      for (std::size_t i = 0; i < horizons.size(); ++i) {
        EXPECT_NEAR(curve[i], ExpectedPurchases(p, s, horizons[i]), 1e-12) << PurchaseModelName(p.model);
      }
      const ClvOptions clv{12, 0.01, 7};
      const Forecast f = ForecastHistory(p, s, 13, clv);
      EXPECT_EQ(f.p_alive, PAlive(p, s));
      EXPECT_NEAR(f.expected_purchases, ExpectedPurchases(p, s, 13), 1e-12);
      EXPECT_NEAR(f.discounted_purchases, DiscountedPurchases(p, s, clv), 1e-12);
      EXPECT_NEAR(PredictedClv(p, s, 40, clv), 40 * f.discounted_purchases, 1e-9);
    }
  }
}

TEST(PurchaseModelTest, PredictedClvDiscountsMonthByMonth) {
  const PurchaseModelParams p{PurchaseModel::kBgNbd, {0.2425982, 4.4136842, 0.7929899, 2.4261667}};
  const PurchaseSummary c1{2, 30.43, 38.86};
  const double month = kDaysPerMonth / 7;
  // Without discounting the months add up to the expectation over the whole horizon.
  EXPECT_NEAR(PredictedClv(p, c1, 50, {12, 0.0, 7}), 50 * ExpectedPurchases(p, c1, 12 * month), 1e-9);
  // With d the sum is over the monthly increments, each discounted.
  double expected = 0;
  for (int i = 1; i <= 3; ++i) {
    const double inc = ExpectedPurchases(p, c1, i * month) - ExpectedPurchases(p, c1, (i - 1) * month);
    expected += 50 * inc / std::pow(1.01, i);
  }
  EXPECT_NEAR(PredictedClv(p, c1, 50, {3, 0.01, 7}), expected, 1e-9);
  EXPECT_LT(PredictedClv(p, c1, 50, {12, 0.01, 7}), PredictedClv(p, c1, 50, {12, 0.0, 7}));
  // The same horizon in days gives the same value.
  const PurchaseSummary c1_days{2, 30.43 * 7, 38.86 * 7};
  const PurchaseModelParams p_days{PurchaseModel::kBgNbd, {0.2425982, 4.4136842 * 7, 0.7929899, 2.4261667}};
  EXPECT_NEAR(PredictedClv(p_days, c1_days, 50, {12, 0.01, 1}), PredictedClv(p, c1, 50, {12, 0.01, 7}), 1e-6);
}

}  // namespace
}  // namespace treu
