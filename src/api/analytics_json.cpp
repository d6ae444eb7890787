#include "api/analytics_json.hpp"

#include <algorithm>

namespace treu {

using nlohmann::json;

json KpiNumberJson(const KpiNumber& n, const Currency& c) {
  switch (n.kind) {
    case KpiNumber::Kind::kNumber: return n.number;
    case KpiNumber::Kind::kMoneyAverage: return n.number;
    case KpiNumber::Kind::kMoneyExact: return json::parse(FormatMajorUnits(n.minor, c));
  }
  return nullptr;
}

json KpiResultJson(const KpiResult& r, const Currency& c) {
  const KpiDefinition* def = FindKpi(r.id);
  json inputs = json::object();
  for (const auto& [name, v] : r.inputs) inputs[name] = KpiNumberJson(v, c);
  json out = {{"id", r.id},
              {"period", {{"label", r.period.Label()},
                          {"start", FormatTimestamp(r.start)},
                          {"end", FormatTimestamp(r.end)}}},
              {"value", r.value ? KpiNumberJson(*r.value, c) : json(nullptr)},
              {"unit", def ? KpiUnitName(def->unit) : "number"},
              {"inputs", inputs},
              {"null_reason", r.value ? json(nullptr) : json(r.null_reason)}};
  if (def) {
    out["name"] = {{"en", def->title_en}, {"de", def->title_de}};
    out["definition"] = {{"en", def->definition_en}, {"de", def->definition_de}};
  }
  if (def && def->unit == KpiUnit::kMoney) out["currency"] = c.code();
  return out;
}

json KpisJson(const Analytics& a, const Period& period, int series, const KpiOptions& o,
              const std::vector<std::string>& ids) {
  const Currency& cur = a.snapshot().currency();
  const std::vector<std::vector<KpiResult>> per_period = a.ComputeSeries(period, std::max(1, series), o);
  json out = json::array();
  const auto& current = per_period.back();
  for (std::size_t i = 0; i < current.size(); ++i) {
    if (!ids.empty() && std::find(ids.begin(), ids.end(), current[i].id) == ids.end()) continue;
    json m = KpiResultJson(current[i], cur);
    if (series > 0) {
      json s = json::array();
      for (const auto& pp : per_period) {
        json one = KpiResultJson(pp[i], cur);
        s.push_back({{"period", one["period"]}, {"value", one["value"]}, {"inputs", one["inputs"]}});
      }
      m["series"] = s;
    }
    out.push_back(std::move(m));
  }
  return out;
}

json MrrJson(const Period& p, const MrrMovements& m, const Currency& c) {
  auto money = [&](std::int64_t units) { return json::parse(FormatMajorUnits(MrrUnitsToMinor(units), c)); };
  auto ratio = [&](std::int64_t num) {
    return m.mrr_start > 0 ? json(static_cast<double>(num) / static_cast<double>(m.mrr_start)) : json(nullptr);
  };
  return {{"period", p.Label()},
          {"currency", c.code()},
          {"mrr_start", money(m.mrr_start)},
          {"mrr_end", money(m.mrr_end)},
          {"accounts_start", m.accounts_start},
          {"accounts_end", m.accounts_end},
          {"movements",
           {{"new", money(m.new_mrr)},
            {"reactivation", money(m.reactivation)},
            {"expansion", money(m.expansion)},
            {"contraction", money(m.contraction)},
            {"churn", money(m.churn)}}},
          {"nrr", ratio(m.mrr_start + m.expansion - m.contraction - m.churn)},
          {"grr", ratio(m.mrr_start - m.contraction - m.churn)}};
}

json CohortsJson(const std::vector<CohortRow>& rows, const CohortOptions& c, const KpiOptions& o) {
  json cohorts = json::array();
  for (const auto& row : rows) {
    json values = json::array();
    for (const auto& v : row.values) values.push_back(v ? json(*v) : json(nullptr));
    cohorts.push_back({{"cohort", row.cohort.Label()}, {"size", row.size}, {"values", values}});
  }
  const char* by = c.by == PeriodKind::kWeek ? "week" : c.by == PeriodKind::kQuarter ? "quarter" : "month";
  return {{"by", by}, {"basis", RetentionBasisName(o.basis)}, {"revenue", c.revenue}, {"cohorts", cohorts}};
}

}  // namespace treu
