// The JSON form of a survey's results (surveys/results.hpp), for GET
// /api/v1/surveys/{id}/results and `treu survey results --json`.
#pragma once

#include <nlohmann/json.hpp>

#include "surveys/results.hpp"

namespace treu {

nlohmann::json SurveyResultsJson(const survey::Survey& s, const survey::SurveyResults& r, std::size_t max_verbatims);

}  // namespace treu
