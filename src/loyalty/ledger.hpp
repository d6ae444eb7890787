// The loyalty program's points ledger: an in-memory, double-entry, append-only record of point
// movements, with lots (what was earned, when it expires), pending points and redemption holds.
//
// No storage, no clock, no I/O. Every operation takes its time as an argument and returns the
// rows it appended (a Posting: one transfer, the lot it created, the lot consumptions it
// recorded), which a store appends in one transaction. The whole state is a function of the
// transfers in the order they were applied: feeding stored transfers to Apply() in that order
// rebuilds it, lots and consumptions included.
//
// Accounts. Each customer has three: the wallet (available points), pending (earned but not yet
// spendable) and held (reserved by a redemption hold). The program has four system accounts:
// issuance (points come from here, so its balance is minus what is out), redemption, expiry and
// adjustment. Every transfer moves points > 0 from one account to another, so the sum of all
// balances is always 0.
//
// Lots. Every credit into a customer (an earn or a credit adjustment) creates a lot with the
// credit's transfer id as its id and an optional expiry. Debits from the wallet (holds,
// redemptions, debit adjustments, reversals) take points out of the customer's settled lots,
// the oldest-expiring first (lots without expiry last; ties by creation order), and record each
// lot they took from as a LotConsumption. So at any time:
//   wallet balance  = Σ remaining points of the customer's settled lots
//   pending balance = Σ remaining points of the customer's pending lots
//   held balance    = Σ points of the customer's active holds
// and the customer's total is the sum of the three.
//
// Pending points. An earn with `pending_until` (an order inside its return window) credits the
// customer's pending account and creates a pending lot. Pending points can't be spent, held,
// expired or taken by other reversals. Settle() (or SettleDue() once `pending_until` has
// passed) moves the lot's remaining points to the wallet and makes the lot settled; Cancel()
// returns them to where they came from. ReverseEarn() on a pending earn takes from its pending
// lot only. A pending lot whose expiry passes before it settles expires at the first
// ExpireDue() after it settles.
//
// Holds. Hold() moves points from the wallet to the held account, taking them out of lots at
// once (oldest-expiring first, like any spend), so held points never expire under a hold.
// Confirm() spends them (held → redemption); Release() gives them back to the very lots they
// came from (held → wallet), and ReleaseExpiredHolds() releases every hold whose `expires_at`
// has passed. A hold past its `expires_at` can't be confirmed any more. Points given back to a
// lot whose expiry has passed are expired by the next ExpireDue().
//
// Refunds after spending. ReverseEarn() takes from the reversed earn's own lot first, then from
// the customer's other available points (oldest-expiring first). It never takes held or
// pending points and never makes a balance negative: when the customer has fewer available
// points than asked, it reverses what is available and reports the rest as the shortfall
// (Transfer::requested − Transfer::points). Nothing is written off: the shortfall stays
// reversible, so the caller can retry later (a new reversal id) or decide on an adjustment.
// When not a single point is available it fails with FailedPrecondition.
//
// Expiry. Expiry takes effect when ExpireDue(now) runs: it moves the remaining points of every
// settled lot whose expiry is <= now to the expiry account, one transfer per lot, with id
// "expire:<lot id>" ("expire:<lot id>/<n>" for the n-th expiry of a lot that got points back
// after expiring). Until then those points are available.
//
// Idempotency. Caller-named transfers (earns, holds, redemptions, adjustments, reversals) are
// identified by their id: asking again with the same id and the same content returns the
// original posting with `replayed` set and changes nothing; the same id with different content
// is AlreadyExists. Follow-up operations (settle, cancel, confirm, release, expiry) derive their
// ids from what they act on ("settle:<earn id>", "cancel:<earn id>", "confirm:<hold id>",
// "release:<hold id>", "expire:<lot id>"), so doing one again returns the original whatever its
// time. Caller ids are 1..200 printable ASCII characters without spaces or '/', and must not
// start with one of the derived prefixes.
//
// Errors: InvalidArgument (malformed request), NotFound (no such earn, hold or debit),
// AlreadyExists (id taken by different content), FailedPrecondition (state forbids it, e.g.
// "insufficient points: available N, asked M"), Internal (a broken invariant: a bug).
//
// Thread safety: none; callers serialize access. A Ledger is a value: copies are independent.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/ids.hpp"
#include "core/status.hpp"
#include "core/time.hpp"

