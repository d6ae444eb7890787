#include "loyalty/program_json.hpp"

#include <gtest/gtest.h>

#include <string>

namespace treu::loyalty {
namespace {

using nlohmann::json;

Currency Eur() { return *Currency::FromCode("EUR"); }
Currency Jpy() { return *Currency::FromCode("JPY"); }

Timestamp At(const char* rfc3339) { return *ParseTimestamp(rfc3339, TimeZone::Utc()); }

// "pointer: detail" of a refused program, or "accepted".
std::string ErrorOf(const json& j, const Currency& currency = Eur()) {
  auto p = ProgramFromJson(j, currency);
  if (p) return "accepted";
  EXPECT_EQ(p.error().code(), ErrorCode::kInvalidArgument);
  return p.error().ToString();
}
std::string ErrorOf(const char* text, const Currency& currency = Eur()) {
  return ErrorOf(json::parse(text), currency);
}

// Only the pointer of a refused program.
std::string PointerOf(const char* text, const Currency& currency = Eur()) {
  auto p = ProgramFromJson(json::parse(text), currency);
  return p ? "accepted" : p.error().context();
}

constexpr const char* kExample = R"({
  "name": "Friends of the shop", "points_name": "stars",
  "starts_at": "2026-01-01T00:00:00Z",
  "rules": [
    {"id": "spend", "kind": "spend", "points_per_unit": 1, "min_order": "10.00"},
    {"id": "review", "kind": "event", "event": "Review Written", "points": 50,
     "cap": {"points": 150, "period": "month"}, "segment": "vip",
     "starts_at": "2026-02-01T00:00:00Z", "ends_at": "2026-03-01T12:30:00+02:00"}
  ],
  "multipliers": [{"id": "gold", "factor": 2, "tier": "gold", "rules": ["spend"]},
                  {"id": "black-friday", "factor": "1.5", "starts_at": "2026-11-27T00:00:00Z",
                   "ends_at": "2026-11-28T00:00:00Z"}],
  "tiers": [{"name": "bronze", "threshold": 0}, {"name": "silver", "threshold": 1000},
            {"name": "gold", "threshold": 5000}],
  "tier_window_days": 365, "expiry_days": 365, "pending_days": 14, "hold_minutes": 30,
  "referral": {"referrer_points": 500, "referee_points": 250}
})";

TEST(ProgramJsonTest, ParsesTheFullExample) {
  auto parsed = ProgramFromJson(json::parse(kExample), Eur());
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  const Program& p = *parsed;
  EXPECT_EQ(p.name, "Friends of the shop");
  EXPECT_EQ(p.points_name, "stars");
  EXPECT_EQ(p.starts_at, At("2026-01-01T00:00:00Z"));
  ASSERT_EQ(p.rules.size(), 2u);
  EXPECT_EQ(p.rules[0].id, "spend");
  EXPECT_EQ(p.rules[0].kind, EarnRuleKind::kSpend);
  EXPECT_EQ(p.rules[0].points_per_unit, 1000);
  EXPECT_EQ(p.rules[0].min_order_minor, 1000);
  EXPECT_EQ(p.rules[0].cap_points, 0);
  EXPECT_EQ(p.rules[0].cap_period, CapPeriod::kMonth);
  EXPECT_FALSE(p.rules[0].starts_at);
  EXPECT_FALSE(p.rules[0].ends_at);
  EXPECT_EQ(p.rules[1].kind, EarnRuleKind::kEvent);
  EXPECT_EQ(p.rules[1].event, "Review Written");
  EXPECT_EQ(p.rules[1].points, 50);
  EXPECT_EQ(p.rules[1].cap_points, 150);
  EXPECT_EQ(p.rules[1].cap_period, CapPeriod::kMonth);
  EXPECT_EQ(p.rules[1].segment, "vip");
  EXPECT_EQ(p.rules[1].starts_at, At("2026-02-01T00:00:00Z"));
  EXPECT_EQ(p.rules[1].ends_at, At("2026-03-01T10:30:00Z"));
  ASSERT_EQ(p.multipliers.size(), 2u);
  EXPECT_EQ(p.multipliers[0].factor, 2000);
  EXPECT_EQ(p.multipliers[0].tier, "gold");
  EXPECT_EQ(p.multipliers[0].rules, std::vector<std::string>{"spend"});
  EXPECT_EQ(p.multipliers[1].factor, 1500);
  EXPECT_EQ(p.multipliers[1].starts_at, At("2026-11-27T00:00:00Z"));
  ASSERT_EQ(p.tiers.size(), 3u);
  EXPECT_EQ(p.tiers[1], (Tier{"silver", 1000}));
  EXPECT_EQ(p.tier_window_days, 365);
  EXPECT_EQ(p.expiry_days, 365);
  EXPECT_EQ(p.pending_days, 14);
  EXPECT_EQ(p.hold_minutes, 30);
  EXPECT_EQ(p.referral, (Referral{500, 250}));
}

