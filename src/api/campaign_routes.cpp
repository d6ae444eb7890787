#include "api/campaign_routes.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "api/route_support.hpp"
#include "api/survey_json.hpp"
#include "campaigns/service.hpp"
#include "journeys/service.hpp"

namespace treu::api {
namespace {

using nlohmann::json;

constexpr std::int64_t kHour = 3600 * kMicrosPerSecond;


json Time(const std::optional<Timestamp>& t) { return t ? json(FormatTimestamp(*t)) : json(nullptr); }

json CampaignJson(const CampaignRecord& c) {
  json variants = json::array();
  for (std::size_t i = 0; i < c.variants.size(); ++i)
    variants.push_back({{"name", campaigns::VariantName(static_cast<int>(i))},
                        {"template", c.variants[i].template_name},
                        {"weight", c.variants[i].weight}});
  const bool local = !c.local_time.empty();
  return {{"name", c.name},
          {"state", CampaignStateName(c.state)},
          {"segment", c.segment},
          {"where", c.where},
          {"variants", std::move(variants)},
          {"holdout_percent", c.holdout_permille / 10.0},
          {"test_percent", c.test_permille / 10.0},
          {"winner_metric", c.winner_metric},
          {"test_window_hours", static_cast<double>(c.test_window_micros) / kHour},
          {"winner", c.winner >= 0 ? json(campaigns::VariantName(c.winner)) : json(nullptr)},
          {"send_at", Time(c.send_at)},
          {"send_date", local && c.send_at ? json(FormatDate(campaigns::LocalSendDate(*c.send_at))) : json(nullptr)},
          {"local_time", local ? json(c.local_time) : json(nullptr)},
          {"optimize_send_time", c.optimize_send_time},
          {"survey", c.survey},
          {"goal_window_days", static_cast<double>(c.goal_window_micros) / kMicrosPerDay},
          {"last_error", c.last_error},
          {"created_at", FormatTimestamp(c.created_at)},
          {"updated_at", FormatTimestamp(c.updated_at)},
          {"launched_at", Time(c.launched_at)},
          {"test_ends_at", Time(c.test_ends_at)},
          {"finished_at", Time(c.finished_at)}};
}

// Member `name` as a number, or nullopt when absent or null.
Result<std::optional<double>> OptionalNumber(const json& body, const std::string& name) {
  if (!body.contains(name) || body[name].is_null()) return std::optional<double>();
  if (!body[name].is_number()) return InvalidArgument(name, "must be a number");
  return std::optional<double>(body[name].get<double>());
}

// The same within [low, high].
Result<std::optional<double>> OptionalNumber(const json& body, const std::string& name, double low, double high) {
  TREU_ASSIGN_OR_RETURN(auto v, OptionalNumber(body, name));
  if (v && !(*v >= low && *v <= high))
    return InvalidArgument(name, "must be between " + json(low).dump() + " and " + json(high).dump());
  return v;
}

Result<std::optional<bool>> OptionalBool(const json& body, const std::string& name) {
  if (!body.contains(name) || body[name].is_null()) return std::optional<bool>();
  if (!body[name].is_boolean()) return InvalidArgument(name, "must be true or false");
  return std::optional<bool>(body[name].get<bool>());
}

// The change a PUT (or a preview) body asks for: every member optional; "send_at": null clears
// the send time (sent when launched).
Result<campaigns::CampaignChange> ChangeOfBody(const json& body, const Workspace& ws) {
  campaigns::CampaignChange change;
  TREU_ASSIGN_OR_RETURN(change.segment, OptionalString(body, "segment"));
  TREU_ASSIGN_OR_RETURN(change.where, OptionalString(body, "where"));
  if (body.contains("variants") && !body["variants"].is_null()) {
    const json& list = body["variants"];
    if (!list.is_array()) return InvalidArgument("variants", "must be a list of {\"template\", \"weight\"}");
    std::vector<CampaignVariant> variants;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string at = "variants." + std::to_string(i);
      if (!list[i].is_object()) return InvalidArgument(at, "must be an object {\"template\", \"weight\"}");
      for (const auto& [key, value] : list[i].items())
        if (key != "template" && key != "weight") return InvalidArgument(at + "." + key, "is not a field here (template, weight)");
      if (!list[i].contains("template") || !list[i]["template"].is_string())
        return InvalidArgument(at + ".template", "is required: a template's name");
      CampaignVariant v;
      v.template_name = list[i]["template"].get<std::string>();
      if (list[i].contains("weight")) {
        if (!list[i]["weight"].is_number_integer()) return InvalidArgument(at + ".weight", "must be a whole number");
        v.weight = list[i]["weight"].get<int>();
      }
      variants.push_back(std::move(v));
    }
    change.variants = std::move(variants);
  }
  TREU_ASSIGN_OR_RETURN(change.holdout_percent, OptionalNumber(body, "holdout_percent"));
  TREU_ASSIGN_OR_RETURN(change.test_percent, OptionalNumber(body, "test_percent"));
  TREU_ASSIGN_OR_RETURN(change.winner_metric, OptionalString(body, "winner_metric"));
  TREU_ASSIGN_OR_RETURN(change.test_window_hours, OptionalNumber(body, "test_window_hours"));
  TREU_ASSIGN_OR_RETURN(change.goal_window_days, OptionalNumber(body, "goal_window_days"));
  TREU_ASSIGN_OR_RETURN(change.optimize_send_time, OptionalBool(body, "optimize_send_time"));
  TREU_ASSIGN_OR_RETURN(change.survey, OptionalString(body, "survey"));
  change.clear_send_at = body.contains("send_at") && body["send_at"].is_null();
  TREU_ASSIGN_OR_RETURN(auto send_at, OptionalString(body, "send_at"));
  if (send_at) {
    auto zone = TimeZone::Find(ws.time_zone);
    auto t = ParseTimestamp(*send_at, zone ? *zone : TimeZone::Utc());
    if (!t) return InvalidArgument("send_at", "must be an ISO 8601 date-time, e.g. 2026-12-01T09:00:00Z");
    change.send_at = *t;
  }
  TREU_ASSIGN_OR_RETURN(auto send_date, OptionalString(body, "send_date"));
  if (send_date) {
    auto date = ParseDate(*send_date);
    if (!date) return InvalidArgument("send_date", "must be a date YYYY-MM-DD");
    change.send_date = *date;
  }
  TREU_ASSIGN_OR_RETURN(change.local_time, OptionalString(body, "local_time"));
  TREU_ASSIGN_OR_RETURN(change.schedule, OptionalBool(body, "schedule"));
  return change;
}

// The campaign of the body (PUT, preview): the stored campaign of that name (if any) changed.
Result<CampaignRecord> CampaignOfBody(RequestContext& ctx, const Workspace& ws, std::string name) {
  TREU_ASSIGN_OR_RETURN(
      json body, BodyObject(ctx.request, {"segment", "where", "variants", "holdout_percent", "test_percent",
                                          "winner_metric", "test_window_hours", "send_at", "send_date", "local_time",
                                          "optimize_send_time", "goal_window_days", "survey", "schedule"}));
  TREU_ASSIGN_OR_RETURN(auto change, ChangeOfBody(body, ws));
  TREU_ASSIGN_OR_RETURN(auto existing, ctx.store.FindCampaign(ws.id, name));
  return campaigns::ApplyCampaignChange(existing ? &*existing : nullptr, std::move(name), change);
}

Result<CampaignRecord> CampaignOfPath(RequestContext& ctx) {
  const std::string& name = ctx.params.at("name");
  TREU_ASSIGN_OR_RETURN(auto found, ctx.store.FindCampaign(ctx.workspace(), name));
  if (!found) return NotFound("campaign " + name, "no such campaign");
  return *found;
}

json LaunchJson(const campaigns::LaunchReport& r) {
  return {{"audience", r.audience},
          {"holdout", r.holdout},
          {"waiting", r.waiting},
          {"messages", r.queued},
          {"capped", r.capped},
          {"skipped", {{"no_email", r.no_email},
                       {"no_consent", r.no_consent},
                       {"suppressed", r.suppressed},
                       {"no_subscription", r.no_subscription},
                       {"survey_not_due", r.survey_not_due}}},
          {"deferred_by_quiet_hours", r.deferred},
          {"optimized_send_times", r.optimized},
          {"per_variant", r.per_variant}};
}

json IntervalJson(const std::optional<campaigns::Lift>& l) {
  if (!l) return nullptr;
  return {{"recipients", l->treated},
          {"holdout", l->holdout},
          {"difference", l->difference},
          {"relative", l->relative ? json(*l->relative) : json(nullptr)},
          {"ci95", {l->interval.low, l->interval.high}},
          {"p_value", l->p_value},
          {"significant", l->significant}};
}

json ArmJson(const campaigns::ArmReport& a) {
  return {{"name", a.name},
          {"template", a.template_name.empty() ? json(nullptr) : json(a.template_name)},
          {"members", a.members},
          {"messaged", a.messaged},
          {"sent", a.sent},
          {"failed", a.failed},
          {"opened", a.opened},
          {"clicked", a.clicked},
          {"converted", a.converted},
          {"unsubscribed", a.unsubscribed},
          {"revenue", a.revenue}};
}

Result<HttpResponse> ListCampaigns(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto all, ctx.store.ListCampaigns(ctx.workspace()));
  json data = json::array();
  for (const auto& c : all) data.push_back(CampaignJson(c));
  return JsonResponse({{"data", std::move(data)}});
}

