#include "loyalty/ledger.hpp"

#include <gtest/gtest.h>

namespace treu::loyalty {
namespace {

constexpr CustomerId kAda{1};
constexpr CustomerId kBob{2};

Timestamp Day(std::int64_t d) { return Timestamp{d * kMicrosPerDay}; }

EarnRequest EarnOf(std::string id, CustomerId c, std::int64_t points, std::int64_t day,
                   std::optional<std::int64_t> expires_day = std::nullopt,
                   std::optional<std::int64_t> pending_day = std::nullopt) {
  EarnRequest r;
  r.id = std::move(id);
  r.customer = c;
  r.points = points;
  r.at = Day(day);
  if (expires_day) r.expires_at = Day(*expires_day);
  if (pending_day) r.pending_until = Day(*pending_day);
  r.reason = "order";
  r.source = {SourceKind::kOrder, r.id, std::nullopt};
  return r;
}

HoldRequest HoldOf(std::string id, CustomerId c, std::int64_t points, std::int64_t day,
                   std::int64_t expires_day) {
  return {.id = std::move(id),
          .customer = c,
          .points = points,
          .at = Day(day),
          .expires_at = Day(expires_day),
          .reason = "reward",
          .source = {SourceKind::kRedemption, "reward-1", std::nullopt}};
}

RedeemRequest RedeemOf(std::string id, CustomerId c, std::int64_t points, std::int64_t day) {
  return {.id = std::move(id),
          .customer = c,
          .points = points,
          .at = Day(day),
          .reason = "reward",
          .source = {SourceKind::kRedemption, "reward-1", std::nullopt}};
}

AdjustRequest AdjustOf(std::string id, CustomerId c, std::int64_t points, std::int64_t day) {
  return {.id = std::move(id),
          .customer = c,
          .points = points,
          .at = Day(day),
          .expires_at = std::nullopt,
          .reason = "goodwill",
          .source = {SourceKind::kAdmin, "ticket-7", 99}};
}

ReverseEarnRequest ReverseOf(std::string id, std::string earn_id,
                             std::optional<std::int64_t> points, std::int64_t day) {
  return {.id = std::move(id),
          .earn_id = std::move(earn_id),
          .points = points,
          .at = Day(day),
          .reason = "refund",
          .source = {SourceKind::kRefund, "r-1", std::nullopt}};
}

ReverseDebitRequest ReverseDebitOf(std::string id, std::string debit_id,
                                   std::optional<std::int64_t> points, std::int64_t day) {
  return {.id = std::move(id),
          .debit_id = std::move(debit_id),
          .points = points,
          .at = Day(day),
          .reason = "reward refunded",
          .source = {SourceKind::kRefund, "r-2", std::nullopt}};
}

// "code: context: detail" of a failed result.
template <typename T>
std::string ErrorOf(const Result<T>& r) {
  if (r.has_value()) return "ok";
  return std::string(ErrorCodeName(r.error().code())) + ": " + r.error().ToString();
}

std::vector<std::pair<std::string, std::int64_t>> Taken(const Posting& p) {
  std::vector<std::pair<std::string, std::int64_t>> taken;
  for (const LotConsumption& c : p.consumptions) taken.emplace_back(c.lot_id, c.points);
  return taken;
}

std::int64_t Remaining(const Ledger& l, std::string_view lot_id) {
  return l.FindLot(lot_id).value().remaining;
}

class LedgerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    const Status s = ledger_.CheckInvariants();
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
  }

  Ledger ledger_;
};

using P = std::vector<std::pair<std::string, std::int64_t>>;

// ---- Earn, idempotency ----

TEST_F(LedgerTest, EarnCreditsTheWalletAndCreatesALot) {
  auto p = ledger_.Earn(EarnOf("order:o-1:earn", kAda, 100, 1, 366));
  ASSERT_TRUE(p.has_value()) << ErrorOf(p);
  EXPECT_FALSE(p->replayed);
  EXPECT_EQ(p->transfer.from, Account::Issuance());
  EXPECT_EQ(p->transfer.to, Account::Wallet(kAda));
  ASSERT_TRUE(p->lot.has_value());
  EXPECT_EQ(p->lot->id, "order:o-1:earn");
  EXPECT_EQ(p->lot->remaining, 100);
  EXPECT_EQ(p->lot->expires_at, Day(366));
  EXPECT_TRUE(p->consumptions.empty());
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{100, 0, 0}));
  EXPECT_EQ(ledger_.AccountBalance(Account::Issuance()), -100);
}

