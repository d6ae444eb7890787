#include "analytics/customer_view.hpp"

#include <algorithm>
#include <map>

namespace treu {

std::optional<Snapshot::Index> SnapshotIndexOf(const Snapshot& s, CustomerId id) {
  const auto n = static_cast<Snapshot::Index>(s.customers());
  for (Snapshot::Index c = 0; c < n; ++c) {
    if (s.customer_id(c) == id) return c;
  }
  return std::nullopt;
}

CustomerFigures FiguresOf(const Snapshot& s, std::optional<Snapshot::Index> c, Timestamp now) {
  CustomerFigures f;
  if (!c) return f;
  const auto times = s.order_times(*c);
  const auto totals = s.order_totals(*c);
  f.orders_count = static_cast<std::int64_t>(times.size());
  for (std::int64_t t : totals) f.revenue_minor += t;
  for (std::int64_t r : s.refund_amounts(*c)) f.revenue_minor -= r;
  if (!times.empty()) {
    f.first_order_at = Timestamp{times.front()};
    f.last_order_at = Timestamp{times.back()};
    double per_major = 1;
    for (int i = 0; i < s.currency().exponent(); ++i) per_major *= 10;
    f.average_order_value =
        static_cast<double>(f.revenue_minor) / per_major / static_cast<double>(f.orders_count);
  }
  f.mrr_minor = MrrUnitsToMinor(s.MrrAt(*c, now));
  return f;
}

Result<CustomerOverview> OverviewOf(Store& store, WorkspaceId ws, const Snapshot& s, const Customer& customer,
                                    Timestamp now) {
  CustomerOverview out;
  out.figures = FiguresOf(s, SnapshotIndexOf(s, customer.id), now);
  TREU_ASSIGN_OR_RETURN(auto member_of, store.CustomerSegments(ws, customer.id));
  if (!member_of.empty()) {
    TREU_ASSIGN_OR_RETURN(auto all, store.ListSegments(ws));
    for (const auto& [segment_id, since] : member_of) {
      for (const SegmentDefinition& d : all) {
        if (d.id == segment_id) out.segments.push_back(d.name);
      }
    }
    std::sort(out.segments.begin(), out.segments.end());
  }
  TREU_ASSIGN_OR_RETURN(out.loyalty, store.FindLoyaltyMember(ws, customer.id));
  return out;
}

std::string_view TimelineKindName(TimelineKind k) {
  switch (k) {
    case TimelineKind::kOrder: return "order";
    case TimelineKind::kRefund: return "refund";
    case TimelineKind::kSubscription: return "subscription";
    case TimelineKind::kEvent: return "event";
    case TimelineKind::kSurveyResponse: return "survey_response";
    case TimelineKind::kLoyalty: return "loyalty";
    case TimelineKind::kSegmentEntered: return "segment_entered";
    case TimelineKind::kSegmentLeft: return "segment_left";
  }
  return "event";
}

namespace {

constexpr int kPage = 1000;

std::string MoneyText(const Money& m) {
  return FormatMajorUnits(m.minor, m.currency) + " " + std::string(m.currency.code());
}

Status AddOrders(Store& store, WorkspaceId ws, const Customer& customer, std::vector<TimelineItem>& out) {
  std::int64_t after = 0;
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ListOrders(ws, customer.external_id, after, kPage));
    for (const Order& o : page) {
      TimelineItem item;
      item.at = o.placed_at;
      item.kind = TimelineKind::kOrder;
      item.ref = o.external_id;
      item.amount = o.total;
      item.status = std::string(OrderStatusName(o.status));
      item.title = "Order " + o.external_id + " (" + MoneyText(o.total) + ")";
      if (o.status != OrderStatus::kCompleted) item.title += ", " + item.status;
      item.order = o.id.value;
      out.push_back(std::move(item));
      for (const auto& r : o.refunds) {
        TimelineItem refund;
        refund.at = r.refunded_at;
        refund.kind = TimelineKind::kRefund;
        refund.ref = o.external_id;
        refund.amount = Money{r.amount_minor, o.total.currency};
        refund.title = "Refund of " + MoneyText(*refund.amount) + " on order " + o.external_id;
        refund.order = o.id.value;
        out.push_back(std::move(refund));
      }
    }
    if (static_cast<int>(page.size()) < kPage) return Ok();
    after = page.back().id.value;
  }
}

Status AddSubscriptions(Store& store, WorkspaceId ws, const Customer& customer, std::vector<TimelineItem>& out) {
  std::int64_t after = 0;
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ListSubscriptions(ws, customer.external_id, after, kPage));
    for (const Subscription& sub : page) {
      for (std::size_t i = 0; i < sub.history.size(); ++i) {
        const SubscriptionState& st = sub.history[i];
        TimelineItem item;
        item.at = st.effective_at;
        item.kind = TimelineKind::kSubscription;
        item.ref = sub.external_id;
        item.amount = Money{st.amount_minor, sub.currency};
        item.status = std::string(SubscriptionStatusName(st.status));
        item.plan = st.plan;
        item.interval = std::string(BillingIntervalName(st.interval));
        item.title = (i == 0 ? "Subscription " + sub.external_id + " started: " : "Subscription " + sub.external_id + " changed: ") +
                     (st.plan.empty() ? "" : st.plan + ", ") + MoneyText(*item.amount) + " per " + item.interval +
                     (st.status == SubscriptionStatus::kActive ? "" : " (" + item.status + ")");
        item.order = sub.id.value * 1000 + static_cast<std::int64_t>(i);
        out.push_back(std::move(item));
      }
      if (sub.ended_at) {
        TimelineItem item;
        item.at = *sub.ended_at;
        item.kind = TimelineKind::kSubscription;
        item.ref = sub.external_id;
        item.status = "ended";
        if (!sub.history.empty()) item.plan = sub.history.back().plan;
        item.title = "Subscription " + sub.external_id + " ended";
        item.order = sub.id.value * 1000 + 999;
        out.push_back(std::move(item));
      }
    }
    if (static_cast<int>(page.size()) < kPage) return Ok();
    after = page.back().id.value;
  }
}

