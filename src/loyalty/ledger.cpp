#include "loyalty/ledger.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <set>

namespace treu::loyalty {
namespace {

constexpr std::uint32_t Bit(AccountKind k) { return 1u << static_cast<unsigned>(k); }

enum class ExpiryUse : std::uint8_t { kNone, kOptional, kRequired };

// The shape of each transfer kind: which accounts it may move between, how its id is made and
// which optional members it uses. Apply() rejects transfers of any other shape.
struct KindInfo {
  TransferKind kind;
  std::string_view name;
  std::uint32_t from;  // allowed AccountKinds (bits)
  std::uint32_t to;
  std::string_view id_prefix;  // derived ids: prefix + refers_to; empty: chosen by the caller
  bool refers;                 // refers_to is required (else it must be empty)
  ExpiryUse expires;
};

constexpr std::uint32_t kWalletBit = Bit(AccountKind::kWallet);
constexpr std::uint32_t kPendingBit = Bit(AccountKind::kPending);
constexpr std::uint32_t kHeldBit = Bit(AccountKind::kHeld);
constexpr std::uint32_t kIssuanceBit = Bit(AccountKind::kIssuance);
constexpr std::uint32_t kRedemptionBit = Bit(AccountKind::kRedemption);
constexpr std::uint32_t kExpiryBit = Bit(AccountKind::kExpiry);
constexpr std::uint32_t kAdjustmentBit = Bit(AccountKind::kAdjustment);

constexpr std::array<KindInfo, 12> kKinds = {{
    {TransferKind::kEarn, "earn", kIssuanceBit, kWalletBit | kPendingBit, "", false,
     ExpiryUse::kOptional},
    {TransferKind::kAdjustCredit, "adjust_credit", kAdjustmentBit, kWalletBit, "", false,
     ExpiryUse::kOptional},
    {TransferKind::kSettle, "settle", kPendingBit, kWalletBit, "settle:", true, ExpiryUse::kNone},
    {TransferKind::kCancel, "cancel", kPendingBit, kIssuanceBit, "cancel:", true, ExpiryUse::kNone},
    {TransferKind::kReverseEarn, "reverse_earn", kWalletBit | kPendingBit,
     kIssuanceBit | kAdjustmentBit, "", true, ExpiryUse::kNone},
    {TransferKind::kHold, "hold", kWalletBit, kHeldBit, "", false, ExpiryUse::kRequired},
    {TransferKind::kConfirm, "confirm", kHeldBit, kRedemptionBit, "confirm:", true,
     ExpiryUse::kNone},
    {TransferKind::kRelease, "release", kHeldBit, kWalletBit, "release:", true, ExpiryUse::kNone},
    {TransferKind::kRedeem, "redeem", kWalletBit, kRedemptionBit, "", false, ExpiryUse::kNone},
    {TransferKind::kAdjustDebit, "adjust_debit", kWalletBit, kAdjustmentBit, "", false,
     ExpiryUse::kNone},
    {TransferKind::kExpire, "expire", kWalletBit, kExpiryBit, "expire:", true, ExpiryUse::kNone},
    {TransferKind::kReverseDebit, "reverse_debit", kRedemptionBit | kAdjustmentBit, kWalletBit, "",
     true, ExpiryUse::kNone},
}};

constexpr bool KindsInEnumOrder() {
  for (std::size_t i = 0; i < kKinds.size(); ++i) {
    if (static_cast<std::size_t>(kKinds[i].kind) != i) return false;
  }
  return true;
}
static_assert(KindsInEnumOrder(), "kKinds is indexed by TransferKind");

const KindInfo& InfoOf(TransferKind kind) { return kKinds[static_cast<std::size_t>(kind)]; }

// "an earn", "a hold".
std::string WithArticle(std::string_view kind_name) {
  const bool vowel = !kind_name.empty() &&
                     std::string_view("aeiou").find(kind_name.front()) != std::string_view::npos;
  return (vowel ? "an " : "a ") + std::string(kind_name);
}

constexpr std::array<std::string_view, 7> kSourceNames = {"order",      "event",  "rule",  "admin",
                                                          "redemption", "expiry", "refund"};

std::string TransferContext(std::string_view id) { return "transfer " + std::string(id); }
std::string CustomerContext(CustomerId c) { return "customer " + std::to_string(c.value); }

std::unexpected<Error> Insufficient(CustomerId c, std::int64_t available, std::int64_t asked) {
  return FailedPrecondition(CustomerContext(c), "insufficient points: available " +
                                                    std::to_string(available) + ", asked " +
                                                    std::to_string(asked));
}

// Caller-chosen ids: printable ASCII without spaces or '/', not a derived id.
Status CheckCallerId(std::string_view id) {
  const std::string context = TransferContext(id);
  if (id.empty() || id.size() > kMaxTransferIdBytes) {
    return InvalidArgument(context,
                           "id must have 1 to " + std::to_string(kMaxTransferIdBytes) + " bytes");
  }
  for (const char c : id) {
    if (c <= ' ' || c > '~' || c == '/') {
      return InvalidArgument(context, "id must be printable ASCII without spaces or '/'");
    }
  }
  for (const KindInfo& k : kKinds) {
    if (!k.id_prefix.empty() && id.starts_with(k.id_prefix)) {
      return InvalidArgument(context, "id prefix '" + std::string(k.id_prefix) + "' is reserved");
    }
  }
  return Ok();
}

Status CheckPoints(std::string_view id, std::int64_t points) {
  if (points < 1 || points > kMaxTransferPoints) {
    return InvalidArgument(TransferContext(id),
                           "points must be between 1 and " + std::to_string(kMaxTransferPoints));
  }
  return Ok();
}

// The customer whose account is on either side (both sides' customers must agree).
CustomerId CustomerOf(const Transfer& t) {
  return t.from.is_customer() ? t.from.customer : t.to.customer;
}

Status CheckAccounts(const Transfer& t, const KindInfo& info) {
  const std::string context = TransferContext(t.id);
  if ((info.from & Bit(t.from.kind)) == 0 || (info.to & Bit(t.to.kind)) == 0) {
    return InvalidArgument(context, WithArticle(info.name) + " cannot move points from " +
                                        t.from.ToString() + " to " + t.to.ToString());
  }
  for (const Account& a : {t.from, t.to}) {
    if (a.is_customer() ? !a.customer.valid() : a.customer.value != 0) {
      return InvalidArgument(context, "account " + a.ToString() + " has a bad customer id");
    }
  }
  if (t.from.is_customer() && t.to.is_customer() && t.from.customer != t.to.customer) {
    return InvalidArgument(context, "both accounts must belong to one customer");
  }
  if (t.kind == TransferKind::kEarn &&
      (t.to.kind == AccountKind::kPending) != t.pending_until.has_value()) {
    return InvalidArgument(context,
                           "an earn goes to the pending account exactly when it has pending_until");
  }
  return Ok();
}

Status CheckOptionalMembers(const Transfer& t, const KindInfo& info) {
  const std::string context = TransferContext(t.id);
  if (info.refers == t.refers_to.empty()) {
    return InvalidArgument(context, std::string("refers_to must be ") +
                                        (info.refers ? "set" : "empty") + " for " +
                                        WithArticle(info.name));
  }
  const bool expires_ok = info.expires == ExpiryUse::kOptional ||
                          (info.expires == ExpiryUse::kRequired) == t.expires_at.has_value();
  if (!expires_ok) {
    return InvalidArgument(context, std::string("expires_at must be ") +
                                        (info.expires == ExpiryUse::kRequired ? "set" : "empty") +
                                        " for " + WithArticle(info.name));
  }
  if (t.expires_at && *t.expires_at <= t.at) {
    return InvalidArgument(context, "expires_at must be after at");
  }
  if (t.pending_until && *t.pending_until <= t.at) {
    return InvalidArgument(context, "pending_until must be after at");
  }
  if (t.pending_until && t.kind != TransferKind::kEarn) {
    return InvalidArgument(context, "only an earn can be pending");
  }
  if (t.kind == TransferKind::kReverseEarn ? t.requested < t.points : t.requested != 0) {
    return InvalidArgument(context,
                           "requested must be at least points for a reverse_earn and 0 otherwise");
  }
  return Ok();
}

Status CheckId(const Transfer& t, const KindInfo& info) {
  if (info.id_prefix.empty()) return CheckCallerId(t.id);
  const std::string derived = std::string(info.id_prefix) + t.refers_to;
  // An expiry id may carry a "/<n>" suffix; PlanExpire checks it exactly.
  const bool ok = t.kind == TransferKind::kExpire ? t.id.starts_with(derived) : t.id == derived;
  if (!ok) {
    return InvalidArgument(TransferContext(t.id),
                           WithArticle(info.name) + " must have id " + derived);
  }
  return Ok();
}

// Checks everything about a transfer that doesn't depend on the ledger's state.
Status CheckShape(const Transfer& t) {
  if (static_cast<std::size_t>(t.kind) >= kKinds.size()) {
    return InvalidArgument(TransferContext(t.id), "bad kind");
  }
  const KindInfo& info = InfoOf(t.kind);
  TREU_RETURN_IF_ERROR(CheckId(t, info));
  TREU_RETURN_IF_ERROR(CheckPoints(t.id, t.points));
  TREU_RETURN_IF_ERROR(CheckAccounts(t, info));
  return CheckOptionalMembers(t, info);
}

std::string OptionalTime(const std::optional<Timestamp>& t) {
  return t ? FormatTimestamp(*t) : "none";
}

// Names the first member in which two transfers with one id differ.
std::string FirstDifference(const Transfer& stored, const Transfer& given) {
  auto differs = [](std::string_view member, const std::string& a, const std::string& b) {
    return std::string(member) + " differs (stored " + a + ", given " + b + ")";
  };
  if (stored.kind != given.kind) {
    return differs("kind", std::string(TransferKindName(stored.kind)),
                   std::string(TransferKindName(given.kind)));
  }
  if (stored.from != given.from) {
    return differs("from", stored.from.ToString(), given.from.ToString());
  }
  if (stored.to != given.to) return differs("to", stored.to.ToString(), given.to.ToString());
  if (stored.points != given.points) {
    return differs("points", std::to_string(stored.points), std::to_string(given.points));
  }
  if (stored.requested != given.requested) {
    return differs("requested points", std::to_string(stored.requested),
                   std::to_string(given.requested));
  }
  if (stored.at != given.at) {
    return differs("at", FormatTimestamp(stored.at), FormatTimestamp(given.at));
  }
  if (stored.refers_to != given.refers_to) {
    return differs("refers_to", stored.refers_to, given.refers_to);
  }
  if (stored.expires_at != given.expires_at) {
    return differs("expires_at", OptionalTime(stored.expires_at), OptionalTime(given.expires_at));
  }
  if (stored.pending_until != given.pending_until) {
    return differs("pending_until", OptionalTime(stored.pending_until),
                   OptionalTime(given.pending_until));
  }
  if (stored.reason != given.reason) return differs("reason", stored.reason, given.reason);
  return "source differs";
}

bool IsDebitOfWallet(TransferKind k) {
  return k == TransferKind::kRedeem || k == TransferKind::kConfirm ||
         k == TransferKind::kAdjustDebit;
}

}  // namespace

// ---- Names ----

std::string Account::ToString() const {
  switch (kind) {
    case AccountKind::kIssuance:
      return "issuance";
    case AccountKind::kRedemption:
      return "redemption";
    case AccountKind::kExpiry:
      return "expiry";
    case AccountKind::kAdjustment:
      return "adjustment";
    case AccountKind::kWallet:
      return "wallet:" + std::to_string(customer.value);
    case AccountKind::kPending:
      return "pending:" + std::to_string(customer.value);
    case AccountKind::kHeld:
      return "held:" + std::to_string(customer.value);
  }
  return "unknown";
}

Result<Account> ParseAccount(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, AccountKind>, 4> kSystem = {{
      {"issuance", AccountKind::kIssuance},
      {"redemption", AccountKind::kRedemption},
      {"expiry", AccountKind::kExpiry},
      {"adjustment", AccountKind::kAdjustment},
  }};
  static constexpr std::array<std::pair<std::string_view, AccountKind>, 3> kCustomer = {{
      {"wallet:", AccountKind::kWallet},
      {"pending:", AccountKind::kPending},
      {"held:", AccountKind::kHeld},
  }};
  for (const auto& [name, kind] : kSystem) {
    if (text == name) return Account{kind, {}};
  }
  for (const auto& [prefix, kind] : kCustomer) {
    if (!text.starts_with(prefix)) continue;
    const std::string_view digits = text.substr(prefix.size());
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec == std::errc() && end == digits.data() + digits.size() && id > 0 && digits[0] != '0') {
      return Account{kind, CustomerId{id}};
    }
  }
  return InvalidArgument("account", "unknown account '" + std::string(text) + "'");
}

