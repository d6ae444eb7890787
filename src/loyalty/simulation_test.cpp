// A seeded random walk through the ledger: thousands of earns (with and without expiry,
// pending or not), holds with confirm, release and timeout, redemptions, cancels, settles,
// expiry sweeps at advancing times, reversals of earns and debits, adjustments both ways, and
// injected failures: immediate retries, replays of old requests, conflicting reuse of old ids
// and unknown ids. After every step the ledger must agree with a simple model kept here
// (balances, lots, the number of transfers, which operations fail and how), and its own
// invariants must hold: all balances sum to 0, every wallet equals the sum of its settled lots
// and is >= 0, no transfer is applied twice. At the end, replaying the transfers into a new
// ledger must rebuild the same state.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <random>

#include "loyalty/ledger.hpp"

namespace treu::loyalty {
namespace {

constexpr std::int64_t kCustomers = 5;
constexpr int kSteps = 2000;
constexpr int kFullCheckEvery = 10;
constexpr std::int64_t kHour = 3600 * kMicrosPerSecond;

// ---- The model: plain vectors, linear scans ----

using Taken = std::vector<std::pair<std::size_t, std::int64_t>>;  // (lot index, points)

struct ModelLot {
  std::string id;
  std::int64_t customer = 0;
  std::int64_t points = 0;
  std::int64_t remaining = 0;
  std::optional<std::int64_t> expires;
  std::optional<std::int64_t> pending_until;
  bool pending = false;
  bool settled = false;  // by a settle transfer
  bool cancelled = false;
  bool from_adjustment = false;
  std::int64_t reversed = 0;
};

struct ModelHold {
  std::string id;
  std::int64_t customer = 0;
  std::int64_t points = 0;
  std::int64_t expires = 0;
  HoldState state = HoldState::kActive;
  Taken taken;
};

struct ModelDebit {
  std::string id;
  std::int64_t customer = 0;
  std::int64_t points = 0;
  Taken taken;
  std::int64_t restored = 0;
  bool to_adjustment = false;
};

struct Model {
  std::vector<ModelLot> lots;
  std::map<std::string, std::size_t> lot_index;
  std::map<std::int64_t, std::vector<std::size_t>> lots_of;  // customer → lot indexes
  std::vector<ModelHold> holds;
  std::map<std::string, std::size_t> hold_index;
  std::vector<ModelDebit> debits;
  std::map<std::string, std::size_t> debit_index;
  std::int64_t issuance = 0, redemption = 0, expiry = 0, adjustment = 0;
  std::size_t transfers = 0;

  std::int64_t Sum(std::int64_t c, bool pending) const {
    std::int64_t sum = 0;
    auto it = lots_of.find(c);
    if (it == lots_of.end()) return 0;
    for (const std::size_t i : it->second) {
      if (lots[i].pending == pending) sum += lots[i].remaining;
    }
    return sum;
  }
  std::int64_t Available(std::int64_t c) const { return Sum(c, false); }
  std::int64_t Pending(std::int64_t c) const { return Sum(c, true); }
  std::int64_t Held(std::int64_t c) const {
    std::int64_t sum = 0;
    for (const ModelHold& h : holds) {
      if (h.customer == c && h.state == HoldState::kActive) sum += h.points;
    }
    return sum;
  }

  // Oldest-expiring first (never-expiring last), then oldest; leaves out lot `skip`.
  Taken TakeFifo(std::int64_t c, std::int64_t points,
                 std::size_t skip = std::numeric_limits<std::size_t>::max()) {
    std::vector<std::size_t> order;
    for (const std::size_t i : lots_of[c]) {
      if (!lots[i].pending && lots[i].remaining > 0 && i != skip) order.push_back(i);
    }
    auto key = [&](std::size_t i) {
      return std::pair(lots[i].expires.value_or(std::numeric_limits<std::int64_t>::max()), i);
    };
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
    Taken taken;
    for (const std::size_t i : order) {
      const std::int64_t t = std::min(points, lots[i].remaining);
      if (t == 0) break;
      lots[i].remaining -= t;
      points -= t;
      taken.emplace_back(i, t);
    }
    return taken;
  }

  void GiveBack(const Taken& taken) {
    for (const auto& [lot, points] : taken) lots[lot].remaining += points;
  }