TEST(ProgramJsonTest, WritesEveryMemberAndRoundTrips) {
  auto p = ProgramFromJson(json::parse(kExample), Eur());
  ASSERT_TRUE(p) << p.error().ToString();
  const json written = ProgramToJson(*p, Eur());
  EXPECT_EQ(written, json::parse(R"({
    "name": "Friends of the shop", "points_name": "stars", "starts_at": "2026-01-01T00:00:00Z",
    "rules": [
      {"id": "spend", "kind": "spend", "points_per_unit": "1", "min_order": "10.00",
       "cap": {"points": 0, "period": "month"}, "segment": "", "starts_at": null, "ends_at": null},
      {"id": "review", "kind": "event", "event": "Review Written", "points": 50,
       "cap": {"points": 150, "period": "month"}, "segment": "vip",
       "starts_at": "2026-02-01T00:00:00Z", "ends_at": "2026-03-01T10:30:00Z"}
    ],
    "multipliers": [
      {"id": "gold", "factor": "2", "tier": "gold", "segment": "", "starts_at": null, "ends_at": null,
       "rules": ["spend"]},
      {"id": "black-friday", "factor": "1.5", "tier": "", "segment": "",
       "starts_at": "2026-11-27T00:00:00Z", "ends_at": "2026-11-28T00:00:00Z", "rules": []}
    ],
    "tiers": [{"name": "bronze", "threshold": 0}, {"name": "silver", "threshold": 1000},
              {"name": "gold", "threshold": 5000}],
    "tier_window_days": 365, "expiry_days": 365, "pending_days": 14, "hold_minutes": 30,
    "referral": {"referrer_points": 500, "referee_points": 250}, "surprises": []
  })"));
  auto again = ProgramFromJson(written, Eur());
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(*again, *p);
  // Through text too, as the Store keeps it.
  auto reparsed = ProgramFromJson(json::parse(written.dump()), Eur());
  ASSERT_TRUE(reparsed) << reparsed.error().ToString();
  EXPECT_EQ(*reparsed, *p);
}