TEST_F(LedgerTest, SameEarnAgainIsAReplayThatChangesNothing) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("order:o-1:earn", kAda, 100, 1)));
  auto again = ledger_.Earn(EarnOf("order:o-1:earn", kAda, 100, 1));
  ASSERT_TRUE(again.has_value()) << ErrorOf(again);
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->transfer.points, 100);
  EXPECT_EQ(ledger_.transfers().size(), 1u);
  EXPECT_EQ(ledger_.BalanceOf(kAda).available, 100);
}

TEST_F(LedgerTest, SameIdWithOtherContentIsAlreadyExists) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("order:o-1:earn", kAda, 100, 1)));
  EXPECT_EQ(ErrorOf(ledger_.Earn(EarnOf("order:o-1:earn", kAda, 120, 1))),
            "already_exists: transfer order:o-1:earn: already applied with different content: "
            "points differs "
            "(stored 100, given 120)");
  EXPECT_EQ(
      ErrorOf(ledger_.Earn(EarnOf("order:o-1:earn", kBob, 100, 1))),
      "already_exists: transfer order:o-1:earn: already applied with different content: to differs "
      "(stored wallet:1, given wallet:2)");
  EXPECT_EQ(ErrorOf(ledger_.Redeem(RedeemOf("order:o-1:earn", kAda, 10, 2))),
            "already_exists: transfer order:o-1:earn: already applied with different content: kind "
            "differs "
            "(stored earn, given redeem)");
  EXPECT_EQ(ledger_.transfers().size(), 1u);
  EXPECT_EQ(ledger_.BalanceOf(kAda).available, 100);
}

TEST_F(LedgerTest, EarnRejectsMalformedRequests) {
  EXPECT_EQ(ErrorOf(ledger_.Earn(EarnOf("", kAda, 1, 1))),
            "invalid_argument: transfer : id must have 1 to 200 bytes");
  EXPECT_EQ(ErrorOf(ledger_.Earn(EarnOf("a b", kAda, 1, 1))),
            "invalid_argument: transfer a b: id must be printable ASCII without spaces or '/'");
  EXPECT_EQ(ErrorOf(ledger_.Earn(EarnOf("a/b", kAda, 1, 1))),
            "invalid_argument: transfer a/b: id must be printable ASCII without spaces or '/'");
  EXPECT_EQ(ErrorOf(ledger_.Earn(EarnOf("expire:x", kAda, 1, 1))),
            "invalid_argument: transfer expire:x: id prefix 'expire:' is reserved");
  EXPECT_EQ(ErrorOf(ledger_.Earn(EarnOf("e", kAda, 0, 1))),
            "invalid_argument: transfer e: points must be between 1 and 1000000000000");
  EXPECT_EQ(ErrorOf(ledger_.Earn(EarnOf("e", CustomerId{0}, 5, 1))),
            "invalid_argument: transfer e: account wallet:0 has a bad customer id");
  EXPECT_EQ(ErrorOf(ledger_.Earn(EarnOf("e", kAda, 5, 10, 10))),
            "invalid_argument: transfer e: expires_at must be after at");
  EXPECT_EQ(ErrorOf(ledger_.Earn(EarnOf("e", kAda, 5, 10, std::nullopt, 9))),
            "invalid_argument: transfer e: pending_until must be after at");
  EXPECT_TRUE(ledger_.transfers().empty());
}

// ---- Spending order ----

TEST_F(LedgerTest, SpendingTakesTheOldestExpiringLotsFirst) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 100, 1, 300)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("never", kAda, 100, 2)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("b", kAda, 100, 3, 100)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("c", kAda, 100, 4, 100)));  // same expiry as b, created later
  auto p = ledger_.Redeem(RedeemOf("redeem-1", kAda, 250, 5));
  ASSERT_TRUE(p.has_value()) << ErrorOf(p);
  EXPECT_EQ(Taken(*p), (P{{"b", 100}, {"c", 100}, {"a", 50}}));
  auto q = ledger_.Redeem(RedeemOf("redeem-2", kAda, 100, 6));
  ASSERT_TRUE(q.has_value()) << ErrorOf(q);
  EXPECT_EQ(Taken(*q), (P{{"a", 50}, {"never", 50}}));
  EXPECT_EQ(ledger_.BalanceOf(kAda).available, 50);
  EXPECT_EQ(ledger_.AccountBalance(Account::Redemption()), 350);
}

TEST_F(LedgerTest, SpendingMoreThanAvailableFails) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 50, 1)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("p", kAda, 500, 1, std::nullopt, 30)));  // pending: not spendable
  EXPECT_EQ(ErrorOf(ledger_.Redeem(RedeemOf("r", kAda, 60, 2))),
            "failed_precondition: customer 1: insufficient points: available 50, asked 60");
  EXPECT_EQ(ErrorOf(ledger_.Redeem(RedeemOf("r", kBob, 1, 2))),
            "failed_precondition: customer 2: insufficient points: available 0, asked 1");
  EXPECT_EQ(ledger_.transfers().size(), 2u);
}

