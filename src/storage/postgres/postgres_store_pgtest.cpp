// The storage contract and PostgreSQL-specific behaviour, against the server named by
// TREU_TEST_PG_URL (scripts/with-postgres starts a throwaway one). Every test gets a database
// of its own, dropped when the test is done.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "storage/postgres/postgres_store.hpp"
#include "storage/store_contract_test.hpp"

namespace treu {
namespace postgres_migrations {
extern const std::size_t kFiles_count;
}  // namespace postgres_migrations

namespace {

constexpr const char* kUrlVariable = "TREU_TEST_PG_URL";

// The server's URL; records a failure (these tests never skip) when the variable is unset.
std::optional<std::string> ServerUrl() {
  const char* url = std::getenv(kUrlVariable);
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << kUrlVariable
                  << " is not set, so there is no PostgreSQL server to test against. Run "
                     "the tests under scripts/with-postgres (which starts a throwaway "
                     "server), or set it to a libpq URI such as "
                     "postgresql://postgres@127.0.0.1:5432/postgres";
    return std::nullopt;
  }
  return std::string(url);
}

// Runs `sql` on a new connection to `conninfo`; the first value of the first row, or "" for
// none. Test-side SQL only: the code under test never builds SQL from values.
Result<std::string> RunSql(const std::string& conninfo, const std::string& sql) {
  PGconn* pg = PQconnectdb(conninfo.c_str());
  if (PQstatus(pg) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(pg);
    PQfinish(pg);
    return Unavailable("test connect", msg);
  }
  PGresult* r = PQexec(pg, sql.c_str());
  const ExecStatusType st = PQresultStatus(r);
  std::string out;
  std::optional<Error> err;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    err = Error(ErrorCode::kInternal, sql, PQresultErrorMessage(r));
  } else if (PQntuples(r) > 0) {
    out = PQgetvalue(r, 0, 0);
  }
  PQclear(r);
  PQfinish(pg);
  if (err) return std::unexpected(*err);
  return out;
}

// `conninfo` (URI or key/value) with its database replaced by `dbname`, as key/value pairs.
std::optional<std::string> WithDatabase(const std::string& conninfo, const std::string& dbname) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
  if (options == nullptr) {
    ADD_FAILURE() << kUrlVariable << " is not a libpq connection string: "
                  << (err != nullptr ? err : "out of memory");
    PQfreemem(err);
    return std::nullopt;
  }
  auto quote = [](std::string_view v) {
    std::string q = "'";
    for (const char c : v) {
      if (c == '\'' || c == '\\') q += '\\';
      q += c;
    }
    return q + "'";
  };
  std::string out = "dbname=" + quote(dbname);
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || std::string_view(o->keyword) == "dbname") continue;
    out += " " + std::string(o->keyword) + "=" + quote(o->val);
  }
  PQconninfoFree(options);
  return out;
}

// A database created for one test and dropped, with any connections left, afterwards.
class TestDatabase {
 public:
  static std::unique_ptr<TestDatabase> Create() {
    const std::optional<std::string> admin = ServerUrl();
    if (!admin) return nullptr;
    static std::atomic<int> counter{0};
    const std::string name =
        "treu_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    std::optional<std::string> url = WithDatabase(*admin, name);
    if (!url) return nullptr;
    if (auto r = RunSql(*admin, "CREATE DATABASE " + name); !r) {
      ADD_FAILURE() << "cannot create a test database on " << kUrlVariable << ": "
                    << r.error().ToString();
      return nullptr;
    }
    return std::unique_ptr<TestDatabase>(new TestDatabase(*admin, name, *url));
  }

  ~TestDatabase() {
    if (auto r = RunSql(admin_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"); !r) {
      ADD_FAILURE() << "cannot drop " << name_ << ": " << r.error().ToString();
    }
  }

  // A libpq connection string for the test database.
  const std::string& url() const { return url_; }

 private:
  TestDatabase(std::string admin, std::string name, std::string url)
      : admin_(std::move(admin)), name_(std::move(name)), url_(std::move(url)) {}

  std::string admin_;
  std::string name_;
  std::string url_;
};

// A store on a database of its own; closes the store, then drops the database.
class TestStore final : public Store {
 public:
  TestStore(std::unique_ptr<TestDatabase> db, std::unique_ptr<Store> store)
      : db_(std::move(db)), store_(std::move(store)) {}

