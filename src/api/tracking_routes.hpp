// The Segment-spec tracking routes (/v1/identify, /v1/track, /v1/page, /v1/screen,
// /v1/group, /v1/alias, /v1/batch): JSON in, ingest/tracking.hpp does the rest.
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

// The tracking routes, for ApiRoutes().
std::vector<Route> TrackingRoutes();

}  // namespace treu::api
