#include "api/followup_routes.hpp"

#include <charconv>
#include <map>
#include <nlohmann/json.hpp>

#include "api/route_support.hpp"
#include "surveys/followups.hpp"

namespace treu::api {
namespace {

using nlohmann::json;

// The JSON form of an item; `surveys` caches survey names by id.
Result<json> FollowUpJson(RequestContext& ctx, const FollowUpItem& f, std::map<std::int64_t, std::string>& surveys) {
  auto name = surveys.find(f.survey_id);
  if (name == surveys.end()) {
    TREU_ASSIGN_OR_RETURN(auto record, ctx.store.FindSurveyById(ctx.workspace(), f.survey_id));
    name = surveys.emplace(f.survey_id, record ? record->name : "").first;
  }
  TREU_ASSIGN_OR_RETURN(auto customer, ctx.store.CustomerExternalId(ctx.workspace(), f.customer));
  json out = {{"id", f.id},
              {"survey_id", f.survey_id},
              {"survey", name->second},
              {"customer_id", customer.value_or("")},
              {"score", f.score},
              {"status", f.status},
              {"assignee", f.assignee},
              {"note", f.note},
              {"created_at", FormatTimestamp(f.created_at)},
              {"updated_at", FormatTimestamp(f.updated_at)}};
  if (!f.webhook_url.empty()) {
    out["notification"] = {{"state", f.notify_state}, {"attempts", f.notify_attempts}, {"error", f.notify_error}};
  }
  return out;
}

Result<std::int64_t> IdOfPath(RequestContext& ctx) {
  const std::string& text = ctx.params.at("id");
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return NotFound("follow-up " + text, "no such follow-up in this workspace");
  }
  return id;
}

Result<HttpResponse> ListFollowUps(RequestContext& ctx) {
  std::string status;
  if (const std::string* s = ctx.request.Query("status")) {
    if (!survey::IsFollowUpStatus(*s)) return InvalidArgument("status", "must be open, assigned or done");
    status = *s;
  }
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t after, ParseCursor(ctx.request));
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListFollowUps(ctx.workspace(), status, after, limit + 1));
  const bool more = static_cast<int>(page.size()) > limit;
  if (more) page.resize(static_cast<std::size_t>(limit));
  std::map<std::int64_t, std::string> surveys;
  json data = json::array();
  for (const FollowUpItem& f : page) {
    TREU_ASSIGN_OR_RETURN(json item, FollowUpJson(ctx, f, surveys));
    data.push_back(std::move(item));
  }
  return JsonResponse({{"data", data}, {"next_cursor", more ? json(CursorAfter(page.back().id)) : json(nullptr)}});
}

Result<HttpResponse> GetFollowUp(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(std::int64_t id, IdOfPath(ctx));
  TREU_ASSIGN_OR_RETURN(auto found, ctx.store.FindFollowUp(ctx.workspace(), id));
  if (!found) return NotFound("follow-up " + std::to_string(id), "no such follow-up in this workspace");
  std::map<std::int64_t, std::string> surveys;
  TREU_ASSIGN_OR_RETURN(json item, FollowUpJson(ctx, *found, surveys));
  return JsonResponse(item);
}

Result<HttpResponse> ChangeFollowUp(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(std::int64_t id, IdOfPath(ctx));
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"status", "assignee", "note"}));
  survey::FollowUpChange change;
  for (const char* member : {"status", "assignee", "note"}) {
    if (!body.contains(member)) continue;
    if (!body[member].is_string()) return InvalidArgument(member, "must be a string");
    const std::string value = body[member].get<std::string>();
    (member[0] == 's' ? change.status : member[0] == 'a' ? change.assignee : change.note) = value;
  }
  TREU_ASSIGN_OR_RETURN(FollowUpItem changed,
                        survey::ChangeFollowUp(ctx.store, ctx.workspace(), id, change, ctx.clock.Now()));
  std::map<std::int64_t, std::string> surveys;
  TREU_ASSIGN_OR_RETURN(json item, FollowUpJson(ctx, changed, surveys));
  return JsonResponse(item);
}

}  // namespace

std::vector<Route> FollowUpRoutes() {
  return {
      {"GET", "/api/v1/followups", Access::Requires(Scope::kRead),
       "Follow-up items opened by detractors' survey answers, oldest first", ListFollowUps, "FollowUpList",
       {{"status", "only items with this status: open, assigned or done"},
        {"limit", "page size, 1 to 500 (default 50)"},
        {"cursor", "next_cursor of the previous page"}}},
      {"GET", "/api/v1/followups/{id}", Access::Requires(Scope::kRead), "One follow-up item", GetFollowUp, "FollowUp"},
      {"PATCH", "/api/v1/followups/{id}", Access::Requires(Scope::kWrite),
       "Work on a follow-up item: {\"status\": open|assigned|done, \"assignee\", \"note\"}; assigning someone to an "
       "open item makes it assigned",
       ChangeFollowUp, "FollowUp"},
  };
}

}  // namespace treu::api