Result<HttpResponse> GetCampaign(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(CampaignRecord c, CampaignOfPath(ctx));
  return JsonResponse(CampaignJson(c));
}

Result<HttpResponse> PutCampaign(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  TREU_ASSIGN_OR_RETURN(CampaignRecord c, CampaignOfBody(ctx, ws, ctx.params.at("name")));
  const bool existed = c.id != 0;
  TREU_ASSIGN_OR_RETURN(CampaignRecord saved, campaigns::SaveCampaign(ctx.store, ws, std::move(c), ctx.clock.Now()));
  if (saved.state == CampaignState::kScheduled && ctx.campaigns != nullptr) ctx.campaigns->Wake();
  return JsonResponse(CampaignJson(saved), existed ? 200 : 201);
}

Result<HttpResponse> DeleteCampaign(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(campaigns::DeleteCampaign(ctx.store, ctx.workspace(), ctx.params.at("name"), ctx.clock.Now()));
  HttpResponse r;
  r.status = 204;
  return r;
}

Result<HttpResponse> ScheduleCampaign(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"send_at"}));
  TREU_ASSIGN_OR_RETURN(CampaignRecord c, CampaignOfPath(ctx));
  TREU_ASSIGN_OR_RETURN(auto send_at, OptionalString(body, "send_at"));
  if (send_at) {
    auto t = ParseTimestamp(*send_at, TimeZone::Utc());
    if (!t) return InvalidArgument("send_at", "must be an ISO 8601 date-time, e.g. 2026-12-01T09:00:00Z");
    c.send_at = *t;
  }
  if (!c.send_at) c.send_at = ctx.clock.Now();  // now
  c.state = CampaignState::kScheduled;
  TREU_ASSIGN_OR_RETURN(CampaignRecord saved, campaigns::SaveCampaign(ctx.store, ws, std::move(c), ctx.clock.Now()));
  if (ctx.campaigns != nullptr) ctx.campaigns->Wake();
  return JsonResponse(CampaignJson(saved));
}

