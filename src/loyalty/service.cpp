#include "loyalty/service.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "core/period.hpp"
#include "loyalty/program_json.hpp"

namespace treu::loyalty {
namespace {

constexpr Timestamp kBeginning{std::numeric_limits<std::int64_t>::min()};
constexpr Timestamp kEnd{std::numeric_limits<std::int64_t>::max()};

constexpr Timestamp PlusDays(Timestamp t, int days) { return {t.micros + days * kMicrosPerDay}; }

// A source's reference as a piece of a transfer id: as it is when it is printable ASCII
// without spaces or '/', else '#' and the row id.
std::string IdPart(std::string_view ref, std::int64_t row_id) {
  const bool clean = !ref.empty() && ref.size() <= 120 && std::all_of(ref.begin(), ref.end(), [](char c) {
    return c > ' ' && c < 127 && c != '/';
  });
  return clean ? std::string(ref) : "#" + std::to_string(row_id);
}

PeriodKind CapKind(CapPeriod p) {
  switch (p) {
    case CapPeriod::kDay:
      return PeriodKind::kDay;
    case CapPeriod::kWeek:
      return PeriodKind::kWeek;
    case CapPeriod::kMonth:
      return PeriodKind::kMonth;
    case CapPeriod::kYear:
      return PeriodKind::kYear;
  }
  return PeriodKind::kMonth;
}

std::optional<Timestamp> Earliest(std::optional<Timestamp> a, std::optional<Timestamp> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

std::string_view ManualKindOf(const Transfer& t) {
  switch (t.kind) {
    case TransferKind::kEarn:
      return "earn";
    case TransferKind::kAdjustCredit:
    case TransferKind::kAdjustDebit:
      return "adjust";
    case TransferKind::kRedeem:
      return "redeem";
    default:
      return "";
  }
}

std::string RandomReferralCode() {
  static constexpr std::string_view kAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string code;
  for (int i = 0; i < 8; ++i) code += kAlphabet[pick(rng)];
  return code;
}

}  // namespace

// ---- Records ----

LoyaltyTransferRecord ToRecord(WorkspaceId ws, const Transfer& t) {
  LoyaltyTransferRecord r;
  r.workspace = ws;
  r.customer = t.from.is_customer() ? t.from.customer : t.to.customer;
  r.id = t.id;
  r.kind = std::string(TransferKindName(t.kind));
  r.from_account = t.from.ToString();
  r.to_account = t.to.ToString();
  r.points = t.points;
  r.requested = t.requested;
  r.reason = t.reason;
  r.source_kind = std::string(SourceKindName(t.source.kind));
  r.source_ref = t.source.reference;
  r.admin_user_id = t.source.admin_user_id;
  r.at = t.at;
  r.refers_to = t.refers_to;
  r.expires_at = t.expires_at;
  r.pending_until = t.pending_until;
  return r;
}

Result<Transfer> FromRecord(const LoyaltyTransferRecord& r) {
  Transfer t;
  t.id = r.id;
  TREU_ASSIGN_OR_RETURN(t.kind, ParseTransferKind(r.kind));
  TREU_ASSIGN_OR_RETURN(t.from, ParseAccount(r.from_account));
  TREU_ASSIGN_OR_RETURN(t.to, ParseAccount(r.to_account));
  t.points = r.points;
  t.requested = r.requested;
  t.reason = r.reason;
  TREU_ASSIGN_OR_RETURN(t.source.kind, ParseSourceKind(r.source_kind));
  t.source.reference = r.source_ref;
  t.source.admin_user_id = r.admin_user_id;
  t.at = r.at;
  t.refers_to = r.refers_to;
  t.expires_at = r.expires_at;
  t.pending_until = r.pending_until;
  return t;
}

// ---- LedgerCache ----

std::optional<Ledger> LedgerCache::Take(WorkspaceId ws, CustomerId c, std::int64_t transfers) {
  std::lock_guard lock(mu_);
  auto it = entries_.find({ws.value, c.value});
  if (it == entries_.end()) return std::nullopt;
  std::optional<Ledger> out;
  if (static_cast<std::int64_t>(it->second.ledger.transfers().size()) == transfers) {
    out = std::move(it->second.ledger);
  }
  lru_.erase(it->second.lru);
  entries_.erase(it);
  return out;
}

void LedgerCache::Put(WorkspaceId ws, CustomerId c, Ledger ledger) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mu_);
  const Key key{ws.value, c.value};
  if (auto it = entries_.find(key); it != entries_.end()) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  while (entries_.size() >= capacity_) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key);
  entries_.emplace(key, Entry{std::move(ledger), lru_.begin()});
}

void LedgerCache::Clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
  lru_.clear();
}

// ---- LoyaltyBatch ----

LoyaltyBatch::LoyaltyBatch(Store& store, std::unique_ptr<WriteTransaction> txn, const Workspace& ws,
                           const Program& program, Timestamp now, LedgerCache* cache)
    : store_(store), txn_(std::move(txn)), ws_(ws), program_(program), now_(now), cache_(cache) {
  if (auto zone = TimeZone::Find(ws.time_zone)) zone_ = *zone;
}

LoyaltyBatch::~LoyaltyBatch() = default;

