// The in-memory, columnar view of one workspace that analytics read: per customer (dense
// index 0..n-1) their completed orders, refunds and MRR over time, as sorted columns.
//
// A Snapshot is immutable; readers share it through std::shared_ptr<const Snapshot> and never
// block the writer. It is a base — columns with offsets (CSR), built once from the store — plus
// an overlay of the customers changed since: a two-level table (64 × 64) of buckets of shared,
// immutable per-customer facts. Applying a change copies the top table, one second-level
// table and one bucket, so a new version costs microseconds and shares everything else with
// the previous one; when the overlay grows past 1/16 of the customers, it is folded into a
// new base.
//
// MRR is kept exactly in MRR units of 1/120,000 of a minor unit: a state's amount × quantity ×
// (10,000 − discount basis points) × {day 365, week 52, month 12, quarter 4, year 1} is an
// integer in these units (twelfths of a minor unit per basis point), so sums and movements
// are exact; amounts are rounded half-even to minor units only for display.
#pragma once

#include <array>
#include <cstdlib>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
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

// One customer's facts, each list sorted by time.
struct CustomerFacts {
  CustomerId id;
  std::string external_id;
  std::vector<std::int64_t> order_id, order_at, order_total;      // completed orders
  std::vector<std::int64_t> refund_order, refund_at, refund_amount;
  std::vector<std::int64_t> mrr_at, mrr_value;  // MRR from mrr_at[i] on (MRR units)
};

class Snapshot {
 public:
  using Index = std::uint32_t;  // a customer's dense index

  const Workspace& workspace() const { return base_->workspace; }
  // The reporting currency (EUR when the workspace has none yet: then there is no money).
  const Currency& currency() const { return base_->currency; }
  std::size_t customers() const { return customers_; }
  const std::string& external_id(Index c) const;
  CustomerId customer_id(Index c) const;
  // The change-log position this version reflects.
  std::int64_t change_seq() const { return seq_; }

  // Completed orders (status completed or refunded — a refund is a later event; cancelled
  // orders never count) of customer c, sorted by time.
  std::span<const std::int64_t> order_times(Index c) const;
  std::span<const std::int64_t> order_totals(Index c) const;
  // Refunds of c's orders, sorted by time.
  std::span<const std::int64_t> refund_times(Index c) const;
  std::span<const std::int64_t> refund_amounts(Index c) const;
  // c's total MRR as a step function: from mrr_times[i] on it is mrr_values[i] (MRR units),
  // before the first point 0. Sorted by time, no two points at the same time.
  std::span<const std::int64_t> mrr_times(Index c) const;
  std::span<const std::int64_t> mrr_values(Index c) const;

  // c's MRR at instant t (MRR units).
  std::int64_t MrrAt(Index c, Timestamp t) const;
  // The first instant c had MRR > 0, if ever.
  std::optional<Timestamp> FirstMrr(Index c) const;
  // All of c's facts, copied.
  CustomerFacts Facts(Index c) const;

  std::int64_t total_orders() const;
  // Customers held in the overlay (changed since the base was built).
  std::size_t overlaid() const { return overlaid_; }
  // Bytes held by the base columns (not the overlay or the workspace record).
  std::size_t BaseBytes() const;

 private:
  friend class SnapshotBuilder;
  friend class SnapshotEditor;

  struct Base {
    Workspace workspace;
    Currency currency;
    std::vector<CustomerId> ids;
    std::vector<std::string> external_ids;
    std::vector<std::uint32_t> order_begin, refund_begin, mrr_begin;  // size customers + 1
    std::vector<std::int64_t> order_id, order_at, order_total;
    std::vector<std::int64_t> refund_order, refund_at, refund_amount;
    std::vector<std::int64_t> mrr_at, mrr_value;
  };
  static constexpr std::size_t kFanout = 64;  // top tables × second-level tables = buckets
  using Bucket = std::unordered_map<Index, std::shared_ptr<const CustomerFacts>>;
  using Level2 = std::array<std::shared_ptr<const Bucket>, kFanout>;
  static std::size_t Top(Index c) { return c % kFanout; }
  static std::size_t Second(Index c) { return (c / kFanout) % kFanout; }

  const CustomerFacts* Overlay(Index c) const {
    if (overlaid_ == 0) return nullptr;
    const auto& l2 = overlay_[Top(c)];
    if (!l2) return nullptr;
    const auto& b = (*l2)[Second(c)];
    if (!b) return nullptr;
    const auto it = b->find(c);
    return it == b->end() ? nullptr : it->second.get();
  }
  template <typename T>
  static std::span<const T> Range(const std::vector<T>& col, const std::vector<std::uint32_t>& begin,
                                  Index c) {
    return std::span<const T>(col.data() + begin[c], begin[c + 1] - begin[c]);
  }

  std::shared_ptr<const Base> base_;
  std::array<std::shared_ptr<const Level2>, kFanout> overlay_{};
  std::size_t customers_ = 0;  // base customers plus customers added since
  std::size_t overlaid_ = 0;
  std::int64_t seq_ = 0;
};

// Collects facts, then lays them out as the base of a new Snapshot. Customers are indexed in
// the order they are first seen.
class SnapshotBuilder {
 public:
  explicit SnapshotBuilder(Workspace workspace);

  // Customers by the store's id (CustomerKey) or only by external id (tests, tools).
  Snapshot::Index AddCustomer(const CustomerKey& key);
  Snapshot::Index AddCustomer(const std::string& external_id);
  // InvalidArgument when the order's currency isn't the workspace's.
  Status AddOrder(const Order& o);
  Status AddSubscription(const Subscription& s);
  // Lean facts from the store (AddCustomer first).
  void AddOrderFact(const OrderFact& o);
  void AddRefundFact(const RefundFact& r);
  void AddFacts(const CustomerFacts& f);  // a customer with all its facts

