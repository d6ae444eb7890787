// The JSON form of a loyalty program: the body of PUT /api/v1/loyalty/program, the file of
// `treu loyalty program set FILE`, and how the Store keeps the definition. Every member is
// optional and defaults as in `Program`; unknown members are refused, so a typo isn't lost
// silently. Times are RFC 3339 ("2026-01-01T00:00:00Z"); money amounts (min_order) are decimal
// strings in the workspace's currency; rates and factors are decimals with up to 3 places (as
// JSON numbers or strings).
//
// {
//   "name": "Friends of the shop", "points_name": "stars",
//   "starts_at": "2026-01-01T00:00:00Z",
//   "rules": [
//     {"id": "spend", "kind": "spend", "points_per_unit": 1, "min_order": "10.00"},
//     {"id": "review", "kind": "event", "event": "Review Written", "points": 50,
//      "cap": {"points": 150, "period": "month"}, "segment": "vip",
//      "starts_at": "...", "ends_at": "..."}
//   ],
//   "multipliers": [{"id": "gold", "factor": 2, "tier": "gold", "rules": ["spend"]},
//                   {"id": "black-friday", "factor": 3, "starts_at": "...", "ends_at": "..."}],
//   "tiers": [{"name": "bronze", "threshold": 0}, {"name": "silver", "threshold": 1000}],
//   "tier_window_days": 365, "expiry_days": 365, "pending_days": 14, "hold_minutes": 30,
//   "referral": {"referrer_points": 500, "referee_points": 250}
// }
#pragma once

#include <nlohmann/json.hpp>

#include "core/money.hpp"
#include "core/status.hpp"
#include "loyalty/program.hpp"

namespace treu::loyalty {

// Parses and validates (ValidateProgram) a program. `currency` gives min_order's minor units.
// InvalidArgument naming the member as a JSON pointer ("/rules/1/points").
Result<Program> ProgramFromJson(const nlohmann::json& j, const Currency& currency);
// The JSON form; ProgramFromJson(ProgramToJson(p, c), c) == p.
nlohmann::json ProgramToJson(const Program& p, const Currency& currency);

}  // namespace treu::loyalty
