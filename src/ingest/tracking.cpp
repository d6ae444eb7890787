#include "ingest/tracking.hpp"

#include <algorithm>

namespace treu {

Result<TrackingResult> IngestTracking(Store& store, WorkspaceId ws,
                                      std::vector<TrackingMessage>& messages, const Clock& clock) {
  TREU_ASSIGN_OR_RETURN(auto workspaces, store.ListWorkspaces());
  std::optional<Currency> currency;
  for (const auto& w : workspaces) {
    if (w.id == ws) currency = w.currency;
  }
  const Timestamp now = clock.Now();
  TREU_ASSIGN_OR_RETURN(auto tx, store.BeginWrite(ws));
  TrackingResult result;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    TrackingMessage& m = messages[i];
    const std::string at = "/batch/" + std::to_string(i);
    // The event first: a messageId seen before is a client's retry and changes nothing.
    if (!m.event.user_id.empty()) {
      std::vector<std::string> ext{m.event.user_id};
      TREU_ASSIGN_OR_RETURN(auto ids, tx->ResolveCustomers(ext, now));
      m.event.customer = ids[0];
      // Identity resolution: a call that carries both ids links the anonymous one (and an
      // alias links its previousId); the anonymous id's earlier events join the customer.
      if (!m.event.anonymous_id.empty()) {
        TREU_RETURN_IF_ERROR(tx->LinkAnonymousId(m.event.anonymous_id, m.event.customer, now));
      }
      if (m.event.type == EventType::kAlias && !m.event.name.empty()) {
        TREU_RETURN_IF_ERROR(tx->LinkAnonymousId(m.event.name, m.event.customer, now));
      }
    } else if (!m.event.anonymous_id.empty()) {
      TREU_ASSIGN_OR_RETURN(m.event.customer, tx->FindAnonymousId(m.event.anonymous_id));
    }
    m.event.received_at = now;
    TREU_ASSIGN_OR_RETURN(WriteStats s, tx->InsertEvents(std::span(&m.event, 1)));
    result.duplicate.push_back(s.inserted == 0);
    if (s.inserted == 0) {
      ++result.duplicates;
      continue;
    }
    ++result.stored;
    if (m.profile) {
      TREU_RETURN_IF_ERROR(tx->UpsertCustomers(std::span(&*m.profile, 1), now));
    }
    if (m.order) {
      Currency cur;
      if (!m.currency_code.empty()) {
        auto c = Currency::FromCode(m.currency_code);
        if (!c) return InvalidArgument(at + "/properties/currency", c.error().detail());
        cur = *c;
      } else if (currency) {
        cur = *currency;
      } else {
        return InvalidArgument(at + "/properties/currency",
                               "is required: the workspace has no reporting currency yet");
      }
      if (!currency) {
        TREU_RETURN_IF_ERROR(tx->SetCurrency(cur));
        currency = cur;
      } else if (!(cur == *currency)) {
        return InvalidArgument(at + "/properties/currency",
                               std::string(cur.code()) + " differs from the workspace's reporting "
                               "currency " + std::string(currency->code()));
      }
      auto total = ParseMinorUnits(m.order_total_text, cur);
      if (!total) return InvalidArgument(at + "/properties/total", total.error().detail());
      m.order->total = Money{*total, cur};
      if (auto v = ValidateOrder(*m.order); !v) {
        return InvalidArgument(at + "/properties/" + v.error().context(), v.error().detail());
      }
      std::vector<std::string> ext{m.order->customer_external_id};
      TREU_ASSIGN_OR_RETURN(auto ids, tx->ResolveCustomers(ext, now));
      m.order->customer = ids[0];
      TREU_RETURN_IF_ERROR(tx->InsertOrders(std::span(&*m.order, 1)));
    }
    if (m.refund_order_id) {
      TREU_ASSIGN_OR_RETURN(auto stored, store.FindOrder(ws, *m.refund_order_id));
      if (!stored) {
        return InvalidArgument(at + "/properties/order_id",
                               "no order '" + *m.refund_order_id + "' to refund");
      }
      std::int64_t amount = stored->total.minor;
      if (!m.refund_total_text.empty()) {
        auto a = ParseMinorUnits(m.refund_total_text, stored->total.currency);
        if (!a || *a <= 0) {
          return InvalidArgument(at + "/properties/total", "is not a positive amount");
        }
        amount = *a;
      }
      Order refunded = *stored;
      refunded.refunds.push_back({m.event.timestamp, amount});
      if (amount == stored->total.minor) refunded.status = OrderStatus::kRefunded;
      TREU_RETURN_IF_ERROR(tx->InsertOrders(std::span(&refunded, 1)));
    }
  }
  TREU_RETURN_IF_ERROR(tx->Commit());
  return result;
}

struct TrackingWriter::Pending {
  WorkspaceId ws;
  std::vector<TrackingMessage> messages;
  std::optional<Result<TrackingResult>> result;  // set by the writer thread
};

TrackingWriter::TrackingWriter(std::unique_ptr<Store> store, const Clock& clock)
    : store_(std::move(store)), clock_(clock), thread_([this] { Run(); }) {}

TrackingWriter::~TrackingWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::int64_t TrackingWriter::commits() const {
  std::lock_guard lock(mu_);
  return commits_;
}

Result<TrackingResult> TrackingWriter::Write(WorkspaceId ws, std::vector<TrackingMessage> messages) {
  Pending p{ws, std::move(messages), std::nullopt};
  std::unique_lock lock(mu_);
  if (stopping_) return Unavailable("tracking", "the server is shutting down");
  queue_.push_back(&p);
  cv_.notify_all();
  cv_.wait(lock, [&] { return p.result.has_value(); });
  return std::move(*p.result);
}

void TrackingWriter::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    std::vector<Pending*> group(queue_.begin(), queue_.end());
    queue_.clear();
    lock.unlock();
    WriteGroup(group);
    lock.lock();
    ++commits_;
    cv_.notify_all();
  }
}

void TrackingWriter::WriteGroup(std::vector<Pending*>& group) {
  // One transaction per workspace for all its waiting requests.
  std::vector<WorkspaceId> workspaces;
  for (Pending* p : group) {
    if (std::find(workspaces.begin(), workspaces.end(), p->ws) == workspaces.end()) {
      workspaces.push_back(p->ws);
    }
  }
  for (WorkspaceId ws : workspaces) {
    std::vector<Pending*> mine;
    std::vector<TrackingMessage> all;
    for (Pending* p : group) {
      if (p->ws != ws) continue;
      mine.push_back(p);
      all.insert(all.end(), p->messages.begin(), p->messages.end());
    }
    std::optional<Result<TrackingResult>> together;
    if (mine.size() > 1) together = IngestTracking(*store_, ws, all, clock_);
    if (together && *together) {
      const TrackingResult& tr = **together;
      std::size_t at = 0;
      for (Pending* p : mine) {
        TrackingResult r;
        for (std::size_t i = 0; i < p->messages.size(); ++i, ++at) {
          const bool dup = tr.duplicate[at];
          r.duplicate.push_back(dup);
          ++(dup ? r.duplicates : r.stored);
        }
        std::lock_guard lock(mu_);
        p->result = std::move(r);
      }
      continue;
    }
    // Alone (or after the group failed): each request in its own transaction.
    for (Pending* p : mine) {
      auto r = IngestTracking(*store_, ws, p->messages, clock_);
      std::lock_guard lock(mu_);
      p->result = std::move(r);
    }
  }
}

}  // namespace treu
