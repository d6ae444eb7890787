// The loyalty service on a real SQLite store: earning on orders (pending, refunds,
// cancellation) and events (caps, multipliers), rewards (stock, voucher codes, holds that
// lapse), expiry, tiers with their history, referrals, the change-log processor, the report
// and the ledger cache.
#include "loyalty/service.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "loyalty/catalog.hpp"
#include "loyalty/report.hpp"
#include "loyalty/surprises.hpp"
#include "storage/sqlite/temp_store_testing.hpp"

namespace treu::loyalty {
namespace {

using nlohmann::json;

Timestamp At(std::string_view text) { return ParseTimestamp(text, TimeZone::Utc()).value(); }

class LoyaltyServiceTest : public ::testing::Test {
 protected:
  LoyaltyServiceTest() : clock_(At("2026-03-01T12:00:00Z")), db_("treu-loyalty-service", clock_) {}

  void SetProgram(json definition) {
    definition["starts_at"] = "2026-01-01T00:00:00Z";
    ASSERT_TRUE(SaveProgram(*db_.store, db_.workspace, definition, clock_.Now()));
    program_ = LoadProgram(*db_.store, db_.workspace).value();
  }

  CustomerId Customer(const std::string& ext, const std::string& email = "") {
    treu::Customer c;
    c.external_id = ext;
    c.email = email;
    auto txn = db_.store->BeginWrite(ws().id).value();
    EXPECT_TRUE(txn->UpsertCustomers(std::span(&c, 1), clock_.Now()));
    const std::vector<std::string> ids = {ext};
    const CustomerId id = txn->ResolveCustomers(ids, clock_.Now()).value().front();
    EXPECT_TRUE(txn->Commit());
    return id;
  }

  Order MakeOrder(const std::string& ext, CustomerId c, std::int64_t total_minor, Timestamp at) {
    static std::int64_t next = 1;
    Order o;
    o.id = OrderId{next++};
    o.external_id = ext;
    o.customer = c;
    o.placed_at = at;
    o.total = Money{total_minor, Currency::FromCode("EUR").value()};
    return o;
  }

  Status Run(const std::function<Status(LoyaltyBatch&)>& work, LedgerCache* cache = nullptr) {
    TREU_ASSIGN_OR_RETURN(auto batch, LoyaltyBatch::Begin(*db_.store, ws(), program_, clock_.Now(), cache));
    TREU_RETURN_IF_ERROR(work(*batch));
    return batch->Commit();
  }

  LoyaltyMember Member(CustomerId c) { return db_.store->FindLoyaltyMember(ws().id, c).value().value(); }
  std::vector<LoyaltyTransferRecord> Transfers(CustomerId c) {
    return db_.store->ListLoyaltyTransfers(ws().id, c, 0, 1000).value();
  }
  void ExpectConsistent() {
    auto report = VerifyLedger(*db_.store, ws().id);
    ASSERT_TRUE(report);
    for (const auto& p : report->problems) ADD_FAILURE() << p;
  }
  const Workspace& ws() const { return db_.workspace; }