TEST(ProgramJsonTest, RoundTripsEveryCapPeriodAndOddValues) {
  Program p;
  p.starts_at = Timestamp{1'700'000'000'123'456};
  for (CapPeriod period :
       {CapPeriod::kDay, CapPeriod::kWeek, CapPeriod::kMonth, CapPeriod::kYear}) {
    EarnRule r;
    r.id = "r" + std::to_string(p.rules.size());
    r.points_per_unit = 125;
    r.min_order_minor = 1;
    r.cap_points = 7;
    r.cap_period = period;
    r.ends_at = Timestamp{1'800'000'000'000'001};
    p.rules.push_back(r);
  }
  Multiplier m;
  m.id = "m";
  m.factor = 1001;
  m.segment = "big spenders";
  m.rules = {"r3", "r0"};
  p.multipliers.push_back(m);
  p.tier_window_days = 1;
  p.hold_minutes = 1;
  for (const Currency& c : {Eur(), Jpy(), *Currency::FromCode("KWD")}) {
    const json j = ProgramToJson(p, c);
    auto back = ProgramFromJson(j, c);
    ASSERT_TRUE(back) << c.code() << ": " << back.error().ToString() << "\n" << j.dump();
    EXPECT_EQ(*back, p) << c.code() << "\n" << j.dump();
  }
  EXPECT_EQ(ProgramToJson(p, Jpy())["rules"][0]["min_order"], "1");
  EXPECT_EQ(ProgramToJson(p, Eur())["rules"][0]["min_order"], "0.01");
  EXPECT_EQ(ProgramToJson(p, Eur())["rules"][0]["points_per_unit"], "0.125");
  EXPECT_EQ(ProgramToJson(p, Eur())["starts_at"], "2023-11-14T22:13:20.123456Z");
}

TEST(ProgramJsonTest, EmptyObjectIsTheDefaultProgram) {
  auto p = ProgramFromJson(json::object(), Eur());
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_EQ(*p, Program{});
  EXPECT_EQ(p->starts_at, Timestamp{});
  const json j = ProgramToJson(Program{}, Eur());
  EXPECT_EQ(j, json::parse(R"({
    "name": "Loyalty", "points_name": "points", "starts_at": "1970-01-01T00:00:00Z",
    "rules": [], "multipliers": [], "tiers": [],
    "tier_window_days": 365, "expiry_days": 0, "pending_days": 0, "hold_minutes": 30,
    "referral": {"referrer_points": 0, "referee_points": 0}, "surprises": []
  })"));
  EXPECT_EQ(ProgramFromJson(j, Eur()), Program{});
}

TEST(ProgramJsonTest, SurprisesOfEveryKindRoundTrip) {
  auto p = ProgramFromJson(json::parse(R"({"surprises": [
    {"id": "bday", "kind": "birthday", "points": 100, "reward": "cake", "attribute": "born"},
    {"id": "anniv", "kind": "anniversary", "points": 200, "segment": "vip"},
    {"id": "tenth", "kind": "orders", "orders": 10, "points": 500},
    {"id": "lucky", "kind": "random", "segment": "at_risk", "share": "0.05", "every_days": 30, "reward": "mug"}
  ]})"), Eur());
  ASSERT_TRUE(p) << p.error().ToString();
  ASSERT_EQ(p->surprises.size(), 4u);
  EXPECT_EQ(p->surprises[0].attribute, "born");
  EXPECT_EQ(p->surprises[1].segment, "vip");
  EXPECT_EQ(p->surprises[2].orders, 10);
  EXPECT_EQ(p->surprises[3].share, 50);
  EXPECT_EQ(p->surprises[3].every_days, 30);
  EXPECT_EQ(ProgramFromJson(ProgramToJson(*p, Eur()), Eur()), *p);
}

TEST(ProgramJsonTest, SurpriseErrorsNameTheMember) {
  EXPECT_EQ(ErrorOf(R"({"surprises": [{"id": "x", "points": 1}]})"),
            "/surprises/0/kind: must be random, birthday, anniversary or orders");
  EXPECT_EQ(ErrorOf(R"({"surprises": [{"id": "x", "kind": "birthday", "points": 1, "share": 0.5}]})"),
            "/surprises/0/share: belongs to random surprises");
  EXPECT_EQ(ErrorOf(R"({"surprises": [{"id": "x", "kind": "random", "points": 1, "share": 0.5}]})"),
            "/surprises/0/segment: a random surprise draws from a segment: name it");
  EXPECT_EQ(ErrorOf(R"({"surprises": [{"id": "x", "kind": "random", "segment": "s", "points": 1, "share": 2}]})"),
            "/surprises/0/share: must be more than 0 and at most 1");
  EXPECT_EQ(ErrorOf(R"({"surprises": [{"id": "x", "kind": "orders", "orders": 3}]})"),
            "/surprises/0/points: a surprise gives points, a reward or both");
  EXPECT_EQ(ErrorOf(R"({"surprises": [{"id": "x", "kind": "orders", "points": 5}]})"),
            "/surprises/0/orders: must be between 1 and 1000");
}

TEST(ProgramJsonTest, MembersDefaultOneByOne) {
  auto p = ProgramFromJson(json::parse(R"({
    "rules": [{"id": "spend", "points_per_unit": 2}, {"id": "rev", "kind": "event", "event": "E", "points": 5,
               "cap": {}}, {"id": "capped", "kind": "event", "event": "E", "points": 5, "cap": {"points": 9}},
              {"id": "nulls", "points_per_unit": 1, "starts_at": null, "ends_at": null}],
    "multipliers": [{"id": "m", "factor": 1.25}],
    "referral": {"referee_points": 3}
  })"),
                           Eur());
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_EQ(p->rules[0].kind, EarnRuleKind::kSpend);
  EXPECT_EQ(p->rules[0].points_per_unit, 2000);
  EXPECT_EQ(p->rules[0].min_order_minor, 0);
  EXPECT_EQ(p->rules[1].cap_points, 0);
  EXPECT_EQ(p->rules[1].cap_period, CapPeriod::kMonth);
  EXPECT_EQ(p->rules[2].cap_points, 9);
  EXPECT_EQ(p->rules[2].cap_period, CapPeriod::kMonth);
  EXPECT_FALSE(p->rules[3].starts_at);
  EXPECT_FALSE(p->rules[3].ends_at);
  EXPECT_EQ(p->multipliers[0].factor, 1250);
  EXPECT_TRUE(p->multipliers[0].tier.empty());
  EXPECT_TRUE(p->multipliers[0].rules.empty());
  EXPECT_EQ(p->referral, (Referral{0, 3}));
  EXPECT_EQ(p->name, "Loyalty");
  EXPECT_EQ(p->tier_window_days, 365);
}

