// The closed feedback loop over HTTP: /api/v1/followups (list, by status) and
// /api/v1/followups/{id} (read, change status, assignee and note). Items are opened by
// detractors' survey answers (surveys/followups.hpp).
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

std::vector<Route> FollowUpRoutes();

}  // namespace treu::api
