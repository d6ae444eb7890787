#include "api/analytics_routes.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "analytics/kpis.hpp"
#include "api/analytics_json.hpp"
#include "api/problem.hpp"
#include "api/route_support.hpp"
#include "api/survey_json.hpp"
#include "segments/library.hpp"
#include "surveys/kpi_feedback.hpp"

namespace treu::api {
namespace {

using nlohmann::json;

Result<Period> PeriodParam(const RequestContext& ctx, const char* name, bool required) {
  const std::string* text = ctx.request.Query(name);
  if (text == nullptr) {
    if (required) return InvalidArgument(name, "is required, e.g. 2024-03, 2024-Q1, 2024 or 2024-W09");
    return Period::Day({1970, 1, 1});
  }
  auto p = Period::Parse(*text);
  if (!p) return InvalidArgument(name, p.error().detail());
  return *p;
}

// The workspace's analytics and the options from ?basis=, ?window=, ?segment= and ?where=.
struct Opened {
  std::unique_ptr<Analytics> first;
  KpiOptions second;
  std::shared_ptr<std::vector<bool>> selected;  // what second.customers points to, if set
};

Result<Opened> Open(RequestContext& ctx, bool predictions = false) {
  TREU_ASSIGN_OR_RETURN(auto snap, SnapshotOf(ctx));
  auto a = std::make_unique<Analytics>(snap);
  KpiOptions o = DefaultKpiOptions(*snap);
  std::shared_ptr<std::vector<bool>> selected;
  const std::string* where = ctx.request.Query("where");
  const std::string* segment = ctx.request.Query("segment");
  if ((where != nullptr && !where->empty()) || (segment != nullptr && !segment->empty())) {
    TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
    auto members = segment::SelectCustomers(ctx.store, ws, snap, where ? *where : "", segment ? *segment : "",
                                            ctx.clock.Now());
    if (!members) {
      const Error& e = members.error();
      if (e.code() == ErrorCode::kNotFound) return InvalidArgument("segment", e.detail());
      if (e.code() == ErrorCode::kInvalidArgument) return InvalidArgument(where ? "where" : "segment", e.detail());
      return std::unexpected(e);
    }
    selected = std::make_shared<std::vector<bool>>(std::move(*members));
    o.customers = selected.get();
  }
  if (const std::string* basis = ctx.request.Query("basis")) {
    auto b = ParseRetentionBasis(*basis);
    if (!b) return InvalidArgument("basis", "must be purchases, subscriptions or both");
    o.basis = *b;
  }
  if (const std::string* window = ctx.request.Query("window")) {
    TREU_ASSIGN_OR_RETURN(o.window_days, ParseWindowDays(*window));
  }
  if (predictions) {
    TREU_ASSIGN_OR_RETURN(o.clv_12m, CurrentClv(ctx.store, snap, ctx.clock.Now(), ctx.predictions));
  }
  return Opened{std::move(a), std::move(o), std::move(selected)};
}

Result<json> KpiJson(RequestContext& ctx, const Analytics& a, const KpiOptions& o, const std::string* only) {
  TREU_ASSIGN_OR_RETURN(Period period, PeriodParam(ctx, "period", true));
  int series = 0;
  if (const std::string* s = ctx.request.Query("series")) {
    const auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), series);
    if (ec != std::errc() || p != s->data() + s->size() || series < 1 || series > 120) {
      return InvalidArgument("series", "must be a whole number from 1 to 120");
    }
  }
  std::vector<std::string> ids;
  if (only != nullptr) ids.push_back(*only);
  KpiOptions with_feedback = o;
  TREU_ASSIGN_OR_RETURN(with_feedback.feedback,
                        survey::SurveyFeedback::Load(ctx.store, ctx.workspace(), a.snapshot(), SurveyOf));
  return KpisJson(a, period, series, with_feedback, ids);
}

Result<HttpResponse> ListKpis(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto opened, Open(ctx, true));
  TREU_ASSIGN_OR_RETURN(json out, KpiJson(ctx, *opened.first, opened.second, nullptr));
  return JsonResponse({{"data", out}});
}

Result<HttpResponse> GetKpi(RequestContext& ctx) {
  const std::string& id = ctx.params.at("id");
  if (FindKpi(id) == nullptr) return NotFound("kpi " + id, "no such metric");
  TREU_ASSIGN_OR_RETURN(auto opened, Open(ctx, id == "clv_predicted"));
  TREU_ASSIGN_OR_RETURN(json out, KpiJson(ctx, *opened.first, opened.second, &id));
  return JsonResponse(out.at(0));
}

Result<HttpResponse> GetMrr(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Period period, PeriodParam(ctx, "period", true));
  TREU_ASSIGN_OR_RETURN(auto opened, Open(ctx));
  const Analytics& a = *opened.first;
  const MrrMovements m = a.Movements(period.Start(a.zone()), period.End(a.zone()), opened.second);
  return JsonResponse(MrrJson(period, m, a.snapshot().currency()));
}