Status AddEvents(Store& store, WorkspaceId ws, const Customer& customer, std::vector<TimelineItem>& out) {
  std::int64_t after = 0;
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ListEvents(ws, customer.external_id, after, kPage));
    for (const Event& e : page) {
      TimelineItem item;
      item.at = e.timestamp;
      item.kind = TimelineKind::kEvent;
      item.ref = e.name;
      item.status = std::string(EventTypeName(e.type));
      item.json = e.properties_json;
      item.title = e.type == EventType::kTrack ? e.name
                   : e.name.empty()            ? std::string(EventTypeName(e.type))
                                               : std::string(EventTypeName(e.type)) + ": " + e.name;
      item.order = e.id.value;
      out.push_back(std::move(item));
    }
    if (static_cast<int>(page.size()) < kPage) return Ok();
    after = page.back().id.value;
  }
}

Status AddSurveyResponses(Store& store, WorkspaceId ws, const Customer& customer, std::vector<TimelineItem>& out) {
  TREU_ASSIGN_OR_RETURN(auto responses, store.CustomerSurveyResponses(ws, customer.id));
  if (responses.empty()) return Ok();
  TREU_ASSIGN_OR_RETURN(auto surveys, store.ListSurveys(ws));
  std::map<std::int64_t, std::string> names;
  for (const SurveyRecord& s : surveys) names[s.id] = s.name;
  for (const SurveyResponse& r : responses) {
    TimelineItem item;
    item.at = r.created_at;
    item.kind = TimelineKind::kSurveyResponse;
    item.ref = names[r.survey_id];
    item.score = r.nps_score;
    item.json = r.answers;
    item.title = "Answered survey " + item.ref + (r.nps_score ? " (score " + std::to_string(*r.nps_score) + ")" : "");
    item.order = r.id;
    out.push_back(std::move(item));
  }
  return Ok();
}

Status AddLoyalty(Store& store, WorkspaceId ws, const Customer& customer, std::vector<TimelineItem>& out) {
  std::int64_t after = 0;
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ListLoyaltyTransfers(ws, customer.id, after, kPage));
    for (const LoyaltyTransferRecord& t : page) {
      TimelineItem item;
      item.at = t.at;
      item.kind = TimelineKind::kLoyalty;
      item.ref = t.kind;
      item.points = t.points;
      item.reason = t.reason;
      item.title = t.kind + " " + std::to_string(t.points) + " points" + (t.reason.empty() ? "" : ": " + t.reason);
      item.order = t.seq;
      out.push_back(std::move(item));
    }
    if (static_cast<int>(page.size()) < kPage) return Ok();
    after = page.back().seq;
  }
}

Status AddSegments(Store& store, WorkspaceId ws, const Customer& customer, std::vector<TimelineItem>& out) {
  TREU_ASSIGN_OR_RETURN(auto transitions, store.CustomerSegmentTransitions(ws, customer.id));
  if (transitions.empty()) return Ok();
  TREU_ASSIGN_OR_RETURN(auto segments, store.ListSegments(ws));
  std::map<std::int64_t, std::string> names;
  for (const SegmentDefinition& d : segments) names[d.id] = d.name;
  for (const SegmentTransition& t : transitions) {
    TimelineItem item;
    item.at = t.at;
    item.kind = t.entered ? TimelineKind::kSegmentEntered : TimelineKind::kSegmentLeft;
    item.ref = names[t.segment_id];
    item.title = (t.entered ? "Entered segment " : "Left segment ") + item.ref;
    item.order = t.id;
    out.push_back(std::move(item));
  }
  return Ok();
}

}  // namespace

Result<std::vector<TimelineItem>> CustomerTimeline(Store& store, WorkspaceId ws, const Customer& customer) {
  std::vector<TimelineItem> out;
  TREU_RETURN_IF_ERROR(AddOrders(store, ws, customer, out));
  TREU_RETURN_IF_ERROR(AddSubscriptions(store, ws, customer, out));
  TREU_RETURN_IF_ERROR(AddEvents(store, ws, customer, out));
  TREU_RETURN_IF_ERROR(AddSurveyResponses(store, ws, customer, out));
  TREU_RETURN_IF_ERROR(AddLoyalty(store, ws, customer, out));
  TREU_RETURN_IF_ERROR(AddSegments(store, ws, customer, out));
  std::stable_sort(out.begin(), out.end(), [](const TimelineItem& a, const TimelineItem& b) {
    if (a.at != b.at) return a.at > b.at;
    if (a.kind != b.kind) return a.kind > b.kind;
    return a.order > b.order;
  });
  return out;
}

}  // namespace treu
