// treu survey: survey definitions on the command line — create from a JSON file, list, show.
#pragma once

#include "app/cli.hpp"

namespace treu::app {

std::function<int()> SetupSurvey(CLI::App& cmd, Context& ctx);

}  // namespace treu::app
