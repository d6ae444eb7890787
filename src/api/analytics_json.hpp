// The JSON shapes of KPIs, MRR movements and cohort matrices, shared by the HTTP API and the
// CLI (money per docs/kpis.md: a number in major units plus the currency).
#pragma once

#include <nlohmann/json.hpp>

#include "analytics/kpis.hpp"

namespace treu {

nlohmann::json KpiNumberJson(const KpiNumber& n, const Currency& c);
// {"id", "period": {"label", "start", "end"}, "value", "unit", "currency"?, "inputs", "null_reason"}
nlohmann::json KpiResultJson(const KpiResult& r, const Currency& c);
// The metrics `ids` (all when empty) of `period`, each with a "series" of the `series`
// periods ending with it when series > 0.
nlohmann::json KpisJson(const Analytics& a, const Period& period, int series, const KpiOptions& o,
                        const std::vector<std::string>& ids);
// {"period", "mrr_start", "mrr_end", "movements": {...}, "nrr", "grr", "currency"}
nlohmann::json MrrJson(const Period& p, const MrrMovements& m, const Currency& c);
// {"by", "basis", "revenue", "cohorts": [{"cohort", "size", "values"}]}
nlohmann::json CohortsJson(const std::vector<CohortRow>& rows, const CohortOptions& c,
                           const KpiOptions& o);

}  // namespace treu
