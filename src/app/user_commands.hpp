// treu user: the dashboard's users of a workspace — create (with a generated password unless
// one comes on stdin), list, delete, and set a new password.
#pragma once

#include "app/cli.hpp"

namespace treu::app {

std::function<int()> SetupUser(CLI::App& cmd, Context& ctx);

}  // namespace treu::app