// ---- Expiry ----

TEST_F(LedgerTest, ExpireDueMovesEachDueLotsRemainderInItsOwnTransfer) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 100, 1, 10)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("b", kAda, 40, 2, 20)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("c", kBob, 70, 3, 10)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("d", kBob, 5, 3)));
  ASSERT_TRUE(ledger_.Redeem(RedeemOf("r", kAda, 30, 4)));  // from a
  auto none = ledger_.ExpireDue(Day(9));
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  auto due = ledger_.ExpireDue(Day(10));
  ASSERT_TRUE(due.has_value()) << ErrorOf(due);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].transfer.id, "expire:a");
  EXPECT_EQ((*due)[0].transfer.points, 70);
  EXPECT_EQ((*due)[0].transfer.from, Account::Wallet(kAda));
  EXPECT_EQ((*due)[0].transfer.to, Account::Expiry());
  EXPECT_EQ((*due)[0].transfer.at, Day(10));
  EXPECT_EQ((*due)[1].transfer.id, "expire:c");
  EXPECT_EQ((*due)[1].transfer.points, 70);
  EXPECT_EQ(ledger_.BalanceOf(kAda).available, 40);
  EXPECT_EQ(ledger_.BalanceOf(kBob).available, 5);
  EXPECT_EQ(ledger_.AccountBalance(Account::Expiry()), 140);
  auto again = ledger_.ExpireDue(Day(15));
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->empty());
}

TEST_F(LedgerTest, PendingLotsExpireOnlyOnceSettled) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("p", kAda, 100, 1, 10, 20)));
  auto before = ledger_.ExpireDue(Day(15));
  ASSERT_TRUE(before.has_value());
  EXPECT_TRUE(before->empty());
  ASSERT_TRUE(ledger_.Settle("p", Day(20)));
  auto after = ledger_.ExpireDue(Day(20));
  ASSERT_TRUE(after.has_value());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].transfer.id, "expire:p");
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{0, 0, 0}));
}

TEST_F(LedgerTest, ApplyRejectsAnExpiryBeforeTheLotExpires) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 100, 1, 10)));
  Transfer t{.id = "expire:a",
             .kind = TransferKind::kExpire,
             .from = Account::Wallet(kAda),
             .to = Account::Expiry(),
             .points = 100,
             .reason = "points expired",
             .source = {SourceKind::kExpiry, "a", std::nullopt},
             .at = Day(9),
             .refers_to = "a"};
  EXPECT_EQ(ErrorOf(ledger_.Apply(t)),
            "failed_precondition: lot a: does not expire by 1970-01-10T00:00:00Z");
}

// ---- Pending ----

TEST_F(LedgerTest, PendingPointsAreNotAvailableUntilSettled) {
  auto p = ledger_.Earn(EarnOf("order:o-1:earn", kAda, 100, 1, std::nullopt, 15));
  ASSERT_TRUE(p.has_value()) << ErrorOf(p);
  EXPECT_EQ(p->transfer.to, Account::Pending(kAda));
  EXPECT_TRUE(p->lot->pending);
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{0, 100, 0}));
  EXPECT_EQ(ErrorOf(ledger_.Hold(HoldOf("h", kAda, 1, 2, 3))),
            "failed_precondition: customer 1: insufficient points: available 0, asked 1");
  auto s = ledger_.Settle("order:o-1:earn", Day(15));
  ASSERT_TRUE(s.has_value()) << ErrorOf(s);
  EXPECT_EQ(s->transfer.id, "settle:order:o-1:earn");
  EXPECT_EQ(s->transfer.from, Account::Pending(kAda));
  EXPECT_EQ(s->transfer.to, Account::Wallet(kAda));
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{100, 0, 0}));
  EXPECT_FALSE(ledger_.FindLot("order:o-1:earn")->pending);
  auto again = ledger_.Settle("order:o-1:earn", Day(16));
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->transfer.at, Day(15));
  EXPECT_EQ(ErrorOf(ledger_.Cancel("order:o-1:earn", Day(16), "returned")),
            "failed_precondition: earn order:o-1:earn: is settled; reverse it instead");
}

TEST_F(LedgerTest, SettleDueSettlesLotsWhosePendingTimeHasCome) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("p1", kAda, 10, 1, std::nullopt, 15)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("p2", kAda, 20, 1, std::nullopt, 30)));
  auto s = ledger_.SettleDue(Day(15));
  ASSERT_TRUE(s.has_value()) << ErrorOf(s);
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].transfer.id, "settle:p1");
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{10, 20, 0}));
}