  ManualClock clock_;
  testing::TempSqliteStore db_;
  Program program_;
};

TEST_F(LoyaltyServiceTest, OrdersEarnOnceAndRefundsReverseInProportion) {
  SetProgram({{"rules", {{{"id", "spend"}, {"kind", "spend"}, {"points_per_unit", "1.5"}}}}});
  const CustomerId c = Customer("c1");
  Order o = MakeOrder("o-1", c, 10'000, At("2026-02-10T10:00:00Z"));  // 100.00 EUR → 150 points
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) { return b.ProcessOrder(o); }));
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) { return b.ProcessOrder(o); }));  // processed again: nothing new
  EXPECT_EQ(Member(c).available, 150);
  ASSERT_EQ(Transfers(c).size(), 1u);
  EXPECT_EQ(Transfers(c)[0].id, "order:o-1:spend");
  // 25 EUR of 100 refunded: a quarter of the points go back; the same refund again changes nothing.
  o.refunds.push_back(Refund{At("2026-02-12T10:00:00Z"), 2'500});
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) { return b.ProcessOrder(o); }));
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) { return b.ProcessOrder(o); }));
  EXPECT_EQ(Member(c).available, 113);  // 150 − floor(150 × 25 / 100) = 150 − 37
  // The rest refunded: everything goes back.
  o.refunds.push_back(Refund{At("2026-02-13T10:00:00Z"), 7'500});
  o.status = OrderStatus::kRefunded;
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) { return b.ProcessOrder(o); }));
  EXPECT_EQ(Member(c).available, 0);
  EXPECT_EQ(Member(c).earned, 0);
  const auto t = Transfers(c);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[1].id, "order:o-1:spend:reverse:1");
  EXPECT_EQ(t[2].id, "order:o-1:spend:reverse:2");
  ExpectConsistent();
}

TEST_F(LoyaltyServiceTest, OrdersBeforeTheProgramAndCancelledOrdersEarnNothing) {
  SetProgram({{"rules", {{{"id", "spend"}, {"kind", "spend"}, {"points_per_unit", 1}, {"min_order", "20.00"}}}}});
  const CustomerId c = Customer("c1");
  Order old = MakeOrder("old", c, 10'000, At("2025-12-31T23:59:59Z"));
  Order small = MakeOrder("small", c, 1'999, At("2026-02-01T00:00:00Z"));
  Order cancelled = MakeOrder("x", c, 5'000, At("2026-02-01T00:00:00Z"));
  cancelled.status = OrderStatus::kCancelled;
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) -> Status {
    TREU_RETURN_IF_ERROR(b.ProcessOrder(old));
    TREU_RETURN_IF_ERROR(b.ProcessOrder(small));
    return b.ProcessOrder(cancelled);
  }));
  EXPECT_FALSE(db_.store->FindLoyaltyMember(ws().id, c).value().has_value());
}

TEST_F(LoyaltyServiceTest, PendingPointsSettleAfterTheReturnWindowOrAreCancelled) {
  SetProgram({{"rules", {{{"id", "spend"}, {"kind", "spend"}, {"points_per_unit", 1}}}}, {"pending_days", 14}});
  const CustomerId c = Customer("c1");
  Order kept = MakeOrder("kept", c, 5'000, At("2026-02-25T00:00:00Z"));
  Order returned = MakeOrder("returned", c, 3'000, At("2026-02-26T00:00:00Z"));
  Order old = MakeOrder("old", c, 1'000, At("2026-02-01T00:00:00Z"));  // its window has passed: available
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) -> Status {
    TREU_RETURN_IF_ERROR(b.ProcessOrder(kept));
    TREU_RETURN_IF_ERROR(b.ProcessOrder(returned));
    return b.ProcessOrder(old);
  }));
  EXPECT_EQ(Member(c).pending, 80);
  EXPECT_EQ(Member(c).available, 10);
  EXPECT_EQ(*Member(c).next_due_at, At("2026-03-11T00:00:00Z"));
  returned.status = OrderStatus::kCancelled;
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) { return b.ProcessOrder(returned); }));
  EXPECT_EQ(Member(c).pending, 50);
  clock_.Set(At("2026-03-11T00:00:00Z"));
  auto due = db_.store->DueLoyaltyMembers(ws().id, clock_.Now(), 10).value();
  ASSERT_EQ(due.size(), 1u);
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) { return b.RunDue(c); }));
  EXPECT_EQ(Member(c).pending, 0);
  EXPECT_EQ(Member(c).available, 60);
  EXPECT_TRUE(db_.store->DueLoyaltyMembers(ws().id, clock_.Now(), 10).value().empty());
  ExpectConsistent();
}

