// Signing in to the web dashboard: /api/v1/session (POST signs in and sets the session cookie,
// GET tells who is signed in with the CSRF token, PATCH changes the own locale, DELETE signs
// out). The cookie and CSRF checks of other routes are in the router (docs/api.md, "Dashboard
// sessions").
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

std::vector<Route> SessionRoutes();

}  // namespace treu::api
