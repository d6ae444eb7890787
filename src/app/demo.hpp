// `treu demo`: a database with generated demo data (bench/synth), and a summary of it.
#pragma once

#include <functional>

#include "app/cli.hpp"

namespace treu::app {

std::function<int()> SetupDemo(CLI::App& cmd, Context& ctx);

}  // namespace treu::app
