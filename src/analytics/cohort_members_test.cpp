#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "analytics/kpis.hpp"

namespace treu {
namespace {

// A workspace of 400 customers over two years: each first buys on some day, then buys again
// at irregular gaps, some refund, some subscribe.
std::shared_ptr<const Snapshot> DemoLike(RetentionBasis basis) {
  Workspace w;
  w.name = "shop";
  w.currency = Currency::FromCode("EUR").value();
  w.time_zone = "Europe/Berlin";
  w.retention_basis = basis;
  SnapshotBuilder b(w);
  std::uint64_t state = 12345;
  auto next = [&](std::uint64_t mod) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % mod;
  };
  const std::int64_t day0 = 19'700;  // 2023-12-09
  for (int c = 0; c < 400; ++c) {
    const std::string id = "c" + std::to_string(c);
    std::int64_t day = day0 + static_cast<std::int64_t>(next(500));
    const int orders = 1 + static_cast<int>(next(6));
    for (int k = 0; k < orders && day < day0 + 730; ++k) {
      Order o;
      o.id = OrderId{c * 100 + k + 1};
      o.external_id = id + "-" + std::to_string(k);
      o.customer_external_id = id;
      o.placed_at = Timestamp{day * kMicrosPerDay + static_cast<std::int64_t>(next(86'400)) * 1'000'000};
      o.total = Money{static_cast<std::int64_t>(500 + next(10'000)), *w.currency};
      if (next(10) == 0) o.refunds.push_back({Timestamp{o.placed_at.micros + 3 * kMicrosPerDay}, o.total.minor / 2});
      EXPECT_TRUE(b.AddOrder(o));
      day += 1 + static_cast<std::int64_t>(next(120));
    }
    if (c % 7 == 0) {
      Subscription s;
      s.id = SubscriptionId{c + 1};
      s.external_id = id + "-s";
      s.customer_external_id = id;
      s.currency = *w.currency;
      s.started_at = Timestamp{(day0 + static_cast<std::int64_t>(next(400))) * kMicrosPerDay};
      if (c % 2 == 0) s.ended_at = Timestamp{s.started_at.micros + 200 * kMicrosPerDay};
      s.history.push_back({s.started_at, "pro", BillingInterval::kMonth, 4900, 1, 0, SubscriptionStatus::kActive});
      EXPECT_TRUE(b.AddSubscription(s));
    }
  }
  return b.Build();
}

class CohortMembersTest : public ::testing::TestWithParam<std::tuple<RetentionBasis, PeriodKind>> {};

TEST_P(CohortMembersTest, EveryCellCountsItsMembers) {
  const auto [basis, by] = GetParam();
  Analytics a(DemoLike(basis));
  KpiOptions o = DefaultKpiOptions(a.snapshot());
  CohortOptions c;
  c.by = by;
  const auto rows = Cohorts(a, c, o).value();
  ASSERT_FALSE(rows.empty());
  std::int64_t cells = 0;
  for (const CohortRow& row : rows) {
    for (std::size_t k = 0; k < row.values.size(); ++k) {
      const auto members = CohortCellMembers(a, c, o, row.cohort, static_cast<int>(k)).value();
      EXPECT_EQ(static_cast<double>(members.size()), std::round(*row.values[k] * static_cast<double>(row.size)))
          << row.cohort.Label() << " +" << k;
      ++cells;
    }
  }
  EXPECT_GT(cells, 20);
}

INSTANTIATE_TEST_SUITE_P(Bases, CohortMembersTest,
                         ::testing::Combine(::testing::Values(RetentionBasis::kPurchases, RetentionBasis::kSubscriptions,
                                                              RetentionBasis::kBoth),
                                            ::testing::Values(PeriodKind::kMonth, PeriodKind::kQuarter, PeriodKind::kWeek)));

TEST(CohortMembersRevenueTest, RevenueCellsSumToTheMatrixRatio) {
  Analytics a(DemoLike(RetentionBasis::kPurchases));
  KpiOptions o = DefaultKpiOptions(a.snapshot());
  CohortOptions c;
  c.revenue = true;
  const auto rows = Cohorts(a, c, o).value();
  for (const CohortRow& row : rows) {
    const auto base = CohortCellMembers(a, c, o, row.cohort, 0).value();
    std::int64_t base_sum = 0;
    for (const auto& m : base) base_sum += m.revenue_minor;
    for (std::size_t k = 0; k < row.values.size(); ++k) {
      if (!row.values[k]) continue;
      std::int64_t sum = 0;
      const auto members = CohortCellMembers(a, c, o, row.cohort, static_cast<int>(k)).value();
      for (const auto& m : members) {
        EXPECT_NE(m.revenue_minor, 0);
        sum += m.revenue_minor;
      }
      EXPECT_NEAR(static_cast<double>(sum) / static_cast<double>(base_sum), *row.values[k], 1e-12);
    }
  }
}

TEST(CohortMembersRevenueTest, RejectsAnotherKindAndNegativeOffsets) {
  Analytics a(DemoLike(RetentionBasis::kPurchases));
  KpiOptions o = DefaultKpiOptions(a.snapshot());
  CohortOptions c;
  EXPECT_EQ(CohortCellMembers(a, c, o, Period::Parse("2024-Q1").value(), 0).error().context(), "cohort");
  EXPECT_EQ(CohortCellMembers(a, c, o, Period::Parse("2024-01").value(), -1).error().context(), "offset");
  EXPECT_TRUE(CohortCellMembers(a, c, o, Period::Parse("2030-01").value(), 0).value().empty());
}

}  // namespace
}  // namespace treu
