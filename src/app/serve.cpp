#include "app/serve.hpp"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "access/keys.hpp"
#include "api/problem.hpp"
#include "api/router.hpp"
#include "api/routes.hpp"
#include "api/server.hpp"

namespace treu::app {
namespace {

Result<std::pair<std::string, std::uint16_t>> ParseListen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgument("--listen", "'" + listen + "' is not HOST:PORT, e.g. 127.0.0.1:8080");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    std::size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) return InvalidArgument("--listen", "port must be 0 to 65535");
  return std::make_pair(host, static_cast<std::uint16_t>(port));
}

api::RateLimiter& RateLimits() {
  static api::RateLimiter limiter;
  return limiter;
}

// One JSON line per request on stderr.
void AccessLog(const api::HttpRequest& req, const api::HttpResponse& res, double ms) {
  nlohmann::json j = {{"time", FormatTimestamp(SystemClock().Now())},
                      {"method", req.method},
                      {"path", req.path},
                      {"status", res.status},
                      {"ms", static_cast<double>(static_cast<long>(ms * 1000)) / 1000},
                      {"remote", req.remote}};
  std::fprintf(stderr, "%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

}  // namespace

int RunServer(Context& ctx, const std::string& listen, int threads, bool metrics_on,
              const std::function<void(int port)>& on_ready) {
  auto addr = ParseListen(listen);
  if (!addr) return Fail(addr.error());
  // Check the database once up front, so a bad --db fails before listening.
  if (auto probe = ctx.OpenStore(); !probe) return Fail(probe.error());

  // Block the stop signals in every thread; this one waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  static const api::Router router(api::ApiRoutes());
  static api::Metrics metrics;
  api::Metrics* metrics_ptr = metrics_on ? &metrics : nullptr;
  api::ServerOptions opts;
  opts.host = addr->first;
  opts.port = addr->second;
  opts.threads = threads;
  // All tracking writes go through one writer thread with its own connection (group commit).
  auto writer_store = ctx.OpenStore();
  if (!writer_store) return Fail(writer_store.error());
  TrackingWriter tracking(std::move(*writer_store), ctx.clock);
  TrackingWriter* tracking_ptr = &tracking;
  api::HttpServer server(opts, [&ctx, metrics_ptr, tracking_ptr]() -> api::HttpHandler {
    // Each event loop owns its database connection.
    std::shared_ptr<Store> store;
    if (auto s = ctx.OpenStore()) store = std::move(*s);
    return [store, &ctx, metrics_ptr, tracking_ptr](api::HttpRequest& req) {
      const auto t0 = std::chrono::steady_clock::now();
      api::HttpResponse res =
          store ? router.Dispatch(req, *store, ctx.clock,
                                  {metrics_ptr, tracking_ptr, &RateLimits()})
                : api::ProblemResponse(503, "unavailable", "the database can't be opened", req.path);
      res.headers.emplace_back("X-Content-Type-Options", "nosniff");
      AccessLog(req, res,
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      return res;
    };
  });
  if (auto s = server.Start(); !s) return Fail(s.error());
  on_ready(server.port());
  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "treu: %s received, finishing requests in flight\n",
               sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server.Stop();
  std::fprintf(stderr, "treu: stopped\n");
  return 0;
}

std::function<int()> SetupServe(CLI::App& cmd, Context& ctx) {
  auto listen = std::make_shared<std::string>("127.0.0.1:8080");
  // Handlers block while their tracking calls wait for the group commit, so more event loops
  // mean bigger groups: 16 measured 4.5x the requests/s of 2 on /v1/track (bench/http).
  auto threads = std::make_shared<int>(16);
  auto metrics = std::make_shared<bool>(false);
  cmd.add_option("--listen", *listen, "address to listen on, HOST:PORT (default 127.0.0.1:8080)");
  cmd.add_flag("--metrics", *metrics, "serve Prometheus text metrics at /metrics (no key needed)");
  cmd.add_option("--threads", *threads, "event-loop threads (default 16)")->check(CLI::Range(1, 64));
  return [listen, threads, metrics, &ctx]() -> int {
    return RunServer(ctx, *listen, *threads, *metrics, [&](int port) {
      std::printf("treu listening on http://%s:%d (database %s)\n",
                  listen->substr(0, listen->rfind(':')).c_str(), port, ctx.db_url.c_str());
      std::fflush(stdout);
    });
  };
}

std::function<int()> SetupKey(CLI::App& cmd, Context& ctx) {
  auto action = std::make_shared<std::string>();
  auto scope = std::make_shared<std::string>("read");
  auto name = std::make_shared<std::string>();
  cmd.add_option("ACTION", *action, "create or list")->required()->check(CLI::IsMember({"create", "list"}));
  cmd.add_option("--scope", *scope, "tracking, read, write or admin (default read)")
      ->check(CLI::IsMember({"tracking", "read", "write", "admin"}));
  auto rate = std::make_shared<int>(0);
  cmd.add_option("--name", *name, "a label for the key");
  cmd.add_option("--rate", *rate, "requests per minute this key may make (default 0: no limit)")
      ->check(CLI::Range(0, 100'000'000));
  return [action, scope, name, rate, &ctx]() -> int {
    auto store = ctx.OpenStore();
    if (!store) return Fail(store.error());
    auto ws = ctx.EnsureWorkspace(**store);
    if (!ws) return Fail(ws.error());
    if (*action == "list") {
      auto keys = (*store)->ListApiKeys(ws->id);
      if (!keys) return Fail(keys.error());
      std::printf("%-14s %-9s %-20s %-9s %s\n", "PREFIX", "SCOPE", "CREATED", "RATE/MIN", "NAME");
      for (const auto& k : *keys) {
        std::printf("%-14s %-9s %-20s %-9s %s%s\n", (k.prefix + "…").c_str(),
                    std::string(ScopeName(k.scope)).c_str(), FormatTimestamp(k.created_at).c_str(),
                    k.rate_per_minute > 0 ? std::to_string(k.rate_per_minute).c_str() : "-",
                    k.name.c_str(), k.revoked_at ? " (revoked)" : "");
      }
      return 0;
    }
    auto created = CreateApiKey(**store, ws->id, ParseScope(*scope).value(), *name, ctx.clock, *rate);
    if (!created) return Fail(created.error());
    // The key is the last word, so scripts can take it with `awk '{print $NF}'`.
    std::printf("created %s key for workspace %s (shown once, store it now): %s\n", scope->c_str(),
                ws->name.c_str(), created->secret.c_str());
    return 0;
  };
}

}  // namespace treu::app