std::string_view TransferKindName(TransferKind kind) {
  return static_cast<std::size_t>(kind) < kKinds.size() ? InfoOf(kind).name : "unknown";
}

Result<TransferKind> ParseTransferKind(std::string_view name) {
  for (const KindInfo& k : kKinds) {
    if (k.name == name) return k.kind;
  }
  return InvalidArgument("transfer kind", "unknown kind '" + std::string(name) + "'");
}

std::string_view SourceKindName(SourceKind kind) {
  return static_cast<std::size_t>(kind) < kSourceNames.size()
             ? kSourceNames[static_cast<std::size_t>(kind)]
             : "unknown";
}

Result<SourceKind> ParseSourceKind(std::string_view name) {
  for (std::size_t i = 0; i < kSourceNames.size(); ++i) {
    if (kSourceNames[i] == name) return static_cast<SourceKind>(i);
  }
  return InvalidArgument("source kind", "unknown kind '" + std::string(name) + "'");
}

// ---- Apply: check, plan, commit ----

Result<Posting> Ledger::Apply(const Transfer& t) {
  TREU_RETURN_IF_ERROR(CheckShape(t));
  if (transfer_index_.contains(t.id)) return ReplayOf(t);
  TREU_ASSIGN_OR_RETURN(std::vector<LotConsumption> consumptions, Plan(t));
  return Commit(t, std::move(consumptions));
}