TEST_F(LedgerTest, CancelReturnsPendingPointsToIssuance) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("p", kAda, 100, 1, std::nullopt, 15)));
  auto c = ledger_.Cancel("p", Day(5), "order returned");
  ASSERT_TRUE(c.has_value()) << ErrorOf(c);
  EXPECT_EQ(c->transfer.id, "cancel:p");
  EXPECT_EQ(c->transfer.to, Account::Issuance());
  EXPECT_EQ(c->transfer.reason, "order returned");
  EXPECT_EQ(Taken(*c), (P{{"p", 100}}));
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{0, 0, 0}));
  EXPECT_EQ(ledger_.AccountBalance(Account::Issuance()), 0);
  EXPECT_TRUE(ledger_.Cancel("p", Day(6), "again")->replayed);
  EXPECT_EQ(ErrorOf(ledger_.Settle("p", Day(15))), "failed_precondition: earn p: was cancelled");
  EXPECT_EQ(ErrorOf(ledger_.Settle("nope", Day(15))), "not_found: earn nope: no such earn");
  EXPECT_EQ(ErrorOf(ledger_.ReverseEarn(ReverseOf("refund", "p", std::nullopt, 6))),
            "failed_precondition: earn p: nothing left to reverse");
}

TEST_F(LedgerTest, ReversingAPendingEarnTakesOnlyFromItsPendingLot) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 50, 1)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("p", kAda, 100, 1, std::nullopt, 15)));
  auto r = ledger_.ReverseEarn(ReverseOf("refund-1", "p", 30, 2));
  ASSERT_TRUE(r.has_value()) << ErrorOf(r);
  EXPECT_EQ(r->transfer.from, Account::Pending(kAda));
  EXPECT_EQ(Taken(*r), (P{{"p", 30}}));
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{50, 70, 0}));
  auto s = ledger_.Settle("p", Day(15));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->transfer.points, 70);
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{120, 0, 0}));
}

// ---- Holds ----

TEST_F(LedgerTest, ConfirmSpendsAHold) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 100, 1)));
  auto h = ledger_.Hold(HoldOf("redemption:r-1", kAda, 60, 2, 3));
  ASSERT_TRUE(h.has_value()) << ErrorOf(h);
  EXPECT_EQ(Taken(*h), (P{{"a", 60}}));
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{40, 0, 60}));
  auto c = ledger_.Confirm("redemption:r-1", Day(2));
  ASSERT_TRUE(c.has_value()) << ErrorOf(c);
  EXPECT_EQ(c->transfer.id, "confirm:redemption:r-1");
  EXPECT_EQ(c->transfer.to, Account::Redemption());
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{40, 0, 0}));
  EXPECT_EQ(ledger_.AccountBalance(Account::Redemption()), 60);
  EXPECT_EQ(ledger_.FindHold("redemption:r-1")->state, HoldState::kConfirmed);
  EXPECT_TRUE(ledger_.Confirm("redemption:r-1", Day(2))->replayed);
  EXPECT_EQ(ErrorOf(ledger_.Release("redemption:r-1", Day(2))),
            "failed_precondition: hold redemption:r-1: was confirmed");
  EXPECT_EQ(ErrorOf(ledger_.Confirm("nope", Day(2))), "not_found: hold nope: no such hold");
}

TEST_F(LedgerTest, ReleaseGivesPointsBackToTheLotsTheyCameFrom) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 30, 1, 100)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("b", kAda, 50, 1, 200)));
  auto h = ledger_.Hold(HoldOf("h", kAda, 60, 2, 3));
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(Taken(*h), (P{{"a", 30}, {"b", 30}}));
  auto r = ledger_.Release("h", Day(2));
  ASSERT_TRUE(r.has_value()) << ErrorOf(r);
  EXPECT_EQ(r->transfer.to, Account::Wallet(kAda));
  EXPECT_EQ(Taken(*r), (P{{"a", -30}, {"b", -30}}));
  EXPECT_EQ(Remaining(ledger_, "a"), 30);
  EXPECT_EQ(Remaining(ledger_, "b"), 50);
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{80, 0, 0}));
  EXPECT_EQ(ErrorOf(ledger_.Confirm("h", Day(2))), "failed_precondition: hold h: was released");
}

TEST_F(LedgerTest, HoldNeedsEnoughAvailablePoints) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 100, 1)));
  ASSERT_TRUE(ledger_.Hold(HoldOf("h1", kAda, 70, 2, 3)));
  EXPECT_EQ(ErrorOf(ledger_.Hold(HoldOf("h2", kAda, 40, 2, 3))),
            "failed_precondition: customer 1: insufficient points: available 30, asked 40");
  EXPECT_EQ(ErrorOf(ledger_.Hold(HoldOf("h3", kAda, 10, 2, 2))),
            "invalid_argument: transfer h3: expires_at must be after at");
}

