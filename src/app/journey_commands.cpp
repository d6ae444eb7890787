#include "app/journey_commands.hpp"

#include <cstdio>
#include <memory>

#include "access/secrets.hpp"
#include "api/survey_json.hpp"
#include "journeys/definition_json.hpp"
#include "journeys/service.hpp"

namespace treu::app {
namespace {

struct JourneyFlags {
  std::string action;
  std::string name;  // save: the file
  bool paused = false;
  std::string customer;
  bool inside = false;
  int limit = 50;
};

void PrintJourney(const JourneyRecord& j) {
  std::printf("journey      %s (%s, version %d)\n", j.name.c_str(), j.state.c_str(), j.version);
  std::printf("updated      %s\n", FormatTimestamp(j.updated_at).c_str());
  if (!j.last_error.empty()) std::printf("last error   %s\n", j.last_error.c_str());
}

void PrintPass(const journeys::PassReport& r) {
  std::printf("entered %lld, woken %lld, steps %lld, actions %lld, messages %lld, capped %lld, completed %lld, "
              "exited %lld\n",
              static_cast<long long>(r.entered), static_cast<long long>(r.woken), static_cast<long long>(r.steps),
              static_cast<long long>(r.actions), static_cast<long long>(r.messages), static_cast<long long>(r.capped),
              static_cast<long long>(r.completed), static_cast<long long>(r.exited));
}

int Save(const JourneyFlags& f, Store& store, const Workspace& ws, const Clock& clock) {
  auto text = ReadTextFile(f.name, "FILE");
  if (!text) return Fail(text.error());
  auto def = journeys::ParseJourneyText(*text);
  if (!def) {
    // Every problem, each at its member.
    for (const Error& e : def.error()) std::fprintf(stderr, "treu: %s\n", e.ToString().c_str());
    return 1;
  }
  auto saved = journeys::SaveJourney(store, ws, *def, f.paused ? "paused" : "", clock.Now());
  if (!saved) return Fail(saved.error());
  PrintJourney(saved->record);
  std::printf("%s\n", saved->created       ? "created"
                      : saved->new_version ? "saved as a new version: customers inside stay on theirs"
                                           : "unchanged");
  return 0;
}

int Report(const JourneyFlags& f, Store& store, const Workspace& ws) {
  auto r = journeys::ReportJourney(store, ws, f.name);
  if (!r) return Fail(r.error());
  PrintJourney(r->record);
  std::printf("entered %lld, inside %lld, completed (goal) %lld = %.1f %%, exited %lld\n",
              static_cast<long long>(r->entered), static_cast<long long>(r->inside),
              static_cast<long long>(r->completed), 100 * r->conversion_rate, static_cast<long long>(r->exited));
  std::printf("%-20s %-15s %9s %8s  %s\n", "step", "type", "executed", "waiting", "outcomes / messages");
  for (const auto& s : r->steps) {
    std::string detail;
    for (const auto& [o, n] : s.outcomes) detail += (detail.empty() ? "" : ", ") + o + " " + std::to_string(n);
    if (s.type == journeys::StepType::kSend)
      detail += "; sent " + std::to_string(s.sent) + ", queued " + std::to_string(s.queued) + ", failed " +
                std::to_string(s.failed) + ", opened " + std::to_string(s.opened) + ", clicked " +
                std::to_string(s.clicked);
    std::printf("%-20s %-15s %9lld %8lld  %s\n", s.id.c_str(), std::string(journeys::StepTypeName(s.type)).c_str(),
                static_cast<long long>(s.executed), static_cast<long long>(s.waiting), detail.c_str());
  }
  return 0;
}

int Runs(const JourneyFlags& f, Store& store, const Workspace& ws) {
  auto found = store.FindJourney(ws.id, f.name);
  if (!found) return Fail(found.error());
  if (!*found) return Fail(NotFound("journey " + f.name, "no such journey in this workspace").error());
  JourneyRunFilter filter{(*found)->id, CustomerId{}, f.inside};
  if (!f.customer.empty()) {
    auto c = store.FindCustomer(ws.id, f.customer);
    if (!c) return Fail(c.error());
    if (!*c) return Fail(NotFound("--customer", "no customer '" + f.customer + "'").error());
    filter.customer = (*c)->id;
  }
  auto runs = store.ListJourneyRuns(ws.id, filter, 0, std::clamp(f.limit, 1, 100'000));
  if (!runs) return Fail(runs.error());
  std::printf("%-10s %-20s %-8s %-18s %-20s %s\n", "run", "customer", "version", "state", "entered", "step");
  for (const JourneyRunRow& r : *runs) {
    auto external = store.CustomerExternalId(ws.id, r.customer);
    auto v = journeys::LoadVersion(store, **found, r.version);
    const std::string step = v && r.step >= 0 && static_cast<std::size_t>(r.step) < v->steps().size()
                                 ? v->steps()[static_cast<std::size_t>(r.step)].id
                                 : "?";
    std::printf("%-10lld %-20s %-8d %-18s %-20s %s\n", static_cast<long long>(r.id),
                external && *external ? (*external)->c_str() : "?", r.version, r.state.c_str(),
                FormatTimestamp(r.entered_at).c_str(), step.c_str());
  }
  return 0;
}

int RunJourney(const JourneyFlags& f, Context& ctx) {
  auto opened = ctx.OpenWorkspace();
  if (!opened) return Fail(opened.error());
  Store& store = *opened->store;
  const Workspace& ws = opened->ws;
  if (f.action == "list") {
    auto all = store.ListJourneys(ws.id);
    if (!all) return Fail(all.error());
    for (const auto& j : *all)
      std::printf("%-24s %-8s v%-4d %s\n", j.name.c_str(), j.state.c_str(), j.version,
                  j.last_error.empty() ? "" : ("last error: " + j.last_error).c_str());
    return 0;
  }
  if (f.action == "run-due" || f.action == "enter-members") {
    auto secret = LoadOrCreateSecret(ctx.SecretPath());
    if (!secret) return Fail(secret.error());
    if (f.action == "run-due") {
      auto held = store.HoldLock(journeys::kPassLock);
      if (!held) return Fail(held.error());
      if (!*held) {
        std::fprintf(stderr, "another process (a treu serve) runs the journeys of this database: nothing done\n");
        return 0;
      }
    }
    SnapshotCache snapshots;
    const journeys::RunOptions options{*secret, nullptr, SurveyOf};
    auto pass = f.action == "run-due" ? journeys::RunJourneys(store, ws, snapshots, options, ctx.clock.Now())
                                      : journeys::EnterCurrentMembers(store, ws, snapshots, f.name, options, ctx.clock.Now());
    if (!pass) return Fail(pass.error());
    PrintPass(*pass);
    return pass->failed > 0 ? 1 : 0;
  }
  if (f.name.empty()) return Fail(InvalidArgument("NAME", f.action == "save" ? "give the definition's file" : "name the journey").error());
  if (f.action == "save") return Save(f, store, ws, ctx.clock);
  if (f.action == "report") return Report(f, store, ws);
  if (f.action == "runs") return Runs(f, store, ws);
  if (f.action == "pause" || f.action == "resume") {
    auto j = journeys::SetJourneyState(store, ws.id, f.name, f.action == "pause" ? "paused" : "active", ctx.clock.Now());
    if (!j) return Fail(j.error());
    PrintJourney(*j);
    return 0;
  }
  if (f.action == "delete") {
    if (auto s = journeys::DeleteJourney(store, ws.id, f.name); !s) return Fail(s.error());
    return 0;
  }
  auto found = store.FindJourney(ws.id, f.name);
  if (!found) return Fail(found.error());
  if (!*found) return Fail(NotFound("journey " + f.name, "no such journey in this workspace").error());
  // show: the definition as stored (canonical JSON), to edit and save again.
  auto v = journeys::LoadVersion(store, **found, (*found)->version);
  if (!v) return Fail(v.error());
  std::printf("%s\n", journeys::FormatJourneyJson(v->definition(), 2).c_str());
  return 0;
}

}  // namespace

std::function<int()> SetupJourney(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<JourneyFlags>();
  cmd.add_option("ACTION", f->action,
                 "list; save FILE (a JSON definition, - for standard input); show, report, runs, pause, resume, "
                 "delete or enter-members NAME; run-due (one pass of the journey worker, for cron)")
      ->required()
      ->check(CLI::IsMember(
          {"list", "save", "show", "report", "runs", "pause", "resume", "delete", "enter-members", "run-due"}));
  cmd.add_option("NAME", f->name, "the journey (save: the definition's file)");
  cmd.add_flag("--paused", f->paused, "save: save it paused (nobody enters until resumed)");
  cmd.add_option("--customer", f->customer, "runs: only this customer's (external id)");
  cmd.add_flag("--inside", f->inside, "runs: only runs still inside the journey");
  cmd.add_option("--limit", f->limit, "runs: at most this many (default 50)");
  return [f, &ctx]() -> int { return RunJourney(*f, ctx); };
}

}  // namespace treu::app
