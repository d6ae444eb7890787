#include "app/user_commands.hpp"

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "access/users.hpp"

namespace treu::app {
namespace {

struct UserFlags {
  std::string action;
  std::string email;
  std::string role;
  std::string name;
  std::string locale = "en";
  bool password_stdin = false;
};

// The password of the command: the first line of stdin, or a generated one (`generated` set).
Result<std::string> PasswordOf(const UserFlags& f, bool& generated) {
  generated = !f.password_stdin;
  if (generated) return GeneratePassword();
  std::string line;
  if (!std::getline(std::cin, line)) return InvalidArgument("--password-stdin", "no password on stdin");
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  return line;
}

Result<DashboardUser> FindUser(Store& store, const Workspace& ws, const std::string& email) {
  TREU_ASSIGN_OR_RETURN(std::string normal, NormalizeEmail(email));
  TREU_ASSIGN_OR_RETURN(std::optional<DashboardUser> user, store.FindDashboardUserByEmail(ws.id, normal));
  if (!user) return NotFound("user " + normal, "no such user in workspace " + ws.name);
  return *user;
}

int Run(const UserFlags& f, Context& ctx) {
  if (f.action != "list" && f.email.empty()) {
    return Fail(InvalidArgument("EMAIL", "name the user by email").error());
  }
  if (f.action == "create") {
    auto store = ctx.OpenStore();
    if (!store) return Fail(store.error());
    auto ws = ctx.EnsureWorkspace(**store);
    if (!ws) return Fail(ws.error());
    if (f.role.empty()) return Fail(InvalidArgument("--role", "is required: admin, marketer or viewer").error());
    bool generated = false;
    auto password = PasswordOf(f, generated);
    if (!password) return Fail(password.error());
    NewUser u{f.email, f.name, f.role, *password, f.locale};
    auto created = CreateUser(**store, ws->id, u, ctx.clock);
    if (!created) return Fail(created.error());
    if (generated) {
      // The password is the last word, so scripts can take it with `awk '{print $NF}'`.
      std::printf("created %s user %s in workspace %s (id %lld); password (shown once): %s\n",
                  created->role.c_str(), created->email.c_str(), ws->name.c_str(),
                  static_cast<long long>(created->id), password->c_str());
    } else {
      std::printf("created %s user %s in workspace %s (id %lld)\n", created->role.c_str(),
                  created->email.c_str(), ws->name.c_str(), static_cast<long long>(created->id));
    }
    return 0;
  }
  auto opened = ctx.OpenWorkspace();
  if (!opened) return Fail(opened.error());
  Store& store = *opened->store;
  const Workspace& ws = opened->ws;
  if (f.action == "list") {
    auto users = store.ListDashboardUsers(ws.id);
    if (!users) return Fail(users.error());
    std::printf("%-6s %-32s %-9s %-6s %-20s %s\n", "ID", "EMAIL", "ROLE", "LOCALE", "LAST LOGIN", "NAME");
    for (const DashboardUser& u : *users) {
      std::printf("%-6lld %-32s %-9s %-6s %-20s %s\n", static_cast<long long>(u.id), u.email.c_str(),
                  u.role.c_str(), u.locale.c_str(),
                  u.last_login_at ? FormatTimestamp(*u.last_login_at).c_str() : "-", u.name.c_str());
    }
    return 0;
  }
  auto user = FindUser(store, ws, f.email);
  if (!user) return Fail(user.error());
  if (f.action == "delete") {
    if (auto s = store.DeleteDashboardUser(ws.id, user->id); !s) return Fail(s.error());
    std::printf("deleted user %s of workspace %s and ended their sessions\n", user->email.c_str(), ws.name.c_str());
    return 0;
  }
  bool generated = false;
  auto password = PasswordOf(f, generated);
  if (!password) return Fail(password.error());
  UserChange change;
  change.password = *password;
  if (auto s = UpdateUser(store, ws.id, user->id, change); !s) return Fail(s.error());
  if (generated) {
    std::printf("new password of %s, their sessions ended (shown once): %s\n", user->email.c_str(),
                password->c_str());
  } else {
    std::printf("new password of %s set; their sessions ended\n", user->email.c_str());
  }
  return 0;
}

}  // namespace

std::function<int()> SetupUser(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<UserFlags>();
  cmd.add_option("ACTION", f->action, "create, list, delete or passwd")
      ->required()
      ->check(CLI::IsMember({"create", "list", "delete", "passwd"}));
  cmd.add_option("EMAIL", f->email, "the user's email (create, delete, passwd)");
  cmd.add_option("--role", f->role, "create: admin, marketer or viewer")
      ->check(CLI::IsMember({"admin", "marketer", "viewer"}));
  cmd.add_option("--name", f->name, "create: the user's name");
  cmd.add_option("--locale", f->locale, "create: the dashboard's language, en or de (default en)")
      ->check(CLI::IsMember({"en", "de"}));
  cmd.add_flag("--password-stdin", f->password_stdin,
               "create, passwd: read the password from the first line of stdin (else one is "
               "generated and printed once)");
  return [f, &ctx]() -> int { return Run(*f, ctx); };
}

}  // namespace treu::app
