#include "api/journey_routes.hpp"

#include <nlohmann/json.hpp>

#include "api/problem.hpp"
#include "api/route_support.hpp"
#include "api/survey_json.hpp"
#include "journeys/definition_json.hpp"
#include "journeys/service.hpp"

namespace treu::api {
namespace {

using nlohmann::json;

json JourneyJson(const JourneyRecord& j) {
  json definition = json::parse(j.definition, nullptr, false);
  return {{"name", j.name},
          {"state", j.state},
          {"version", j.version},
          {"definition", definition.is_discarded() ? json(nullptr) : definition},
          {"last_error", j.last_error},
          {"created_at", FormatTimestamp(j.created_at)},
          {"updated_at", FormatTimestamp(j.updated_at)}};
}

Result<JourneyRecord> JourneyOfPath(RequestContext& ctx) {
  const std::string& name = ctx.params.at("name");
  TREU_ASSIGN_OR_RETURN(auto found, ctx.store.FindJourney(ctx.workspace(), name));
  if (!found) return NotFound("journey " + name, "no such journey");
  return *found;
}

void WakeWorker(RequestContext& ctx) {
  if (ctx.journeys != nullptr) ctx.journeys->Wake();
}

Result<HttpResponse> ListJourneys(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto all, ctx.store.ListJourneys(ctx.workspace()));
  json data = json::array();
  for (const auto& j : all) data.push_back(JourneyJson(j));
  return JsonResponse({{"data", std::move(data)}});
}

Result<HttpResponse> GetJourney(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(JourneyRecord j, JourneyOfPath(ctx));
  return JsonResponse(JourneyJson(j));
}

// The body is the definition (docs/journeys.md); its "name", when given, is the path's.
Result<HttpResponse> PutJourney(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  json body = json::parse(ctx.request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return InvalidArgument("body", "must be a JSON object: the journey's definition");
  const std::string& name = ctx.params.at("name");
  if (!body.contains("name")) body["name"] = name;
  else if (body["name"] != json(name)) return InvalidArgument("name", "must be the path's name '" + name + "' (or left out)");
  auto def = journeys::ParseJourneyJson(body);
  if (!def) {
    // Every error at its pointer, so an editor can mark them all.
    std::vector<FieldError> errors;
    for (const Error& e : def.error()) errors.push_back(FieldErrorOf(e).value_or(FieldError{"", e.detail()}));
    return ProblemResponse(400, "invalid_argument",
                           "the journey has " + std::to_string(errors.size()) +
                               " problem(s); the first: " + def.error().front().ToString(),
                           ctx.request.path, errors);
  }
  TREU_ASSIGN_OR_RETURN(auto saved, journeys::SaveJourney(ctx.store, ws, *def, "", ctx.clock.Now()));
  WakeWorker(ctx);
  json out = JourneyJson(saved.record);
  out["new_version"] = saved.new_version;
  return JsonResponse(out, saved.created ? 201 : 200);
}

Result<HttpResponse> DeleteJourney(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(journeys::DeleteJourney(ctx.store, ctx.workspace(), ctx.params.at("name")));
  HttpResponse r;
  r.status = 204;
  return r;
}

RouteHandler SetState(std::string state) {
  return [state](RequestContext& ctx) -> Result<HttpResponse> {
    TREU_ASSIGN_OR_RETURN(JourneyRecord j, journeys::SetJourneyState(ctx.store, ctx.workspace(), ctx.params.at("name"),
                                                                     state, ctx.clock.Now()));
    WakeWorker(ctx);
    return JsonResponse(JourneyJson(j));
  };
}

json PassJson(const journeys::PassReport& r) {
  return {{"entered", r.entered}, {"steps", r.steps},     {"actions", r.actions},     {"messages", r.messages},
          {"capped", r.capped},   {"completed", r.completed}, {"exited", r.exited}};
}

Result<HttpResponse> EnterMembers(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  if (ctx.snapshots == nullptr) return Unavailable("snapshots", "this server keeps no live snapshots");
  TREU_ASSIGN_OR_RETURN(auto report, journeys::EnterCurrentMembers(ctx.store, ws, *ctx.snapshots, ctx.params.at("name"),
                                                                   journeys::RunOptions{Secret(ctx), ctx.predictions, SurveyOf},
                                                                   ctx.clock.Now()));
  WakeWorker(ctx);
  return JsonResponse(PassJson(report));
}

Result<HttpResponse> JourneyReport(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  TREU_ASSIGN_OR_RETURN(auto r, journeys::ReportJourney(ctx.store, ws, ctx.params.at("name")));
  json steps = json::array();
  for (const auto& s : r.steps) {
    json outcomes = json::object();
    for (const auto& [o, n] : s.outcomes) outcomes[o] = n;
    json step = {{"id", s.id},
                 {"type", journeys::StepTypeName(s.type)},
                 {"executed", s.executed},
                 {"waiting", s.waiting},
                 {"outcomes", std::move(outcomes)}};
    if (s.type == journeys::StepType::kSend)
      step["messages"] = {{"queued", s.queued}, {"sent", s.sent},     {"failed", s.failed},
                          {"suppressed", s.suppressed}, {"opened", s.opened}, {"clicked", s.clicked}};
    steps.push_back(std::move(step));
  }
  return JsonResponse({{"journey", JourneyJson(r.record)},
                       {"entered", r.entered},
                       {"inside", r.inside},
                       {"completed", r.completed},
                       {"exited", r.exited},
                       {"conversion_rate", r.conversion_rate},
                       {"steps", std::move(steps)}});
}

Result<HttpResponse> JourneyRuns(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(JourneyRecord j, JourneyOfPath(ctx));
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t after, ParseCursor(ctx.request));
  JourneyRunFilter f;
  f.journey_id = j.id;
  if (const std::string* customer = ctx.request.Query("customer")) {
    TREU_ASSIGN_OR_RETURN(auto found, ctx.store.FindCustomer(ctx.workspace(), *customer));
    if (!found) return NotFound("customer", "no customer '" + *customer + "'");
    f.customer = found->id;
  }
  if (const std::string* inside = ctx.request.Query("inside")) {
    if (*inside != "true" && *inside != "false") return InvalidArgument("inside", "must be true or false");
    f.inside_only = *inside == "true";
  }
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListJourneyRuns(ctx.workspace(), f, after, limit + 1));
  const bool more = static_cast<int>(page.size()) > limit;
  if (more) page.resize(static_cast<std::size_t>(limit));
  std::map<int, std::optional<journeys::JourneyVersion>> versions;
  json data = json::array();
  for (const JourneyRunRow& r : page) {
    auto& v = versions[r.version];
    if (!v) {
      TREU_ASSIGN_OR_RETURN(auto loaded, journeys::LoadVersion(ctx.store, j, r.version));
      v.emplace(std::move(loaded));
    }
    const bool valid_step = r.step >= 0 && static_cast<std::size_t>(r.step) < v->steps().size();
    TREU_ASSIGN_OR_RETURN(auto external, ctx.store.CustomerExternalId(ctx.workspace(), r.customer));
    const bool waiting = r.state == "waiting" || r.state == "waiting_for_event";
    data.push_back({{"id", r.id},
                    {"customer", external.value_or("")},
                    {"version", r.version},
                    {"step", valid_step ? json(v->steps()[static_cast<std::size_t>(r.step)].id) : json(nullptr)},
                    {"state", r.state},
                    {"entered_at", FormatTimestamp(r.entered_at)},
                    {"wake_at", waiting ? json(FormatTimestamp(r.wake_at)) : json(nullptr)},
                    {"ended_at", r.ended_at.micros != 0 ? json(FormatTimestamp(r.ended_at)) : json(nullptr)}});
  }
  return JsonResponse({{"data", std::move(data)},
                       {"next_cursor", more ? json(CursorAfter(page.back().id)) : json(nullptr)}});
}

}  // namespace

