// Messaging over HTTP: the workspace's sending settings (with a test send), templates (save-time
// checks, preview), sends, the outbox's messages with their delivery logs, suppressions, and
// consent (double opt-in, proof records and their export, preferences).
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "api/router.hpp"

namespace treu::api {

std::vector<Route> MessagingRoutes();

// The OpenAPI schemas these routes name.
nlohmann::json MessagingSchemas();

}  // namespace treu::api
