#include "ingest/batch_writer.hpp"

#include <algorithm>
#include <unordered_map>

namespace treu {

BatchWriter::BatchWriter(Store& store, WorkspaceId ws, bool dry_run, std::size_t batch_rows,
                         const Clock& clock)
    : store_(store), ws_(ws), dry_run_(dry_run), batch_rows_(batch_rows), clock_(clock) {}

Status BatchWriter::Start() {
  if (dry_run_) return Ok();
  TREU_ASSIGN_OR_RETURN(tx_, store_.BeginWrite(ws_));
  return Ok();
}

Status BatchWriter::SetCurrency(const Currency& c) {
  if (!tx_ || currency_set_) return Ok();
  currency_set_ = true;
  return tx_->SetCurrency(c);
}

void BatchWriter::Abandon() {
  tx_.reset();
  customers_.clear();
  orders_.clear();
  subs_.clear();
  events_.clear();
}

void BatchWriter::NoteCustomer(const std::string& id) {
  if (!id.empty()) seen_.insert(id);
}

Status BatchWriter::Add(Order o) {
  NoteCustomer(o.customer_external_id);
  if (!tx_) return Ok();
  orders_.push_back(std::move(o));
  return orders_.size() >= batch_rows_ ? Flush() : Ok();
}

Status BatchWriter::Add(Customer c) {
  NoteCustomer(c.external_id);
  if (!tx_) return Ok();
  customers_.push_back(std::move(c));
  return customers_.size() >= batch_rows_ ? Flush() : Ok();
}

Status BatchWriter::Add(Subscription s) {
  NoteCustomer(s.customer_external_id);
  if (!tx_) return Ok();
  subs_.push_back(std::move(s));
  return subs_.size() >= batch_rows_ ? Flush() : Ok();
}

Status BatchWriter::Add(Event e) {
  if (!tx_) return Ok();
  events_.push_back(std::move(e));
  return events_.size() >= batch_rows_ ? Flush() : Ok();
}

Status BatchWriter::Flush() {
  if (!tx_) return Ok();
  // Customers first, so profile rows exist before orders refer to them.
  if (!customers_.empty()) {
    TREU_ASSIGN_OR_RETURN(WriteStats s, tx_->UpsertCustomers(customers_, clock_.Now()));
    stats_ += s;
    customers_.clear();
  }
  if (!orders_.empty()) {
    std::vector<std::string> ids;
    ids.reserve(orders_.size());
    for (const auto& o : orders_) ids.push_back(o.customer_external_id);
    TREU_ASSIGN_OR_RETURN(auto cids, tx_->ResolveCustomers(ids, clock_.Now()));
    for (std::size_t i = 0; i < orders_.size(); ++i) orders_[i].customer = cids[i];
    TREU_ASSIGN_OR_RETURN(WriteStats s, tx_->InsertOrders(orders_));
    stats_ += s;
    orders_.clear();
  }
  if (!subs_.empty()) TREU_RETURN_IF_ERROR(FlushSubscriptions());
  if (!events_.empty()) {
    std::vector<std::string> ids;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < events_.size(); ++i) {
      if (!events_[i].user_id.empty()) {
        ids.push_back(events_[i].user_id);
        which.push_back(i);
      }
    }
    TREU_ASSIGN_OR_RETURN(auto cids, tx_->ResolveCustomers(ids, clock_.Now()));
    for (std::size_t k = 0; k < which.size(); ++k) events_[which[k]].customer = cids[k];
    TREU_ASSIGN_OR_RETURN(WriteStats s, tx_->InsertEvents(events_));
    stats_ += s;
    events_.clear();
  }
  return Ok();
}

Status BatchWriter::FlushSubscriptions() {
  // Rows of one subscription within the batch become one history, sorted by time.
  std::vector<Subscription> merged;
  std::unordered_map<std::string, std::size_t> at;
  for (auto& s : subs_) {
    auto [it, fresh] = at.emplace(s.external_id, merged.size());
    if (fresh) {
      merged.push_back(std::move(s));
      continue;
    }
    Subscription& m = merged[it->second];
    if (s.ended_at) m.ended_at = s.ended_at;
    m.history.insert(m.history.end(), s.history.begin(), s.history.end());
  }
  std::vector<std::string> ids;
  ids.reserve(merged.size());
  for (auto& m : merged) {
    std::stable_sort(m.history.begin(), m.history.end(),
                     [](const auto& a, const auto& b) { return a.effective_at < b.effective_at; });
    m.history.erase(std::unique(m.history.begin(), m.history.end()), m.history.end());
    for (std::size_t i = 1; i < m.history.size(); ++i) {
      if (m.history[i].effective_at == m.history[i - 1].effective_at) {
        return Conflict("subscription " + m.external_id,
                        "two different rows take effect at " +
                            FormatTimestamp(m.history[i].effective_at));
      }
    }
    ids.push_back(m.customer_external_id);
  }
  TREU_ASSIGN_OR_RETURN(auto cids, tx_->ResolveCustomers(ids, clock_.Now()));
  for (std::size_t i = 0; i < merged.size(); ++i) merged[i].customer = cids[i];
  TREU_ASSIGN_OR_RETURN(WriteStats s, tx_->UpsertSubscriptions(merged));
  stats_ += s;
  subs_.clear();
  return Ok();
}

Status BatchWriter::Commit() {
  if (!tx_) return Ok();
  TREU_RETURN_IF_ERROR(Flush());
  TREU_RETURN_IF_ERROR(tx_->Commit());
  tx_.reset();
  committed_ = true;
  return Ok();
}

}  // namespace treu
