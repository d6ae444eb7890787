// The routes of campaigns (docs/campaigns.md): campaigns saved, previewed (the audience after
// caps), scheduled, cancelled and reported (lift against the holdout), their members as
// recorded at launch, and the workspace's delivery rules (frequency cap, quiet hours).
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

// The campaign routes, for ApiRoutes().
std::vector<Route> CampaignRoutes();

}  // namespace treu::api