TEST_F(LoyaltyServiceTest, EventRulesAreCappedPerPeriodAndMultipliedByTier) {
  SetProgram({{"rules",
               {{{"id", "review"}, {"kind", "event"}, {"event", "Review Written"}, {"points", 50},
                 {"cap", {{"points", 120}, {"period", "month"}}}}}},
              {"tiers", {{{"name", "basic"}, {"threshold", 0}}, {{"name", "gold"}, {"threshold", 1000}}}},
              {"multipliers", {{{"id", "gold"}, {"factor", 2}, {"tier", "gold"}}}}});
  const CustomerId c = Customer("c1");
  auto event = [&](const std::string& msg, const std::string& at) {
    Event e;
    e.id = EventId{static_cast<std::int64_t>(std::hash<std::string>{}(msg) % 100000 + 1)};
    e.name = "Review Written";
    e.message_id = msg;
    e.user_id = "c1";
    e.customer = c;
    e.timestamp = At(at);
    return e;
  };
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) -> Status {
    for (const char* m : {"m1", "m2", "m3", "m1"}) TREU_RETURN_IF_ERROR(b.ProcessEvent(event(m, "2026-02-10T00:00:00Z")));
    return {};
  }));
  EXPECT_EQ(Member(c).available, 120);  // 50 + 50 + 20 (capped); m1 again earns nothing
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) { return b.ProcessEvent(event("m4", "2026-03-01T00:00:00Z")); }));
  EXPECT_EQ(Member(c).available, 170);  // a new month
  // Gold doubles what rules earn.
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) {
    return StatusOf(b.Manual(c, ManualTransfer{"boost", "earn", 900, "welcome", std::nullopt, std::nullopt,
                                      Source{SourceKind::kRule, "test", std::nullopt}}));
  }));
  EXPECT_EQ(Member(c).tier, "gold");
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) { return b.ProcessEvent(event("m5", "2026-03-01T01:00:00Z")); }));
  EXPECT_EQ(Member(c).available, 1070 + 70);  // cap 120 − 50 used in March = 70 left of the doubled 100
  ExpectConsistent();
}

TEST_F(LoyaltyServiceTest, TiersUpgradeAtOnceAndAreReviewedAtTheEndOfTheWindow) {
  SetProgram({{"tiers", {{{"name", "basic"}, {"threshold", 0}}, {{"name", "silver"}, {"threshold", 500}}}},
              {"tier_window_days", 30}});
  const CustomerId c = Customer("c1");
  auto earn = [&](const std::string& id, std::int64_t points) {
    return Run([&](LoyaltyBatch& b) {
      return StatusOf(b.Manual(c, ManualTransfer{id, "earn", points, "t", std::nullopt, std::nullopt,
                                        Source{SourceKind::kRule, "t", std::nullopt}}));
    });
  };
  ASSERT_TRUE(earn("a", 300));
  EXPECT_EQ(Member(c).tier, "basic");
  clock_.Advance(5 * kMicrosPerDay);
  ASSERT_TRUE(earn("b", 200));
  EXPECT_EQ(Member(c).tier, "silver");
  const Timestamp upgraded = clock_.Now();
  EXPECT_EQ(*Member(c).tier_review_at, Timestamp{upgraded.micros + 30 * kMicrosPerDay});
  // Spending doesn't cost the tier.
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) {
    return StatusOf(b.Manual(c, ManualTransfer{"spend", "redeem", 500, "t", std::nullopt, std::nullopt,
                                      Source{SourceKind::kRedemption, "t", std::nullopt}}));
  }));
  EXPECT_EQ(Member(c).tier, "silver");
  // Nothing earned in the 30 days after the upgrade: down at the review.
  clock_.Advance(31 * kMicrosPerDay);
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) { return b.RunDue(c); }));
  EXPECT_EQ(Member(c).tier, "basic");
  EXPECT_EQ(Member(c).tier_since, Timestamp{upgraded.micros + 30 * kMicrosPerDay});
  const auto history = db_.store->ListLoyaltyTierChanges(ws().id, c).value();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].to_tier, "silver");
  EXPECT_EQ(history[0].reason, "upgrade");
  EXPECT_EQ(history[1].from_tier, "silver");
  EXPECT_EQ(history[1].to_tier, "basic");
  EXPECT_EQ(history[1].reason, "review");
}

