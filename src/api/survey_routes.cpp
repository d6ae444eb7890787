#include "api/survey_routes.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "api/problem.hpp"
#include "api/route_support.hpp"
#include "api/survey_json.hpp"
#include "api/survey_results_json.hpp"
#include "core/period.hpp"
#include "surveys/invitations.hpp"
#include "surveys/results.hpp"

namespace treu::api {
namespace {

using nlohmann::json;

json RecordJson(const SurveyRecord& r) {
  json out = json::parse(r.definition, nullptr, false);
  if (out.is_discarded()) out = json::object();
  out["id"] = r.id;
  out["created_at"] = FormatTimestamp(r.created_at);
  out["updated_at"] = FormatTimestamp(r.updated_at);
  return out;
}

Result<json> Body(const HttpRequest& req) {
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("body", "must be a JSON object (a survey definition)");
  j.erase("id");  // read-only members a client may send back
  j.erase("created_at");
  j.erase("updated_at");
  return j;
}

Result<SurveyRecord> SurveyOfPath(RequestContext& ctx) {
  const std::string& text = ctx.params.at("id");
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  std::optional<SurveyRecord> found;
  if (ec == std::errc() && p == text.data() + text.size()) {
    TREU_ASSIGN_OR_RETURN(found, ctx.store.FindSurveyById(ctx.workspace(), id));
  }
  if (!found) return NotFound("survey " + text, "no such survey in this workspace");
  return std::move(*found);
}

Result<HttpResponse> ListSurveys(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto all, ctx.store.ListSurveys(ctx.workspace()));
  json data = json::array();
  for (const SurveyRecord& r : all) data.push_back(RecordJson(r));
  return JsonResponse({{"data", data}});
}

Result<HttpResponse> CreateSurvey(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json body, Body(ctx.request));
  TREU_ASSIGN_OR_RETURN(SurveyRecord saved,
                        SaveSurveyDefinition(ctx.store, ctx.workspace(), body, false, ctx.clock.Now()));
  HttpResponse r = JsonResponse(RecordJson(saved), 201);
  r.headers.emplace_back("Location", "/api/v1/surveys/" + std::to_string(saved.id));
  return r;
}

Result<HttpResponse> GetSurvey(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(SurveyRecord r, SurveyOfPath(ctx));
  return JsonResponse(RecordJson(r));
}

Result<HttpResponse> ReplaceSurvey(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(SurveyRecord r, SurveyOfPath(ctx));
  TREU_ASSIGN_OR_RETURN(json body, Body(ctx.request));
  if (!body.contains("name") || body["name"] != r.name) {
    return InvalidArgument("name", "must stay '" + r.name + "' (a survey is replaced under its name)");
  }
  TREU_ASSIGN_OR_RETURN(SurveyRecord saved, SaveSurveyDefinition(ctx.store, ctx.workspace(), body, true, ctx.clock.Now()));
  return JsonResponse(RecordJson(saved));
}

Result<HttpResponse> Results(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(SurveyRecord r, SurveyOfPath(ctx));
  TREU_ASSIGN_OR_RETURN(survey::Survey s, SurveyOf(r));
  survey::ResultsOptions o;
  if (const std::string* p = ctx.request.Query("period")) {
    auto period = Period::Parse(*p);
    if (!period) return InvalidArgument("period", period.error().detail());
    TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
    TREU_ASSIGN_OR_RETURN(TimeZone zone, TimeZone::Find(ws.time_zone));
    o.from = period->Start(zone);
    o.to = period->End(zone);
  }
  if (const std::string* latest = ctx.request.Query("latest_only")) {
    if (*latest != "true" && *latest != "false") return InvalidArgument("latest_only", "must be true or false");
    o.latest_only = *latest == "true";
  }
  if (const std::string* search = ctx.request.Query("search")) o.search = *search;
  const std::string* segment = ctx.request.Query("segment");
  const std::string* by = ctx.request.Query("by");
  if (segment != nullptr || by != nullptr) {
    TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
    TREU_ASSIGN_OR_RETURN(o.zone, TimeZone::Find(ws.time_zone));
    if (by != nullptr) {
      auto kind = ParsePeriodKind(*by);
      if (!kind) return InvalidArgument("by", kind.error().detail());
      o.trend = *kind;
    }
    if (segment != nullptr) {
      auto members = survey::SelectCandidates(ctx.store, ws, *segment, "", ctx.clock.Now());
      if (!members) return std::unexpected(Error(members.error().code(), "segment", members.error().detail()));
      o.customers.emplace();
      for (const survey::Candidate& c : *members) o.customers->insert(c.id.value);
    }
  }
  TREU_ASSIGN_OR_RETURN(survey::SurveyResults results, survey::ComputeResults(ctx.store, ctx.workspace(), s, o));
  return JsonResponse(SurveyResultsJson(s, results, 100));
}

Result<HttpResponse> Responses(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(SurveyRecord r, SurveyOfPath(ctx));
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t after, ParseCursor(ctx.request));
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListSurveyResponses(ctx.workspace(), r.id, after, limit + 1));
  const bool more = static_cast<int>(page.size()) > limit;
  if (more) page.resize(static_cast<std::size_t>(limit));
  json data = json::array();
  for (const SurveyResponse& resp : page) {
    TREU_ASSIGN_OR_RETURN(auto customer, ctx.store.CustomerExternalId(ctx.workspace(), resp.customer));
    json answers = json::parse(resp.answers, nullptr, false);
    data.push_back({{"id", resp.id},
                    {"customer_id", customer.value_or("")},
                    {"answers", answers.is_discarded() ? json::object() : answers},
                    {"created_at", FormatTimestamp(resp.created_at)},
                    {"updated_at", FormatTimestamp(resp.updated_at)}});
  }
  return JsonResponse({{"data", data}, {"next_cursor", more ? json(CursorAfter(page.back().id)) : json(nullptr)}});
}

