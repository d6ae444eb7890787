#include "api/user_routes.hpp"

#include <nlohmann/json.hpp>

#include "access/keys.hpp"
#include "access/users.hpp"
#include "api/route_support.hpp"

namespace treu::api {
namespace {

using nlohmann::json;

json UserJson(const DashboardUser& u) {
  return {{"id", u.id},
          {"email", u.email},
          {"name", u.name},
          {"role", u.role},
          {"locale", u.locale},
          {"created_at", FormatTimestamp(u.created_at)},
          {"last_login_at", u.last_login_at ? json(FormatTimestamp(*u.last_login_at)) : json(nullptr)}};
}

json KeyJson(const ApiKey& k) {
  return {{"id", k.id},
          {"prefix", k.prefix},
          {"scope", ScopeName(k.scope)},
          {"name", k.name},
          {"rate_per_minute", k.rate_per_minute},
          {"created_at", FormatTimestamp(k.created_at)},
          {"revoked", k.revoked_at.has_value()},
          {"revoked_at", k.revoked_at ? json(FormatTimestamp(*k.revoked_at)) : json(nullptr)}};
}

// Whether the request comes from the dashboard session of user `id`.
bool IsCaller(const RequestContext& ctx, std::int64_t id) {
  return ctx.session && ctx.session->user.id == id;
}

Result<HttpResponse> ListUsers(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto users, ctx.store.ListDashboardUsers(ctx.workspace()));
  json data = json::array();
  for (const DashboardUser& u : users) data.push_back(UserJson(u));
  return JsonResponse({{"data", data}});
}

Result<HttpResponse> PostUser(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"email", "name", "role", "password", "locale"}));
  NewUser u;
  TREU_ASSIGN_OR_RETURN(std::optional<std::string> email, OptionalString(body, "email"));
  TREU_ASSIGN_OR_RETURN(std::optional<std::string> name, OptionalString(body, "name"));
  TREU_ASSIGN_OR_RETURN(std::optional<std::string> role, OptionalString(body, "role"));
  TREU_ASSIGN_OR_RETURN(std::optional<std::string> password, OptionalString(body, "password"));
  TREU_ASSIGN_OR_RETURN(std::optional<std::string> locale, OptionalString(body, "locale"));
  if (!role) return InvalidArgument("role", "is required (admin, marketer or viewer)");
  if (!password) return InvalidArgument("password", "is required");
  u.email = email.value_or("");
  u.name = name.value_or("");
  u.role = *role;
  u.password = *password;
  u.locale = locale.value_or("en");
  TREU_ASSIGN_OR_RETURN(DashboardUser created, CreateUser(ctx.store, ctx.workspace(), u, ctx.clock));
  return JsonResponse(UserJson(created), 201);
}

Result<HttpResponse> PatchUser(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(std::int64_t id, PathId(ctx, "user"));
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"name", "role", "locale", "password"}));
  UserChange change;
  TREU_ASSIGN_OR_RETURN(change.name, OptionalString(body, "name"));
  TREU_ASSIGN_OR_RETURN(change.role, OptionalString(body, "role"));
  TREU_ASSIGN_OR_RETURN(change.locale, OptionalString(body, "locale"));
  TREU_ASSIGN_OR_RETURN(change.password, OptionalString(body, "password"));
  if (change.role && *change.role != "admin" && IsCaller(ctx, id)) {
    TREU_RETURN_IF_ERROR(ParseRole(*change.role));
    return Conflict("role", "an admin can't take away their own admin role");
  }
  const std::string keep = ctx.session ? ctx.session->session.token_hash : std::string();
  TREU_ASSIGN_OR_RETURN(DashboardUser u, UpdateUser(ctx.store, ctx.workspace(), id, change, keep));
  return JsonResponse(UserJson(u));
}

Result<HttpResponse> DeleteUser(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(std::int64_t id, PathId(ctx, "user"));
  if (IsCaller(ctx, id)) return Conflict("user " + std::to_string(id), "an admin can't delete themselves");
  TREU_RETURN_IF_ERROR(ctx.store.DeleteDashboardUser(ctx.workspace(), id));
  HttpResponse r;
  r.status = 204;
  return r;
}

Result<HttpResponse> ListKeys(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto keys, ctx.store.ListApiKeys(ctx.workspace()));
  json data = json::array();
  for (const ApiKey& k : keys) data.push_back(KeyJson(k));
  return JsonResponse({{"data", data}});
}

Result<HttpResponse> PostKey(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"scope", "name", "rate_per_minute"}));
  TREU_ASSIGN_OR_RETURN(std::optional<std::string> scope_name, OptionalString(body, "scope"));
  if (!scope_name) return InvalidArgument("scope", "is required (tracking, read, write or admin)");
  auto scope = ParseScope(*scope_name);
  if (!scope) return InvalidArgument("scope", "must be tracking, read, write or admin");
  TREU_ASSIGN_OR_RETURN(std::optional<std::string> name, OptionalString(body, "name"));
  if (name && name->size() > 200) return InvalidArgument("name", "must have at most 200 characters");
  int rate = 0;
  if (auto it = body.find("rate_per_minute"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > 1'000'000) {
      return InvalidArgument("rate_per_minute", "must be an integer from 0 (no limit) to 1000000");
    }
    rate = static_cast<int>(it->get<std::int64_t>());
  }
  TREU_ASSIGN_OR_RETURN(CreatedKey created,
                        CreateApiKey(ctx.store, ctx.workspace(), *scope, name.value_or(""), ctx.clock, rate));
  json out = KeyJson(created.record);
  out["key"] = created.secret;
  HttpResponse r = JsonResponse(out, 201);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Result<HttpResponse> RevokeKey(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(std::int64_t id, PathId(ctx, "key"));
  TREU_RETURN_IF_ERROR(ctx.store.RevokeApiKey(ctx.workspace(), id, ctx.clock.Now()));
  HttpResponse r;
  r.status = 204;
  return r;
}

}  // namespace

std::vector<Route> UserRoutes() {
  return {
      {"GET", "/api/v1/users", Access::Requires(Scope::kAdmin), "The workspace's dashboard users",
       ListUsers, "UserList"},
      {"POST", "/api/v1/users", Access::Requires(Scope::kAdmin),
       "Add a dashboard user: email, role (admin, marketer, viewer), password (10 characters or "
       "more), name, locale (en, de). 201",
       PostUser, "User", {}, {}, 201},
      {"PATCH", "/api/v1/users/{id}", Access::Requires(Scope::kAdmin),
       "Change a user's name, role, locale or password (a new password ends their other "
       "sessions); 409 when an admin would demote themselves",
       PatchUser, "User"},
      {"DELETE", "/api/v1/users/{id}", Access::Requires(Scope::kAdmin),
       "Delete a user and end their sessions; 409 for the caller's own user. 204", DeleteUser},
      {"GET", "/api/v1/keys", Access::Requires(Scope::kAdmin), "The workspace's API keys (never the secrets)",
       ListKeys, "ApiKeyList"},
      {"POST", "/api/v1/keys", Access::Requires(Scope::kAdmin),
       "Create an API key: scope (tracking, read, write, admin), name, rate_per_minute; the "
       "answer's `key` is the secret, shown this once. 201",
       PostKey, "ApiKey", {}, {}, 201},
      {"DELETE", "/api/v1/keys/{id}", Access::Requires(Scope::kAdmin),
       "Revoke an API key (servers notice within 5 seconds). 204", RevokeKey},
  };
}

}  // namespace treu::api
