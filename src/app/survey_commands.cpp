#include "app/survey_commands.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "access/secrets.hpp"
#include "api/survey_json.hpp"
#include "api/survey_results_json.hpp"
#include "core/period.hpp"
#include "ingest/csv_reader.hpp"
#include "segments/library.hpp"
#include "surveys/followups.hpp"
#include "surveys/import.hpp"
#include "surveys/invitations.hpp"
#include "surveys/page.hpp"
#include "surveys/results.hpp"
#include "surveys/tokens.hpp"

namespace treu::app {
namespace {

using nlohmann::json;

struct SurveyFlags {
  std::string action;
  std::vector<std::string> args;
  bool replace = false, json = false;
  std::string segment, where;  // links: who is invited
  int expires_days = 30;
  std::string base_url = "http://127.0.0.1:8080";
  std::string period, search, by;  // results
  bool latest_only = false;
  bool snippet = false;  // links: add the email scale
  bool ignore_schedule = false;  // links: invite everyone named, due or not
  std::string status, assignee, note;  // followups, followup
};

// The store, the --workspace and its survey `name`.
struct Found : OpenedWorkspace {
  SurveyRecord survey;
};
Result<Found> FindSurveyIn(Context& ctx, const std::string& name) {
  Found out;
  TREU_ASSIGN_OR_RETURN(static_cast<OpenedWorkspace&>(out), ctx.OpenWorkspace());
  TREU_ASSIGN_OR_RETURN(auto record, out.store->FindSurvey(out.ws.id, name));
  if (!record) return NotFound("survey " + name, "no such survey");
  out.survey = std::move(*record);
  return out;
}

// `treu survey links NAME --segment S`: one signed, expiring link per member who is due under
// the survey's schedule, recorded as an invitation, written as CSV (customer_id,email,link)
// for any mail tool.
int Links(Context& ctx, const std::string& name, const SurveyFlags& f) {
  if (f.segment.empty() && f.where.empty()) {
    return Fail(Error(ErrorCode::kInvalidArgument, "survey links", "name who is invited: --segment NAME or --where EXPR"));
  }
  auto secret = LoadOrCreateSecret(ctx.SecretPath());
  if (!secret) return Fail(secret.error());
  auto found = FindSurveyIn(ctx, name);
  if (!found) return Fail(found.error());
  auto definition = SurveyOf(found->survey);
  if (!definition) return Fail(definition.error());
  const Timestamp now = ctx.clock.Now();
  auto candidates = survey::SelectCandidates(*found->store, found->ws, f.segment, f.where, now);
  if (!candidates) return Fail(candidates.error());
  survey::InviteOptions options{f.expires_days, f.base_url, f.snippet, f.ignore_schedule};
  auto invited = survey::Invite(*found->store, found->ws, *definition, *candidates, options, *secret, now);
  if (!invited) return Fail(invited.error());
  std::printf(f.snippet ? "customer_id,email,link,email_html,email_text\n" : "customer_id,email,link\n");
  for (const survey::IssuedLink& l : invited->links) {
    std::string line;
    AppendCsvField(line, l.customer);
    line += ',';
    AppendCsvField(line, l.email);
    line += ',';
    AppendCsvField(line, l.link);
    if (f.snippet) {
      line += ',';
      AppendCsvField(line, l.email_html);
      line += ',';
      AppendCsvField(line, l.email_text);
    }
    std::printf("%s\n", line.c_str());
  }
  std::string skipped;
  for (const auto& [reason, n] : invited->skipped) {
    skipped += (skipped.empty() ? "" : ", ") + std::to_string(n) + " " + reason;
  }
  std::fprintf(stderr, "treu: %zu invitations to %s, valid for %d days%s\n", invited->links.size(), name.c_str(),
               f.expires_days, skipped.empty() ? "" : ("; not due: " + skipped).c_str());
  return 0;
}

int Create(Context& ctx, const std::string& file, bool replace) {
  std::ifstream in(file);
  if (!in) return Fail(Error(ErrorCode::kNotFound, file, "can't open the file"));
  std::stringstream text;
  text << in.rdbuf();
  const json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) return Fail(Error(ErrorCode::kInvalidArgument, file, "is not valid JSON"));
  auto store = ctx.OpenStore();
  if (!store) return Fail(store.error());
  auto ws = ctx.EnsureWorkspace(**store);
  if (!ws) return Fail(ws.error());
  auto saved = SaveSurveyDefinition(**store, ws->id, j, replace, ctx.clock.Now());
  if (!saved) {
    if (saved.error().code() == ErrorCode::kAlreadyExists) {
      return Fail(Error(ErrorCode::kAlreadyExists, file, saved.error().detail() + " (use --replace to change it)"));
    }
    return Fail(saved.error().WithContext(file));
  }
  std::printf("%s survey %s (id %lld)\n", replace ? "saved" : "created", saved->name.c_str(),
              static_cast<long long>(saved->id));
  return 0;
}

int List(Context& ctx, bool as_json) {
  auto opened = ctx.OpenWorkspace();
  if (!opened) return Fail(opened.error());
  auto all = opened->store->ListSurveys(opened->ws.id);
  if (!all) return Fail(all.error());
  json out = json::array();
  for (const SurveyRecord& r : *all) {
    auto s = SurveyOf(r);
    if (!s) return Fail(s.error());
    if (as_json) {
      json j = SurveyToJson(*s);
      j["id"] = r.id;
      out.push_back(j);
      continue;
    }
    std::printf("%-6lld %-32s %-13s %zu question%s\n", static_cast<long long>(r.id), r.name.c_str(),
                std::string(survey::SurveyKindName(s->kind)).c_str(), s->questions.size(),
                s->questions.size() == 1 ? "" : "s");
  }
  if (as_json) std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

// `treu survey results NAME`: the metrics, response rate, comments and themes.
int Results(Context& ctx, const std::string& name, const SurveyFlags& f) {
  auto found = FindSurveyIn(ctx, name);
  if (!found) return Fail(found.error());
  auto s = SurveyOf(found->survey);
  if (!s) return Fail(s.error());
  survey::ResultsOptions o;
  o.latest_only = f.latest_only;
  o.search = f.search;
  auto zone = TimeZone::Find(found->ws.time_zone);
  if (!zone) return Fail(zone.error());
  o.zone = *zone;
  if (!f.period.empty()) {
    auto period = Period::Parse(f.period);
    if (!period) return Fail(Error(ErrorCode::kInvalidArgument, "--period", period.error().detail()));
    o.from = period->Start(*zone);
    o.to = period->End(*zone);
  }
  if (!f.by.empty()) {
    auto kind = ParsePeriodKind(f.by);
    if (!kind) return Fail(Error(ErrorCode::kInvalidArgument, "--by", kind.error().detail()));
    o.trend = *kind;
  }
  if (!f.segment.empty() || !f.where.empty()) {
    auto members = survey::SelectCandidates(*found->store, found->ws, f.segment, f.where, ctx.clock.Now());
    if (!members) return Fail(members.error());
    o.customers.emplace();
    for (const survey::Candidate& c : *members) o.customers->insert(c.id.value);
  }
  auto r = survey::ComputeResults(*found->store, found->ws.id, *s, o);
  if (!r) return Fail(r.error());
  if (f.json) {
    std::printf("%s\n", SurveyResultsJson(*s, *r, r->verbatims.size()).dump(2).c_str());
    return 0;
  }
  const survey::FeedbackResult& fb = r->feedback;
  std::printf("%s: %lld invited, %lld answered", name.c_str(), static_cast<long long>(r->invited),
              static_cast<long long>(r->responses));
  if (r->response_rate) std::printf(" (%.1f %%)", *r->response_rate);
  std::printf("\n");
  auto distribution = [](const survey::ScoreDistribution& d) {
    std::string out;
    for (const auto& [score, count] : d) out += " " + std::to_string(score) + ":" + std::to_string(count);
    return out;
  };
  if (fb.nps) {
    std::printf("NPS   %+.1f  (%lld answers: %lld promoters, %lld passives, %lld detractors)\n       scores%s\n", *fb.nps,
                static_cast<long long>(fb.nps_answers), static_cast<long long>(fb.promoters),
                static_cast<long long>(fb.passives), static_cast<long long>(fb.detractors),
                distribution(fb.nps_distribution).c_str());
  }
  if (fb.csat) {
    std::printf("CSAT  %.1f %%  (%lld answers)\n       scores%s\n", *fb.csat, static_cast<long long>(fb.csat_answers),
                distribution(fb.csat_distribution).c_str());
  }
  if (fb.ces) {
    std::printf("CES   %.2f  (%lld answers)\n       scores%s\n", *fb.ces, static_cast<long long>(fb.ces_answers),
                distribution(fb.ces_distribution).c_str());
  }
  const std::pair<const char*, const std::vector<survey::Theme>*> themes[] = {
      {"detractors", &r->detractor_themes}, {"passives", &r->passive_themes}, {"promoters", &r->promoter_themes}};
  for (const auto& [who, list] : themes) {
    if (list->empty()) continue;
    std::printf("what %s write about:", who);
    for (const survey::Theme& t : *list) std::printf(" %s (%d)", t.text.c_str(), t.count);
    std::printf("\n");
  }
  if (!r->trend.empty()) {
    std::printf("%-12s %9s %7s %7s %6s\n", "PERIOD", "RESPONSES", "NPS", "CSAT", "CES");
    auto cell = [](const std::optional<double>& v, const char* format) {
      char buf[32];
      std::snprintf(buf, sizeof buf, format, v.value_or(0));
      return v ? std::string(buf) : std::string("-");
    };
    for (const survey::TrendPoint& p : r->trend) {
      std::printf("%-12s %9lld %7s %7s %6s\n", p.period.Label().c_str(), static_cast<long long>(p.responses),
                  cell(p.feedback.nps, "%+.1f").c_str(), cell(p.feedback.csat, "%.1f").c_str(),
                  cell(p.feedback.ces, "%.2f").c_str());
    }
  }
  if (!r->verbatims.empty()) std::printf("comments, newest first:\n");
  for (const survey::Verbatim& v : r->verbatims) {
    std::printf("  %s  %-12s %-8s %s\n", FormatTimestamp(v.at).substr(0, 10).c_str(), v.customer.c_str(),
                v.score ? ("score " + std::to_string(*v.score)).c_str() : "", v.text.c_str());
  }
  return 0;
}

// `treu survey import NAME FILE.csv`: answers collected by other tools (docs/surveys.md).
int Import(Context& ctx, const std::string& name, const std::string& file) {
  auto found = FindSurveyIn(ctx, name);
  if (!found) return Fail(found.error());
  auto s = SurveyOf(found->survey);
  if (!s) return Fail(s.error());
  auto zone = TimeZone::Find(found->ws.time_zone);
  if (!zone) return Fail(zone.error());
  std::vector<std::string> header;
  int customer_col = -1, at_col = -1, id_col = -1;
  std::vector<survey::ImportedResponse> rows;
  const std::vector<const survey::Question*> questions = survey::AllQuestions(*s);
  auto read = ReadCsvFile(
      file,
      [&](std::vector<std::string>& fields, std::int64_t line) -> Status {
        if (header.empty()) {
          header = fields;
          for (std::size_t i = 0; i < header.size(); ++i) {
            const std::string& h = header[i];
            if (h == "customer_id") customer_col = static_cast<int>(i);
            else if (h == "answered_at") at_col = static_cast<int>(i);
            else if (h == "response_id") id_col = static_cast<int>(i);
            else if (std::none_of(questions.begin(), questions.end(),
                                  [&](const survey::Question* q) { return q->id == h; })) {
              return InvalidArgument("line 1", "column '" + h + "' is neither customer_id, answered_at, response_id "
                                               "nor a question of survey " + name);
            }
          }
          if (customer_col < 0 || at_col < 0) {
            return InvalidArgument("line 1", "needs the columns customer_id and answered_at");
          }
          return Ok();
        }
        if (fields.size() != header.size()) {
          return InvalidArgument("line " + std::to_string(line), "has " + std::to_string(fields.size()) +
                                                                     " fields; the header has " +
                                                                     std::to_string(header.size()));
        }
        survey::ImportedResponse row;
        row.line = line;
        row.customer = fields[static_cast<std::size_t>(customer_col)];
        auto at = ParseTimestamp(fields[static_cast<std::size_t>(at_col)], *zone);
        if (!at) return InvalidArgument("line " + std::to_string(line) + ", answered_at", at.error().detail());
        row.answered_at = *at;
        if (id_col >= 0) row.response_id = fields[static_cast<std::size_t>(id_col)];
        for (std::size_t i = 0; i < header.size(); ++i) {
          if (static_cast<int>(i) == customer_col || static_cast<int>(i) == at_col || static_cast<int>(i) == id_col) {
            continue;
          }
          if (fields[i].empty()) continue;
          std::vector<std::string>& values = row.answers[header[i]];
          std::size_t start = 0;
          while (true) {  // several choices are separated by '|'
            const std::size_t bar = fields[i].find('|', start);
            values.push_back(fields[i].substr(start, bar == std::string::npos ? std::string::npos : bar - start));
            if (bar == std::string::npos) break;
            start = bar + 1;
          }
        }
        rows.push_back(std::move(row));
        return Ok();
      },
      [](std::int64_t, std::int64_t) {});
  if (!read) return Fail(read.error().WithContext(file));
  auto outcome = survey::ImportResponses(*found->store, found->ws, *s, rows, ctx.clock.Now());
  if (!outcome) return Fail(outcome.error());
  if (!outcome->problems.empty()) {
    for (const survey::ImportProblem& p : outcome->problems) {
      std::fprintf(stderr, "%s:%lld: %s%s%s\n", file.c_str(), static_cast<long long>(p.line), p.field.c_str(),
                   p.field.empty() ? "" : ": ", p.message.c_str());
    }
    std::fprintf(stderr, "treu: nothing imported; fix the rows above and run again\n");
    return 1;
  }
  std::printf("imported %lld responses to %s, replaced %lld imported before\n", static_cast<long long>(outcome->imported),
              name.c_str(), static_cast<long long>(outcome->replaced));
  return 0;
}

// `treu survey followups [--status S]`: the follow-up items, oldest first.
int FollowUps(Context& ctx, const SurveyFlags& f) {
  auto opened = ctx.OpenWorkspace();
  if (!opened) return Fail(opened.error());
  std::map<std::int64_t, std::string> names;
  auto surveys = opened->store->ListSurveys(opened->ws.id);
  if (!surveys) return Fail(surveys.error());
  for (const SurveyRecord& r : *surveys) names[r.id] = r.name;
  json out = json::array();
  if (!f.json) std::printf("%-6s %-20s %-16s %5s %-9s %-24s %s\n", "ID", "SURVEY", "CUSTOMER", "SCORE", "STATUS",
                           "ASSIGNEE", "NOTE");
  std::int64_t after = 0;
  while (true) {
    auto page = opened->store->ListFollowUps(opened->ws.id, f.status, after, 500);
    if (!page) return Fail(page.error());
    if (page->empty()) break;
    after = page->back().id;
    for (const FollowUpItem& item : *page) {
      auto customer = opened->store->CustomerExternalId(opened->ws.id, item.customer);
      if (!customer) return Fail(customer.error());
      const std::string who = customer->value_or("");
      if (f.json) {
        out.push_back({{"id", item.id}, {"survey", names[item.survey_id]}, {"customer_id", who}, {"score", item.score},
                       {"status", item.status}, {"assignee", item.assignee}, {"note", item.note},
                       {"created_at", FormatTimestamp(item.created_at)}, {"notification", item.notify_state}});
        continue;
      }
      std::printf("%-6lld %-20s %-16s %5d %-9s %-24s %s\n", static_cast<long long>(item.id),
                  names[item.survey_id].c_str(), who.c_str(), item.score, item.status.c_str(), item.assignee.c_str(),
                  item.note.c_str());
    }
  }
  if (f.json) std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

// `treu survey followup ID [--status S] [--assignee A] [--note N]`.
int FollowUp(Context& ctx, const std::string& id_text, const SurveyFlags& f, const CLI::App& cmd) {
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || p != id_text.data() + id_text.size()) {
    return Fail(Error(ErrorCode::kInvalidArgument, "survey followup", "takes the follow-up's ID (a number)"));
  }
  survey::FollowUpChange change;
  if (cmd.count("--status") > 0) change.status = f.status;
  if (cmd.count("--assignee") > 0) change.assignee = f.assignee;
  if (cmd.count("--note") > 0) change.note = f.note;
  auto opened = ctx.OpenWorkspace();
  if (!opened) return Fail(opened.error());
  auto changed = survey::ChangeFollowUp(*opened->store, opened->ws.id, id, change, ctx.clock.Now());
  if (!changed) return Fail(changed.error());
  std::printf("follow-up %lld: %s%s%s\n", static_cast<long long>(changed->id), changed->status.c_str(),
              changed->assignee.empty() ? "" : ", assigned to ", changed->assignee.c_str());
  return 0;
}

int Show(Context& ctx, const std::string& name) {
  auto found = FindSurveyIn(ctx, name);
  if (!found) return Fail(found.error());
  auto s = SurveyOf(found->survey);
  if (!s) return Fail(s.error());
  json j = SurveyToJson(*s);
  j["id"] = found->survey.id;
  std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

}  // namespace

std::function<int()> SetupSurvey(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<SurveyFlags>();
  cmd.add_option("ACTION", f->action,
                 "create FILE (a survey definition in JSON, docs/surveys.md), list, show NAME, links NAME (signed "
                 "invitation links as CSV), results NAME (NPS, CSAT, CES, response rate, comments, themes), import "
                 "NAME FILE.csv (answers from other tools), followups (detractors' follow-up items), followup ID "
                 "(change one)")
      ->required()
      ->check(CLI::IsMember({"create", "list", "show", "links", "results", "import", "followups", "followup"}));
  cmd.add_option("ARGS", f->args, "FILE or NAME");
  cmd.add_flag("--replace", f->replace, "create: replace the survey of the same name");
  cmd.add_flag("--json", f->json, "list, results: JSON");
  cmd.add_option("--period", f->period, "results: only answers last changed in this period (2024-03, 2024-Q1, ...)");
  cmd.add_flag("--latest-only", f->latest_only, "results: each customer's latest answer only");
  cmd.add_option("--search", f->search, "results: only comments matching this full-text query (every word begins a word of the comment)");
  cmd.add_option("--segment", f->segment,
                 "links: invite the members of this saved segment; results: only their invitations and answers");
  cmd.add_option("--where", f->where, "links, results: the customers matching this segment expression");
  cmd.add_option("--by", f->by, "results: also the metrics per day, week, month, quarter or year")
      ->check(CLI::IsMember({"day", "week", "month", "quarter", "year"}));
  cmd.add_option("--expires-days", f->expires_days, "links: days a link works (default 30)")->check(CLI::Range(1, 365));
  cmd.add_flag("--snippet", f->snippet,
               "links: add email_html and email_text columns: the first score question as one link per score, "
               "answered in one click from the email");
  cmd.add_option("--base-url", f->base_url, "links: the address customers reach treu at (default http://127.0.0.1:8080)");
  cmd.add_flag("--ignore-schedule", f->ignore_schedule,
               "links: invite everyone named, even those the survey's schedule says are not due (docs/surveys.md)");
  cmd.add_option("--status", f->status, "followups: only items with this status; followup: set it")
      ->check(CLI::IsMember({"open", "assigned", "done"}));
  cmd.add_option("--assignee", f->assignee, "followup: who works on it (\"\" unassigns)");
  cmd.add_option("--note", f->note, "followup: a note, replacing the earlier one");
  return [f, &ctx, &cmd]() -> int {
    const std::size_t want = f->action == "list" || f->action == "followups" ? 0 : f->action == "import" ? 2 : 1;
    if (f->args.size() != want) {
      return Fail(Error(ErrorCode::kInvalidArgument, "survey " + f->action,
                        want == 0                     ? "takes no arguments"
                        : f->action == "create"       ? "takes FILE"
                        : f->action == "import"       ? "takes NAME FILE.csv"
                        : f->action == "followup"     ? "takes ID"
                                                      : "takes NAME"));
    }
    if (f->action == "import") return Import(ctx, f->args[0], f->args[1]);
    if (f->action == "followups") return FollowUps(ctx, *f);
    if (f->action == "followup") return FollowUp(ctx, f->args[0], *f, cmd);
    if (f->action == "create") return Create(ctx, f->args[0], f->replace);
    if (f->action == "list") return List(ctx, f->json);
    if (f->action == "links") return Links(ctx, f->args[0], *f);
    if (f->action == "results") return Results(ctx, f->args[0], *f);
    return Show(ctx, f->args[0]);
  };
}

}  // namespace treu::app
