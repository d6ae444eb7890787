// The per-customer values that segments filter on and lists show, column by column and by
// snapshot index: profile and consent (from the store), purchase aggregates and subscription
// state (from the snapshot and the store), and today's predictions. Built for one instant
// ("now"); nulls are explicit in every column.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analytics/predictions.hpp"
#include "snapshot/snapshot.hpp"
#include "storage/store.hpp"

namespace treu {

enum class ColumnType { kString, kNumber, kMoney, kTime, kBool };
std::string_view ColumnTypeName(ColumnType t);  // string, number, money, time, bool

inline constexpr std::int64_t kNullTime = std::numeric_limits<std::int64_t>::min();

// One column. Only the vector of its type is filled, with one value per customer:
//   kString: codes (index into dictionary, -1 null)  kNumber, kMoney: numbers (NaN null;
//   money in major units)  kTime: times (µs since 1970 UTC, kNullTime null)  kBool: bools
//   (0, 1, -1 null).
struct Column {
  ColumnType type = ColumnType::kNumber;
  std::vector<std::int32_t> codes;
  std::vector<std::string> dictionary;
  std::vector<double> numbers;
  std::vector<std::int64_t> times;
  std::vector<std::int8_t> bools;

  bool IsNull(std::size_t c) const;
};

struct CustomerTable {
  std::size_t customers = 0;
  Timestamp as_of;
  // By field name: email, country, locale, created_at, attributes.<name>, consent.<channel>,
  // orders_count, revenue_total, revenue_percentile, average_order_value, first_order_at, last_order_at,
  // days_since_last_order, mrr, plan, subscription_status, tenure_days, nps_last_score,
  // nps_category, and with predictions
  // p_alive, expected_purchases_90d, clv_12m, rfm_r, rfm_f, rfm_m, rfm_segment.
  std::map<std::string, Column, std::less<>> columns;

  const Column* Find(std::string_view name) const;
};

// A column of `rows` rows holding `values` (row, value), the other rows null: typed like the
// values, or strings of their canonical text (FormatAttributeValue) when they have more than
// one type. All null (a bool column) when there are no values.
Column ColumnOfValues(std::size_t rows, const std::vector<std::pair<std::uint32_t, AttributeValue>>& values);

// The table of every customer in `s` as of `now`. `predictions` may be null (then the
// prediction columns are absent). An attribute whose values have more than one type across
// customers becomes a string column of their canonical text.
// `each`, when given, is called with every customer of the scan that is in `s` (its snapshot
// index and row), so that callers wanting more of the rows need not scan them again.
Result<CustomerTable> BuildCustomerTable(Store& store, const Snapshot& s,
                                         const CustomerPredictions* predictions, Timestamp now,
                                         const std::function<void(Snapshot::Index, const Customer&)>& each = {});

}  // namespace treu
