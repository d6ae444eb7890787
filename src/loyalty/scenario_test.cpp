// Declarative ledger scenarios: test/logic/loyalty/*.json each hold a list of operations with
// their times and the hand-computed outcome after each step (see their "description").
//
// A step is {"op": ..., operation members..., "expect": {...}}. Operations and their members:
//   earn          id, customer, points, at, [expires_at], [pending_until], [reason], [source]
//   settle        earn, at              settle_due      at
//   cancel        earn, at, [reason]    expire_due      at
//   hold          id, customer, points, at, expires_at, [reason], [source]
//   confirm       hold, at              release         hold, at
//   release_expired  at
//   redeem        id, customer, points, at, [reason], [source]
//   adjust        id, customer, points (signed), at, [expires_at], [reason], [source]
//   reverse_earn  id, earn, [points], at, [reason], [source]
//   reverse_debit id, debit, [points], at, [reason], [source]
// where source is {"kind", "reference", ["admin_user_id"]}. Expectations, all optional:
//   error           "code: context: detail" of a failing step (else the step must succeed)
//   postings        the transfers the step made, in order, each compared member by member for
//                   the members given (id, kind, from, to, points, requested, shortfall,
//                   reason, replayed, consumptions as [[lot id, points], ...])
//   balances        {"<customer>": {"available", "pending", "held"}}
//   system          {"issuance", "redemption", "expiry", "adjustment"}
//   lots            {"<customer>": [{"id", "remaining", "pending", ...}, ...]}: all lots, in order
//   earned          [{"customer", "from", "to", "points"}]: LifetimeEarned
//   transfer_count  transfers in the ledger
// After every step the ledger's invariants must hold; at the end, replaying its transfers into a
// new ledger must give the same balances and lots.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "loyalty/ledger.hpp"

