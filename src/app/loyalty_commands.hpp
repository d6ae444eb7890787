// treu loyalty: the loyalty program on the command line — the program, rules, tiers and rewards
// from JSON files; customers' balances and histories; adjustments, redemptions and referrals;
// processing new orders and events; the report.
#pragma once

#include "app/cli.hpp"

namespace treu::app {

std::function<int()> SetupLoyalty(CLI::App& cmd, Context& ctx);

}  // namespace treu::app
