// Segment-spec tracking calls (identify, track, page, screen, group, alias) as domain facts:
// every call is stored as an event, deduplicated by messageId; identify updates the
// customer's profile; the e-commerce events "Order Completed" and "Order Refunded" become
// orders and refunds. JSON parsing happens at the edge (api/); this service sees values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "storage/store.hpp"

namespace treu {

struct TrackingMessage {
  Event event;  // type, name, message_id, user_id, anonymous_id, timestamp, properties_json
  // identify: the profile fields and attributes taken from traits (external_id = userId).
  std::optional<Customer> profile;
  // "Order Completed": the order (customer_external_id = userId; total in its currency,
  // or in the workspace's when `currency_code` is empty).
  std::optional<Order> order;
  std::string order_total_text;  // the total as sent, parsed once the currency is known
  std::string currency_code;
  // "Order Refunded": the order id and the refunded amount as sent (empty: the whole order).
  std::optional<std::string> refund_order_id;
  std::string refund_total_text;
};

struct TrackingResult {
  std::int64_t stored = 0;      // new events
  std::int64_t duplicates = 0;  // messageIds seen before (client retries)
};

// Writes the messages in one transaction: all or nothing, durable when this returns OK.
// InvalidArgument (context "/batch/N/field" style JSON pointers) when a message can't be
// applied, e.g. a total with too many decimals or a refund of an unknown order.
Result<TrackingResult> IngestTracking(Store& store, WorkspaceId ws,
                                      std::vector<TrackingMessage>& messages, const Clock& clock);

}  // namespace treu
