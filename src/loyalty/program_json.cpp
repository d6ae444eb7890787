#include "loyalty/program_json.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/time.hpp"

namespace treu::loyalty {
namespace {

using nlohmann::json;

std::unexpected<Error> At(const std::string& pointer, std::string detail) {
  return InvalidArgument(pointer.empty() ? "/" : pointer, std::move(detail));
}

// Refuses a non-object and members not in `allowed`, naming the first stranger.
Status OnlyMembers(const json& j, const std::string& pointer,
                   std::initializer_list<std::string_view> allowed) {
  if (!j.is_object()) return At(pointer, "must be a JSON object");
  for (const auto& [name, value] : j.items()) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return At(pointer + "/" + name, "is not a member here (" + list + ")");
    }
  }
  return Ok();
}

Result<std::string> String(const json& j, const std::string& pointer) {
  if (!j.is_string()) return At(pointer, "must be a string");
  return j.get<std::string>();
}

Result<std::int64_t> Int64(const json& j, const std::string& pointer) {
  if (!j.is_number_integer()) return At(pointer, "must be a whole number");
  if (j.is_number_unsigned() &&
      j.get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return At(pointer, "is out of range");
  }
  return j.get<std::int64_t>();
}

Result<int> Int(const json& j, const std::string& pointer) {
  TREU_ASSIGN_OR_RETURN(const std::int64_t v, Int64(j, pointer));
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    return At(pointer, "is out of range");
  }
  return static_cast<int>(v);
}

// A decimal given as a JSON string or number; a number is read through its decimal text
// (1.5 → "1.5"), never as a binary float.
Result<std::string> DecimalText(const json& j, const std::string& pointer) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_integer() && j.is_number_unsigned())
    return std::to_string(j.get<std::uint64_t>());
  if (j.is_number_integer()) return std::to_string(j.get<std::int64_t>());
  if (j.is_number_float()) return j.dump();
  return At(pointer, "must be a decimal number or a string like \"1.5\"");
}

Result<Milli> MilliFrom(const json& j, const std::string& pointer) {
  TREU_ASSIGN_OR_RETURN(const std::string text, DecimalText(j, pointer));
  auto m = ParseMilli(text);
  if (!m) return At(pointer, m.error().detail());
  return *m;
}

Result<std::int64_t> MoneyFrom(const json& j, const std::string& pointer,
                               const Currency& currency) {
  TREU_ASSIGN_OR_RETURN(const std::string text, DecimalText(j, pointer));
  auto minor = ParseMinorUnits(text, currency);
  if (!minor) return At(pointer, minor.error().detail());
  return *minor;
}

Result<Timestamp> TimeFrom(const json& j, const std::string& pointer) {
  if (!j.is_string())
    return At(pointer, "must be an RFC 3339 time string like \"2026-01-01T00:00:00Z\"");
  auto t = ParseTimestamp(j.get_ref<const std::string&>(), TimeZone::Utc());
  if (!t) return At(pointer, t.error().detail());
  return *t;
}

// An optional time: absent or null is none.
Result<std::optional<Timestamp>> OptionalTimeFrom(const json& j, const std::string& name,
                                                  const std::string& pointer) {
  const std::string at = pointer + "/" + name;
  if (!j.contains(name) || j[name].is_null()) return std::optional<Timestamp>();
  TREU_ASSIGN_OR_RETURN(const Timestamp t, TimeFrom(j[name], at));
  return std::optional<Timestamp>(t);
}

json OptionalTimeJson(const std::optional<Timestamp>& t) {
  return t ? json(FormatTimestamp(*t)) : json(nullptr);
}

