// One customer seen whole, for the dashboard's customer page: the header figures from the
// snapshot (orders, revenue, MRR), the saved segments they are in, their loyalty standing,
// and one merged timeline of everything that happened to them. Store and snapshot in, value
// types out; rendering is the caller's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/money.hpp"
#include "core/status.hpp"
#include "core/time.hpp"
#include "snapshot/snapshot.hpp"
#include "storage/store.hpp"

namespace treu {

// The snapshot index of the customer with store id `id`; nullopt when the snapshot doesn't
// know them (no orders or subscriptions yet).
std::optional<Snapshot::Index> SnapshotIndexOf(const Snapshot& s, CustomerId id);

// A customer's purchase and subscription figures as of `now`. Revenue is completed order
// totals minus refunds, in minor units of the snapshot's currency.
struct CustomerFigures {
  std::int64_t orders_count = 0;
  std::int64_t revenue_minor = 0;
  std::optional<double> average_order_value;  // major units; nullopt without orders
  std::optional<Timestamp> first_order_at, last_order_at;
  std::int64_t mrr_minor = 0;  // MRR at `now`, rounded half-even
};
CustomerFigures FiguresOf(const Snapshot& s, std::optional<Snapshot::Index> c, Timestamp now);

// What the customer page shows beside the customer record and predictions.
struct CustomerOverview {
  CustomerFigures figures;
  std::vector<std::string> segments;  // names of the saved segments they are in, by name
  std::optional<LoyaltyMember> loyalty;  // nullopt: not a loyalty member
};
// Reads the segments and loyalty standing of `customer` from the store.
Result<CustomerOverview> OverviewOf(Store& store, WorkspaceId ws, const Snapshot& s, const Customer& customer,
                                    Timestamp now);

enum class TimelineKind {
  kOrder, kRefund, kSubscription, kEvent, kSurveyResponse, kLoyalty, kSegmentEntered, kSegmentLeft
};
std::string_view TimelineKindName(TimelineKind k);

// One entry of a customer's timeline. Which fields are set depends on the kind:
// order: ref (order id), amount, status; refund: ref (order id), amount;
// subscription: ref (subscription id), amount (per interval), status, plan, interval;
// event: ref (event name), json (properties); survey_response: ref (survey name), score,
// json (answers); loyalty: ref (transfer kind), points, reason; segment_*: ref (segment name).
struct TimelineItem {
  Timestamp at;
  TimelineKind kind = TimelineKind::kEvent;
  std::string title;  // a short English line
  std::string ref;
  std::optional<Money> amount;
  std::string status, plan, interval;
  std::int64_t points = 0;
  std::string reason;
  std::optional<int> score;
  std::string json;
  std::int64_t order = 0;  // position within the source, for a stable order at equal times
};

// Everything that happened to `customer`, newest first (at equal times: by kind, then the
// later record first). Reads orders, subscriptions, events (by the customer's id), survey
// responses, loyalty transfers and segment transitions.
Result<std::vector<TimelineItem>> CustomerTimeline(Store& store, WorkspaceId ws, const Customer& customer);

}  // namespace treu