TEST_F(LoyaltyServiceTest, RewardsHoldStockAndVoucherCodesUntilConfirmedReleasedOrLapsed) {
  SetProgram({{"hold_minutes", 15}});
  const CustomerId c = Customer("c1");
  auto reward = SaveReward(*db_.store, ws().id, "voucher-5",
                           {{"title", "5 EUR"}, {"kind", "voucher"}, {"points", 100}, {"stock", 0}}, clock_.Now());
  ASSERT_TRUE(reward);
  const std::vector<std::string> codes = {"AAA-1", "BBB-2"};
  EXPECT_EQ(db_.store->AddLoyaltyRewardCodes(ws().id, reward->id, codes).value(), 2);
  reward = db_.store->FindLoyaltyReward(ws().id, "voucher-5").value().value();
  EXPECT_EQ(*reward->stock, 2);
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) {
    return StatusOf(b.Manual(c, ManualTransfer{"seed", "earn", 1000, "t", std::nullopt, std::nullopt,
                                      Source{SourceKind::kRule, "t", std::nullopt}}));
  }));
  RedemptionResult first, second;
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) -> Status {
    TREU_ASSIGN_OR_RETURN(first, b.HoldReward(c, *reward, "r1"));
    TREU_ASSIGN_OR_RETURN(second, b.HoldReward(c, *reward, "r2"));
    return {};
  }));
  EXPECT_EQ(first.redemption.code, "AAA-1");
  EXPECT_EQ(second.redemption.code, "BBB-2");
  EXPECT_EQ(Member(c).held, 200);
  // Out of stock now.
  auto third = Run([&](LoyaltyBatch& b) { return StatusOf(b.HoldReward(c, *reward, "r3")); });
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(Member(c).held, 200);
  // r1 confirmed; r2 lapses: its points, stock and code come back.
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) { return StatusOf(b.ConfirmRedemption("r1")); }));
  clock_.Advance(16 * 60 * kMicrosPerSecond);
  auto late = Run([&](LoyaltyBatch& b) { return StatusOf(b.ConfirmRedemption("r2")); });
  ASSERT_FALSE(late);
  EXPECT_NE(late.error().detail().find("lapsed"), std::string::npos);
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) { return b.RunDue(c); }));
  EXPECT_EQ(Member(c).held, 0);
  EXPECT_EQ(Member(c).available, 900);
  EXPECT_EQ(Member(c).redeemed, 100);
  EXPECT_EQ(db_.store->FindLoyaltyRedemption(ws().id, "r2").value()->state, "released");
  reward = db_.store->FindLoyaltyReward(ws().id, "voucher-5").value().value();
  EXPECT_EQ(*reward->stock, 1);
  EXPECT_EQ(reward->redeemed, 1);
  RedemptionResult again;
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) -> Status {
    TREU_ASSIGN_OR_RETURN(again, b.HoldReward(c, *reward, "r4"));
    return {};
  }));
  EXPECT_EQ(again.redemption.code, "BBB-2");  // the returned code is handed out again
  ExpectConsistent();
}