  std::string_view backend() const override { return store_->backend(); }
  Result<bool> HoldLock(std::string_view name) override { return store_->HoldLock(name); }
  Result<Workspace> FindWorkspace(std::string_view name) override {
    return store_->FindWorkspace(name);
  }
  Result<Workspace> CreateWorkspace(const Workspace& w) override {
    return store_->CreateWorkspace(w);
  }
  Result<std::vector<Workspace>> ListWorkspaces() override { return store_->ListWorkspaces(); }
  Result<std::unique_ptr<WriteTransaction>> BeginWrite(WorkspaceId ws) override {
    return store_->BeginWrite(ws);
  }
  Result<EntityCounts> Counts(WorkspaceId ws) override { return store_->Counts(ws); }
  Result<std::optional<Customer>> FindCustomer(WorkspaceId ws, std::string_view ext) override {
    return store_->FindCustomer(ws, ext);
  }
  Result<std::optional<Product>> FindProduct(WorkspaceId ws, std::string_view ext) override {
    return store_->FindProduct(ws, ext);
  }
  Result<std::optional<Order>> FindOrder(WorkspaceId ws, std::string_view ext) override {
    return store_->FindOrder(ws, ext);
  }
  Result<std::optional<Subscription>> FindSubscription(WorkspaceId ws,
                                                       std::string_view ext) override {
    return store_->FindSubscription(ws, ext);
  }
  Status ScanCustomers(WorkspaceId ws, const std::function<void(const Customer&)>& f) override {
    return store_->ScanCustomers(ws, f);
  }
  Status ScanOrders(WorkspaceId ws, const std::function<void(const Order&)>& f) override {
    return store_->ScanOrders(ws, f);
  }
  Status ScanSubscriptions(WorkspaceId ws,
                           const std::function<void(const Subscription&)>& f) override {
    return store_->ScanSubscriptions(ws, f);
  }
  Status ScanEvents(WorkspaceId ws, const std::function<void(const Event&)>& f) override {
    return store_->ScanEvents(ws, f);
  }
  Status ScanCustomerKeys(WorkspaceId ws, std::int64_t first_id, std::int64_t last_id,
                          const std::function<void(const CustomerKey&)>& f) override {
    return store_->ScanCustomerKeys(ws, first_id, last_id, f);
  }
  Status ScanOrderFacts(WorkspaceId ws, std::int64_t first_id, std::int64_t last_id,
                        const std::function<void(const OrderFact&)>& f) override {
    return store_->ScanOrderFacts(ws, first_id, last_id, f);
  }
  Status ScanRefundFacts(WorkspaceId ws, std::int64_t first_order_id, std::int64_t last_order_id,
                         const std::function<void(const RefundFact&)>& f) override {
    return store_->ScanRefundFacts(ws, first_order_id, last_order_id, f);
  }
  Status ScanSubscriptionRange(WorkspaceId ws, std::int64_t first_id, std::int64_t last_id,
                               const std::function<void(const Subscription&)>& f) override {
    return store_->ScanSubscriptionRange(ws, first_id, last_id, f);
  }
  Result<std::vector<Customer>> ListCustomers(WorkspaceId ws, const CustomerFilter& filter,
                                              std::int64_t after_id, int limit) override {
    return store_->ListCustomers(ws, filter, after_id, limit);
  }
  Result<std::vector<Event>> ListEvents(WorkspaceId ws, std::string_view user_id,
                                        std::int64_t after_id, int limit) override {
    return store_->ListEvents(ws, user_id, after_id, limit);
  }
  Result<std::vector<Order>> ListOrders(WorkspaceId ws, std::string_view customer,
                                        std::int64_t after_id, int limit) override {
    return store_->ListOrders(ws, customer, after_id, limit);
  }
  Result<std::vector<Subscription>> ListSubscriptions(WorkspaceId ws, std::string_view customer,
                                                      std::int64_t after_id, int limit) override {
    return store_->ListSubscriptions(ws, customer, after_id, limit);
  }
  Result<std::vector<Product>> ListProducts(WorkspaceId ws, std::int64_t after_id,
                                            int limit) override {
    return store_->ListProducts(ws, after_id, limit);
  }
  Result<ImportJob> CreateImportJob(const ImportJob& job) override {
    return store_->CreateImportJob(job);
  }
  Status UpdateImportJob(const ImportJob& job) override { return store_->UpdateImportJob(job); }
  Result<std::optional<ImportJob>> FindImportJob(WorkspaceId ws, std::int64_t id) override {
    return store_->FindImportJob(ws, id);
  }
  Result<std::int64_t> FailUnfinishedImportJobs(std::string_view error, Timestamp now) override {
    return store_->FailUnfinishedImportJobs(error, now);
  }
  Status UpdateWorkspace(const Workspace& w) override { return store_->UpdateWorkspace(w); }
  Result<ModelRun> CreateModelRun(const ModelRun& run) override { return store_->CreateModelRun(run); }
  Status UpdateModelRun(const ModelRun& run) override { return store_->UpdateModelRun(run); }
  Result<std::vector<ModelRun>> ListModelRuns(WorkspaceId ws, std::string_view model,
                                              int limit) override {
    return store_->ListModelRuns(ws, model, limit);
  }
  Result<std::optional<ModelRun>> FindModelRun(WorkspaceId ws, std::int64_t id) override {
    return store_->FindModelRun(ws, id);
  }
  Result<SegmentDefinition> SaveSegment(const SegmentDefinition& s) override { return store_->SaveSegment(s); }
  Result<std::vector<SegmentDefinition>> ListSegments(WorkspaceId ws) override { return store_->ListSegments(ws); }
  Result<std::optional<SegmentDefinition>> FindSegment(WorkspaceId ws, std::string_view name) override {
    return store_->FindSegment(ws, name);
  }
  Status DeleteSegment(WorkspaceId ws, std::string_view name) override { return store_->DeleteSegment(ws, name); }
  Result<SegmentDefinition> UpdateSegment(const SegmentDefinition& seg) override { return store_->UpdateSegment(seg); }
  Result<std::optional<SegmentDefinition>> FindSegmentById(WorkspaceId ws, std::int64_t id) override {
    return store_->FindSegmentById(ws, id);
  }
  Status ApplySegmentRefresh(const SegmentRefresh& r) override { return store_->ApplySegmentRefresh(r); }
  Result<SurveyRecord> SaveSurvey(const SurveyRecord& sv) override { return store_->SaveSurvey(sv); }
  Result<std::optional<std::string>> CustomerExternalId(WorkspaceId ws, CustomerId id) override {
    return store_->CustomerExternalId(ws, id);
  }
  Status CreateSurveyInvitations(std::span<const SurveyInvitation> i) override {
    return store_->CreateSurveyInvitations(i);
  }
  Result<std::optional<SurveyInvitation>> FindSurveyInvitation(WorkspaceId ws, std::int64_t survey,
                                                               std::int64_t nonce) override {
    return store_->FindSurveyInvitation(ws, survey, nonce);
  }
  Result<std::int64_t> CountSurveyInvitations(WorkspaceId ws, std::int64_t survey) override {
    return store_->CountSurveyInvitations(ws, survey);
  }
  Result<SurveyResponse> SaveSurveyResponse(const SurveyResponse& r) override { return store_->SaveSurveyResponse(r); }
  Result<std::optional<SurveyResponse>> FindSurveyResponse(WorkspaceId ws, std::int64_t survey,
                                                           std::int64_t nonce) override {
    return store_->FindSurveyResponse(ws, survey, nonce);
  }
  Result<std::vector<SurveyResponse>> ListSurveyResponses(WorkspaceId ws, std::int64_t survey, std::int64_t after,
                                                          int limit) override {
    return store_->ListSurveyResponses(ws, survey, after, limit);
  }
  Status ScanSurveyInvitations(WorkspaceId ws,
                               const std::function<void(std::int64_t, CustomerId, Timestamp)>& f) override {
    return store_->ScanSurveyInvitations(ws, f);
  }
  Result<std::vector<std::pair<CustomerId, Timestamp>>> LatestEvents(WorkspaceId ws, std::string_view name) override {
    return store_->LatestEvents(ws, name);
  }
  Result<std::pair<FollowUpItem, bool>> CreateFollowUp(const FollowUpItem& f) override {
    return store_->CreateFollowUp(f);
  }
  Result<std::optional<FollowUpItem>> FindFollowUp(WorkspaceId ws, std::int64_t id) override {
    return store_->FindFollowUp(ws, id);
  }
  Result<std::vector<FollowUpItem>> ListFollowUps(WorkspaceId ws, std::string_view status, std::int64_t after,
                                                  int limit) override {
    return store_->ListFollowUps(ws, status, after, limit);
  }
  Status UpdateFollowUp(const FollowUpItem& f) override { return store_->UpdateFollowUp(f); }
  Result<std::vector<FollowUpItem>> DueFollowUpNotifications(Timestamp now, int limit) override {
    return store_->DueFollowUpNotifications(now, limit);
  }
  Status RecordFollowUpNotification(std::int64_t id, std::string_view state, int attempts, Timestamp next_at,
                                    std::string_view error) override {
    return store_->RecordFollowUpNotification(id, state, attempts, next_at, error);
  }
  Result<std::vector<NpsScore>> LatestNpsScores(WorkspaceId ws, Timestamp now) override {
    return store_->LatestNpsScores(ws, now);
  }
  Result<std::vector<SurveyRecord>> ListSurveys(WorkspaceId ws) override { return store_->ListSurveys(ws); }
  Result<std::optional<SurveyRecord>> FindSurvey(WorkspaceId ws, std::string_view name) override {
    return store_->FindSurvey(ws, name);
  }
  Result<std::optional<SurveyRecord>> FindSurveyById(WorkspaceId ws, std::int64_t id) override {
    return store_->FindSurveyById(ws, id);
  }
  Result<std::vector<SegmentMember>> ListSegmentMembers(WorkspaceId ws, std::int64_t segment_id, std::int64_t after,
                                                        int limit) override {
    return store_->ListSegmentMembers(ws, segment_id, after, limit);
  }
  Result<std::vector<SegmentTransition>> ListSegmentTransitions(WorkspaceId ws, std::int64_t segment_id,
                                                                std::int64_t after_id, int limit) override {
    return store_->ListSegmentTransitions(ws, segment_id, after_id, limit);
  }
  Result<std::vector<SegmentSize>> ListSegmentSizes(WorkspaceId ws, std::int64_t segment_id, Timestamp since) override {
    return store_->ListSegmentSizes(ws, segment_id, since);
  }
  Result<std::vector<std::pair<std::int64_t, Timestamp>>> CustomerSegments(WorkspaceId ws,
                                                                           CustomerId customer) override {
    return store_->CustomerSegments(ws, customer);
  }
  Result<std::vector<SegmentTransition>> CustomerSegmentTransitions(WorkspaceId ws, CustomerId customer) override {
    return store_->CustomerSegmentTransitions(ws, customer);
  }
  Result<std::vector<SurveyResponse>> CustomerSurveyResponses(WorkspaceId ws, CustomerId customer) override {
    return store_->CustomerSurveyResponses(ws, customer);
  }
  Result<std::int64_t> FailUnfinishedModelRuns(std::string_view error, Timestamp now) override {
    return store_->FailUnfinishedModelRuns(error, now);
  }
  Result<IdempotencyClaim> ClaimIdempotencyKey(WorkspaceId ws, std::string_view key,
                                               std::string_view hash, Timestamp now,
                                               std::int64_t stale) override {
    return store_->ClaimIdempotencyKey(ws, key, hash, now, stale);
  }
  Status CompleteIdempotencyKey(WorkspaceId ws, std::string_view key, int status,
                                std::string_view response) override {
    return store_->CompleteIdempotencyKey(ws, key, status, response);
  }
  Result<ApiKey> CreateApiKey(const ApiKey& key) override { return store_->CreateApiKey(key); }
  Result<std::optional<ApiKey>> FindApiKey(std::string_view hash_hex) override {
    return store_->FindApiKey(hash_hex);
  }
  Result<std::vector<ApiKey>> ListApiKeys(WorkspaceId ws) override {
    return store_->ListApiKeys(ws);
  }
  Status RevokeApiKey(WorkspaceId ws, std::int64_t id, Timestamp now) override {
    return store_->RevokeApiKey(ws, id, now);
  }
  Result<DashboardUser> CreateDashboardUser(const DashboardUser& u) override {
    return store_->CreateDashboardUser(u);
  }
  Status UpdateDashboardUser(const DashboardUser& u) override { return store_->UpdateDashboardUser(u); }
  Result<std::optional<DashboardUser>> FindDashboardUser(WorkspaceId ws, std::int64_t id) override {
    return store_->FindDashboardUser(ws, id);
  }
  Result<std::optional<DashboardUser>> FindDashboardUserByEmail(WorkspaceId ws,
                                                                std::string_view email) override {
    return store_->FindDashboardUserByEmail(ws, email);
  }
  Result<std::vector<DashboardUser>> FindDashboardUsersByEmail(std::string_view email) override {
    return store_->FindDashboardUsersByEmail(email);
  }
  Result<std::vector<DashboardUser>> ListDashboardUsers(WorkspaceId ws) override {
    return store_->ListDashboardUsers(ws);
  }
  Status DeleteDashboardUser(WorkspaceId ws, std::int64_t id) override {
    return store_->DeleteDashboardUser(ws, id);
  }
  Status CreateDashboardSession(const DashboardSession& s) override {
    return store_->CreateDashboardSession(s);
  }
  Result<std::optional<DashboardSession>> FindDashboardSession(std::string_view token_hash) override {
    return store_->FindDashboardSession(token_hash);
  }
  Status TouchDashboardSession(std::string_view token_hash, Timestamp at) override {
    return store_->TouchDashboardSession(token_hash, at);
  }
  Status DeleteDashboardSession(std::string_view token_hash) override {
    return store_->DeleteDashboardSession(token_hash);
  }
  Status DeleteDashboardSessions(WorkspaceId ws, std::int64_t user_id) override {
    return store_->DeleteDashboardSessions(ws, user_id);
  }
  Result<std::optional<LoyaltyProgramRecord>> FindLoyaltyProgram(WorkspaceId ws) override {
    return store_->FindLoyaltyProgram(ws);
  }
  Result<LoyaltyProgramRecord> SaveLoyaltyProgram(const LoyaltyProgramRecord& p) override {
    return store_->SaveLoyaltyProgram(p);
  }
  Result<std::optional<LoyaltyMember>> FindLoyaltyMember(WorkspaceId ws,
                                                         CustomerId customer) override {
    return store_->FindLoyaltyMember(ws, customer);
  }
  Result<std::vector<LoyaltyMember>> ListLoyaltyMembers(WorkspaceId ws, std::int64_t after,
                                                        int limit) override {
    return store_->ListLoyaltyMembers(ws, after, limit);
  }
  Result<std::vector<CustomerId>> DueLoyaltyMembers(WorkspaceId ws, Timestamp now,
                                                    int limit) override {
    return store_->DueLoyaltyMembers(ws, now, limit);
  }
  Result<std::vector<LoyaltyTransferRecord>> ListLoyaltyTransfers(WorkspaceId ws,
                                                                  CustomerId customer,
                                                                  std::int64_t after_seq,
                                                                  int limit) override {
    return store_->ListLoyaltyTransfers(ws, customer, after_seq, limit);
  }
  Status ScanLoyaltyTransfers(WorkspaceId ws, Timestamp from, Timestamp to,
                              const std::function<void(const LoyaltyTransferRecord&)>& f) override {
    return store_->ScanLoyaltyTransfers(ws, from, to, f);
  }
  Status ScanLoyaltyFlows(WorkspaceId ws, const std::function<void(const LoyaltyFlowRow&)>& f) override {
    return store_->ScanLoyaltyFlows(ws, f);
  }
  Result<std::vector<LoyaltyTierChange>> ListLoyaltyTierChanges(WorkspaceId ws,
                                                                CustomerId customer) override {
    return store_->ListLoyaltyTierChanges(ws, customer);
  }
  Result<LoyaltyReward> SaveLoyaltyReward(const LoyaltyReward& r) override {
    return store_->SaveLoyaltyReward(r);
  }
  Result<std::vector<LoyaltyReward>> ListLoyaltyRewards(WorkspaceId ws) override {
    return store_->ListLoyaltyRewards(ws);
  }
  Result<std::optional<LoyaltyReward>> FindLoyaltyReward(WorkspaceId ws,
                                                         std::string_view name) override {
    return store_->FindLoyaltyReward(ws, name);
  }
  Result<std::int64_t> AddLoyaltyRewardCodes(WorkspaceId ws, std::int64_t reward_id,
                                             std::span<const std::string> codes) override {
    return store_->AddLoyaltyRewardCodes(ws, reward_id, codes);
  }
  Result<std::vector<LoyaltyRedemption>> ListLoyaltyRedemptions(WorkspaceId ws, CustomerId customer,
                                                                std::int64_t after_row,
                                                                int limit) override {
    return store_->ListLoyaltyRedemptions(ws, customer, after_row, limit);
  }
  Result<std::optional<LoyaltyRedemption>> FindLoyaltyRedemption(WorkspaceId ws,
                                                                 std::string_view id) override {
    return store_->FindLoyaltyRedemption(ws, id);
  }
  Result<MessageTemplateRecord> SaveMessageTemplate(const MessageTemplateRecord& t) override {
    return store_->SaveMessageTemplate(t);
  }
  Result<std::vector<MessageTemplateRecord>> ListMessageTemplates(WorkspaceId ws) override {
    return store_->ListMessageTemplates(ws);
  }
  Result<std::optional<MessageTemplateRecord>> FindMessageTemplate(WorkspaceId ws,
                                                                   std::string_view name) override {
    return store_->FindMessageTemplate(ws, name);
  }
  Result<std::optional<MessageTemplateRecord>> FindMessageTemplateById(WorkspaceId ws,
                                                                       std::int64_t id) override {
    return store_->FindMessageTemplateById(ws, id);
  }
  Status DeleteMessageTemplate(WorkspaceId ws, std::string_view name) override {
    return store_->DeleteMessageTemplate(ws, name);
  }
  Result<std::int64_t> EnqueueMessages(WorkspaceId ws, std::span<const OutboxMessage> messages,
                                       Timestamp now) override {
    return store_->EnqueueMessages(ws, messages, now);
  }
  Result<std::vector<OutboxMessage>> ClaimMessages(Channel channel, Timestamp now,
                                                   std::int64_t lease_micros,
                                                   std::string_view worker, int limit) override {
    return store_->ClaimMessages(channel, now, lease_micros, worker, limit);
  }
  Result<bool> FinishMessage(const MessageOutcome& o) override { return store_->FinishMessage(o); }
  Result<std::optional<OutboxMessage>> FindMessage(WorkspaceId ws, std::int64_t id) override {
    return store_->FindMessage(ws, id);
  }
  Result<std::optional<OutboxMessage>> FindMessageByKey(WorkspaceId ws,
                                                        std::string_view key) override {
    return store_->FindMessageByKey(ws, key);
  }
  Result<std::vector<OutboxMessage>> ListMessages(WorkspaceId ws, const MessageFilter& filter,
                                                  std::int64_t before_id, int limit) override {
    return store_->ListMessages(ws, filter, before_id, limit);
  }
  Result<MessageCounts> CountMessages(WorkspaceId ws, std::string_view campaign) override {
    return store_->CountMessages(ws, campaign);
  }
  Result<std::int64_t> CancelMessages(WorkspaceId ws, const MessageFilter& filter,
                                      Timestamp now) override {
    return store_->CancelMessages(ws, filter, now);
  }
  Status AppendMessageLog(const MessageLogEntry& e) override { return store_->AppendMessageLog(e); }
  Result<std::vector<MessageLogEntry>> ListMessageLog(WorkspaceId ws, std::int64_t message_id,
                                                      CustomerId customer, int limit) override {
    return store_->ListMessageLog(ws, message_id, customer, limit);
  }
  Status SuppressEmail(const EmailSuppression& s) override { return store_->SuppressEmail(s); }
  Result<std::optional<EmailSuppression>> FindSuppression(WorkspaceId ws,
                                                          std::string_view address) override {
    return store_->FindSuppression(ws, address);
  }
  Result<std::vector<EmailSuppression>> ListSuppressions(WorkspaceId ws,
                                                         std::string_view after_address,
                                                         int limit) override {
    return store_->ListSuppressions(ws, after_address, limit);
  }
  Result<bool> DeleteSuppression(WorkspaceId ws, std::string_view address) override {
    return store_->DeleteSuppression(ws, address);
  }
  Result<ConsentRecord> AddConsentRecord(const ConsentRecord& r) override {
    return store_->AddConsentRecord(r);
  }
  Result<std::vector<ConsentRecord>> ListConsentRecords(WorkspaceId ws, CustomerId customer,
                                                        std::int64_t after_id, int limit) override {
    return store_->ListConsentRecords(ws, customer, after_id, limit);
  }
  Status SaveMessagePreferences(const MessagePreferences& p) override {
    return store_->SaveMessagePreferences(p);
  }
  Result<std::optional<MessagePreferences>> FindMessagePreferences(WorkspaceId ws,
                                                                   CustomerId customer) override {
    return store_->FindMessagePreferences(ws, customer);
  }
  Status SaveMessagingSettings(const MessagingSettingsRecord& s) override {
    return store_->SaveMessagingSettings(s);
  }
  Result<std::optional<MessagingSettingsRecord>> FindMessagingSettings(WorkspaceId ws) override {
    return store_->FindMessagingSettings(ws);
  }
  Result<PushSubscriptionRecord> SavePushSubscription(const PushSubscriptionRecord& s) override {
    return store_->SavePushSubscription(s);
  }
  Result<std::vector<PushSubscriptionRecord>> ListPushSubscriptions(WorkspaceId ws, CustomerId customer,
                                                                    std::int64_t after_id, int limit) override {
    return store_->ListPushSubscriptions(ws, customer, after_id, limit);
  }
  Result<std::optional<PushSubscriptionRecord>> FindPushSubscription(WorkspaceId ws, std::int64_t id) override {
    return store_->FindPushSubscription(ws, id);
  }
  Result<bool> DeletePushSubscription(WorkspaceId ws, std::int64_t id) override {
    return store_->DeletePushSubscription(ws, id);
  }
  Result<bool> DeletePushSubscriptionByEndpoint(WorkspaceId ws, std::string_view endpoint) override {
    return store_->DeletePushSubscriptionByEndpoint(ws, endpoint);
  }
  Result<WebhookEndpointRecord> SaveWebhookEndpoint(const WebhookEndpointRecord& e) override {
    return store_->SaveWebhookEndpoint(e);
  }
  Result<std::vector<WebhookEndpointRecord>> ListWebhookEndpoints(WorkspaceId ws) override {
    return store_->ListWebhookEndpoints(ws);
  }
  Result<std::optional<WebhookEndpointRecord>> FindWebhookEndpoint(WorkspaceId ws,
                                                                   std::string_view name) override {
    return store_->FindWebhookEndpoint(ws, name);
  }
  Status DeleteWebhookEndpoint(WorkspaceId ws, std::string_view name) override {
    return store_->DeleteWebhookEndpoint(ws, name);
  }
  Status SaveChannelSettings(const ChannelSettingsRecord& s) override { return store_->SaveChannelSettings(s); }
  Result<std::optional<ChannelSettingsRecord>> FindChannelSettings(WorkspaceId ws) override {
    return store_->FindChannelSettings(ws);
  }
  Result<std::vector<OutboxMessage>> ListInAppMessages(WorkspaceId ws, CustomerId customer, Timestamp since,
                                                       int limit) override {
    return store_->ListInAppMessages(ws, customer, since, limit);
  }
  Result<CampaignRecord> SaveCampaign(const CampaignRecord& c) override { return store_->SaveCampaign(c); }
  Result<std::vector<CampaignRecord>> ListCampaigns(WorkspaceId ws) override { return store_->ListCampaigns(ws); }
  Result<std::optional<CampaignRecord>> FindCampaign(WorkspaceId ws, std::string_view name) override {
    return store_->FindCampaign(ws, name);
  }
  Status DeleteCampaign(WorkspaceId ws, std::string_view name) override { return store_->DeleteCampaign(ws, name); }
  Result<bool> UpdateCampaignIf(const CampaignRecord& c, CampaignState expected) override {
    return store_->UpdateCampaignIf(c, expected);
  }
  Result<std::vector<CampaignRecord>> ListDueCampaigns(Timestamp now, Timestamp stale_before) override {
    return store_->ListDueCampaigns(now, stale_before);
  }
  Status SaveCampaignMembers(WorkspaceId ws, std::int64_t campaign_id,
                             std::span<const CampaignMember> members) override {
    return store_->SaveCampaignMembers(ws, campaign_id, members);
  }
  Result<std::vector<CampaignMember>> ListCampaignMembers(WorkspaceId ws, std::int64_t campaign_id, CustomerId after,
                                                          int limit) override {
    return store_->ListCampaignMembers(ws, campaign_id, after, limit);
  }
  Result<RenderedPlans> RenderPlannedMembers(WorkspaceId ws, std::int64_t campaign_id,
                                             std::span<const CampaignMember> members,
                                             std::span<const OutboxMessage> messages, Timestamp now) override {
    return store_->RenderPlannedMembers(ws, campaign_id, members, messages, now);
  }
  Result<std::vector<std::pair<WorkspaceId, std::int64_t>>> ListCampaignsWithPlans(Timestamp before) override {
    return store_->ListCampaignsWithPlans(before);
  }
  Result<std::vector<CampaignMember>> ListPlannedMembers(WorkspaceId ws, std::int64_t campaign_id, Timestamp before,
                                                         int limit) override {
    return store_->ListPlannedMembers(ws, campaign_id, before, limit);
  }
  Result<std::int64_t> UnplanCampaignMembers(WorkspaceId ws, std::int64_t campaign_id, std::optional<CustomerId> customer,
                                             std::string_view outcome) override {
    return store_->UnplanCampaignMembers(ws, campaign_id, customer, outcome);
  }
  Result<std::vector<MarketingMessageRow>> ListMarketingMessages(WorkspaceId ws, Timestamp from,
                                                                 Timestamp to) override {
    return store_->ListMarketingMessages(ws, from, to);
  }
  Result<std::vector<EngagementRow>> ListEngagements(WorkspaceId ws, Timestamp since) override {
    return store_->ListEngagements(ws, since);
  }
  Status SaveDeliveryRules(const DeliveryRulesRecord& r) override { return store_->SaveDeliveryRules(r); }
  Result<std::optional<DeliveryRulesRecord>> FindDeliveryRules(WorkspaceId ws) override {
    return store_->FindDeliveryRules(ws);
  }
  Result<JourneyRecord> SaveJourney(const JourneyRecord& j) override { return store_->SaveJourney(j); }
  Result<std::vector<JourneyRecord>> ListJourneys(WorkspaceId ws) override { return store_->ListJourneys(ws); }
  Result<std::optional<JourneyRecord>> FindJourney(WorkspaceId ws, std::string_view name) override {
    return store_->FindJourney(ws, name);
  }
  Status DeleteJourney(WorkspaceId ws, std::string_view name) override { return store_->DeleteJourney(ws, name); }
  Result<std::optional<std::string>> FindJourneyVersion(WorkspaceId ws, std::int64_t journey_id,
                                                        int version) override {
    return store_->FindJourneyVersion(ws, journey_id, version);
  }
  Result<std::vector<std::int64_t>> WriteJourneyRuns(WorkspaceId ws, std::int64_t journey_id,
                                                     std::span<const JourneyRunRow> runs,
                                                     std::span<const JourneyStepCount> step_deltas,
                                                     const JourneyRecord* cursors) override {
    return store_->WriteJourneyRuns(ws, journey_id, runs, step_deltas, cursors);
  }
  Result<std::vector<JourneyRunRow>> ListJourneyRuns(WorkspaceId ws, const JourneyRunFilter& filter,
                                                     std::int64_t after_id, int limit) override {
    return store_->ListJourneyRuns(ws, filter, after_id, limit);
  }
  Result<std::vector<JourneyRunRow>> ListDueJourneyRuns(WorkspaceId ws, Timestamp now, int limit) override {
    return store_->ListDueJourneyRuns(ws, now, limit);
  }
  Result<std::vector<JourneyStepCount>> CountJourneySteps(WorkspaceId ws, std::int64_t journey_id) override {
    return store_->CountJourneySteps(ws, journey_id);
  }
  Result<std::vector<JourneyRunCount>> CountJourneyRuns(WorkspaceId ws, std::int64_t journey_id) override {
    return store_->CountJourneyRuns(ws, journey_id);
  }
  Result<std::vector<Change>> ReadChanges(WorkspaceId ws, std::int64_t after_seq,
                                          int limit) override {
    return store_->ReadChanges(ws, after_seq, limit);
  }

