#include "app/analytics_commands.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "analytics/kpis.hpp"
#include "analytics/model_fits.hpp"
#include "api/analytics_json.hpp"
#include "api/survey_json.hpp"
#include "segments/library.hpp"
#include "surveys/kpi_feedback.hpp"

namespace treu::app {
namespace {

using nlohmann::json;

struct AnalyticsFlags {
  std::string period;
  std::string window;
  std::string basis;
  std::string where, segment;  // restrict to these customers
  bool json = false;
  bool predictions = false;  // compute today's predictions (for clv_predicted)
  bool feedback = false;     // read the survey answers (for nps, csat, csat_good_bad_ratio, ces)
  mutable std::vector<bool> selected;  // the customers of --where/--segment, once evaluated
};

void AddCommonFlags(CLI::App& cmd, AnalyticsFlags& f) {
  cmd.add_option("--window", f.window, "purchase activity window, e.g. 90d, 12w, 1y (default: the workspace's)");
  cmd.add_option("--basis", f.basis, "retention basis: purchases, subscriptions or both (default: the workspace's)")
      ->check(CLI::IsMember({"purchases", "subscriptions", "both"}));
  cmd.add_option("--where", f.where, "only the customers matching this segment expression (docs/segments.md)");
  cmd.add_option("--segment", f.segment, "only the customers of this saved segment");
  cmd.add_flag("--json", f.json, "print JSON instead of a table");
}

// The snapshot of the --workspace and the options from the flags.
Result<std::pair<std::unique_ptr<Analytics>, KpiOptions>> Open(Context& ctx, const AnalyticsFlags& f) {
  TREU_ASSIGN_OR_RETURN(auto store, ctx.OpenStore());
  TREU_ASSIGN_OR_RETURN(Workspace ws, store->FindWorkspace(ctx.workspace));
  TREU_ASSIGN_OR_RETURN(auto snap, BuildSnapshot(*store, ws.id));
  auto analytics = std::make_unique<Analytics>(snap);
  KpiOptions o = DefaultKpiOptions(*snap);
  if (!f.window.empty()) {
    auto days = ParseWindowDays(f.window);
    if (!days) return InvalidArgument("--window", days.error().detail());
    o.window_days = *days;
  }
  if (!f.basis.empty()) {
    TREU_ASSIGN_OR_RETURN(o.basis, ParseRetentionBasis(f.basis));
  }
  if (f.predictions) {
    TREU_ASSIGN_OR_RETURN(o.clv_12m, CurrentClv(*store, snap, ctx.clock.Now(), nullptr));
  }
  if (f.feedback) {
    TREU_ASSIGN_OR_RETURN(o.feedback, survey::SurveyFeedback::Load(*store, ws.id, *snap, SurveyOf));
  }
  if (!f.where.empty() || !f.segment.empty()) {
    TREU_ASSIGN_OR_RETURN(f.selected, segment::SelectCustomers(*store, ws, snap, f.where, f.segment, ctx.clock.Now()));
    o.customers = &f.selected;
  }
  return std::make_pair(std::move(analytics), o);
}

Result<Period> ParsePeriodFlag(const std::string& flag, const std::string& text) {
  auto p = Period::Parse(text);
  if (!p) return InvalidArgument(flag, p.error().detail());
  return *p;
}

// A value for the table: counts whole, money with two decimals, ratios and scores with four.
std::string Show(const json& v, std::string_view unit = "") {
  if (v.is_null()) return "-";
  if (!v.is_number()) return v.dump();
  char buf[32];
  const char* format = unit == "count" ? "%.0f" : unit == "money" ? "%.2f" : "%.4f";
  std::snprintf(buf, sizeof buf, format, v.get<double>());
  return buf;
}

}  // namespace

std::function<int()> SetupKpi(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<AnalyticsFlags>();
  auto ids = std::make_shared<std::vector<std::string>>();
  auto series = std::make_shared<int>(0);
  auto list = std::make_shared<bool>(false);
  cmd.add_option("ID", *ids, "metric ids (default: all; see --list)");
  cmd.add_option("--period", f->period, "2024-03, 2024-Q1, 2024, 2024-W09 or 2024-03-01..2024-04-15");
  cmd.add_option("--series", *series, "also the N periods ending with --period")->check(CLI::Range(1, 120));
  cmd.add_flag("--list", *list, "list the metrics with their formulas");
  AddCommonFlags(cmd, *f);
  return [f, ids, series, list, &ctx]() -> int {
    if (*list) {
      for (const auto& d : KpiRegistry()) {
        std::printf("%-24s %-7s %s\n%24s         %s\n", std::string(d.id).c_str(),
                    std::string(KpiUnitName(d.unit)).c_str(), std::string(d.title_en).c_str(), "",
                    std::string(d.formula).c_str());
      }
      return 0;
    }
    if (f->period.empty()) return Fail(InvalidArgument("--period", "is required, e.g. --period 2024-03").error());
    auto period = ParsePeriodFlag("--period", f->period);
    if (!period) return Fail(period.error());
    for (const auto& id : *ids) {
      if (FindKpi(id) == nullptr) {
        return Fail(InvalidArgument(id, "is not a metric; treu kpi --list shows them").error());
      }
    }
    f->predictions = ids->empty() || std::find(ids->begin(), ids->end(), "clv_predicted") != ids->end();
    f->feedback = true;
    auto opened = Open(ctx, *f);
    if (!opened) return Fail(opened.error());
    const Analytics& a = *opened->first;
    const KpiOptions& o = opened->second;
    const json out = KpisJson(a, *period, *series, o, *ids);
    if (f->json) {
      std::printf("%s\n", out.dump(2).c_str());
      return 0;
    }
    std::printf("%s, workspace %s, basis %s, window %d days\n", period->Label().c_str(),
                ctx.workspace.c_str(), std::string(RetentionBasisName(o.basis)).c_str(), o.window_days);
    if (*series > 0 && !out.empty()) {
      std::string head;
      for (const auto& s : out[0]["series"]) head += s["period"]["label"].get<std::string>() + "  ";
      std::printf("%-24s %s\n", "", head.c_str());
    }
    for (const auto& m : out) {
      const std::string unit = m["unit"].get<std::string>();
      std::string line = Show(m["value"], unit);
      if (m.contains("currency") && !m["value"].is_null()) line += " " + m["currency"].get<std::string>();
      if (m.contains("series")) {
        line.clear();
        for (const auto& s : m["series"]) line += Show(s["value"], unit) + "  ";
      }
      std::printf("%-24s %s%s\n", m["id"].get<std::string>().c_str(), line.c_str(),
                  m["value"].is_null() ? ("  (" + m["null_reason"].get<std::string>() + ")").c_str() : "");
    }
    return 0;
  };
}

std::function<int()> SetupMrr(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<AnalyticsFlags>();
  cmd.add_option("--period", f->period, "the period of the movements, e.g. 2024-03")->required();
  cmd.add_flag("--json", f->json, "print JSON instead of a table");
  return [f, &ctx]() -> int {
    auto period = ParsePeriodFlag("--period", f->period);
    if (!period) return Fail(period.error());
    auto opened = Open(ctx, *f);
    if (!opened) return Fail(opened.error());
    const Analytics& a = *opened->first;
    const MrrMovements m = a.Movements(period->Start(a.zone()), period->End(a.zone()), opened->second);
    const json out = MrrJson(*period, m, a.snapshot().currency());
    if (f->json) {
      std::printf("%s\n", out.dump(2).c_str());
      return 0;
    }
    std::printf("MRR %s (%s)\n", period->Label().c_str(), out["currency"].get<std::string>().c_str());
    std::printf("  %-14s %s\n", "start", Show(out["mrr_start"], "money").c_str());
    for (const char* k : {"new", "reactivation", "expansion", "contraction", "churn"}) {
      std::printf("  %-14s %s%s\n", k, std::string(k) == "contraction" || std::string(k) == "churn" ? "-" : "+",
                  Show(out["movements"][k], "money").c_str());
    }
    std::printf("  %-14s %s\n  %-14s %s\n  %-14s %s\n", "end", Show(out["mrr_end"], "money").c_str(), "NRR",
                Show(out["nrr"]).c_str(), "GRR", Show(out["grr"]).c_str());
    return 0;
  };
}

std::function<int()> SetupCohorts(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<AnalyticsFlags>();
  auto by = std::make_shared<std::string>("month");
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto revenue = std::make_shared<bool>(false);
  cmd.add_option("--by", *by, "cohort period: month, quarter or week (default month)")
      ->check(CLI::IsMember({"month", "quarter", "week"}));
  cmd.add_option("--from", *from, "first cohort, e.g. 1997-01");
  cmd.add_option("--to", *to, "last cohort");
  cmd.add_flag("--revenue", *revenue, "revenue (or MRR) retention instead of customer retention");
  AddCommonFlags(cmd, *f);
  return [f, by, from, to, revenue, &ctx]() -> int {
    CohortOptions c;
    c.by = *by == "week" ? PeriodKind::kWeek : *by == "quarter" ? PeriodKind::kQuarter : PeriodKind::kMonth;
    c.revenue = *revenue;
    if (!from->empty()) {
      auto p = ParsePeriodFlag("--from", *from);
      if (!p) return Fail(p.error());
      c.from = *p;
    }
    if (!to->empty()) {
      auto p = ParsePeriodFlag("--to", *to);
      if (!p) return Fail(p.error());
      c.to = *p;
    }
    auto opened = Open(ctx, *f);
    if (!opened) return Fail(opened.error());
    auto rows = Cohorts(*opened->first, c, opened->second);
    if (!rows) return Fail(rows.error());
    if (f->json) {
      std::printf("%s\n", CohortsJson(*rows, c, opened->second).dump(2).c_str());
      return 0;
    }
    std::printf("%-10s %7s  %s\n", "cohort", "size", *revenue ? "revenue vs. first period" : "share active");
    for (const auto& row : *rows) {
      std::string cells;
      for (const auto& v : row.values) {
        char buf[16];
        if (v) std::snprintf(buf, sizeof buf, "%5.1f%% ", 100 * *v);
        else std::snprintf(buf, sizeof buf, "%6s ", "-");
        cells += buf;
      }
      std::printf("%-10s %7lld  %s\n", row.cohort.Label().c_str(), static_cast<long long>(row.size), cells.c_str());
    }
    return 0;
  };
}

}  // namespace treu::app