TEST_F(LoyaltyServiceTest, RewardsForOtherTiersAreRefused) {
  SetProgram({{"tiers", {{{"name", "basic"}, {"threshold", 0}}, {{"name", "gold"}, {"threshold", 1000}}}}});
  const CustomerId c = Customer("c1");
  auto reward = SaveReward(*db_.store, ws().id, "lounge",
                           {{"title", "Lounge"}, {"kind", "experience"}, {"points", 10}, {"tiers", {"gold"}}},
                           clock_.Now());
  ASSERT_TRUE(reward);
  auto bad = SaveReward(*db_.store, ws().id, "x", {{"title", "X"}, {"kind", "experience"}, {"points", 10}, {"tiers", {"platinum"}}},
                        clock_.Now());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().context(), "/tiers/0");
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) {
    return StatusOf(b.Manual(c, ManualTransfer{"seed", "adjust", 100, "t", std::nullopt, std::nullopt,
                                      Source{SourceKind::kAdmin, "t", 1}}));
  }));
  auto refused = Run([&](LoyaltyBatch& b) { return StatusOf(b.HoldReward(c, *reward, "r1")); });
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().detail().find("only for the tiers gold"), std::string::npos);
}

TEST_F(LoyaltyServiceTest, PointsExpireLotByLot) {
  SetProgram({{"expiry_days", 10}});
  const CustomerId c = Customer("c1");
  auto earn = [&](const std::string& id, std::int64_t points) {
    return Run([&](LoyaltyBatch& b) {
      return StatusOf(b.Manual(c, ManualTransfer{id, "earn", points, "t", std::nullopt, std::nullopt,
                                        Source{SourceKind::kRule, "t", std::nullopt}}));
    });
  };
  ASSERT_TRUE(earn("a", 100));
  clock_.Advance(5 * kMicrosPerDay);
  ASSERT_TRUE(earn("b", 50));
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) {
    return StatusOf(b.Manual(c, ManualTransfer{"spend", "redeem", 30, "t", std::nullopt, std::nullopt,
                                      Source{SourceKind::kRedemption, "t", std::nullopt}}));
  }));
  clock_.Advance(6 * kMicrosPerDay);  // lot a (70 left) expires, b doesn't
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) { return b.RunDue(c); }));
  EXPECT_EQ(Member(c).available, 50);
  const auto t = Transfers(c);
  EXPECT_EQ(t.back().id, "expire:a");
  EXPECT_EQ(t.back().points, 70);
  ExpectConsistent();
}

TEST_F(LoyaltyServiceTest, ReferralsPayBothOnTheFirstOrderOnce) {
  SetProgram({{"rules", {{{"id", "spend"}, {"kind", "spend"}, {"points_per_unit", 1}}}},
              {"referral", {{"referrer_points", 500}, {"referee_points", 250}}}});
  const CustomerId alice = Customer("alice", "alice@example.com");
  const CustomerId bob = Customer("bob", "bob@example.com");
  const CustomerId twin = Customer("alice-2", "ALICE@example.com");
  std::string code;
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) -> Status {
    TREU_ASSIGN_OR_RETURN(code, b.ReferralCode(alice));
    return {};
  }));
  EXPECT_EQ(code.size(), 8u);
  std::string again;
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) -> Status {
    TREU_ASSIGN_OR_RETURN(again, b.ReferralCode(alice));
    return {};
  }));
  EXPECT_EQ(again, code);
  auto self = Run([&](LoyaltyBatch& b) { return b.SetReferrer(alice, code); });
  ASSERT_FALSE(self);
  EXPECT_EQ(self.error().code(), ErrorCode::kInvalidArgument);
  auto duplicate = Run([&](LoyaltyBatch& b) { return b.SetReferrer(twin, code); });
  ASSERT_FALSE(duplicate);
  EXPECT_NE(duplicate.error().detail().find("duplicate"), std::string::npos);
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) { return b.SetReferrer(bob, code); }));
  Order first = MakeOrder("b-1", bob, 1'000, At("2026-02-20T00:00:00Z"));
  Order second = MakeOrder("b-2", bob, 1'000, At("2026-02-21T00:00:00Z"));
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) -> Status {
    TREU_RETURN_IF_ERROR(b.ProcessOrder(first));
    return b.ProcessOrder(second);
  }));
  EXPECT_EQ(Member(bob).available, 250 + 10 + 10);
  EXPECT_EQ(Member(alice).available, 500);
  ExpectConsistent();
}