 private:
  std::unique_ptr<TestDatabase> db_;  // destroyed after store_
  std::unique_ptr<Store> store_;
};

std::unique_ptr<Store> OpenFreshPostgres(const Clock& clock) {
  auto db = TestDatabase::Create();
  if (db == nullptr) return nullptr;
  auto store = OpenPostgresStore(db->url(), clock);
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  if (!store) return nullptr;
  return std::make_unique<TestStore>(std::move(db), std::move(*store));
}

}  // namespace

namespace testing_contract {
INSTANTIATE_TEST_SUITE_P(Postgres, StoreContractTest, ::testing::Values(&OpenFreshPostgres));
}  // namespace testing_contract

namespace {

Currency Eur() { return Currency::FromCode("EUR").value(); }

Order MakeOrder(std::string ext, CustomerId c, std::int64_t total, std::int64_t at_s) {
  Order o;
  o.external_id = std::move(ext);
  o.customer = c;
  o.placed_at = Timestamp::FromSeconds(at_s);
  o.total = Money{total, Eur()};
  return o;
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = TestDatabase::Create();
    ASSERT_NE(db_, nullptr);
  }

  std::unique_ptr<Store> Open() {
    auto store = OpenPostgresStore(db_->url(), clock_);
    EXPECT_TRUE(store.has_value()) << store.error().ToString();
    return store ? std::move(*store) : nullptr;
  }

