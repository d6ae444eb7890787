#include "ingest/tracking.hpp"

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
    }
    m.event.received_at = now;
    TREU_ASSIGN_OR_RETURN(WriteStats s, tx->InsertEvents(std::span(&m.event, 1)));
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

}  // namespace treu