Result<EarnRule> RuleFrom(const json& j, const std::string& pointer, const Currency& currency) {
  TREU_RETURN_IF_ERROR(OnlyMembers(j, pointer,
                                   {"id", "kind", "points_per_unit", "min_order", "event", "points",
                                    "cap", "segment", "starts_at", "ends_at"}));
  EarnRule r;
  if (j.contains("kind")) {
    TREU_ASSIGN_OR_RETURN(const std::string kind, String(j["kind"], pointer + "/kind"));
    if (kind == "spend") {
      r.kind = EarnRuleKind::kSpend;
    } else if (kind == "event") {
      r.kind = EarnRuleKind::kEvent;
    } else {
      return At(pointer + "/kind", "must be \"spend\" or \"event\", not '" + kind + "'");
    }
  }
  const bool spend = r.kind == EarnRuleKind::kSpend;
  for (const char* name : {"event", "points"}) {
    if (spend && j.contains(name))
      return At(pointer + "/" + name, "is for event rules, not spend rules");
  }
  for (const char* name : {"points_per_unit", "min_order"}) {
    if (!spend && j.contains(name))
      return At(pointer + "/" + name, "is for spend rules, not event rules");
  }
  if (j.contains("id")) {
    TREU_ASSIGN_OR_RETURN(r.id, String(j["id"], pointer + "/id"));
  }
  if (j.contains("points_per_unit")) {
    TREU_ASSIGN_OR_RETURN(r.points_per_unit,
                          MilliFrom(j["points_per_unit"], pointer + "/points_per_unit"));
  }
  if (j.contains("min_order")) {
    TREU_ASSIGN_OR_RETURN(r.min_order_minor,
                          MoneyFrom(j["min_order"], pointer + "/min_order", currency));
  }
  if (j.contains("event")) {
    TREU_ASSIGN_OR_RETURN(r.event, String(j["event"], pointer + "/event"));
  }
  if (j.contains("points")) {
    TREU_ASSIGN_OR_RETURN(r.points, Int64(j["points"], pointer + "/points"));
  }
  if (j.contains("cap")) {
    const std::string at = pointer + "/cap";
    const json& cap = j["cap"];
    TREU_RETURN_IF_ERROR(OnlyMembers(cap, at, {"points", "period"}));
    if (cap.contains("points")) {
      TREU_ASSIGN_OR_RETURN(r.cap_points, Int64(cap["points"], at + "/points"));
    }
    if (cap.contains("period")) {
      TREU_ASSIGN_OR_RETURN(const std::string period, String(cap["period"], at + "/period"));
      auto parsed = ParseCapPeriod(period);
      if (!parsed) return At(at + "/period", parsed.error().detail());
      r.cap_period = *parsed;
    }
  }
  if (j.contains("segment")) {
    TREU_ASSIGN_OR_RETURN(r.segment, String(j["segment"], pointer + "/segment"));
  }
  TREU_ASSIGN_OR_RETURN(r.starts_at, OptionalTimeFrom(j, "starts_at", pointer));
  TREU_ASSIGN_OR_RETURN(r.ends_at, OptionalTimeFrom(j, "ends_at", pointer));
  return r;
}

Result<Multiplier> MultiplierFrom(const json& j, const std::string& pointer) {
  TREU_RETURN_IF_ERROR(OnlyMembers(
      j, pointer, {"id", "factor", "tier", "segment", "starts_at", "ends_at", "rules"}));
  Multiplier m;
  if (j.contains("id")) {
    TREU_ASSIGN_OR_RETURN(m.id, String(j["id"], pointer + "/id"));
  }
  if (j.contains("factor")) {
    TREU_ASSIGN_OR_RETURN(m.factor, MilliFrom(j["factor"], pointer + "/factor"));
  }
  if (j.contains("tier")) {
    TREU_ASSIGN_OR_RETURN(m.tier, String(j["tier"], pointer + "/tier"));
  }
  if (j.contains("segment")) {
    TREU_ASSIGN_OR_RETURN(m.segment, String(j["segment"], pointer + "/segment"));
  }
  TREU_ASSIGN_OR_RETURN(m.starts_at, OptionalTimeFrom(j, "starts_at", pointer));
  TREU_ASSIGN_OR_RETURN(m.ends_at, OptionalTimeFrom(j, "ends_at", pointer));
  if (j.contains("rules")) {
    const json& rules = j["rules"];
    if (!rules.is_array()) return At(pointer + "/rules", "must be an array of rule ids");
    for (std::size_t i = 0; i < rules.size(); ++i) {
      TREU_ASSIGN_OR_RETURN(std::string id,
                            String(rules[i], pointer + "/rules/" + std::to_string(i)));
      m.rules.push_back(std::move(id));
    }
  }
  return m;
}

