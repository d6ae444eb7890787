#include "models/backtest.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "models/cdnow_testdata.hpp"
#include "models/purchase_model.hpp"
#include "models/summary.hpp"

namespace treu {
namespace {

TEST(BacktestTest, ComparesPredictionsWithWhatHappened) {
  const std::vector<double> predicted{1, 2, 3, 4}, actual{1, 3, 2, 6};
  const auto a = ComparePredictions(predicted, actual);
  EXPECT_EQ(a.customers, 4u);
  EXPECT_EQ(a.predicted_total, 10);
  EXPECT_EQ(a.actual_total, 12);
  EXPECT_DOUBLE_EQ(a.mae, (0 + 1 + 1 + 2) / 4.0);
  EXPECT_DOUBLE_EQ(a.rmse, std::sqrt((0 + 1 + 1 + 4) / 4.0));
  EXPECT_NEAR(a.correlation, 0.8366600265, 1e-9);  // Pearson of the two columns
  const std::vector<double> flat{1, 1, 1, 1};
  EXPECT_TRUE(std::isnan(ComparePredictions(flat, actual).correlation));
}

TEST(BacktestTest, TrackingSumsCohortsByFirstPurchase) {
  // E[X(t)] = t / 2: a customer who starts at 1 expects 0.5 in (1, 2], nothing before.
  const auto linear = [](double t) { return t > 0 ? t / 2 : 0.0; };
  const std::vector<double> first{0, 1, 1}, repeats{0.5, 1.5, 1.7, 2.2};
  const auto track = TrackRepeatPurchases(first, repeats, linear, 1, 3);
  ASSERT_EQ(track.size(), 3u);
  EXPECT_EQ(track[0].actual, 1);
  EXPECT_EQ(track[1].actual, 2);
  EXPECT_EQ(track[2].actual, 1);
  EXPECT_DOUBLE_EQ(track[0].predicted, 0.5);
  EXPECT_DOUBLE_EQ(track[1].predicted, 0.5 + 2 * 0.5);
  EXPECT_DOUBLE_EQ(track[2].predicted, 1.5);
}

// The classic holdout test of Fader, Hardie & Lee (2005) on CDNOW: calibrate on weeks 1-39,
// predict weeks 40-78 per customer and per week.
TEST(BacktestTest, BgNbdPredictsTheCdnowHoldout) {
  const auto tx = testdata::CdnowTransactions();
  const std::int64_t origin = DaysFromCivil({1997, 1, 1});
  std::vector<CustomerSummary> summaries;
  std::vector<PurchaseSummary> calibration;
  std::vector<double> first, repeats;
  for (const auto& [id, c] : tx) {
    summaries.push_back(SummarizePurchases(c.times, c.values, {1997, 9, 30}, 7).value());
    calibration.push_back(summaries.back().rft);
    std::int64_t last_day = -1;
    for (std::size_t i = 0; i < c.times.size(); ++i) {
      const std::int64_t day = c.times[i] / kMicrosPerDay - origin;
      if (i == 0) {
        first.push_back(static_cast<double>(day) / 7);
      } else if (day != last_day) {
        repeats.push_back(static_cast<double>(day) / 7);
      }
      last_day = day;
    }
  }
  const auto fit = FitPurchaseModel(PurchaseModel::kBgNbd, calibration).value();
  std::vector<double> predicted, actual;
  for (const auto& s : summaries) {
    predicted.push_back(ExpectedPurchases(fit.params, s.rft, 39));
    actual.push_back(static_cast<double>(s.holdout_purchases));
  }
  const auto a = ComparePredictions(predicted, actual);
  EXPECT_EQ(a.customers, 2357u);
  EXPECT_EQ(a.actual_total, 1882);  // repeat purchase days in weeks 40-78
  // The BG/NBD forecasts the CDNOW holdout about 12 % low (1,654 of 1,882) per customer.
  EXPECT_GT(a.predicted_total / a.actual_total, 0.85);
  EXPECT_LT(a.predicted_total / a.actual_total, 1.0);
  EXPECT_GT(a.correlation, 0.5);
  EXPECT_LT(a.mae, 1.0);

  const auto track = TrackRepeatPurchases(
      first, repeats, [&](double t) { return ExpectedPurchasesNew(fit.params, t); }, 1, 78);
  double actual_calibration = 0, predicted_calibration = 0, actual_holdout = 0, predicted_holdout = 0;
  for (const auto& p : track) {
    (p.period <= 39 ? actual_calibration : actual_holdout) += p.actual;
    (p.period <= 39 ? predicted_calibration : predicted_holdout) += p.predicted;
  }
  EXPECT_EQ(actual_calibration, 2457);  // the repeat purchases of the calibration summary
  EXPECT_EQ(actual_calibration + actual_holdout, static_cast<double>(repeats.size()));
  EXPECT_NEAR(predicted_calibration / actual_calibration, 1.0, 0.05);
  EXPECT_GT(predicted_holdout / actual_holdout, 0.85);  // as above, in aggregate
  EXPECT_LT(predicted_holdout / actual_holdout, 1.0);
}

}  // namespace
}  // namespace treu