  void AddLot(ModelLot lot) {
    lots_of[lot.customer].push_back(lots.size());
    lot_index[lot.id] = lots.size();
    lots.push_back(std::move(lot));
  }

  void AddDebit(ModelDebit d) {
    debit_index[d.id] = debits.size();
    debits.push_back(std::move(d));
  }
};

// What the model expects an operation to do.
struct Expect {
  std::optional<ErrorCode> error;  // none: success
  bool replayed = false;
};

Expect Fails(ErrorCode code) { return {code, false}; }
Expect Succeeds() { return {}; }
Expect Replayed() { return {std::nullopt, true}; }

// A caller-named request that succeeded, kept to be sent again.
struct Sent {
  enum class Kind {
    kEarn,
    kHold,
    kRedeem,
    kAdjust,
    kReverseEarn,
    kReverseDebit
  } kind = Kind::kEarn;
  EarnRequest earn;
  HoldRequest hold;
  RedeemRequest redeem;
  AdjustRequest adjust;
  ReverseEarnRequest reverse_earn;
  ReverseDebitRequest reverse_debit;
};

// Sends `s` again; with `conflicting`, the same id with another reason.
Result<Posting> SendAgain(Ledger& l, Sent s, bool conflicting) {
  const std::string suffix = conflicting ? " (changed)" : "";
  switch (s.kind) {
    case Sent::Kind::kEarn:
      s.earn.reason += suffix;
      return l.Earn(s.earn);
    case Sent::Kind::kHold:
      s.hold.reason += suffix;
      return l.Hold(s.hold);
    case Sent::Kind::kRedeem:
      s.redeem.reason += suffix;
      return l.Redeem(s.redeem);
    case Sent::Kind::kAdjust:
      s.adjust.reason += suffix;
      return l.Adjust(s.adjust);
    case Sent::Kind::kReverseEarn:
      s.reverse_earn.reason += suffix;
      return l.ReverseEarn(s.reverse_earn);
    case Sent::Kind::kReverseDebit:
      s.reverse_debit.reason += suffix;
      return l.ReverseDebit(s.reverse_debit);
  }
  return Internal("simulation", "bad kind");
}

class Simulation {
 public:
  explicit Simulation(std::uint64_t seed) : seed_(seed), rng_(seed) {}

  void Run(int steps) {
    for (step_ = 0; step_ < steps; ++step_) {
      now_ += Uniform(0, 6 * kHour);
      Step();
      CheckAgainstModel();
      if (::testing::Test::HasFatalFailure()) return;
    }
    CheckReplayRebuilds();
    CheckCoverage();
    ::testing::Test::RecordProperty("operations", operations_);
  }

 private:
  std::int64_t Uniform(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }
  bool Chance(int percent) { return Uniform(0, 99) < percent; }
  std::string NewId(std::string_view prefix) {
    return std::string(prefix) + ":" + std::to_string(++ids_);
  }
  CustomerId RandomCustomer() { return CustomerId{Uniform(1, kCustomers)}; }
  Source SourceOf(SourceKind kind) { return {kind, "ref-" + std::to_string(ids_), std::nullopt}; }
  Timestamp Now() const { return Timestamp{now_}; }
  std::string Where() const {
    return "seed " + std::to_string(seed_) + " step " + std::to_string(step_);
  }

  void Step() {
    const std::int64_t r = Uniform(0, 99);
    if (r < 25) return Earn();
    if (r < 35) return Hold();
    if (r < 42) return CloseHold(TransferKind::kConfirm);
    if (r < 47) return CloseHold(TransferKind::kRelease);
    if (r < 54) return Redeem();
    if (r < 59) return Settle();
    if (r < 63) return Cancel();
    if (r < 70) return ReverseEarn();
    if (r < 75) return ReverseDebit();
    if (r < 81) return Adjust();
    if (r < 87) return Sweep();
    if (r < 92) return Resend(false);
    if (r < 96) return Resend(true);
    return UnknownIds();
  }

