#include "snapshot/snapshot.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <new>
#include <set>
#include <tuple>

namespace treu {
namespace {

constexpr std::int64_t kAllIds = std::numeric_limits<std::int64_t>::max();

std::int64_t IntervalFactor(BillingInterval i) {
  switch (i) {
    case BillingInterval::kDay: return 365;
    case BillingInterval::kWeek: return 52;
    case BillingInterval::kMonth: return 12;
    case BillingInterval::kQuarter: return 4;
    case BillingInterval::kYear: return 1;
  }
  return 0;
}

// Inserts the elements of the parallel columns so that `at` stays sorted (stable).
void InsertSorted(std::vector<std::int64_t>& a, std::vector<std::int64_t>& at, std::vector<std::int64_t>& b,
                  std::int64_t va, std::int64_t vat, std::int64_t vb) {
  const auto pos = static_cast<std::size_t>(std::upper_bound(at.begin(), at.end(), vat) - at.begin());
  a.insert(a.begin() + static_cast<std::ptrdiff_t>(pos), va);
  at.insert(at.begin() + static_cast<std::ptrdiff_t>(pos), vat);
  b.insert(b.begin() + static_cast<std::ptrdiff_t>(pos), vb);
}

// Removes the entries of `key` from the parallel columns.
void EraseKey(std::vector<std::int64_t>& key, std::vector<std::int64_t>& x, std::vector<std::int64_t>& y,
              std::int64_t k) {
  for (std::size_t i = key.size(); i-- > 0;) {
    if (key[i] != k) continue;
    key.erase(key.begin() + static_cast<std::ptrdiff_t>(i));
    x.erase(x.begin() + static_cast<std::ptrdiff_t>(i));
    y.erase(y.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

}  // namespace

std::int64_t StateMrrUnits(const SubscriptionState& s) {
  if (s.status != SubscriptionStatus::kActive && s.status != SubscriptionStatus::kPastDue) return 0;
  return s.amount_minor * s.quantity * (kDiscountScale - s.discount_bp) * IntervalFactor(s.interval);
}

std::int64_t MrrUnitsToMinor(std::int64_t units) {
  std::int64_t q = units / kMrrUnitsPerMinor;
  std::int64_t r = units % kMrrUnitsPerMinor;
  if (r < 0) {
    r += kMrrUnitsPerMinor;
    --q;
  }
  const std::int64_t twice = 2 * r;
  if (twice > kMrrUnitsPerMinor || (twice == kMrrUnitsPerMinor && (q & 1) != 0)) ++q;
  return q;
}

// ---------------------------------------------------------------------------------------------
// Snapshot

#define TREU_SNAPSHOT_COLUMN(name, facts_col, base_col, begin)              \
  std::span<const std::int64_t> Snapshot::name(Index c) const {             \
    if (const CustomerFacts* f = Overlay(c)) return f->facts_col;           \
    return Range(base_->base_col, base_->begin, c);                         \
  }
TREU_SNAPSHOT_COLUMN(order_times, order_at, order_at, order_begin)
TREU_SNAPSHOT_COLUMN(order_totals, order_total, order_total, order_begin)
TREU_SNAPSHOT_COLUMN(refund_times, refund_at, refund_at, refund_begin)
TREU_SNAPSHOT_COLUMN(refund_amounts, refund_amount, refund_amount, refund_begin)
TREU_SNAPSHOT_COLUMN(mrr_times, mrr_at, mrr_at, mrr_begin)
TREU_SNAPSHOT_COLUMN(mrr_values, mrr_value, mrr_value, mrr_begin)
#undef TREU_SNAPSHOT_COLUMN

const std::string& Snapshot::external_id(Index c) const {
  if (const CustomerFacts* f = Overlay(c)) return f->external_id;
  return base_->external_ids[c];
}

CustomerId Snapshot::customer_id(Index c) const {
  if (const CustomerFacts* f = Overlay(c)) return f->id;
  return base_->ids[c];
}

std::int64_t Snapshot::MrrAt(Index c, Timestamp t) const {
  const auto times = mrr_times(c);
  const auto it = std::upper_bound(times.begin(), times.end(), t.micros);
  if (it == times.begin()) return 0;
  return mrr_values(c)[static_cast<std::size_t>(it - times.begin() - 1)];
}

std::optional<Timestamp> Snapshot::FirstMrr(Index c) const {
  const auto times = mrr_times(c);
  const auto values = mrr_values(c);
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (values[i] > 0) return Timestamp{times[i]};
  }
  return std::nullopt;
}

CustomerFacts Snapshot::Facts(Index c) const {
  if (const CustomerFacts* f = Overlay(c)) return *f;
  CustomerFacts f;
  const Base& b = *base_;
  f.id = b.ids[c];
  f.external_id = b.external_ids[c];
  auto copy = [&](std::vector<std::int64_t>& to, const std::vector<std::int64_t>& col,
                  const std::vector<std::uint32_t>& begin) {
    const auto r = Range(col, begin, c);
    to.assign(r.begin(), r.end());
  };
  copy(f.order_id, b.order_id, b.order_begin);
  copy(f.order_at, b.order_at, b.order_begin);
  copy(f.order_total, b.order_total, b.order_begin);
  copy(f.refund_order, b.refund_order, b.refund_begin);
  copy(f.refund_at, b.refund_at, b.refund_begin);
  copy(f.refund_amount, b.refund_amount, b.refund_begin);
  copy(f.mrr_at, b.mrr_at, b.mrr_begin);
  copy(f.mrr_value, b.mrr_value, b.mrr_begin);
  return f;
}

std::int64_t Snapshot::total_orders() const {
  std::int64_t n = static_cast<std::int64_t>(base_->order_at.size());
  if (overlaid_ == 0) return n;
  for (const auto& l2 : overlay_) {
    if (!l2) continue;
    for (const auto& b : *l2) {
      if (!b) continue;
      for (const auto& [c, f] : *b) {
        n += static_cast<std::int64_t>(f->order_at.size());
        if (c < base_->ids.size()) n -= base_->order_begin[c + 1] - base_->order_begin[c];
      }
    }
  }
  return n;
}

std::size_t Snapshot::BaseBytes() const {
  const Base& b = *base_;
  std::size_t bytes = b.ids.capacity() * sizeof(CustomerId);
  for (const auto& s : b.external_ids) bytes += sizeof(std::string) + (s.size() > 15 ? s.capacity() + 1 : 0);
  for (const auto* v : {&b.order_begin, &b.refund_begin, &b.mrr_begin}) bytes += v->capacity() * 4;
  for (const auto* v : {&b.order_id, &b.order_at, &b.order_total, &b.refund_order, &b.refund_at,
                        &b.refund_amount, &b.mrr_at, &b.mrr_value}) {
    bytes += v->capacity() * 8;
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// SnapshotBuilder

namespace {

// Asks for transparent huge pages on [p, p + bytes) (Linux, where THP is "madvise"): large
// snapshot columns then fault in 2 MiB at a time. Harmless where unsupported.
void PreferHugePages(void* p, std::size_t bytes) {
  if (p != nullptr && bytes >= (std::size_t{2} << 20)) (void)::madvise(p, bytes, MADV_HUGEPAGE);
}

// Sizes `col` to n elements, asking for huge pages before the memory is first touched.
void SizeColumn(std::vector<std::int64_t>& col, std::size_t n) {
  col.clear();
  col.reserve(n);
  // The 2 MiB-aligned part of the buffer.
  const auto begin = reinterpret_cast<std::uintptr_t>(col.data());
  const std::uintptr_t huge = std::uintptr_t{2} << 20;
  const std::uintptr_t aligned = (begin + huge - 1) & ~(huge - 1);
  const std::uintptr_t end = begin + n * sizeof(std::int64_t);
  if (end > aligned) PreferHugePages(reinterpret_cast<void*>(aligned), (end - aligned) & ~(huge - 1));
  col.resize(n);
}

}  // namespace

std::unique_ptr<SnapshotBuilder::Row[], SnapshotBuilder::Rows::Free> SnapshotBuilder::Rows::NewBlock() {
  constexpr std::size_t bytes = kBlock * sizeof(Row);
  void* p = std::aligned_alloc(std::size_t{2} << 20, bytes);
  if (p == nullptr) throw std::bad_alloc();
  PreferHugePages(p, bytes);
  return std::unique_ptr<Row[], Free>(static_cast<Row*>(p));
}

SnapshotBuilder::SnapshotBuilder(Workspace workspace) : workspace_(std::move(workspace)) {}

Snapshot::Index SnapshotBuilder::AddCustomer(const CustomerKey& key) {
  const std::int64_t id = key.id.value;
  if (dense_base_ < 0) dense_base_ = id;
  const std::int64_t slot = id - dense_base_;
  // Dense while the ids stay within a few times the customers seen (store ids of one
  // workspace mostly are); others go to the map.
  if (slot >= 0 && slot < 4 * static_cast<std::int64_t>(ids_.size()) + 65536) {
    const auto u = static_cast<std::size_t>(slot);
    if (u >= dense_.size()) dense_.resize(std::max(u + 1, dense_.size() * 2), kNoIndex);
    if (dense_[u] != kNoIndex) return dense_[u];
    dense_[u] = static_cast<Snapshot::Index>(ids_.size());
  } else {
    auto [it, inserted] = by_id_.try_emplace(id, static_cast<Snapshot::Index>(ids_.size()));
    if (!inserted) return it->second;
  }
  ids_.push_back(key.id);
  external_ids_.push_back(key.external_id);
  return static_cast<Snapshot::Index>(ids_.size() - 1);
}

Snapshot::Index SnapshotBuilder::AddCustomer(const std::string& external_id) {
  auto [it, inserted] = by_external_.try_emplace(external_id, static_cast<Snapshot::Index>(ids_.size()));
  if (inserted) {
    ids_.push_back(CustomerId{});
    external_ids_.push_back(external_id);
  }
  return it->second;
}

Snapshot::Index SnapshotBuilder::IndexOfStoreId(CustomerId id) {
  if (dense_base_ >= 0) {
    const std::int64_t slot = id.value - dense_base_;
    if (slot >= 0 && static_cast<std::size_t>(slot) < dense_.size() &&
        dense_[static_cast<std::size_t>(slot)] != kNoIndex) {
      return dense_[static_cast<std::size_t>(slot)];
    }
  }
  if (auto it = by_id_.find(id.value); it != by_id_.end()) return it->second;
  return AddCustomer(CustomerKey{id, ""});
}

Status SnapshotBuilder::AddOrder(const Order& o) {
  if (workspace_.currency && !(o.total.currency == *workspace_.currency)) {
    return InvalidArgument("order " + o.external_id, "is in " + std::string(o.total.currency.code()) +
                                                         ", not the reporting currency");
  }
  if (o.status == OrderStatus::kCancelled) return Ok();
  const Snapshot::Index c = AddCustomer(o.customer_external_id);
  orders_.push_back({c, o.placed_at.micros, o.total.minor, o.id.value});
  for (const auto& r : o.refunds) refunds_.push_back({c, r.refunded_at.micros, r.amount_minor, o.id.value});
  return Ok();
}

std::vector<std::pair<std::int64_t, std::int64_t>> SnapshotBuilder::MrrDeltas(const Subscription& s) {
  // Each state from its effective time, 0 from the end.
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  std::int64_t current = 0;
  for (const auto& st : s.history) {
    if (s.ended_at && st.effective_at >= *s.ended_at) break;
    const std::int64_t at = std::max(st.effective_at.micros, s.started_at.micros);
    const std::int64_t v = StateMrrUnits(st);
    if (v != current) out.emplace_back(at, v - current);
    current = v;
  }
  if (s.ended_at && current != 0) out.emplace_back(s.ended_at->micros, -current);
  return out;
}

void SnapshotBuilder::MrrPoints(std::vector<std::pair<std::int64_t, std::int64_t>> deltas,
                                std::vector<std::int64_t>& at, std::vector<std::int64_t>& value) {
  std::stable_sort(deltas.begin(), deltas.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  at.clear();
  value.clear();
  std::int64_t v = 0;
  for (std::size_t i = 0; i < deltas.size();) {
    const std::int64_t t = deltas[i].first;
    const std::int64_t before = v;
    while (i < deltas.size() && deltas[i].first == t) v += deltas[i++].second;
    if (v != before) {
      at.push_back(t);
      value.push_back(v);
    }
  }
}

Status SnapshotBuilder::AddSubscription(const Subscription& s) {
  if (workspace_.currency && !(s.currency == *workspace_.currency)) {
    return InvalidArgument("subscription " + s.external_id,
                           "is in " + std::string(s.currency.code()) + ", not the reporting currency");
  }
  const Snapshot::Index c = s.customer.valid() && dense_base_ >= 0 ? IndexOfStoreId(s.customer)
                                                                  : AddCustomer(s.customer_external_id);
  for (const auto& [at, delta] : MrrDeltas(s)) mrr_deltas_.push_back({c, at, delta, 0});
  return Ok();
}

void SnapshotBuilder::AddOrderFact(const OrderFact& o) {
  if (o.status == OrderStatus::kCancelled) return;
  orders_.push_back({IndexOfStoreId(o.customer), o.placed_at.micros, o.total_minor, o.id});
}

void SnapshotBuilder::AddRefundFact(const RefundFact& r) {
  refunds_.push_back({IndexOfStoreId(r.customer), r.refunded_at.micros, r.amount_minor, r.order_id});
}

void SnapshotBuilder::AddFacts(const CustomerFacts& f) {
  const Snapshot::Index c = f.id.valid() ? AddCustomer(CustomerKey{f.id, f.external_id}) : AddCustomer(f.external_id);
  for (std::size_t i = 0; i < f.order_at.size(); ++i) orders_.push_back({c, f.order_at[i], f.order_total[i], f.order_id[i]});
  for (std::size_t i = 0; i < f.refund_at.size(); ++i) {
    refunds_.push_back({c, f.refund_at[i], f.refund_amount[i], f.refund_order[i]});
  }
  // The step function back as deltas.
  std::int64_t prev = 0;
  for (std::size_t i = 0; i < f.mrr_at.size(); ++i) {
    mrr_deltas_.push_back({c, f.mrr_at[i], f.mrr_value[i] - prev, 0});
    prev = f.mrr_value[i];
  }
}

std::shared_ptr<const Snapshot> SnapshotBuilder::Build(std::int64_t change_seq) {
  auto base = std::make_shared<Snapshot::Base>();
  base->workspace = workspace_;
  base->currency = workspace_.currency.value_or(Currency::FromCode("EUR").value());
  const std::size_t n = ids_.size();
  const auto by_customer_time = [](const Row& a, const Row& b) {
    return a.customer != b.customer ? a.customer < b.customer : a.at < b.at;
  };
  // Groups rows by customer with a counting sort (O(rows), the rows arrive in store id
  // order), then sorts each customer's few rows by time.
  const auto lay_out = [n](auto& rows, std::vector<std::uint32_t>& begin,
                           std::vector<std::int64_t>* key, std::vector<std::int64_t>& at,
                           std::vector<std::int64_t>& value) {
    auto each = [&rows](auto f) {
      if constexpr (requires { rows.ForEach(f); }) {
        rows.ForEach(f);
      } else {
        for (const Row& r : rows) f(r);
      }
    };
    begin.assign(n + 1, 0);
    each([&](const Row& r) { ++begin[r.customer + 1]; });
    for (std::size_t i = 0; i < n; ++i) begin[i + 1] += begin[i];
    std::vector<std::uint32_t> next(begin.begin(), begin.end() - 1);
    if (key != nullptr) SizeColumn(*key, rows.size());
    SizeColumn(at, rows.size());
    SizeColumn(value, rows.size());
    each([&](const Row& r) {
      const std::uint32_t i = next[r.customer]++;
      if (key != nullptr) (*key)[i] = r.order;
      at[i] = r.at;
      value[i] = r.value;
    });
    rows.clear();
    std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> tmp;
    for (std::size_t c = 0; c < n; ++c) {
      const auto b = at.begin() + begin[c], e = at.begin() + begin[c + 1];
      if (std::is_sorted(b, e)) continue;
      tmp.clear();
      for (std::uint32_t i = begin[c]; i < begin[c + 1]; ++i) {
        tmp.emplace_back(at[i], value[i], key != nullptr ? (*key)[i] : 0);
      }
      std::stable_sort(tmp.begin(), tmp.end(),
                       [](const auto& x, const auto& y) { return std::get<0>(x) < std::get<0>(y); });
      for (std::uint32_t i = begin[c], j = 0; i < begin[c + 1]; ++i, ++j) {
        at[i] = std::get<0>(tmp[j]);
        value[i] = std::get<1>(tmp[j]);
        if (key != nullptr) (*key)[i] = std::get<2>(tmp[j]);
      }
    }
  };
  lay_out(orders_, base->order_begin, &base->order_id, base->order_at, base->order_total);
  lay_out(refunds_, base->refund_begin, &base->refund_order, base->refund_at, base->refund_amount);
  // MRR: running sums of the deltas per customer, one point per instant where it changes.
  std::stable_sort(mrr_deltas_.begin(), mrr_deltas_.end(), by_customer_time);
  std::vector<Row> points;
  for (std::size_t i = 0; i < mrr_deltas_.size();) {
    const Snapshot::Index c = mrr_deltas_[i].customer;
    std::int64_t value = 0;
    while (i < mrr_deltas_.size() && mrr_deltas_[i].customer == c) {
      const std::int64_t at = mrr_deltas_[i].at;
      const std::int64_t before = value;
      while (i < mrr_deltas_.size() && mrr_deltas_[i].customer == c && mrr_deltas_[i].at == at) {
        value += mrr_deltas_[i++].value;
      }
      if (value != before) points.push_back({c, at, value, 0});
    }
  }
  mrr_deltas_.clear();
  mrr_deltas_.shrink_to_fit();
  lay_out(points, base->mrr_begin, nullptr, base->mrr_at, base->mrr_value);
  base->ids = std::move(ids_);
  base->external_ids = std::move(external_ids_);
  ids_.clear();
  external_ids_.clear();
  by_external_.clear();
  by_id_.clear();
  dense_.clear();
  dense_.shrink_to_fit();
  dense_base_ = -1;
  auto snap = std::make_shared<Snapshot>();
  snap->customers_ = n;
  snap->base_ = std::move(base);
  snap->seq_ = change_seq;
  return snap;
}

// ---------------------------------------------------------------------------------------------
// SnapshotEditor

SnapshotEditor::SnapshotEditor(const Snapshot& from) : next_(from) {}

void SnapshotEditor::Put(Snapshot::Index c, std::shared_ptr<const CustomerFacts> facts) {
  const std::size_t top = Snapshot::Top(c);
  const std::size_t second = Snapshot::Second(c);
  // Copy on first write in this editor: the second-level table, then the bucket. The copies
  // are this editor's own until Finish, so writing through const_cast is safe.
  if (!copied_l2_[top]) {
    next_.overlay_[top] = next_.overlay_[top] ? std::make_shared<Snapshot::Level2>(*next_.overlay_[top])
                                              : std::make_shared<Snapshot::Level2>();
    copied_l2_[top] = true;
  }
  auto& l2 = const_cast<Snapshot::Level2&>(*next_.overlay_[top]);
  if (!copied_bucket_[top * Snapshot::kFanout + second]) {
    l2[second] = l2[second] ? std::make_shared<Snapshot::Bucket>(*l2[second]) : std::make_shared<Snapshot::Bucket>();
    copied_bucket_[top * Snapshot::kFanout + second] = true;
  }
  auto& bucket = const_cast<Snapshot::Bucket&>(*l2[second]);
  if (bucket.insert_or_assign(c, std::move(facts)).second) ++next_.overlaid_;
  if (c >= next_.customers_) next_.customers_ = c + 1;
}

std::shared_ptr<const Snapshot> SnapshotEditor::Finish(std::int64_t change_seq) {
  next_.seq_ = change_seq;
  return std::make_shared<const Snapshot>(std::move(next_));
}

// ---------------------------------------------------------------------------------------------
// Building from the store

namespace {

// The workspace record and the latest change-log seq (read before the scans, so that a change
// committed during them is applied again on the next refresh; applying is idempotent).
Result<std::pair<Workspace, std::int64_t>> WorkspaceAndSeq(Store& store, WorkspaceId ws) {
  TREU_ASSIGN_OR_RETURN(auto all, store.ListWorkspaces());
  const Workspace* w = nullptr;
  for (const auto& x : all) {
    if (x.id == ws) w = &x;
  }
  if (w == nullptr) return NotFound("workspace", "no workspace with id " + std::to_string(ws.value));
  std::int64_t seq = 0;
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ReadChanges(ws, seq, 10000));
    if (page.empty()) break;
    seq = page.back().seq;
  }
  return std::make_pair(*w, seq);
}

Result<std::shared_ptr<const Snapshot>> BuildFrom(
    Store& store, const Workspace& w, std::int64_t seq,
    const std::function<void(const Subscription&, Snapshot::Index)>& on_subscription,
    std::unordered_map<std::int64_t, Snapshot::Index>* index) {
  SnapshotBuilder b(w);
  const WorkspaceId ws = w.id;
  // (No Store::Counts for sizing: counting costs more than growing the vectors.)
  if (index != nullptr) index->clear();
  // TREU_SNAPSHOT_TIMING=1 prints how long each step takes, to stderr.
  static const bool timing = std::getenv("TREU_SNAPSHOT_TIMING") != nullptr;
  auto t = std::chrono::steady_clock::now();
  auto lap = [&](const char* what) {
    if (!timing) return;
    const auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "snapshot: %-14s %8.3f s\n", what, std::chrono::duration<double>(now - t).count());
    t = now;
  };
  TREU_RETURN_IF_ERROR(store.ScanCustomerKeys(ws, 0, kAllIds, [&](const CustomerKey& k) {
    const Snapshot::Index c = b.AddCustomer(k);
    if (index != nullptr) index->emplace(k.id.value, c);
  }));
  lap("customers");
  TREU_RETURN_IF_ERROR(store.ScanOrderFacts(ws, 0, kAllIds, [&](const OrderFact& o) { b.AddOrderFact(o); }));
  lap("orders");
  TREU_RETURN_IF_ERROR(store.ScanRefundFacts(ws, 0, kAllIds, [&](const RefundFact& r) { b.AddRefundFact(r); }));
  lap("refunds");
  Status failed = Ok();
  TREU_RETURN_IF_ERROR(store.ScanSubscriptionRange(ws, 0, kAllIds, [&](const Subscription& s) {
    if (!failed) return;
    failed = b.AddSubscription(s);
    if (failed && on_subscription && index != nullptr) {
      if (auto it = index->find(s.customer.value); it != index->end()) on_subscription(s, it->second);
    }
  }));
  TREU_RETURN_IF_ERROR(failed);
  lap("subscriptions");
  auto snap = b.Build(seq);
  lap("layout");
  return snap;
}

}  // namespace

Result<std::shared_ptr<const Snapshot>> BuildSnapshot(Store& store, WorkspaceId ws) {
  TREU_ASSIGN_OR_RETURN(auto w, WorkspaceAndSeq(store, ws));
  return BuildFrom(store, w.first, w.second, nullptr, nullptr);  // no index: nothing to apply later
}

// ---------------------------------------------------------------------------------------------
// LiveSnapshot

Result<std::unique_ptr<LiveSnapshot>> LiveSnapshot::Open(Store& store, WorkspaceId ws) {
  std::unique_ptr<LiveSnapshot> live(new LiveSnapshot(ws));
  TREU_RETURN_IF_ERROR(live->Rebuild(store));
  return live;
}

Status LiveSnapshot::Rebuild(Store& store) {
  TREU_ASSIGN_OR_RETURN(auto w, WorkspaceAndSeq(store, ws_));
  subs_.clear();
  subs_of_.clear();
  TREU_ASSIGN_OR_RETURN(
      current_, BuildFrom(
                    store, w.first, w.second,
                    [&](const Subscription& s, Snapshot::Index c) {
                      subs_[s.id.value] = Sub{c, SnapshotBuilder::MrrDeltas(s)};
                      subs_of_[c].push_back(s.id.value);
                    },
                    &index_));
  ++rebuilds_;
  return Ok();
}

Result<std::shared_ptr<const Snapshot>> LiveSnapshot::Refresh(Store& store) {
  // Gather the changes since this version.
  std::vector<Change> changes;
  std::int64_t seq = current_->change_seq();
  bool rebuild = false;
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ReadChanges(ws_, seq, 10000));
    if (page.empty()) break;
    seq = page.back().seq;
    for (Change& c : page) {
      if (c.op == ChangeOp::kDelete && c.entity != Entity::kEvent && c.entity != Entity::kProduct) rebuild = true;
      if (c.entity == Entity::kWorkspace) rebuild = true;
      if (c.entity == Entity::kCustomer || c.entity == Entity::kOrder || c.entity == Entity::kSubscription) {
        changes.push_back(c);
      }
    }
    if (changes.size() > 100000) rebuild = true;
    if (rebuild) break;
  }
  if (seq == current_->change_seq()) return current_;
  if (!rebuild && current_->overlaid() > current_->customers() / 16 + 64) rebuild = true;
  if (rebuild) {
    TREU_RETURN_IF_ERROR(Rebuild(store));
    return current_;
  }
  // The changed customers' facts, starting from the current version.
  const Snapshot& cur = *current_;
  std::unordered_map<Snapshot::Index, CustomerFacts> edited;
  std::size_t customers = cur.customers();
  auto facts = [&](Snapshot::Index c) -> CustomerFacts& {
    auto it = edited.find(c);
    if (it == edited.end()) it = edited.emplace(c, c < cur.customers() ? cur.Facts(c) : CustomerFacts{}).first;
    return it->second;
  };
  auto index_of = [&](CustomerId id) -> Snapshot::Index {
    auto [it, added] = index_.try_emplace(id.value, static_cast<Snapshot::Index>(customers));
    if (added) {
      ++customers;
      facts(it->second).id = id;
    }
    return it->second;
  };
  std::set<Snapshot::Index> mrr_changed;
  for (const Change& ch : changes) {
    const std::int64_t a = ch.entity_id, z = ch.last_entity_id;
    if (ch.entity == Entity::kCustomer) {
      TREU_RETURN_IF_ERROR(store.ScanCustomerKeys(ws_, a, z, [&](const CustomerKey& k) {
        // A profile update that keeps the external id changes nothing here.
        if (auto it = index_.find(k.id.value); it != index_.end() && it->second < cur.customers() &&
                                               !edited.contains(it->second) &&
                                               cur.external_id(it->second) == k.external_id) {
          return;
        }
        CustomerFacts& f = facts(index_of(k.id));
        f.external_id = k.external_id;
      }));
    } else if (ch.entity == Entity::kOrder) {
      TREU_RETURN_IF_ERROR(store.ScanOrderFacts(ws_, a, z, [&](const OrderFact& o) {
        CustomerFacts& f = facts(index_of(o.customer));
        EraseKey(f.order_id, f.order_at, f.order_total, o.id);
        if (o.status != OrderStatus::kCancelled) {
          InsertSorted(f.order_id, f.order_at, f.order_total, o.id, o.placed_at.micros, o.total_minor);
        }
        EraseKey(f.refund_order, f.refund_at, f.refund_amount, o.id);
      }));
      TREU_RETURN_IF_ERROR(store.ScanRefundFacts(ws_, a, z, [&](const RefundFact& r) {
        CustomerFacts& f = facts(index_of(r.customer));
        InsertSorted(f.refund_order, f.refund_at, f.refund_amount, r.order_id, r.refunded_at.micros,
                     r.amount_minor);
      }));
    } else if (ch.entity == Entity::kSubscription) {
      TREU_RETURN_IF_ERROR(store.ScanSubscriptionRange(ws_, a, z, [&](const Subscription& s) {
        const Snapshot::Index c = index_of(s.customer);
        auto [it, added] = subs_.try_emplace(s.id.value);
        if (added) subs_of_[c].push_back(s.id.value);
        it->second = Sub{c, SnapshotBuilder::MrrDeltas(s)};
        mrr_changed.insert(c);
      }));
    }
  }
  for (Snapshot::Index c : mrr_changed) {
    std::vector<std::pair<std::int64_t, std::int64_t>> deltas;
    for (std::int64_t sid : subs_of_[c]) {
      const auto& d = subs_[sid].deltas;
      deltas.insert(deltas.end(), d.begin(), d.end());
    }
    CustomerFacts& f = facts(c);
    SnapshotBuilder::MrrPoints(std::move(deltas), f.mrr_at, f.mrr_value);
  }
  SnapshotEditor editor(cur);
  // New customers in index order, so every index below customers() exists.
  std::vector<Snapshot::Index> order;
  for (const auto& [c, f] : edited) order.push_back(c);
  std::sort(order.begin(), order.end());
  for (Snapshot::Index c : order) {
    editor.Put(c, std::make_shared<const CustomerFacts>(std::move(edited[c])));
  }
  current_ = editor.Finish(seq);
  return current_;
}

// ---------------------------------------------------------------------------------------------
// SnapshotCache

Result<std::shared_ptr<const Snapshot>> SnapshotCache::Get(Store& store, WorkspaceId ws) {
  Entry* e = nullptr;
  {
    std::lock_guard lock(mu_);
    auto& slot = entries_[ws.value];
    if (!slot) slot = std::make_unique<Entry>();
    e = slot.get();
  }
  std::lock_guard lock(e->mu);
  if (!e->live) {
    TREU_ASSIGN_OR_RETURN(e->live, LiveSnapshot::Open(store, ws));
    return e->live->current();
  }
  return e->live->Refresh(store);
}

}  // namespace treu
