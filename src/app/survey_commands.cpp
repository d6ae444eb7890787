#include "app/survey_commands.hpp"

#include <cstdio>
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
  std::string period, search;  // results
  bool latest_only = false;
  bool snippet = false;  // links: add the email scale
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

// `treu survey links NAME --segment S`: one signed, expiring link per member, recorded as an
// invitation, written as CSV (customer_id,email,link) for any mail tool.
int Links(Context& ctx, const std::string& name, const SurveyFlags& f) {
  if (f.segment.empty() && f.where.empty()) {
    return Fail(Error(ErrorCode::kInvalidArgument, "survey links", "name who is invited: --segment NAME or --where EXPR"));
  }
  auto secret = LoadOrCreateSecret(ctx.SecretPath());
  if (!secret) return Fail(secret.error());
  auto found = FindSurveyIn(ctx, name);
  if (!found) return Fail(found.error());
  Store* store = found->store.get();
  const Workspace* ws = &found->ws;
  auto snap = BuildSnapshot(*store, ws->id);
  if (!snap) return Fail(snap.error());
  const Timestamp now = ctx.clock.Now();
  auto members = segment::SelectCustomers(*store, *ws, *snap, f.where, f.segment, now);
  if (!members) return Fail(members.error());
  std::vector<SurveyInvitation> invitations;
  std::vector<std::string> links;
  const Timestamp expires{now.micros + std::int64_t{f.expires_days} * kMicrosPerDay};
  for (Snapshot::Index c = 0; c < members->size(); ++c) {
    if (!(*members)[c]) continue;
    std::int64_t nonce = 0;
    auto bytes = survey::NewSecret();
    if (!bytes) return Fail(bytes.error());
    for (int i = 0; i < 8; ++i) nonce = (nonce << 8) | (*bytes)[static_cast<std::size_t>(i)];
    nonce &= std::numeric_limits<std::int64_t>::max();
    const SurveyInvitation inv{0, ws->id, found->survey.id, (*snap)->customer_id(c), nonce, now, expires};
    invitations.push_back(inv);
    const std::string token =
        survey::SignInvitation({ws->id, inv.survey_id, inv.customer, inv.nonce, inv.expires_at}, *secret);
    links.push_back(f.base_url + "/s/" + token);
  }
  if (auto s = store->CreateSurveyInvitations(invitations); !s) return Fail(s.error());
  // The email scale answers the survey's first score question.
  auto definition = SurveyOf(found->survey);
  if (!definition) return Fail(definition.error());
  const survey::Question* scored = nullptr;
  for (const survey::Question& q : definition->questions) {
    if (survey::IsScoreKind(q.kind)) {
      scored = &q;
      break;
    }
  }
  if (f.snippet && scored == nullptr) {
    return Fail(Error(ErrorCode::kInvalidArgument, "--snippet", "survey " + name + " has no score question"));
  }
  std::printf(f.snippet ? "customer_id,email,link,email_html,email_text\n" : "customer_id,email,link\n");
  std::size_t k = 0;
  for (Snapshot::Index c = 0; c < members->size(); ++c) {
    if (!(*members)[c]) continue;
    auto customer = store->FindCustomer(ws->id, (*snap)->external_id(c));
    const bool known = customer && *customer;
    std::string line;
    AppendCsvField(line, (*snap)->external_id(c));
    line += ',';
    if (known) AppendCsvField(line, (*customer)->email);
    line += ',';
    const std::string link = links[k++];
    AppendCsvField(line, link);
    if (f.snippet) {
      const std::string locale = known && !(*customer)->locale.empty() ? (*customer)->locale : definition->default_locale;
      const auto range = *survey::ScoreRangeOf(scored->kind);
      survey::EmailScale scale;
      scale.question = std::string(scored->text.Resolve(locale, definition->default_locale));
      scale.min = range.min;
      scale.max = range.max;
      scale.link_for = [&link](int score) { return link + "?score=" + std::to_string(score); };
      line += ',';
      AppendCsvField(line, survey::RenderEmailScale(scale));
      line += ',';
      AppendCsvField(line, survey::RenderEmailScaleText(scale));
    }
    std::printf("%s\n", line.c_str());
  }
  std::fprintf(stderr, "treu: %zu invitations to %s, valid for %d days\n", invitations.size(), name.c_str(),
               f.expires_days);
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
  if (!f.period.empty()) {
    auto period = Period::Parse(f.period);
    if (!period) return Fail(Error(ErrorCode::kInvalidArgument, "--period", period.error().detail()));
    auto zone = TimeZone::Find(found->ws.time_zone);
    if (!zone) return Fail(zone.error());
    o.from = period->Start(*zone);
    o.to = period->End(*zone);
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
  if (!r->detractor_themes.empty()) {
    std::printf("what detractors write about:");
    for (const survey::Theme& t : r->detractor_themes) std::printf(" %s (%d)", t.text.c_str(), t.count);
    std::printf("\n");
  }
  if (!r->verbatims.empty()) std::printf("comments, newest first:\n");
  for (const survey::Verbatim& v : r->verbatims) {
    std::printf("  %s  %-12s %-8s %s\n", FormatTimestamp(v.at).substr(0, 10).c_str(), v.customer.c_str(),
                v.score ? ("score " + std::to_string(*v.score)).c_str() : "", v.text.c_str());
  }
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
                 "invitation links as CSV), results NAME (NPS, CSAT, CES, response rate, comments, themes)")
      ->required()
      ->check(CLI::IsMember({"create", "list", "show", "links", "results"}));
  cmd.add_option("ARGS", f->args, "FILE or NAME");
  cmd.add_flag("--replace", f->replace, "create: replace the survey of the same name");
  cmd.add_flag("--json", f->json, "list, results: JSON");
  cmd.add_option("--period", f->period, "results: only answers last changed in this period (2024-03, 2024-Q1, ...)");
  cmd.add_flag("--latest-only", f->latest_only, "results: each customer's latest answer only");
  cmd.add_option("--search", f->search, "results: only comments containing this text");
  cmd.add_option("--segment", f->segment, "links: invite the members of this saved segment");
  cmd.add_option("--where", f->where, "links: invite the customers matching this segment expression");
  cmd.add_option("--expires-days", f->expires_days, "links: days a link works (default 30)")->check(CLI::Range(1, 365));
  cmd.add_flag("--snippet", f->snippet,
               "links: add email_html and email_text columns: the first score question as one link per score, "
               "answered in one click from the email");
  cmd.add_option("--base-url", f->base_url, "links: the address customers reach treu at (default http://127.0.0.1:8080)");
  return [f, &ctx]() -> int {
    const std::size_t want = f->action == "list" ? 0 : 1;
    if (f->args.size() != want) {
      return Fail(Error(ErrorCode::kInvalidArgument, "survey " + f->action,
                        want == 0 ? "takes no arguments" : f->action == "create" ? "takes FILE" : "takes NAME"));
    }
    if (f->action == "create") return Create(ctx, f->args[0], f->replace);
    if (f->action == "list") return List(ctx, f->json);
    if (f->action == "links") return Links(ctx, f->args[0], *f);
    if (f->action == "results") return Results(ctx, f->args[0], *f);
    return Show(ctx, f->args[0]);
  };
}

}  // namespace treu::app
