#include "app/serve.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "access/keys.hpp"
#include "access/users.hpp"
#include "access/secrets.hpp"
#include "api/import_routes.hpp"
#include "api/problem.hpp"
#include "api/router.hpp"
#include "api/routes.hpp"
#include "api/server.hpp"
#include "campaigns/scheduler.hpp"
#include "campaigns/service.hpp"
#include "journeys/worker.hpp"
#include "api/survey_json.hpp"
#include "ingest/import_jobs.hpp"
#include "loyalty/worker.hpp"
#include "messaging/delivery.hpp"
#include "surveys/followup_notifier.hpp"
#include "webui/dashboard.hpp"

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
void AccessLog(const api::AccessRecord& r) {
  nlohmann::json j = {{"time", FormatTimestamp(SystemClock().Now())},
                      {"method", r.method},
                      {"path", r.path},
                      {"status", r.status},
                      {"ms", static_cast<double>(static_cast<long>(r.milliseconds * 1000)) / 1000},
                      {"remote", r.remote}};
  std::fprintf(stderr, "%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

}  // namespace

int RunServer(Context& ctx, const std::string& listen, int threads, bool metrics_on,
              bool access_log, bool secure_cookies, const OutboxOptions& outbox_options,
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
  static ApiKeyCache keys;
  static LoginThrottle logins;
  static SnapshotCache snapshots;
  static PredictionCache predictions;
  api::Metrics* metrics_ptr = metrics_on ? &metrics : nullptr;
  api::ServerOptions opts;
  opts.host = addr->first;
  opts.port = addr->second;
  opts.threads = threads;
  if (access_log) opts.access_log = AccessLog;
  // All tracking writes go through one writer thread with its own connection (group commit).
  auto writer_store = ctx.OpenStore();
  if (!writer_store) return Fail(writer_store.error());
  TrackingWriter tracking(std::move(*writer_store), ctx.clock, [metrics_ptr](std::int64_t calls) {
    if (metrics_ptr != nullptr) metrics_ptr->ObserveCommit(calls);
  });
  TrackingWriter* tracking_ptr = &tracking;
  // CSV imports sent over HTTP run one at a time on their own thread and connection.
  auto import_store = ctx.OpenStore();
  if (!import_store) return Fail(import_store.error());
  auto imports = ImportJobs::Start(std::move(*import_store), ctx.clock,
                                   std::filesystem::temp_directory_path() /
                                       ("treu-imports-" + std::to_string(::getpid())));
  if (!imports) return Fail(imports.error());
  ImportJobs* imports_ptr = imports->get();
  // Model fits requested over HTTP run one at a time on their own thread and connection.
  auto fit_store = ctx.OpenStore();
  if (!fit_store) return Fail(fit_store.error());
  auto fits = ModelFits::Start(std::move(*fit_store), ctx.clock, &snapshots);
  if (!fits) return Fail(fits.error());
  ModelFits* fits_ptr = fits->get();
  // Saved segments are re-evaluated in the background when data changes and as time passes.
  auto segment_store = ctx.OpenStore();
  if (!segment_store) return Fail(segment_store.error());
  auto refresher = segment::SegmentRefresher::Start(std::move(*segment_store), ctx.clock, &snapshots, &predictions,
                                                    segment::SegmentRefresher::Options{});
  if (!refresher) return Fail(refresher.error());
  segment::SegmentRefresher* segments_ptr = refresher->get();
  // The secret that signs survey links (created on first use, readable only by this user).
  static std::vector<std::uint8_t> secret;
  auto loaded = LoadOrCreateSecret(ctx.SecretPath());
  if (!loaded) return Fail(loaded.error());
  secret = std::move(*loaded);
  // Detractors' follow-up items are announced to their survey's webhook in the background.
  auto notifier_store = ctx.OpenStore();
  if (!notifier_store) return Fail(notifier_store.error());
  auto notifier = survey::FollowUpNotifier::Start(std::move(*notifier_store), ctx.clock, secret, SurveyOf,
                                                  survey::FollowUpNotifier::Options{});
  if (!notifier) return Fail(notifier.error());
  // Loyalty writes share one writer thread (group commit); a worker earns on new orders and
  // events and runs what is due (expiry, pending points, lapsed holds, tier reviews).
  static loyalty::LedgerCache ledgers;
  auto loyalty_store = ctx.OpenStore();
  if (!loyalty_store) return Fail(loyalty_store.error());
  loyalty::LoyaltyWriter loyalty_writer(std::move(*loyalty_store), ctx.clock, &ledgers);
  loyalty::LoyaltyWriter* loyalty_ptr = &loyalty_writer;
  auto loyalty_worker_store = ctx.OpenStore();
  if (!loyalty_worker_store) return Fail(loyalty_worker_store.error());
  loyalty::LoyaltyWorker loyalty_worker(std::move(*loyalty_worker_store), ctx.clock, &ledgers);
  // The outbox's email is delivered by worker threads, each with its own connection; several
  // servers on one PostgreSQL share the work (claims with FOR UPDATE SKIP LOCKED).
  std::unique_ptr<messaging::OutboxWorker> outbox;
  if (outbox_options.threads > 0) {
    messaging::OutboxWorker::Options o;
    o.threads = outbox_options.threads;
    o.lease_micros = static_cast<std::int64_t>(outbox_options.lease_seconds) * 1'000'000;
    o.mail_dir = ctx.MailDir();
    o.hold = campaigns::QuietHoursHolds;  // marketing waits out the recipient's quiet hours
    auto started = messaging::OutboxWorker::Start([&ctx] { return ctx.OpenStore(); }, ctx.clock, secret, o);
    if (!started) return Fail(started.error());
    outbox = std::move(*started);
  }
  messaging::OutboxWorker* outbox_ptr = outbox.get();
  // Scheduled campaigns are launched (and their A/B winners sent) by a scheduler thread.
  auto campaign_store = ctx.OpenStore();
  if (!campaign_store) return Fail(campaign_store.error());
  auto scheduler =
      campaigns::StartCampaignScheduler(std::move(*campaign_store), ctx.clock, &snapshots, &predictions, secret, SurveyOf);
  if (!scheduler) return Fail(scheduler.error());
  Periodic* campaigns_ptr = scheduler->get();
  // Journeys: customers entered from triggers, waits woken, actions performed.
  auto journey_store = ctx.OpenStore();
  if (!journey_store) return Fail(journey_store.error());
  auto journey_worker =
      journeys::StartJourneyWorker(std::move(*journey_store), ctx.clock, &snapshots, &predictions, secret, SurveyOf);
  if (!journey_worker) return Fail(journey_worker.error());
  Periodic* journeys_ptr = journey_worker->get();
  static std::filesystem::path mail_dir;
  mail_dir = ctx.MailDir();
  opts.body_limit = [max = opts.max_body_bytes](std::string_view method, std::string_view target) {
    return method == "POST" && target.starts_with("/api/v1/imports") ? api::kMaxImportBytes : max;
  };
  api::HttpServer server(opts, [&ctx, metrics_ptr, tracking_ptr, imports_ptr, fits_ptr, segments_ptr,
                                loyalty_ptr, secure_cookies, outbox_ptr, campaigns_ptr, journeys_ptr]() -> api::HttpHandler {
    // Each event loop owns its database connection.
    std::shared_ptr<Store> store;
    if (auto s = ctx.OpenStore()) store = std::move(*s);
    return [store, &ctx, metrics_ptr, tracking_ptr, imports_ptr, fits_ptr, segments_ptr, loyalty_ptr,
            secure_cookies, outbox_ptr, campaigns_ptr, journeys_ptr](
               api::HttpRequest& req, api::HttpRespond respond) {
      if (!store) {
        return respond(
            api::ProblemResponse(503, "unavailable", "the database can't be opened", req.path));
      }
      // The dashboard's own files ("/", "/assets/…") are answered from the binary.
      if (auto page = webui::ServeDashboard(req)) return respond(std::move(*page));
      router.Dispatch(req, *store, ctx.clock,
                      {metrics_ptr, tracking_ptr, &RateLimits(), &keys, imports_ptr, &snapshots, fits_ptr,
                       &predictions, segments_ptr, &secret, loyalty_ptr, &ledgers, &logins,
                       secure_cookies, outbox_ptr, mail_dir, campaigns_ptr, journeys_ptr},
                      std::move(respond));
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
  // Handlers never block on commits (tracking calls are answered by the writer thread), so
  // one event loop per core is enough: 2 and 16 loops measured the same on 2 cores.
  auto threads = std::make_shared<int>(std::max(2, static_cast<int>(std::thread::hardware_concurrency())));
  auto metrics = std::make_shared<bool>(false);
  auto no_access_log = std::make_shared<bool>(false);
  auto secure_cookies = std::make_shared<bool>(false);
  auto outbox = std::make_shared<OutboxOptions>();
  cmd.add_option("--outbox-threads", outbox->threads,
                 "threads delivering the outbox's email (default 2; 0: this server delivers nothing)")
      ->check(CLI::Range(0, 64));
  cmd.add_option("--outbox-lease", outbox->lease_seconds,
                 "seconds a worker's claim on a message lasts before another may retry it (default 120)")
      ->check(CLI::Range(1, 3600));
  cmd.add_flag("--secure-cookies", *secure_cookies,
               "mark the dashboard's session cookie Secure even when no proxy says the request "
               "came over https (X-Forwarded-Proto)");
  cmd.add_flag("--no-access-log", *no_access_log,
               "don't write the JSON access log (one line per request) to stderr");
  cmd.add_option("--listen", *listen, "address to listen on, HOST:PORT (default 127.0.0.1:8080)");
  cmd.add_flag("--metrics", *metrics, "serve Prometheus text metrics at /metrics (no key needed)");
  cmd.add_option("--threads", *threads, "event-loop threads (default: one per core, at least 2)")->check(CLI::Range(1, 64));
  return [listen, threads, metrics, no_access_log, secure_cookies, outbox, &ctx]() -> int {
    return RunServer(ctx, *listen, *threads, *metrics, !*no_access_log, *secure_cookies, *outbox, [&](int port) {
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
  auto which = std::make_shared<std::string>();
  cmd.add_option("ACTION", *action, "create, list or revoke")
      ->required()
      ->check(CLI::IsMember({"create", "list", "revoke"}));
  cmd.add_option("KEY", *which, "revoke: the key's id or prefix (as `key list` shows) or the key");
  cmd.add_option("--scope", *scope, "tracking, read, write or admin (default read)")
      ->check(CLI::IsMember({"tracking", "read", "write", "admin"}));
  auto rate = std::make_shared<int>(0);
  cmd.add_option("--name", *name, "a label for the key");
  cmd.add_option("--rate", *rate, "requests per minute this key may make (default 0: no limit)")
      ->check(CLI::Range(0, 100'000'000));
  return [action, scope, name, rate, which, &ctx]() -> int {
    auto store = ctx.OpenStore();
    if (!store) return Fail(store.error());
    auto ws = ctx.EnsureWorkspace(**store);
    if (!ws) return Fail(ws.error());
    if (*action == "revoke") {
      if (which->empty()) return Fail(InvalidArgument("KEY", "name the key to revoke: its id or prefix").error());
      auto keys = (*store)->ListApiKeys(ws->id);
      if (!keys) return Fail(keys.error());
      std::vector<ApiKey> matches;
      for (const auto& k : *keys) {
        if (std::to_string(k.id) == *which || k.prefix == *which || k.hash_hex == HashApiKey(*which)) {
          matches.push_back(k);
        }
      }
      if (matches.empty()) {
        return Fail(NotFound("key " + *which, "no such key in workspace " + ws->name).error());
      }
      if (matches.size() > 1) {
        return Fail(InvalidArgument("KEY", "'" + *which + "' matches " + std::to_string(matches.size()) +
                                               " keys; give the id instead").error());
      }
      if (auto r = (*store)->RevokeApiKey(ws->id, matches[0].id, ctx.clock.Now()); !r) return Fail(r.error());
      std::printf("revoked key %lld (%s…); running servers stop accepting it within 5 seconds\n",
                  static_cast<long long>(matches[0].id), matches[0].prefix.c_str());
      return 0;
    }
    if (*action == "list") {
      auto keys = (*store)->ListApiKeys(ws->id);
      if (!keys) return Fail(keys.error());
      std::printf("%-6s %-14s %-9s %-20s %-9s %s\n", "ID", "PREFIX", "SCOPE", "CREATED", "RATE/MIN", "NAME");
      for (const auto& k : *keys) {
        std::printf("%-6lld %-14s %-9s %-20s %-9s %s%s\n", static_cast<long long>(k.id), (k.prefix + "…").c_str(),
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
