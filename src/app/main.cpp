#include <cstdio>

#include "app/cli.hpp"

int main(int argc, char** argv) {
  using treu::app::Context;
  Context ctx;
  CLI::App app{"treu — self-hosted customer retention: know, measure, segment, act"};
  app.name("treu");
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  app.set_version_flag("--version", "treu " TREU_VERSION);
  app.add_option("--db", ctx.db_url,
                 "database: sqlite:PATH (default sqlite:treu.db) or postgresql://…")
      ->envname("TREU_DB")
      ->each([&](const std::string&) { ctx.db_given = true; });
  app.add_option("--workspace", ctx.workspace, "workspace name (default: default)")
      ->envname("TREU_WORKSPACE")
      ->each([&](const std::string&) { ctx.workspace_given = true; });
  app.add_option("--currency", ctx.currency,
                 "reporting currency (ISO 4217) of a workspace created now");
  app.add_option("--timezone", ctx.time_zone, "IANA time zone of a workspace created now");

  std::function<int()> run;
  for (const auto& command : treu::app::Commands()) {
    CLI::App* sub = app.add_subcommand(std::string(command.name), std::string(command.help));
    auto runner = command.setup(*sub, ctx);
    sub->callback([&run, runner] { run = runner; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return run ? run() : 0;
}