  Workspace MakeWorkspace(Store& store, const std::string& name) {
    Workspace w;
    w.name = name;
    w.created_at = clock_.Now();
    auto created = store.CreateWorkspace(w);
    EXPECT_TRUE(created.has_value()) << created.error().ToString();
    return created.value_or(w);
  }

  // Never advanced while several threads read it.
  ManualClock clock_{Timestamp::FromSeconds(1'700'000'000)};
  std::unique_ptr<TestDatabase> db_;
};

TEST(PostgresOpenTest, UnreachableServerIsUnavailableWithLibpqMessage) {
  ManualClock clock(Timestamp::FromSeconds(0));
  auto store = OpenPostgresStore("postgresql://treu@127.0.0.1:1/treu?connect_timeout=5", clock);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(store.error().detail().find("127.0.0.1"), std::string::npos)
      << store.error().ToString();
}

TEST_F(PostgresStoreTest, MigrationsAreAppliedOnceAcrossOpens) {
  auto first = Open();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->backend(), "postgresql");
  MakeWorkspace(*first, "shop");
  auto second = Open();
  ASSERT_NE(second, nullptr);
  EXPECT_TRUE(second->FindWorkspace("shop").has_value());
  EXPECT_EQ(RunSql(db_->url(), "SELECT count(*) FROM schema_migrations").value(),
            std::to_string(postgres_migrations::kFiles_count));
  EXPECT_EQ(RunSql(db_->url(), "SELECT min(version) FROM schema_migrations").value(), "1");
}

TEST_F(PostgresStoreTest, ALockIsHeldByOneSessionUntilItCloses) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->HoldLock("journeys").value());
  EXPECT_TRUE(a->HoldLock("journeys").value()) << "asking again while holding it";
  EXPECT_FALSE(b->HoldLock("journeys").value()) << "another session on the database";
  EXPECT_TRUE(b->HoldLock("other_work").value()) << "locks of other names are independent";
  EXPECT_FALSE(a->HoldLock("other_work").value());
  a.reset();
  EXPECT_TRUE(b->HoldLock("journeys").value()) << "closing a store lets go of its locks";
  EXPECT_EQ(b->HoldLock("Journeys!").error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(PostgresStoreTest, StoresOpeningTogetherMigrateOnce) {
  constexpr int kOpeners = 4;
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  std::mutex mu;
  std::vector<std::string> errors;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&] {
      auto store = OpenPostgresStore(db_->url(), clock_);
      if (store) {
        ++opened;
      } else {
        std::lock_guard<std::mutex> lock(mu);
        errors.push_back(store.error().ToString());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), kOpeners) << (errors.empty() ? "" : errors.front());
  EXPECT_EQ(RunSql(db_->url(), "SELECT count(*) FROM schema_migrations").value(),
            std::to_string(postgres_migrations::kFiles_count));
}