Result<std::unique_ptr<LoyaltyBatch>> LoyaltyBatch::Begin(Store& store, const Workspace& ws, const Program& program,
                                                          Timestamp now, LedgerCache* cache) {
  TREU_ASSIGN_OR_RETURN(auto txn, store.BeginWrite(ws.id));
  return std::unique_ptr<LoyaltyBatch>(new LoyaltyBatch(store, std::move(txn), ws, program, now, cache));
}

Result<LoyaltyBatch::CustomerState*> LoyaltyBatch::Load(CustomerId c) {
  if (!c.valid()) return InvalidArgument("customer", "no such customer");
  if (auto it = customers_.find(c); it != customers_.end()) return &it->second;
  CustomerState s;
  TREU_ASSIGN_OR_RETURN(auto member, txn_->FindLoyaltyMember(c));
  if (member) {
    s.member = std::move(*member);
  } else {
    s.member.workspace = ws_.id;
    s.member.customer = c;
    const TierState tier = InitialTier(program_, now_);
    s.member.tier = tier.tier;
    s.member.tier_since = tier.since;
    s.member.enrolled_at = now_;
    s.member.updated_at = now_;
  }
  std::optional<Ledger> cached;
  if (cache_ != nullptr && s.member.transfers > 0) cached = cache_->Take(ws_.id, c, s.member.transfers);
  if (cached) {
    s.ledger = std::move(*cached);
  } else if (s.member.transfers > 0) {
    TREU_ASSIGN_OR_RETURN(auto records, txn_->LoyaltyTransfers(c));
    for (const LoyaltyTransferRecord& r : records) {
      auto t = FromRecord(r);
      if (!t) return Internal("loyalty ledger", "stored transfer " + r.id + ": " + t.error().ToString());
      if (auto applied = s.ledger.Apply(*t); !applied) {
        return Internal("loyalty ledger", "stored transfer " + r.id + " does not replay: " + applied.error().ToString());
      }
    }
  }
  s.stored = s.ledger.transfers().size();
  return &customers_.emplace(c, std::move(s)).first->second;
}

Result<LoyaltyMember> LoyaltyBatch::Member(CustomerId c) {
  TREU_ASSIGN_OR_RETURN(CustomerState * s, Load(c));
  return s->member;
}

Result<bool> LoyaltyBatch::InSegment(CustomerId c, const std::string& segment) {
  TREU_ASSIGN_OR_RETURN(auto def, store_.FindSegment(ws_.id, segment));
  if (!def) return false;  // a segment deleted since: nobody is in it
  auto it = segment_members_.find(def->id);
  if (it == segment_members_.end()) {
    TREU_ASSIGN_OR_RETURN(auto members, store_.ListSegmentMembers(ws_.id, def->id, 0, 0));
    std::vector<CustomerId> ids;
    ids.reserve(members.size());
    for (const SegmentMember& m : members) ids.push_back(m.customer);
    std::sort(ids.begin(), ids.end());
    it = segment_members_.emplace(def->id, std::move(ids)).first;
  }
  return std::binary_search(it->second.begin(), it->second.end(), c);
}

Result<EarnContext> LoyaltyBatch::ContextOf(CustomerState& s) {
  if (!s.segments) {
    std::vector<std::string> names;
    auto consider = [&](const std::string& segment) -> Status {
      if (segment.empty() || std::find(names.begin(), names.end(), segment) != names.end()) return {};
      TREU_ASSIGN_OR_RETURN(bool in, InSegment(s.member.customer, segment));
      if (in) names.push_back(segment);
      return {};
    };
    for (const EarnRule& r : program_.rules) TREU_RETURN_IF_ERROR(consider(r.segment));
    for (const Multiplier& m : program_.multipliers) TREU_RETURN_IF_ERROR(consider(m.segment));
    s.segments = std::move(names);
  }
  return EarnContext{s.member.tier, *s.segments};
}

void LoyaltyBatch::Refresh(CustomerState& s) {
  const CustomerId c = s.member.customer;
  const Balance b = s.ledger.BalanceOf(c);
  LoyaltyMember& m = s.member;
  m.available = b.available;
  m.pending = b.pending;
  m.held = b.held;
  m.earned = s.ledger.LifetimeEarned(c, kBeginning, kEnd);
  m.redeemed = s.ledger.AccountBalance(Account::Redemption());
  m.transfers = static_cast<std::int64_t>(s.ledger.transfers().size());
  TierState tier{m.tier, m.tier_since, m.tier_review_at};
  auto changes = AdvanceTier(program_, tier, now_, [&](Timestamp from, Timestamp to) {
    return s.ledger.LifetimeEarned(c, from, to);
  });
  m.tier = tier.tier;
  m.tier_since = tier.since;
  m.tier_review_at = tier.review_at;
  for (auto& change : changes) s.tier_changes.push_back(std::move(change));
  std::optional<Timestamp> due = m.tier_review_at;
  for (const Lot& lot : s.ledger.Lots(c)) {
    if (lot.remaining <= 0) continue;
    due = Earliest(due, lot.pending ? lot.pending_until : lot.expires_at);
  }
  for (const PointsHold& h : s.ledger.Holds(c)) {
    if (h.state == HoldState::kActive) due = Earliest(due, h.expires_at);
  }
  m.next_due_at = due;
  m.updated_at = now_;
  s.dirty = true;
}

Result<Posting> LoyaltyBatch::EarnOnce(CustomerState& s, const EarnRequest& r) {
  if (auto existing = s.ledger.FindTransfer(r.id)) return Posting{*existing, std::nullopt, {}, true};
  return s.ledger.Earn(r);
}

