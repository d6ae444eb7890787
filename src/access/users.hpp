// Users of the web dashboard, their sessions and the throttling of sign-ins.
//
// Passwords are hashed with argon2id (libsodium's crypto_pwhash_str, interactive limits); the
// hash string carries its own salt and parameters. A session is a 32-byte random token sent as
// a cookie; the store keeps only its SHA-256, with a CSRF token the dashboard echoes in
// X-CSRF-Token. Sessions end after 12 hours without a request or 7 days after sign-in.
// Failed sign-ins are counted in the process's memory (LoginThrottle), not in the store: a
// restart forgets them, and several server processes count separately.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.hpp"
#include "core/time.hpp"
#include "storage/store.hpp"

namespace treu {

enum class Role { kAdmin, kMarketer, kViewer };
std::string_view RoleName(Role r);
// InvalidArgument naming "role" unless admin, marketer or viewer.
Result<Role> ParseRole(std::string_view text);
// What a role may do through the API: admin → admin, marketer → write, viewer → read.
Scope RoleScope(Role r);

inline constexpr std::size_t kMinPasswordLength = 10;
inline constexpr std::size_t kMaxPasswordLength = 1024;

// An argon2id hash string of `password`. Internal when libsodium can't (out of memory).
Result<std::string> HashPassword(std::string_view password);
// True when `password` matches `hash` (a string from HashPassword).
bool VerifyPassword(std::string_view hash, std::string_view password);
// `bytes` random bytes as unpadded base64url.
std::string RandomToken(std::size_t bytes = 32);
// A strong password for a user who didn't choose one (20 base64url characters, 120 bits).
std::string GeneratePassword();
// Compares in time that depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// The email as stored: trimmed and lower-case. InvalidArgument naming "email" when it isn't
// one plausible address (local@domain.tld, at most 254 characters, no spaces).
Result<std::string> NormalizeEmail(std::string_view email);

struct NewUser {
  std::string email;
  std::string name;
  std::string role = "viewer";
  std::string password;
  std::string locale = "en";
};

// Validates and stores a user. InvalidArgument naming the field (email, role, password,
// locale, name); AlreadyExists when the workspace has a user with this email.
Result<DashboardUser> CreateUser(Store& store, WorkspaceId ws, const NewUser& user, const Clock& clock);

// Fields to change; unset ones are kept.
struct UserChange {
  std::optional<std::string> name;
  std::optional<std::string> role;
  std::optional<std::string> locale;
  std::optional<std::string> password;
};

// Applies `change` to user `id` of `ws`. A new password ends every session of the user except
// the one whose token hash is `keep_session` (the caller's own). InvalidArgument naming the
// field; NotFound when the workspace has no such user.
Result<DashboardUser> UpdateUser(Store& store, WorkspaceId ws, std::int64_t id, const UserChange& change,
                                 std::string_view keep_session = {});

struct SessionSettings {
  std::int64_t idle_micros = 12 * 3600 * kMicrosPerSecond;
  std::int64_t absolute_micros = 7 * 24 * 3600 * kMicrosPerSecond;
  std::int64_t touch_every_micros = 60 * kMicrosPerSecond;  // last_seen_at is written this often
};

struct NewSession {
  std::string token;  // for the cookie; never stored
  DashboardSession session;
};

// The SHA-256 (hex) of a session token: what the store keeps.
std::string HashSessionToken(std::string_view token);

// Starts a session of `user` with a fresh token and CSRF token.
Result<NewSession> StartSession(Store& store, const DashboardUser& user, const Clock& clock,
                                std::string_view remote, std::string_view user_agent,
                                const SessionSettings& settings = {});

struct SessionUser {
  DashboardSession session;
  DashboardUser user;
};

// The session of a presented token and its user. Unauthenticated (one message) when the token
// is malformed or unknown, the session expired (it is then deleted) or its user is gone.
// Writes last_seen_at at most once per settings.touch_every_micros.
Result<SessionUser> AuthenticateSession(Store& store, std::string_view token, const Clock& clock,
                                        const SessionSettings& settings = {});

// Ends the session of `token`, if there is one.
Status EndSession(Store& store, std::string_view token);

// Counts failed sign-ins per account (workspace and email) and per remote address in a sliding
// window, in memory. Thread-safe.
class LoginThrottle {
 public:
  struct Limits {
    int per_account = 5;
    int per_remote = 20;
    std::int64_t window_micros = 15 * 60 * kMicrosPerSecond;
  };
  LoginThrottle() : LoginThrottle(Limits{}) {}
  explicit LoginThrottle(Limits limits) : limits_(limits) {}

  // Seconds until a sign-in to `account` from `remote` may be tried again; 0 when it may now.
  int RetryAfter(std::string_view account, std::string_view remote, Timestamp now);
  void RecordFailure(std::string_view account, std::string_view remote, Timestamp now);
  // A successful sign-in forgets the account's failures (not the address's).
  void RecordSuccess(std::string_view account);

 private:
  using Failures = std::unordered_map<std::string, std::deque<Timestamp>>;
  int Wait(Failures& map, const std::string& key, int limit, Timestamp now);
  void Prune(Failures& map, Timestamp now);

  const Limits limits_;
  std::mutex mu_;
  Failures by_account_;  // guarded by mu_
  Failures by_remote_;   // guarded by mu_
};

struct LoginRequest {
  std::string email;
  std::string password;
  std::string workspace;        // the workspace's name; "" when the email names one
  std::string remote;           // peer address
  std::string user_agent;
  std::string presented_token;  // a session cookie sent with the sign-in, ended either way
};

struct LoginResult {
  NewSession session;
  DashboardUser user;
  Workspace workspace;
};

// Signs a user in: a new session, never the one presented (which is ended). Unauthenticated
// "email or password is wrong" for an unknown email or workspace and a wrong password alike,
// after the same hashing work. ResourceExhausted "too many failed logins; retry in N s" while
// throttled, with N in *retry_after_seconds. InvalidArgument naming "workspace" when the
// email has users in several workspaces and none was named.
Result<LoginResult> Login(Store& store, LoginThrottle& throttle, const LoginRequest& request,
                          const Clock& clock, int* retry_after_seconds,
                          const SessionSettings& settings = {});

}  // namespace treu
