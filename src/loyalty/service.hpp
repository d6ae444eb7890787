// The loyalty program at work: the points ledger (ledger.hpp) kept in the Store, one customer
// at a time, under the workspace's write lock.
//
// A LoyaltyBatch is one write transaction. Each customer it touches is loaded once: their
// transfers are replayed into a Ledger (or taken from the LedgerCache when the member row says
// nothing was written since), operations run on that ledger, and Commit() appends the new
// transfers, writes each touched member's row (balances, tier, next due time) and commits. So a
// redemption is checked against the balance under the lock: concurrent redemptions, from any
// number of threads or processes, never spend a point twice.
//
// A failed operation changes nothing and leaves the batch usable (the ledger checks before it
// appends; compound operations restore the customer's ledger when a later step fails), so a
// group commit can run many requests in one transaction.
//
// Transfer ids derive from their source, so every operation is idempotent:
//   order:<order id>:<rule>            earning on an order by a spend rule
//   order:<order id>:<rule>:reverse:N  the N-th reversal of it (refunds, cancellation)
//   event:<message id>:<rule>          earning on an event
//   referral:<customer>:referrer|referee
//   api:<Idempotency-Key>              REST writes; admin:<key> CLI adjustments
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.hpp"
#include "core/time.hpp"
#include "loyalty/ledger.hpp"
#include "loyalty/program.hpp"
#include "loyalty/tiers.hpp"
#include "storage/store.hpp"

namespace treu::loyalty {

// Stored transfer rows and ledger transfers, both ways.
LoyaltyTransferRecord ToRecord(WorkspaceId ws, const Transfer& t);
Result<Transfer> FromRecord(const LoyaltyTransferRecord& r);

// Customers' ledgers as last written, shared by the threads of a process: a batch takes a
// customer's ledger when the member row's transfer count matches (nobody, in this process or
// another, wrote since) and gives it back after its commit. Least recently used out first.
class LedgerCache {
 public:
  explicit LedgerCache(std::size_t capacity = 20'000) : capacity_(capacity) {}
  // Takes the cached ledger out when it holds exactly `transfers` transfers.
  std::optional<Ledger> Take(WorkspaceId ws, CustomerId c, std::int64_t transfers);
  void Put(WorkspaceId ws, CustomerId c, Ledger ledger);
  void Clear();

 private:
  using Key = std::pair<std::int64_t, std::int64_t>;
  struct Entry {
    Ledger ledger;
    std::list<Key>::iterator lru;
  };
  std::size_t capacity_;
  std::mutex mu_;
  std::map<Key, Entry> entries_;  // guarded by mu_
  std::list<Key> lru_;            // guarded by mu_; front = most recent
};

// A REST or CLI transfer: earn, adjust (±) or redeem points directly.
struct ManualTransfer {
  std::string id;  // api:<key> or admin:<key>
  std::string kind;  // "earn", "adjust" or "redeem"
  std::int64_t points = 0;
  std::string reason;
  std::optional<Timestamp> expires_at;     // earn, adjust > 0: else the program's expiry
  std::optional<Timestamp> pending_until;  // earn only
  Source source;
};

// A reward redemption's outcome: the redemption and, for a fresh hold, the posting.
struct RedemptionResult {
  LoyaltyRedemption redemption;
  LoyaltyReward reward;
  bool replayed = false;
};

class LoyaltyBatch {
 public:
  // Starts the transaction. `cache` may be null.
  static Result<std::unique_ptr<LoyaltyBatch>> Begin(Store& store, const Workspace& ws, const Program& program,
                                                     Timestamp now, LedgerCache* cache);
  ~LoyaltyBatch();

  Timestamp now() const { return now_; }
  const Program& program() const { return program_; }

  // A customer's member row as it stands in this batch (enrolled now if new).
  Result<LoyaltyMember> Member(CustomerId c);

  // The REST/CLI transfer. Asking again with the same id and the same kind, points and reason
  // is a replay (the original posting, `replayed`); the same id otherwise is AlreadyExists.
  Result<Posting> Manual(CustomerId c, const ManualTransfer& t);

  // Earns on a completed order (spend rules, per whole unit of the order's currency), reverses
  // on refunds (in proportion to the amount refunded) and cancellation, and pays referral
  // bonuses on a customer's first order. Idempotent: an order processed again earns and
  // reverses only what its current state asks beyond what was done.
  Status ProcessOrder(const Order& o);
  // Earns on an event by the event rules whose name matches, within caps.
  Status ProcessEvent(const Event& e);