TEST_F(LedgerTest, HoldsTimeOut) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 100, 1)));
  ASSERT_TRUE(ledger_.Hold(HoldOf("h1", kAda, 10, 2, 3)));
  ASSERT_TRUE(ledger_.Hold(HoldOf("h2", kAda, 20, 2, 5)));
  EXPECT_EQ(ErrorOf(ledger_.Confirm("h1", Day(3))),
            "failed_precondition: hold h1: expired at 1970-01-04T00:00:00Z");
  auto released = ledger_.ReleaseExpiredHolds(Day(4));
  ASSERT_TRUE(released.has_value()) << ErrorOf(released);
  ASSERT_EQ(released->size(), 1u);
  EXPECT_EQ((*released)[0].transfer.id, "release:h1");
  EXPECT_EQ((*released)[0].transfer.reason, "hold expired");
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{80, 0, 20}));
  EXPECT_TRUE(ledger_.Release("h1", Day(4))->replayed);
  EXPECT_TRUE(ledger_.Confirm("h2", Day(4)).has_value());
  EXPECT_TRUE(ledger_.ReleaseExpiredHolds(Day(10))->empty());
}

TEST_F(LedgerTest, HeldPointsDoNotExpireButExpireWhenReleasedLate) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 100, 1, 10)));
  ASSERT_TRUE(ledger_.Hold(HoldOf("h", kAda, 60, 5, 20)));
  auto first = ledger_.ExpireDue(Day(10));
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].transfer.points, 40);
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{0, 0, 60}));
  ASSERT_TRUE(ledger_.Release("h", Day(12)));
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{60, 0, 0}));
  auto second = ledger_.ExpireDue(Day(12));
  ASSERT_TRUE(second.has_value()) << ErrorOf(second);
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].transfer.id, "expire:a/2");
  EXPECT_EQ((*second)[0].transfer.points, 60);
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{0, 0, 0}));
}

// ---- Refunds ----

TEST_F(LedgerTest, ReverseEarnTakesFromItsOwnLotFirst) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 100, 1, 10)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("b", kAda, 100, 2, 50)));
  auto r = ledger_.ReverseEarn(ReverseOf("order:b:refund:1", "b", 40, 3));
  ASSERT_TRUE(r.has_value()) << ErrorOf(r);
  EXPECT_EQ(r->transfer.to, Account::Issuance());
  EXPECT_EQ(r->transfer.requested, 40);
  EXPECT_EQ(Shortfall(r->transfer), 0);
  EXPECT_EQ(Taken(*r), (P{{"b", 40}}));
  auto all = ledger_.ReverseEarn(ReverseOf("order:b:refund:2", "b", std::nullopt, 3));
  ASSERT_TRUE(all.has_value()) << ErrorOf(all);
  EXPECT_EQ(all->transfer.points, 60);
  EXPECT_EQ(ledger_.BalanceOf(kAda).available, 100);
  EXPECT_EQ(Remaining(ledger_, "a"), 100);
  EXPECT_EQ(ErrorOf(ledger_.ReverseEarn(ReverseOf("order:b:refund:3", "b", 1, 3))),
            "failed_precondition: earn b: nothing left to reverse");
  EXPECT_EQ(ErrorOf(ledger_.ReverseEarn(ReverseOf("order:a:refund:1", "a", 101, 3))),
            "failed_precondition: earn a: asked to reverse 101 points, only 100 left to reverse");
  EXPECT_EQ(ErrorOf(ledger_.ReverseEarn(ReverseOf("order:x:refund", "x", 1, 3))),
            "not_found: earn x: no such earn");
  EXPECT_EQ(ErrorOf(ledger_.ReverseEarn(ReverseOf("order:a:refund:1", "a", 0, 3))),
            "invalid_argument: transfer order:a:refund:1: points must be positive");
}

