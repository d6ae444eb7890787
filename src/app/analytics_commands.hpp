// treu kpi, treu cohorts and treu mrr: the analytics services on the command line, a table
// for people and --json for scripts (the same JSON as the HTTP API).
#pragma once

#include "app/cli.hpp"

namespace treu::app {

std::function<int()> SetupKpi(CLI::App& cmd, Context& ctx);
std::function<int()> SetupCohorts(CLI::App& cmd, Context& ctx);
std::function<int()> SetupMrr(CLI::App& cmd, Context& ctx);

}  // namespace treu::app
