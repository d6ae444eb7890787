// treu segment: the segment language on the command line — evaluate an expression over the
// workspace's customers, explain how it binds, list the fields.
#pragma once

#include "app/cli.hpp"

namespace treu::app {

std::function<int()> SetupSegment(CLI::App& cmd, Context& ctx);

}  // namespace treu::app