Result<Posting> LoyaltyBatch::Manual(CustomerId c, const ManualTransfer& t) {
  TREU_ASSIGN_OR_RETURN(CustomerState * s, Load(c));
  if (auto existing = s->ledger.FindTransfer(t.id)) {
    const bool debit = existing->kind == TransferKind::kAdjustDebit || existing->kind == TransferKind::kRedeem;
    const bool same = ManualKindOf(*existing) == t.kind && existing->reason == t.reason &&
                      (existing->from.customer == c || existing->to.customer == c) &&
                      (debit && t.kind == "adjust" ? -existing->points : existing->points) == t.points;
    if (!same) return AlreadyExists("transfer " + t.id, "this key was used for a different transfer");
    return Posting{*existing, std::nullopt, {}, true};
  }
  const std::optional<Timestamp> default_expiry =
      program_.expiry_days > 0 ? std::optional(PlusDays(now_, program_.expiry_days)) : std::nullopt;
  Result<Posting> posting = InvalidArgument("kind", "must be earn, adjust or redeem, not '" + t.kind + "'");
  if (t.kind == "earn") {
    posting = s->ledger.Earn(EarnRequest{t.id, c, t.points, now_, t.expires_at ? t.expires_at : default_expiry,
                                         t.pending_until, t.reason, t.source});
  } else if (t.kind == "adjust") {
    std::optional<Timestamp> expiry;
    if (t.points > 0) expiry = t.expires_at ? t.expires_at : default_expiry;
    posting = s->ledger.Adjust(AdjustRequest{t.id, c, t.points, now_, expiry, t.reason, t.source});
  } else if (t.kind == "redeem") {
    posting = s->ledger.Redeem(RedeemRequest{t.id, c, t.points, now_, t.reason, t.source});
  }
  if (posting) Refresh(*s);
  return posting;
}

std::int64_t LoyaltyBatch::Capped(const CustomerState& s, const EarnRule& rule, Timestamp at,
                                  std::int64_t points) const {
  if (rule.cap_points <= 0) return points;
  const Period period = Period::Containing(CapKind(rule.cap_period), zone_.LocalDate(at));
  const Timestamp from = period.Start(zone_);
  const Timestamp to = period.End(zone_);
  const std::string suffix = ":" + rule.id;
  std::int64_t used = 0;
  for (const Transfer& t : s.ledger.transfers()) {
    if (t.kind != TransferKind::kEarn || t.at < from || t.at >= to) continue;
    if (!t.id.ends_with(suffix) || !(t.id.starts_with("order:") || t.id.starts_with("event:"))) continue;
    used += t.points;
  }
  return std::clamp<std::int64_t>(rule.cap_points - used, 0, points);
}

Status LoyaltyBatch::Reverse(CustomerState& s, const std::string& earn_id, std::int64_t target,
                             const std::string& reason, const Source& source) {
  std::int64_t done = 0;
  int reversals = 0;
  for (const Transfer& t : s.ledger.transfers()) {
    if (t.refers_to != earn_id) continue;
    if (t.kind == TransferKind::kCancel) return {};  // the whole earn was called off
    if (t.kind == TransferKind::kReverseEarn) {
      done += t.requested;
      ++reversals;
    }
  }
  const std::int64_t delta = target - done;
  if (delta <= 0) return {};
  const std::optional<Lot> lot = s.ledger.FindLot(earn_id);
  Result<Posting> posting = Internal("loyalty", "unreachable");
  if (lot && lot->pending && done == 0 && target >= lot->points) {
    posting = s.ledger.Cancel(earn_id, now_, reason);
  } else {
    posting = s.ledger.ReverseEarn(ReverseEarnRequest{earn_id + ":reverse:" + std::to_string(reversals + 1), earn_id,
                                                      delta, now_, reason, source});
  }
  // Nothing left to take (the customer spent it all): there is nothing to reverse now; the
  // order's next change tries again.
  if (!posting && posting.error().code() == ErrorCode::kFailedPrecondition) return {};
  if (!posting) return std::unexpected(posting.error());
  Refresh(s);
  return {};
}