Result<HttpResponse> CancelCampaign(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(CampaignRecord c,
                        campaigns::CancelCampaign(ctx.store, ctx.workspace(), ctx.params.at("name"), ctx.clock.Now()));
  return JsonResponse(CampaignJson(c));
}

// The stored campaign, or (with a body, as PUT takes it) the campaign as it would be saved —
// unsaved, so the composer counts the audience as the form changes. No body or {}: the stored one. A campaign not saved yet
// draws a split key for each preview: its holdout is a fresh random draw of the same share, so its
// size varies (binomially) from preview to preview until the campaign is saved.
Result<HttpResponse> PreviewCampaign(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  CampaignRecord c;
  const json body = json::parse(ctx.request.body, nullptr, false);
  if (ctx.request.body.find_first_not_of(" \t\r\n") == std::string::npos || (body.is_object() && body.empty())) {
    TREU_ASSIGN_OR_RETURN(c, CampaignOfPath(ctx));
  } else {
    TREU_ASSIGN_OR_RETURN(c, CampaignOfBody(ctx, ws, ctx.params.at("name")));
    TREU_ASSIGN_OR_RETURN(c, campaigns::CheckedCampaign(ctx.store, ws, std::move(c)));
    if (c.split_key.empty()) c.split_key = campaigns::FormatSplitKey(campaigns::NewSplitKey());
  }
  TREU_ASSIGN_OR_RETURN(auto snap, SnapshotOf(ctx));
  TREU_ASSIGN_OR_RETURN(auto report,
                        campaigns::PreviewCampaign(ctx.store, ws, snap, ctx.predictions, c, Secret(ctx), SurveyOf, ctx.clock.Now()));
  return JsonResponse(LaunchJson(report));
}