TEST_F(PostgresStoreTest, BeginWriteWaitsOnlyForAWriterOfTheSameWorkspace) {
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const Workspace one = MakeWorkspace(*a, "one");
  const Workspace two = MakeWorkspace(*a, "two");
  auto held = a->BeginWrite(one.id);
  ASSERT_TRUE(held.has_value()) << held.error().ToString();
  {
    auto other = b->BeginWrite(two.id);  // another workspace: no wait
    ASSERT_TRUE(other.has_value()) << other.error().ToString();
    ASSERT_TRUE((*other)->Commit());
  }
  std::atomic<bool> returned{false};
  std::atomic<bool> committed{false};
  std::thread waiter([&] {
    auto tx = b->BeginWrite(one.id);
    returned = true;
    committed = tx.has_value() && (*tx)->Commit().has_value();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(returned.load()) << "the second writer did not wait for the first";
  ASSERT_TRUE((*held)->Commit());
  waiter.join();
  EXPECT_TRUE(committed.load());
}

TEST_F(PostgresStoreTest, ConcurrentWritersLogInCommitOrder) {
  constexpr int kTransactionsPerWriter = 15;
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const Workspace w = MakeWorkspace(*a, "shop");
  // A ticket taken while holding the workspace lock orders the transactions as they commit.
  std::atomic<int> next_ticket{0};
  std::mutex mu;
  std::vector<std::string> errors;
  auto writer = [&](Store* store) {
    for (int i = 0; i < kTransactionsPerWriter; ++i) {
      auto fail = [&](const Error& e) {
        std::lock_guard<std::mutex> lock(mu);
        errors.push_back(e.ToString());
      };
      auto tx = store->BeginWrite(w.id);
      if (!tx) return fail(tx.error());
      const std::string t = std::to_string(next_ticket++);
      const std::vector<std::string> customer{"k" + t};
      auto ids = (*tx)->ResolveCustomers(customer, clock_.Now());
      if (!ids) return fail(ids.error());
      std::vector<Order> orders{MakeOrder("o" + t, (*ids)[0], 100, 1000),
                                MakeOrder("p" + t, (*ids)[0], 200, 2000)};
      if (auto s = (*tx)->InsertOrders(orders); !s) return fail(s.error());
      if (auto s = (*tx)->Commit(); !s) return fail(s.error());
    }
  };
  std::thread ta(writer, a.get());
  std::thread tb(writer, b.get());
  ta.join();
  tb.join();
  ASSERT_TRUE(errors.empty()) << errors.front();

  std::map<std::int64_t, int> customer_ticket, order_ticket;
  ASSERT_TRUE(a->ScanCustomers(w.id, [&](const Customer& c) {
    customer_ticket[c.id.value] = std::stoi(c.external_id.substr(1));
  }));
  ASSERT_TRUE(a->ScanOrders(w.id, [&](const Order& o) {
    order_ticket[o.id.value] = std::stoi(o.external_id.substr(1));
  }));
  const auto changes = a->ReadChanges(w.id, 0, 1000).value();
  ASSERT_FALSE(changes.empty());
  EXPECT_EQ(changes[0].entity, Entity::kWorkspace);
  // Every row's ids belong to one transaction, and the transactions follow each other in
  // ticket (= commit) order without interleaving.
  std::vector<int> ids_per_ticket(2 * kTransactionsPerWriter, 0);
  int previous = 0;
  for (std::size_t i = 1; i < changes.size(); ++i) {
    const Change& c = changes[i];
    EXPECT_LT(changes[i - 1].seq, c.seq);
    EXPECT_EQ(c.op, ChangeOp::kInsert);
    const auto& tickets = c.entity == Entity::kCustomer ? customer_ticket : order_ticket;
    ASSERT_TRUE(tickets.contains(c.entity_id)) << "change " << c.seq;
    const int ticket = tickets.at(c.entity_id);
    for (auto id = c.entity_id; id <= c.last_entity_id; ++id) {
      ASSERT_TRUE(tickets.contains(id)) << "change " << c.seq;
      EXPECT_EQ(tickets.at(id), ticket) << "change " << c.seq << " spans transactions";
      ++ids_per_ticket.at(static_cast<std::size_t>(ticket));
    }
    EXPECT_GE(ticket, previous) << "change " << c.seq << " is out of commit order";
    previous = ticket;
  }
  for (const int n : ids_per_ticket) EXPECT_EQ(n, 3);  // one customer, two orders
}

TEST_F(PostgresStoreTest, AwkwardTextSurvivesCopyAndArrays) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const Workspace w = MakeWorkspace(*store, "shop");
  const std::vector<std::string> texts = {
      "tab\there",   "new\nline",      "cr\rlf\r\n", "back\\slash", "\\N",      "\\.", "quote\"d",
      "apo'strophe", "{braces,comma}", "NULL",       "ünïcødé 🚀",   " padded ", "$1"};
  {
    auto tx = store->BeginWrite(w.id).value();
    std::vector<Customer> customers;
    std::vector<Order> orders;
    std::vector<Event> events;
    std::vector<Subscription> subs;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const std::string& t = texts[i];
      Customer c;
      c.external_id = "c " + t;
      c.name = t;
      c.attributes["note"] = t;
      customers.push_back(c);
    }
    ASSERT_EQ(tx->UpsertCustomers(customers, clock_.Now()).value().inserted,
              static_cast<std::int64_t>(customers.size()));
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const std::string& t = texts[i];
      const CustomerId c =
          tx->ResolveCustomers(std::vector<std::string>{"c " + t}, clock_.Now()).value()[0];
      Order o = MakeOrder(t, c, 100, 1000);
      o.lines.push_back({t, 1, 100});
      orders.push_back(o);
      Event e;
      e.name = t;
      e.message_id = "m " + t;
      e.user_id = "c " + t;
      e.customer = c;
      e.properties_json = R"({"v":")" + t + "\"}";
      events.push_back(e);
      Subscription s;
      s.external_id = t;
      s.customer = c;
      s.currency = Eur();
      s.history.push_back(
          {Timestamp{0}, t, BillingInterval::kMonth, 100, 1, 0, SubscriptionStatus::kActive});
      subs.push_back(s);
    }
    ASSERT_EQ(tx->InsertOrders(orders).value().inserted, static_cast<std::int64_t>(orders.size()));
    ASSERT_EQ(tx->InsertEvents(events).value().inserted, static_cast<std::int64_t>(events.size()));
    ASSERT_EQ(tx->UpsertSubscriptions(subs).value().inserted,
              static_cast<std::int64_t>(subs.size()));
    ASSERT_TRUE(tx->Commit());
  }
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::string& t = texts[i];
    SCOPED_TRACE(t);
    auto c = store->FindCustomer(w.id, "c " + t).value();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->name, t);
    EXPECT_EQ(std::get<std::string>(c->attributes.at("note")), t);
    auto o = store->FindOrder(w.id, t).value();
    ASSERT_TRUE(o.has_value());
    EXPECT_EQ(o->customer_external_id, "c " + t);
    ASSERT_EQ(o->lines.size(), 1u);
    EXPECT_EQ(o->lines[0].product_external_id, t);
    auto s = store->FindSubscription(w.id, t).value();
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->history.at(0).plan, t);
  }
  std::size_t i = 0;
  ASSERT_TRUE(store->ScanEvents(w.id, [&](const Event& e) {
    EXPECT_EQ(e.name, texts[i]);
    EXPECT_EQ(e.properties_json, R"({"v":")" + texts[i] + "\"}");
    ++i;
  }));
  EXPECT_EQ(i, texts.size());
}