TEST_F(LoyaltyServiceTest, TheChangeLogProcessorEarnsOnStoredOrdersAndEvents) {
  SetProgram({{"rules", {{{"id", "spend"}, {"kind", "spend"}, {"points_per_unit", 1}},
                         {{"id", "review"}, {"kind", "event"}, {"event", "Review Written"}, {"points", 5}}}}});
  const CustomerId c = Customer("c1");
  Order o = MakeOrder("o-9", c, 4'200, At("2026-02-20T00:00:00Z"));
  o.id = OrderId{};
  o.customer_external_id = "c1";
  Event e;
  e.name = "Review Written";
  e.message_id = "msg-1";
  e.user_id = "c1";
  e.customer = c;
  e.timestamp = At("2026-02-21T00:00:00Z");
  e.received_at = e.timestamp;
  e.properties_json = "{}";
  {
    auto txn = db_.store->BeginWrite(ws().id).value();
    ASSERT_TRUE(txn->InsertOrders(std::span(&o, 1)));
    ASSERT_TRUE(txn->InsertEvents(std::span(&e, 1)));
    ASSERT_TRUE(txn->Commit());
  }
  auto stats = ProcessChanges(*db_.store, ws(), clock_, nullptr);
  ASSERT_TRUE(stats) << stats.error().ToString();
  EXPECT_EQ(stats->orders, 1);
  EXPECT_EQ(stats->events, 1);
  EXPECT_EQ(Member(c).available, 47);
  // Nothing new: nothing happens; the program's cursor moved.
  auto again = ProcessChanges(*db_.store, ws(), clock_, nullptr);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->orders, 0);
  EXPECT_EQ(Member(c).available, 47);
  // A refund recorded later reverses through the same path.
  {
    Order refund = o;
    refund.refunds.push_back(Refund{At("2026-02-25T00:00:00Z"), 4'200});
    refund.status = OrderStatus::kRefunded;
    auto txn = db_.store->BeginWrite(ws().id).value();
    ASSERT_TRUE(txn->InsertOrders(std::span(&refund, 1)));
    ASSERT_TRUE(txn->Commit());
  }
  ASSERT_TRUE(ProcessChanges(*db_.store, ws(), clock_, nullptr));
  EXPECT_EQ(Member(c).available, 5);
  ExpectConsistent();
}

TEST_F(LoyaltyServiceTest, TheReportSumsFlowsLiabilityAndTiers) {
  SetProgram({{"tiers", {{{"name", "basic"}, {"threshold", 0}}, {{"name", "silver"}, {"threshold", 500}}}},
              {"expiry_days", 10}});
  const CustomerId a = Customer("a");
  const CustomerId b = Customer("b");
  auto manual = [&](CustomerId c, const std::string& id, const std::string& kind, std::int64_t points) {
    return Run([&](LoyaltyBatch& batch) {
      return StatusOf(batch.Manual(c, ManualTransfer{id, kind, points, "t", std::nullopt, std::nullopt,
                                            Source{SourceKind::kRule, "t", std::nullopt}}));
    });
  };
  ASSERT_TRUE(manual(a, "a1", "earn", 600));
  ASSERT_TRUE(manual(b, "b1", "earn", 100));
  ASSERT_TRUE(manual(a, "a2", "redeem", 200));
  clock_.Advance(11 * kMicrosPerDay);
  ASSERT_TRUE(Run([&](LoyaltyBatch& batch) -> Status {
    TREU_RETURN_IF_ERROR(batch.RunDue(a));
    return batch.RunDue(b);
  }));
  auto r = BuildReport(*db_.store, ws().id, At("2026-01-01T00:00:00Z"), At("2027-01-01T00:00:00Z"),
                       {{"2026-03", {At("2026-03-01T00:00:00Z"), At("2026-04-01T00:00:00Z")}}}, {"basic", "silver"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->members, 2);
  EXPECT_EQ(r->liability, 0);
  EXPECT_EQ(r->total.issued, 700);
  EXPECT_EQ(r->total.redeemed, 200);
  EXPECT_EQ(r->total.expired, 500);
  EXPECT_DOUBLE_EQ(r->redemption_rate, 200.0 / 700.0);
  EXPECT_DOUBLE_EQ(r->breakage_rate, 500.0 / 700.0);
  EXPECT_EQ(r->flows[0].issued, 700);
  EXPECT_EQ(r->tiers[0].second + r->tiers[1].second, 2);
}

TEST_F(LoyaltyServiceTest, ManualTransfersAreIdempotentByKey) {
  SetProgram(json::object());
  const CustomerId c = Customer("c1");
  const ManualTransfer t{"api:k1", "earn", 40, "goodwill", std::nullopt, std::nullopt,
                         Source{SourceKind::kRule, "api", std::nullopt}};
  Posting first, second;
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) -> Status {
    TREU_ASSIGN_OR_RETURN(first, b.Manual(c, t));
    return {};
  }));
  clock_.Advance(kMicrosPerSecond);  // a retry a second later is still the same transfer
  ASSERT_TRUE(Run([&](LoyaltyBatch& b) -> Status {
    TREU_ASSIGN_OR_RETURN(second, b.Manual(c, t));
    return {};
  }));
  EXPECT_FALSE(first.replayed);
  EXPECT_TRUE(second.replayed);
  EXPECT_EQ(Member(c).available, 40);
  ManualTransfer other = t;
  other.points = 41;
  auto reused = Run([&](LoyaltyBatch& b) { return StatusOf(b.Manual(c, other)); });
  ASSERT_FALSE(reused);
  EXPECT_EQ(reused.error().code(), ErrorCode::kAlreadyExists);
}