Result<HttpResponse> CampaignReport(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  TREU_ASSIGN_OR_RETURN(CampaignRecord c, CampaignOfPath(ctx));
  TREU_ASSIGN_OR_RETURN(auto snap, SnapshotOf(ctx));
  TREU_ASSIGN_OR_RETURN(auto r, campaigns::ReportCampaign(ctx.store, ws, snap, c));
  json variants = json::array();
  for (const auto& a : r.variants) variants.push_back(ArmJson(a));
  json winner = nullptr;
  if (r.winner)
    winner = {{"variant", campaigns::VariantName(r.winner->variant)},
              {"metric", c.winner_metric},
              {"p_value", r.winner->p_value},
              {"significant", r.winner->significant}};
  return JsonResponse({{"campaign", CampaignJson(c)},
                       {"variants", std::move(variants)},
                       {"recipients", ArmJson(r.treated)},
                       {"holdout", ArmJson(r.holdout)},
                       {"waiting", r.waiting},
                       {"capped", r.capped},
                       {"planned", r.planned},
                       {"conversion_lift", IntervalJson(r.conversion_lift)},
                       {"revenue_lift", IntervalJson(r.revenue_lift)},
                       {"winner", std::move(winner)}});
}

Result<HttpResponse> CampaignMembers(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(CampaignRecord c, CampaignOfPath(ctx));
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t after, ParseCursor(ctx.request));
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListCampaignMembers(ctx.workspace(), c.id, CustomerId{after}, limit + 1));
  const bool more = static_cast<int>(page.size()) > limit;
  if (more) page.resize(static_cast<std::size_t>(limit));
  json data = json::array();
  for (const CampaignMember& m : page) {
    TREU_ASSIGN_OR_RETURN(auto external, ctx.store.CustomerExternalId(ctx.workspace(), m.customer));
    data.push_back({{"customer", external.value_or("")},
                    {"arm", m.arm == kArmHoldout   ? json("holdout")
                            : m.arm == kArmWaiting ? json("waiting")
                                                   : json(campaigns::VariantName(m.arm))},
                    {"due", FormatTimestamp(m.due)},
                    {"outcome", m.outcome},
                    {"planned", m.planned}});
  }
  return JsonResponse({{"data", std::move(data)},
                       {"next_cursor", more ? json(CursorAfter(page.back().customer.value)) : json(nullptr)}});
}

