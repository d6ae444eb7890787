// `treu campaign`: save, list, show, preview, schedule, cancel, delete and report campaigns,
// run the due ones from cron (what the server's scheduler does), and the workspace's delivery
// rules (frequency cap, quiet hours).
#pragma once

#include <functional>

#include "app/cli.hpp"

namespace treu::app {

std::function<int()> SetupCampaign(CLI::App& cmd, Context& ctx);

}  // namespace treu::app