namespace treu::loyalty {

// Largest number of points one transfer may move; keeps every sum far from int64 overflow.
inline constexpr std::int64_t kMaxTransferPoints = 1'000'000'000'000;
// Longest caller-chosen transfer id, in bytes.
inline constexpr std::size_t kMaxTransferIdBytes = 200;

enum class AccountKind : std::uint8_t {
  kIssuance,    // system: where earned points come from
  kRedemption,  // system: where redeemed points go
  kExpiry,      // system: where expired points go
  kAdjustment,  // system: the other side of manual adjustments
  kWallet,      // a customer's available points
  kPending,     // a customer's points not yet spendable
  kHeld,        // a customer's points reserved by holds
};

struct Account {
  AccountKind kind = AccountKind::kIssuance;
  CustomerId customer;  // set for kWallet, kPending and kHeld only

  static constexpr Account Issuance() { return {AccountKind::kIssuance, {}}; }
  static constexpr Account Redemption() { return {AccountKind::kRedemption, {}}; }
  static constexpr Account Expiry() { return {AccountKind::kExpiry, {}}; }
  static constexpr Account Adjustment() { return {AccountKind::kAdjustment, {}}; }
  static constexpr Account Wallet(CustomerId c) { return {AccountKind::kWallet, c}; }
  static constexpr Account Pending(CustomerId c) { return {AccountKind::kPending, c}; }
  static constexpr Account Held(CustomerId c) { return {AccountKind::kHeld, c}; }

  bool is_customer() const { return kind >= AccountKind::kWallet; }
  // "issuance", "redemption", "expiry", "adjustment", "wallet:42", "pending:42", "held:42".
  std::string ToString() const;
  constexpr auto operator<=>(const Account&) const = default;
};

// Account::ToString() back; InvalidArgument for anything else.
Result<Account> ParseAccount(std::string_view text);

// What a transfer does; each kind has one shape of accounts (see Apply()).
enum class TransferKind : std::uint8_t {
  kEarn,          // issuance → wallet, or → pending with pending_until; creates a lot
  kAdjustCredit,  // adjustment → wallet; creates a lot
  kSettle,        // pending → wallet: a pending lot becomes spendable
  kCancel,        // pending → the earn's source account: a pending earn is called off
  kReverseEarn,   // wallet or pending → the credit's source account (a refund)
  kHold,          // wallet → held
  kConfirm,       // held → redemption
  kRelease,       // held → wallet
  kRedeem,        // wallet → redemption, without a hold
  kAdjustDebit,   // wallet → adjustment
  kExpire,        // wallet → expiry: one lot's remaining points
  kReverseDebit,  // redemption or adjustment → wallet: undoes (part of) a debit
};

// Stable lower-case names ("earn", "adjust_credit", ...) and back (InvalidArgument).
std::string_view TransferKindName(TransferKind kind);
Result<TransferKind> ParseTransferKind(std::string_view name);

// The business origin of a transfer.
enum class SourceKind : std::uint8_t {
  kOrder,
  kEvent,
  kRule,
  kAdmin,
  kRedemption,
  kExpiry,
  kRefund
};

// Stable lower-case names ("order", "event", ...) and back (InvalidArgument).
std::string_view SourceKindName(SourceKind kind);
Result<SourceKind> ParseSourceKind(std::string_view name);

struct Source {
  SourceKind kind = SourceKind::kOrder;
  std::string reference;                      // e.g. the order's external id
  std::optional<std::int64_t> admin_user_id;  // who did it, for admin actions
  bool operator==(const Source&) const = default;
};

// One movement of points: the ledger's only fact. Never updated or deleted.
struct Transfer {
  std::string id;  // unique; derived from the source so a replay is recognised
  TransferKind kind = TransferKind::kEarn;
  Account from;
  Account to;
  std::int64_t points = 0;  // > 0
  std::string reason;
  Source source;
  Timestamp at;
  // What the transfer acts on: the earn (settle, cancel, reverse_earn), the hold (confirm,
  // release), the lot (expire) or the debit (reverse_debit); empty otherwise.
  std::string refers_to;
  // earn, adjust_credit: when the lot expires (none: never); hold: when the hold lapses.
  std::optional<Timestamp> expires_at;
  // earn to the pending account: when it may settle (SettleDue); none for other kinds.
  std::optional<Timestamp> pending_until;
  // reverse_earn: the points asked for; `points` may be less (the shortfall). 0 otherwise.
  std::int64_t requested = 0;