TEST(ProgramJsonTest, DecimalsAsNumbersOrStrings) {
  auto rate = [](const char* value) -> Result<Milli> {
    auto p = ProgramFromJson(
        json::parse(std::string(R"({"rules": [{"id": "s", "points_per_unit": )") + value + "}]}"),
        Eur());
    if (!p) return std::unexpected(p.error());
    return p->rules[0].points_per_unit;
  };
  EXPECT_EQ(rate("1.5"), 1500);
  EXPECT_EQ(rate("\"1.5\""), 1500);
  EXPECT_EQ(rate("0.1"), 100);
  EXPECT_EQ(rate("0.125"), 125);
  EXPECT_EQ(rate("2.0"), 2000);
  EXPECT_EQ(rate("3"), 3000);
  EXPECT_EQ(rate("\"0.001\""), 1);
  EXPECT_EQ(rate("1.2500"), 1250);
  EXPECT_FALSE(rate("1e-5"));
  EXPECT_FALSE(rate("\"\""));
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "s", "points_per_unit": 1e-5}]})"),
            "/rules/0/points_per_unit: '1e-05' is not a decimal >= 0 with up to 3 places");
}

TEST(ProgramJsonTest, MinOrderAsNumberOrString) {
  auto min_order = [](const char* value, const Currency& c) -> Result<std::int64_t> {
    auto p = ProgramFromJson(
        json::parse(std::string(R"({"rules": [{"id": "s", "points_per_unit": 1, "min_order": )") +
                    value + "}]}"),
        c);
    if (!p) return std::unexpected(p.error());
    return p->rules[0].min_order_minor;
  };
  EXPECT_EQ(min_order("\"10.00\"", Eur()), 1000);
  EXPECT_EQ(min_order("\"10.5\"", Eur()), 1050);
  EXPECT_EQ(min_order("10.5", Eur()), 1050);
  EXPECT_EQ(min_order("25", Eur()), 2500);
  EXPECT_EQ(min_order("\"1000\"", Jpy()), 1000);
  EXPECT_EQ(min_order("\"1000.00\"", Jpy()), 1000);  // zeros beyond the currency's digits are fine
  EXPECT_EQ(min_order("\"1.005\"", *Currency::FromCode("KWD")), 1005);
}

