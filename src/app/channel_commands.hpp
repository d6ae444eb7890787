// `treu channels`: web push (VAPID keys), the identity secret of in-app and push identity
// verification, and webhook endpoints of the webhook channel.
#pragma once

#include <functional>

#include "app/cli.hpp"

namespace treu::app {

std::function<int()> SetupChannels(CLI::App& cmd, Context& ctx);

}  // namespace treu::app