Result<Posting> Ledger::ReplayOf(const Transfer& wanted) const {
  const std::size_t index = transfer_index_.at(wanted.id);
  const Transfer& stored = transfers_[index];
  if (stored != wanted) {
    return AlreadyExists(TransferContext(wanted.id), "already applied with different content: " +
                                                         FirstDifference(stored, wanted));
  }
  Posting p = PostingOf(index);
  p.replayed = true;
  return p;
}

std::optional<Posting> Ledger::Existing(const std::string& id) const {
  auto it = transfer_index_.find(id);
  if (it == transfer_index_.end()) return std::nullopt;
  Posting p = PostingOf(it->second);
  p.replayed = true;
  return p;
}

Result<std::vector<LotConsumption>> Ledger::Plan(const Transfer& t) const {
  switch (t.kind) {
    case TransferKind::kEarn:
    case TransferKind::kAdjustCredit:
    case TransferKind::kConfirm:
      return PlanNoLots(t);
    case TransferKind::kSettle:
    case TransferKind::kCancel:
      return PlanPendingClose(t);
    case TransferKind::kReverseEarn:
      return PlanReverseEarn(t);
    case TransferKind::kHold:
    case TransferKind::kRedeem:
    case TransferKind::kAdjustDebit:
      return PlanSpend(t);
    case TransferKind::kRelease:
      return PlanRelease(t);
    case TransferKind::kExpire:
      return PlanExpire(t);
    case TransferKind::kReverseDebit:
      return PlanReverseDebit(t);
  }
  return Internal(TransferContext(t.id), "unhandled kind");
}

Result<std::vector<LotConsumption>> Ledger::PlanNoLots(const Transfer& t) const {
  if (t.kind == TransferKind::kConfirm) {
    TREU_ASSIGN_OR_RETURN(const PointsHold* hold, ActiveHold(t));
    if (t.at >= hold->expires_at) {
      return FailedPrecondition("hold " + t.refers_to,
                                "expired at " + FormatTimestamp(hold->expires_at));
    }
  }
  return std::vector<LotConsumption>{};
}

Result<const PointsHold*> Ledger::ActiveHold(const Transfer& t) const {
  const PointsHold* hold = FindHoldRecord(t.refers_to);
  const std::string context = "hold " + t.refers_to;
  if (hold == nullptr) return NotFound(context, "no such hold");
  if (hold->customer != CustomerOf(t)) {
    return InvalidArgument(context, "belongs to another customer");
  }
  if (hold->state != HoldState::kActive) {
    return FailedPrecondition(
        context,
        std::string("was ") + (hold->state == HoldState::kConfirmed ? "confirmed" : "released"));
  }
  if (t.points != hold->points) {
    return InvalidArgument(TransferContext(t.id),
                           "must move the hold's " + std::to_string(hold->points) + " points");
  }
  return hold;
}

Result<const Ledger::LotRecord*> Ledger::CreditLot(const Transfer& t) const {
  const LotRecord* lot = FindLotRecord(t.refers_to);
  const std::string context = "earn " + t.refers_to;
  if (lot == nullptr) return NotFound(context, "no such earn");
  if (lot->lot.customer != CustomerOf(t)) {
    return InvalidArgument(context, "belongs to another customer");
  }
  return lot;
}

