// The loyalty program over HTTP: /api/v1/loyalty/… — the program, its rules and tiers, the
// reward catalogue, customers' wallets and transfers, referrals, redemptions and the report.
// Writes that move points go through the server's group-commit writer (loyalty/writer.hpp);
// their Idempotency-Key becomes the ledger id, so a retried request is recognised.
#pragma once

#include <vector>

#include "api/router.hpp"

namespace treu::api {

std::vector<Route> LoyaltyRoutes();

}  // namespace treu::api