TEST_F(LoyaltyServiceTest, TheCacheNeverServesAStaleLedger) {
  SetProgram(json::object());
  const CustomerId c = Customer("c1");
  LedgerCache cache;
  auto manual = [&](const std::string& id, const std::string& kind, std::int64_t points, LedgerCache* use) {
    return Run([&](LoyaltyBatch& b) {
      return StatusOf(b.Manual(c, ManualTransfer{id, kind, points, "t", std::nullopt, std::nullopt,
                                        Source{SourceKind::kRule, "t", std::nullopt}}));
    }, use);
  };
  ASSERT_TRUE(manual("e1", "earn", 100, &cache));  // cached after 1 transfer
  ASSERT_TRUE(manual("r1", "redeem", 60, nullptr));  // another process writes
  // The cached ledger (100 available) is stale: the batch must load the stored one (40).
  auto spend = manual("r2", "redeem", 50, &cache);
  ASSERT_FALSE(spend);
  EXPECT_NE(spend.error().detail().find("available 40"), std::string::npos);
  ASSERT_TRUE(manual("r3", "redeem", 40, &cache));
  EXPECT_EQ(Member(c).available, 0);
  ExpectConsistent();
}

TEST(SurpriseDraw, PicksTheShareStablyAndAnewEachPeriod) {
  Surprise s;
  s.id = "lucky";
  s.share = 100;  // 10 %
  int drawn = 0, again = 0, both = 0;
  constexpr int kCustomers = 20'000;
  for (int i = 1; i <= kCustomers; ++i) {
    const bool first = DrawnForSurprise(s, CustomerId{i}, 7);
    drawn += first;
    again += DrawnForSurprise(s, CustomerId{i}, 7) == first;
    both += first && DrawnForSurprise(s, CustomerId{i}, 8);
  }
  EXPECT_EQ(again, kCustomers);           // the same draw every time it is asked
  EXPECT_NEAR(drawn, 2000, 5 * 42);       // binomial(20000, 0.1): sd ≈ 42
  EXPECT_NEAR(both, 200, 5 * 14);         // the next period's draw is independent
}

