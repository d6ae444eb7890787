#include "access/users.hpp"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "access/keys.hpp"

namespace treu {
namespace {

constexpr std::size_t kSessionTokenBytes = 32;

void InitSodium() {
  static const int ok = sodium_init();
  if (ok < 0) std::abort();
}

std::unexpected<Error> BadSession() {
  return MakeError(ErrorCode::kUnauthenticated, "session", "missing, expired or signed out");
}

std::unexpected<Error> WrongLogin() {
  return MakeError(ErrorCode::kUnauthenticated, "login", "email or password is wrong");
}

Status ValidatePassword(std::string_view password) {
  if (password.size() < kMinPasswordLength) {
    return InvalidArgument("password", "must have at least " + std::to_string(kMinPasswordLength) +
                                           " characters");
  }
  if (password.size() > kMaxPasswordLength) {
    return InvalidArgument("password", "must have at most " + std::to_string(kMaxPasswordLength) +
                                           " characters");
  }
  return Ok();
}

Status ValidateLocale(std::string_view locale) {
  if (locale != "en" && locale != "de") return InvalidArgument("locale", "must be en or de");
  return Ok();
}

Status ValidateName(std::string_view name) {
  if (name.size() > 200) return InvalidArgument("name", "must have at most 200 characters");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return InvalidArgument("name", "must not contain control characters");
  }
  return Ok();
}

// A hash to verify against when the user doesn't exist, so that costs the same work.
const std::string& DummyHash() {
  static const std::string hash = HashPassword("treu dummy password").value_or(std::string());
  return hash;
}

}  // namespace

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kAdmin: return "admin";
    case Role::kMarketer: return "marketer";
    case Role::kViewer: return "viewer";
  }
  return "viewer";
}

Result<Role> ParseRole(std::string_view text) {
  if (text == "admin") return Role::kAdmin;
  if (text == "marketer") return Role::kMarketer;
  if (text == "viewer") return Role::kViewer;
  return InvalidArgument("role", "must be admin, marketer or viewer");
}

Scope RoleScope(Role r) {
  switch (r) {
    case Role::kAdmin: return Scope::kAdmin;
    case Role::kMarketer: return Scope::kWrite;
    case Role::kViewer: return Scope::kRead;
  }
  return Scope::kRead;
}

Result<std::string> HashPassword(std::string_view password) {
  InitSodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return Internal("password hash", "argon2id failed (out of memory)");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  InitSodium();
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  const std::string h(hash);
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

std::string RandomToken(std::size_t bytes) {
  InitSodium();
  std::vector<unsigned char> buf(bytes);
  randombytes_buf(buf.data(), buf.size());
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bytes, variant), '\0');
  sodium_bin2base64(out.data(), out.size(), buf.data(), buf.size(), variant);
  out.resize(std::char_traits<char>::length(out.c_str()));
  sodium_memzero(buf.data(), buf.size());
  return out;
}

std::string GeneratePassword() { return RandomToken(15); }

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  InitSodium();
  if (a.size() != b.size()) return false;
  return a.empty() || sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string> NormalizeEmail(std::string_view email) {
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.front()))) email.remove_prefix(1);
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.back()))) email.remove_suffix(1);
  if (email.empty()) return InvalidArgument("email", "is required");
  std::string out;
  out.reserve(email.size());
  for (unsigned char c : email) {
    if (c <= 0x20 || c == 0x7f) return InvalidArgument("email", "must not contain spaces or control characters");
    out += static_cast<char>(std::tolower(c));
  }
  const auto at = out.find('@');
  if (out.size() > 254 || at == std::string::npos || at == 0 || out.find('@', at + 1) != std::string::npos) {
    return InvalidArgument("email", "is not an email address");
  }
  const std::string_view domain = std::string_view(out).substr(at + 1);
  const auto dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == domain.size() || domain.starts_with('.')) {
    return InvalidArgument("email", "is not an email address");
  }
  return out;
}

Result<DashboardUser> CreateUser(Store& store, WorkspaceId ws, const NewUser& user, const Clock& clock) {
  DashboardUser u;
  u.workspace = ws;
  TREU_ASSIGN_OR_RETURN(u.email, NormalizeEmail(user.email));
  TREU_RETURN_IF_ERROR(ValidateName(user.name));
  TREU_ASSIGN_OR_RETURN(Role role, ParseRole(user.role));
  TREU_RETURN_IF_ERROR(ValidatePassword(user.password));
  TREU_RETURN_IF_ERROR(ValidateLocale(user.locale));
  u.name = user.name;
  u.role = std::string(RoleName(role));
  u.locale = user.locale;
  TREU_ASSIGN_OR_RETURN(u.password_hash, HashPassword(user.password));
  u.created_at = clock.Now();
  return store.CreateDashboardUser(u);
}

