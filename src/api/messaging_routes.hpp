// Messaging over HTTP: the workspace's sending settings (with a test send), templates (save-time
// checks, preview), sends, the outbox's messages with their delivery logs, suppressions, and
// consent (double opt-in, proof records and their export, preferences).
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

// The OpenAPI schemas these routes name are in openapi/messaging.json.
std::vector<Route> MessagingRoutes();

}  // namespace treu::api