  // Runs `op` expecting `e`; on success the model is updated by `apply` and the ledger must
  // have appended `transfers` transfers; on failure or replay nothing may change.
  template <typename Op, typename Apply>
  std::optional<Posting> Expecting(const Expect& e, Op op, Apply apply, std::string_view what) {
    const std::size_t before = ledger_.transfers().size();
    Result<Posting> r = op();
    Count(what, r);
    if (e.error) {
      EXPECT_FALSE(r.has_value()) << Where() << " " << what << ": expected "
                                  << ErrorCodeName(*e.error);
      if (!r.has_value()) {
        EXPECT_EQ(r.error().code(), *e.error)
            << Where() << " " << what << ": " << r.error().ToString();
      }
      EXPECT_EQ(ledger_.transfers().size(), before) << Where() << " " << what;
      return std::nullopt;
    }
    EXPECT_TRUE(r.has_value()) << Where() << " " << what << ": " << r.error().ToString();
    if (!r.has_value()) return std::nullopt;
    EXPECT_EQ(r->replayed, e.replayed) << Where() << " " << what;
    if (e.replayed) {
      EXPECT_EQ(ledger_.transfers().size(), before) << Where() << " " << what;
      return r.value();
    }
    apply(*r);
    ++model_.transfers;
    return r.value();
  }

  // Sometimes sends a request that just succeeded again, as a client retrying would.
  void MaybeRetry(const Sent& s) {
    sent_.push_back(s);
    if (!Chance(20)) return;
    Expecting(
        Replayed(), [&] { return SendAgain(ledger_, s, false); }, [](const Posting&) {}, "retry");
  }

  void Earn() {
    EarnRequest req{.id = NewId("order") + ":earn",
                    .customer = RandomCustomer(),
                    .points = Uniform(1, 200),
                    .at = Now(),
                    .reason = "order",
                    .source = SourceOf(SourceKind::kOrder)};
    if (Chance(60)) req.expires_at = Timestamp{now_ + Uniform(10, 120) * kMicrosPerDay};
    if (Chance(30)) req.pending_until = Timestamp{now_ + Uniform(1, 20) * kMicrosPerDay};
    auto apply = [&](const Posting&) {
      model_.issuance -= req.points;
      model_.AddLot(
          {.id = req.id,
           .customer = req.customer.value,
           .points = req.points,
           .remaining = req.points,
           .expires = req.expires_at ? std::optional(req.expires_at->micros) : std::nullopt,
           .pending_until =
               req.pending_until ? std::optional(req.pending_until->micros) : std::nullopt,
           .pending = req.pending_until.has_value()});
    };
    if (Expecting(
            Succeeds(), [&] { return ledger_.Earn(req); }, apply, "earn"))
      MaybeRetry({.earn = req});
  }

  void Hold() {
    const CustomerId c = RandomCustomer();
    const std::int64_t available = model_.Available(c.value);
    HoldRequest req{.id = NewId("hold"),
                    .customer = c,
                    .points = Uniform(1, available + 20),
                    .at = Now(),
                    .expires_at = Timestamp{now_ + Uniform(1, 72) * kHour},
                    .reason = "reward",
                    .source = SourceOf(SourceKind::kRedemption)};
    const Expect e = req.points > available ? Fails(ErrorCode::kFailedPrecondition) : Succeeds();
    auto apply = [&](const Posting&) {
      model_.hold_index[req.id] = model_.holds.size();
      model_.holds.push_back({req.id, c.value, req.points, req.expires_at.micros,
                              HoldState::kActive, model_.TakeFifo(c.value, req.points)});
    };
    if (Expecting(
            e, [&] { return ledger_.Hold(req); }, apply, "hold")) {
      MaybeRetry({.kind = Sent::Kind::kHold, .hold = req});
    }
  }

  void CloseHold(TransferKind kind) {
    if (model_.holds.empty()) return;
    ModelHold& h = model_.holds[static_cast<std::size_t>(
        Uniform(0, static_cast<std::int64_t>(model_.holds.size()) - 1))];
    const bool confirm = kind == TransferKind::kConfirm;
    const HoldState done = confirm ? HoldState::kConfirmed : HoldState::kReleased;
    Expect e = Succeeds();
    if (h.state == done) {
      e = Replayed();
    } else if (h.state != HoldState::kActive || (confirm && now_ >= h.expires)) {
      e = Fails(ErrorCode::kFailedPrecondition);
    }
    auto apply = [&](const Posting& p) {
      h.state = done;
      if (confirm) {
        model_.redemption += h.points;
        model_.AddDebit({p.transfer.id, h.customer, h.points, h.taken, 0, false});
      } else {
        model_.GiveBack(h.taken);
      }
    };
    auto op = [&] { return confirm ? ledger_.Confirm(h.id, Now()) : ledger_.Release(h.id, Now()); };
    Expecting(e, op, apply, confirm ? "confirm" : "release");
  }

