#include "api/router.hpp"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "access/keys.hpp"
#include "access/users.hpp"
#include "api/problem.hpp"

namespace treu::api {
namespace {

std::string Base64Decode(std::string_view in) {
  static constexpr std::string_view kChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    if (c == '=') break;
    const auto pos = kChars.find(c);
    if (pos == std::string_view::npos) return {};
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

// The principal of a request that authenticates with the session cookie `cookie`: a stand-in
// key (the user's workspace, the scope of the role) and the session. Requests other than GET
// and HEAD must also carry the session's X-CSRF-Token and no foreign Origin. The problem to
// answer when something fails.
std::expected<std::pair<ApiKey, SessionUser>, HttpResponse> SessionPrincipal(const HttpRequest& request,
                                                                             std::string_view cookie,
                                                                             Store& store, const Clock& clock) {
  auto session = AuthenticateSession(store, cookie, clock);
  if (!session) return std::unexpected(ProblemResponse(session.error(), request.path));
  if (request.method != "GET" && request.method != "HEAD") {
    if (!ConstantTimeEquals(request.Header("x-csrf-token"), session->session.csrf_token)) {
      return std::unexpected(ProblemResponse(
          403, "csrf_failed", "a request with the session cookie needs the session's X-CSRF-Token header",
          request.path));
    }
    if (!SameOrigin(request)) {
      return std::unexpected(
          ProblemResponse(403, "csrf_failed", "the request's Origin is not this server", request.path));
    }
  }
  auto role = ParseRole(session->user.role);
  if (!role) return std::unexpected(ProblemResponse(role.error(), request.path));
  ApiKey stand_in;
  stand_in.workspace = session->user.workspace;
  stand_in.scope = RoleScope(*role);
  stand_in.prefix = "session";
  stand_in.name = session->user.email;
  return std::pair{std::move(stand_in), std::move(*session)};
}

// The public tracking routes (/v1/…) are called by shops' pages from their own origins, with
// the workspace's public tracking key: every response there allows any origin to read it.
// Nothing cross-origin ever carries cookies (no Allow-Credentials), and other paths (the REST
// API, the dashboard) answer no CORS headers at all.
bool CorsPath(std::string_view path) { return path.starts_with("/v1/"); }

// The answer to a CORS preflight (OPTIONS) of a /v1/ route: no key needed, browsers send none.
HttpResponse Preflight() {
  HttpResponse r;
  r.status = 204;
  r.headers = {{"Access-Control-Allow-Methods", "GET, POST"},
               {"Access-Control-Allow-Headers", "Authorization, Content-Type, Treu-User-Id, Treu-User-Hash"},
               {"Access-Control-Max-Age", "86400"}};
  return r;
}

}  // namespace

bool MatchPattern(std::string_view pattern, std::string_view path,
                  std::map<std::string, std::string>& params) {
  params.clear();
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern[0] != '/' || path[0] != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const auto pe = pattern.find('/');
    const auto xe = path.find('/');
    const std::string_view pseg = pattern.substr(0, pe);
    const std::string_view xseg = path.substr(0, xe);
    if (pseg.size() >= 2 && pseg.front() == '{' && pseg.back() == '}') {
      if (xseg.empty()) return false;
      params.emplace(std::string(pseg.substr(1, pseg.size() - 2)), std::string(xseg));
    } else if (pseg != xseg) {
      return false;
    }
    pattern = pe == std::string_view::npos ? std::string_view() : pattern.substr(pe);
    path = xe == std::string_view::npos ? std::string_view() : path.substr(xe);
  }
  return true;
}

std::string CookieValue(const HttpRequest& request, std::string_view name) {
  std::string_view rest = request.Header("cookie");
  while (!rest.empty()) {
    const auto end = rest.find(';');
    std::string_view pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    while (pair.starts_with(' ')) pair.remove_prefix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      std::string_view value = pair.substr(eq + 1);
      while (value.ends_with(' ')) value.remove_suffix(1);
      return std::string(value);
    }
  }
  return {};
}

bool SameOrigin(const HttpRequest& request) {
  const std::string_view origin = request.Header("origin");
  if (origin.empty()) return true;
  const auto scheme = origin.find("://");
  if (scheme == std::string_view::npos) return false;
  std::string_view host = origin.substr(scheme + 3);
  if (const auto slash = host.find('/'); slash != std::string_view::npos) host = host.substr(0, slash);
  const std::string_view expected = request.Header("host");
  if (host.size() != expected.size() || host.empty()) return false;
  for (std::size_t i = 0; i < host.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(host[i])) !=
        std::tolower(static_cast<unsigned char>(expected[i]))) {
      return false;
    }
  }
  return true;
}

