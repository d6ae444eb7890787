#include "snapshot/snapshot.hpp"

#include <algorithm>

namespace treu {
namespace {

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

std::size_t Snapshot::MemoryBytes() const {
  std::size_t bytes = 0;
  for (const auto& s : external_ids_) bytes += sizeof(std::string) + (s.size() > 15 ? s.capacity() : 0);
  for (const auto* v : {&order_begin_, &refund_begin_, &mrr_begin_}) bytes += v->capacity() * 4;
  for (const auto* v : {&order_at_, &order_total_, &refund_at_, &refund_amount_, &mrr_at_, &mrr_value_}) {
    bytes += v->capacity() * 8;
  }
  return bytes;
}

SnapshotBuilder::SnapshotBuilder(Workspace workspace) : workspace_(std::move(workspace)) {}

Snapshot::Index SnapshotBuilder::IndexOf(const std::string& external_id) {
  auto [it, inserted] = index_.try_emplace(external_id, static_cast<Snapshot::Index>(ids_.size()));
  if (inserted) ids_.push_back(external_id);
  return it->second;
}

void SnapshotBuilder::AddCustomer(const std::string& external_id) { IndexOf(external_id); }

Status SnapshotBuilder::AddOrder(const Order& o) {
  if (workspace_.currency && !(o.total.currency == *workspace_.currency)) {
    return InvalidArgument("order " + o.external_id, "is in " + std::string(o.total.currency.code()) +
                                                         ", not the reporting currency");
  }
  if (o.status == OrderStatus::kCancelled) return Ok();
  const Snapshot::Index c = IndexOf(o.customer_external_id);
  orders_.push_back({c, o.placed_at.micros, o.total.minor});
  for (const auto& r : o.refunds) refunds_.push_back({c, r.refunded_at.micros, r.amount_minor});
  return Ok();
}

Status SnapshotBuilder::AddSubscription(const Subscription& s) {
  if (workspace_.currency && !(s.currency == *workspace_.currency)) {
    return InvalidArgument("subscription " + s.external_id,
                           "is in " + std::string(s.currency.code()) + ", not the reporting currency");
  }
  const Snapshot::Index c = IndexOf(s.customer_external_id);
  // The subscription's MRR as deltas: each state from its effective time, 0 from the end.
  std::int64_t current = 0;
  for (const auto& st : s.history) {
    if (s.ended_at && st.effective_at >= *s.ended_at) break;
    const std::int64_t at = std::max(st.effective_at.micros, s.started_at.micros);
    const std::int64_t v = StateMrrUnits(st);
    if (v != current) mrr_deltas_.push_back({c, at, v - current});
    current = v;
  }
  if (s.ended_at && current != 0) mrr_deltas_.push_back({c, s.ended_at->micros, -current});
  return Ok();
}

std::shared_ptr<const Snapshot> SnapshotBuilder::Build() {
  auto snap = std::make_shared<Snapshot>();
  snap->workspace_ = workspace_;
  snap->currency_ = workspace_.currency.value_or(Currency::FromCode("EUR").value());
  const std::size_t n = ids_.size();
  const auto by_customer_time = [](const Row& a, const Row& b) {
    return a.customer != b.customer ? a.customer < b.customer : a.at < b.at;
  };
  const auto lay_out = [n](std::vector<Row>& rows, std::vector<std::uint32_t>& begin,
                           std::vector<std::int64_t>& at, std::vector<std::int64_t>& value) {
    begin.assign(n + 1, 0);
    at.reserve(rows.size());
    value.reserve(rows.size());
    for (const Row& r : rows) {
      ++begin[r.customer + 1];
      at.push_back(r.at);
      value.push_back(r.value);
    }
    for (std::size_t i = 0; i < n; ++i) begin[i + 1] += begin[i];
    rows.clear();
    rows.shrink_to_fit();
  };
  std::stable_sort(orders_.begin(), orders_.end(), by_customer_time);
  std::stable_sort(refunds_.begin(), refunds_.end(), by_customer_time);
  lay_out(orders_, snap->order_begin_, snap->order_at_, snap->order_total_);
  lay_out(refunds_, snap->refund_begin_, snap->refund_at_, snap->refund_amount_);
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
      if (value != before) points.push_back({c, at, value});
    }
  }
  mrr_deltas_.clear();
  lay_out(points, snap->mrr_begin_, snap->mrr_at_, snap->mrr_value_);
  snap->external_ids_ = std::move(ids_);
  ids_.clear();
  index_.clear();
  return snap;
}

Result<std::shared_ptr<const Snapshot>> BuildSnapshot(Store& store, WorkspaceId ws) {
  TREU_ASSIGN_OR_RETURN(auto all, store.ListWorkspaces());
  const Workspace* w = nullptr;
  for (const auto& x : all) {
    if (x.id == ws) w = &x;
  }
  if (w == nullptr) return NotFound("workspace", "no workspace with id " + std::to_string(ws.value));
  SnapshotBuilder b(*w);
  TREU_RETURN_IF_ERROR(store.ScanCustomers(ws, [&](const Customer& c) { b.AddCustomer(c.external_id); }));
  Status failed = Ok();
  TREU_RETURN_IF_ERROR(store.ScanOrders(ws, [&](const Order& o) {
    if (failed) failed = b.AddOrder(o);
  }));
  TREU_RETURN_IF_ERROR(failed);
  TREU_RETURN_IF_ERROR(store.ScanSubscriptions(ws, [&](const Subscription& s) {
    if (failed) failed = b.AddSubscription(s);
  }));
  TREU_RETURN_IF_ERROR(failed);
  return b.Build();
}

}  // namespace treu