  bool operator==(const Transfer&) const = default;
};

// The points a reversal asked for but could not take (0 for other transfers).
inline std::int64_t Shortfall(const Transfer& t) {
  return t.requested > t.points ? t.requested - t.points : 0;
}

// A batch of points credited to a customer together; consumed oldest-expiring first.
struct Lot {
  // Fixed when the lot is created (the row a store appends):
  std::string id;  // the id of the crediting transfer
  CustomerId customer;
  std::int64_t points = 0;
  Timestamp created_at;
  std::optional<Timestamp> expires_at;     // none: never expires
  std::optional<Timestamp> pending_until;  // set for lots created pending
  // Derived from later transfers and consumptions:
  std::int64_t remaining = 0;  // points still in the lot
  bool pending = false;        // in the pending account; false once settled
  bool operator==(const Lot&) const = default;
};

// Points a transfer took out of a lot (points > 0) or gave back to it (points < 0: a release
// or a reversed debit). A lot's remaining points are its points minus all its consumptions.
struct LotConsumption {
  std::string transfer_id;
  std::string lot_id;
  std::int64_t points = 0;
  bool operator==(const LotConsumption&) const = default;
};

// What one operation appended (or, when `replayed`, had appended before).
struct Posting {
  Transfer transfer;
  std::optional<Lot> lot;  // the lot the transfer created, as created
  std::vector<LotConsumption> consumptions;
  bool replayed = false;  // true: the transfer already existed and nothing changed
};

enum class HoldState : std::uint8_t { kActive, kConfirmed, kReleased };

// A redemption hold; its id is the id of the hold transfer.
struct PointsHold {
  std::string id;
  CustomerId customer;
  std::int64_t points = 0;
  Timestamp created_at;
  Timestamp expires_at;
  HoldState state = HoldState::kActive;
  std::string closed_by;  // id of the confirm or release transfer; empty while active
  bool operator==(const PointsHold&) const = default;
};

// A customer's points by account.
struct Balance {
  std::int64_t available = 0;  // spendable: the wallet
  std::int64_t pending = 0;
  std::int64_t held = 0;
  bool operator==(const Balance&) const = default;
};

struct EarnRequest {
  std::string id;  // e.g. "order:o-1:earn"
  CustomerId customer;
  std::int64_t points = 0;
  Timestamp at;
  std::optional<Timestamp> expires_at;     // REQUIRES (if set): > at
  std::optional<Timestamp> pending_until;  // set: the points are pending; REQUIRES > at
  std::string reason;
  Source source;
};

struct HoldRequest {
  std::string id;  // the hold id
  CustomerId customer;
  std::int64_t points = 0;
  Timestamp at;
  Timestamp expires_at;  // REQUIRES: > at
  std::string reason;
  Source source;
};

struct RedeemRequest {
  std::string id;
  CustomerId customer;
  std::int64_t points = 0;
  Timestamp at;
  std::string reason;
  Source source;
};

struct AdjustRequest {
  std::string id;
  CustomerId customer;
  std::int64_t points = 0;  // > 0 credits (a new lot), < 0 debits
  Timestamp at;
  std::optional<Timestamp> expires_at;  // credits only: the new lot's expiry
  std::string reason;
  Source source;
};

struct ReverseEarnRequest {
  std::string id;                      // e.g. "order:o-1:refund:r-1"
  std::string earn_id;                 // an earn or a credit adjustment
  std::optional<std::int64_t> points;  // none: all that is left to reverse
  Timestamp at;
  std::string reason;
  Source source;
};

struct ReverseDebitRequest {
  std::string id;
  std::string debit_id;                // a redeem, confirm or debit adjustment
  std::optional<std::int64_t> points;  // none: all that is left to give back
  Timestamp at;
  std::string reason;
  Source source;
};

class Ledger {
 public:
  // ---- Credits ----

  // Credits `points` from issuance to the customer's wallet (or, with pending_until, to the
  // pending account) and creates a lot. InvalidArgument for a bad id, customer, points or
  // times; AlreadyExists when the id was used for something else.
  Result<Posting> Earn(const EarnRequest& r);

  // Makes a pending earn's remaining points available ("settle:<earn id>"). NotFound: no such
  // earn; FailedPrecondition: not pending, cancelled, or nothing left.
  Result<Posting> Settle(std::string_view earn_id, Timestamp at);

  // Settles every pending lot with points left whose pending_until <= now, in creation order.
  Result<std::vector<Posting>> SettleDue(Timestamp now);