TEST(ProgramJsonTest, MinOrderWithTooManyDecimalsForTheCurrency) {
  const char* body = R"({"rules": [{"id": "s", "points_per_unit": 1, "min_order": "10.5"}]})";
  EXPECT_EQ(ErrorOf(body, Eur()), "accepted");
  EXPECT_EQ(ErrorOf(body, Jpy()),
            "/rules/0/min_order: '10.5' has more than 0 decimal places for JPY");
  EXPECT_EQ(
      ErrorOf(R"({"rules": [{"id": "s", "points_per_unit": 1, "min_order": "10.001"}]})", Eur()),
      "/rules/0/min_order: '10.001' has more than 2 decimal places for EUR");
  EXPECT_EQ(
      ErrorOf(R"({"rules": [{"id": "s", "points_per_unit": 1, "min_order": 10.001}]})", Eur()),
      "/rules/0/min_order: '10.001' has more than 2 decimal places for EUR");
  EXPECT_EQ(PointerOf(R"({"rules": [{"id": "s", "points_per_unit": 1, "min_order": "ten"}]})"),
            "/rules/0/min_order");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "s", "points_per_unit": 1, "min_order": "-1"}]})"),
            "/rules/0/min_order: must not be negative");
}

TEST(ProgramJsonTest, RefusesUnknownMembers) {
  EXPECT_EQ(
      ErrorOf(
          R"({"rules": [{"id": "a", "kind": "spend", "points_per_unit": 1, "colour": "red"}]})"),
      "/rules/0/colour: is not a member here (id, kind, points_per_unit, min_order, event, points, "
      "cap, "
      "segment, starts_at, ends_at)");
  EXPECT_EQ(PointerOf(R"({"colour": "red"})"), "/colour");
  EXPECT_EQ(PointerOf(R"({"tier_windows_days": 30})"), "/tier_windows_days");
  EXPECT_EQ(
      PointerOf(
          R"({"rules": [{"id": "a", "points_per_unit": 1, "cap": {"points": 1, "per": "day"}}]})"),
      "/rules/0/cap/per");
  EXPECT_EQ(PointerOf(R"({"multipliers": [{"id": "m", "factor": 2, "tiers": ["gold"]}]})"),
            "/multipliers/0/tiers");
  EXPECT_EQ(PointerOf(R"({"tiers": [{"name": "a", "threshold": 0, "color": "red"}]})"),
            "/tiers/0/color");
  EXPECT_EQ(PointerOf(R"({"referral": {"referrer_points": 1, "bonus": 2}})"), "/referral/bonus");
}