namespace treu::loyalty {
namespace {

using nlohmann::json;

Timestamp Time(const json& j) {
  return ParseTimestamp(j.get<std::string>(), TimeZone::Utc()).value();
}

std::optional<Timestamp> OptionalTime(const json& step, const char* key) {
  if (!step.contains(key)) return std::nullopt;
  return Time(step.at(key));
}

std::optional<std::int64_t> OptionalPoints(const json& step) {
  if (!step.contains("points")) return std::nullopt;
  return step.at("points").get<std::int64_t>();
}

CustomerId Customer(const json& step) {
  return CustomerId{step.at("customer").get<std::int64_t>()};
}

Source SourceOf(const json& step) {
  Source s{SourceKind::kOrder, "", std::nullopt};
  if (!step.contains("source")) return s;
  const json& j = step.at("source");
  s.kind = ParseSourceKind(j.at("kind").get<std::string>()).value();
  s.reference = j.value("reference", "");
  if (j.contains("admin_user_id")) s.admin_user_id = j.at("admin_user_id").get<std::int64_t>();
  return s;
}

std::string Reason(const json& step) { return step.value("reason", ""); }

Result<Posting> RunEarn(Ledger& l, const json& s) {
  return l.Earn({.id = s.at("id"),
                 .customer = Customer(s),
                 .points = s.at("points"),
                 .at = Time(s.at("at")),
                 .expires_at = OptionalTime(s, "expires_at"),
                 .pending_until = OptionalTime(s, "pending_until"),
                 .reason = Reason(s),
                 .source = SourceOf(s)});
}

Result<Posting> RunHold(Ledger& l, const json& s) {
  return l.Hold({.id = s.at("id"),
                 .customer = Customer(s),
                 .points = s.at("points"),
                 .at = Time(s.at("at")),
                 .expires_at = Time(s.at("expires_at")),
                 .reason = Reason(s),
                 .source = SourceOf(s)});
}

Result<Posting> RunRedeem(Ledger& l, const json& s) {
  return l.Redeem({.id = s.at("id"),
                   .customer = Customer(s),
                   .points = s.at("points"),
                   .at = Time(s.at("at")),
                   .reason = Reason(s),
                   .source = SourceOf(s)});
}

Result<Posting> RunAdjust(Ledger& l, const json& s) {
  return l.Adjust({.id = s.at("id"),
                   .customer = Customer(s),
                   .points = s.at("points"),
                   .at = Time(s.at("at")),
                   .expires_at = OptionalTime(s, "expires_at"),
                   .reason = Reason(s),
                   .source = SourceOf(s)});
}

Result<Posting> RunReverseEarn(Ledger& l, const json& s) {
  return l.ReverseEarn({.id = s.at("id"),
                        .earn_id = s.at("earn"),
                        .points = OptionalPoints(s),
                        .at = Time(s.at("at")),
                        .reason = Reason(s),
                        .source = SourceOf(s)});
}

Result<Posting> RunReverseDebit(Ledger& l, const json& s) {
  return l.ReverseDebit({.id = s.at("id"),
                         .debit_id = s.at("debit"),
                         .points = OptionalPoints(s),
                         .at = Time(s.at("at")),
                         .reason = Reason(s),
                         .source = SourceOf(s)});
}

Result<std::vector<Posting>> One(Result<Posting> r) {
  if (!r) return std::unexpected(r.error());
  return std::vector<Posting>{std::move(*r)};
}

// Runs one step's operation; the postings it made (or replayed).
Result<std::vector<Posting>> RunOperation(Ledger& l, const json& s) {
  const std::string op = s.at("op");
  if (op == "earn") return One(RunEarn(l, s));
  if (op == "settle") return One(l.Settle(s.at("earn").get<std::string>(), Time(s.at("at"))));
  if (op == "settle_due") return l.SettleDue(Time(s.at("at")));
  if (op == "cancel") {
    return One(l.Cancel(s.at("earn").get<std::string>(), Time(s.at("at")), Reason(s)));
  }
  if (op == "hold") return One(RunHold(l, s));
  if (op == "confirm") return One(l.Confirm(s.at("hold").get<std::string>(), Time(s.at("at"))));
  if (op == "release") return One(l.Release(s.at("hold").get<std::string>(), Time(s.at("at"))));
  if (op == "release_expired") return l.ReleaseExpiredHolds(Time(s.at("at")));
  if (op == "redeem") return One(RunRedeem(l, s));
  if (op == "adjust") return One(RunAdjust(l, s));
  if (op == "reverse_earn") return One(RunReverseEarn(l, s));
  if (op == "reverse_debit") return One(RunReverseDebit(l, s));
  if (op == "expire_due") return l.ExpireDue(Time(s.at("at")));
  ADD_FAILURE() << "unknown op " << op;
  return Internal("scenario", "unknown op " + op);
}

json PostingJson(const Posting& p) {
  json consumptions = json::array();
  for (const LotConsumption& c : p.consumptions) consumptions.push_back({c.lot_id, c.points});
  const Transfer& t = p.transfer;
  return {{"id", t.id},
          {"kind", TransferKindName(t.kind)},
          {"from", t.from.ToString()},
          {"to", t.to.ToString()},
          {"points", t.points},
          {"requested", t.requested},
          {"shortfall", Shortfall(t)},
          {"reason", t.reason},
          {"at", FormatTimestamp(t.at)},
          {"replayed", p.replayed},
          {"consumptions", consumptions}};
}

json LotJson(const Lot& lot) {
  json j = {{"id", lot.id},
            {"points", lot.points},
            {"remaining", lot.remaining},
            {"pending", lot.pending}};
  j["expires_at"] = lot.expires_at ? json(FormatTimestamp(*lot.expires_at)) : json(nullptr);
  return j;
}

json BalanceJson(const Balance& b) {
  return {{"available", b.available}, {"pending", b.pending}, {"held", b.held}};
}

json SystemJson(const Ledger& l) {
  return {{"issuance", l.AccountBalance(Account::Issuance())},
          {"redemption", l.AccountBalance(Account::Redemption())},
          {"expiry", l.AccountBalance(Account::Expiry())},
          {"adjustment", l.AccountBalance(Account::Adjustment())}};
}

// Every key of `expected` must be in `actual` with the same value; arrays must match in length.
void ExpectSubset(const json& expected, const json& actual, const std::string& where) {
  if (expected.is_object()) {
    ASSERT_TRUE(actual.is_object()) << where << ": " << actual.dump();
    for (const auto& [k, v] : expected.items()) {
      ASSERT_TRUE(actual.contains(k)) << where << ": no '" << k << "' in " << actual.dump();
      ExpectSubset(v, actual.at(k), where + "/" + k);
    }
  } else if (expected.is_array()) {
    ASSERT_TRUE(actual.is_array() && actual.size() == expected.size())
        << where << ": " << actual.dump();
    for (std::size_t i = 0; i < expected.size(); ++i) {
      ExpectSubset(expected[i], actual[i], where + "/" + std::to_string(i));
    }
  } else {
    EXPECT_EQ(expected, actual) << where;
  }
}

void CheckState(const Ledger& l, const json& expect, const std::string& where) {
  const json balances = expect.value("balances", json::object());
  for (const auto& [customer, balance] : balances.items()) {
    ExpectSubset(balance, BalanceJson(l.BalanceOf(CustomerId{std::stoll(customer)})),
                 where + " balances/" + customer);
  }
  if (expect.contains("system")) {
    ExpectSubset(expect.at("system"), SystemJson(l), where + " system");
  }
  const json all_lots = expect.value("lots", json::object());
  for (const auto& [customer, lots] : all_lots.items()) {
    json actual = json::array();
    const std::vector<Lot> all = l.Lots(CustomerId{std::stoll(customer)});
    for (const Lot& lot : all) actual.push_back(LotJson(lot));
    ExpectSubset(lots, actual, where + " lots/" + customer);
  }
  const json earned = expect.value("earned", json::array());
  for (const json& e : earned) {
    EXPECT_EQ(l.LifetimeEarned(Customer(e), Time(e.at("from")), Time(e.at("to"))),
              e.at("points").get<std::int64_t>())
        << where << " earned " << e.dump();
  }
  if (expect.contains("transfer_count")) {
    EXPECT_EQ(l.transfers().size(), expect.at("transfer_count").get<std::size_t>())
        << where << " transfer_count";
  }
}

void RunStep(Ledger& l, const json& step, const std::string& where) {
  const json expect = step.value("expect", json::object());
  auto result = RunOperation(l, step);
  if (expect.contains("error")) {
    ASSERT_FALSE(result.has_value()) << where << ": expected an error";
    EXPECT_EQ(std::string(ErrorCodeName(result.error().code())) + ": " + result.error().ToString(),
              expect.at("error").get<std::string>())
        << where;
  } else {
    ASSERT_TRUE(result.has_value()) << where << ": " << result.error().ToString();
    if (expect.contains("postings")) {
      json actual = json::array();
      for (const Posting& p : *result) actual.push_back(PostingJson(p));
      ExpectSubset(expect.at("postings"), actual, where + " postings");
    }
  }
  CheckState(l, expect, where);
  const Status invariants = l.CheckInvariants();
  EXPECT_TRUE(invariants.has_value()) << where << ": " << invariants.error().ToString();
}

void ExpectSameState(const Ledger& a, const Ledger& b, const std::string& where) {
  EXPECT_EQ(a.balances(), b.balances()) << where;
  for (const Transfer& t : a.transfers()) {
    const CustomerId c = t.from.is_customer() ? t.from.customer : t.to.customer;
    EXPECT_EQ(a.Lots(c), b.Lots(c)) << where << " lots of customer " << c.value;
    EXPECT_EQ(a.Holds(c), b.Holds(c)) << where << " holds of customer " << c.value;
  }
}

void RunScenario(const std::filesystem::path& file) {
  std::ifstream in(file);
  const json doc = json::parse(in);
  EXPECT_FALSE(doc.value("description", "").empty()) << file;
  Ledger ledger;
  int n = 0;
  for (const json& step : doc.at("steps")) {
    const std::string where =
        file.filename().string() + " step " + std::to_string(n++) + " " + step.value("op", "?");
    RunStep(ledger, step, where);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(n, 0) << file;
  Ledger rebuilt;
  const std::vector<Transfer> stored(ledger.transfers().begin(), ledger.transfers().end());
  for (const Transfer& t : stored) {
    ASSERT_TRUE(rebuilt.Apply(t).has_value()) << file << " replay of " << t.id;
  }
  ExpectSameState(ledger, rebuilt, file.filename().string() + " replayed");
}

TEST(LoyaltyScenarios, EveryScenarioHolds) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(TREU_LOYALTY_SCENARIOS)) {
    if (entry.path().extension() != ".json") continue;
    SCOPED_TRACE(entry.path().filename().string());
    RunScenario(entry.path());
    ++files;
  }
  EXPECT_GE(files, 3);
}

}  // namespace
}  // namespace treu::loyalty
