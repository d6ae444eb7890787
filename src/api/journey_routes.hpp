// The routes of journeys (docs/journeys.md): definitions saved as versions (every error of a
// definition at its JSON pointer), paused and resumed, the current members of a trigger segment
// entered, the report per step and the runs.
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

// The journey routes, for ApiRoutes().
std::vector<Route> JourneyRoutes();

}  // namespace treu::api