TEST(ProgramJsonTest, RefusesWrongTypes) {
  EXPECT_EQ(ErrorOf("[]"), "/: must be a JSON object");
  EXPECT_EQ(ErrorOf(R"({"name": 5})"), "/name: must be a string");
  EXPECT_EQ(ErrorOf(R"({"rules": {}})"), "/rules: must be an array");
  EXPECT_EQ(ErrorOf(R"({"rules": ["spend"]})"), "/rules/0: must be a JSON object");
  EXPECT_EQ(ErrorOf(R"({"tiers": [{"name": "a", "threshold": "0"}]})"),
            "/tiers/0/threshold: must be a whole number");
  EXPECT_EQ(ErrorOf(R"({"tiers": [{"name": "a", "threshold": 0.5}]})"),
            "/tiers/0/threshold: must be a whole number");
  EXPECT_EQ(ErrorOf(R"({"expiry_days": 1.5})"), "/expiry_days: must be a whole number");
  EXPECT_EQ(ErrorOf(R"({"hold_minutes": null})"), "/hold_minutes: must be a whole number");
  EXPECT_EQ(ErrorOf(R"({"expiry_days": 10000000000})"), "/expiry_days: is out of range");
  EXPECT_EQ(ErrorOf(R"({"referral": {"referee_points": 18446744073709551615}})"),
            "/referral/referee_points: is out of range");
  EXPECT_EQ(PointerOf(R"({"rules": [{"id": "e", "kind": "event", "event": "E", "points": "50"}]})"),
            "/rules/0/points");
  EXPECT_EQ(PointerOf(R"({"rules": [{"id": 7, "points_per_unit": 1}]})"), "/rules/0/id");
  EXPECT_EQ(PointerOf(R"({"rules": [{"id": "s", "kind": 1}]})"), "/rules/0/kind");
  EXPECT_EQ(PointerOf(R"({"rules": [{"id": "s", "points_per_unit": true}]})"),
            "/rules/0/points_per_unit");
  EXPECT_EQ(PointerOf(R"({"rules": [{"id": "s", "points_per_unit": 1, "cap": 5}]})"),
            "/rules/0/cap");
  EXPECT_EQ(PointerOf(R"({"rules": [{"id": "s", "points_per_unit": 1, "cap": {"points": "5"}}]})"),
            "/rules/0/cap/points");
  EXPECT_EQ(PointerOf(R"({"rules": [{"id": "s", "points_per_unit": 1, "segment": ["vip"]}]})"),
            "/rules/0/segment");
  EXPECT_EQ(PointerOf(R"({"multipliers": [{"id": "m", "factor": 2, "rules": "spend"}]})"),
            "/multipliers/0/rules");
  EXPECT_EQ(PointerOf(R"({"multipliers": [{"id": "m", "factor": 2, "rules": [1]}]})"),
            "/multipliers/0/rules/0");
  EXPECT_EQ(PointerOf(R"({"multipliers": [{"id": "m", "factor": null}]})"),
            "/multipliers/0/factor");
  EXPECT_EQ(PointerOf(R"({"referral": []})"), "/referral");
  EXPECT_EQ(PointerOf(R"({"starts_at": 0})"), "/starts_at");
  EXPECT_EQ(PointerOf(R"({"starts_at": null})"), "/starts_at");
}

TEST(ProgramJsonTest, RefusesBadDecimals) {
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "s", "points_per_unit": "1.2345"}]})"),
            "/rules/0/points_per_unit: '1.2345' is not a decimal >= 0 with up to 3 places");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "s", "points_per_unit": 1.2345}]})"),
            "/rules/0/points_per_unit: '1.2345' is not a decimal >= 0 with up to 3 places");
  EXPECT_EQ(
      ErrorOf(
          R"({"rules": [{"id": "s", "points_per_unit": 1}], "multipliers": [{"id": "m", "factor": "2.0005"}]})"),
      "/multipliers/0/factor: '2.0005' is not a decimal >= 0 with up to 3 places");
}

TEST(ProgramJsonTest, RefusesNegativeAndZeroRates) {
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "s", "points_per_unit": -1}]})"),
            "/rules/0/points_per_unit: '-1' is not a decimal >= 0 with up to 3 places");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "s", "points_per_unit": "-0.5"}]})"),
            "/rules/0/points_per_unit: '-0.5' is not a decimal >= 0 with up to 3 places");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "s", "points_per_unit": 0}]})"),
            "/rules/0/points_per_unit: must be more than 0 and at most 1000000");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "s"}]})"),
            "/rules/0/points_per_unit: must be more than 0 and at most 1000000");
  // So SpendPoints can't overflow, however large the order.
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "s", "points_per_unit": "1000000.001"}]})"),
            "/rules/0/points_per_unit: must be more than 0 and at most 1000000");
  EXPECT_EQ(ErrorOf(R"({"multipliers": [{"id": "m", "factor": -2}]})"),
            "/multipliers/0/factor: '-2' is not a decimal >= 0 with up to 3 places");
  EXPECT_EQ(ErrorOf(R"({"multipliers": [{"id": "m", "factor": 1}]})"),
            "/multipliers/0/factor: must be more than 1 and at most 100");
  EXPECT_EQ(ErrorOf(R"({"multipliers": [{"id": "m"}]})"),
            "/multipliers/0/factor: must be more than 1 and at most 100");
}