  // Returns a pending earn's remaining points to issuance ("cancel:<earn id>"). NotFound;
  // FailedPrecondition when the earn is settled (reverse it instead) or has nothing left.
  Result<Posting> Cancel(std::string_view earn_id, Timestamp at, std::string reason);

  // Reverses (part of) an earn or credit adjustment: see "Refunds after spending" above. The
  // transfer's `requested` is what was asked for (all that is left, when r.points is none),
  // its `points` what was taken. A request with an id already used is a replay when earn, time,
  // reason and source agree and its points, if given, equal the first request's `requested`.
  // NotFound: no such earn; InvalidArgument: points <= 0; FailedPrecondition: more than is
  // left to reverse, or nothing available to take.
  Result<Posting> ReverseEarn(const ReverseEarnRequest& r);

  // ---- Debits ----

  // Reserves points: wallet → held, out of the oldest-expiring lots. FailedPrecondition
  // "insufficient points: available N, asked M" when the wallet has fewer.
  Result<Posting> Hold(const HoldRequest& r);

  // Spends a hold ("confirm:<hold id>"): held → redemption, with the hold's reason and source.
  // NotFound; FailedPrecondition when the hold was released or `at` is at or after its
  // expires_at.
  Result<Posting> Confirm(std::string_view hold_id, Timestamp at);

  // Gives a hold's points back to the lots they came from ("release:<hold id>"): held →
  // wallet. NotFound; FailedPrecondition when the hold was confirmed.
  Result<Posting> Release(std::string_view hold_id, Timestamp at);

  // Releases every active hold whose expires_at <= now, in creation order.
  Result<std::vector<Posting>> ReleaseExpiredHolds(Timestamp now);

  // Spends points at once: wallet → redemption. Errors as Hold().
  Result<Posting> Redeem(const RedeemRequest& r);

  // A manual correction: points > 0 credit the wallet from the adjustment account (a new lot),
  // points < 0 debit it (oldest-expiring lots first; errors as Hold()).
  Result<Posting> Adjust(const AdjustRequest& r);

  // Undoes (part of) a redemption, a confirmed hold or a debit adjustment: the points go back
  // to the lots they were taken from, the latest-expiring first (lots whose expiry has passed
  // meanwhile are expired again by the next ExpireDue()). A request with an id already used is
  // a replay when debit, time, reason and source agree and its points, if given, equal the
  // first's. NotFound: no such debit; InvalidArgument: not a debit, or points <= 0;
  // FailedPrecondition: more than is left to give back.
  Result<Posting> ReverseDebit(const ReverseDebitRequest& r);

  // Expires, one transfer per lot, the remaining points of every settled lot whose expiry is
  // <= now, in creation order (see "Expiry" above).
  Result<std::vector<Posting>> ExpireDue(Timestamp now);

  // ---- Replay ----

  // Applies a stored transfer as it is: checks its shape (accounts for its kind, derived id)
  // and that the state allows it, then records it with its lot and consumptions. The same
  // transfer again is a replay (the original, `replayed`); the same id with other content is
  // AlreadyExists. The named operations above all end here.
  Result<Posting> Apply(const Transfer& t);

  // ---- Queries ----

  Balance BalanceOf(CustomerId customer) const;
  std::int64_t AccountBalance(const Account& account) const;
  // Every account with a non-zero balance.
  const std::map<Account, std::int64_t>& balances() const { return balances_; }

  // The customer's lots in creation order, empty ones included.
  std::vector<Lot> Lots(CustomerId customer) const;
  std::optional<Lot> FindLot(std::string_view id) const;

  // The customer's holds in creation order, closed ones included.
  std::vector<PointsHold> Holds(CustomerId customer) const;
  std::optional<PointsHold> FindHold(std::string_view id) const;

  // Points the customer earned (earn transfers, not adjustments) at times in [from, to), net
  // of what was reversed or cancelled since; still-pending earns don't count. For tiers.
  std::int64_t LifetimeEarned(CustomerId customer, Timestamp from, Timestamp to) const;

  // The transfers touching any of the customer's accounts, in the order they were applied.
  std::vector<Transfer> History(CustomerId customer) const;

  // Every transfer and every lot consumption, in the order they were applied.
  std::span<const Transfer> transfers() const { return transfers_; }
  std::span<const LotConsumption> consumptions() const { return consumptions_; }
  std::optional<Transfer> FindTransfer(std::string_view id) const;