Status LoyaltyBatch::ProcessOrder(const Order& o) {
  if (o.placed_at < program_.starts_at || !o.customer.valid()) return {};
  TREU_ASSIGN_OR_RETURN(CustomerState * s, Load(o.customer));
  const std::string ref = IdPart(o.external_id, o.id.value);
  const Source source{SourceKind::kOrder, o.external_id, std::nullopt};
  std::int64_t refunded = 0;
  for (const Refund& r : o.refunds) refunded += r.amount_minor;
  const bool all_back = o.status == OrderStatus::kCancelled ||
                        (o.status == OrderStatus::kRefunded && o.refunds.empty()) || refunded >= o.total.minor;
  for (const EarnRule& rule : program_.rules) {
    if (rule.kind != EarnRuleKind::kSpend) continue;
    const std::string earn_id = "order:" + ref + ":" + rule.id;
    std::optional<Transfer> earned = s->ledger.FindTransfer(earn_id);
    if (!earned) {
      if (o.status == OrderStatus::kCancelled) continue;
      TREU_ASSIGN_OR_RETURN(EarnContext ctx, ContextOf(*s));
      if (!RuleApplies(rule, program_, o.placed_at, ctx)) continue;
      const Milli factor = MultiplierFor(program_, rule.id, o.placed_at, ctx);
      const std::int64_t points = Capped(*s, rule, o.placed_at,
                                         SpendPoints(rule, o.total.minor, o.total.currency.exponent(), factor));
      if (points <= 0) continue;
      EarnRequest r{earn_id, o.customer, points, o.placed_at, std::nullopt, std::nullopt,
                    "order " + o.external_id, source};
      if (program_.expiry_days > 0) r.expires_at = PlusDays(o.placed_at, program_.expiry_days);
      if (program_.pending_days > 0 && PlusDays(o.placed_at, program_.pending_days) > now_) {
        r.pending_until = PlusDays(o.placed_at, program_.pending_days);
      }
      TREU_ASSIGN_OR_RETURN(Posting p, EarnOnce(*s, r));
      earned = p.transfer;
      Refresh(*s);
    }
    if (refunded <= 0 && !all_back) continue;
    const std::int64_t target =
        all_back ? earned->points
                 : static_cast<std::int64_t>(static_cast<__int128>(earned->points) * refunded / o.total.minor);
    TREU_RETURN_IF_ERROR(Reverse(*s, earn_id, target,
                                 o.status == OrderStatus::kCancelled ? "order " + o.external_id + " cancelled"
                                                                     : "order " + o.external_id + " refunded",
                                 Source{SourceKind::kRefund, o.external_id, std::nullopt}));
  }
  if (o.status == OrderStatus::kCompleted) {
    TREU_RETURN_IF_ERROR(PayReferral(*s, o));
    TREU_RETURN_IF_ERROR(OrderMilestones(*s, o));
  }
  return {};
}

Status LoyaltyBatch::OrderMilestones(CustomerState& s, const Order& o) {
  std::optional<std::int64_t> completed;
  for (const Surprise& surprise : program_.surprises) {
    if (surprise.kind != SurpriseKind::kOrders) continue;
    if (!completed) {
      // The times of the customer's completed orders (up to 1,000: milestones are at most
      // that), read once per batch.
      auto& times = s.completed_orders;
      if (!times) {
        std::string ext = o.customer_external_id;
        if (ext.empty()) {
          TREU_ASSIGN_OR_RETURN(auto found, store_.CustomerExternalId(ws_.id, s.member.customer));
          if (!found) return {};
          ext = *found;
        }
        TREU_ASSIGN_OR_RETURN(auto orders, store_.ListOrders(ws_.id, ext, 0, 1000));
        times.emplace();
        for (const Order& x : orders) {
          if (x.status == OrderStatus::kCompleted) times->push_back(x.placed_at);
        }
        std::sort(times->begin(), times->end());
      }
      // Those placed up to this one: the milestone is reached by the order that makes the count.
      completed = std::upper_bound(times->begin(), times->end(), o.placed_at) - times->begin();
    }
    if (*completed < surprise.orders) continue;
    if (!surprise.segment.empty()) {
      TREU_ASSIGN_OR_RETURN(bool in, InSegment(s.member.customer, surprise.segment));
      if (!in) continue;
    }
    TREU_ASSIGN_OR_RETURN(bool granted, GrantSurprise(s.member.customer, surprise, "", o.placed_at));
    (void)granted;
  }
  return {};
}

Status LoyaltyBatch::PayReferral(CustomerState& s, const Order& o) {
  const CustomerId referrer = s.member.referred_by;
  if (!referrer.valid()) return {};
  const std::string base = "referral:" + std::to_string(s.member.customer.value);
  const Source source{SourceKind::kRule, "referral", std::nullopt};
  std::optional<Timestamp> expiry;
  if (program_.expiry_days > 0) expiry = PlusDays(o.placed_at, program_.expiry_days);
  if (program_.referral.referee_points > 0) {
    TREU_ASSIGN_OR_RETURN(Posting p, EarnOnce(s, EarnRequest{base + ":referee", s.member.customer,
                                                             program_.referral.referee_points, o.placed_at, expiry,
                                                             std::nullopt, "referral: first order", source}));
    if (!p.replayed) Refresh(s);
  }
  if (program_.referral.referrer_points > 0) {
    TREU_ASSIGN_OR_RETURN(CustomerState * r, Load(referrer));
    TREU_ASSIGN_OR_RETURN(Posting p, EarnOnce(*r, EarnRequest{base + ":referrer", referrer,
                                                              program_.referral.referrer_points, o.placed_at, expiry,
                                                              std::nullopt, "referral: a referred customer's first order",
                                                              source}));
    if (!p.replayed) Refresh(*r);
  }
  return {};
}

