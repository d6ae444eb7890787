// The treu command line: one table of subcommands, each with its help text, options and
// the function that runs it. main() builds the CLI from the table; nothing else does.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"
#include "storage/store.hpp"

namespace treu::app {

// Options every command shares, and the objects they open. Built once in main().
// An open store and the --workspace in it.
struct OpenedWorkspace {
  std::unique_ptr<Store> store;
  Workspace ws;
};

struct Context {
  std::string db_url = "sqlite:treu.db";
  bool db_given = false;  // --db was on the command line
  std::string workspace = "default";
  bool workspace_given = false;  // --workspace was on the command line
  std::string currency;   // --currency for a workspace created now
  std::string time_zone;  // --timezone for a workspace created now
  SystemClock clock;

  // Opens the store named by --db (applying migrations).
  Result<std::unique_ptr<Store>> OpenStore() const;
  // The --workspace, created on first use with --currency and --timezone; fails when those
  // contradict an existing workspace.
  Result<Workspace> EnsureWorkspace(Store& store) const;
  // Opens the store and finds the existing --workspace (NotFound when there is none).
  Result<OpenedWorkspace> OpenWorkspace() const;
  // Where the server's signing secret lives: $TREU_SECRET_FILE, else beside an SQLite
  // database (PATH.secret), else treu.secret in the working directory.
  std::string SecretPath() const;
  // Where the file transport writes email (workspaces without SMTP, e.g. the demo):
  // $TREU_MAIL_DIR, else beside an SQLite database (PATH.mail/), else treu-mail/.
  std::string MailDir() const;
};

struct Command {
  std::string_view name;
  std::string_view help;
  // Declares the command's own options on `cmd`; returns the function that runs it,
  // which returns the process exit code.
  std::function<std::function<int()>(CLI::App& cmd, Context& ctx)> setup;
};

// Every subcommand of treu, in the order `treu --help` lists them.
const std::vector<Command>& Commands();

// Prints an error as "treu: <message>" to stderr and returns exit code 1.
int Fail(const Error& e);

// The whole file at `path` ("-": standard input); InvalidArgument naming `flag` when unreadable.
Result<std::string> ReadTextFile(const std::string& path, std::string_view flag);

}  // namespace treu::app