Result<DashboardUser> UpdateUser(Store& store, WorkspaceId ws, std::int64_t id, const UserChange& change,
                                 std::string_view keep_session) {
  if (change.name) TREU_RETURN_IF_ERROR(ValidateName(*change.name));
  if (change.role) TREU_RETURN_IF_ERROR(ParseRole(*change.role));
  if (change.locale) TREU_RETURN_IF_ERROR(ValidateLocale(*change.locale));
  if (change.password) TREU_RETURN_IF_ERROR(ValidatePassword(*change.password));
  TREU_ASSIGN_OR_RETURN(std::optional<DashboardUser> found, store.FindDashboardUser(ws, id));
  if (!found) return NotFound("user " + std::to_string(id), "no such user in this workspace");
  DashboardUser u = std::move(*found);
  if (change.name) u.name = *change.name;
  if (change.role) u.role = *change.role;
  if (change.locale) u.locale = *change.locale;
  if (change.password) {
    TREU_ASSIGN_OR_RETURN(u.password_hash, HashPassword(*change.password));
  }
  TREU_RETURN_IF_ERROR(store.UpdateDashboardUser(u));
  if (change.password) {
    std::optional<DashboardSession> kept;
    if (!keep_session.empty()) {
      TREU_ASSIGN_OR_RETURN(kept, store.FindDashboardSession(keep_session));
    }
    TREU_RETURN_IF_ERROR(store.DeleteDashboardSessions(ws, id));
    if (kept && kept->user_id == id && kept->workspace == ws) {
      TREU_RETURN_IF_ERROR(store.CreateDashboardSession(*kept));
    }
  }
  return u;
}

std::string HashSessionToken(std::string_view token) { return Sha256Hex(token); }

Result<NewSession> StartSession(Store& store, const DashboardUser& user, const Clock& clock,
                                std::string_view remote, std::string_view user_agent,
                                const SessionSettings& settings) {
  NewSession out;
  out.token = RandomToken(kSessionTokenBytes);
  DashboardSession& s = out.session;
  s.token_hash = HashSessionToken(out.token);
  s.user_id = user.id;
  s.workspace = user.workspace;
  s.csrf_token = RandomToken(kSessionTokenBytes);
  s.created_at = clock.Now();
  s.expires_at = Timestamp{s.created_at.micros + settings.absolute_micros};
  s.last_seen_at = s.created_at;
  s.remote = std::string(remote.substr(0, 64));
  s.user_agent = std::string(user_agent.substr(0, 256));
  TREU_RETURN_IF_ERROR(store.CreateDashboardSession(s));
  return out;
}

