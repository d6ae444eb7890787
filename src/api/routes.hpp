// The REST API's route table, and the OpenAPI document generated from it.
#pragma once

#include <string>
#include <vector>

#include "api/router.hpp"

namespace treu::api {

// Every route of treu's HTTP API, in the order the OpenAPI document lists them.
const std::vector<Route>& ApiRoutes();

// The OpenAPI 3.1 document for `routes`.
std::string OpenApiJson(const std::vector<Route>& routes);

}  // namespace treu::api