TEST(ProgramJsonTest, RuleKinds) {
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "e", "kind": "event", "points": 5}]})"),
            "/rules/0/event: must name an event (1 to 200 characters)");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "e", "kind": "event", "event": "E"}]})"),
            "/rules/0/points: must be between 1 and 1000000000");
  EXPECT_EQ(
      ErrorOf(
          R"({"rules": [{"id": "e", "kind": "event", "event": "E", "points": 5, "points_per_unit": 1}]})"),
      "/rules/0/points_per_unit: is for spend rules, not event rules");
  EXPECT_EQ(
      ErrorOf(
          R"({"rules": [{"id": "e", "kind": "event", "event": "E", "points": 5, "min_order": "1"}]})"),
      "/rules/0/min_order: is for spend rules, not event rules");
  EXPECT_EQ(
      ErrorOf(R"({"rules": [{"id": "s", "kind": "spend", "points_per_unit": 1, "event": "E"}]})"),
      "/rules/0/event: is for event rules, not spend rules");
  // A rule without a kind is a spend rule.
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "s", "points_per_unit": 1, "points": 5}]})"),
            "/rules/0/points: is for event rules, not spend rules");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "s", "kind": "purchase", "points_per_unit": 1}]})"),
            "/rules/0/kind: must be \"spend\" or \"event\", not 'purchase'");
  EXPECT_EQ(
      ErrorOf(
          R"({"rules": [{"id": "s", "points_per_unit": 1}, {"id": "s", "points_per_unit": 2}]})"),
      "/rules/1/id: 's' is used by another rule");
  EXPECT_EQ(PointerOf(R"({"rules": [{"id": "Spend!", "points_per_unit": 1}]})"), "/rules/0/id");
}

TEST(ProgramJsonTest, Tiers) {
  EXPECT_EQ(ErrorOf(R"({"tiers": [{"name": "a", "threshold": 0}, {"name": "b", "threshold": 100},
                                  {"name": "c", "threshold": 100}]})"),
            "/tiers/2/threshold: must be higher than the previous tier's");
  EXPECT_EQ(ErrorOf(R"({"tiers": [{"name": "a", "threshold": 0}, {"name": "b", "threshold": 100},
                                  {"name": "c", "threshold": 50}]})"),
            "/tiers/2/threshold: must be higher than the previous tier's");
  EXPECT_EQ(
      ErrorOf(R"({"tiers": [{"name": "a", "threshold": 10}, {"name": "b", "threshold": 100}]})"),
      "/tiers/0/threshold: the first tier's threshold must be 0");
  EXPECT_EQ(ErrorOf(R"({"tiers": [{"name": "a"}, {"name": "a", "threshold": 100}]})"),
            "/tiers/1/name: 'a' is used by another tier");
  EXPECT_EQ(PointerOf(R"({"tiers": [{"threshold": 0}]})"), "/tiers/0/name");
  EXPECT_EQ(ErrorOf(R"({"tiers": [{"name": "bronze"}]})"), "accepted");
}

TEST(ProgramJsonTest, MultipliersNameExistingTiersAndRules) {
  EXPECT_EQ(ErrorOf(R"({"tiers": [{"name": "bronze", "threshold": 0}],
                        "multipliers": [{"id": "m", "factor": 2, "tier": "gold"}]})"),
            "/multipliers/0/tier: no tier is named 'gold'");
  EXPECT_EQ(ErrorOf(R"({"rules": [{"id": "spend", "points_per_unit": 1}],
                        "multipliers": [{"id": "ok", "factor": 2, "rules": ["spend"]},
                                        {"id": "m", "factor": 2, "rules": ["spend", "review"]}]})"),
            "/multipliers/1/rules/1: no rule has the id 'review'");
  EXPECT_EQ(ErrorOf(R"({"multipliers": [{"id": "m", "factor": 2}, {"id": "m", "factor": 3}]})"),
            "/multipliers/1/id: 'm' is used by another multiplier");
}