TEST_F(PostgresStoreTest, RepeatsWithinOneBatchMergeInOrder) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const Workspace w = MakeWorkspace(*store, "shop");
  auto tx = store->BeginWrite(w.id).value();
  Customer email, name;
  email.external_id = name.external_id = "c1";
  email.email = "anna@example.de";
  name.name = "Anna";
  const std::vector<Customer> customers{email, name, email};
  const WriteStats cs = tx->UpsertCustomers(customers, clock_.Now()).value();
  EXPECT_EQ(cs.inserted, 1);
  EXPECT_EQ(cs.updated, 1);
  EXPECT_EQ(cs.unchanged, 1);

  const CustomerId c =
      tx->ResolveCustomers(std::vector<std::string>{"c1"}, clock_.Now()).value()[0];
  Order again = MakeOrder("o1", c, 1000, 1000);
  again.status = OrderStatus::kRefunded;
  again.refunds.push_back({Timestamp::FromSeconds(2000), 1000});
  const std::vector<Order> orders{MakeOrder("o1", c, 1000, 1000), MakeOrder("o2", c, 50, 1000),
                                  again, again};
  const WriteStats os = tx->InsertOrders(orders).value();
  EXPECT_EQ(os.inserted, 2);
  EXPECT_EQ(os.updated, 1);
  EXPECT_EQ(os.unchanged, 1);

  Subscription basic;
  basic.external_id = "s1";
  basic.customer = c;
  basic.currency = Eur();
  basic.history.push_back(
      {Timestamp{0}, "basic", BillingInterval::kMonth, 100, 1, 0, SubscriptionStatus::kActive});
  Subscription pro = basic;
  pro.history[0].effective_at = Timestamp::FromSeconds(10);
  pro.history[0].plan = "pro";
  const std::vector<Subscription> subs{basic, pro};
  const WriteStats ss = tx->UpsertSubscriptions(subs).value();
  EXPECT_EQ(ss.inserted, 1);
  EXPECT_EQ(ss.updated, 1);
  ASSERT_TRUE(tx->Commit());

  const Customer stored = store->FindCustomer(w.id, "c1").value().value();
  EXPECT_EQ(stored.email, "anna@example.de");
  EXPECT_EQ(stored.name, "Anna");
  const Order o1 = store->FindOrder(w.id, "o1").value().value();
  EXPECT_EQ(o1.status, OrderStatus::kRefunded);
  EXPECT_EQ(o1.refunds.size(), 1u);
  EXPECT_EQ(store->FindSubscription(w.id, "s1").value()->history.size(), 2u);
  const EntityCounts counts = store->Counts(w.id).value();
  EXPECT_EQ(counts.orders, 2);
  EXPECT_EQ(counts.refunds, 1);
  // Runs: workspace; customer insert, update; orders o1..o2 inserted, o1 updated;
  // subscription insert, update.
  EXPECT_EQ(counts.changes, 7);
}