TEST_F(LedgerTest, ReverseEarnAfterPartialSpendTakesWhatIsLeftAndReportsTheShortfall) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 100, 1, 10)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("b", kAda, 50, 2, 20)));
  ASSERT_TRUE(ledger_.Redeem(RedeemOf("spend", kAda, 80, 3)));  // a: 20 left, b: 50
  ASSERT_TRUE(ledger_.Hold(HoldOf("h", kAda, 10, 3, 9)));       // a: 10 left
  auto r = ledger_.ReverseEarn(ReverseOf("order:a:refund", "a", std::nullopt, 4));
  ASSERT_TRUE(r.has_value()) << ErrorOf(r);
  EXPECT_EQ(r->transfer.requested, 100);
  EXPECT_EQ(r->transfer.points, 60);
  EXPECT_EQ(Shortfall(r->transfer), 40);
  EXPECT_EQ(Taken(*r), (P{{"a", 10}, {"b", 50}}));
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{0, 0, 10}));  // the hold is untouched
  // Nothing written off: once the customer has points again, the rest can be reversed.
  EXPECT_EQ(ErrorOf(ledger_.ReverseEarn(ReverseOf("order:a:refund:2", "a", std::nullopt, 5))),
            "failed_precondition: customer 1: insufficient points: available 0, asked 40");
  ASSERT_TRUE(ledger_.Earn(EarnOf("c", kAda, 25, 6)));
  auto more = ledger_.ReverseEarn(ReverseOf("order:a:refund:2", "a", std::nullopt, 6));
  ASSERT_TRUE(more.has_value()) << ErrorOf(more);
  EXPECT_EQ(more->transfer.requested, 40);
  EXPECT_EQ(more->transfer.points, 25);
  EXPECT_EQ(Taken(*more), (P{{"c", 25}}));
  EXPECT_EQ(ledger_.AccountBalance(Account::Issuance()), -175 + 85);
}

TEST_F(LedgerTest, ReverseEarnRetryIsAReplay) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 100, 1)));
  ASSERT_TRUE(ledger_.Redeem(RedeemOf("spend", kAda, 70, 2)));
  auto r = ledger_.ReverseEarn(ReverseOf("refund", "a", std::nullopt, 3));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->transfer.points, 30);
  auto again = ledger_.ReverseEarn(ReverseOf("refund", "a", std::nullopt, 3));
  ASSERT_TRUE(again.has_value()) << ErrorOf(again);
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->transfer, r->transfer);
  EXPECT_TRUE(ledger_.ReverseEarn(ReverseOf("refund", "a", 100, 3))->replayed);
  EXPECT_EQ(ErrorOf(ledger_.ReverseEarn(ReverseOf("refund", "a", 50, 3))),
            "already_exists: transfer refund: already applied with different content: requested "
            "points differs "
            "(stored 100, given 50)");
  EXPECT_EQ(ledger_.transfers().size(), 3u);
}

// ---- Adjustments ----

TEST_F(LedgerTest, AdjustmentsCreditAndDebit) {
  AdjustRequest credit = AdjustOf("admin:ticket-7:credit", kAda, 50, 1);
  credit.expires_at = Day(100);
  auto c = ledger_.Adjust(credit);
  ASSERT_TRUE(c.has_value()) << ErrorOf(c);
  EXPECT_EQ(c->transfer.kind, TransferKind::kAdjustCredit);
  EXPECT_EQ(c->transfer.from, Account::Adjustment());
  EXPECT_EQ(c->transfer.source.admin_user_id, 99);
  ASSERT_TRUE(c->lot.has_value());
  EXPECT_EQ(c->lot->expires_at, Day(100));
  auto d = ledger_.Adjust(AdjustOf("admin:ticket-8:debit", kAda, -20, 2));
  ASSERT_TRUE(d.has_value()) << ErrorOf(d);
  EXPECT_EQ(d->transfer.kind, TransferKind::kAdjustDebit);
  EXPECT_EQ(d->transfer.points, 20);
  EXPECT_EQ(d->transfer.to, Account::Adjustment());
  EXPECT_EQ(Taken(*d), (P{{"admin:ticket-7:credit", 20}}));
  EXPECT_EQ(ledger_.BalanceOf(kAda).available, 30);
  EXPECT_EQ(ledger_.AccountBalance(Account::Adjustment()), -30);
  EXPECT_EQ(ErrorOf(ledger_.Adjust(AdjustOf("admin:ticket-9", kAda, -31, 2))),
            "failed_precondition: customer 1: insufficient points: available 30, asked 31");
  EXPECT_EQ(ErrorOf(ledger_.Adjust(AdjustOf("admin:ticket-9", kAda, 0, 2))),
            "invalid_argument: transfer admin:ticket-9: points must be non-zero and at most "
            "1000000000000 either way");
  // A credit adjustment is reversed like an earn, back to the adjustment account.
  auto r = ledger_.ReverseEarn(
      ReverseOf("admin:ticket-7:undo", "admin:ticket-7:credit", std::nullopt, 3));
  ASSERT_TRUE(r.has_value()) << ErrorOf(r);
  EXPECT_EQ(r->transfer.to, Account::Adjustment());
  EXPECT_EQ(r->transfer.points, 30);
  EXPECT_EQ(ledger_.AccountBalance(Account::Adjustment()), 0);
}

// ---- Reversed debits ----

