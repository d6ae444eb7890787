// The in-memory, columnar view of one workspace that analytics read: per customer (dense
// index 0..n-1) their completed orders, refunds and MRR over time, as sorted columns with
// offsets (CSR). A snapshot is immutable once built; readers share it through
// std::shared_ptr<const Snapshot> and never block writers.
//
// MRR is kept exactly in MRR units of 1/120,000 of a minor unit: a state's amount × quantity ×
// (10,000 − discount basis points) × {day 365, week 52, month 12, quarter 4, year 1} is an
// integer in these units (twelfths of a minor unit per basis point), so sums and movements
// are exact; amounts are rounded half-even to minor units only for display.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/money.hpp"
#include "core/status.hpp"
#include "core/time.hpp"
#include "domain/domain.hpp"
#include "storage/store.hpp"

namespace treu {

// MRR units per minor unit.
inline constexpr std::int64_t kMrrUnitsPerMinor = 12 * kDiscountScale;

// The monthly recurring revenue of one subscription state, in MRR units; 0 unless the state
// bills (active or past due).
std::int64_t StateMrrUnits(const SubscriptionState& s);

// MRR units as minor units, rounded half to even.
std::int64_t MrrUnitsToMinor(std::int64_t units);

class Snapshot {
 public:
  using Index = std::uint32_t;  // a customer's dense index

  const Workspace& workspace() const { return workspace_; }
  // The reporting currency (EUR when the workspace has none yet: then there is no money).
  const Currency& currency() const { return currency_; }
  std::size_t customers() const { return external_ids_.size(); }
  const std::string& external_id(Index c) const { return external_ids_[c]; }

  // Completed orders (status completed or refunded — a refund is a later event; cancelled
  // orders never count) of customer c, sorted by time.
  std::span<const std::int64_t> order_times(Index c) const { return Range(order_at_, order_begin_, c); }
  std::span<const std::int64_t> order_totals(Index c) const {
    return Range(order_total_, order_begin_, c);
  }
  // Refunds of c's completed orders, sorted by time.
  std::span<const std::int64_t> refund_times(Index c) const { return Range(refund_at_, refund_begin_, c); }
  std::span<const std::int64_t> refund_amounts(Index c) const {
    return Range(refund_amount_, refund_begin_, c);
  }
  // c's total MRR as a step function: from mrr_times[i] on it is mrr_values[i] (MRR units),
  // before the first point 0. Sorted by time, no two points at the same time.
  std::span<const std::int64_t> mrr_times(Index c) const { return Range(mrr_at_, mrr_begin_, c); }
  std::span<const std::int64_t> mrr_values(Index c) const { return Range(mrr_value_, mrr_begin_, c); }

  // c's MRR at instant t (MRR units).
  std::int64_t MrrAt(Index c, Timestamp t) const;
  // The first instant c had MRR > 0, if ever.
  std::optional<Timestamp> FirstMrr(Index c) const;

  std::int64_t total_orders() const { return static_cast<std::int64_t>(order_at_.size()); }
  // Bytes held by the columns (not counting the workspace record).
  std::size_t MemoryBytes() const;

 private:
  friend class SnapshotBuilder;
  template <typename T>
  static std::span<const T> Range(const std::vector<T>& col, const std::vector<std::uint32_t>& begin,
                                  Index c) {
    return std::span<const T>(col.data() + begin[c], begin[c + 1] - begin[c]);
  }

  Workspace workspace_;
  Currency currency_;
  std::vector<std::string> external_ids_;
  std::vector<std::uint32_t> order_begin_, refund_begin_, mrr_begin_;  // size customers + 1
  std::vector<std::int64_t> order_at_, order_total_;
  std::vector<std::int64_t> refund_at_, refund_amount_;
  std::vector<std::int64_t> mrr_at_, mrr_value_;
};

// Collects domain values, then lays them out as a Snapshot. Customers are indexed in the
// order they are first seen (by external id).
class SnapshotBuilder {
 public:
  explicit SnapshotBuilder(Workspace workspace);

  void AddCustomer(const std::string& external_id);
  // InvalidArgument when the order's currency isn't the workspace's.
  Status AddOrder(const Order& o);
  Status AddSubscription(const Subscription& s);

  std::shared_ptr<const Snapshot> Build();

 private:
  Snapshot::Index IndexOf(const std::string& external_id);

  struct Row {
    Snapshot::Index customer;
    std::int64_t at;
    std::int64_t value;
  };
  Workspace workspace_;
  std::vector<std::string> ids_;
  std::unordered_map<std::string, Snapshot::Index> index_;
  std::vector<Row> orders_, refunds_;
  // MRR changes of single subscriptions: (customer, at, delta), summed per customer on Build.
  std::vector<Row> mrr_deltas_;
};

// Reads the workspace's customers, orders and subscriptions from the store.
Result<std::shared_ptr<const Snapshot>> BuildSnapshot(Store& store, WorkspaceId ws);

}  // namespace treu