std::string PresentedKey(const HttpRequest& request) {
  const std::string_view auth = request.Header("authorization");
  if (auth.starts_with("Bearer ")) return std::string(auth.substr(7));
  if (auth.starts_with("Basic ")) {
    const std::string decoded = Base64Decode(auth.substr(6));
    return decoded.substr(0, decoded.find(':'));
  }
  return {};
}

void Router::Dispatch(const HttpRequest& request, Store& store, const Clock& clock,
                      const ServerServices& services, Respond respond) const {
  struct Finish {
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    std::string_view pattern;
    Metrics* metrics;
    bool head;
    bool cors;
    Respond respond;
  };
  auto f = std::make_shared<Finish>();
  f->metrics = services.metrics;
  f->head = request.method == "HEAD";
  f->cors = CorsPath(request.path);
  f->respond = std::move(respond);
  Run(request, store, clock, services, [&f](const Route* r) { f->pattern = r->pattern; },
      [f](HttpResponse response) {
        if (f->metrics != nullptr) {
          f->metrics->ObserveRequest(
              f->pattern, response.status,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - f->t0).count());
        }
        if (f->head) response.body.clear();
        if (f->cors) response.headers.emplace_back("Access-Control-Allow-Origin", "*");
        f->respond(std::move(response));
      });
}

HttpResponse Router::Dispatch(const HttpRequest& request, Store& store, const Clock& clock,
                              const ServerServices& services) const {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<HttpResponse> out;
  Dispatch(request, store, clock, services, [&](HttpResponse r) {
    std::lock_guard lock(mu);
    out = std::move(r);
    cv.notify_one();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return out.has_value(); });
  return std::move(*out);
}

