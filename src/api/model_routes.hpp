// Prediction models over HTTP: POST /api/v1/models/{model}/fit (a background fit),
// GET /api/v1/models (the workspace's default model and its runs), GET
// /api/v1/models/runs/{id} and GET /api/v1/customers/{id}/predictions.
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

std::vector<Route> ModelRoutes();

}  // namespace treu::api