Result<Tier> TierFrom(const json& j, const std::string& pointer) {
  TREU_RETURN_IF_ERROR(OnlyMembers(j, pointer, {"name", "threshold"}));
  Tier t;
  if (j.contains("name")) {
    TREU_ASSIGN_OR_RETURN(t.name, String(j["name"], pointer + "/name"));
  }
  if (j.contains("threshold")) {
    TREU_ASSIGN_OR_RETURN(t.threshold, Int64(j["threshold"], pointer + "/threshold"));
  }
  return t;
}

Result<Surprise> SurpriseFrom(const json& j, const std::string& pointer) {
  TREU_RETURN_IF_ERROR(OnlyMembers(j, pointer, {"id", "kind", "points", "reward", "segment", "share", "every_days",
                                                "attribute", "orders"}));
  Surprise s;
  if (j.contains("id")) {
    TREU_ASSIGN_OR_RETURN(s.id, String(j["id"], pointer + "/id"));
  }
  if (!j.contains("kind")) return At(pointer + "/kind", "must be random, birthday, anniversary or orders");
  TREU_ASSIGN_OR_RETURN(std::string kind, String(j["kind"], pointer + "/kind"));
  auto parsed = ParseSurpriseKind(kind);
  if (!parsed) return At(pointer + "/kind", parsed.error().detail());
  s.kind = *parsed;
  // Members that belong to other kinds are refused, so a typo'd kind doesn't pass silently.
  const std::pair<const char*, SurpriseKind> own[] = {{"share", SurpriseKind::kRandom},
                                                      {"every_days", SurpriseKind::kRandom},
                                                      {"attribute", SurpriseKind::kBirthday},
                                                      {"orders", SurpriseKind::kOrders}};
  for (const auto& [member, kind_of] : own) {
    if (j.contains(member) && kind_of != s.kind) {
      return At(pointer + "/" + member, "belongs to " + std::string(SurpriseKindName(kind_of)) + " surprises");
    }
  }
  if (j.contains("points")) {
    TREU_ASSIGN_OR_RETURN(s.points, Int64(j["points"], pointer + "/points"));
  }
  for (const auto& [member, field] : {std::pair{"reward", &s.reward}, std::pair{"segment", &s.segment},
                                      std::pair{"attribute", &s.attribute}}) {
    if (!j.contains(member)) continue;
    TREU_ASSIGN_OR_RETURN(*field, String(j[member], pointer + "/" + member));
  }
  if (j.contains("share")) {
    TREU_ASSIGN_OR_RETURN(s.share, MilliFrom(j["share"], pointer + "/share"));
  }
  if (j.contains("every_days")) {
    TREU_ASSIGN_OR_RETURN(s.every_days, Int(j["every_days"], pointer + "/every_days"));
  }
  if (j.contains("orders")) {
    TREU_ASSIGN_OR_RETURN(s.orders, Int(j["orders"], pointer + "/orders"));
  }
  return s;
}

// Each element of the array member `name` through `parse`.
template <typename T, typename Parse>
Status ArrayFrom(const json& j, const std::string& name, std::vector<T>& out, Parse parse) {
  if (!j.contains(name)) return Ok();
  const std::string at = "/" + name;
  const json& items = j[name];
  if (!items.is_array()) return At(at, "must be an array");
  for (std::size_t i = 0; i < items.size(); ++i) {
    TREU_ASSIGN_OR_RETURN(T item, parse(items[i], at + "/" + std::to_string(i)));
    out.push_back(std::move(item));
  }
  return Ok();
}

}  // namespace

