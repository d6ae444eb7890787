#include "app/campaign_commands.hpp"

#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>

#include "access/secrets.hpp"
#include "api/survey_json.hpp"
#include "app/progress.hpp"
#include "campaigns/service.hpp"
#include "journeys/service.hpp"

namespace treu::app {
namespace {

struct CampaignFlags {
  std::string action;
  std::string name;
  std::vector<std::string> templates;  // "name" or "name:weight"
  std::string segment, where;
  std::optional<double> holdout, test, test_window_hours, goal_days;
  std::string metric;
  std::string send_at, send_date, local_time;
  bool optimize = false;
  std::optional<std::string> survey;
  bool schedule = false;
  // rules
  std::optional<int> max_messages;
  std::optional<double> window_days;
  std::string quiet_start, quiet_end;
  // calendar
  std::string from, to;
};

std::string TimeOr(const std::optional<Timestamp>& t, const char* none) {
  return t ? FormatTimestamp(*t) : std::string(none);
}

void PrintCampaign(const CampaignRecord& c) {
  std::printf("campaign     %s (%s)\n", c.name.c_str(), std::string(CampaignStateName(c.state)).c_str());
  std::printf("audience     %s%s%s\n", c.segment.empty() ? "" : ("segment " + c.segment).c_str(),
              !c.segment.empty() && !c.where.empty() ? " and " : "", c.where.c_str());
  for (std::size_t i = 0; i < c.variants.size(); ++i)
    std::printf("variant %s    %s (weight %d)\n", campaigns::VariantName(static_cast<int>(i)).c_str(),
                c.variants[i].template_name.c_str(), c.variants[i].weight);
  std::printf("holdout      %.1f %%\n", c.holdout_permille / 10.0);
  if (c.test_permille < 1000)
    std::printf("A/B test     %.1f %% of the rest for %.1f h, winner by %s%s\n", c.test_permille / 10.0,
                static_cast<double>(c.test_window_micros) / 3.6e9, c.winner_metric.c_str(),
                c.winner >= 0 ? (": " + campaigns::VariantName(c.winner)).c_str() : "");
  if (!c.local_time.empty() && c.send_at)
    std::printf("send         %s at %s in each recipient's time zone\n",
                FormatDate(campaigns::LocalSendDate(*c.send_at)).c_str(), c.local_time.c_str());
  else
    std::printf("send         %s\n", TimeOr(c.send_at, "when launched").c_str());
  if (c.optimize_send_time) std::printf("send time    optimised: each customer's best hour of engagement\n");
  if (!c.survey.empty())
    std::printf("survey wave  each message invites to survey %s (those its schedule finds due)\n", c.survey.c_str());
  std::printf("goal         an order within %.1f days\n", static_cast<double>(c.goal_window_micros) / kMicrosPerDay);
  if (c.launched_at) std::printf("launched     %s\n", FormatTimestamp(*c.launched_at).c_str());
  if (c.finished_at) std::printf("finished     %s\n", FormatTimestamp(*c.finished_at).c_str());
  if (!c.last_error.empty()) std::printf("last error   %s\n", c.last_error.c_str());
}

void PrintLaunch(const campaigns::LaunchReport& r) {
  std::printf("audience %s: held out %s, waiting for the winner %s, messages %s, capped %s\n",
              GroupDigits(r.audience).c_str(), GroupDigits(r.holdout).c_str(), GroupDigits(r.waiting).c_str(),
              GroupDigits(r.queued).c_str(), GroupDigits(r.capped).c_str());
  std::printf("skipped: no email %s, no consent %s, suppressed %s, no push subscription %s\n",
              GroupDigits(r.no_email).c_str(), GroupDigits(r.no_consent).c_str(), GroupDigits(r.suppressed).c_str(),
              GroupDigits(r.no_subscription).c_str());
  if (r.survey_not_due > 0)
    std::printf("not due for the survey (asked recently, min gap, ...): %s\n", GroupDigits(r.survey_not_due).c_str());
  if (r.deferred > 0 || r.optimized > 0)
    std::printf("send times: %s moved past quiet hours, %s at the customer's best hour\n",
                GroupDigits(r.deferred).c_str(), GroupDigits(r.optimized).c_str());
}

void PrintMaterialized(const campaigns::MaterializeReport& r) {
  std::printf("rendered %s planned message(s) into the outbox: %s enqueued, %s already there, %s failed\n",
              GroupDigits(r.members).c_str(), GroupDigits(r.messages).c_str(), GroupDigits(r.duplicates).c_str(),
              GroupDigits(r.failed).c_str());
}

void PrintLift(const char* what, const std::optional<campaigns::Lift>& l, const char* unit) {
  if (!l) {
    std::printf("%-11s n/a (needs recipients and a holdout)\n", what);
    return;
  }
  std::printf("%-11s %+.4g%s (recipients %.4g, holdout %.4g), 95 %% CI [%+.4g, %+.4g], p = %.3g%s\n", what,
              l->difference, unit, l->treated, l->holdout, l->interval.low, l->interval.high, l->p_value,
              l->significant ? "" : " (not significant)");
}

int RunRules(const CampaignFlags& f, Store& store, const Workspace& ws, Context& ctx) {
  auto stored = store.FindDeliveryRules(ws.id);
  if (!stored) return Fail(stored.error());
  DeliveryRulesRecord r = stored->value_or(DeliveryRulesRecord{ws.id});
  const bool change = f.max_messages || f.window_days || !f.quiet_start.empty() || !f.quiet_end.empty();
  if (change) {
    if (f.max_messages) r.cap_messages = *f.max_messages;
    if (f.window_days) r.cap_window_micros = static_cast<std::int64_t>(std::llround(*f.window_days * kMicrosPerDay));
    if (!f.quiet_start.empty()) r.quiet_start = f.quiet_start;
    if (!f.quiet_end.empty()) r.quiet_end = f.quiet_end;
    auto saved = campaigns::SaveDeliveryRules(store, r, ctx.clock.Now());
    if (!saved) return Fail(saved.error());
    r = *saved;
  }
  if (r.cap_messages == 0) std::printf("frequency cap  none\n");
  else std::printf("frequency cap  %d marketing messages per %.1f days (every channel)\n", r.cap_messages,
                   static_cast<double>(r.cap_window_micros) / kMicrosPerDay);
  if (r.quiet_start == r.quiet_end) std::printf("quiet hours    none\n");
  else std::printf("quiet hours    %s to %s in each recipient's time zone\n", r.quiet_start.c_str(), r.quiet_end.c_str());
  return 0;
}

Result<CampaignRecord> CampaignOfFlags(const CampaignFlags& f, Store& store, const Workspace& ws) {
  campaigns::CampaignChange change;
  if (!f.templates.empty()) {
    std::vector<CampaignVariant> variants;
    for (const std::string& t : f.templates) {
      CampaignVariant v;
      const auto colon = t.rfind(':');
      v.template_name = t.substr(0, colon);
      if (colon != std::string::npos) {
        try {
          std::size_t used = 0;
          v.weight = std::stoi(t.substr(colon + 1), &used);
          if (used != t.size() - colon - 1) throw std::invalid_argument(t);
        } catch (const std::exception&) {
          return InvalidArgument("--template", "'" + t + "' is not NAME or NAME:WEIGHT");
        }
      }
      variants.push_back(std::move(v));
    }
    change.variants = std::move(variants);
  }
  if (!f.segment.empty()) change.segment = f.segment;
  if (!f.where.empty()) change.where = f.where;
  change.holdout_percent = f.holdout;
  change.test_percent = f.test;
  if (!f.metric.empty()) change.winner_metric = f.metric;
  change.test_window_hours = f.test_window_hours;
  change.goal_window_days = f.goal_days;
  if (f.optimize) change.optimize_send_time = true;
  change.survey = f.survey;
  if (!f.local_time.empty()) change.local_time = f.local_time;
  if (!f.send_at.empty()) {
    auto zone = TimeZone::Find(ws.time_zone);
    auto t = ParseTimestamp(f.send_at, zone ? *zone : TimeZone::Utc());
    if (!t) return InvalidArgument("--send-at", "must be an ISO 8601 date-time, e.g. 2026-12-01T09:00:00Z");
    change.send_at = *t;
  }
  if (!f.send_date.empty()) {
    TREU_ASSIGN_OR_RETURN(change.send_date, ParseDate(f.send_date));
  }
  if (f.schedule) change.schedule = true;
  TREU_ASSIGN_OR_RETURN(auto existing, store.FindCampaign(ws.id, f.name));
  return campaigns::ApplyCampaignChange(existing ? &*existing : nullptr, f.name, change);
}

int RunCampaign(const CampaignFlags& f, Context& ctx) {
  auto opened = ctx.OpenWorkspace();
  if (!opened) return Fail(opened.error());
  Store& store = *opened->store;
  const Workspace& ws = opened->ws;
  if (f.action == "rules") return RunRules(f, store, ws, ctx);
  if (f.action == "calendar") {
    auto from = ParseDate(f.from);
    if (!from) return Fail(InvalidArgument("--from", "give the first day, YYYY-MM-DD").error());
    auto to = ParseDate(f.to.empty() ? f.from : f.to);
    if (!to) return Fail(InvalidArgument("--to", "give the last day, YYYY-MM-DD").error());
    auto days = journeys::ContentCalendar(store, ws, *from, *to);
    if (!days) return Fail(days.error());
    std::printf("%-10s %-20s %-24s %-10s %-8s %s\n", "DATE", "TIME", "CAMPAIGN / JOURNEY", "STATE", "CHANNEL",
                "NOTES");
    for (const auto& e : *days) {
      const bool journey = e.kind == "journey";
      const std::string when = journey ? "during the day" : e.at ? FormatTimestamp(*e.at) : e.local_time + " local";
      const std::string what = journey ? "journey " + e.name + " / " + e.step : e.name;
      std::string conflicts = journey ? std::to_string(e.customers) + " customers due"
                              : e.survey.empty() ? ""
                                                 : "survey wave: " + e.survey;
      for (const auto& c : e.conflicts)
        conflicts += (conflicts.empty() ? "" : "; ") + (c.kind == "same_audience" ? "same audience as " + c.detail : c.detail);
      std::printf("%-10s %-20s %-24s %-10s %-8s %s\n", FormatDate(e.date).c_str(), when.c_str(), what.c_str(),
                  journey ? "active" : std::string(CampaignStateName(e.state)).c_str(),
                  std::string(ChannelName(e.channel)).c_str(), conflicts.empty() ? "-" : conflicts.c_str());
    }
    return 0;
  }
  if (f.action == "list") {
    auto all = store.ListCampaigns(ws.id);
    if (!all) return Fail(all.error());
    std::printf("%-24s %-10s %-8s %-22s %s\n", "NAME", "STATE", "VARIANTS", "SEND", "AUDIENCE");
    for (const auto& c : *all)
      std::printf("%-24s %-10s %-8zu %-22s %s%s%s\n", c.name.c_str(), std::string(CampaignStateName(c.state)).c_str(),
                  c.variants.size(), TimeOr(c.send_at, "-").c_str(), c.segment.c_str(),
                  !c.segment.empty() && !c.where.empty() ? " and " : "", c.where.c_str());
    return 0;
  }
  auto secret = LoadOrCreateSecret(ctx.SecretPath());
  if (!secret) return Fail(secret.error());
  if (f.action == "run-due") {
    SnapshotCache snapshots;
    auto run = campaigns::RunScheduler(store, snapshots, nullptr, *secret, SurveyOf, ctx.clock.Now());
    if (!run) return Fail(run.error());
    std::printf("launched %d campaign step(s), %d failed\n", run->launched, run->failed);
    PrintMaterialized(run->materialized);
    return run->failed > 0 || run->materialized.campaigns_failed > 0 ? 1 : 0;
  }
  if (f.name.empty()) return Fail(InvalidArgument("NAME", "name the campaign").error());
  if (f.action == "save") {
    auto c = CampaignOfFlags(f, store, ws);
    if (!c) return Fail(c.error());
    auto saved = campaigns::SaveCampaign(store, ws, std::move(*c), ctx.clock.Now());
    if (!saved) return Fail(saved.error());
    PrintCampaign(*saved);
    return 0;
  }
  if (f.action == "cancel") {
    auto c = campaigns::CancelCampaign(store, ws.id, f.name, ctx.clock.Now());
    if (!c) return Fail(c.error());
    PrintCampaign(*c);
    return 0;
  }
  auto found = store.FindCampaign(ws.id, f.name);
  if (!found) return Fail(found.error());
  if (!*found) return Fail(NotFound("campaign " + f.name, "no such campaign in this workspace").error());
  const CampaignRecord& c = **found;
  if (f.action == "show") {
    PrintCampaign(c);
    return 0;
  }
  if (f.action == "delete") {
    if (auto s = campaigns::DeleteCampaign(store, ws.id, c.name, ctx.clock.Now()); !s) return Fail(s.error());
    std::printf("deleted campaign %s\n", c.name.c_str());
    return 0;
  }
  auto snapshot = BuildSnapshot(store, ws.id);
  if (!snapshot) return Fail(snapshot.error());
  if (f.action == "preview") {
    auto r = campaigns::PreviewCampaign(store, ws, *snapshot, nullptr, c, *secret, SurveyOf, ctx.clock.Now());
    if (!r) return Fail(r.error());
    PrintLaunch(*r);
    return 0;
  }
  if (f.action == "launch") {
    ProgressBar bar("launching " + c.name);
    auto advanced = campaigns::LaunchNow(store, ws, *snapshot, nullptr, c, *secret, SurveyOf, ctx.clock.Now(),
                                               [&bar](std::int64_t done, std::int64_t total) { bar.Update(done, total, done); });
    bar.Clear();
    if (!advanced) return Fail(advanced.error());
    if (!*advanced) return Fail(Conflict("campaign " + c.name, "another process is launching it").error());
    auto after = store.FindCampaign(ws.id, c.name);
    if (!after) return Fail(after.error());
    if (*after) PrintCampaign(**after);
    return 0;
  }
  // report
  auto r = campaigns::ReportCampaign(store, ws, *snapshot, c);
  if (!r) return Fail(r.error());
  std::printf("%-8s %-20s %9s %9s %9s %9s %9s %9s %9s %12s\n", "ARM", "TEMPLATE", "MEMBERS", "MESSAGED", "SENT",
              "OPENED", "CLICKED", "CONVERTED", "UNSUBSCR", "REVENUE");
  auto row = [](const campaigns::ArmReport& a) {
    std::printf("%-8s %-20s %9lld %9lld %9lld %9lld %9lld %9lld %9lld %12.2f\n", a.name.c_str(),
                a.template_name.c_str(), static_cast<long long>(a.members), static_cast<long long>(a.messaged),
                static_cast<long long>(a.sent), static_cast<long long>(a.opened), static_cast<long long>(a.clicked),
                static_cast<long long>(a.converted), static_cast<long long>(a.unsubscribed), a.revenue);
  };
  for (const auto& a : r->variants) row(a);
  row(r->holdout);
  if (r->waiting > 0) std::printf("waiting for the winner: %lld\n", static_cast<long long>(r->waiting));
  if (r->planned > 0)
    std::printf("planned, rendered into the outbox shortly before due: %lld\n", static_cast<long long>(r->planned));
  PrintLift("conversion", r->conversion_lift, "");
  PrintLift("revenue", r->revenue_lift, " per member");
  if (r->winner)
    std::printf("best variant by %s: %s (p = %.3g against the runner-up%s)\n", c.winner_metric.c_str(),
                campaigns::VariantName(r->winner->variant).c_str(), r->winner->p_value,
                r->winner->significant ? "" : ", not significant");
  return 0;
}

}  // namespace

std::function<int()> SetupCampaign(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<CampaignFlags>();
  cmd.add_option("ACTION", f->action,
                 "list; show, save, preview, launch, cancel, delete or report NAME; run-due (launch what is due, "
                 "for cron); rules (show or set the frequency cap and quiet hours); calendar --from --to")
      ->required()
      ->check(CLI::IsMember({"list", "show", "save", "preview", "launch", "cancel", "delete", "report", "run-due",
                             "rules", "calendar"}));
  cmd.add_option("NAME", f->name, "the campaign");
  cmd.add_option("--template", f->templates, "save: a variant's template, NAME or NAME:WEIGHT (repeat for A/B)");
  cmd.add_option("--segment", f->segment, "save: the audience, a saved segment");
  cmd.add_option("--where", f->where, "save: the audience, a segment expression (and the segment, if both)");
  cmd.add_option("--holdout", f->holdout, "save: percent of the audience held out and measured against (0-50)");
  cmd.add_option("--test", f->test, "save: percent of the rest in the A/B test; the others get the winner");
  cmd.add_option("--metric", f->metric, "save: the A/B winner's metric: opened, clicked or converted")
      ->check(CLI::IsMember({"opened", "clicked", "converted"}));
  cmd.add_option("--test-window-hours", f->test_window_hours, "save: how long the A/B test runs (default 4)");
  cmd.add_option("--goal-days", f->goal_days, "save: an order within this many days converts (default 7)");
  cmd.add_option("--send-at", f->send_at, "save: when (ISO 8601; the workspace's zone without an offset)");
  cmd.add_option("--send-date", f->send_date, "save: the day (YYYY-MM-DD) to send at --local-time in each zone");
  cmd.add_option("--local-time", f->local_time, "save: HH:MM in each recipient's own time zone");
  cmd.add_flag("--optimize", f->optimize, "save: send at each customer's best hour of opens and clicks");
  cmd.add_option("--survey", f->survey,
                 "save: a survey wave: each message invites to this survey ({{ survey_url }}; \"\" for none)");
  cmd.add_flag("--schedule", f->schedule, "save: schedule it (else a draft)");
  cmd.add_option("--max-messages", f->max_messages, "rules: marketing messages per customer per window (0: no cap)");
  cmd.add_option("--window-days", f->window_days, "rules: the cap's window in days");
  cmd.add_option("--quiet-start", f->quiet_start, "rules: quiet hours start, HH:MM in each recipient's zone");
  cmd.add_option("--quiet-end", f->quiet_end, "rules: quiet hours end, HH:MM");
  cmd.add_option("--from", f->from, "calendar: the first day, YYYY-MM-DD");
  cmd.add_option("--to", f->to, "calendar: the last day (default: --from)");
  return [f, &ctx]() -> int { return RunCampaign(*f, ctx); };
}

}  // namespace treu::app
