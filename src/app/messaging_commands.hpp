// `treu messaging` (sending settings), `treu outbox` (state of the outbox; deliver it from this
// process), `treu consent` (double opt-in, proof export), `treu template` and `treu send`.
#pragma once

#include <functional>

#include "app/cli.hpp"

namespace treu::app {

std::function<int()> SetupMessaging(CLI::App& cmd, Context& ctx);
std::function<int()> SetupOutbox(CLI::App& cmd, Context& ctx);
std::function<int()> SetupConsent(CLI::App& cmd, Context& ctx);
std::function<int()> SetupTemplate(CLI::App& cmd, Context& ctx);
std::function<int()> SetupSend(CLI::App& cmd, Context& ctx);

}  // namespace treu::app