  void Redeem() {
    const CustomerId c = RandomCustomer();
    const std::int64_t available = model_.Available(c.value);
    RedeemRequest req{.id = NewId("redeem"),
                      .customer = c,
                      .points = Uniform(1, available + 20),
                      .at = Now(),
                      .reason = "reward",
                      .source = SourceOf(SourceKind::kRedemption)};
    const Expect e = req.points > available ? Fails(ErrorCode::kFailedPrecondition) : Succeeds();
    auto apply = [&](const Posting&) {
      model_.redemption += req.points;
      model_.AddDebit(
          {req.id, c.value, req.points, model_.TakeFifo(c.value, req.points), 0, false});
    };
    if (Expecting(
            e, [&] { return ledger_.Redeem(req); }, apply, "redeem")) {
      MaybeRetry({.kind = Sent::Kind::kRedeem, .redeem = req});
    }
  }

  // Any lot, or mostly (with `pending_first`) one of the lots created pending.
  ModelLot* RandomLot(bool pending_first = false) {
    if (model_.lots.empty()) return nullptr;
    if (pending_first && Chance(80)) {
      std::vector<std::size_t> created_pending;
      for (std::size_t i = 0; i < model_.lots.size(); ++i) {
        if (model_.lots[i].pending_until) created_pending.push_back(i);
      }
      if (!created_pending.empty()) {
        return &model_.lots[created_pending[static_cast<std::size_t>(
            Uniform(0, static_cast<std::int64_t>(created_pending.size()) - 1))]];
      }
    }
    return &model_.lots[static_cast<std::size_t>(
        Uniform(0, static_cast<std::int64_t>(model_.lots.size()) - 1))];
  }

  void Settle() {
    ModelLot* lot = RandomLot(true);
    if (lot == nullptr) return;
    Expect e = Succeeds();
    if (lot->settled) {
      e = Replayed();
    } else if (lot->cancelled || !lot->pending || lot->remaining == 0) {
      e = Fails(ErrorCode::kFailedPrecondition);
    }
    auto apply = [&](const Posting&) {
      lot->pending = false;
      lot->settled = true;
    };
    Expecting(
        e, [&] { return ledger_.Settle(lot->id, Now()); }, apply, "settle");
  }

  void Cancel() {
    ModelLot* lot = RandomLot(true);
    if (lot == nullptr) return;
    Expect e = Succeeds();
    if (lot->cancelled) {
      e = Replayed();
    } else if (!lot->pending || lot->remaining == 0) {
      e = Fails(ErrorCode::kFailedPrecondition);
    }
    auto apply = [&](const Posting&) {
      model_.issuance += lot->remaining;
      lot->reversed += lot->remaining;
      lot->remaining = 0;
      lot->cancelled = true;
    };
    Expecting(
        e, [&] { return ledger_.Cancel(lot->id, Now(), "order cancelled"); }, apply, "cancel");
  }

  void ReverseEarn() {
    ModelLot* lot = RandomLot();
    if (lot == nullptr) return;
    const std::size_t index = model_.lot_index.at(lot->id);
    const std::int64_t left = lot->points - lot->reversed;
    ReverseEarnRequest req{.id = NewId("refund"),
                           .earn_id = lot->id,
                           .points = std::nullopt,
                           .at = Now(),
                           .reason = "refund",
                           .source = SourceOf(SourceKind::kRefund)};
    if (Chance(60)) req.points = Uniform(1, std::max<std::int64_t>(1, left + 10));
    const std::int64_t asked = req.points.value_or(left);
    const std::int64_t available = lot->pending ? lot->remaining : model_.Available(lot->customer);
    const std::int64_t take = std::min(asked, available);
    Expect e = Succeeds();
    if (left == 0 || asked > left || take == 0) e = Fails(ErrorCode::kFailedPrecondition);
    auto apply = [&](const Posting& p) {
      EXPECT_EQ(p.transfer.points, take) << Where();
      EXPECT_EQ(Shortfall(p.transfer), asked - take) << Where();
      const std::int64_t own = std::min(take, lot->remaining);
      lot->remaining -= own;
      if (own < take) model_.TakeFifo(lot->customer, take - own, index);
      lot->reversed += take;
      (lot->from_adjustment ? model_.adjustment : model_.issuance) += take;
    };
    if (Expecting(
            e, [&] { return ledger_.ReverseEarn(req); }, apply, "reverse_earn")) {
      MaybeRetry({.kind = Sent::Kind::kReverseEarn, .reverse_earn = req});
    }
  }

