// `treu serve`: the HTTP API on the chosen address until SIGINT or SIGTERM.
#pragma once

#include <functional>
#include <string>

#include "app/cli.hpp"

namespace treu::app {

std::function<int()> SetupServe(CLI::App& cmd, Context& ctx);
std::function<int()> SetupKey(CLI::App& cmd, Context& ctx);

// The outbox workers a server runs.
struct OutboxOptions {
  int threads = 2;          // 0: none
  int lease_seconds = 120;  // a claim lapses then (a crashed worker's messages are retried)
};

// Serves the API for `ctx`'s database on `listen` ("HOST:PORT") with `threads` event loops
// until SIGINT/SIGTERM; then stops accepting, finishes requests in flight and returns 0.
// With `metrics`, /metrics answers; with `access_log`, each request is logged as a JSON line
// on stderr. With `secure_cookies`, session cookies always carry Secure. `on_ready(port)` runs
// once the server listens. The outbox's email is delivered by `outbox` workers.
int RunServer(Context& ctx, const std::string& listen, int threads, bool metrics,
              bool access_log, bool secure_cookies, const OutboxOptions& outbox,
              const std::function<void(int port)>& on_ready);

}  // namespace treu::app
