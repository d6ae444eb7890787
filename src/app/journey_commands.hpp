// treu journey: journeys saved from their JSON definition, shown, paused, resumed, deleted,
// reported per step, their runs listed, the current members of a trigger segment entered, and
// one pass of the journey worker run from this process (run-due, for cron).
#pragma once

#include <functional>

#include "app/cli.hpp"

namespace treu::app {

std::function<int()> SetupJourney(CLI::App& cmd, Context& ctx);

}  // namespace treu::app