Result<Program> ProgramFromJson(const json& j, const Currency& currency) {
  TREU_RETURN_IF_ERROR(
      OnlyMembers(j, "",
                  {"name", "points_name", "starts_at", "rules", "multipliers", "tiers",
                   "tier_window_days", "expiry_days", "pending_days", "hold_minutes", "referral",
                   "surprises"}));
  Program p;
  if (j.contains("name")) {
    TREU_ASSIGN_OR_RETURN(p.name, String(j["name"], "/name"));
  }
  if (j.contains("points_name")) {
    TREU_ASSIGN_OR_RETURN(p.points_name, String(j["points_name"], "/points_name"));
  }
  if (j.contains("starts_at")) {
    TREU_ASSIGN_OR_RETURN(p.starts_at, TimeFrom(j["starts_at"], "/starts_at"));
  }
  TREU_RETURN_IF_ERROR(ArrayFrom(j, "rules", p.rules, [&](const json& r, const std::string& at) {
    return RuleFrom(r, at, currency);
  }));
  TREU_RETURN_IF_ERROR(ArrayFrom(j, "multipliers", p.multipliers, MultiplierFrom));
  TREU_RETURN_IF_ERROR(ArrayFrom(j, "tiers", p.tiers, TierFrom));
  const std::pair<const char*, int*> days[] = {{"tier_window_days", &p.tier_window_days},
                                               {"expiry_days", &p.expiry_days},
                                               {"pending_days", &p.pending_days},
                                               {"hold_minutes", &p.hold_minutes}};
  for (const auto& [name, field] : days) {
    if (!j.contains(name)) continue;
    TREU_ASSIGN_OR_RETURN(*field, Int(j[name], std::string("/") + name));
  }
  if (j.contains("referral")) {
    const json& r = j["referral"];
    TREU_RETURN_IF_ERROR(OnlyMembers(r, "/referral", {"referrer_points", "referee_points"}));
    if (r.contains("referrer_points")) {
      TREU_ASSIGN_OR_RETURN(p.referral.referrer_points,
                            Int64(r["referrer_points"], "/referral/referrer_points"));
    }
    if (r.contains("referee_points")) {
      TREU_ASSIGN_OR_RETURN(p.referral.referee_points,
                            Int64(r["referee_points"], "/referral/referee_points"));
    }
  }
  TREU_RETURN_IF_ERROR(ArrayFrom(j, "surprises", p.surprises, SurpriseFrom));
  TREU_RETURN_IF_ERROR(ValidateProgram(p));
  return p;
}

json ProgramToJson(const Program& p, const Currency& currency) {
  json rules = json::array();
  for (const EarnRule& r : p.rules) {
    json rule = {{"id", r.id}};
    if (r.kind == EarnRuleKind::kSpend) {
      rule["kind"] = "spend";
      rule["points_per_unit"] = FormatMilli(r.points_per_unit);
      rule["min_order"] = FormatMajorUnits(r.min_order_minor, currency);
    } else {
      rule["kind"] = "event";
      rule["event"] = r.event;
      rule["points"] = r.points;
    }
    rule["cap"] = {{"points", r.cap_points}, {"period", CapPeriodName(r.cap_period)}};
    rule["segment"] = r.segment;
    rule["starts_at"] = OptionalTimeJson(r.starts_at);
    rule["ends_at"] = OptionalTimeJson(r.ends_at);
    rules.push_back(std::move(rule));
  }
  json multipliers = json::array();
  for (const Multiplier& m : p.multipliers) {
    multipliers.push_back({{"id", m.id},
                           {"factor", FormatMilli(m.factor)},
                           {"tier", m.tier},
                           {"segment", m.segment},
                           {"starts_at", OptionalTimeJson(m.starts_at)},
                           {"ends_at", OptionalTimeJson(m.ends_at)},
                           {"rules", m.rules}});
  }
  json tiers = json::array();
  for (const Tier& t : p.tiers) tiers.push_back({{"name", t.name}, {"threshold", t.threshold}});
  json surprises = json::array();
  for (const Surprise& x : p.surprises) {
    json out = {{"id", x.id}, {"kind", SurpriseKindName(x.kind)}, {"points", x.points}, {"reward", x.reward},
                {"segment", x.segment}};
    if (x.kind == SurpriseKind::kRandom) {
      out["share"] = FormatMilli(x.share);
      out["every_days"] = x.every_days;
    } else if (x.kind == SurpriseKind::kBirthday) {
      out["attribute"] = x.attribute;
    } else if (x.kind == SurpriseKind::kOrders) {
      out["orders"] = x.orders;
    }
    surprises.push_back(std::move(out));
  }
  return {{"name", p.name},
          {"points_name", p.points_name},
          {"starts_at", FormatTimestamp(p.starts_at)},
          {"rules", std::move(rules)},
          {"multipliers", std::move(multipliers)},
          {"tiers", std::move(tiers)},
          {"tier_window_days", p.tier_window_days},
          {"expiry_days", p.expiry_days},
          {"pending_days", p.pending_days},
          {"hold_minutes", p.hold_minutes},
          {"referral",
           {{"referrer_points", p.referral.referrer_points},
            {"referee_points", p.referral.referee_points}}},
          {"surprises", std::move(surprises)}};
}

}  // namespace treu::loyalty
