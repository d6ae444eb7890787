#include "api/customer_routes.hpp"

#include <nlohmann/json.hpp>

#include "analytics/customer_view.hpp"
#include "analytics/model_fits.hpp"
#include "api/customer_json.hpp"
#include "api/models_json.hpp"
#include "api/problem.hpp"
#include "api/route_support.hpp"

namespace treu::api {
namespace {

using nlohmann::json;

json OptionalTime(const std::optional<Timestamp>& t) { return t ? json(FormatTimestamp(*t)) : json(nullptr); }

json MoneyJson(std::int64_t minor, const Currency& c) { return json::parse(FormatMajorUnits(minor, c)); }

Result<HttpResponse> CustomerSummary(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Customer c, CustomerOfPath(ctx));
  TREU_ASSIGN_OR_RETURN(auto snap, SnapshotOf(ctx));
  const Timestamp now = ctx.clock.Now();
  TREU_ASSIGN_OR_RETURN(CustomerOverview o, OverviewOf(ctx.store, ctx.workspace(), *snap, c, now));
  const Currency& cur = snap->currency();
  const CustomerFigures& f = o.figures;
  json out = CustomerToJson(c);
  out.erase("updated_at");
  out["consents"] = out["consent"];
  out.erase("consent");
  out["orders_count"] = f.orders_count;
  out["revenue_total"] = MoneyJson(f.revenue_minor, cur);
  out["average_order_value"] = f.average_order_value ? json(*f.average_order_value) : json(nullptr);
  out["first_order_at"] = OptionalTime(f.first_order_at);
  out["last_order_at"] = OptionalTime(f.last_order_at);
  out["mrr"] = MoneyJson(f.mrr_minor, cur);
  out["currency"] = snap->workspace().currency ? json(cur.code()) : json(nullptr);
  out["segments"] = o.segments;
  out["loyalty"] = o.loyalty ? json{{"available", o.loyalty->available},
                                    {"pending", o.loyalty->pending},
                                    {"held", o.loyalty->held},
                                    {"tier", o.loyalty->tier.empty() ? json(nullptr) : json(o.loyalty->tier)}}
                             : json(nullptr);
  out["predictions"] = nullptr;
  if (const auto index = SnapshotIndexOf(*snap, c.id); index && f.orders_count > 0) {
    auto p = CurrentPredictions(ctx.store, snap, now, ctx.predictions);
    if (p) {
      const json all = CustomerPredictionJson(*snap, **p, *index);
      out["predictions"] = {{"p_alive", all["p_alive"]},
                            {"expected_purchases_90d", all["expected_purchases_90d"]},
                            {"clv_12m", all["clv_12m"]},
                            {"summary", all["summary"]}};
    } else if (p.error().code() != ErrorCode::kFailedPrecondition) {
      return std::unexpected(p.error());
    }
  }
  return JsonResponse(out);
}

// The first free-text answer of a survey response's answers (a JSON object), "" if none.
std::string CommentOf(const std::string& answers) {
  const json a = json::parse(answers, nullptr, false);
  if (!a.is_object()) return "";
  for (const auto& [question, value] : a.items()) {
    if (value.is_string()) return value.get<std::string>();
  }
  return "";
}

json ParsedOrEmpty(const std::string& text) {
  json j = json::parse(text.empty() ? "{}" : text, nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

json TimelineItemJson(const TimelineItem& i) {
  json detail;
  auto amount = [&](const char* name) {
    if (i.amount) {
      detail[name] = MoneyJson(i.amount->minor, i.amount->currency);
      detail["currency"] = i.amount->currency.code();
    }
  };
  switch (i.kind) {
    case TimelineKind::kOrder:
      detail = {{"order_id", i.ref}, {"status", i.status}};
      amount("total");
      break;
    case TimelineKind::kRefund:
      detail = {{"order_id", i.ref}};
      amount("amount");
      break;
    case TimelineKind::kSubscription:
      detail = {{"subscription_id", i.ref}, {"status", i.status}, {"plan", i.plan},
                {"interval", i.interval.empty() ? json(nullptr) : json(i.interval)}};
      amount("amount");
      break;
    case TimelineKind::kEvent:
      detail = {{"name", i.ref}, {"type", i.status}, {"properties", ParsedOrEmpty(i.json)}};
      break;
    case TimelineKind::kSurveyResponse: {
      const std::string comment = CommentOf(i.json);
      detail = {{"survey", i.ref},
                {"score", i.score ? json(*i.score) : json(nullptr)},
                {"comment", comment.empty() ? json(nullptr) : json(comment)},
                {"answers", ParsedOrEmpty(i.json)}};
      break;
    }
    case TimelineKind::kLoyalty:
      detail = {{"kind", i.ref}, {"points", i.points}, {"reason", i.reason}};
      break;
    case TimelineKind::kSegmentEntered:
    case TimelineKind::kSegmentLeft:
      detail = {{"segment", i.ref}};
      break;
  }
  return {{"at", FormatTimestamp(i.at)}, {"kind", TimelineKindName(i.kind)}, {"title", i.title}, {"detail", detail}};
}

Result<HttpResponse> CustomerTimelineRoute(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  // The cursor holds how many items the previous pages showed.
  TREU_ASSIGN_OR_RETURN(std::int64_t offset, ParseCursor(ctx.request));
  TREU_ASSIGN_OR_RETURN(Customer c, CustomerOfPath(ctx));
  TREU_ASSIGN_OR_RETURN(auto items, CustomerTimeline(ctx.store, ctx.workspace(), c));
  json data = json::array();
  const auto n = static_cast<std::int64_t>(items.size());
  const std::int64_t end = std::min(n, offset + limit);
  for (std::int64_t i = offset; i < end; ++i) data.push_back(TimelineItemJson(items[static_cast<std::size_t>(i)]));
  return JsonResponse({{"data", data}, {"next_cursor", end < n ? json(CursorAfter(end)) : json(nullptr)}});
}

}  // namespace

std::vector<Route> CustomerRoutes() {
  const Access read = Access::Requires(Scope::kRead);
  return {
      {"GET", "/api/v1/customers/{id}/summary", read,
       "The customer-360 header: the customer record, orders, revenue, MRR, segments, loyalty and "
       "predictions (null until fitted)",
       CustomerSummary, "CustomerSummary"},
      {"GET", "/api/v1/customers/{id}/timeline", read,
       "Everything that happened to a customer, newest first: orders, refunds, subscription changes, "
       "events, survey responses, loyalty transfers, segments entered and left",
       CustomerTimelineRoute, "CustomerTimeline",
       {{"limit", "page size, 1 to 500 (default 50)"}, {"cursor", "next_cursor of the previous page"}}},
  };
}

}  // namespace treu::api
