#include "surveys/followup_notifier.hpp"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "net/webhook_signature.hpp"
#include "surveys/followups.hpp"

namespace treu::survey {
namespace {

using nlohmann::json;

// Why attempt `attempts` of a notification failed, recorded as pending (retried) or failed.
Status Record(Store& store, const FollowUpItem& item, int attempts, bool permanent, const std::string& error,
              Timestamp now) {
  const bool give_up = permanent || attempts >= kMaxNotifyAttempts;
  return store.RecordFollowUpNotification(item.id, give_up ? "failed" : "pending", attempts,
                                          give_up ? now : NextNotifyAttempt(attempts, now), error);
}

}  // namespace

std::string FollowUpPayload(const FollowUpItem& item, const Survey& s, const std::string& customer,
                            const std::string& email, const std::string& answers_json) {
  json answers = json::parse(answers_json, nullptr, false);
  if (!answers.is_object()) answers = json::object();
  return json{{"type", "followup.created"},
              {"followup",
               {{"id", item.id},
                {"status", item.status},
                {"created_at", FormatTimestamp(item.created_at)}}},
              {"survey", {{"id", s.id}, {"name", s.name}}},
              {"customer", {{"id", customer}, {"email", email}}},
              {"score", item.score},
              {"category", NpsCategoryName(s.nps.Classify(item.score))},
              {"answers", answers}}
      .dump();
}

Result<int> DeliverFollowUpNotifications(Store& store, net::HttpClient& http, std::span<const std::uint8_t> secret,
                                         const SurveyReader& read, Timestamp now, int limit) {
  TREU_ASSIGN_OR_RETURN(const std::vector<FollowUpItem> due, store.DueFollowUpNotifications(now, limit));
  if (due.empty()) return 0;
  TREU_ASSIGN_OR_RETURN(const std::vector<Workspace> workspaces, store.ListWorkspaces());
  std::map<std::int64_t, const Workspace*> by_id;
  for (const Workspace& w : workspaces) by_id[w.id.value] = &w;
  int delivered = 0;
  for (const FollowUpItem& item : due) {
    const int attempts = item.notify_attempts + 1;
    auto ws = by_id.find(item.workspace.value);
    TREU_ASSIGN_OR_RETURN(auto record, store.FindSurveyById(item.workspace, item.survey_id));
    TREU_ASSIGN_OR_RETURN(auto response, store.FindSurveyResponse(item.workspace, item.survey_id, item.nonce));
    TREU_ASSIGN_OR_RETURN(auto external, store.CustomerExternalId(item.workspace, item.customer));
    if (ws == by_id.end() || !record || !response || !external) {
      TREU_RETURN_IF_ERROR(Record(store, item, attempts, true, "the survey, response or customer is gone", now));
      continue;
    }
    auto s = read(*record);
    if (!s) {
      TREU_RETURN_IF_ERROR(Record(store, item, attempts, true, s.error().ToString(), now));
      continue;
    }
    TREU_ASSIGN_OR_RETURN(auto customer, store.FindCustomer(item.workspace, *external));
    net::HttpRequest req;
    req.url = item.webhook_url;
    req.body = FollowUpPayload(item, *s, *external, customer ? customer->email : "", response->answers);
    req.headers = {{"Content-Type", "application/json"},
                   {std::string(net::kWebhookSignatureHeader),
                    net::SignWebhook(WebhookSigningKey(secret, item.workspace), now.micros / kMicrosPerSecond,
                                     req.body)}};
    auto sent = http.Post(req, net::OutboundPolicy::ForWorkspace(ws->second->allow_private_webhooks));
    if (!sent) {
      const bool permanent = sent.error().code() != ErrorCode::kUnavailable;
      TREU_RETURN_IF_ERROR(Record(store, item, attempts, permanent, sent.error().ToString(), now));
    } else if (sent->status < 200 || sent->status > 299) {
      TREU_RETURN_IF_ERROR(Record(store, item, attempts, false, "HTTP " + std::to_string(sent->status), now));
    } else {
      TREU_RETURN_IF_ERROR(store.RecordFollowUpNotification(item.id, "sent", attempts, now, ""));
      ++delivered;
    }
  }
  return delivered;
}

Result<std::unique_ptr<FollowUpNotifier>> FollowUpNotifier::Start(std::unique_ptr<Store> store, const Clock& clock,
                                                                  std::span<const std::uint8_t> secret,
                                                                  SurveyReader read, Options options) {
  if (options.poll_seconds < 1) return InvalidArgument("follow-up notifier", "poll must be at least one second");
  std::unique_ptr<FollowUpNotifier> n(new FollowUpNotifier(std::move(store), clock, secret, std::move(read), options));
  n->thread_ = std::thread([p = n.get()] { p->Run(); });
  return n;
}

FollowUpNotifier::FollowUpNotifier(std::unique_ptr<Store> store, const Clock& clock,
                                   std::span<const std::uint8_t> secret, SurveyReader read, Options options)
    : store_(std::move(store)),
      clock_(clock),
      secret_(secret.begin(), secret.end()),
      read_(std::move(read)),
      options_(options) {}

FollowUpNotifier::~FollowUpNotifier() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FollowUpNotifier::Run() {
  while (true) {
    // Batches of 50 until none is due, so a backlog drains without waiting a poll per batch.
    while (true) {
      auto delivered = DeliverFollowUpNotifications(*store_, http_, secret_, read_, clock_.Now(), 50);
      if (!delivered) std::fprintf(stderr, "treu: follow-up notifications: %s\n", delivered.error().ToString().c_str());
      if (!delivered || *delivered < 50) break;
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(options_.poll_seconds), [this] { return stopping_; });
    if (stopping_) return;
  }
}

}  // namespace treu::survey