// POST /api/v1/surveys/{id}/links: invites the due members of a segment (docs/surveys.md).
Result<HttpResponse> Links(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(SurveyRecord r, SurveyOfPath(ctx));
  TREU_ASSIGN_OR_RETURN(survey::Survey s, SurveyOf(r));
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"segment", "where", "expires_days", "base_url", "snippet",
                                                           "ignore_schedule"}));
  std::string segment, where;
  survey::InviteOptions options;
  const std::string_view host = ctx.request.Header("host");
  options.base_url = "http://" + std::string(host.empty() ? "127.0.0.1" : host);
  for (const char* member : {"segment", "where", "base_url"}) {
    if (!body.contains(member)) continue;
    if (!body[member].is_string()) return InvalidArgument(member, "must be a string");
    const std::string value = body[member].get<std::string>();
    (member[0] == 's' ? segment : member[0] == 'w' ? where : options.base_url) = value;
  }
  if (segment.empty() && where.empty()) return InvalidArgument("segment", "name who is invited: segment or where");
  if (body.contains("expires_days")) {
    if (!body["expires_days"].is_number_integer()) return InvalidArgument("expires_days", "must be a whole number");
    options.expires_days = body["expires_days"].get<int>();
  }
  for (const char* member : {"snippet", "ignore_schedule"}) {
    if (!body.contains(member)) continue;
    if (!body[member].is_boolean()) return InvalidArgument(member, "must be true or false");
    (member[0] == 's' ? options.snippet : options.ignore_schedule) = body[member].get<bool>();
  }
  if (ctx.signing_secret == nullptr) return Unavailable("surveys", "this server has no signing secret");
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  const Timestamp now = ctx.clock.Now();
  auto candidates = survey::SelectCandidates(ctx.store, ws, segment, where, now);
  if (!candidates) {
    const Error& e = candidates.error();
    if (e.code() == ErrorCode::kNotFound) return std::unexpected(Error(e.code(), "segment", e.detail()));
    return std::unexpected(Error(e.code(), segment.empty() ? "where" : "segment", e.detail()));
  }
  TREU_ASSIGN_OR_RETURN(survey::Invited invited,
                        survey::Invite(ctx.store, ws, s, *candidates, options, *ctx.signing_secret, now));
  json data = json::array();
  for (const survey::IssuedLink& l : invited.links) {
    json item = {{"customer_id", l.customer}, {"email", l.email}, {"link", l.link}};
    if (options.snippet) {
      item["email_html"] = l.email_html;
      item["email_text"] = l.email_text;
    }
    data.push_back(std::move(item));
  }
  return JsonResponse({{"data", data},
                       {"expires_at", FormatTimestamp(Timestamp{now.micros + options.expires_days * kMicrosPerDay})},
                       {"skipped", invited.skipped}},
                      201);
}

}  // namespace

std::vector<Route> SurveyRoutes() {
  return {
      {"GET", "/api/v1/surveys", Access::Requires(Scope::kRead), "The survey definitions", ListSurveys,
       "SurveyList"},
      {"POST", "/api/v1/surveys", Access::Requires(Scope::kWrite),
       "Define a survey (docs/surveys.md); errors point at the member, e.g. /questions/1/choices", CreateSurvey,
       "Survey", {}, nullptr, 201},
      {"GET", "/api/v1/surveys/{id}", Access::Requires(Scope::kRead), "One survey definition", GetSurvey, "Survey"},
      {"PUT", "/api/v1/surveys/{id}", Access::Requires(Scope::kWrite),
       "Replace a survey's definition (same name)", ReplaceSurvey, "Survey"},
      {"GET", "/api/v1/surveys/{id}/responses", Access::Requires(Scope::kRead),
       "The answers given through the survey's invitations, one response per invitation", Responses,
       "SurveyResponses", {{"limit", "page size, 1 to 500 (default 50)"}, {"cursor", "next_cursor of the previous page"}}},
      {"POST", "/api/v1/surveys/{id}/links", Access::Requires(Scope::kWrite),
       "Invite a segment: {\"segment\" and/or \"where\", \"expires_days\" (default 30), \"base_url\" (default "
       "http://<Host>), \"snippet\", \"ignore_schedule\"}; one signed link per customer due under the survey's "
       "schedule, recorded as an invitation; \"skipped\" counts the others by reason",
       Links, "SurveyLinks", {}, nullptr, 201},
      {"GET", "/api/v1/surveys/{id}/results", Access::Requires(Scope::kRead),
       "NPS, CSAT and CES with distributions, response rate, the newest 100 comments and the themes of "
       "detractors' comments",
       Results, "SurveyResults",
       {{"period", "only answers last changed in this period (2024-03, 2024-Q1, ...)"},
        {"latest_only", "true: each customer's latest answer only"},
        {"search", "only comments matching this full-text query (every word begins a word of the comment)"},
        {"segment", "only the invitations and answers of this saved segment's members"},
        {"by", "also a trend: the metrics per day, week, month, quarter or year (in the workspace's time zone)"}}},
  };
}

}  // namespace treu::api