TEST(ProgramJsonTest, RefusesBadPeriod) {
  EXPECT_EQ(
      ErrorOf(
          R"({"rules": [{"id": "s", "points_per_unit": 1, "cap": {"points": 5, "period": "fortnight"}}]})"),
      "/rules/0/cap/period: must be day, week, month or year, not 'fortnight'");
  EXPECT_EQ(
      ErrorOf(
          R"({"rules": [{"id": "s", "points_per_unit": 1, "cap": {"points": -5, "period": "week"}}]})"),
      "/rules/0/cap/points: must be between 0 (no cap) and 1000000000");
}

TEST(ProgramJsonTest, RefusesBadTimes) {
  EXPECT_EQ(ErrorOf(R"({"starts_at": "yesterday"})"),
            "/starts_at: 'yesterday' is not an ISO 8601 date or date-time like 2024-03-01 or "
            "2024-03-01T12:30:00Z");
  EXPECT_EQ(PointerOf(R"({"starts_at": "2026-02-30T00:00:00Z"})"), "/starts_at");
  EXPECT_EQ(
      PointerOf(
          R"({"rules": [{"id": "s", "points_per_unit": 1, "starts_at": "2026-13-01T00:00:00Z"}]})"),
      "/rules/0/starts_at");
  EXPECT_EQ(
      PointerOf(
          R"({"rules": [{"id": "s", "points_per_unit": 1, "ends_at": "2026-01-01T25:00:00Z"}]})"),
      "/rules/0/ends_at");
  EXPECT_EQ(PointerOf(R"({"multipliers": [{"id": "m", "factor": 2, "ends_at": 5}]})"),
            "/multipliers/0/ends_at");
  EXPECT_EQ(
      ErrorOf(R"({"rules": [{"id": "s", "points_per_unit": 1, "starts_at": "2026-02-01T00:00:00Z",
                                   "ends_at": "2026-02-01T00:00:00Z"}]})"),
      "/rules/0/ends_at: must be after starts_at");
  EXPECT_EQ(
      ErrorOf(R"({"multipliers": [{"id": "m", "factor": 2, "starts_at": "2026-02-01T00:00:00Z",
                                         "ends_at": "2026-01-01T00:00:00Z"}]})"),
      "/multipliers/0/ends_at: must be after starts_at");
  // Times are UTC unless they carry an offset.
  auto p = ProgramFromJson(json::parse(R"({"starts_at": "2026-01-01T01:00:00+01:00"})"), Eur());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->starts_at, At("2026-01-01T00:00:00Z"));
  p = ProgramFromJson(json::parse(R"({"starts_at": "2026-01-01T00:00:00"})"), Eur());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->starts_at, At("2026-01-01T00:00:00Z"));
}

TEST(ProgramJsonTest, DayCountsAreValidated) {
  EXPECT_EQ(ErrorOf(R"({"tier_window_days": 0})"), "/tier_window_days: must be between 1 and 3650");
  EXPECT_EQ(ErrorOf(R"({"expiry_days": -1})"), "/expiry_days: must be between 0 and 36500");
  EXPECT_EQ(ErrorOf(R"({"pending_days": 366})"), "/pending_days: must be between 0 and 365");
  EXPECT_EQ(ErrorOf(R"({"hold_minutes": 0})"), "/hold_minutes: must be between 1 and 43200");
  EXPECT_EQ(ErrorOf(R"({"referral": {"referrer_points": -1}})"),
            "/referral/referrer_points: must be between 0 and 1000000000");
  EXPECT_EQ(ErrorOf(R"({"name": ""})"), "/name: must be 1 to 100 characters");
}

}  // namespace
}  // namespace treu::loyalty
