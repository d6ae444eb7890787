#include "api/session_routes.hpp"

#include <nlohmann/json.hpp>

#include "access/users.hpp"
#include "api/problem.hpp"
#include "api/route_support.hpp"

namespace treu::api {
namespace {

using nlohmann::json;

// The body of the session routes: the signed-in user and the session's CSRF token.
json SessionJson(const DashboardUser& user, std::string_view workspace, std::string_view csrf_token) {
  return {{"user",
           {{"id", user.id},
            {"email", user.email},
            {"name", user.name},
            {"role", user.role},
            {"locale", user.locale},
            {"workspace", workspace}}},
          {"csrf_token", csrf_token}};
}

// The Set-Cookie value of the session cookie; an empty token clears it.
std::string SessionCookieHeader(const RequestContext& ctx, std::string_view token) {
  std::string cookie = std::string(kSessionCookie) + "=" + std::string(token) +
                       "; Path=/; HttpOnly; SameSite=Strict";
  if (token.empty()) cookie += "; Max-Age=0";
  if (ctx.secure_cookies || ctx.request.Header("x-forwarded-proto") == "https") cookie += "; Secure";
  return cookie;
}

Result<std::string> RequiredString(const json& body, const std::string& name) {
  TREU_ASSIGN_OR_RETURN(std::optional<std::string> value, OptionalString(body, name));
  if (!value || value->empty()) return InvalidArgument(name, "is required");
  return *value;
}

Result<HttpResponse> SignIn(RequestContext& ctx) {
  if (!SameOrigin(ctx.request)) {
    return ProblemResponse(403, "csrf_failed", "the request's Origin is not this server", ctx.request.path);
  }
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"email", "password", "workspace"}));
  LoginRequest login;
  TREU_ASSIGN_OR_RETURN(login.email, RequiredString(body, "email"));
  TREU_ASSIGN_OR_RETURN(login.password, RequiredString(body, "password"));
  TREU_ASSIGN_OR_RETURN(std::optional<std::string> workspace, OptionalString(body, "workspace"));
  login.workspace = workspace.value_or("");
  login.remote = ctx.request.remote;
  login.user_agent = std::string(ctx.request.Header("user-agent"));
  login.presented_token = CookieValue(ctx.request, kSessionCookie);
  static LoginThrottle unshared;  // for routers run without a server's throttle (tools, tests)
  int retry_after = 0;
  auto result = Login(ctx.store, ctx.logins != nullptr ? *ctx.logins : unshared, login, ctx.clock,
                      &retry_after);
  if (!result) {
    HttpResponse r = ProblemResponse(result.error(), ctx.request.path);
    if (result.error().code() == ErrorCode::kResourceExhausted) {
      r.headers.emplace_back("Retry-After", std::to_string(retry_after));
    }
    if (result.error().code() == ErrorCode::kUnauthenticated || r.status == 429) {
      // A failed sign-in also ends the session it presented.
      (void)EndSession(ctx.store, login.presented_token);
      if (!login.presented_token.empty()) r.headers.emplace_back("Set-Cookie", SessionCookieHeader(ctx, ""));
    }
    return r;
  }
  HttpResponse r = JsonResponse(SessionJson(result->user, result->workspace.name, result->session.session.csrf_token));
  r.headers.emplace_back("Set-Cookie", SessionCookieHeader(ctx, result->session.token));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Result<HttpResponse> SessionResponse(RequestContext& ctx, const DashboardUser& user) {
  TREU_ASSIGN_OR_RETURN(Workspace w, TheWorkspace(ctx));
  HttpResponse r = JsonResponse(SessionJson(user, w.name, ctx.session->session.csrf_token));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Result<HttpResponse> GetSession(RequestContext& ctx) { return SessionResponse(ctx, ctx.session->user); }

Result<HttpResponse> PatchSession(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"locale"}));
  UserChange change;
  TREU_ASSIGN_OR_RETURN(change.locale, OptionalString(body, "locale"));
  if (!change.locale) return InvalidArgument("locale", "is required (en or de)");
  TREU_ASSIGN_OR_RETURN(DashboardUser user,
                        UpdateUser(ctx.store, ctx.workspace(), ctx.session->user.id, change));
  return SessionResponse(ctx, user);
}

Result<HttpResponse> SignOut(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(ctx.store.DeleteDashboardSession(ctx.session->session.token_hash));
  HttpResponse r;
  r.status = 204;
  r.headers.emplace_back("Set-Cookie", SessionCookieHeader(ctx, ""));
  return r;
}

}  // namespace

std::vector<Route> SessionRoutes() {
  return {
      {"POST", "/api/v1/session", Access::Public(),
       "Sign in to the dashboard with email and password (workspace: its name, needed when the "
       "email has users in several workspaces); sets the treu_session cookie. 401 for a wrong "
       "email or password, 429 with Retry-After after too many failures",
       SignIn, "Session"},
      {"GET", "/api/v1/session", Access::Session(),
       "The signed-in user and the session's CSRF token (session cookie only)", GetSession, "Session"},
      {"PATCH", "/api/v1/session", Access::Session(),
       "Change the signed-in user's locale: {\"locale\": \"en\"|\"de\"} (session cookie only)",
       PatchSession, "Session"},
      {"DELETE", "/api/v1/session", Access::Session(),
       "Sign out: ends the session and clears the cookie. 204 (session cookie only)", SignOut},
  };
}

}  // namespace treu::api
