// Who may use a workspace, for its admins: dashboard users (/api/v1/users) and API keys
// (/api/v1/keys). Password hashes and key hashes never leave the server; a key's secret is
// shown once, in the answer that created it.
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

std::vector<Route> UserRoutes();

}  // namespace treu::api