Status LoyaltyBatch::ProcessEvent(const Event& e) {
  if (!e.customer.valid() || e.timestamp < program_.starts_at) return {};
  for (const EarnRule& rule : program_.rules) {
    if (rule.kind != EarnRuleKind::kEvent || rule.event != e.name) continue;
    TREU_ASSIGN_OR_RETURN(CustomerState * s, Load(e.customer));
    const std::string id = "event:" + IdPart(e.message_id, e.id.value) + ":" + rule.id;
    if (s->ledger.FindTransfer(id)) continue;
    TREU_ASSIGN_OR_RETURN(EarnContext ctx, ContextOf(*s));
    if (!RuleApplies(rule, program_, e.timestamp, ctx)) continue;
    const Milli factor = MultiplierFor(program_, rule.id, e.timestamp, ctx);
    const std::int64_t points =
        Capped(*s, rule, e.timestamp, static_cast<std::int64_t>(static_cast<__int128>(rule.points) * factor / kOne));
    if (points <= 0) continue;
    EarnRequest r{id, e.customer, points, e.timestamp, std::nullopt, std::nullopt, e.name,
                  Source{SourceKind::kEvent, e.message_id, std::nullopt}};
    if (program_.expiry_days > 0) r.expires_at = PlusDays(e.timestamp, program_.expiry_days);
    TREU_ASSIGN_OR_RETURN(Posting p, EarnOnce(*s, r));
    (void)p;
    Refresh(*s);
  }
  return {};
}

Result<RedemptionResult> LoyaltyBatch::HoldReward(CustomerId c, const LoyaltyReward& reward, const std::string& id) {
  TREU_ASSIGN_OR_RETURN(auto existing, txn_->FindLoyaltyRedemption(id));
  if (existing) {
    if (existing->customer != c || existing->reward_id != reward.id) {
      return AlreadyExists("redemption " + id, "this key was used for another redemption");
    }
    return RedemptionResult{std::move(*existing), reward, true};
  }
  if (!reward.active) return FailedPrecondition("reward " + reward.name, "the reward is not available");
  TREU_ASSIGN_OR_RETURN(CustomerState * s, Load(c));
  if (!reward.tiers.empty() &&
      std::find(reward.tiers.begin(), reward.tiers.end(), s->member.tier) == reward.tiers.end()) {
    std::string tiers;
    for (const std::string& t : reward.tiers) tiers += (tiers.empty() ? "" : ", ") + t;
    return FailedPrecondition("reward " + reward.name, "only for the tiers " + tiers + "; the customer is " +
                                                           (s->member.tier.empty() ? "in none" : s->member.tier));
  }
  if (!reward.segment.empty()) {
    TREU_ASSIGN_OR_RETURN(bool in, InSegment(c, reward.segment));
    if (!in) return FailedPrecondition("reward " + reward.name, "only for the segment " + reward.segment);
  }
  const std::int64_t available = s->ledger.BalanceOf(c).available;
  if (available < reward.points) {
    return FailedPrecondition("customer " + std::to_string(c.value), "insufficient points: available " +
                                                                       std::to_string(available) + ", asked " +
                                                                       std::to_string(reward.points));
  }
  TREU_RETURN_IF_ERROR(txn_->ChangeLoyaltyRewardStock(reward.id, -1, 0));
  LoyaltyRedemption r;
  r.id = id;
  r.workspace = ws_.id;
  r.customer = c;
  r.reward_id = reward.id;
  r.points = reward.points;
  r.state = "held";
  r.created_at = now_;
  r.expires_at = {now_.micros + std::int64_t{program_.hold_minutes} * 60 * kMicrosPerSecond};
  auto undo_stock = [&](Error e) -> Result<RedemptionResult> {
    TREU_RETURN_IF_ERROR(txn_->ChangeLoyaltyRewardStock(reward.id, +1, 0));
    if (!r.code.empty()) TREU_RETURN_IF_ERROR(txn_->ReturnLoyaltyRewardCode(reward.id, r.code));
    return std::unexpected(std::move(e));
  };
  if (reward.kind == "voucher") {
    TREU_ASSIGN_OR_RETURN(auto code, txn_->ClaimLoyaltyRewardCode(reward.id, id));
    if (!code) return undo_stock(Error(ErrorCode::kFailedPrecondition, "reward " + reward.name, "no voucher codes left"));
    r.code = *code;
  }
  auto hold = s->ledger.Hold(HoldRequest{id, c, reward.points, now_, r.expires_at, "reward " + reward.name,
                                         Source{SourceKind::kRedemption, reward.name, std::nullopt}});
  if (!hold) return undo_stock(hold.error());
  TREU_RETURN_IF_ERROR(txn_->SaveLoyaltyRedemption(r));
  Refresh(*s);
  return RedemptionResult{std::move(r), reward, false};
}

Result<RedemptionResult> LoyaltyBatch::CloseRedemption(const std::string& id, bool confirm) {
  TREU_ASSIGN_OR_RETURN(auto found, txn_->FindLoyaltyRedemption(id));
  if (!found) return NotFound("redemption " + id, "no such redemption");
  LoyaltyRedemption r = std::move(*found);
  TREU_ASSIGN_OR_RETURN(auto reward, txn_->FindLoyaltyRewardById(r.reward_id));
  if (!reward) return Internal("redemption " + id, "its reward is gone");
  const std::string_view wanted = confirm ? "confirmed" : "released";
  if (r.state == wanted) return RedemptionResult{std::move(r), std::move(*reward), true};
  if (r.state != "held") {
    return FailedPrecondition("redemption " + id, "it was " + r.state + " already");
  }
  TREU_ASSIGN_OR_RETURN(CustomerState * s, Load(r.customer));
  if (confirm) {
    auto posting = s->ledger.Confirm(id, now_);
    if (!posting) {
      if (now_ >= r.expires_at) return FailedPrecondition("redemption " + id, "the hold lapsed; redeem again");
      return std::unexpected(posting.error());
    }
    TREU_RETURN_IF_ERROR(txn_->ChangeLoyaltyRewardStock(r.reward_id, 0, +1));
  } else {
    TREU_ASSIGN_OR_RETURN(Posting posting, s->ledger.Release(id, now_));
    (void)posting;
    TREU_RETURN_IF_ERROR(txn_->ChangeLoyaltyRewardStock(r.reward_id, +1, 0));
    if (!r.code.empty()) TREU_RETURN_IF_ERROR(txn_->ReturnLoyaltyRewardCode(r.reward_id, r.code));
  }
  r.state = std::string(wanted);
  r.closed_at = now_;
  TREU_RETURN_IF_ERROR(txn_->SaveLoyaltyRedemption(r));
  Refresh(*s);
  return RedemptionResult{std::move(r), std::move(*reward), false};
}

