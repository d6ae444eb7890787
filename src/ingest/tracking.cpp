#include "ingest/tracking.hpp"

#include <algorithm>
#include <iterator>

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
  Done done;
  std::optional<Result<TrackingResult>> result;  // set by the writer thread
};

TrackingWriter::TrackingWriter(std::unique_ptr<Store> store, const Clock& clock,
                               std::function<void(std::int64_t)> on_commit)
    : store_(std::move(store)),
      clock_(clock),
      on_commit_(std::move(on_commit)),
      thread_([this] { Run(); }) {}

TrackingWriter::~TrackingWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();  // writes and answers what is queued
}

std::int64_t TrackingWriter::commits() const {
  std::lock_guard lock(mu_);
  return commits_;
}

void TrackingWriter::Submit(WorkspaceId ws, std::vector<TrackingMessage> messages, Done done) {
  auto p = std::make_unique<Pending>(ws, std::move(messages), std::move(done), std::nullopt);
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(p));
      cv_.notify_one();
      return;
    }
  }
  p->done(Unavailable("tracking", "the server is shutting down"));
}

Result<TrackingResult> TrackingWriter::Write(WorkspaceId ws, std::vector<TrackingMessage> messages) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<Result<TrackingResult>> out;
  Submit(ws, std::move(messages), [&](Result<TrackingResult> r) {
    std::lock_guard lock(m);
    out = std::move(r);
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return out.has_value(); });
  return std::move(*out);
}

void TrackingWriter::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    std::vector<std::unique_ptr<Pending>> group;
    group.reserve(queue_.size());
    for (auto& p : queue_) group.push_back(std::move(p));
    queue_.clear();
    ++commits_;
    lock.unlock();
    WriteGroup(group);
    if (on_commit_) on_commit_(static_cast<std::int64_t>(group.size()));
    for (auto& p : group) p->done(std::move(*p->result));
    group.clear();
    lock.lock();
  }
}

void TrackingWriter::WriteGroup(std::vector<std::unique_ptr<Pending>>& group) {
  // One transaction per workspace for all its waiting requests.
  std::vector<WorkspaceId> workspaces;
  for (const auto& p : group) {
    if (std::find(workspaces.begin(), workspaces.end(), p->ws) == workspaces.end()) {
      workspaces.push_back(p->ws);
    }
  }
  for (WorkspaceId ws : workspaces) {
    std::vector<Pending*> mine;
    for (const auto& p : group) {
      if (p->ws == ws) mine.push_back(p.get());
    }
    if (mine.size() > 1) {
      std::vector<TrackingMessage> all;
      for (Pending* p : mine) {
        std::move(p->messages.begin(), p->messages.end(), std::back_inserter(all));
      }
      auto together = IngestTracking(*store_, ws, all, clock_);
      std::size_t at = 0;
      for (Pending* p : mine) {
        TrackingResult r;
        for (std::size_t i = 0; i < p->messages.size(); ++i, ++at) {
          // Back to their request, for the retry alone if the group failed.
          p->messages[i] = std::move(all[at]);
          if (!together) continue;
          const bool dup = together->duplicate[at];
          r.duplicate.push_back(dup);
          ++(dup ? r.duplicates : r.stored);
        }
        if (together) p->result = std::move(r);
      }
      if (together) continue;
    }
    // Alone (or after the group failed): each request in its own transaction.
    for (Pending* p : mine) p->result = IngestTracking(*store_, ws, p->messages, clock_);
  }
}

}  // namespace treu