  void ReverseDebit() {
    if (model_.debits.empty()) return;
    ModelDebit& d = model_.debits[static_cast<std::size_t>(
        Uniform(0, static_cast<std::int64_t>(model_.debits.size()) - 1))];
    const std::int64_t left = d.points - d.restored;
    ReverseDebitRequest req{.id = NewId("undo"),
                            .debit_id = d.id,
                            .points = std::nullopt,
                            .at = Now(),
                            .reason = "reward refunded",
                            .source = SourceOf(SourceKind::kRefund)};
    if (Chance(60)) req.points = Uniform(1, std::max<std::int64_t>(1, left + 5));
    const std::int64_t asked = req.points.value_or(left);
    const Expect e = left == 0 || asked > left ? Fails(ErrorCode::kFailedPrecondition) : Succeeds();
    auto apply = [&](const Posting&) {
      // Latest-expiring first: the debit's takings backwards, past what was given back before.
      std::int64_t skip = d.restored, give = asked;
      for (auto it = d.taken.rbegin(); it != d.taken.rend() && give > 0; ++it) {
        const std::int64_t skipped = std::min(skip, it->second);
        skip -= skipped;
        const std::int64_t g = std::min(give, it->second - skipped);
        model_.lots[it->first].remaining += g;
        give -= g;
      }
      d.restored += asked;
      (d.to_adjustment ? model_.adjustment : model_.redemption) -= asked;
    };
    if (Expecting(
            e, [&] { return ledger_.ReverseDebit(req); }, apply, "reverse_debit")) {
      MaybeRetry({.kind = Sent::Kind::kReverseDebit, .reverse_debit = req});
    }
  }

  void Adjust() {
    const CustomerId c = RandomCustomer();
    const std::int64_t available = model_.Available(c.value);
    const bool credit = Chance(50);
    AdjustRequest req{.id = NewId("admin"),
                      .customer = c,
                      .points = credit ? Uniform(1, 100) : -Uniform(1, available + 10),
                      .at = Now(),
                      .expires_at = std::nullopt,
                      .reason = "correction",
                      .source = {SourceKind::kAdmin, "ticket", 42}};
    if (credit && Chance(50)) req.expires_at = Timestamp{now_ + Uniform(5, 60) * kMicrosPerDay};
    const Expect e =
        !credit && -req.points > available ? Fails(ErrorCode::kFailedPrecondition) : Succeeds();
    auto apply = [&](const Posting&) {
      if (credit) {
        model_.adjustment -= req.points;
        model_.AddLot(
            {.id = req.id,
             .customer = c.value,
             .points = req.points,
             .remaining = req.points,
             .expires = req.expires_at ? std::optional(req.expires_at->micros) : std::nullopt,
             .from_adjustment = true});
      } else {
        model_.adjustment -= req.points;
        model_.AddDebit(
            {req.id, c.value, -req.points, model_.TakeFifo(c.value, -req.points), 0, true});
      }
    };
    if (Expecting(
            e, [&] { return ledger_.Adjust(req); }, apply, "adjust")) {
      MaybeRetry({.kind = Sent::Kind::kAdjust, .adjust = req});
    }
  }

  void Sweep() {
    std::size_t settled = 0, released = 0, expired = 0;
    for (ModelLot& l : model_.lots) {
      if (l.pending && l.remaining > 0 && l.pending_until && *l.pending_until <= now_) {
        l.pending = false;
        l.settled = true;
        ++settled;
      }
    }
    for (ModelHold& h : model_.holds) {
      if (h.state == HoldState::kActive && h.expires <= now_) {
        h.state = HoldState::kReleased;
        model_.GiveBack(h.taken);
        ++released;
      }
    }
    for (ModelLot& l : model_.lots) {
      if (!l.pending && l.remaining > 0 && l.expires && *l.expires <= now_) {
        model_.expiry += l.remaining;
        l.remaining = 0;
        ++expired;
      }
    }
    model_.transfers += settled + released + expired;
    auto s = ledger_.SettleDue(Now());
    auto r = ledger_.ReleaseExpiredHolds(Now());
    auto x = ledger_.ExpireDue(Now());
    ASSERT_TRUE(s.has_value() && r.has_value() && x.has_value()) << Where();
    EXPECT_EQ(s->size(), settled) << Where();
    EXPECT_EQ(r->size(), released) << Where();
    EXPECT_EQ(x->size(), expired) << Where();
    outcomes_["settle_due:posted"] += static_cast<int>(settled);
    outcomes_["release_expired:posted"] += static_cast<int>(released);
    outcomes_["expire_due:posted"] += static_cast<int>(expired);
    operations_ += 3;
  }