std::vector<Route> JourneyRoutes() {
  const Access read = Access::Requires(Scope::kRead);
  const Access write = Access::Requires(Scope::kWrite);
  return {
      {"GET", "/api/v1/journeys", read, "Journeys, by name, with their latest definition", ListJourneys, "JourneyList"},
      {"GET", "/api/v1/journeys/{name}", read, "A journey with its latest definition", GetJourney, "Journey"},
      {"PUT", "/api/v1/journeys/{name}", write,
       "Creates a journey or saves a new version of it: the body is the definition (docs/journeys.md); every error "
       "is listed at its JSON pointer. Customers inside stay on their version",
       PutJourney, "Journey"},
      {"DELETE", "/api/v1/journeys/{name}", write, "Deletes a journey with its versions and runs", DeleteJourney},
      {"POST", "/api/v1/journeys/{name}/pause", write, "Pauses a journey: nobody enters, runs wait",
       SetState("paused"), "Journey"},
      {"POST", "/api/v1/journeys/{name}/resume", write,
       "Resumes a paused journey: what happened meanwhile is read then", SetState("active"), "Journey"},
      {"POST", "/api/v1/journeys/{name}/enter-members", write,
       "Enters the current members of the trigger segment now (re-entry rules apply)", EnterMembers, "JourneyPass"},
      {"GET", "/api/v1/journeys/{name}/report", read,
       "Entered, inside, completed (goal) and exited; per step: times executed, runs waiting there, outcomes of "
       "actions, and for sends the messages queued, sent, failed, opened and clicked",
       JourneyReport, "JourneyReport"},
      {"GET", "/api/v1/journeys/{name}/runs", read, "The journey's runs: customer, version, step, state, times",
       JourneyRuns, "JourneyRunList",
       {{"customer", "only this customer's (external id)"},
        {"inside", "true: only runs still inside"},
        {"limit", "page size, 1..500 (default 50)"},
        {"cursor", "next_cursor of the previous page"}}},
  };
}

}  // namespace treu::api