Result<HttpResponse> Calendar(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  auto date = [&](const char* name) -> Result<CivilDate> {
    const std::string* text = ctx.request.Query(name);
    if (text == nullptr) return InvalidArgument(name, "is required: a date YYYY-MM-DD");
    auto d = ParseDate(*text);
    if (!d) return InvalidArgument(name, "must be a date YYYY-MM-DD");
    return *d;
  };
  TREU_ASSIGN_OR_RETURN(CivilDate from, date("from"));
  TREU_ASSIGN_OR_RETURN(CivilDate to, date("to"));
  TREU_ASSIGN_OR_RETURN(auto entries, journeys::ContentCalendar(ctx.store, ws, from, to));
  json data = json::array();
  for (const auto& e : entries) {
    json conflicts = json::array();
    for (const auto& c : e.conflicts) conflicts.push_back({{"kind", c.kind}, {"detail", c.detail}});
    const bool journey = e.kind == "journey";
    json entry = {{"kind", e.kind},
                  {"name", e.name},
                  {"state", journey ? std::string_view("active") : CampaignStateName(e.state)},
                  {"channel", ChannelName(e.channel)},
                  {"date", FormatDate(e.date)},
                  {"at", Time(e.at)},
                  {"local_time", e.local_time.empty() ? json(nullptr) : json(e.local_time)},
                  {"segment", e.segment},
                  {"where", e.where},
                  {"conflicts", std::move(conflicts)}};
    if (!journey) entry["survey"] = e.survey;
    if (journey) {
      entry["step"] = e.step;
      entry["template"] = e.template_name;
      entry["customers"] = e.customers;
    }
    data.push_back(std::move(entry));
  }
  return JsonResponse({{"from", FormatDate(from)}, {"to", FormatDate(to)}, {"data", std::move(data)}});
}

json RulesJson(const DeliveryRulesRecord& r) {
  return {{"max_messages", r.cap_messages},
          {"window_days", static_cast<double>(r.cap_window_micros) / kMicrosPerDay},
          {"quiet_hours", {{"start", r.quiet_start}, {"end", r.quiet_end}}},
          {"updated_at", r.updated_at.micros == 0 ? json(nullptr) : json(FormatTimestamp(r.updated_at))}};
}

Result<HttpResponse> GetRules(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto stored, ctx.store.FindDeliveryRules(ctx.workspace()));
  return JsonResponse(RulesJson(stored.value_or(DeliveryRulesRecord{ctx.workspace()})));
}

Result<HttpResponse> PutRules(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"max_messages", "window_days", "quiet_hours"}));
  TREU_ASSIGN_OR_RETURN(auto stored, ctx.store.FindDeliveryRules(ctx.workspace()));
  DeliveryRulesRecord r = stored.value_or(DeliveryRulesRecord{ctx.workspace()});
  if (body.contains("max_messages") && !body["max_messages"].is_null()) {
    if (!body["max_messages"].is_number_integer()) return InvalidArgument("max_messages", "must be a whole number (0: no cap)");
    r.cap_messages = body["max_messages"].get<int>();
  }
  TREU_ASSIGN_OR_RETURN(auto days, OptionalNumber(body, "window_days", 1.0 / 24, 90));
  if (days) r.cap_window_micros = static_cast<std::int64_t>(std::llround(*days * kMicrosPerDay));
  if (body.contains("quiet_hours") && !body["quiet_hours"].is_null()) {
    const json& q = body["quiet_hours"];
    if (!q.is_object()) return InvalidArgument("quiet_hours", "must be {\"start\": \"21:00\", \"end\": \"08:00\"}");
    for (const auto& [key, value] : q.items())
      if (key != "start" && key != "end") return InvalidArgument("quiet_hours." + key, "is not a field here (start, end)");
    for (const char* part : {"start", "end"}) {
      if (!q.contains(part) || q[part].is_null()) continue;
      if (!q[part].is_string()) return InvalidArgument(std::string("quiet_hours.") + part, "must be a time HH:MM");
      (std::string_view(part) == "start" ? r.quiet_start : r.quiet_end) = q[part].get<std::string>();
    }
  }
  auto saved = campaigns::SaveDeliveryRules(ctx.store, r, ctx.clock.Now());
  if (!saved) {
    // Name the body's fields.
    const std::string& at = saved.error().context();
    if (at == "frequency_cap.max_messages") return InvalidArgument("max_messages", saved.error().detail());
    if (at == "frequency_cap.window") return InvalidArgument("window_days", saved.error().detail());
    return std::unexpected(saved.error());
  }
  return JsonResponse(RulesJson(*saved));
}

}  // namespace