Result<std::vector<LotConsumption>> Ledger::PlanPendingClose(const Transfer& t) const {
  TREU_ASSIGN_OR_RETURN(const LotRecord* lot, CreditLot(t));
  const std::string context = "earn " + t.refers_to;
  if (!lot->lot.pending) return FailedPrecondition(context, "is not pending");
  if (t.points != lot->lot.remaining) {
    return InvalidArgument(
        TransferContext(t.id),
        "must move all " + std::to_string(lot->lot.remaining) + " pending points");
  }
  if (t.kind == TransferKind::kSettle) return std::vector<LotConsumption>{};
  if (t.to != lot->origin) {
    return InvalidArgument(TransferContext(t.id),
                           "must return the points to " + lot->origin.ToString());
  }
  return std::vector<LotConsumption>{{t.id, lot->lot.id, t.points}};
}

Result<std::vector<LotConsumption>> Ledger::PlanReverseEarn(const Transfer& t) const {
  TREU_ASSIGN_OR_RETURN(const LotRecord* lot, CreditLot(t));
  const std::string context = "earn " + t.refers_to;
  const std::int64_t left = lot->lot.points - lot->reversed;
  if (t.requested > left) {
    return FailedPrecondition(context, "asked to reverse " + std::to_string(t.requested) +
                                           " points, only " + std::to_string(left) +
                                           " left to reverse");
  }
  if (t.to != lot->origin) {
    return InvalidArgument(TransferContext(t.id),
                           "must return the points to " + lot->origin.ToString());
  }
  if ((t.from.kind == AccountKind::kPending) != lot->lot.pending) {
    return InvalidArgument(
        TransferContext(t.id),
        "must take the points from " + (lot->lot.pending ? Account::Pending(lot->lot.customer)
                                                         : Account::Wallet(lot->lot.customer))
                                           .ToString());
  }
  const std::int64_t available = lot->lot.pending ? lot->lot.remaining : AccountBalance(t.from);
  if (t.points > available) return Insufficient(lot->lot.customer, available, t.points);
  const std::int64_t own = std::min(t.points, lot->lot.remaining);
  std::vector<LotConsumption> taken;
  if (own > 0) taken.push_back({t.id, lot->lot.id, own});
  if (own < t.points) {
    std::vector<LotConsumption> rest =
        TakeFifo(lot->lot.customer, t.points - own, t.id, lot->lot.id);
    taken.insert(taken.end(), rest.begin(), rest.end());
  }
  return taken;
}

Result<std::vector<LotConsumption>> Ledger::PlanSpend(const Transfer& t) const {
  const CustomerId c = CustomerOf(t);
  const std::int64_t available = AccountBalance(Account::Wallet(c));
  if (t.points > available) return Insufficient(c, available, t.points);
  return TakeFifo(c, t.points, t.id);
}

Result<std::vector<LotConsumption>> Ledger::PlanRelease(const Transfer& t) const {
  TREU_ASSIGN_OR_RETURN(const PointsHold* hold, ActiveHold(t));
  std::vector<LotConsumption> given_back;
  for (const LotConsumption& c : ConsumptionsOf(transfer_index_.at(hold->id))) {
    given_back.push_back({t.id, c.lot_id, -c.points});
  }
  return given_back;
}

Result<std::vector<LotConsumption>> Ledger::PlanExpire(const Transfer& t) const {
  const LotRecord* lot = FindLotRecord(t.refers_to);
  const std::string context = "lot " + t.refers_to;
  if (lot == nullptr) return NotFound(context, "no such lot");
  if (lot->lot.customer != CustomerOf(t)) {
    return InvalidArgument(context, "belongs to another customer");
  }
  if (lot->lot.pending) return FailedPrecondition(context, "is pending");
  if (!lot->lot.expires_at || *lot->lot.expires_at > t.at) {
    return FailedPrecondition(context, "does not expire by " + FormatTimestamp(t.at));
  }
  if (t.points != lot->lot.remaining) {
    return InvalidArgument(TransferContext(t.id),
                           "must expire all " + std::to_string(lot->lot.remaining) + " points");
  }
  if (t.id != ExpiryId(*lot)) {
    return InvalidArgument(TransferContext(t.id), "must have id " + ExpiryId(*lot));
  }
  return std::vector<LotConsumption>{{t.id, lot->lot.id, t.points}};
}

Result<std::vector<LotConsumption>> Ledger::PlanReverseDebit(const Transfer& t) const {
  const std::string context = "debit " + t.refers_to;
  auto it = transfer_index_.find(t.refers_to);
  if (it == transfer_index_.end()) return NotFound(context, "no such transfer");
  const Transfer& debit = transfers_[it->second];
  if (!IsDebitOfWallet(debit.kind)) {
    return InvalidArgument(context, "is " + WithArticle(TransferKindName(debit.kind)) +
                                        ", not a redemption or a debit adjustment");
  }
  if (CustomerOf(debit) != CustomerOf(t)) {
    return InvalidArgument(context, "belongs to another customer");
  }
  if (t.from != debit.to) {
    return InvalidArgument(TransferContext(t.id),
                           "must take the points from " + debit.to.ToString());
  }
  const std::int64_t done = RestoredOf(debit.id);
  if (t.points > debit.points - done) {
    return FailedPrecondition(context, "asked to give back " + std::to_string(t.points) +
                                           " points, only " + std::to_string(debit.points - done) +
                                           " left");
  }
  return GiveBack(debit, done, t.points, t.id);
}

std::vector<LotConsumption> Ledger::GiveBack(const Transfer& debit, std::int64_t done,
                                             std::int64_t points,
                                             const std::string& transfer_id) const {
  // The debit took from its lots oldest-expiring first; walk them backwards, past the points
  // earlier reversals already gave back.
  const std::span<const LotConsumption> taken = DebitConsumptions(debit);
  std::vector<LotConsumption> given;
  for (auto it = taken.rbegin(); it != taken.rend() && points > 0; ++it) {
    const std::int64_t skip = std::min(done, it->points);
    done -= skip;
    const std::int64_t give = std::min(points, it->points - skip);
    if (give == 0) continue;
    given.push_back({transfer_id, it->lot_id, -give});
    points -= give;
  }
  return given;
}

