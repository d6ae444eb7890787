#include "analytics/predictions.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "models/cdnow_testdata.hpp"

namespace treu {
namespace {

// The CDNOW sample as a workspace's orders (USD, customers "1".."2357").
std::shared_ptr<const Snapshot> CdnowSnapshot() {
  Workspace w;
  w.id = WorkspaceId{1};
  w.name = "cdnow";
  w.currency = Currency::FromCode("USD").value();
  SnapshotBuilder b(w);
  std::int64_t order = 0;
  for (const auto& [id, c] : testdata::CdnowTransactions()) {
    CustomerFacts f;
    f.external_id = std::to_string(id);
    f.order_at = c.times;
    f.order_total = c.values;
    for (std::size_t i = 0; i < c.times.size(); ++i) f.order_id.push_back(++order);
    b.AddFacts(f);
  }
  return b.Build();
}

const Timestamp kNow = Timestamp::FromSeconds(1'800'000'000);

TEST(PredictionsTest, FitsFromTheOrdersAsPublished) {
  const auto s = CdnowSnapshot();
  const ModelRun bg = FitModel(*s, {"bgnbd", CivilDate{1997, 9, 30}, 7}, kNow).value();
  EXPECT_EQ(bg.status, JobStatus::kSucceeded);
  EXPECT_EQ(bg.customers, 2357);
  ASSERT_EQ(bg.params.size(), 4u);
  EXPECT_EQ(bg.params[0].first, "r");
  EXPECT_NEAR(bg.params[0].second, 0.243, 0.0005);
  EXPECT_NEAR(bg.params[1].second, 4.414, 0.005);
  EXPECT_NEAR(bg.params[2].second, 0.793, 0.001);
  EXPECT_NEAR(bg.params[3].second, 2.426, 0.005);
  EXPECT_NEAR(bg.log_likelihood, -9582.43, 0.05);  // summaries from the raw orders, in whole days
  EXPECT_EQ(bg.calibration_end, (CivilDate{1997, 9, 30}));
  EXPECT_EQ(bg.finished_at, kNow);

  const ModelRun gg = FitModel(*s, {"gamma_gamma", CivilDate{1997, 9, 30}, 7}, kNow).value();
  EXPECT_EQ(gg.customers, 946);
  EXPECT_NEAR(gg.params[0].second, 6.25, 0.005);
  EXPECT_NEAR(gg.params[1].second, 3.74, 0.005);
  EXPECT_NEAR(gg.params[2].second, 15.44, 0.01);

  EXPECT_EQ(FitModel(*s, {"bgnbd", CivilDate{1996, 1, 1}, 7}, kNow).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(FitModel(*s, {"magic", std::nullopt, 7}, kNow).error().ToString(),
            "model: 'magic' is not a model: use bgnbd, pareto_nbd, mbgnbd, gamma_gamma or all");
  EXPECT_EQ(FitModel(*s, {"all", std::nullopt, 7}, kNow).error().ToString(),
            "model: fit one model at a time");
  EXPECT_EQ(FitModel(*s, {"bgnbd", std::nullopt, 3}, kNow).error().ToString(),
            "unit: must be week or day");
  EXPECT_EQ(ParseModelList("model", "all").value().size(), 4u);
}

TEST(PredictionsTest, PredictsEveryBuyer) {
  const auto s = CdnowSnapshot();
  const Timestamp as_of = Timestamp::FromSeconds(875'577'600);  // 1997-09-30 UTC
  ModelRun pareto = FitModel(*s, {"pareto_nbd", CivilDate{1997, 9, 30}, 7}, as_of).value();
  pareto.id = 7;
  ModelRun gg = FitModel(*s, {"gamma_gamma", CivilDate{1997, 9, 30}, 7}, as_of).value();
  gg.id = 8;
  // Predictions as of the calibration end: customers who first bought later have no history yet.
  const CustomerPredictions p = PredictCustomers(*s, pareto, gg, as_of).value();
  EXPECT_EQ(p.purchase_run, 7);
  EXPECT_EQ(p.spend_run, 8);
  EXPECT_EQ(p.as_of, (CivilDate{1997, 9, 30}));
  ASSERT_EQ(p.p_alive.size(), 2357u);
  std::set<RfmSegment> segments;
  double expected_90d = 0;
  for (std::size_t c = 0; c < 2357; ++c) {
    ASSERT_GE(p.p_alive[c], 0);
    ASSERT_LE(p.p_alive[c], 1);
    ASSERT_GT(p.clv_12m[c], 0);
    ASSERT_TRUE(p.rfm_segment[c].has_value());
    segments.insert(*p.rfm_segment[c]);
    expected_90d += p.expected_purchases_90d[c];
  }
  EXPECT_GE(segments.size(), 8u);
  // Pareto/NBD's 90-day expectation for the whole sample: the holdout's first 13 weeks
  // saw about a third of the 39-week holdout's purchases.
  EXPECT_GT(expected_90d, 300);
  EXPECT_LT(expected_90d, 900);
  EXPECT_NEAR(p.clv_mean, [&] {
    double sum = 0;
    for (double v : p.clv_12m) sum += v;
    return sum / 2357;
  }(), 1e-9);
  // Without a spend model there is no CLV.
  const CustomerPredictions no_spend = PredictCustomers(*s, pareto, std::nullopt, as_of).value();
  EXPECT_TRUE(std::isnan(no_spend.clv_12m[0]));
  EXPECT_TRUE(std::isnan(no_spend.clv_mean));
  EXPECT_EQ(no_spend.p_alive, p.p_alive);
}

TEST(PredictionsTest, BacktestComparesWithTheHoldout) {
  const auto s = CdnowSnapshot();
  const BacktestReport r = Backtest(*s, "bgnbd", {1997, 9, 30}, 7, kNow).value();
  EXPECT_EQ(r.holdout_end, (CivilDate{1998, 6, 30}));
  EXPECT_NEAR(r.holdout_units, 39, 1e-9);
  EXPECT_EQ(r.first_day, (CivilDate{1997, 1, 1}));
  EXPECT_EQ(r.weekly.size(), 78u);
  EXPECT_EQ(r.accuracy.customers, 2357u);
  EXPECT_EQ(r.accuracy.actual_total, 1882);
  EXPECT_GT(r.accuracy.predicted_total / r.accuracy.actual_total, 0.85);  // BG/NBD forecasts CDNOW's
  EXPECT_LT(r.accuracy.predicted_total / r.accuracy.actual_total, 1.0);   // holdout ~12 % low
  double calibration = 0;
  for (int w = 0; w < 39; ++w) calibration += r.weekly[w].actual;
  EXPECT_EQ(calibration, 2457);
  EXPECT_EQ(Backtest(*s, "gamma_gamma", {1997, 9, 30}, 7, kNow).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Backtest(*s, "bgnbd", {1998, 6, 30}, 7, kNow).error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace treu
