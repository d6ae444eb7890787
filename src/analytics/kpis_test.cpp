#include "analytics/kpis.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string_view>

namespace treu {
namespace {

TEST(KpiRegistryTest, EveryMetricOfTheSpecIsRegisteredOnceWithBothTitles) {
  std::set<std::string_view> ids;
  for (const auto& d : KpiRegistry()) {
    EXPECT_TRUE(ids.insert(d.id).second) << d.id;
    EXPECT_FALSE(d.title_en.empty()) << d.id;
    EXPECT_FALSE(d.title_de.empty()) << d.id;
    EXPECT_FALSE(d.formula.empty()) << d.id;
    EXPECT_FALSE(d.definition_en.empty()) << d.id;
    EXPECT_FALSE(d.definition_de.empty()) << d.id;
    EXPECT_TRUE(d.definition_en.ends_with(".") && d.definition_de.ends_with(".")) << d.id;
  }
  for (const char* id : {"retention_rate", "retention_rate_strict", "churn_rate", "repeat_purchase_rate",
                         "purchase_frequency", "average_order_value", "revenue", "clv_historic",
                         "clv_predicted", "mrr", "accounts", "arpa", "revenue_churn_gross",
                         "revenue_churn_net", "revenue_churn_simple", "nrr", "grr",
                         "revenue_growth_rate", "nps", "csat", "csat_good_bad_ratio", "ces"}) {
    EXPECT_TRUE(ids.contains(id)) << id;
  }
}

TEST(MrrUnitsTest, RoundHalfToEven) {
  EXPECT_EQ(MrrUnitsToMinor(kMrrUnitsPerMinor * 5 / 2), 2);
  EXPECT_EQ(MrrUnitsToMinor(kMrrUnitsPerMinor * 7 / 2), 4);
  EXPECT_EQ(MrrUnitsToMinor(kMrrUnitsPerMinor + 1), 1);
  EXPECT_EQ(MrrUnitsToMinor(-kMrrUnitsPerMinor * 5 / 2), -2);
}

}  // namespace
}  // namespace treu