std::vector<LotConsumption> Ledger::TakeFifo(CustomerId c, std::int64_t points,
                                             const std::string& transfer_id,
                                             std::string_view skip) const {
  std::vector<std::size_t> order;
  auto found = customer_lots_.find(c);
  if (found != customer_lots_.end()) {
    for (const std::size_t i : found->second) {
      const Lot& lot = lots_[i].lot;
      if (!lot.pending && lot.remaining > 0 && lot.id != skip) order.push_back(i);
    }
  }
  constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return lots_[a].lot.expires_at.value_or(Timestamp{kNever}) <
           lots_[b].lot.expires_at.value_or(Timestamp{kNever});
  });
  std::vector<LotConsumption> taken;
  for (const std::size_t i : order) {
    if (points == 0) break;
    const std::int64_t take = std::min(points, lots_[i].lot.remaining);
    taken.push_back({transfer_id, lots_[i].lot.id, take});
    points -= take;
  }
  return taken;
}

Posting Ledger::Commit(const Transfer& t, std::vector<LotConsumption> consumptions) {
  const std::size_t index = transfers_.size();
  transfers_.push_back(t);
  transfer_index_.emplace(t.id, index);
  ranges_.push_back({consumptions_.size(), consumptions.size()});
  for (LotConsumption& c : consumptions) {
    lots_[lot_index_.at(c.lot_id)].lot.remaining -= c.points;
    consumptions_.push_back(std::move(c));
  }
  Move(t.from, -t.points);
  Move(t.to, t.points);
  CommitKindEffects(t);
  return PostingOf(index);
}

void Ledger::Move(const Account& account, std::int64_t delta) {
  const std::int64_t balance = balances_[account] += delta;
  if (balance == 0) balances_.erase(account);
}

void Ledger::CommitKindEffects(const Transfer& t) {
  switch (t.kind) {
    case TransferKind::kEarn:
    case TransferKind::kAdjustCredit:
      AddLot(t);
      break;
    case TransferKind::kSettle:
      lots_[lot_index_.at(t.refers_to)].lot.pending = false;
      break;
    case TransferKind::kCancel:
    case TransferKind::kReverseEarn:
      lots_[lot_index_.at(t.refers_to)].reversed += t.points;
      break;
    case TransferKind::kHold:
      AddHold(t);
      break;
    case TransferKind::kConfirm:
    case TransferKind::kRelease: {
      PointsHold& hold = holds_[hold_index_.at(t.refers_to)];
      hold.state = t.kind == TransferKind::kConfirm ? HoldState::kConfirmed : HoldState::kReleased;
      hold.closed_by = t.id;
      break;
    }
    case TransferKind::kExpire:
      ++lots_[lot_index_.at(t.refers_to)].expiries;
      break;
    case TransferKind::kReverseDebit:
      restored_[t.refers_to] += t.points;
      break;
    case TransferKind::kRedeem:
    case TransferKind::kAdjustDebit:
      break;
  }
}

Lot Ledger::LotAsCreated(const Transfer& t) {
  return Lot{.id = t.id,
             .customer = t.to.customer,
             .points = t.points,
             .created_at = t.at,
             .expires_at = t.expires_at,
             .pending_until = t.pending_until,
             .remaining = t.points,
             .pending = t.to.kind == AccountKind::kPending};
}

void Ledger::AddLot(const Transfer& t) {
  const std::size_t index = lots_.size();
  lots_.push_back({LotAsCreated(t), t.from});
  lot_index_.emplace(t.id, index);
  customer_lots_[t.to.customer].push_back(index);
}

void Ledger::AddHold(const Transfer& t) {
  hold_index_.emplace(t.id, holds_.size());
  holds_.push_back({.id = t.id,
                    .customer = t.from.customer,
                    .points = t.points,
                    .created_at = t.at,
                    .expires_at = *t.expires_at,
                    .state = HoldState::kActive,
                    .closed_by = {}});
}

Posting Ledger::PostingOf(std::size_t index) const {
  Posting p;
  p.transfer = transfers_[index];
  if (p.transfer.kind == TransferKind::kEarn || p.transfer.kind == TransferKind::kAdjustCredit) {
    p.lot = LotAsCreated(p.transfer);
  }
  const std::span<const LotConsumption> c = ConsumptionsOf(index);
  p.consumptions.assign(c.begin(), c.end());
  return p;
}

std::span<const LotConsumption> Ledger::ConsumptionsOf(std::size_t index) const {
  const Range r = ranges_[index];
  return std::span<const LotConsumption>(consumptions_).subspan(r.first, r.count);
}

std::span<const LotConsumption> Ledger::DebitConsumptions(const Transfer& debit) const {
  const std::string& id = debit.kind == TransferKind::kConfirm ? debit.refers_to : debit.id;
  return ConsumptionsOf(transfer_index_.at(id));
}

std::int64_t Ledger::RestoredOf(const std::string& debit_id) const {
  auto it = restored_.find(debit_id);
  return it == restored_.end() ? 0 : it->second;
}

std::string Ledger::ExpiryId(const LotRecord& r) const {
  std::string id = "expire:" + r.lot.id;
  if (r.expiries > 0) id += "/" + std::to_string(r.expiries + 1);
  return id;
}

const Ledger::LotRecord* Ledger::FindLotRecord(std::string_view id) const {
  auto it = lot_index_.find(std::string(id));
  return it == lot_index_.end() ? nullptr : &lots_[it->second];
}

const PointsHold* Ledger::FindHoldRecord(std::string_view id) const {
  auto it = hold_index_.find(std::string(id));
  return it == hold_index_.end() ? nullptr : &holds_[it->second];
}

// ---- Credits ----

Result<Posting> Ledger::Earn(const EarnRequest& r) {
  return Apply(
      Transfer{.id = r.id,
               .kind = TransferKind::kEarn,
               .from = Account::Issuance(),
               .to = r.pending_until ? Account::Pending(r.customer) : Account::Wallet(r.customer),
               .points = r.points,
               .reason = r.reason,
               .source = r.source,
               .at = r.at,
               .refers_to = {},
               .expires_at = r.expires_at,
               .pending_until = r.pending_until,
               .requested = 0});
}

