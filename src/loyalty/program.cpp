#include "loyalty/program.hpp"

#include <algorithm>
#include <array>
#include <set>

#include "core/money.hpp"

namespace treu::loyalty {
namespace {

constexpr std::array<std::string_view, 4> kCapPeriods = {"day", "week", "month", "year"};

bool IsRuleId(std::string_view id) {
  if (id.empty() || id.size() > 40) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool IsTierName(std::string_view name) {
  if (name.empty() || name.size() > 40) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::unexpected<Error> Bad(const std::string& field, std::string message) {
  return InvalidArgument(field, std::move(message));
}

bool InRange(const std::optional<Timestamp>& from, const std::optional<Timestamp>& to, Timestamp at) {
  return (!from || at >= *from) && (!to || at < *to);
}

bool InSegment(const EarnContext& c, std::string_view segment) {
  return segment.empty() || std::find(c.segments.begin(), c.segments.end(), segment) != c.segments.end();
}

Status CheckRange(const std::optional<Timestamp>& from, const std::optional<Timestamp>& to,
                  const std::string& at) {
  if (from && to && *to <= *from) return Bad(at + "/ends_at", "must be after starts_at");
  return {};
}

Status CheckDays(int days, int min, int max, const std::string& field) {
  if (days < min || days > max) {
    return Bad(field, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return {};
}

constexpr std::int64_t kMaxRulePoints = 1'000'000'000;

}  // namespace

Result<Milli> ParseMilli(std::string_view text) {
  auto m = ParseFixedPoint(text, 3);
  if (!m || *m < 0) {
    return InvalidArgument("number", "'" + std::string(text) + "' is not a decimal >= 0 with up to 3 places");
  }
  return *m;
}

std::string FormatMilli(Milli m) {
  std::string out = FormatFixedPoint(m, 3);
  while (out.back() == '0') out.pop_back();
  if (out.back() == '.') out.pop_back();
  return out;
}

std::string_view CapPeriodName(CapPeriod p) { return kCapPeriods[static_cast<std::size_t>(p)]; }

Result<CapPeriod> ParseCapPeriod(std::string_view text) {
  for (std::size_t i = 0; i < kCapPeriods.size(); ++i) {
    if (kCapPeriods[i] == text) return static_cast<CapPeriod>(i);
  }
  return InvalidArgument("cap_period", "must be day, week, month or year, not '" + std::string(text) + "'");
}

constexpr std::array<std::string_view, 4> kSurpriseKinds = {"random", "birthday", "anniversary", "orders"};

std::string_view SurpriseKindName(SurpriseKind k) { return kSurpriseKinds[static_cast<std::size_t>(k)]; }

Result<SurpriseKind> ParseSurpriseKind(std::string_view text) {
  for (std::size_t i = 0; i < kSurpriseKinds.size(); ++i) {
    if (kSurpriseKinds[i] == text) return static_cast<SurpriseKind>(i);
  }
  return InvalidArgument("kind", "must be random, birthday, anniversary or orders, not '" + std::string(text) + "'");
}

namespace {

Status ValidateSurprises(const Program& p) {
  std::set<std::string> ids;
  for (std::size_t i = 0; i < p.surprises.size(); ++i) {
    const Surprise& s = p.surprises[i];
    const std::string at = "/surprises/" + std::to_string(i);
    if (!IsRuleId(s.id)) return Bad(at + "/id", "must be 1 to 40 of a-z, 0-9, '_' or '-'");
    if (!ids.insert(s.id).second) return Bad(at + "/id", "'" + s.id + "' is used by another surprise");
    if (s.points < 0 || s.points > kMaxRulePoints) return Bad(at + "/points", "must be between 0 and 1000000000");
    if (s.points == 0 && s.reward.empty()) return Bad(at + "/points", "a surprise gives points, a reward or both");
    switch (s.kind) {
      case SurpriseKind::kRandom:
        if (s.segment.empty()) return Bad(at + "/segment", "a random surprise draws from a segment: name it");
        if (s.share <= 0 || s.share > kOne) return Bad(at + "/share", "must be more than 0 and at most 1");
        if (s.every_days < 1 || s.every_days > 3650) return Bad(at + "/every_days", "must be between 1 and 3650");
        break;
      case SurpriseKind::kBirthday:
        if (s.attribute.empty()) return Bad(at + "/attribute", "must name the attribute holding the birthday");
        break;
      case SurpriseKind::kAnniversary:
        break;
      case SurpriseKind::kOrders:
        if (s.orders < 1 || s.orders > 1000) return Bad(at + "/orders", "must be between 1 and 1000");
        break;
    }
  }
  return {};
}

}  // namespace

Status ValidateProgram(const Program& p) {
  if (p.name.empty() || p.name.size() > 100) return Bad("/name", "must be 1 to 100 characters");
  if (p.points_name.empty() || p.points_name.size() > 40) return Bad("/points_name", "must be 1 to 40 characters");
  std::set<std::string> rule_ids;
  for (std::size_t i = 0; i < p.rules.size(); ++i) {
    const EarnRule& r = p.rules[i];
    const std::string at = "/rules/" + std::to_string(i);
    if (!IsRuleId(r.id)) return Bad(at + "/id", "must be 1 to 40 of a-z, 0-9, '_' or '-'");
    if (!rule_ids.insert(r.id).second) return Bad(at + "/id", "'" + r.id + "' is used by another rule");
    if (r.kind == EarnRuleKind::kSpend) {
      if (r.points_per_unit <= 0 || r.points_per_unit > 1'000'000 * kOne) {
        return Bad(at + "/points_per_unit", "must be more than 0 and at most 1000000");
      }
      if (!r.event.empty() || r.points != 0) return Bad(at + "/event", "a spend rule has no event or points");
      if (r.min_order_minor < 0) return Bad(at + "/min_order", "must not be negative");
    } else {
      if (r.event.empty() || r.event.size() > 200) return Bad(at + "/event", "must name an event (1 to 200 characters)");
      if (r.points <= 0 || r.points > kMaxRulePoints) return Bad(at + "/points", "must be between 1 and 1000000000");
    }
    if (r.cap_points < 0 || r.cap_points > kMaxRulePoints) return Bad(at + "/cap/points", "must be between 0 (no cap) and 1000000000");
    TREU_RETURN_IF_ERROR(CheckRange(r.starts_at, r.ends_at, at));
  }
  std::set<std::string> tiers;
  for (std::size_t i = 0; i < p.tiers.size(); ++i) {
    const Tier& t = p.tiers[i];
    const std::string at = "/tiers/" + std::to_string(i);
    if (!IsTierName(t.name)) return Bad(at + "/name", "must be 1 to 40 of A-Z, a-z, 0-9, '_' or '-'");
    if (!tiers.insert(t.name).second) return Bad(at + "/name", "'" + t.name + "' is used by another tier");
    if (i == 0 && t.threshold != 0) return Bad(at + "/threshold", "the first tier's threshold must be 0");
    if (i > 0 && t.threshold <= p.tiers[i - 1].threshold) {
      return Bad(at + "/threshold", "must be higher than the previous tier's");
    }
  }
  std::set<std::string> multiplier_ids;
  for (std::size_t i = 0; i < p.multipliers.size(); ++i) {
    const Multiplier& m = p.multipliers[i];
    const std::string at = "/multipliers/" + std::to_string(i);
    if (!IsRuleId(m.id)) return Bad(at + "/id", "must be 1 to 40 of a-z, 0-9, '_' or '-'");
    if (!multiplier_ids.insert(m.id).second) return Bad(at + "/id", "'" + m.id + "' is used by another multiplier");
    if (m.factor <= kOne || m.factor > 100 * kOne) return Bad(at + "/factor", "must be more than 1 and at most 100");
    if (!m.tier.empty() && !tiers.contains(m.tier)) return Bad(at + "/tier", "no tier is named '" + m.tier + "'");
    for (std::size_t j = 0; j < m.rules.size(); ++j) {
      if (!rule_ids.contains(m.rules[j])) {
        return Bad(at + "/rules/" + std::to_string(j), "no rule has the id '" + m.rules[j] + "'");
      }
    }
    TREU_RETURN_IF_ERROR(CheckRange(m.starts_at, m.ends_at, at));
  }
  TREU_RETURN_IF_ERROR(CheckDays(p.tier_window_days, 1, 3650, "/tier_window_days"));
  TREU_RETURN_IF_ERROR(CheckDays(p.expiry_days, 0, 36500, "/expiry_days"));
  TREU_RETURN_IF_ERROR(CheckDays(p.pending_days, 0, 365, "/pending_days"));
  TREU_RETURN_IF_ERROR(CheckDays(p.hold_minutes, 1, 60 * 24 * 30, "/hold_minutes"));
  if (p.referral.referrer_points < 0 || p.referral.referrer_points > kMaxRulePoints) {
    return Bad("/referral/referrer_points", "must be between 0 and 1000000000");
  }
  if (p.referral.referee_points < 0 || p.referral.referee_points > kMaxRulePoints) {
    return Bad("/referral/referee_points", "must be between 0 and 1000000000");
  }
  return ValidateSurprises(p);
}

const EarnRule* FindRule(const Program& p, std::string_view id) {
  for (const EarnRule& r : p.rules) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

std::int64_t SpendPoints(const EarnRule& rule, std::int64_t total_minor, int minor_digits, Milli factor) {
  if (rule.kind != EarnRuleKind::kSpend || total_minor <= 0 || total_minor < rule.min_order_minor) return 0;
  __int128 scale = 1;
  for (int i = 0; i < minor_digits; ++i) scale *= 10;
  const __int128 points = static_cast<__int128>(total_minor) * rule.points_per_unit * factor / (scale * kOne * kOne);
  return static_cast<std::int64_t>(std::min<__int128>(points, kMaxRulePoints));
}

Milli MultiplierFor(const Program& p, std::string_view rule_id, Timestamp at, const EarnContext& c) {
  Milli best = kOne;
  for (const Multiplier& m : p.multipliers) {
    if (!InRange(m.starts_at, m.ends_at, at)) continue;
    if (!m.tier.empty() && m.tier != c.tier) continue;
    if (!InSegment(c, m.segment)) continue;
    if (!m.rules.empty() && std::find(m.rules.begin(), m.rules.end(), rule_id) == m.rules.end()) continue;
    best = std::max(best, m.factor);
  }
  return best;
}

bool RuleApplies(const EarnRule& rule, const Program& p, Timestamp at, const EarnContext& c) {
  return at >= p.starts_at && InRange(rule.starts_at, rule.ends_at, at) && InSegment(c, rule.segment);
}

}  // namespace treu::loyalty