  // Recomputes the state from the transfers and consumptions and checks: balances sum to 0
  // and match the transfers; each lot's remaining = points − its consumptions, within
  // [0, points]; each customer's wallet, pending and held balances equal the sums of their
  // settled lots, pending lots and active holds, and are >= 0; each active hold's consumptions
  // add up to its points; no transfer id appears twice. Internal with the first violation.
  Status CheckInvariants() const;

 private:
  struct LotRecord {
    Lot lot;
    Account origin;             // the account the credit came from
    std::int64_t reversed = 0;  // points reversed or cancelled so far
    int expiries = 0;           // expire transfers so far
  };
  struct Range {
    std::size_t first = 0;
    std::size_t count = 0;
  };

  // Apply(): the state-dependent checks of each kind, returning the consumptions to record.
  Result<std::vector<LotConsumption>> Plan(const Transfer& t) const;
  Result<std::vector<LotConsumption>> PlanNoLots(const Transfer& t) const;
  Result<std::vector<LotConsumption>> PlanPendingClose(const Transfer& t) const;
  Result<std::vector<LotConsumption>> PlanReverseEarn(const Transfer& t) const;
  Result<std::vector<LotConsumption>> PlanSpend(const Transfer& t) const;
  Result<std::vector<LotConsumption>> PlanRelease(const Transfer& t) const;
  Result<std::vector<LotConsumption>> PlanExpire(const Transfer& t) const;
  Result<std::vector<LotConsumption>> PlanReverseDebit(const Transfer& t) const;
  Result<const PointsHold*> ActiveHold(const Transfer& t) const;
  Result<const LotRecord*> CreditLot(const Transfer& t) const;

  // Apply(): records a checked transfer.
  Posting Commit(const Transfer& t, std::vector<LotConsumption> consumptions);
  void CommitKindEffects(const Transfer& t);
  void Move(const Account& account, std::int64_t delta);
  void AddLot(const Transfer& t);
  void AddHold(const Transfer& t);

  // Shared steps of the named operations.
  Result<Posting> ReplayOf(const Transfer& wanted) const;
  std::optional<Posting> Existing(const std::string& id) const;
  Result<Posting> ClosePending(std::string_view earn_id, Timestamp at, TransferKind kind,
                               std::string reason);
  Result<Posting> CloseHold(std::string_view hold_id, Timestamp at, TransferKind kind,
                            std::string reason);

  // Takes `points` from the customer's settled lots, oldest-expiring first, leaving out lot
  // `skip`. REQUIRES: those lots hold at least `points`.
  std::vector<LotConsumption> TakeFifo(CustomerId c, std::int64_t points,
                                       const std::string& transfer_id,
                                       std::string_view skip = {}) const;
  // Gives `points` back to the lots `debit` took from, latest-expiring first, past the `done`
  // points given back before.
  std::vector<LotConsumption> GiveBack(const Transfer& debit, std::int64_t done,
                                       std::int64_t points, const std::string& transfer_id) const;
  // The consumptions a debit took (a confirm's are its hold's).
  std::span<const LotConsumption> DebitConsumptions(const Transfer& debit) const;
  std::span<const LotConsumption> ConsumptionsOf(std::size_t transfer_index) const;
  std::int64_t RestoredOf(const std::string& debit_id) const;
  Posting PostingOf(std::size_t transfer_index) const;
  static Lot LotAsCreated(const Transfer& t);
  std::string ExpiryId(const LotRecord& r) const;
  const LotRecord* FindLotRecord(std::string_view id) const;
  const PointsHold* FindHoldRecord(std::string_view id) const;

  Status CheckTransfers() const;
  Status CheckLots() const;
  Status CheckCustomers() const;

  std::vector<Transfer> transfers_;
  std::vector<Range> ranges_;  // per transfer: its consumptions in consumptions_
  std::vector<LotConsumption> consumptions_;
  std::unordered_map<std::string, std::size_t> transfer_index_;
  std::map<Account, std::int64_t> balances_;
  std::vector<LotRecord> lots_;
  std::unordered_map<std::string, std::size_t> lot_index_;
  std::map<CustomerId, std::vector<std::size_t>> customer_lots_;
  std::vector<PointsHold> holds_;
  std::unordered_map<std::string, std::size_t> hold_index_;
  std::unordered_map<std::string, std::int64_t> restored_;  // debit id → points given back
};

}  // namespace treu::loyalty