Result<Posting> Ledger::Settle(std::string_view earn_id, Timestamp at) {
  return ClosePending(earn_id, at, TransferKind::kSettle, "pending points settled");
}

Result<Posting> Ledger::Cancel(std::string_view earn_id, Timestamp at, std::string reason) {
  return ClosePending(earn_id, at, TransferKind::kCancel, std::move(reason));
}

Result<Posting> Ledger::ClosePending(std::string_view earn_id, Timestamp at, TransferKind kind,
                                     std::string reason) {
  const std::string id = std::string(InfoOf(kind).id_prefix) + std::string(earn_id);
  if (auto done = Existing(id)) return *done;
  const std::string context = "earn " + std::string(earn_id);
  const LotRecord* lot = FindLotRecord(earn_id);
  if (lot == nullptr) return NotFound(context, "no such earn");
  if (transfer_index_.contains("cancel:" + lot->lot.id)) {
    return FailedPrecondition(context, "was cancelled");
  }
  if (!lot->lot.pending) {
    return FailedPrecondition(context, kind == TransferKind::kCancel
                                           ? "is settled; reverse it instead"
                                           : "is not pending");
  }
  if (lot->lot.remaining == 0) return FailedPrecondition(context, "has no pending points left");
  const CustomerId c = lot->lot.customer;
  return Apply(Transfer{.id = id,
                        .kind = kind,
                        .from = Account::Pending(c),
                        .to = kind == TransferKind::kSettle ? Account::Wallet(c) : lot->origin,
                        .points = lot->lot.remaining,
                        .reason = std::move(reason),
                        .source = transfers_[transfer_index_.at(lot->lot.id)].source,
                        .at = at,
                        .refers_to = lot->lot.id});
}

Result<std::vector<Posting>> Ledger::SettleDue(Timestamp now) {
  std::vector<std::string> due;
  for (const LotRecord& r : lots_) {
    const Lot& lot = r.lot;
    if (lot.pending && lot.remaining > 0 && lot.pending_until && *lot.pending_until <= now) {
      due.push_back(lot.id);
    }
  }
  std::vector<Posting> postings;
  for (const std::string& id : due) {
    TREU_ASSIGN_OR_RETURN(Posting p, Settle(id, now));
    postings.push_back(std::move(p));
  }
  return postings;
}

Result<Posting> Ledger::ReverseEarn(const ReverseEarnRequest& r) {
  TREU_RETURN_IF_ERROR(CheckCallerId(r.id));
  Transfer t{.id = r.id,
             .kind = TransferKind::kReverseEarn,
             .from = {},
             .to = {},
             .points = 0,
             .reason = r.reason,
             .source = r.source,
             .at = r.at,
             .refers_to = r.earn_id};
  if (auto it = transfer_index_.find(r.id); it != transfer_index_.end()) {
    // A retry: the amounts were resolved when it was first applied.
    const Transfer& stored = transfers_[it->second];
    t.from = stored.from;
    t.to = stored.to;
    t.points = stored.points;
    t.requested = r.points.value_or(stored.requested);
    return ReplayOf(t);
  }
  const std::string context = "earn " + r.earn_id;
  const LotRecord* lot = FindLotRecord(r.earn_id);
  if (lot == nullptr) return NotFound(context, "no such earn");
  if (r.points && *r.points <= 0) {
    return InvalidArgument(TransferContext(r.id), "points must be positive");
  }
  const std::int64_t left = lot->lot.points - lot->reversed;
  if (left == 0) return FailedPrecondition(context, "nothing left to reverse");
  t.requested = r.points.value_or(left);
  if (t.requested > left) {
    return FailedPrecondition(context, "asked to reverse " + std::to_string(t.requested) +
                                           " points, only " + std::to_string(left) +
                                           " left to reverse");
  }
  const CustomerId c = lot->lot.customer;
  t.from = lot->lot.pending ? Account::Pending(c) : Account::Wallet(c);
  t.to = lot->origin;
  const std::int64_t available = lot->lot.pending ? lot->lot.remaining : AccountBalance(t.from);
  t.points = std::min(t.requested, available);
  if (t.points == 0) return Insufficient(c, available, t.requested);
  return Apply(t);
}

// ---- Debits ----

Result<Posting> Ledger::Hold(const HoldRequest& r) {
  return Apply(Transfer{.id = r.id,
                        .kind = TransferKind::kHold,
                        .from = Account::Wallet(r.customer),
                        .to = Account::Held(r.customer),
                        .points = r.points,
                        .reason = r.reason,
                        .source = r.source,
                        .at = r.at,
                        .refers_to = {},
                        .expires_at = r.expires_at});
}

Result<Posting> Ledger::Confirm(std::string_view hold_id, Timestamp at) {
  return CloseHold(hold_id, at, TransferKind::kConfirm, "");
}

Result<Posting> Ledger::Release(std::string_view hold_id, Timestamp at) {
  return CloseHold(hold_id, at, TransferKind::kRelease, "hold released");
}

Result<Posting> Ledger::CloseHold(std::string_view hold_id, Timestamp at, TransferKind kind,
                                  std::string reason) {
  const std::string id = std::string(InfoOf(kind).id_prefix) + std::string(hold_id);
  if (auto done = Existing(id)) return *done;
  const PointsHold* hold = FindHoldRecord(hold_id);
  if (hold == nullptr) return NotFound("hold " + std::string(hold_id), "no such hold");
  const Transfer& opened = transfers_[transfer_index_.at(hold->id)];
  const bool confirm = kind == TransferKind::kConfirm;
  return Apply(Transfer{.id = id,
                        .kind = kind,
                        .from = Account::Held(hold->customer),
                        .to = confirm ? Account::Redemption() : Account::Wallet(hold->customer),
                        .points = hold->points,
                        .reason = confirm ? opened.reason : std::move(reason),
                        .source = opened.source,
                        .at = at,
                        .refers_to = hold->id});
}