TEST_F(LedgerTest, ReverseDebitGivesPointsBackLatestExpiringFirst) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 30, 1, 100)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("b", kAda, 50, 1, 200)));
  ASSERT_TRUE(ledger_.Redeem(RedeemOf("spend", kAda, 70, 2)));  // a 30, b 40
  auto r = ledger_.ReverseDebit(ReverseDebitOf("spend:refund:1", "spend", 50, 3));
  ASSERT_TRUE(r.has_value()) << ErrorOf(r);
  EXPECT_EQ(r->transfer.from, Account::Redemption());
  EXPECT_EQ(r->transfer.to, Account::Wallet(kAda));
  EXPECT_EQ(Taken(*r), (P{{"b", -40}, {"a", -10}}));
  EXPECT_EQ(ErrorOf(ledger_.ReverseDebit(ReverseDebitOf("spend:refund:2", "spend", 21, 3))),
            "failed_precondition: debit spend: asked to give back 21 points, only 20 left");
  auto rest = ledger_.ReverseDebit(ReverseDebitOf("spend:refund:2", "spend", std::nullopt, 3));
  ASSERT_TRUE(rest.has_value()) << ErrorOf(rest);
  EXPECT_EQ(Taken(*rest), (P{{"a", -20}}));
  EXPECT_EQ(Remaining(ledger_, "a"), 30);
  EXPECT_EQ(Remaining(ledger_, "b"), 50);
  EXPECT_EQ(ledger_.AccountBalance(Account::Redemption()), 0);
  EXPECT_EQ(
      ErrorOf(ledger_.ReverseDebit(ReverseDebitOf("spend:refund:3", "spend", std::nullopt, 3))),
      "failed_precondition: debit spend: nothing left to give back");
  EXPECT_EQ(ErrorOf(ledger_.ReverseDebit(ReverseDebitOf("x", "a", std::nullopt, 3))),
            "invalid_argument: debit a: is an earn, not a redemption or a debit adjustment");
  EXPECT_EQ(ErrorOf(ledger_.ReverseDebit(ReverseDebitOf("x", "nope", std::nullopt, 3))),
            "not_found: debit nope: no such transfer");
}

TEST_F(LedgerTest, ReverseDebitOfAConfirmedHoldRestoresTheHoldsLots) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 100, 1)));
  ASSERT_TRUE(ledger_.Hold(HoldOf("h", kAda, 60, 2, 3)));
  ASSERT_TRUE(ledger_.Confirm("h", Day(2)));
  auto r = ledger_.ReverseDebit(ReverseDebitOf("h:refund", "confirm:h", std::nullopt, 4));
  ASSERT_TRUE(r.has_value()) << ErrorOf(r);
  EXPECT_EQ(Taken(*r), (P{{"a", -60}}));
  EXPECT_EQ(ledger_.BalanceOf(kAda), (Balance{100, 0, 0}));
}

// ---- Queries, replay ----

TEST_F(LedgerTest, LifetimeEarnedCountsSettledEarnsNetOfReversals) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 100, 1)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("b", kAda, 50, 40)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("p", kAda, 70, 41, std::nullopt, 60)));
  ASSERT_TRUE(ledger_.Adjust(AdjustOf("adj", kAda, 1000, 42)));
  ASSERT_TRUE(ledger_.Redeem(RedeemOf("spend", kAda, 150, 43)));
  ASSERT_TRUE(ledger_.ReverseEarn(ReverseOf("refund", "b", 20, 44)));
  EXPECT_EQ(ledger_.LifetimeEarned(kAda, Day(0), Day(100)), 130);
  EXPECT_EQ(ledger_.LifetimeEarned(kAda, Day(1), Day(40)), 100);
  EXPECT_EQ(ledger_.LifetimeEarned(kAda, Day(2), Day(41)), 30);
  ASSERT_TRUE(ledger_.Settle("p", Day(60)));
  EXPECT_EQ(ledger_.LifetimeEarned(kAda, Day(0), Day(100)), 200);
  EXPECT_EQ(ledger_.LifetimeEarned(kBob, Day(0), Day(100)), 0);
}

TEST_F(LedgerTest, HistoryListsTheCustomersTransfersInOrder) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 100, 1)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("b", kBob, 100, 1)));
  ASSERT_TRUE(ledger_.Hold(HoldOf("h", kAda, 10, 2, 3)));
  ASSERT_TRUE(ledger_.Confirm("h", Day(2)));
  std::vector<std::string> ids;
  const std::vector<Transfer> history = ledger_.History(kAda);
  for (const Transfer& t : history) ids.push_back(t.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "h", "confirm:h"}));
}