Result<RedemptionResult> LoyaltyBatch::ConfirmRedemption(const std::string& id) { return CloseRedemption(id, true); }
Result<RedemptionResult> LoyaltyBatch::ReleaseRedemption(const std::string& id) { return CloseRedemption(id, false); }

Result<std::string> LoyaltyBatch::ReferralCode(CustomerId c) {
  TREU_ASSIGN_OR_RETURN(CustomerState * s, Load(c));
  if (!s->member.referral_code.empty()) return s->member.referral_code;
  for (int attempt = 0; attempt < 20; ++attempt) {
    std::string code = RandomReferralCode();
    TREU_ASSIGN_OR_RETURN(auto taken, txn_->FindLoyaltyMemberByReferralCode(code));
    if (taken) continue;
    s->member.referral_code = code;
    s->member.updated_at = now_;
    s->dirty = true;
    return code;
  }
  return Internal("referral code", "no free code found");
}

Status LoyaltyBatch::SetReferrer(CustomerId c, std::string_view code) {
  TREU_ASSIGN_OR_RETURN(auto referrer, txn_->FindLoyaltyMemberByReferralCode(code));
  if (!referrer) return NotFound("referral_code", "no customer has the referral code " + std::string(code));
  if (referrer->customer == c) return InvalidArgument("referral_code", "customers can't refer themselves");
  TREU_ASSIGN_OR_RETURN(CustomerState * s, Load(c));
  if (s->member.referred_by == referrer->customer) return {};
  if (s->member.referred_by.valid()) {
    return FailedPrecondition("referral_code", "the customer was referred by someone else already");
  }
  TREU_ASSIGN_OR_RETURN(auto ext, store_.CustomerExternalId(ws_.id, c));
  TREU_ASSIGN_OR_RETURN(auto referrer_ext, store_.CustomerExternalId(ws_.id, referrer->customer));
  if (!ext || !referrer_ext) return NotFound("customer", "no such customer");
  TREU_ASSIGN_OR_RETURN(auto orders, store_.ListOrders(ws_.id, *ext, 0, 1));
  if (!orders.empty()) {
    return FailedPrecondition("referral_code", "only new customers can be referred; this one has ordered before");
  }
  TREU_ASSIGN_OR_RETURN(auto customer, store_.FindCustomer(ws_.id, *ext));
  TREU_ASSIGN_OR_RETURN(auto referrer_customer, store_.FindCustomer(ws_.id, *referrer_ext));
  if (customer && referrer_customer && !customer->email.empty()) {
    auto lower = [](std::string s) {
      std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
      return s;
    };
    if (lower(customer->email) == lower(referrer_customer->email)) {
      return FailedPrecondition("referral_code", "the referring customer has the same email address (a duplicate account)");
    }
  }
  s->member.referred_by = referrer->customer;
  s->member.updated_at = now_;
  s->dirty = true;
  return {};
}

Result<bool> LoyaltyBatch::GrantSurprise(CustomerId c, const Surprise& surprise, const std::string& occasion,
                                         std::optional<Timestamp> at) {
  const Timestamp when = at.value_or(now_);
  TREU_ASSIGN_OR_RETURN(CustomerState * s, Load(c));
  const std::string id =
      "surprise:" + surprise.id + ":" + std::to_string(c.value) + (occasion.empty() ? "" : ":" + occasion);
  const Source source{SourceKind::kRule, "surprise:" + surprise.id, std::nullopt};
  bool granted = false;
  if (surprise.points > 0 && !s->ledger.FindTransfer(id)) {
    EarnRequest r{id, c, surprise.points, when, std::nullopt, std::nullopt, "surprise " + surprise.id, source};
    if (program_.expiry_days > 0) r.expires_at = PlusDays(when, program_.expiry_days);
    TREU_ASSIGN_OR_RETURN(Posting p, s->ledger.Earn(r));
    (void)p;
    Refresh(*s);
    granted = true;
  }
  if (surprise.reward.empty()) return granted;
  TREU_ASSIGN_OR_RETURN(auto done, txn_->FindLoyaltyRedemption(id));
  if (done) return granted;
  TREU_ASSIGN_OR_RETURN(auto reward, store_.FindLoyaltyReward(ws_.id, surprise.reward));
  if (!reward || !reward->active) return granted;
  if (auto stock = txn_->ChangeLoyaltyRewardStock(reward->id, -1, +1); !stock) {
    if (stock.error().code() == ErrorCode::kFailedPrecondition) return granted;  // out of stock
    return std::unexpected(stock.error());
  }
  LoyaltyRedemption r;
  r.id = id;
  r.workspace = ws_.id;
  r.customer = c;
  r.reward_id = reward->id;
  r.points = 0;  // given, not bought
  r.state = "confirmed";
  r.created_at = when;
  r.expires_at = when;
  r.closed_at = when;
  if (reward->kind == "voucher") {
    TREU_ASSIGN_OR_RETURN(auto code, txn_->ClaimLoyaltyRewardCode(reward->id, id));
    if (!code) {
      TREU_RETURN_IF_ERROR(txn_->ChangeLoyaltyRewardStock(reward->id, +1, -1));
      return granted;
    }
    r.code = *code;
  }
  TREU_RETURN_IF_ERROR(txn_->SaveLoyaltyRedemption(r));
  s->dirty = true;
  return true;
}

