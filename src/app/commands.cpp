#include <fstream>
#include <iostream>
#include <sstream>
#include <sqlite3.h>
#include <libpq-fe.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "app/analytics_commands.hpp"
#include "app/cli.hpp"

#include <cstdlib>
#include "analytics/kpis.hpp"
#include "analytics/workspace_settings.hpp"
#include "app/demo.hpp"
#include "app/model_commands.hpp"
#include "app/segment_commands.hpp"
#include "app/loyalty_commands.hpp"
#include "app/campaign_commands.hpp"
#include "app/journey_commands.hpp"
#include "app/channel_commands.hpp"
#include "app/messaging_commands.hpp"
#include "app/survey_commands.hpp"
#include "app/user_commands.hpp"
#include "app/progress.hpp"
#include "app/serve.hpp"
#include "ingest/csv_import.hpp"
#include "storage/open.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "access/secrets.hpp"
#include "surveys/followups.hpp"

namespace treu::app {

Result<std::string> ReadTextFile(const std::string& path, std::string_view flag) {
  std::ostringstream out;
  if (path == "-") {
    out << std::cin.rdbuf();
    return out.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(std::string(flag), "can't read '" + path + "'");
  out << in.rdbuf();
  return out.str();
}

int Fail(const Error& e) {
  std::fprintf(stderr, "treu: %s\n", e.ToString().c_str());
  return 1;
}

Result<std::unique_ptr<Store>> Context::OpenStore() const { return treu::OpenStore(db_url, clock); }

Result<OpenedWorkspace> Context::OpenWorkspace() const {
  OpenedWorkspace out;
  TREU_ASSIGN_OR_RETURN(out.store, OpenStore());
  TREU_ASSIGN_OR_RETURN(out.ws, out.store->FindWorkspace(workspace));
  return out;
}

std::string Context::SecretPath() const {
  if (const char* env = std::getenv("TREU_SECRET_FILE"); env != nullptr && *env != '\0') return env;
  if (db_url.starts_with("sqlite:")) return db_url.substr(7) + ".secret";
  return "treu.secret";
}

std::string Context::MailDir() const {
  if (const char* env = std::getenv("TREU_MAIL_DIR"); env != nullptr && *env != '\0') return env;
  if (db_url.starts_with("sqlite:")) return db_url.substr(7) + ".mail";
  return "treu-mail";
}

Result<Workspace> Context::EnsureWorkspace(Store& store) const {
  auto found = store.FindWorkspace(workspace);
  if (found) {
    if (!currency.empty()) {
      TREU_ASSIGN_OR_RETURN(Currency c, Currency::FromCode(currency));
      if (found->currency && !(*found->currency == c)) {
        return FailedPrecondition("--currency", "workspace '" + workspace + "' reports in " +
                                                    std::string(found->currency->code()));
      }
    }
    if (!time_zone.empty() && time_zone != found->time_zone) {
      return FailedPrecondition("--timezone", "workspace '" + workspace + "' uses " +
                                                  found->time_zone);
    }
    return found;
  }
  if (found.error().code() != ErrorCode::kNotFound) return found;
  Workspace w;
  w.name = workspace;
  if (!currency.empty()) {
    TREU_ASSIGN_OR_RETURN(w.currency, Currency::FromCode(currency));
  }
  if (!time_zone.empty()) w.time_zone = time_zone;
  w.created_at = clock.Now();
  TREU_RETURN_IF_ERROR(ValidateWorkspace(w));
  return store.CreateWorkspace(w);
}

namespace {

std::function<int()> SetupImport(CLI::App& cmd, Context& ctx) {
  struct Opts {
    std::string kind;
    std::string file;
    std::vector<std::string> maps;
    bool skip_invalid = false;
    std::string rejects;
    bool dry_run = false;
  };
  auto o = std::make_shared<Opts>();
  cmd.add_option("KIND", o->kind, "customers, orders or subscriptions")
      ->required()
      ->check(CLI::IsMember({"customers", "orders", "subscriptions"}));
  cmd.add_option("FILE", o->file, "CSV file with a header row (see docs/import.md)")->required();
  cmd.add_option("--map", o->maps, "use column SOURCE as canonical column TARGET: SOURCE=TARGET")
      ->type_name("SOURCE=TARGET");
  cmd.add_flag("--skip-invalid", o->skip_invalid,
               "import the valid rows; write rejected rows to the rejects file");
  cmd.add_option("--rejects", o->rejects, "rejects file (default: FILE.rejects.csv)");
  cmd.add_flag("--dry-run", o->dry_run, "validate only; write nothing");
  return [o, &ctx]() -> int {
    const ImportKind kind = ParseImportKind(o->kind).value();
    ImportOptions opts;
    for (const auto& m : o->maps) {
      const auto eq = m.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == m.size()) {
        return Fail(Error(ErrorCode::kInvalidArgument, "--map " + m,
                          "expected SOURCE=TARGET, e.g. --map Bestellnummer=order_id"));
      }
      opts.column_map[m.substr(0, eq)] = m.substr(eq + 1);
    }
    opts.skip_invalid = o->skip_invalid;
    opts.dry_run = o->dry_run;
    opts.rejects_path = o->rejects.empty() ? o->file + ".rejects.csv" : o->rejects;
    auto store = ctx.OpenStore();
    if (!store) return Fail(store.error());
    auto ws = ctx.EnsureWorkspace(**store);
    if (!ws) return Fail(ws.error());
    ProgressBar bar("import " + o->kind);
    opts.progress = [&bar](const ImportProgress& p) {
      bar.Update(p.bytes_read, p.bytes_total, p.rows);
    };
    auto report = ImportCsvFile(**store, *ws, kind, o->file, opts, ctx.clock);
    opts.progress = nullptr;
    bar.Clear();
    if (!report) {
      Fail(report.error());
      std::fprintf(stderr, "treu: nothing was imported\n");
      return 1;
    }
    const auto& r = *report;
    if (!r.issues.empty()) std::fputs(r.FormatIssues(o->file).c_str(), stderr);
    const double rate = r.seconds > 0 ? static_cast<double>(r.rows) / r.seconds : 0;
    if (o->dry_run) {
      std::printf("%s: %s rows checked, %s rejected (dry run: nothing written)\n", o->file.c_str(),
                  GroupDigits(r.rows).c_str(), GroupDigits(r.rows_rejected).c_str());
      return r.rows_rejected == 0 && r.issues.empty() ? 0 : 1;
    }
    if (!r.committed) {
      std::fprintf(stderr,
                   "treu: %s rejected: %s error%s, nothing was imported (use --skip-invalid to "
                   "import the valid rows)\n",
                   o->file.c_str(), GroupDigits(static_cast<std::int64_t>(r.issues.size())).c_str(),
                   r.issues.size() == 1 ? "" : "s");
      return 1;
    }
    std::printf(
        "%s: %s rows, %s inserted, %s updated, %s unchanged, %s rejected; %s customers; "
        "%.2f s (%s rows/s)\n",
        o->file.c_str(), GroupDigits(r.rows).c_str(), GroupDigits(r.written.inserted).c_str(),
        GroupDigits(r.written.updated).c_str(), GroupDigits(r.written.unchanged).c_str(),
        GroupDigits(r.rows_rejected).c_str(), GroupDigits(r.customers_seen).c_str(), r.seconds,
        GroupDigits(static_cast<std::int64_t>(rate)).c_str());
    if (r.rows_rejected > 0) {
      std::printf("rejected rows written to %s\n", opts.rejects_path.c_str());
    }
    return 0;
  };
}

std::function<int()> SetupMigrate(CLI::App&, Context& ctx) {
  return [&ctx]() -> int {
    auto store = ctx.OpenStore();
    if (!store) return Fail(store.error());
    std::printf("schema of %s is up to date (%s)\n", ctx.db_url.c_str(),
                std::string((*store)->backend()).c_str());
    return 0;
  };
}

std::function<int()> SetupVersion(CLI::App&, Context&) {
  return []() -> int {
    std::printf("treu %s (SQLite %s, libpq %d)\n", TREU_VERSION, sqlite3_libversion(),
                PQlibVersion());
    return 0;
  };
}

std::function<int()> SetupBackup(CLI::App& cmd, Context& ctx) {
  auto dest = std::make_shared<std::string>();
  cmd.add_option("PATH", *dest, "where to write the copy (must not exist)")->required();
  return [dest, &ctx]() -> int {
    if (!ctx.db_url.starts_with("sqlite:")) {
      return Fail(Error(ErrorCode::kInvalidArgument, "backup",
                        "only SQLite databases; back up PostgreSQL with pg_dump"));
    }
    if (std::filesystem::exists(*dest)) {
      return Fail(Error(ErrorCode::kAlreadyExists, *dest, "already exists; choose a new path"));
    }
    std::string src = ctx.db_url.substr(7);
    if (src.starts_with("//")) src = src.substr(2);
    if (!std::filesystem::exists(src)) {
      return Fail(Error(ErrorCode::kNotFound, src, "no such database file"));
    }
    if (auto s = BackupSqlite(src, *dest); !s) return Fail(s.error());
    std::printf("backed up %s to %s\n", src.c_str(), dest->c_str());
    return 0;
  };
}

std::function<int()> SetupWorkspace(CLI::App& cmd, Context& ctx) {
  auto action = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  auto settings = std::make_shared<WorkspaceSettings>();
  // The CLI's options fill these; the empty ones are left unchanged.
  auto purchase_model = std::make_shared<std::string>(), basis = std::make_shared<std::string>(),
       window = std::make_shared<std::string>(), private_webhooks = std::make_shared<std::string>(),
       brand_colour = std::make_shared<std::string>();
  cmd.add_option("ACTION", *action,
                 "create, list, set (change the --workspace's settings) or webhook-key (print the key that signs "
                 "the --workspace's webhook requests, docs/surveys.md)")
      ->required()
      ->check(CLI::IsMember({"create", "list", "set", "webhook-key"}));
  cmd.add_option("NAME", *name, "workspace name (create)");
  cmd.add_option("--purchase-model", *purchase_model,
                 "set: the model behind p_alive, expected_purchases_90d and clv_12m")
      ->check(CLI::IsMember({"bgnbd", "pareto_nbd", "mbgnbd"}));
  cmd.add_option("--retention-basis", *basis, "set: purchases, subscriptions or both")
      ->check(CLI::IsMember({"purchases", "subscriptions", "both"}));
  cmd.add_option("--activity-window", *window, "set: purchase activity window, e.g. 90d, 12w, 1y");
  cmd.add_option("--private-webhooks", *private_webhooks,
                 "set: allow or refuse (the default) webhooks to private, loopback and link-local addresses")
      ->check(CLI::IsMember({"allow", "refuse"}));
  cmd.add_option("--brand-colour", *brand_colour,
                 "set: the colour of survey pages and email scales, #RRGGBB (\"default\": treu's own)");
  return [=, &ctx]() -> int {
    auto given = [](const std::shared_ptr<std::string>& v) {
      return v->empty() ? std::nullopt : std::optional<std::string>(*v);
    };
    settings->purchase_model = given(purchase_model);
    settings->retention_basis = given(basis);
    settings->activity_window = given(window);
    settings->private_webhooks = given(private_webhooks);
    settings->brand_colour = given(brand_colour);
    // set: the global --currency (while the workspace has none) and --timezone.
    if (!ctx.currency.empty()) settings->currency = ctx.currency;
    if (!ctx.time_zone.empty()) settings->time_zone = ctx.time_zone;
    auto store = ctx.OpenStore();
    if (!store) return Fail(store.error());
    if (*action == "list") {
      auto all = (*store)->ListWorkspaces();
      if (!all) return Fail(all.error());
      std::printf("%-24s %-8s %-20s %-14s %-10s %s\n", "NAME", "CURRENCY", "TIME ZONE", "BASIS", "WINDOW",
                  "PURCHASE MODEL");
      for (const auto& w : *all) {
        std::printf("%-24s %-8s %-20s %-14s %-10s %s\n", w.name.c_str(),
                    w.currency ? std::string(w.currency->code()).c_str() : "-", w.time_zone.c_str(),
                    std::string(RetentionBasisName(w.retention_basis)).c_str(),
                    (std::to_string(w.activity_window_days) + "d").c_str(),
                    std::string(PurchaseModelName(w.purchase_model)).c_str());
      }
      return 0;
    }
    if (*action == "set") {
      auto changed = ApplyWorkspaceSettings(**store, ctx.workspace, *settings);
      if (!changed) return Fail(changed.error());
      std::printf("workspace %s: retention basis %s, activity window %dd, purchase model %s, private webhooks %s\n",
                  changed->name.c_str(), std::string(RetentionBasisName(changed->retention_basis)).c_str(),
                  changed->activity_window_days, std::string(PurchaseModelName(changed->purchase_model)).c_str(),
                  changed->allow_private_webhooks ? "allowed" : "refused");
      return 0;
    }
    if (*action == "webhook-key") {
      auto ws = (*store)->FindWorkspace(ctx.workspace);
      if (!ws) return Fail(ws.error());
      auto secret = LoadOrCreateSecret(ctx.SecretPath());
      if (!secret) return Fail(secret.error());
      std::printf("%s\n", survey::WebhookSigningKey(*secret, ws->id).c_str());
      return 0;
    }
    if (name->empty()) return Fail(Error(ErrorCode::kInvalidArgument, "workspace create", "NAME is required"));
    if ((*store)->FindWorkspace(*name)) {
      return Fail(Error(ErrorCode::kAlreadyExists, "workspace " + *name, "already exists"));
    }
    Context c = ctx;
    c.workspace = *name;
    auto ws = c.EnsureWorkspace(**store);
    if (!ws) return Fail(ws.error());
    std::printf("created workspace %s (currency %s, time zone %s)\n", ws->name.c_str(),
                ws->currency ? std::string(ws->currency->code()).c_str() : "set by first import",
                ws->time_zone.c_str());
    return 0;
  };
}

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"demo", "create a database with generated demo data and show what it holds", SetupDemo},
      {"serve", "serve the HTTP API (REST and tracking)", SetupServe},
      {"import", "import customers, orders or subscriptions from a CSV file", SetupImport},
      {"kpi", "retention KPIs of a period (or a series of periods)", SetupKpi},
      {"cohorts", "cohort retention matrices (customers or revenue)", SetupCohorts},
      {"mrr", "MRR and its movements over a period", SetupMrr},
      {"key", "create, list or revoke API keys of the workspace", SetupKey},
      {"user", "create, list or delete dashboard users of the workspace, or set a password", SetupUser},
      {"fit", "fit a prediction model (BG/NBD, Pareto/NBD, MBG/NBD, Gamma-Gamma)", SetupFit},
      {"predict", "a customer's predictions: P(alive), expected purchases, CLV, RFM", SetupPredict},
      {"backtest", "fit a purchase model on the past and compare with what followed", SetupBacktest},
      {"segment", "evaluate or explain a segment expression; list the fields", SetupSegment},
      {"survey", "define surveys (NPS, CSAT, CES, choices, text) and list them", SetupSurvey},
      {"loyalty", "the loyalty program: points, tiers, rewards, referrals, balances and the report", SetupLoyalty},
      {"workspace", "create, list or change workspaces", SetupWorkspace},
      {"messaging", "show or set the workspace's sending settings (sender, SMTP, DKIM, tracking)", SetupMessaging},
      {"template", "save, check, list, show, preview or delete message templates", SetupTemplate},
      {"send", "render a template for customers, a segment or an expression and queue the messages", SetupSend},
      {"outbox", "messages per state, or deliver the outbox from this process", SetupOutbox},
      {"consent", "send a double opt-in email, or export the consent proof", SetupConsent},
      {"channels", "web push keys, the identity secret of in-app messages, webhook endpoints", SetupChannels},
      {"campaign", "campaigns: save, preview, launch, cancel and report (lift against the holdout); delivery rules",
       SetupCampaign},
      {"journey", "journeys: save a JSON definition (versions), pause, resume, report per step, runs, run-due",
       SetupJourney},
      {"migrate", "apply pending schema migrations to the database", SetupMigrate},
      {"backup", "write a consistent copy of the SQLite database while treu runs", SetupBackup},
      {"version", "print the version of treu and its libraries", SetupVersion},
  };
  return commands;
}

}  // namespace treu::app