  // Reward redemption: hold the reward's points (and a unit of its stock, and a voucher code)
  // under `id`, then confirm or release. A replay of the same id for the same customer and
  // reward returns the redemption as it is.
  Result<RedemptionResult> HoldReward(CustomerId c, const LoyaltyReward& reward, const std::string& id);
  Result<RedemptionResult> ConfirmRedemption(const std::string& id);
  Result<RedemptionResult> ReleaseRedemption(const std::string& id);

  // Gives a customer a referral code (once) and records who referred a customer (once; not
  // themselves, not after their first order).
  Result<std::string> ReferralCode(CustomerId c);
  Status SetReferrer(CustomerId c, std::string_view code);

  // A surprise for a customer on an occasion ("" for once ever, else e.g. the year): its points
  // (an earn) and/or its reward (a redemption given free), each once, under the id
  // "surprise:<rule>:<customer>[:<occasion>]". A reward that is gone, inactive or out of stock
  // is left out. True when anything was granted now.
  // `at` (default: the batch's now) is when the grant is booked: an order milestone is booked
  // at the order's time.
  Result<bool> GrantSurprise(CustomerId c, const Surprise& s, const std::string& occasion,
                             std::optional<Timestamp> at = std::nullopt);

  // Runs what is due for a customer at `now`: pending points settle, lots expire, lapsed holds
  // are released (their redemptions too) and the tier is reviewed.
  Status RunDue(CustomerId c);

  // Moves the change-log cursor of ProcessChanges (committed with the batch).
  Status SetProcessedSeq(std::int64_t seq);

  // Writes every touched member and the new transfers, and commits.
  Status Commit();

 private:
  struct CustomerState {
    Ledger ledger;
    LoyaltyMember member;
    std::size_t stored = 0;  // transfers already in the store
    std::vector<TierChange> tier_changes;
    std::optional<std::vector<std::string>> segments;  // saved segments the customer is in
    std::optional<std::vector<Timestamp>> completed_orders;  // their times, sorted (milestones)
    bool dirty = false;  // to be written at commit
  };
  LoyaltyBatch(Store& store, std::unique_ptr<WriteTransaction> txn, const Workspace& ws, const Program& program,
               Timestamp now, LedgerCache* cache);

  Result<CustomerState*> Load(CustomerId c);
  Result<EarnContext> ContextOf(CustomerState& s);
  void Refresh(CustomerState& s);  // balances, tier and due time from the ledger
  Result<Posting> EarnOnce(CustomerState& s, const EarnRequest& r);
  Status Reverse(CustomerState& s, const std::string& earn_id, std::int64_t target, const std::string& reason,
                 const Source& source);
  Status PayReferral(CustomerState& s, const Order& o);
  Status OrderMilestones(CustomerState& s, const Order& o);
  std::int64_t Capped(const CustomerState& s, const EarnRule& rule, Timestamp at, std::int64_t points) const;
  Result<bool> InSegment(CustomerId c, const std::string& segment);
  Result<RedemptionResult> CloseRedemption(const std::string& id, bool confirm);

  Store& store_;
  std::unique_ptr<WriteTransaction> txn_;
  Workspace ws_;
  Program program_;
  Timestamp now_;
  TimeZone zone_;
  LedgerCache* cache_;
  std::map<CustomerId, CustomerState> customers_;
  std::map<std::int64_t, std::vector<CustomerId>> segment_members_;  // segment id → sorted members
};

// The change log as the program's input: orders and events written since the last run are
// earned on (and refunds reversed), in one transaction per page, with the cursor. Returns how
// many orders and events were looked at. NotFound when the workspace has no program.
struct ProcessStats {
  std::int64_t orders = 0;
  std::int64_t events = 0;
};
Result<ProcessStats> ProcessChanges(Store& store, const Workspace& ws, const Clock& clock, LedgerCache* cache);

// Runs what is due (RunDue) for every member with something due at the clock's now. Returns
// how many members were looked at.
Result<std::int64_t> RunDueWork(Store& store, const Workspace& ws, const Clock& clock, LedgerCache* cache);

// Checks the stored ledger: replays every member's transfers, checks the ledger's invariants
// (ledger.hpp CheckInvariants) and that the member row equals what the transfers give.
struct VerifyReport {
  std::int64_t members = 0;
  std::int64_t transfers = 0;
  std::int64_t points_outstanding = 0;  // Σ of customers' available + pending + held
  std::vector<std::string> problems;    // empty: all is well
};
Result<VerifyReport> VerifyLedger(Store& store, WorkspaceId ws);

// The workspace's program; NotFound when it has none.
Result<Program> LoadProgram(Store& store, const Workspace& ws);
// A stored program's definition, parsed.
Result<Program> ProgramOf(const LoyaltyProgramRecord& record, const Workspace& ws);

}  // namespace treu::loyalty
