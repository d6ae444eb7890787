// Retention analytics over HTTP: GET /api/v1/kpis, /api/v1/kpis/{id}, /api/v1/cohorts and
// /api/v1/mrr, with the parameters and JSON shapes of treu kpi, treu cohorts and treu mrr.
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

std::vector<Route> AnalyticsRoutes();

}  // namespace treu::api