std::vector<Route> CampaignRoutes() {
  const Access read = Access::Requires(Scope::kRead);
  const Access write = Access::Requires(Scope::kWrite);
  const Access admin = Access::Requires(Scope::kAdmin);
  return {
      {"GET", "/api/v1/campaigns", read, "Campaigns, by name", ListCampaigns, "CampaignList"},
      {"GET", "/api/v1/campaigns/{name}", read, "A campaign", GetCampaign, "Campaign"},
      {"PUT", "/api/v1/campaigns/{name}", write,
       "Creates or changes a draft or scheduled campaign: {\"variants\": [{\"template\", \"weight\"}], \"segment\", "
       "\"where\", \"holdout_percent\", \"test_percent\", \"winner_metric\", \"test_window_hours\", \"send_at\" | "
       "\"send_date\" + \"local_time\", \"optimize_send_time\", \"goal_window_days\", \"survey\", \"schedule\"}",
       PutCampaign, "Campaign"},
      {"DELETE", "/api/v1/campaigns/{name}", write, "Deletes a draft, done or cancelled campaign", DeleteCampaign},
      {"POST", "/api/v1/campaigns/{name}/schedule", write,
       "Schedules the campaign at {\"send_at\"}, its own send time, or now", ScheduleCampaign, "Campaign"},
      {"POST", "/api/v1/campaigns/{name}/cancel", write,
       "Cancels a draft, scheduled or testing campaign and withdraws its queued messages", CancelCampaign,
       "Campaign"},
      {"POST", "/api/v1/campaigns/{name}/preview", read,
       "What launching now would do: audience, holdout, messages after frequency caps and consent; with a body "
       "(the fields of PUT), for the campaign as it would be saved, without saving it",
       PreviewCampaign,
       "CampaignLaunch"},
      {"GET", "/api/v1/campaigns/{name}/report", read,
       "Per variant and for the holdout: members, sent, opened, clicked, converted, unsubscribed, revenue; the lift "
       "against the holdout with its 95 % interval",
       CampaignReport, "CampaignReport"},
      {"GET", "/api/v1/campaigns/{name}/members", read,
       "The audience as recorded at launch: each customer's arm (variant, holdout, waiting), send time and outcome",
       CampaignMembers, "CampaignMemberList", {{"limit", "page size, 1..500 (default 50)"}, {"cursor", "next_cursor of the previous page"}}},
      {"GET", "/api/v1/calendar", read,
       "The content calendar: campaigns planned or sent from `from` to `to` (dates, at most 366 days), with "
       "conflicts (the same audience twice in a day, a send inside quiet hours), and the journeys' planned sends "
       "(kind journey: the step, its template and how many customers are due that day)",
       Calendar, "Calendar", {{"from", "first day, YYYY-MM-DD"}, {"to", "last day, YYYY-MM-DD"}}},
      {"GET", "/api/v1/delivery-rules", read, "The frequency cap and quiet hours", GetRules, "DeliveryRules"},
      {"PUT", "/api/v1/delivery-rules", admin,
       "Sets {\"max_messages\" (0: no cap), \"window_days\", \"quiet_hours\": {\"start\", \"end\"}}", PutRules,
       "DeliveryRules"},
  };
}

}  // namespace treu::api
