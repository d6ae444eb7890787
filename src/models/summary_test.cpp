#include "models/summary.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "models/cdnow_testdata.hpp"

namespace treu {
namespace {

// The CDNOW sample's transactions, summarised with calibration end 1997-09-30 (T = 38.86
// weeks for a first purchase on 1997-01-01), reproduce the published summary file: x, t_x
// and T to two decimals, the mean repeat spend zbar to the cent.
TEST(SummaryTest, ReproducesTheCdnowSampleSummary) {
  const auto by_customer = testdata::CdnowTransactions();
  const CivilDate end{1997, 9, 30};
  int checked = 0;
  for (const auto& f : testdata::CdnowCsv("cdnow_customers_summary_with_transactions.csv")) {
    const std::string &id = f[0], &x = f[1], &t_x = f[2], &T = f[3], &zbar = f[4];  // ID,x,t_x,T,zbar
    const auto& [times, values] = by_customer.at(std::stoi(id));
    const auto s = SummarizePurchases(times, values, end, 7).value();
    ASSERT_EQ(s.rft.x, std::stod(x)) << "customer " << id;
    ASSERT_NEAR(s.rft.t_x, std::stod(t_x), 0.005) << "customer " << id;
    ASSERT_NEAR(s.rft.T, std::stod(T), 0.005) << "customer " << id;
    ASSERT_NEAR(s.mean_repeat_value / 100, std::stod(zbar), 0.0051) << "customer " << id;
    ++checked;
  }
  EXPECT_EQ(checked, 2357);
}

TEST(SummaryTest, MergesSameDayPurchasesAndCountsTheHoldout) {
  const std::int64_t d = kMicrosPerDay;
  const std::vector<std::int64_t> times{0, 3600'000'000, 7 * d, 20 * d};
  const std::vector<std::int64_t> values{100, 50, 300, 999};
  const auto s = SummarizePurchases(times, values, CivilDate{1970, 1, 15}, 7).value();
  EXPECT_EQ(s.rft.x, 1);  // day 0 twice is one purchase; day 20 is after the end (day 14)
  EXPECT_DOUBLE_EQ(s.rft.t_x, 1.0);
  EXPECT_DOUBLE_EQ(s.rft.T, 2.0);
  EXPECT_DOUBLE_EQ(s.mean_repeat_value, 300);
  EXPECT_EQ(s.holdout_purchases, 1);
  const std::vector<std::int64_t> later{20 * d};
  const std::vector<std::int64_t> one{1};
  EXPECT_FALSE(SummarizePurchases(later, one, CivilDate{1970, 1, 15}, 7).has_value());
}

}  // namespace
}  // namespace treu
