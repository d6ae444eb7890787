// Survey definitions over HTTP: /api/v1/surveys (list, create) and /api/v1/surveys/{id}
// (read, replace). The definition is the JSON form of api/survey_json.hpp.
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

std::vector<Route> SurveyRoutes();

}  // namespace treu::api
