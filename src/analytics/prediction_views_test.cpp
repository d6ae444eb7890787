#include "analytics/prediction_views.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "models/cdnow_testdata.hpp"

namespace treu {
namespace {

TEST(DistributionTest, BinsMeanAndMedian) {
  const std::vector<double> v = {0.05, 0.15, 0.15, NAN, 0.95, 1.0};
  const Distribution d = DistributionOf(v, 10, 0.0, 1.0);
  EXPECT_EQ(d.n, 5);
  ASSERT_EQ(d.bins.size(), 10u);
  EXPECT_DOUBLE_EQ(d.bins[0].lo, 0);
  EXPECT_DOUBLE_EQ(d.bins[0].hi, 0.1);
  EXPECT_DOUBLE_EQ(d.bins[9].hi, 1.0);
  EXPECT_EQ(d.bins[0].count, 1);
  EXPECT_EQ(d.bins[1].count, 2);
  EXPECT_EQ(d.bins[9].count, 2);  // the last bin includes its upper end
  EXPECT_DOUBLE_EQ(d.mean, 0.46);
  EXPECT_DOUBLE_EQ(d.median, 0.15);
  std::int64_t total = 0;
  for (const auto& b : d.bins) total += b.count;
  EXPECT_EQ(total, 5);
}

TEST(DistributionTest, EmptyAndConstant) {
  const Distribution none = DistributionOf(std::vector<double>{NAN}, 4);
  EXPECT_EQ(none.n, 0);
  EXPECT_TRUE(none.bins.empty());
  EXPECT_TRUE(std::isnan(none.mean));
  const Distribution same = DistributionOf(std::vector<double>{2, 2, 2, 2}, 4);
  EXPECT_EQ(same.bins[0].count, 4);
  EXPECT_DOUBLE_EQ(same.median, 2);
  EXPECT_DOUBLE_EQ(same.bins[3].hi, 3);
}

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

// The tracking chart of BG/NBD on CDNOW with the published estimates (Fader, Hardie & Lee 2005):
// 78 weeks from 1997-01-01; the actual repeat purchases are the 2457 of the calibration weeks
// and the 1882 of the holdout; the model tracks the calibration total closely and
// under-forecasts the holdout by about a tenth, as the backtest finds.
TEST(TrackRunTest, CdnowBgNbdWithThePublishedEstimates) {
  const auto s = CdnowSnapshot();
  ModelRun run;
  run.model = "bgnbd";
  run.status = JobStatus::kSucceeded;
  run.calibration_end = {1997, 9, 30};
  run.unit_days = 7;
  run.params = {{"r", 0.2425982}, {"alpha", 4.4136842}, {"a", 0.7929899}, {"b", 2.4261667}};
  const RunTracking t = TrackRun(*s, run).value();
  EXPECT_EQ(t.first_day, (CivilDate{1997, 1, 1}));
  ASSERT_EQ(t.points.size(), 78u);
  EXPECT_EQ(t.points[1].period_start, (CivilDate{1997, 1, 8}));
  EXPECT_DOUBLE_EQ(t.points[38].actual_cumulative, 2457);
  EXPECT_DOUBLE_EQ(t.points[77].actual_cumulative, 2457 + 1882);
  EXPECT_NEAR(t.points[38].predicted_cumulative / 2457, 1.0, 0.03);
  const double holdout = t.points[77].predicted_cumulative - t.points[38].predicted_cumulative;
  EXPECT_GT(holdout / 1882, 0.8);
  EXPECT_LT(holdout / 1882, 1.0);
  double sum = 0;
  for (const auto& p : t.points) {
    EXPECT_GE(p.predicted, 0);
    sum += p.predicted;
  }
  EXPECT_NEAR(sum, t.points[77].predicted_cumulative, 1e-6);

  run.model = "gamma_gamma";
  EXPECT_EQ(TrackRun(*s, run).error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace treu