void Router::Run(const HttpRequest& request, Store& store, const Clock& clock,
                 const ServerServices& services, const std::function<void(const Route*)>& matched,
                 const std::function<void(HttpResponse)>& finish) const {
  std::map<std::string, std::string> params;
  const Route* match = nullptr;
  bool path_matched = false;
  std::string allowed;
  for (const Route& r : routes_) {
    if (!MatchPattern(r.pattern, request.path, params)) continue;
    path_matched = true;
    if (!allowed.empty()) allowed += ", ";
    allowed += r.method;
    if (r.method == request.method || (request.method == "HEAD" && r.method == "GET")) {
      match = &r;
      break;
    }
  }
  if (match == nullptr) {
    if (path_matched && request.method == "OPTIONS" && CorsPath(request.path)) return finish(Preflight());
    if (path_matched) {
      HttpResponse r = ProblemResponse(405, "method_not_allowed",
                                       request.method + " is not allowed here; use " + allowed,
                                       request.path);
      r.headers.emplace_back("Allow", allowed);
      return finish(std::move(r));
    }
    return finish(ProblemResponse(404, "not_found", "no route for " + request.path, request.path));
  }
  matched(match);
  RequestContext ctx{request,          std::move(params), std::nullopt,    store, clock,
                     services.metrics, services.tracking, services.imports, services.snapshots,
                     services.fits,    services.predictions, services.segments, services.signing_secret,
                     services.loyalty, services.ledgers, services.logins, services.secure_cookies,
                     std::nullopt,     services.outbox,   services.mail_dir, services.campaigns,
                     services.journeys};
  std::vector<std::pair<std::string, std::string>> rate_headers;
  if (!match->access.is_public) {
    // A dashboard session authenticates when the request carries no Authorization header;
    // tracking routes take keys only.
    const std::string cookie = CookieValue(request, kSessionCookie);
    const bool by_session = request.Header("authorization").empty() && !cookie.empty() &&
                            match->access.scope != Scope::kTracking;
    if (match->access.session_only && !by_session) {
      return finish(ProblemResponse(401, "unauthenticated",
                                    "this route needs a dashboard session (sign in at POST /api/v1/session)",
                                    request.path));
    }
    Result<ApiKey> key = std::unexpected(Error(ErrorCode::kUnauthenticated, "", ""));
    if (by_session) {
      auto principal = SessionPrincipal(request, cookie, store, clock);
      if (!principal) return finish(std::move(principal.error()));
      key = std::move(principal->first);
      ctx.session = std::move(principal->second);
    } else {
      const std::string presented = PresentedKey(request);
      key = services.keys != nullptr ? services.keys->Authenticate(store, presented, clock.Now())
                                     : AuthenticateApiKey(store, presented);
    }
    if (!key) return finish(ProblemResponse(key.error(), request.path));
    if (!ScopeAllows(key->scope, match->access.scope)) {
      const std::string needed(ScopeName(match->access.scope));
      const std::string detail =
          ctx.session ? "a " + ctx.session->user.role + " may not call this route; it needs " + needed + " access"
                      : "a " + std::string(ScopeName(key->scope)) + " key may not call this route; it needs a " +
                            needed + " key";
      return finish(ProblemResponse(403, "permission_denied", detail, request.path));
    }
    if (key->rate_per_minute > 0 && services.rate_limiter != nullptr) {
      const RateDecision d = services.rate_limiter->Take(key->id, key->rate_per_minute, clock.Now());
      rate_headers = {{"RateLimit-Limit", std::to_string(d.limit)},
                      {"RateLimit-Remaining", std::to_string(d.remaining)},
                      {"RateLimit-Reset", std::to_string(d.reset_seconds)}};
      if (!d.allowed) {
        HttpResponse r = ProblemResponse(429, "rate_limited",
                                         "this key may make " + std::to_string(d.limit) +
                                             " requests per minute; retry in a moment",
                                         request.path);
        r.headers = rate_headers;
        r.headers.emplace_back("Retry-After", "1");
        return finish(std::move(r));
      }
    }
    ctx.key = std::move(*key);
  }
  const std::string_view idem_key = request.Header("idempotency-key");
  const bool idempotent = !idem_key.empty() && !match->async_handler && request.method != "GET" &&
                          request.method != "HEAD" && !match->access.is_public &&
                          match->access.scope != Scope::kTracking;
  if (idempotent) {
    if (idem_key.size() > 255) {
      return finish(ProblemResponse(400, "invalid_argument", "Idempotency-Key is longer than 255 bytes",
                             request.path));
    }
    const std::string hash = Sha256Hex(request.method + " " + request.path + "\n" + request.body);
    constexpr std::int64_t kStale = 60 * kMicrosPerSecond;
    auto claim = store.ClaimIdempotencyKey(ctx.workspace(), idem_key, hash, clock.Now(), kStale);
    if (!claim) return finish(ProblemResponse(claim.error(), request.path));
    switch (claim->kind) {
      case IdempotencyClaim::Kind::kNew:
        break;
      case IdempotencyClaim::Kind::kReplay: {
        HttpResponse replay;
        replay.status = claim->status;
        replay.content_type = claim->status >= 400 ? "application/problem+json" : "application/json";
        replay.body = std::move(claim->response);
        replay.headers.emplace_back("Idempotent-Replayed", "true");
        return finish(std::move(replay));
      }
      case IdempotencyClaim::Kind::kMismatch:
        return finish(ProblemResponse(422, "idempotency_key_reused",
                               "this Idempotency-Key was used with a different request",
                               request.path));
      case IdempotencyClaim::Kind::kInFlight:
        return finish(ProblemResponse(409, "conflict",
                               "a request with this Idempotency-Key is still being processed",
                               request.path));
    }
  }
  if (match->async_handler) {
    match->async_handler(
        ctx, [finish, path = request.path,
              rate_headers = std::move(rate_headers)](Result<HttpResponse> result) mutable {
          HttpResponse response =
              result ? std::move(*result) : ProblemResponse(result.error(), path);
          for (auto& h : rate_headers) response.headers.push_back(std::move(h));
          finish(std::move(response));
        });
    return;
  }
  auto result = match->handler(ctx);
  HttpResponse response = result ? std::move(*result) : ProblemResponse(result.error(), request.path);
  if (idempotent) {
    // Server errors release the key so the client may retry; anything else is remembered.
    const int keep = response.status >= 500 ? 0 : response.status;
    if (auto done = store.CompleteIdempotencyKey(ctx.workspace(), idem_key, keep, response.body);
        !done) {
      return finish(ProblemResponse(done.error(), request.path));
    }
  }
  for (auto& h : rate_headers) response.headers.push_back(std::move(h));
  finish(std::move(response));
}

}  // namespace treu::api