TEST_F(LedgerTest, ReplayingTheTransfersRebuildsTheState) {
  ASSERT_TRUE(ledger_.Earn(EarnOf("a", kAda, 100, 1, 10)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("p", kAda, 40, 1, 30, 5)));
  ASSERT_TRUE(ledger_.Earn(EarnOf("b", kBob, 80, 2)));
  ASSERT_TRUE(ledger_.Hold(HoldOf("h", kAda, 30, 2, 4)));
  ASSERT_TRUE(ledger_.Redeem(RedeemOf("r", kBob, 50, 3)));
  ASSERT_TRUE(ledger_.ReleaseExpiredHolds(Day(4)));
  ASSERT_TRUE(ledger_.SettleDue(Day(5)));
  ASSERT_TRUE(ledger_.ExpireDue(Day(10)));
  ASSERT_TRUE(ledger_.ReverseEarn(ReverseOf("refund", "p", std::nullopt, 11)));
  ASSERT_TRUE(ledger_.ReverseDebit(ReverseDebitOf("r:undo", "r", 20, 12)));
  ASSERT_TRUE(ledger_.Adjust(AdjustOf("adj", kBob, -10, 13)));

  Ledger rebuilt;
  const std::vector<Transfer> stored(ledger_.transfers().begin(), ledger_.transfers().end());
  for (const Transfer& t : stored) {
    auto p = rebuilt.Apply(t);
    ASSERT_TRUE(p.has_value()) << ErrorOf(p);
    EXPECT_FALSE(p->replayed);
  }
  EXPECT_TRUE(rebuilt.CheckInvariants().has_value());
  EXPECT_EQ(rebuilt.balances(), ledger_.balances());
  EXPECT_EQ(rebuilt.Lots(kAda), ledger_.Lots(kAda));
  EXPECT_EQ(rebuilt.Lots(kBob), ledger_.Lots(kBob));
  EXPECT_EQ(rebuilt.Holds(kAda), ledger_.Holds(kAda));
  const std::vector<LotConsumption> a(rebuilt.consumptions().begin(), rebuilt.consumptions().end());
  const std::vector<LotConsumption> b(ledger_.consumptions().begin(), ledger_.consumptions().end());
  EXPECT_EQ(a, b);
  // Applying them once more changes nothing.
  for (const Transfer& t : stored) EXPECT_TRUE(rebuilt.Apply(t)->replayed);
  EXPECT_EQ(rebuilt.transfers().size(), stored.size());
}

TEST_F(LedgerTest, ApplyRejectsTransfersOfTheWrongShape) {
  Transfer t{.id = "x",
             .kind = TransferKind::kEarn,
             .from = Account::Wallet(kAda),
             .to = Account::Wallet(kAda),
             .points = 5,
             .reason = "",
             .source = {},
             .at = Day(1)};
  EXPECT_EQ(ErrorOf(ledger_.Apply(t)),
            "invalid_argument: transfer x: an earn cannot move points from wallet:1 to wallet:1");
  t.from = Account::Issuance();
  t.to = Account::Pending(kAda);
  EXPECT_EQ(ErrorOf(ledger_.Apply(t)),
            "invalid_argument: transfer x: an earn goes to the pending account exactly when it has "
            "pending_until");
  t.to = Account::Wallet(kAda);
  t.refers_to = "y";
  EXPECT_EQ(ErrorOf(ledger_.Apply(t)),
            "invalid_argument: transfer x: refers_to must be empty for an earn");
  // Member by member: GCC 12 at -O3 misreads a designated initializer's empty `source` as
  // maybe uninitialized.
  Transfer confirm;
  confirm.id = "confirm:h2";
  confirm.kind = TransferKind::kConfirm;
  confirm.from = Account::Held(kAda);
  confirm.to = Account::Redemption();
  confirm.points = 5;
  confirm.at = Day(1);
  confirm.refers_to = "h";
  EXPECT_EQ(ErrorOf(ledger_.Apply(confirm)),
            "invalid_argument: transfer confirm:h2: a confirm must have id confirm:h");
  confirm.id = "confirm:h";
  EXPECT_EQ(ErrorOf(ledger_.Apply(confirm)), "not_found: hold h: no such hold");
  EXPECT_TRUE(ledger_.transfers().empty());
}

TEST(AccountTest, Names) {
  EXPECT_EQ(Account::Issuance().ToString(), "issuance");
  EXPECT_EQ(Account::Held(CustomerId{7}).ToString(), "held:7");
  EXPECT_EQ(ParseTransferKind("reverse_debit").value(), TransferKind::kReverseDebit);
  EXPECT_FALSE(ParseTransferKind("nope").has_value());
  EXPECT_EQ(ParseSourceKind("refund").value(), SourceKind::kRefund);
  EXPECT_EQ(SourceKindName(SourceKind::kAdmin), "admin");
}

}  // namespace
}  // namespace treu::loyalty
