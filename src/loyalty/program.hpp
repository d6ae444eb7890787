// A workspace's loyalty program: how points are earned (rules and multipliers), how long they
// live (pending window, expiry), the tiers, referral bonuses and redemption hold time. Pure
// values and the arithmetic on them; JSON lives in src/loyalty/program_json.hpp, storage in the
// Store's loyalty tables, and src/loyalty/service.hpp puts them to work.
//
// Rates and factors are decimals with up to 3 places, kept exactly as thousandths, so points
// are computed in integers: an order of 19.99 EUR at 1.5 points per EUR with a 2× multiplier
// earns floor(1999 × 1500 × 2000 / (100 × 1000 × 1000)) = 59 points. Points are always rounded
// down, so a customer never earns a point the rate doesn't give in full.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.hpp"
#include "core/status.hpp"
#include "core/time.hpp"

namespace treu::loyalty {

// A decimal with up to three places, in thousandths: 1.5 → 1500.
using Milli = std::int64_t;
inline constexpr Milli kOne = 1000;

// "1", "1.5", "0.125" → thousandths; InvalidArgument for more places, signs or garbage.
Result<Milli> ParseMilli(std::string_view text);
// 1500 → "1.5", 1000 → "1".
std::string FormatMilli(Milli m);

// The calendar period a cap counts in (in the workspace's time zone).
enum class CapPeriod : std::uint8_t { kDay, kWeek, kMonth, kYear };
std::string_view CapPeriodName(CapPeriod p);
Result<CapPeriod> ParseCapPeriod(std::string_view text);

enum class EarnRuleKind : std::uint8_t {
  kSpend,  // points per currency unit of a completed order's total
  kEvent,  // a fixed number of points per tracked event of a name
};

// One way to earn. A rule id is part of every transfer id it makes ("order:<order>:<rule>"),
// so an order or event earns at most once per rule, whatever is replayed.
struct EarnRule {
  std::string id;  // 1..40 of [a-z0-9_-]
  EarnRuleKind kind = EarnRuleKind::kSpend;
  Milli points_per_unit = 0;          // spend: points per whole currency unit, > 0
  std::int64_t min_order_minor = 0;   // spend: orders below this total (minor units) earn nothing
  std::string event;                  // event: the event name, e.g. "Review Written"
  std::int64_t points = 0;            // event: points per event, > 0
  std::int64_t cap_points = 0;        // > 0: at most this many points per customer per period
  CapPeriod cap_period = CapPeriod::kMonth;
  std::optional<Timestamp> starts_at;  // the rule earns for orders/events at or after this
  std::optional<Timestamp> ends_at;    // ... and before this
  std::string segment;                 // only members of this saved segment earn ("" all)
  bool operator==(const EarnRule&) const = default;
};

// Raises what rules earn, for a tier, a segment or a campaign period. Of all multipliers that
// apply to an earn, the highest counts (they don't compound).
struct Multiplier {
  std::string id;
  Milli factor = kOne;  // > 1000
  std::string tier;     // "" any tier
  std::string segment;  // "" any customer
  std::optional<Timestamp> starts_at;
  std::optional<Timestamp> ends_at;
  std::vector<std::string> rules;  // the rules it applies to; empty: all
  bool operator==(const Multiplier&) const = default;
};

// A level of the program. A member is in the highest tier whose threshold their points earned
// in the qualifying window reach (src/loyalty/tiers.hpp).
struct Tier {
  std::string name;  // 1..40 of [A-Za-z0-9_-]
  std::int64_t threshold = 0;  // points earned in the window; the first tier's is 0
  bool operator==(const Tier&) const = default;
};

struct Referral {
  std::int64_t referrer_points = 0;  // to the customer who referred, at the first order
  std::int64_t referee_points = 0;   // to the new customer, at their first order
  bool operator==(const Referral&) const = default;
};

// Surprise and delight: a bonus (points and/or a reward given free) for a random share of a
// segment, or on a milestone — a birthday, the anniversary of joining, the n-th order. Each
// grant happens once per occasion; its transfer id names the rule and the occasion
// ("surprise:<rule>:<customer>:<occasion>").
enum class SurpriseKind : std::uint8_t {
  kRandom,       // a new draw of `share` of `segment` every `every_days` days
  kBirthday,     // on the customer's birthday (the date in attribute `attribute`)
  kAnniversary,  // on the anniversary of joining the program
  kOrders,       // at the customer's `orders`-th completed order
};
std::string_view SurpriseKindName(SurpriseKind k);
Result<SurpriseKind> ParseSurpriseKind(std::string_view text);

struct Surprise {
  std::string id;  // as rule ids
  SurpriseKind kind = SurpriseKind::kRandom;
  std::int64_t points = 0;    // bonus points (0: none)
  std::string reward;         // a reward of the catalogue given free ("": none)
  std::string segment;        // random: drawn from it (required); else: only its members ("": all)
  Milli share = 0;            // random: the share drawn, in (0, 1]
  int every_days = 30;        // random: days between draws
  std::string attribute = "birthday";  // birthday: the attribute holding the date
  int orders = 0;             // orders: the milestone, >= 1
  bool operator==(const Surprise&) const = default;
};

struct Program {
  std::string name = "Loyalty";
  std::string points_name = "points";
  // Orders and events before this earn nothing (so starting a program on a shop with years of
  // history doesn't hand out points for the past).
  Timestamp starts_at;
  std::vector<EarnRule> rules;
  std::vector<Multiplier> multipliers;
  std::vector<Tier> tiers;          // ascending thresholds; empty: no tiers
  int tier_window_days = 365;       // the qualifying window
  int expiry_days = 0;              // earned points expire after this many days; 0: never
  int pending_days = 0;             // order points stay pending this long (the return window)
  int hold_minutes = 30;            // a redemption hold lapses after this
  Referral referral;
  std::vector<Surprise> surprises;
  bool operator==(const Program&) const = default;
};

// Checks everything JSON parsing can't: ids and names, unique rule and tier names, rates,
// ascending tier thresholds starting at 0, multipliers naming existing tiers and rules, day
// counts within range. InvalidArgument naming the field as a JSON pointer ("/rules/2/points").
Status ValidateProgram(const Program& p);

const EarnRule* FindRule(const Program& p, std::string_view id);

// Points a spend rule gives for an order total (minor units of a currency with
// `minor_digits` decimals) with a multiplier: floor(total × rate × factor / 10^digits), 0
// below the rule's minimum order.
std::int64_t SpendPoints(const EarnRule& rule, std::int64_t total_minor, int minor_digits, Milli factor);

// What a customer is, for multipliers and rule eligibility.
struct EarnContext {
  std::string tier;
  std::vector<std::string> segments;  // saved segments the customer is in
};

// The highest factor of the multipliers applying to an earn by `rule_id` at `at`
// (kOne when none).
Milli MultiplierFor(const Program& p, std::string_view rule_id, Timestamp at, const EarnContext& c);

// True when `rule` earns at `at` for a customer in context `c` (its time range and segment).
bool RuleApplies(const EarnRule& rule, const Program& p, Timestamp at, const EarnContext& c);

}  // namespace treu::loyalty
