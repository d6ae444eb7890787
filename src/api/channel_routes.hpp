// The routes of the channels beyond email (docs/channels.md): web push and identity settings,
// webhook endpoints and push subscriptions under /api/v1, and the public routes of the
// JavaScript snippet under /v1 (tracking key plus identity verification): the VAPID key, push
// subscriptions and the in-app inbox.
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

// The channel routes, for ApiRoutes().
std::vector<Route> ChannelRoutes();

}  // namespace treu::api