TEST_F(PostgresStoreTest, RefundsBeyondTheTotalAreRejectedAndTheTransactionLivesOn) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const Workspace w = MakeWorkspace(*store, "shop");
  auto tx = store->BeginWrite(w.id).value();
  const CustomerId c =
      tx->ResolveCustomers(std::vector<std::string>{"c1"}, clock_.Now()).value()[0];
  std::vector<Order> orders{MakeOrder("o1", c, 100, 1000)};
  orders[0].refunds.push_back({Timestamp::FromSeconds(2000), 60});
  ASSERT_TRUE(tx->InsertOrders(orders));
  orders[0].refunds = {{Timestamp::FromSeconds(3000), 60}};
  auto r = tx->InsertOrders(orders);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(tx->Commit());
  EXPECT_EQ(store->Counts(w.id).value().refunds, 1);
}

TEST_F(PostgresStoreTest, AFailedStatementPoisonsOnlyItsTransaction) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const Workspace w = MakeWorkspace(*store, "shop");
  {
    auto tx = store->BeginWrite(w.id).value();
    std::vector<Order> orders{MakeOrder("o1", CustomerId{987654}, 100, 1000)};  // no customer
    auto r = tx->InsertOrders(orders);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ErrorCode::kInternal) << r.error().ToString();
    auto next = tx->ResolveCustomers(std::vector<std::string>{"c1"}, clock_.Now());
    ASSERT_FALSE(next.has_value());
    EXPECT_EQ(next.error().code(), ErrorCode::kFailedPrecondition);
    EXPECT_FALSE(tx->Commit().has_value());
  }
  auto tx = store->BeginWrite(w.id);
  ASSERT_TRUE(tx.has_value()) << tx.error().ToString();
  ASSERT_TRUE((*tx)->Commit());
  EXPECT_EQ(store->Counts(w.id).value().changes, 1);
}