  // Replays of old requests change nothing; the same ids with other content are refused.
  void Resend(bool conflicting) {
    if (sent_.empty()) return;
    const Sent& s =
        sent_[static_cast<std::size_t>(Uniform(0, static_cast<std::int64_t>(sent_.size()) - 1))];
    const Expect e = conflicting ? Fails(ErrorCode::kAlreadyExists) : Replayed();
    Expecting(
        e, [&] { return SendAgain(ledger_, s, conflicting); }, [](const Posting&) {},
        conflicting ? "conflicting resend" : "resend");
  }

  void UnknownIds() {
    const std::string bogus = NewId("bogus");
    const Expect nf = Fails(ErrorCode::kNotFound);
    auto nothing = [](const Posting&) {};
    Expecting(
        nf, [&] { return ledger_.Settle(bogus, Now()); }, nothing, "settle bogus");
    Expecting(
        nf, [&] { return ledger_.Cancel(bogus, Now(), "x"); }, nothing, "cancel bogus");
    Expecting(
        nf, [&] { return ledger_.Confirm(bogus, Now()); }, nothing, "confirm bogus");
    Expecting(
        nf, [&] { return ledger_.Release(bogus, Now()); }, nothing, "release bogus");
    Expecting(
        nf, [&] { return ledger_.ReverseEarn({.id = NewId("r"), .earn_id = bogus, .at = Now()}); },
        nothing, "reverse bogus earn");
    Expecting(
        nf,
        [&] { return ledger_.ReverseDebit({.id = NewId("r"), .debit_id = bogus, .at = Now()}); },
        nothing, "reverse bogus debit");
  }

  // After every step: the sums, the model, every wallet against its lots. The ledger's own
  // CheckInvariants() recomputes everything from the transfers (O(transfers)), so it runs
  // every kFullCheckEvery steps and at the end.
  void CheckAgainstModel() {
    if (step_ % kFullCheckEvery == 0 || step_ + 1 == kSteps) {
      const Status s = ledger_.CheckInvariants();
      ASSERT_TRUE(s.has_value()) << Where() << ": " << s.error().ToString();
    }
    std::int64_t sum = 0;
    for (const auto& [account, balance] : ledger_.balances()) sum += balance;
    ASSERT_EQ(sum, 0) << Where();
    ASSERT_EQ(ledger_.transfers().size(), model_.transfers)
        << Where() << ": a transfer was applied twice or lost";
    ASSERT_EQ(ledger_.AccountBalance(Account::Issuance()), model_.issuance) << Where();
    ASSERT_EQ(ledger_.AccountBalance(Account::Redemption()), model_.redemption) << Where();
    ASSERT_EQ(ledger_.AccountBalance(Account::Expiry()), model_.expiry) << Where();
    ASSERT_EQ(ledger_.AccountBalance(Account::Adjustment()), model_.adjustment) << Where();
    for (std::int64_t c = 1; c <= kCustomers; ++c) CheckCustomer(CustomerId{c});
  }

  void CheckCustomer(CustomerId c) {
    const Balance b = ledger_.BalanceOf(c);
    const Balance expected{model_.Available(c.value), model_.Pending(c.value),
                           model_.Held(c.value)};
    ASSERT_EQ(b, expected) << Where() << " customer " << c.value << ": ledger " << b.available
                           << "/" << b.pending << "/" << b.held << ", model " << expected.available
                           << "/" << expected.pending << "/" << expected.held;
    ASSERT_GE(b.available, 0) << Where();
    // Both keep a customer's lots in creation order.
    std::int64_t in_lots = 0;
    const std::vector<Lot> lots = ledger_.Lots(c);
    const std::vector<std::size_t>& model_lots = model_.lots_of[c.value];
    ASSERT_EQ(lots.size(), model_lots.size()) << Where() << " customer " << c.value;
    for (std::size_t i = 0; i < lots.size(); ++i) {
      const Lot& lot = lots[i];
      const ModelLot& m = model_.lots[model_lots[i]];
      if (!lot.pending) in_lots += lot.remaining;
      ASSERT_EQ(lot.id, m.id) << Where();
      ASSERT_EQ(lot.remaining, m.remaining) << Where() << " lot " << lot.id;
      ASSERT_EQ(lot.pending, m.pending) << Where() << " lot " << lot.id;
    }
    ASSERT_EQ(b.available, in_lots) << Where() << " customer " << c.value;
  }

