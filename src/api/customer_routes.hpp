// The customer page's routes: a customer's summary (the customer-360 header) and timeline.
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

std::vector<Route> CustomerRoutes();

}  // namespace treu::api
