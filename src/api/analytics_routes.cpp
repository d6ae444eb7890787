#include "api/analytics_routes.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "analytics/kpis.hpp"
#include "api/analytics_json.hpp"
#include "api/problem.hpp"
#include "api/route_support.hpp"
#include "api/survey_json.hpp"
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

// The workspace's analytics and the options from ?basis= and ?window=.
Result<std::pair<std::unique_ptr<Analytics>, KpiOptions>> Open(RequestContext& ctx, bool predictions = false) {
  TREU_ASSIGN_OR_RETURN(auto snap, SnapshotOf(ctx));
  auto a = std::make_unique<Analytics>(snap);
  KpiOptions o = DefaultKpiOptions(*snap);
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
  return std::make_pair(std::move(a), o);
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

Result<HttpResponse> GetCohorts(RequestContext& ctx) {
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
  TREU_ASSIGN_OR_RETURN(auto opened, Open(ctx));
  TREU_ASSIGN_OR_RETURN(auto rows, Cohorts(*opened.first, c, opened.second));
  return JsonResponse(CohortsJson(rows, c, opened.second));
}

}  // namespace

std::vector<Route> AnalyticsRoutes() {
  const std::vector<QueryParam> common = {
      {"basis", "purchases, subscriptions or both (default: the workspace's)"},
      {"window", "purchase activity window, e.g. 90d, 12w, 1y (default: the workspace's)"}};
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
  };
}

}  // namespace treu::api