  // Tallies each operation's outcome: "hold:ok", "confirm:replayed", "redeem:failed_precondition".
  void Count(std::string_view what, const Result<Posting>& r) {
    ++operations_;
    std::string key(what);
    if (!r.has_value()) {
      key += ":" + std::string(ErrorCodeName(r.error().code()));
    } else if (r->replayed) {
      key += ":replayed";
    } else {
      key += Shortfall(r->transfer) > 0 ? ":shortfall" : ":ok";
    }
    ++outcomes_[key];
  }

  // The walk must have gone everywhere it is meant to go.
  void CheckCoverage() const {
    for (const char* key : {"earn:ok",
                            "retry:replayed",
                            "hold:ok",
                            "hold:failed_precondition",
                            "confirm:ok",
                            "confirm:replayed",
                            "confirm:failed_precondition",
                            "release:ok",
                            "release:replayed",
                            "release:failed_precondition",
                            "redeem:ok",
                            "redeem:failed_precondition",
                            "settle:ok",
                            "settle:replayed",
                            "settle:failed_precondition",
                            "cancel:ok",
                            "cancel:replayed",
                            "cancel:failed_precondition",
                            "reverse_earn:ok",
                            "reverse_earn:shortfall",
                            "reverse_earn:failed_precondition",
                            "reverse_debit:ok",
                            "reverse_debit:failed_precondition",
                            "adjust:ok",
                            "adjust:failed_precondition",
                            "resend:replayed",
                            "conflicting resend:already_exists",
                            "settle bogus:not_found",
                            "settle_due:posted",
                            "release_expired:posted",
                            "expire_due:posted"}) {
      EXPECT_GT(outcomes_.count(key) ? outcomes_.at(key) : 0, 0)
          << "seed " << seed_ << " never saw " << key;
    }
  }

  void CheckReplayRebuilds() {
    Ledger rebuilt;
    const std::vector<Transfer> stored(ledger_.transfers().begin(), ledger_.transfers().end());
    for (const Transfer& t : stored) {
      auto p = rebuilt.Apply(t);
      ASSERT_TRUE(p.has_value()) << "replay of " << t.id << ": " << p.error().ToString();
      ASSERT_FALSE(p->replayed) << t.id;
    }
    EXPECT_EQ(rebuilt.balances(), ledger_.balances());
    for (std::int64_t c = 1; c <= kCustomers; ++c) {
      EXPECT_EQ(rebuilt.Lots(CustomerId{c}), ledger_.Lots(CustomerId{c}));
      EXPECT_EQ(rebuilt.Holds(CustomerId{c}), ledger_.Holds(CustomerId{c}));
    }
    const std::vector<LotConsumption> a(rebuilt.consumptions().begin(),
                                        rebuilt.consumptions().end());
    const std::vector<LotConsumption> b(ledger_.consumptions().begin(),
                                        ledger_.consumptions().end());
    EXPECT_EQ(a, b);
    EXPECT_TRUE(rebuilt.CheckInvariants().has_value());
  }

  std::uint64_t seed_;
  std::mt19937_64 rng_;
  std::int64_t now_ = 1000 * kMicrosPerDay;
  int step_ = 0;
  std::int64_t ids_ = 0;
  Ledger ledger_;
  Model model_;
  std::vector<Sent> sent_;
  std::map<std::string, int> outcomes_;
  int operations_ = 0;
};

class LedgerSimulation : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(LedgerSimulation, AgreesWithTheModelAfterEveryStep) {
  Simulation sim(GetParam());
  sim.Run(kSteps);
}

INSTANTIATE_TEST_SUITE_P(Seeds, LedgerSimulation, ::testing::Values(1, 2, 20240601, 0xC0FFEE));

}  // namespace
}  // namespace treu::loyalty