// The matrix options of ?by=, ?revenue=, ?from= and ?to=.
Result<CohortOptions> CohortParams(RequestContext& ctx) {
  CohortOptions c;
  if (const std::string* by = ctx.request.Query("by")) {
    if (*by == "month") c.by = PeriodKind::kMonth;
    else if (*by == "quarter") c.by = PeriodKind::kQuarter;
    else if (*by == "week") c.by = PeriodKind::kWeek;
    else return InvalidArgument("by", "must be month, quarter or week");
  }
  if (const std::string* rev = ctx.request.Query("revenue")) {
    if (*rev != "true" && *rev != "false") return InvalidArgument("revenue", "must be true or false");
    c.revenue = *rev == "true";
  }
  if (ctx.request.Query("from") != nullptr) {
    TREU_ASSIGN_OR_RETURN(c.from, PeriodParam(ctx, "from", true));
  }
  if (ctx.request.Query("to") != nullptr) {
    TREU_ASSIGN_OR_RETURN(c.to, PeriodParam(ctx, "to", true));
  }
  return c;
}

Result<HttpResponse> GetCohorts(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(CohortOptions c, CohortParams(ctx));
  TREU_ASSIGN_OR_RETURN(auto opened, Open(ctx));
  TREU_ASSIGN_OR_RETURN(auto rows, Cohorts(*opened.first, c, opened.second));
  return JsonResponse(CohortsJson(rows, c, opened.second));
}

Result<HttpResponse> GetCohortMembers(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(CohortOptions c, CohortParams(ctx));
  TREU_ASSIGN_OR_RETURN(Period cohort, PeriodParam(ctx, "cohort", true));
  int offset = 0;
  if (const std::string* text = ctx.request.Query("offset")) {
    const auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), offset);
    if (ec != std::errc() || p != text->data() + text->size() || offset < 0) {
      return InvalidArgument("offset", "must be a whole number of periods, 0 or more");
    }
  }
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t skip, ParseCursor(ctx.request));
  TREU_ASSIGN_OR_RETURN(auto opened, Open(ctx));
  const Analytics& a = *opened.first;
  TREU_ASSIGN_OR_RETURN(auto members, CohortCellMembers(a, c, opened.second, cohort, offset));
  const auto n = static_cast<std::int64_t>(members.size());
  const std::int64_t end = std::min(n, skip + limit);
  const Currency& cur = a.snapshot().currency();
  json data = json::array();
  for (std::int64_t i = skip; i < end; ++i) {
    const CohortMember& m = members[static_cast<std::size_t>(i)];
    const std::string& id = a.snapshot().external_id(m.customer);
    TREU_ASSIGN_OR_RETURN(auto customer, ctx.store.FindCustomer(ctx.workspace(), id));
    auto text = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
    data.push_back({{"id", id},
                    {"email", customer ? text(customer->email) : json(nullptr)},
                    {"name", customer ? text(customer->name) : json(nullptr)},
                    {"revenue", json::parse(FormatMajorUnits(m.revenue_minor, cur))}});
  }
  return JsonResponse({{"data", data},
                       {"next_cursor", end < n ? json(CursorAfter(end)) : json(nullptr)},
                       {"total", n},
                       {"currency", cur.code()}});
}

}  // namespace

std::vector<Route> AnalyticsRoutes() {
  const std::vector<QueryParam> common = {
      {"basis", "purchases, subscriptions or both (default: the workspace's)"},
      {"window", "purchase activity window, e.g. 90d, 12w, 1y (default: the workspace's)"},
      {"segment", "only the customers of this saved segment"},
      {"where", "only the customers matching this segment expression (docs/segments.md)"}};
  auto with = [&](std::vector<QueryParam> q) {
    q.insert(q.end(), common.begin(), common.end());
    return q;
  };
  const Access read = Access::Requires(Scope::kRead);
  return {
      {"GET", "/api/v1/kpis", read, "Every retention KPI for a period (docs/kpis.md)", ListKpis, "KpiList",
       with({{"period", "2024-03, 2024-Q1, 2024, 2024-W09 or 2024-03-01..2024-04-15 (required)"},
             {"series", "also the N periods ending with period"}})},
      {"GET", "/api/v1/kpis/{id}", read, "One KPI for a period", GetKpi, "Kpi",
       with({{"period", "the period (required)"}, {"series", "also the N periods ending with period"}})},
      {"GET", "/api/v1/mrr", read, "MRR at the start and end of a period and its movements", GetMrr, "Mrr",
       with({{"period", "the period (required)"}})},
      {"GET", "/api/v1/cohorts", read, "Cohort retention matrix (customers, or revenue with revenue=true)",
       GetCohorts, "Cohorts",
       with({{"by", "month, quarter or week (default month)"},
             {"from", "first cohort period"},
             {"to", "last cohort period"},
             {"revenue", "true: revenue (or MRR) relative to the cohort's first period"}})},
      {"GET", "/api/v1/cohorts/members", read,
       "The customers behind one cell of the cohort matrix, with their revenue in that period; total "
       "equals the cell's count",
       GetCohortMembers, "CohortMembers",
       with({{"by", "month, quarter or week (default month)"},
             {"cohort", "the cohort's period label, e.g. 2024-03 (required)"},
             {"offset", "periods after the cohort's first (default 0)"},
             {"revenue", "true: the customers with revenue (or MRR) in that period"},
             {"limit", "page size, 1 to 500 (default 50)"},
             {"cursor", "next_cursor of the previous page"}})},
  };
}

}  // namespace treu::api