  std::shared_ptr<const Snapshot> Build(std::int64_t change_seq = 0);

  // The MRR deltas of one subscription: (time, change in MRR units), in time order.
  static std::vector<std::pair<std::int64_t, std::int64_t>> MrrDeltas(const Subscription& s);
  // A customer's MRR step function from the deltas of their subscriptions.
  static void MrrPoints(std::vector<std::pair<std::int64_t, std::int64_t>> deltas,
                        std::vector<std::int64_t>& at, std::vector<std::int64_t>& value);

 private:
  struct Row {
    Snapshot::Index customer;
    std::int64_t at;
    std::int64_t value;
    std::int64_t order;
  };
  Snapshot::Index IndexOfStoreId(CustomerId id);

  Workspace workspace_;
  std::vector<CustomerId> ids_;
  std::vector<std::string> external_ids_;
  std::unordered_map<std::string, Snapshot::Index> by_external_;
  std::unordered_map<std::int64_t, Snapshot::Index> by_id_;  // ids outside the dense range
  // Store ids are mostly consecutive: index by id − dense_base_ (kNoIndex: none).
  static constexpr Snapshot::Index kNoIndex = ~Snapshot::Index{0};
  std::int64_t dense_base_ = -1;
  std::vector<Snapshot::Index> dense_;
  // Rows in fixed blocks: growing never copies them (a large build would otherwise copy and
  // page-fault its rows several times over).
  class Rows {
   public:
    void push_back(const Row& r) {
      if (n_ % kBlock == 0) blocks_.push_back(NewBlock());
      blocks_.back()[n_ % kBlock] = r;
      ++n_;
    }
    std::size_t size() const { return n_; }
    template <typename F>
    void ForEach(F f) const {
      for (std::size_t i = 0; i < n_; ++i) f(blocks_[i / kBlock][i % kBlock]);
    }
    void clear() {
      blocks_.clear();
      n_ = 0;
    }

   private:
    static constexpr std::size_t kBlock = std::size_t{1} << 16;  // 2 MiB of rows
    struct Free {
      void operator()(Row* p) const { std::free(p); }
    };
    // A block on one 2 MiB huge page where the kernel offers them (one page fault, not 512).
    static std::unique_ptr<Row[], Free> NewBlock();
    std::vector<std::unique_ptr<Row[], Free>> blocks_;
    std::size_t n_ = 0;
  };
  Rows orders_, refunds_;
  std::vector<Row> mrr_deltas_;
};

// Makes new versions of a snapshot with some customers' facts replaced or added.
class SnapshotEditor {
 public:
  explicit SnapshotEditor(const Snapshot& from);
  // Replaces (or, with index == customers(), appends) a customer's facts.
  void Put(Snapshot::Index c, std::shared_ptr<const CustomerFacts> facts);
  std::size_t customers() const { return next_.customers_; }
  std::shared_ptr<const Snapshot> Finish(std::int64_t change_seq);

 private:
  Snapshot next_;
  std::array<bool, Snapshot::kFanout> copied_l2_{};                        // this editor's copies
  std::array<bool, Snapshot::kFanout * Snapshot::kFanout> copied_bucket_{};
};

// Reads the workspace's facts from the store (lean scans).
Result<std::shared_ptr<const Snapshot>> BuildSnapshot(Store& store, WorkspaceId ws);

// A workspace's snapshot kept current: Refresh applies the changes committed since the last
// version (change-log seq) to the overlay, reading only the changed rows; deletes, workspace
// changes, very many changes at once or a large overlay rebuild the base. Not thread-safe:
// one writer refreshes; any number of readers hold the versions it returns.
class LiveSnapshot {
 public:
  static Result<std::unique_ptr<LiveSnapshot>> Open(Store& store, WorkspaceId ws);
  Result<std::shared_ptr<const Snapshot>> Refresh(Store& store);
  std::shared_ptr<const Snapshot> current() const { return current_; }
  // Full rebuilds so far (the first build included), for metrics and tests.
  int rebuilds() const { return rebuilds_; }

 private:
  LiveSnapshot(WorkspaceId ws) : ws_(ws) {}
  Status Rebuild(Store& store);

  WorkspaceId ws_;
  std::shared_ptr<const Snapshot> current_;
  std::unordered_map<std::int64_t, Snapshot::Index> index_;  // store customer id → index
  // Subscriptions: their customer and MRR deltas, to recompute a customer's MRR.
  struct Sub {
    Snapshot::Index customer;
    std::vector<std::pair<std::int64_t, std::int64_t>> deltas;
  };
  std::unordered_map<std::int64_t, Sub> subs_;
  std::unordered_map<Snapshot::Index, std::vector<std::int64_t>> subs_of_;
  int rebuilds_ = 0;
};

// The live snapshots of a server process, one per workspace, opened on first use. Get
// refreshes the workspace's snapshot (one change-log read when nothing changed) and returns
// the current version. Thread-safe; refreshes of one workspace take turns.
class SnapshotCache {
 public:
  Result<std::shared_ptr<const Snapshot>> Get(Store& store, WorkspaceId ws);

 private:
  struct Entry {
    std::mutex mu;
    std::unique_ptr<LiveSnapshot> live;  // guarded by mu
  };
  std::mutex mu_;
  std::unordered_map<std::int64_t, std::unique_ptr<Entry>> entries_;  // guarded by mu_
};

}  // namespace treu
