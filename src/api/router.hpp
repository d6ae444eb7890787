// The route table and its dispatcher. Every route is one row: method, path pattern, who may
// call it, a summary, and the handler. Authentication, workspace confinement, 404/405 and
// error rendering happen here once, so handlers only parse, call a service and render.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "access/keys.hpp"
#include "access/users.hpp"
#include "api/http.hpp"
#include "api/metrics.hpp"
#include "api/rate_limit.hpp"
#include "core/periodic.hpp"
#include "core/time.hpp"
#include "analytics/model_fits.hpp"
#include "ingest/import_jobs.hpp"
#include "ingest/tracking.hpp"
#include "loyalty/writer.hpp"
#include "messaging/delivery.hpp"
#include "segments/membership.hpp"
#include "snapshot/snapshot.hpp"
#include "storage/store.hpp"

namespace treu::api {

// What a running server lends the router; every member may be null.
struct ServerServices {
  Metrics* metrics = nullptr;           // request metrics, when on
  TrackingWriter* tracking = nullptr;   // group commit of tracking calls
  RateLimiter* rate_limiter = nullptr;  // per-key limits (keys with a rate)
  ApiKeyCache* keys = nullptr;          // authenticated keys remembered briefly
  ImportJobs* imports = nullptr;        // CSV imports sent over HTTP
  SnapshotCache* snapshots = nullptr;   // live analytics snapshots per workspace
  ModelFits* fits = nullptr;            // model fits requested over HTTP
  PredictionCache* predictions = nullptr;  // per-customer predictions while current
  segment::SegmentRefresher* segments = nullptr;  // live segment membership
  const std::vector<std::uint8_t>* signing_secret = nullptr;  // survey links
  loyalty::LoyaltyWriter* loyalty = nullptr;  // group commit of loyalty writes
  loyalty::LedgerCache* ledgers = nullptr;    // customers' ledgers as last written
  LoginThrottle* logins = nullptr;            // failed dashboard sign-ins
  bool secure_cookies = false;                // session cookies always carry Secure
  messaging::OutboxWorker* outbox = nullptr;  // delivers the outbox, if the server runs it
  std::filesystem::path mail_dir = "mail";    // where the file transport writes
  Periodic* campaigns = nullptr;  // the campaign scheduler (launches due campaigns), if the server runs it
  Periodic* journeys = nullptr;   // the journey worker, if the server runs it
};

// Who may call a route: anyone (public), a key or a dashboard session whose scope allows
// `scope`, or (session_only) only a dashboard session.
struct Access {
  bool is_public = false;
  Scope scope = Scope::kRead;
  bool session_only = false;

  static constexpr Access Public() { return {true, Scope::kRead, false}; }
  static constexpr Access Requires(Scope s) { return {false, s, false}; }
  static constexpr Access Session() { return {false, Scope::kRead, true}; }
};

// The name of the dashboard's session cookie.
inline constexpr std::string_view kSessionCookie = "treu_session";

struct RequestContext {
  const HttpRequest& request;
  std::map<std::string, std::string> params;  // from {name} segments of the pattern
  std::optional<ApiKey> key;                  // set for non-public routes
  Store& store;
  const Clock& clock;
  Metrics* metrics = nullptr;  // nullptr when metrics are off
  TrackingWriter* tracking = nullptr;  // group commit for tracking calls, if the server has one
  ImportJobs* imports = nullptr;       // background CSV imports, if the server runs them
  SnapshotCache* snapshots = nullptr;  // live analytics snapshots, if the server keeps them
  ModelFits* fits = nullptr;           // background model fits, if the server runs them
  PredictionCache* predictions = nullptr;  // cached per-customer predictions, if kept
  segment::SegmentRefresher* segments = nullptr;  // keeps segment membership current, if run
  const std::vector<std::uint8_t>* signing_secret = nullptr;  // signs and checks survey links, if set
  loyalty::LoyaltyWriter* loyalty = nullptr;  // group commit of loyalty writes, if the server runs it
  loyalty::LedgerCache* ledgers = nullptr;    // customers' ledgers as last written, if kept
  LoginThrottle* logins = nullptr;            // failed dashboard sign-ins, if the server counts them
  bool secure_cookies = false;                // session cookies always carry Secure
  // The dashboard session and its user, when the caller authenticated with the session cookie
  // (then `key` is the session's stand-in: the user's workspace and the scope of their role).
  std::optional<SessionUser> session;
  messaging::OutboxWorker* outbox = nullptr;   // delivers the outbox, if the server runs it
  std::filesystem::path mail_dir = "mail";     // where the file transport writes
  Periodic* campaigns = nullptr;  // the campaign scheduler (launches due campaigns), if the server runs it
  Periodic* journeys = nullptr;   // the journey worker, if the server runs it

  // The caller's workspace. REQUIRES: a non-public route.
  WorkspaceId workspace() const { return key->workspace; }
};

using RouteHandler = std::function<Result<HttpResponse>(RequestContext&)>;

// Answers later: the handler takes what it needs from the context before it returns (the
// context dies then) and calls `done` exactly once, on any thread. Used by routes that wait
// for the tracking writer, so event loops keep serving while commits are under way. Async
// routes don't take Idempotency-Key (tracking calls dedupe by messageId).
using AsyncRouteHandler =
    std::function<void(RequestContext&, std::function<void(Result<HttpResponse>)> done)>;

// Receives a dispatched request's response, on any thread.
using Respond = std::function<void(HttpResponse)>;

struct QueryParam {
  std::string_view name;
  std::string_view description;
};

struct Route {
  std::string_view method;
  std::string_view pattern;  // "/api/v1/customers/{id}"
  Access access;
  std::string_view summary;
  RouteHandler handler;
  std::string_view response_schema = {};  // a schema name in the OpenAPI document, or empty
  std::vector<QueryParam> query = {};
  AsyncRouteHandler async_handler = {};  // instead of `handler`, for routes that answer later
  int status = 0;  // the success status documented in OpenAPI; 0: 204 for DELETE, else 200
};

class Router {
 public:
  explicit Router(std::vector<Route> routes) : routes_(std::move(routes)) {}

  // Matches, authenticates, authorises and runs the route; renders errors as problem+json.
  // With `metrics`, records the request there. `respond` is called exactly once: before this
  // returns for synchronous routes, later and on another thread for async ones.
  void Dispatch(const HttpRequest& request, Store& store, const Clock& clock,
                const ServerServices& services, Respond respond) const;

  // Dispatch and wait for the response (tests, tools).
  HttpResponse Dispatch(const HttpRequest& request, Store& store, const Clock& clock,
                        const ServerServices& services = {}) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  void Run(const HttpRequest& request, Store& store, const Clock& clock,
           const ServerServices& services, const std::function<void(const Route*)>& matched,
           const std::function<void(HttpResponse)>& finish) const;

  std::vector<Route> routes_;
};

// Matches `path` against `pattern`, filling `params`. Segments in braces match any one
// non-empty segment.
bool MatchPattern(std::string_view pattern, std::string_view path,
                  std::map<std::string, std::string>& params);

// The value of cookie `name` in the request's Cookie header, or "".
std::string CookieValue(const HttpRequest& request, std::string_view name);

// False when the request has an Origin header that names another host than its Host header.
bool SameOrigin(const HttpRequest& request);

// The key a request presents: "Authorization: Bearer <key>", or the user name of HTTP
// Basic authentication (as Segment clients send their write key). Empty when none.
std::string PresentedKey(const HttpRequest& request);

}  // namespace treu::api