Result<SessionUser> AuthenticateSession(Store& store, std::string_view token, const Clock& clock,
                                        const SessionSettings& settings) {
  if (token.size() != sodium_base64_ENCODED_LEN(kSessionTokenBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1) {
    return BadSession();
  }
  const std::string hash = HashSessionToken(token);
  TREU_ASSIGN_OR_RETURN(std::optional<DashboardSession> session, store.FindDashboardSession(hash));
  if (!session) return BadSession();
  const Timestamp now = clock.Now();
  if (!(now < session->expires_at) || now.micros - session->last_seen_at.micros >= settings.idle_micros) {
    TREU_RETURN_IF_ERROR(store.DeleteDashboardSession(hash));
    return BadSession();
  }
  TREU_ASSIGN_OR_RETURN(std::optional<DashboardUser> user,
                        store.FindDashboardUser(session->workspace, session->user_id));
  if (!user) return BadSession();
  if (now.micros - session->last_seen_at.micros >= settings.touch_every_micros) {
    TREU_RETURN_IF_ERROR(store.TouchDashboardSession(hash, now));
    session->last_seen_at = now;
  }
  return SessionUser{std::move(*session), std::move(*user)};
}

Status EndSession(Store& store, std::string_view token) {
  if (token.empty()) return Ok();
  return store.DeleteDashboardSession(HashSessionToken(token));
}

void LoginThrottle::Prune(Failures& map, Timestamp now) {
  for (auto it = map.begin(); it != map.end();) {
    auto& q = it->second;
    while (!q.empty() && q.front().micros + limits_.window_micros <= now.micros) q.pop_front();
    it = q.empty() ? map.erase(it) : std::next(it);
  }
}

int LoginThrottle::Wait(Failures& map, const std::string& key, int limit, Timestamp now) {
  auto it = map.find(key);
  if (it == map.end()) return 0;
  auto& q = it->second;
  while (!q.empty() && q.front().micros + limits_.window_micros <= now.micros) q.pop_front();
  if (static_cast<int>(q.size()) < limit) return 0;
  // Allowed again once enough of the failures have left the window.
  const Timestamp oldest_counted = q[q.size() - static_cast<std::size_t>(limit)];
  const std::int64_t wait = oldest_counted.micros + limits_.window_micros - now.micros;
  return static_cast<int>(std::max<std::int64_t>(1, (wait + kMicrosPerSecond - 1) / kMicrosPerSecond));
}

int LoginThrottle::RetryAfter(std::string_view account, std::string_view remote, Timestamp now) {
  std::lock_guard lock(mu_);
  return std::max(Wait(by_account_, std::string(account), limits_.per_account, now),
                  Wait(by_remote_, std::string(remote), limits_.per_remote, now));
}

void LoginThrottle::RecordFailure(std::string_view account, std::string_view remote, Timestamp now) {
  constexpr std::size_t kMaxKeys = 100'000;
  std::lock_guard lock(mu_);
  for (Failures* map : {&by_account_, &by_remote_}) {
    if (map->size() >= kMaxKeys) Prune(*map, now);
  }
  if (by_account_.size() < kMaxKeys) by_account_[std::string(account)].push_back(now);
  if (by_remote_.size() < kMaxKeys) by_remote_[std::string(remote)].push_back(now);
}

void LoginThrottle::RecordSuccess(std::string_view account) {
  std::lock_guard lock(mu_);
  by_account_.erase(std::string(account));
}

Result<LoginResult> Login(Store& store, LoginThrottle& throttle, const LoginRequest& request,
                          const Clock& clock, int* retry_after_seconds, const SessionSettings& settings) {
  const std::string& dummy = DummyHash();  // made before the first lookup, so no sign-in waits for it
  std::string email;
  if (auto e = NormalizeEmail(request.email)) {
    email = std::move(*e);
  } else {
    email = request.email;
  }
  if (request.password.empty()) return InvalidArgument("password", "is required");
  if (request.password.size() > kMaxPasswordLength) return WrongLogin();
  std::optional<DashboardUser> user;
  std::optional<Workspace> workspace;
  if (!request.workspace.empty()) {
    if (auto w = store.FindWorkspace(request.workspace)) {
      workspace = std::move(*w);
      TREU_ASSIGN_OR_RETURN(user, store.FindDashboardUserByEmail(workspace->id, email));
    } else if (w.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(w.error());
    }
  } else {
    TREU_ASSIGN_OR_RETURN(auto users, store.FindDashboardUsersByEmail(email));
    if (users.size() > 1) {
      return InvalidArgument("workspace", "is required: this email signs in to several workspaces");
    }
    if (users.size() == 1) user = std::move(users[0]);
  }
  const std::string account =
      (user ? std::to_string(user->workspace.value) : "?" + request.workspace) + "\n" + email;
  const Timestamp now = clock.Now();
  if (const int wait = throttle.RetryAfter(account, request.remote, now); wait > 0) {
    if (retry_after_seconds != nullptr) *retry_after_seconds = wait;
    return MakeError(ErrorCode::kResourceExhausted, "login",
                     "too many failed logins; retry in " + std::to_string(wait) + " s");
  }
  const bool ok = VerifyPassword(user ? user->password_hash : dummy, request.password) && user;
  if (!ok) {
    throttle.RecordFailure(account, request.remote, now);
    return WrongLogin();
  }
  throttle.RecordSuccess(account);
  if (!workspace) {
    TREU_ASSIGN_OR_RETURN(auto all, store.ListWorkspaces());
    for (Workspace& w : all) {
      if (w.id == user->workspace) workspace = std::move(w);
    }
    if (!workspace) return WrongLogin();
  }
  TREU_RETURN_IF_ERROR(EndSession(store, request.presented_token));
  TREU_ASSIGN_OR_RETURN(NewSession session,
                        StartSession(store, *user, clock, request.remote, request.user_agent, settings));
  user->last_login_at = now;
  TREU_RETURN_IF_ERROR(store.UpdateDashboardUser(*user));
  return LoginResult{std::move(session), std::move(*user), std::move(*workspace)};
}

}  // namespace treu
