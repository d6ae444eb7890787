#include "loyalty/catalog.hpp"

#include <algorithm>

#include "loyalty/program_json.hpp"

namespace treu::loyalty {
namespace {

using nlohmann::json;

json OptionalTime(const std::optional<Timestamp>& t) { return t ? json(FormatTimestamp(*t)) : json(nullptr); }

bool IsRewardKind(std::string_view k) {
  return k == "discount" || k == "free_product" || k == "voucher" || k == "experience";
}

}  // namespace

Result<LoyaltyProgramRecord> SaveProgram(Store& store, const Workspace& ws, const json& given, Timestamp now) {
  json definition = given;
  if (definition.is_object() && !definition.contains("starts_at")) {
    // Without a start the program starts now (or keeps the start it has): switching a program
    // on doesn't pay out for years of past orders.
    TREU_ASSIGN_OR_RETURN(auto stored, store.FindLoyaltyProgram(ws.id));
    std::string start = FormatTimestamp(now);
    if (stored) {
      const json old = json::parse(stored->definition, nullptr, false);
      if (old.is_object() && old.contains("starts_at") && old["starts_at"].is_string()) start = old["starts_at"];
    }
    definition["starts_at"] = start;
  }
  TREU_ASSIGN_OR_RETURN(Program program, ProgramFromJson(definition, ws.currency.value_or(Currency())));
  LoyaltyProgramRecord r;
  r.workspace = ws.id;
  r.definition = ProgramToJson(program, ws.currency.value_or(Currency())).dump();
  r.created_at = now;
  r.updated_at = now;
  return store.SaveLoyaltyProgram(r);
}

Result<LoyaltyProgramRecord> SaveProgramParts(Store& store, const Workspace& ws, const json& parts,
                                              const std::vector<std::string>& names, Timestamp now) {
  if (!parts.is_object()) return InvalidArgument("body", "must be a JSON object");
  TREU_ASSIGN_OR_RETURN(auto stored, store.FindLoyaltyProgram(ws.id));
  if (!stored) return NotFound("loyalty program", "the workspace has no loyalty program; set one first");
  json definition = json::parse(stored->definition, nullptr, false);
  if (!definition.is_object()) return Internal("loyalty program", "the stored definition is not a JSON object");
  for (const auto& [key, value] : parts.items()) {
    if (std::find(names.begin(), names.end(), key) == names.end()) return InvalidArgument("/" + key, "unknown member");
    definition[key] = value;
  }
  return SaveProgram(store, ws, definition, now);
}

json ProgramRecordJson(const LoyaltyProgramRecord& r) {
  json out = json::parse(r.definition, nullptr, false);
  if (out.is_discarded()) out = json::object();
  out["created_at"] = FormatTimestamp(r.created_at);
  out["updated_at"] = FormatTimestamp(r.updated_at);
  return out;
}

Result<LoyaltyReward> SaveReward(Store& store, WorkspaceId ws, std::string_view name, const json& body, Timestamp now) {
  if (!ValidateSegmentName(name)) {
    return InvalidArgument("name", "a reward's name is 1 to 64 letters, digits, '_', '-' or '.'");
  }
  if (!body.is_object()) return InvalidArgument("body", "must be a JSON object (a reward)");
  static constexpr std::string_view kMembers[] = {"name", "title", "kind", "points", "stock", "tiers",
                                                  "segment", "active", "details", "id", "redeemed",
                                                  "created_at", "updated_at"};
  for (const auto& [key, value] : body.items()) {
    if (std::find(std::begin(kMembers), std::end(kMembers), key) == std::end(kMembers)) {
      return InvalidArgument("/" + key, "unknown member");
    }
  }
  LoyaltyReward r;
  r.workspace = ws;
  r.name = std::string(name);
  r.created_at = now;
  r.updated_at = now;
  if (body.contains("name") && body["name"] != json(name)) return InvalidArgument("/name", "differs from the name in the path");
  if (!body.contains("title") || !body["title"].is_string() || body["title"].get<std::string>().empty() ||
      body["title"].get<std::string>().size() > 200) {
    return InvalidArgument("/title", "must be a text of 1 to 200 characters");
  }
  r.title = body["title"].get<std::string>();
  if (!body.contains("kind") || !body["kind"].is_string() || !IsRewardKind(body["kind"].get<std::string>())) {
    return InvalidArgument("/kind", "must be discount, free_product, voucher or experience");
  }
  r.kind = body["kind"].get<std::string>();
  if (!body.contains("points") || !body["points"].is_number_integer() || body["points"].get<std::int64_t>() <= 0 ||
      body["points"].get<std::int64_t>() > 1'000'000'000) {
    return InvalidArgument("/points", "must be a whole number of points between 1 and 1000000000");
  }
  r.points = body["points"].get<std::int64_t>();
  if (body.contains("stock") && !body["stock"].is_null()) {
    if (!body["stock"].is_number_integer() || body["stock"].get<std::int64_t>() < 0) {
      return InvalidArgument("/stock", "must be a whole number >= 0, or null for unlimited");
    }
    r.stock = body["stock"].get<std::int64_t>();
  }
  if (body.contains("tiers")) {
    if (!body["tiers"].is_array()) return InvalidArgument("/tiers", "must be an array of tier names");
    for (std::size_t i = 0; i < body["tiers"].size(); ++i) {
      if (!body["tiers"][i].is_string()) return InvalidArgument("/tiers/" + std::to_string(i), "must be a tier name");
      r.tiers.push_back(body["tiers"][i].get<std::string>());
    }
  }
  if (body.contains("segment")) {
    if (!body["segment"].is_string()) return InvalidArgument("/segment", "must be a segment's name");
    r.segment = body["segment"].get<std::string>();
  }
  if (body.contains("active")) {
    if (!body["active"].is_boolean()) return InvalidArgument("/active", "must be true or false");
    r.active = body["active"].get<bool>();
  }
  if (body.contains("details")) {
    if (!body["details"].is_object()) return InvalidArgument("/details", "must be a JSON object");
    r.details = body["details"].dump();
  } else {
    r.details = "{}";
  }
  // Tiers must be the program's (when there is one).
  if (!r.tiers.empty()) {
    TREU_ASSIGN_OR_RETURN(auto program, store.FindLoyaltyProgram(ws));
    const json def = program ? json::parse(program->definition, nullptr, false) : json();
    for (std::size_t i = 0; i < r.tiers.size(); ++i) {
      bool known = false;
      if (def.is_object() && def.contains("tiers")) {
        for (const json& t : def["tiers"]) known |= t.value("name", "") == r.tiers[i];
      }
      if (!known) return InvalidArgument("/tiers/" + std::to_string(i), "the program has no tier '" + r.tiers[i] + "'");
    }
  }
  return store.SaveLoyaltyReward(r);
}

json RewardJson(const LoyaltyReward& r) {
  json details = json::parse(r.details, nullptr, false);
  if (details.is_discarded()) details = json::object();
  return {{"id", r.id},
          {"name", r.name},
          {"title", r.title},
          {"kind", r.kind},
          {"points", r.points},
          {"stock", r.stock ? json(*r.stock) : json(nullptr)},
          {"tiers", r.tiers},
          {"segment", r.segment},
          {"active", r.active},
          {"details", details},
          {"redeemed", r.redeemed},
          {"created_at", FormatTimestamp(r.created_at)},
          {"updated_at", FormatTimestamp(r.updated_at)}};
}

json MemberJson(const LoyaltyMember& m, std::string_view customer_id) {
  return {{"customer_id", customer_id},
          {"available", m.available},
          {"pending", m.pending},
          {"held", m.held},
          {"earned", m.earned},
          {"redeemed", m.redeemed},
          {"transfers", m.transfers},
          {"tier", m.tier},
          {"tier_since", FormatTimestamp(m.tier_since)},
          {"tier_review_at", OptionalTime(m.tier_review_at)},
          {"next_due_at", OptionalTime(m.next_due_at)},
          {"referral_code", m.referral_code.empty() ? json(nullptr) : json(m.referral_code)},
          {"referred", m.referred_by.valid()},
          {"enrolled_at", FormatTimestamp(m.enrolled_at)},
          {"updated_at", FormatTimestamp(m.updated_at)}};
}

json TransferJson(const LoyaltyTransferRecord& t) {
  json out = {{"seq", t.seq},
              {"id", t.id},
              {"kind", t.kind},
              {"from", t.from_account},
              {"to", t.to_account},
              {"points", t.points},
              {"reason", t.reason},
              {"source", {{"kind", t.source_kind}, {"reference", t.source_ref}}},
              {"at", FormatTimestamp(t.at)}};
  if (t.admin_user_id) out["source"]["admin_user_id"] = *t.admin_user_id;
  if (!t.refers_to.empty()) out["refers_to"] = t.refers_to;
  if (t.expires_at) out["expires_at"] = FormatTimestamp(*t.expires_at);
  if (t.pending_until) out["pending_until"] = FormatTimestamp(*t.pending_until);
  if (t.requested > t.points) out["shortfall"] = t.requested - t.points;
  return out;
}

json RedemptionJson(const LoyaltyRedemption& r, std::string_view customer_id, const LoyaltyReward& reward) {
  json details = json::parse(reward.details, nullptr, false);
  if (details.is_discarded()) details = json::object();
  json out = {{"id", r.id},
              {"customer_id", customer_id},
              {"reward", reward.name},
              {"title", reward.title},
              {"kind", reward.kind},
              {"details", details},
              {"points", r.points},
              {"state", r.state},
              {"created_at", FormatTimestamp(r.created_at)},
              {"expires_at", FormatTimestamp(r.expires_at)},
              {"closed_at", OptionalTime(r.closed_at)}};
  // The voucher code is shown once the redemption is confirmed.
  out["code"] = r.state == "confirmed" && !r.code.empty() ? json(r.code) : json(nullptr);
  return out;
}

}  // namespace treu::loyalty