Result<std::vector<Posting>> Ledger::ReleaseExpiredHolds(Timestamp now) {
  std::vector<std::string> due;
  for (const PointsHold& h : holds_) {
    if (h.state == HoldState::kActive && h.expires_at <= now) due.push_back(h.id);
  }
  std::vector<Posting> postings;
  for (const std::string& id : due) {
    TREU_ASSIGN_OR_RETURN(Posting p, CloseHold(id, now, TransferKind::kRelease, "hold expired"));
    postings.push_back(std::move(p));
  }
  return postings;
}

Result<Posting> Ledger::Redeem(const RedeemRequest& r) {
  return Apply(Transfer{.id = r.id,
                        .kind = TransferKind::kRedeem,
                        .from = Account::Wallet(r.customer),
                        .to = Account::Redemption(),
                        .points = r.points,
                        .reason = r.reason,
                        .source = r.source,
                        .at = r.at});
}

Result<Posting> Ledger::Adjust(const AdjustRequest& r) {
  if (r.points == 0 || r.points < -kMaxTransferPoints) {
    return InvalidArgument(TransferContext(r.id), "points must be non-zero and at most " +
                                                      std::to_string(kMaxTransferPoints) +
                                                      " either way");
  }
  const bool credit = r.points > 0;
  return Apply(Transfer{.id = r.id,
                        .kind = credit ? TransferKind::kAdjustCredit : TransferKind::kAdjustDebit,
                        .from = credit ? Account::Adjustment() : Account::Wallet(r.customer),
                        .to = credit ? Account::Wallet(r.customer) : Account::Adjustment(),
                        .points = credit ? r.points : -r.points,
                        .reason = r.reason,
                        .source = r.source,
                        .at = r.at,
                        .refers_to = {},
                        .expires_at = r.expires_at});
}

Result<Posting> Ledger::ReverseDebit(const ReverseDebitRequest& r) {
  TREU_RETURN_IF_ERROR(CheckCallerId(r.id));
  Transfer t{.id = r.id,
             .kind = TransferKind::kReverseDebit,
             .from = {},
             .to = {},
             .points = r.points.value_or(0),
             .reason = r.reason,
             .source = r.source,
             .at = r.at,
             .refers_to = r.debit_id};
  if (auto it = transfer_index_.find(r.id); it != transfer_index_.end()) {
    const Transfer& stored = transfers_[it->second];
    t.from = stored.from;
    t.to = stored.to;
    if (!r.points) t.points = stored.points;
    return ReplayOf(t);
  }
  const std::string context = "debit " + r.debit_id;
  auto it = transfer_index_.find(r.debit_id);
  if (it == transfer_index_.end()) return NotFound(context, "no such transfer");
  const Transfer& debit = transfers_[it->second];
  if (!IsDebitOfWallet(debit.kind)) {
    return InvalidArgument(context, "is " + WithArticle(TransferKindName(debit.kind)) +
                                        ", not a redemption or a debit adjustment");
  }
  if (r.points && *r.points <= 0) {
    return InvalidArgument(TransferContext(r.id), "points must be positive");
  }
  const std::int64_t left = debit.points - RestoredOf(debit.id);
  if (left == 0) return FailedPrecondition(context, "nothing left to give back");
  if (!r.points) t.points = left;
  t.from = debit.to;
  t.to = Account::Wallet(CustomerOf(debit));
  return Apply(t);
}

Result<std::vector<Posting>> Ledger::ExpireDue(Timestamp now) {
  std::vector<std::size_t> due;
  for (std::size_t i = 0; i < lots_.size(); ++i) {
    const Lot& lot = lots_[i].lot;
    if (!lot.pending && lot.remaining > 0 && lot.expires_at && *lot.expires_at <= now) {
      due.push_back(i);
    }
  }
  std::vector<Posting> postings;
  for (const std::size_t i : due) {
    const Lot& lot = lots_[i].lot;
    // Built member by member: GCC 12 at -O3 misreads the designated initializer's temporary
    // source as maybe uninitialized here.
    Transfer t;
    t.id = ExpiryId(lots_[i]);
    t.kind = TransferKind::kExpire;
    t.from = Account::Wallet(lot.customer);
    t.to = Account::Expiry();
    t.points = lot.remaining;
    t.reason = "points expired";
    t.source = Source{SourceKind::kExpiry, lot.id, std::nullopt};
    t.at = now;
    t.refers_to = lot.id;
    TREU_ASSIGN_OR_RETURN(Posting p, Apply(t));
    postings.push_back(std::move(p));
  }
  return postings;
}

// ---- Queries ----

Balance Ledger::BalanceOf(CustomerId customer) const {
  return {AccountBalance(Account::Wallet(customer)), AccountBalance(Account::Pending(customer)),
          AccountBalance(Account::Held(customer))};
}

std::int64_t Ledger::AccountBalance(const Account& account) const {
  auto it = balances_.find(account);
  return it == balances_.end() ? 0 : it->second;
}

std::vector<Lot> Ledger::Lots(CustomerId customer) const {
  std::vector<Lot> lots;
  auto it = customer_lots_.find(customer);
  if (it == customer_lots_.end()) return lots;
  lots.reserve(it->second.size());
  for (const std::size_t i : it->second) lots.push_back(lots_[i].lot);
  return lots;
}

std::optional<Lot> Ledger::FindLot(std::string_view id) const {
  const LotRecord* r = FindLotRecord(id);
  return r == nullptr ? std::nullopt : std::optional<Lot>(r->lot);
}

std::vector<PointsHold> Ledger::Holds(CustomerId customer) const {
  std::vector<PointsHold> holds;
  for (const PointsHold& h : holds_) {
    if (h.customer == customer) holds.push_back(h);
  }
  return holds;
}