Status LoyaltyBatch::RunDue(CustomerId c) {
  TREU_ASSIGN_OR_RETURN(CustomerState * s, Load(c));
  TREU_ASSIGN_OR_RETURN(auto settled, s->ledger.SettleDue(now_));
  TREU_ASSIGN_OR_RETURN(auto released, s->ledger.ReleaseExpiredHolds(now_));
  for (const Posting& p : released) {
    TREU_ASSIGN_OR_RETURN(auto redemption, txn_->FindLoyaltyRedemption(p.transfer.refers_to));
    if (!redemption || redemption->state != "held") continue;
    TREU_RETURN_IF_ERROR(txn_->ChangeLoyaltyRewardStock(redemption->reward_id, +1, 0));
    if (!redemption->code.empty()) {
      TREU_RETURN_IF_ERROR(txn_->ReturnLoyaltyRewardCode(redemption->reward_id, redemption->code));
    }
    redemption->state = "released";
    redemption->closed_at = now_;
    TREU_RETURN_IF_ERROR(txn_->SaveLoyaltyRedemption(*redemption));
  }
  TREU_ASSIGN_OR_RETURN(auto expired, s->ledger.ExpireDue(now_));
  (void)settled;
  (void)expired;
  Refresh(*s);
  return {};
}

Status LoyaltyBatch::SetProcessedSeq(std::int64_t seq) { return txn_->SetLoyaltyProcessedSeq(seq); }

Status LoyaltyBatch::Commit() {
  std::vector<LoyaltyTransferRecord> records;
  for (auto& [c, s] : customers_) {
    if (!s.dirty) continue;
    const auto transfers = s.ledger.transfers();
    for (std::size_t i = s.stored; i < transfers.size(); ++i) records.push_back(ToRecord(ws_.id, transfers[i]));
  }
  if (!records.empty()) TREU_RETURN_IF_ERROR(txn_->AppendLoyaltyTransfers(records));
  for (auto& [c, s] : customers_) {
    if (!s.dirty) continue;
    TREU_RETURN_IF_ERROR(txn_->SaveLoyaltyMember(s.member));
    for (const TierChange& change : s.tier_changes) {
      LoyaltyTierChange row;
      row.workspace = ws_.id;
      row.customer = c;
      row.from_tier = change.from;
      row.to_tier = change.to;
      row.at = change.at;
      row.reason = change.reason;
      TREU_RETURN_IF_ERROR(txn_->AddLoyaltyTierChange(row));
    }
  }
  TREU_RETURN_IF_ERROR(txn_->Commit());
  if (cache_ != nullptr) {
    for (auto& [c, s] : customers_) {
      if (!s.ledger.transfers().empty()) cache_->Put(ws_.id, c, std::move(s.ledger));
    }
  }
  customers_.clear();
  return {};
}

// ---- Workspace-wide runs ----

Result<Program> LoadProgram(Store& store, const Workspace& ws) {
  TREU_ASSIGN_OR_RETURN(auto record, store.FindLoyaltyProgram(ws.id));
  if (!record) return NotFound("loyalty program", "the workspace has no loyalty program; set one first");
  return ProgramOf(*record, ws);
}

Result<Program> ProgramOf(const LoyaltyProgramRecord& record, const Workspace& ws) {
  const nlohmann::json j = nlohmann::json::parse(record.definition, nullptr, false);
  if (j.is_discarded()) return Internal("loyalty program", "the stored definition is not JSON");
  auto program = ProgramFromJson(j, ws.currency.value_or(Currency()));
  if (!program) return Internal("loyalty program", "the stored definition: " + program.error().ToString());
  return program;
}

namespace {

// Rows of the id ranges [first, last], paged through a list call ordered by id.
template <typename Row, typename List>
Status CollectRange(std::int64_t first, std::int64_t last, List list, std::vector<Row>& out) {
  std::int64_t after = first - 1;
  while (after < last) {
    TREU_ASSIGN_OR_RETURN(std::vector<Row> page, list(after));
    if (page.empty()) break;
    for (Row& r : page) {
      if (r.id.value > last) return {};
      after = r.id.value;
      out.push_back(std::move(r));
    }
  }
  return {};
}

}  // namespace

