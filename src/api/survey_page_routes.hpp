// The hosted survey page: GET /s/{token} shows the survey of an invitation link (with the
// answers given so far; ?score=N records a score in one click, as the links of the email
// scale do) and POST /s/{token} records the answers from the form. Public routes: the signed
// token is the credential. Bad, tampered, foreign and expired links show a page saying so
// and record nothing.
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

std::vector<Route> SurveyPageRoutes();

}  // namespace treu::api
