// Saved segments over HTTP: CRUD under /api/v1/segments, a preview of any expression
// (count, a sample of members, errors with their positions), the current members and the
// log of who entered and left.
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

std::vector<Route> SegmentRoutes();

}  // namespace treu::api
