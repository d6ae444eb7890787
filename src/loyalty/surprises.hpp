// Surprise and delight over a whole workspace: today's draws of random surprises, birthdays
// and anniversaries of joining (the n-th order milestones are granted when orders are
// processed). Every grant is idempotent by its occasion, so running this twice a day, or again
// after a crash, grants nothing twice.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "loyalty/service.hpp"

namespace treu::loyalty {

// What a process has run already: "<workspace>/<surprise>" → the occasion done (a draw period
// or a date), so a worker polling every few seconds scans customers once per occasion.
using SurpriseMemo = std::map<std::string, std::string>;

// True when surprise `s` picks the customer in draw `period`: a stable hash of (surprise,
// customer, period) below the share, so the draw is random across customers and periods,
// reproducible, and each customer's chance is `share`.
bool DrawnForSurprise(const Surprise& s, CustomerId c, std::int64_t period);

// Grants what today's occasions call for. `memo` may be null (then everything is looked at).
// Returns how many grants were made.
Result<std::int64_t> RunSurprises(Store& store, const Workspace& ws, const Clock& clock, LedgerCache* cache,
                                  SurpriseMemo* memo);

}  // namespace treu::loyalty