TEST_F(PostgresStoreTest, ReadsInsideAWriteTransactionSeeItsWrites) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const Workspace w = MakeWorkspace(*store, "shop");
  auto tx = store->BeginWrite(w.id).value();
  const CustomerId c =
      tx->ResolveCustomers(std::vector<std::string>{"c1"}, clock_.Now()).value()[0];
  std::vector<Order> orders{MakeOrder("o1", c, 100, 1000)};
  ASSERT_TRUE(tx->InsertOrders(orders));
  int seen = 0;
  ASSERT_TRUE(store->ScanOrders(w.id, [&](const Order&) { ++seen; }));
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(store->BeginWrite(w.id).error().code(), ErrorCode::kFailedPrecondition);
  // The scan's cursors are closed: a second scan and more writes work.
  ASSERT_TRUE(store->ScanOrders(w.id, [&](const Order&) { ++seen; }));
  orders = {MakeOrder("o2", c, 100, 1000)};
  ASSERT_TRUE(tx->InsertOrders(orders));
  ASSERT_TRUE(tx->Commit());
  EXPECT_EQ(store->Counts(w.id).value().orders, 2);
}

TEST_F(PostgresStoreTest, DeletesAndErasuresAreLoggedInRunsAndForgetResolvedIds) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const Workspace w = MakeWorkspace(*store, "shop");
  CustomerId c;
  {
    auto tx = store->BeginWrite(w.id).value();
    c = tx->ResolveCustomers(std::vector<std::string>{"c1"}, clock_.Now()).value()[0];
    std::vector<Order> orders{MakeOrder("o1", c, 100, 1000), MakeOrder("o2", c, 200, 2000)};
    orders[0].lines.push_back({"sku-1", 1, 100});
    orders[1].lines.push_back({"sku-2", 2, 100});
    ASSERT_TRUE(tx->InsertOrders(orders));
    std::vector<Event> events(3);
    for (int i = 0; i < 3; ++i) {
      events[i].name = "Viewed";
      events[i].message_id = "m" + std::to_string(i);
      events[i].user_id = "c1";
      events[i].customer = c;
    }
    ASSERT_TRUE(tx->InsertEvents(events));
    ASSERT_TRUE(tx->Commit());
  }
  const std::int64_t seq_before = store->ReadChanges(w.id, 0, 1000).value().back().seq;
  {
    auto tx = store->BeginWrite(w.id).value();
    EXPECT_TRUE(tx->DeleteOrder("o1").value());
    EXPECT_TRUE(tx->DeleteOrder("o2").value());
    EXPECT_TRUE(tx->EraseCustomer("c1", clock_.Now()).value());
    // Within the same transaction the shop's id names a new customer.
    const CustomerId again =
        tx->ResolveCustomers(std::vector<std::string>{"c1"}, clock_.Now()).value()[0];
    EXPECT_NE(again, c);
    ASSERT_TRUE(tx->Commit());
  }
  EXPECT_EQ(RunSql(db_->url(), "SELECT count(*) FROM order_lines").value(), "0");
  const auto changes = store->ReadChanges(w.id, seq_before, 1000).value();
  ASSERT_EQ(changes.size(), 4u);  // orders deleted, customer updated, events deleted, c1 new
  EXPECT_EQ(changes[0].entity, Entity::kOrder);
  EXPECT_EQ(changes[0].op, ChangeOp::kDelete);
  EXPECT_EQ(changes[0].count(), 2);
  EXPECT_EQ(changes[1].entity, Entity::kCustomer);
  EXPECT_EQ(changes[1].op, ChangeOp::kUpdate);
  EXPECT_EQ(changes[1].entity_id, c.value);
  EXPECT_EQ(changes[2].entity, Entity::kEvent);
  EXPECT_EQ(changes[2].op, ChangeOp::kDelete);
  EXPECT_EQ(changes[2].count(), 3);
  EXPECT_EQ(changes[3].entity, Entity::kCustomer);
  EXPECT_EQ(changes[3].op, ChangeOp::kInsert);
  EXPECT_EQ(store->Counts(w.id).value().events, 0);
}


TEST_F(PostgresStoreTest, ConcurrentClaimersGetEachDueMessageExactlyOnce) {
  constexpr int kMessages = 2'000;
  constexpr int kClaimers = 4;
  auto setup = Open();
  ASSERT_NE(setup, nullptr);
  const Workspace w = MakeWorkspace(*setup, "shop");
  CustomerId c;
  {
    auto tx = setup->BeginWrite(w.id).value();
    c = tx->ResolveCustomers(std::vector<std::string>{"c1"}, clock_.Now()).value()[0];
    ASSERT_TRUE(tx->Commit());
  }
  std::vector<OutboxMessage> batch(kMessages);
  for (int i = 0; i < kMessages; ++i) {
    batch[i].idempotency_key = "m" + std::to_string(i);
    batch[i].customer = c;
    batch[i].recipient = "anna@example.de";
    batch[i].next_attempt_at = Timestamp::FromSeconds(i % 7);  // due in a jumbled order
  }
  ASSERT_EQ(setup->EnqueueMessages(w.id, batch, clock_.Now()).value(), kMessages);

  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kClaimers; ++i) {
    stores.push_back(Open());
    ASSERT_NE(stores.back(), nullptr);
  }
  std::mutex mu;
  std::vector<std::string> errors;
  std::vector<std::vector<std::int64_t>> claimed(kClaimers);
  std::vector<std::thread> threads;
  for (int t = 0; t < kClaimers; ++t) {
    threads.emplace_back([&, t] {
      const std::string worker = "w" + std::to_string(t);
      while (true) {
        auto got = stores[static_cast<std::size_t>(t)]->ClaimMessages(
            Channel::kEmail, clock_.Now(), 3'600 * kMicrosPerSecond, worker, 25);
        if (!got) {
          std::lock_guard<std::mutex> lock(mu);
          errors.push_back(got.error().ToString());
          return;
        }
        if (got->empty()) return;
        for (const OutboxMessage& m : *got) {
          if (m.claimed_by != worker || m.attempts != 1 || m.state != MessageState::kSending) {
            std::lock_guard<std::mutex> lock(mu);
            errors.push_back("message " + std::to_string(m.id) + " came back as claimed by " +
                             m.claimed_by);
          }
          claimed[static_cast<std::size_t>(t)].push_back(m.id);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(errors.empty()) << errors.front();
  std::map<std::int64_t, int> times;
  std::size_t total = 0;
  for (const auto& ids : claimed) {
    total += ids.size();
    for (const std::int64_t id : ids) ++times[id];
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kMessages));
  EXPECT_EQ(times.size(), static_cast<std::size_t>(kMessages));
  for (const auto& [id, n] : times) EXPECT_EQ(n, 1) << "message " << id;
  EXPECT_EQ(setup->CountMessages(w.id, "").value().sending, kMessages);
  EXPECT_TRUE(setup->ClaimMessages(Channel::kEmail, clock_.Now(), kMicrosPerSecond, "late", 10).value().empty());
}

}  // namespace
}  // namespace treu
