// treu fit, treu predict and treu backtest: the prediction models on the command line, a
// table for people and --json for scripts (the same JSON as the HTTP API).
#pragma once

#include "app/cli.hpp"

namespace treu::app {

std::function<int()> SetupFit(CLI::App& cmd, Context& ctx);
std::function<int()> SetupPredict(CLI::App& cmd, Context& ctx);
std::function<int()> SetupBacktest(CLI::App& cmd, Context& ctx);

}  // namespace treu::app