Result<ProcessStats> ProcessChanges(Store& store, const Workspace& ws, const Clock& clock, LedgerCache* cache) {
  TREU_ASSIGN_OR_RETURN(auto record, store.FindLoyaltyProgram(ws.id));
  if (!record) return NotFound("loyalty program", "the workspace has no loyalty program; set one first");
  TREU_ASSIGN_OR_RETURN(Program program, LoadProgram(store, ws));
  bool event_rules = false;
  for (const EarnRule& r : program.rules) event_rules |= r.kind == EarnRuleKind::kEvent;
  ProcessStats stats;
  std::int64_t seq = record->processed_seq;
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto changes, store.ReadChanges(ws.id, seq, 1000));
    if (changes.empty()) break;
    std::vector<Order> orders;
    std::vector<Event> events;
    for (const Change& c : changes) {
      if (c.op == ChangeOp::kDelete) continue;
      if (c.entity == Entity::kOrder) {
        TREU_RETURN_IF_ERROR(CollectRange<Order>(c.entity_id, c.last_entity_id, [&](std::int64_t after) {
          return store.ListOrders(ws.id, "", after, 1000);
        }, orders));
      } else if (c.entity == Entity::kEvent && event_rules && c.op == ChangeOp::kInsert) {
        TREU_RETURN_IF_ERROR(CollectRange<Event>(c.entity_id, c.last_entity_id, [&](std::int64_t after) {
          return store.ListEvents(ws.id, "", after, 1000);
        }, events));
      }
    }
    TREU_ASSIGN_OR_RETURN(auto batch, LoyaltyBatch::Begin(store, ws, program, clock.Now(), cache));
    for (const Order& o : orders) TREU_RETURN_IF_ERROR(batch->ProcessOrder(o));
    for (const Event& e : events) TREU_RETURN_IF_ERROR(batch->ProcessEvent(e));
    seq = changes.back().seq;
    TREU_RETURN_IF_ERROR(batch->SetProcessedSeq(seq));
    TREU_RETURN_IF_ERROR(batch->Commit());
    stats.orders += static_cast<std::int64_t>(orders.size());
    stats.events += static_cast<std::int64_t>(events.size());
  }
  return stats;
}

Result<VerifyReport> VerifyLedger(Store& store, WorkspaceId ws) {
  VerifyReport report;
  std::int64_t after = 0;
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto members, store.ListLoyaltyMembers(ws, after, 500));
    if (members.empty()) break;
    for (const LoyaltyMember& m : members) {
      after = m.customer.value;
      ++report.members;
      const std::string who = "customer " + std::to_string(m.customer.value);
      Ledger ledger;
      std::int64_t seq = 0;
      bool replayed = true;
      while (replayed) {
        TREU_ASSIGN_OR_RETURN(auto page, store.ListLoyaltyTransfers(ws, m.customer, seq, 1000));
        if (page.empty()) break;
        for (const LoyaltyTransferRecord& r : page) {
          seq = r.seq;
          ++report.transfers;
          auto t = FromRecord(r);
          auto applied = t ? ledger.Apply(*t) : Result<Posting>(std::unexpected(t.error()));
          if (!applied) {
            report.problems.push_back(who + ": transfer " + r.id + " does not replay: " + applied.error().ToString());
            replayed = false;
            break;
          }
          if (applied->replayed) report.problems.push_back(who + ": transfer " + r.id + " is stored twice");
        }
      }
      if (!replayed) continue;
      if (auto ok = ledger.CheckInvariants(); !ok) report.problems.push_back(who + ": " + ok.error().ToString());
      const Balance b = ledger.BalanceOf(m.customer);
      if (b.available != m.available || b.pending != m.pending || b.held != m.held ||
          static_cast<std::int64_t>(ledger.transfers().size()) != m.transfers) {
        report.problems.push_back(who + ": the member row says available " + std::to_string(m.available) + ", pending " +
                                  std::to_string(m.pending) + ", held " + std::to_string(m.held) + " after " +
                                  std::to_string(m.transfers) + " transfers; the ledger gives " +
                                  std::to_string(b.available) + ", " + std::to_string(b.pending) + ", " +
                                  std::to_string(b.held) + " after " + std::to_string(ledger.transfers().size()));
      }
      if (b.available < 0 || b.pending < 0 || b.held < 0) report.problems.push_back(who + ": a negative balance");
      report.points_outstanding += b.available + b.pending + b.held;
    }
  }
  // Every transfer belongs to a member: none is left out of the checks above.
  TREU_ASSIGN_OR_RETURN(auto all, store.ListLoyaltyTransfers(ws, CustomerId{}, 0, 1));
  if (report.members == 0 && !all.empty()) report.problems.push_back("transfers are stored for no member");
  return report;
}

Result<std::int64_t> RunDueWork(Store& store, const Workspace& ws, const Clock& clock, LedgerCache* cache) {
  TREU_ASSIGN_OR_RETURN(Program program, LoadProgram(store, ws));
  const Timestamp now = clock.Now();
  std::int64_t total = 0;
  constexpr int kPage = 500;
  for (int round = 0; round < 1000; ++round) {
    TREU_ASSIGN_OR_RETURN(auto due, store.DueLoyaltyMembers(ws.id, now, kPage));
    if (due.empty()) break;
    TREU_ASSIGN_OR_RETURN(auto batch, LoyaltyBatch::Begin(store, ws, program, now, cache));
    for (CustomerId c : due) TREU_RETURN_IF_ERROR(batch->RunDue(c));
    TREU_RETURN_IF_ERROR(batch->Commit());
    total += static_cast<std::int64_t>(due.size());
    if (static_cast<int>(due.size()) < kPage) break;
  }
  return total;
}

}  // namespace treu::loyalty