TEST_F(LoyaltyServiceTest, SurprisesOnBirthdaysMilestonesAndDrawsAreGrantedOnceWithTheirRule) {
  SetProgram({{"rules", {{{"id", "spend"}, {"kind", "spend"}, {"points_per_unit", 1}}}},
              {"surprises",
               {{{"id", "birthday"}, {"kind", "birthday"}, {"points", 100}, {"reward", "cake"}},
                {{"id", "third"}, {"kind", "orders"}, {"orders", 3}, {"points", 300}},
                {{"id", "lucky"}, {"kind", "random"}, {"segment", "fans"}, {"share", 1}, {"points", 7}}}}});
  ASSERT_TRUE(SaveReward(*db_.store, ws().id, "cake", {{"title", "Cake"}, {"kind", "free_product"}, {"points", 50},
                                                       {"stock", 1}}, clock_.Now()));
  auto with_birthday = [&](const std::string& ext, const std::string& date) {
    treu::Customer c;
    c.external_id = ext;
    c.attributes["birthday"] = ParseAttributeValue(date, TimeZone::Utc());
    auto txn = db_.store->BeginWrite(ws().id).value();
    EXPECT_TRUE(txn->UpsertCustomers(std::span(&c, 1), clock_.Now()));
    EXPECT_TRUE(txn->Commit());
    return db_.store->FindCustomer(ws().id, ext).value()->id;
  };
  const CustomerId today = with_birthday("today", "1990-03-01");  // the clock is 2026-03-01
  const CustomerId also = with_birthday("also", "2001-03-01");
  const CustomerId other = with_birthday("other", "1990-05-05");
  // A saved segment "fans" with one member, drawn at a share of 1.
  SegmentDefinition fans;
  fans.workspace = ws().id;
  fans.name = "fans";
  fans.expr = "orders_count >= 0";
  fans.created_at = fans.updated_at = clock_.Now();
  fans = db_.store->SaveSegment(fans).value();
  ASSERT_TRUE(db_.store->ApplySegmentRefresh(SegmentRefresh{ws().id, fans.id, clock_.Now(), {other}, {}, 1, true}));
  for (int run = 0; run < 2; ++run) {
    auto granted = RunSurprises(*db_.store, ws(), clock_, nullptr, nullptr);
    ASSERT_TRUE(granted) << granted.error().ToString();
    EXPECT_EQ(*granted, run == 0 ? 3 : 0);  // two birthdays and one draw; nothing twice
  }
  EXPECT_EQ(Member(today).available, 100);
  EXPECT_EQ(Member(also).available, 100);
  EXPECT_EQ(Member(other).available, 7);
  const auto t = Transfers(today);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].id, "surprise:birthday:" + std::to_string(today.value) + ":2026");
  EXPECT_EQ(t[0].source_ref, "surprise:birthday");
  // One cake in stock: one of the two birthdays got it, given free.
  auto gifts = db_.store->ListLoyaltyRedemptions(ws().id, CustomerId{}, 0, 10).value();
  ASSERT_EQ(gifts.size(), 1u);
  EXPECT_EQ((gifts[0].points), 0);
  EXPECT_EQ(gifts[0].state, "confirmed");
  // The third completed order earns the milestone bonus, once.
  for (int i = 1; i <= 4; ++i) {
    Order o = MakeOrder("t-" + std::to_string(i), today, 1'000, At("2026-02-0" + std::to_string(i) + "T00:00:00Z"));
    o.id = OrderId{};
    o.customer_external_id = "today";
    auto txn = db_.store->BeginWrite(ws().id).value();
    ASSERT_TRUE(txn->InsertOrders(std::span(&o, 1)));
    ASSERT_TRUE(txn->Commit());
    ASSERT_TRUE(ProcessChanges(*db_.store, ws(), clock_, nullptr));
  }
  EXPECT_EQ(Member(today).available, 100 + 4 * 10 + 300);
  ExpectConsistent();
}

}  // namespace
}  // namespace treu::loyalty