std::optional<PointsHold> Ledger::FindHold(std::string_view id) const {
  const PointsHold* h = FindHoldRecord(id);
  return h == nullptr ? std::nullopt : std::optional<PointsHold>(*h);
}

std::int64_t Ledger::LifetimeEarned(CustomerId customer, Timestamp from, Timestamp to) const {
  std::int64_t earned = 0;
  auto it = customer_lots_.find(customer);
  if (it == customer_lots_.end()) return 0;
  for (const std::size_t i : it->second) {
    const LotRecord& r = lots_[i];
    const bool is_earn = r.origin == Account::Issuance();
    if (is_earn && !r.lot.pending && r.lot.created_at >= from && r.lot.created_at < to) {
      earned += r.lot.points - r.reversed;
    }
  }
  return earned;
}

std::vector<Transfer> Ledger::History(CustomerId customer) const {
  std::vector<Transfer> history;
  for (const Transfer& t : transfers_) {
    if (CustomerOf(t) == customer) history.push_back(t);
  }
  return history;
}

std::optional<Transfer> Ledger::FindTransfer(std::string_view id) const {
  auto it = transfer_index_.find(std::string(id));
  return it == transfer_index_.end() ? std::nullopt
                                     : std::optional<Transfer>(transfers_[it->second]);
}

// ---- Invariants ----

Status Ledger::CheckInvariants() const {
  TREU_RETURN_IF_ERROR(CheckTransfers());
  TREU_RETURN_IF_ERROR(CheckLots());
  return CheckCustomers();
}

Status Ledger::CheckTransfers() const {
  const std::string context = "ledger invariant";
  if (transfer_index_.size() != transfers_.size() || ranges_.size() != transfers_.size()) {
    return Internal(context, "a transfer id was applied twice");
  }
  std::map<Account, std::int64_t> recomputed;
  for (std::size_t i = 0; i < transfers_.size(); ++i) {
    const Transfer& t = transfers_[i];
    auto it = transfer_index_.find(t.id);
    if (it == transfer_index_.end() || it->second != i) {
      return Internal(context, "transfer " + t.id + " applied twice");
    }
    if (t.points <= 0) return Internal(context, "transfer " + t.id + " moves no points");
    recomputed[t.from] -= t.points;
    recomputed[t.to] += t.points;
  }
  std::erase_if(recomputed, [](const auto& entry) { return entry.second == 0; });
  if (recomputed != balances_) {
    return Internal(context, "balances differ from the sum of the transfers");
  }
  std::int64_t sum = 0;
  for (const auto& [account, balance] : balances_) sum += balance;
  if (sum != 0) return Internal(context, "balances sum to " + std::to_string(sum) + ", not 0");
  if (AccountBalance(Account::Issuance()) > 0 || AccountBalance(Account::Redemption()) < 0 ||
      AccountBalance(Account::Expiry()) < 0) {
    return Internal(context, "a system account has the wrong sign");
  }
  return Ok();
}

Status Ledger::CheckLots() const {
  const std::string context = "ledger invariant";
  // Each transfer's consumptions follow the previous transfer's, name it and a known lot.
  std::vector<std::int64_t> consumed(lots_.size(), 0);
  std::size_t next = 0;
  for (std::size_t i = 0; i < transfers_.size(); ++i) {
    const Range r = ranges_[i];
    if (r.first != next || r.count > consumptions_.size() - next) {
      return Internal(context, "consumptions of transfer " + transfers_[i].id + " out of place");
    }
    next += r.count;
    for (const LotConsumption& c : ConsumptionsOf(i)) {
      auto lot = lot_index_.find(c.lot_id);
      if (c.transfer_id != transfers_[i].id || lot == lot_index_.end()) {
        return Internal(context,
                        "consumption by " + c.transfer_id + " of lot " + c.lot_id + " misplaced");
      }
      consumed[lot->second] += c.points;
    }
  }
  if (next != consumptions_.size()) return Internal(context, "consumptions without a transfer");
  for (std::size_t i = 0; i < lots_.size(); ++i) {
    const Lot& lot = lots_[i].lot;
    if (lot.remaining != lot.points - consumed[i] || lot.remaining < 0 ||
        lot.remaining > lot.points) {
      return Internal(context, "lot " + lot.id + " has " + std::to_string(lot.remaining) + " of " +
                                   std::to_string(lot.points) +
                                   " points left, its consumptions say " +
                                   std::to_string(lot.points - consumed[i]));
    }
    if (lots_[i].reversed < 0 || lots_[i].reversed > lot.points) {
      return Internal(context, "lot " + lot.id + " over-reversed");
    }
  }
  return Ok();
}

Status Ledger::CheckCustomers() const {
  const std::string context = "ledger invariant";
  std::map<CustomerId, Balance> from_lots;
  for (const LotRecord& r : lots_) {
    (r.lot.pending ? from_lots[r.lot.customer].pending : from_lots[r.lot.customer].available) +=
        r.lot.remaining;
  }
  for (const PointsHold& h : holds_) {
    if (h.state != HoldState::kActive) continue;
    from_lots[h.customer].held += h.points;
    std::int64_t taken = 0;
    for (const LotConsumption& c : ConsumptionsOf(transfer_index_.at(h.id))) taken += c.points;
    if (taken != h.points) {
      return Internal(context,
                      "hold " + h.id + " took " + std::to_string(taken) + " points from lots");
    }
  }
  std::set<CustomerId> customers;
  for (const auto& [account, balance] : balances_) {
    if (account.is_customer()) customers.insert(account.customer);
  }
  for (const auto& [customer, balance] : from_lots) customers.insert(customer);
  for (const CustomerId c : customers) {
    const Balance b = BalanceOf(c);
    if (b.available < 0 || b.pending < 0 || b.held < 0) {
      return Internal(context, CustomerContext(c) + " has a negative balance");
    }
    if (b != from_lots[c]) {
      return Internal(
          context, CustomerContext(c) + " balances differ from the sums of their lots and holds");
    }
  }
  return Ok();
}

}  // namespace treu::loyalty
