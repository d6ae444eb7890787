// The Store API: the one way services reach durable state. Two backends implement it,
// SQLite (storage/sqlite) and PostgreSQL (storage/postgres), and one contract test suite
// (store_contract_test.hpp) runs unchanged against both.
//
// Every row belongs to a workspace and every call is confined to the workspace it names.
// Every write happens inside a WriteTransaction, which also records every changed entity
// in the change log (runs of consecutive ids with the same operation share one row); the
// log's `seq` increases monotonically in commit order within a workspace. A transaction that is destroyed without Commit() rolls back: nothing is half
// written, and once Commit() returns OK the data survives a crash (kill -9, power loss as far
// as fsync goes).
//
// Thread safety: a Store and its transactions are used by one thread at a time. Open one
// Store per thread for concurrency; writers to one database serialise (SQLite: BEGIN
// IMMEDIATE with a busy timeout; PostgreSQL: a per-workspace advisory lock).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"
#include "domain/domain.hpp"

namespace treu {

// What a batch write did: rows inserted, rows updated, and rows that were already stored
// as given (re-imports and retries land here).
struct WriteStats {
  std::int64_t inserted = 0;
  std::int64_t updated = 0;
  std::int64_t unchanged = 0;

  WriteStats& operator+=(const WriteStats& o) {
    inserted += o.inserted;
    updated += o.updated;
    unchanged += o.unchanged;
    return *this;
  }
};

enum class Entity { kWorkspace, kCustomer, kProduct, kOrder, kSubscription, kEvent };
std::string_view EntityName(Entity e);
Result<Entity> ParseEntity(std::string_view name);

enum class ChangeOp { kInsert, kUpdate, kDelete };
std::string_view ChangeOpName(ChangeOp op);
Result<ChangeOp> ParseChangeOp(std::string_view name);

// One row of the change log: the same operation on the entities with ids
// entity_id..last_entity_id (a bulk insert of consecutive ids is one row).
struct Change {
  std::int64_t seq = 0;
  Entity entity = Entity::kCustomer;
  std::int64_t entity_id = 0;       // first id of the run
  std::int64_t last_entity_id = 0;  // last id of the run, >= entity_id
  ChangeOp op = ChangeOp::kInsert;
  Timestamp at;  // clock reading of the writer

  std::int64_t count() const { return last_entity_id - entity_id + 1; }
};

struct EntityCounts {
  std::int64_t customers = 0;
  std::int64_t orders = 0;
  std::int64_t refunds = 0;
  std::int64_t subscriptions = 0;
  std::int64_t subscription_changes = 0;
  std::int64_t events = 0;
  std::int64_t products = 0;
  std::int64_t changes = 0;  // rows in the change log
};

// Rows of the lean scans below (what the analytics snapshot keeps).
struct CustomerKey {
  CustomerId id;
  std::string external_id;
};
struct OrderFact {
  std::int64_t id = 0;
  CustomerId customer;
  Timestamp placed_at;
  std::int64_t total_minor = 0;
  OrderStatus status = OrderStatus::kCompleted;
};
struct RefundFact {
  std::int64_t order_id = 0;
  CustomerId customer;
  Timestamp refunded_at;
  std::int64_t amount_minor = 0;
};

// Filters of a customer list; empty fields don't filter.
struct CustomerFilter {
  std::string email;        // exact match
  std::string external_id;  // exact match
  std::optional<Timestamp> updated_since;  // updated_at >= this
  // A case-insensitive (ASCII letters) substring of the external id, email or name.
  std::string text;
};

// The state of an Idempotency-Key when a request claims it.
struct IdempotencyClaim {
  enum class Kind {
    kNew,        // first use: the caller runs the request, then completes the key
    kReplay,     // answered before with the same request: send `status` and `response`
    kMismatch,   // used before with a different request
    kInFlight,   // the first request with this key has not been answered yet
  };
  Kind kind = Kind::kNew;
  int status = 0;
  std::string response;
};

// The state of work run in the background (CSV imports, model fits).
enum class JobStatus { kQueued, kRunning, kSucceeded, kFailed };
std::string_view JobStatusName(JobStatus s);
Result<JobStatus> ParseJobStatus(std::string_view text);

struct ImportJob {
  std::int64_t id = 0;
  WorkspaceId workspace;
  std::string kind;       // customers, orders or subscriptions
  JobStatus status = JobStatus::kQueued;
  std::string file_name;  // as the client named it
  std::int64_t bytes_total = 0;
  std::int64_t bytes_read = 0;
  std::int64_t rows = 0;
  std::int64_t rows_rejected = 0;
  std::int64_t inserted = 0;
  std::int64_t updated = 0;
  std::int64_t unchanged = 0;
  std::string error;        // why it failed, "" otherwise
  // The rejected rows' errors, one per line: "<line>\t<column>\t<message>" ("" when none).
  std::string issues;
  Timestamp created_at;
  std::optional<Timestamp> finished_at;
};

// One fit of a model (bgnbd, pareto_nbd, mbgnbd, gamma_gamma) on a workspace's orders.
struct ModelRun {
  std::int64_t id = 0;
  WorkspaceId workspace;
  std::string model;
  JobStatus status = JobStatus::kQueued;
  CivilDate calibration_end;   // the last day of the data fitted
  double unit_days = 7;        // the model's time unit
  std::vector<std::pair<std::string, double>> params, std_errors;  // in the model's order
  double log_likelihood = 0;
  std::int64_t customers = 0;  // fitted on
  std::int64_t evaluations = 0;
  double seconds = 0;          // the fit's duration
  std::string error;           // why it failed, "" otherwise
  Timestamp created_at;
  std::optional<Timestamp> finished_at;
};
// A saved segment: a name unique in its workspace and an expression of the segment language
// (stored as the user wrote it; docs/segments.md).
struct SegmentDefinition {
  std::int64_t id = 0;
  WorkspaceId workspace;
  std::string name;  // 1 to 64 letters, digits, '_', '-' or '.'
  std::string expr;
  Timestamp created_at;
  Timestamp updated_at;
  bool builtin = false;  // one of treu's built-in segments (docs/segments.md), kept by treu
};
Status ValidateSegmentName(std::string_view name);

// A survey definition as stored: its name (unique in the workspace) and its JSON form
// (src/api/survey_json.hpp), kept as text.
struct SurveyRecord {
  std::int64_t id = 0;
  WorkspaceId workspace;
  std::string name;
  std::string definition;
  Timestamp created_at;
  Timestamp updated_at;
};

// One invitation to a survey: the signed link's nonce for one customer, and until when it works.
struct SurveyInvitation {
  std::int64_t id = 0;
  WorkspaceId workspace;
  std::int64_t survey_id = 0;
  CustomerId customer;
  std::int64_t nonce = 0;  // unique per survey
  Timestamp created_at;
  Timestamp expires_at;
};

// The answers given through one invitation: a JSON object of question id → answer (a score,
// a choice id, a list of choice ids or a text), replaced when the customer answers again.
struct SurveyResponse {
  std::int64_t id = 0;
  WorkspaceId workspace;
  std::int64_t survey_id = 0;
  CustomerId customer;
  std::int64_t nonce = 0;
  std::string answers;
  Timestamp created_at;
  Timestamp updated_at;
  // The answer to the survey's first NPS question and its category ("promoter", "passive",
  // "detractor"), if given; written by SaveSurveyResponse, read by LatestNpsScores.
  std::optional<int> nps_score;
  std::string nps_category;
};

// A customer's latest NPS answer (of any survey).
struct NpsScore {
  CustomerId customer;
  int score = 0;
  std::string category;
  Timestamp at;  // when the response was last changed
};

// A follow-up item of the closed feedback loop: a detractor's response to work through
// (open → assigned → done, with a note), and the state of its webhook notification.
struct FollowUpItem {
  std::int64_t id = 0;
  WorkspaceId workspace;
  std::int64_t survey_id = 0;
  CustomerId customer;
  std::int64_t nonce = 0;  // of the invitation answered: one item per response
  int score = 0;
  std::string status = "open";  // "open", "assigned" or "done"
  std::string assignee;
  std::string note;
  Timestamp created_at;
  Timestamp updated_at;
  std::string webhook_url;             // empty: no notification
  std::string notify_state = "none";   // "none", "pending", "sent" or "failed" (gave up)
  int notify_attempts = 0;
  Timestamp notify_next_at;            // when a pending notification is due
  std::string notify_error;            // the last attempt's error
};

// A customer who is in a saved segment now, and since when.
struct SegmentMember {
  CustomerId customer;
  std::string external_id;
  Timestamp since;
};

// One entry in the membership log: a customer entered or left a saved segment at `at`.
struct SegmentTransition {
  std::int64_t id = 0;  // increasing in the order the transitions were recorded
  std::int64_t segment_id = 0;
  CustomerId customer;
  std::string external_id;  // filled in by ListSegmentTransitions
  bool entered = true;      // false: left
  Timestamp at;
};

// A segment's size at one instant.
struct SegmentSize {
  Timestamp at;
  std::int64_t size = 0;
};

// One re-evaluation of a saved segment: who entered and who left (customer ids, sorted, the
// two disjoint), the size after it, and whether to record that size in the history.
struct SegmentRefresh {
  WorkspaceId workspace;
  std::int64_t segment_id = 0;
  Timestamp at;
  std::vector<CustomerId> entered, left;
  std::int64_t size = 0;
  bool record_size = true;
};

// ---- Loyalty (src/loyalty, docs/loyalty.md) ----
// The program of a workspace: its definition as JSON text (src/api/loyalty_json.hpp) and how
// far the change log has been read for earning from orders and events.
struct LoyaltyProgramRecord {
  WorkspaceId workspace;
  std::string definition;
  std::int64_t processed_seq = 0;  // change-log rows up to this seq have been earned on
  Timestamp created_at;
  Timestamp updated_at;
};

// One transfer of the points ledger as stored (loyalty::Transfer with its kinds and accounts by
// name). Append-only: never updated or deleted.
struct LoyaltyTransferRecord {
  std::int64_t seq = 0;  // position in the workspace's ledger; filled in when appended
  WorkspaceId workspace;
  CustomerId customer;   // the customer whose accounts it touches
  std::string id;        // unique in the workspace
  std::string kind;      // "earn", "hold", ...
  std::string from_account, to_account;  // "issuance", "wallet:42", ...
  std::int64_t points = 0;
  std::int64_t requested = 0;
  std::string reason;
  std::string source_kind;  // "order", "event", "rule", "admin", ...
  std::string source_ref;
  std::optional<std::int64_t> admin_user_id;
  Timestamp at;
  std::string refers_to;
  std::optional<Timestamp> expires_at;
  std::optional<Timestamp> pending_until;
};

// A transfer as points flows count it (Store::ScanLoyaltyFlows).
struct LoyaltyFlowRow {
  std::string kind;
  std::string from_account;
  std::int64_t points = 0;
  Timestamp at;
};

// A customer's loyalty state, kept current with every transfer written for them: the balances
// the ledger derives, the tier, and when the customer next needs attention (a lot expiring, a
// pending earn settling, a hold lapsing, a tier review).
struct LoyaltyMember {
  WorkspaceId workspace;
  CustomerId customer;
  std::int64_t available = 0;
  std::int64_t pending = 0;
  std::int64_t held = 0;
  std::int64_t earned = 0;     // lifetime points earned, net of reversals
  std::int64_t redeemed = 0;   // lifetime points redeemed, net of reversals
  std::int64_t transfers = 0;  // transfers touching the customer: grows with every write
  std::string tier;            // "" when the program has no tiers
  Timestamp tier_since;
  std::optional<Timestamp> tier_review_at;  // when the tier is next reviewed (downgrade)
  std::optional<Timestamp> next_due_at;     // none: nothing scheduled
  std::string referral_code;                // unique in the workspace; "" until asked for
  CustomerId referred_by;                   // invalid: not referred
  Timestamp enrolled_at;
  Timestamp updated_at;
};

// A change of a member's tier.
struct LoyaltyTierChange {
  std::int64_t id = 0;
  WorkspaceId workspace;
  CustomerId customer;
  std::string from_tier;
  std::string to_tier;
  Timestamp at;
  std::string reason;  // "upgrade" or "review"
};

// A reward of the catalogue. Stock (when limited) counts what is left; holds take from it and
// releases give back. Rewards of kind "voucher" hand out one code of their pool each.
struct LoyaltyReward {
  std::int64_t id = 0;
  WorkspaceId workspace;
  std::string name;   // unique in the workspace, as segment names
  std::string kind;   // "discount", "free_product", "voucher", "experience"
  std::string title;
  std::int64_t points = 0;               // cost
  std::optional<std::int64_t> stock;     // none: unlimited
  std::vector<std::string> tiers;        // eligible tiers; empty: all
  std::string segment;                   // eligible segment's name; "": everyone
  std::string details;                   // JSON text (discount value, product id, ...)
  bool active = true;
  std::int64_t redeemed = 0;             // confirmed redemptions
  Timestamp created_at;
  Timestamp updated_at;
};

// A redemption of a reward: a points hold, confirmed or released (its id is the hold's).
struct LoyaltyRedemption {
  std::int64_t row = 0;  // order of creation in the store; filled in when stored
  std::string id;
  WorkspaceId workspace;
  CustomerId customer;
  std::int64_t reward_id = 0;
  std::int64_t points = 0;
  std::string state = "held";  // "held", "confirmed" or "released"
  std::string code;            // the voucher code, for voucher rewards
  Timestamp created_at;
  Timestamp expires_at;        // a held redemption lapses then
  std::optional<Timestamp> closed_at;
};

// ---- Messaging (src/messaging, docs/messaging.md) ----
// A message template: a name unique in its workspace, the channel it is for, the topic
// customers can opt out of ("" for none), and its parts in the template language
// (docs/templates.md). Email uses subject, html and text (text "" derives it from html).
struct MessageTemplateRecord {
  std::int64_t id = 0;
  WorkspaceId workspace;
  std::string name;  // as segment names
  Channel channel = Channel::kEmail;
  std::string topic;
  std::string subject;  // push and in-app: the title
  std::string html;
  std::string text;     // push, in-app and webhook: the message text
  // Push and in-app: where a click leads (a template too); "" for none.
  std::string link_url;
  // In-app: "banner" or "modal"; "" for other channels.
  std::string layout;
  // Webhook: the name of the workspace's endpoint the messages go to; "" for other channels.
  std::string endpoint;
  Timestamp created_at;
  Timestamp updated_at;
};

// The life of an outbox message. kQueued: waiting for its next attempt; kSending: claimed by
// a worker until lease_until; kSent: accepted by the channel; kBounced: refused for good (the
// address is suppressed); kFailed: given up after the last attempt (dead letter);
// kSuppressed: not sent because consent, a preference or a suppression forbade it at send
// time; kCancelled: withdrawn before it was sent.
enum class MessageState { kQueued, kSending, kSent, kBounced, kFailed, kSuppressed, kCancelled };
std::string_view MessageStateName(MessageState s);
Result<MessageState> ParseMessageState(std::string_view text);

// One message of the outbox (every channel): rendered when enqueued, delivered by a worker.
struct OutboxMessage {
  std::int64_t id = 0;
  WorkspaceId workspace;
  std::string idempotency_key;  // unique in the workspace: enqueueing it again adds nothing
  Channel channel = Channel::kEmail;
  CustomerId customer;
  std::string category = "marketing";  // "marketing", "transactional" or "confirmation"
  std::string topic;                   // "" for none
  std::int64_t template_id = 0;        // 0: none
  std::string campaign;                // "" for none
  // Email: the address. Push: the push subscription's id (decimal). Webhook: the endpoint's
  // name. In-app: "".
  std::string recipient;
  std::string subject;
  // Email: the HTML part. Push, in-app and webhook: the channel's rendered payload as JSON
  // (push and in-app {"title", "body", "url"[, "layout"]}; webhook the request body).
  std::string html;
  std::string text;                    // email: "" derives it from html at send time
  MessageState state = MessageState::kQueued;
  int attempts = 0;                    // attempts started
  Timestamp next_attempt_at;           // when a queued message is due
  Timestamp lease_until;               // when a sending message's claim lapses
  std::string claimed_by;              // the worker holding the claim, "" if none
  std::string provider_id;             // e.g. the email's Message-ID, once known
  std::string last_error;
  Timestamp created_at;
  std::optional<Timestamp> sent_at;
};

// One line of a message's delivery log: "queued", "sent", "deferred", "bounced", "failed",
// "suppressed", "cancelled", "opened", "clicked".
struct MessageLogEntry {
  std::int64_t id = 0;
  WorkspaceId workspace;
  std::int64_t message_id = 0;
  CustomerId customer;
  std::string kind;
  Timestamp at;
  std::string detail;  // the SMTP reply, the clicked URL, ...
};

// Filters of a message list; empty fields don't filter.
struct MessageFilter {
  CustomerId customer;  // invalid: every customer
  std::string campaign;
  std::optional<MessageState> state;
};

// Messages per state (Store::CountMessages).
struct MessageCounts {
  std::int64_t queued = 0, sending = 0, sent = 0, bounced = 0, failed = 0, suppressed = 0,
               cancelled = 0;
};

// The result of a worker's attempt, written by Store::FinishMessage.
struct MessageOutcome {
  std::int64_t id = 0;
  std::string worker;                  // must still hold the claim
  MessageState state = MessageState::kSent;  // kSent, kQueued (retry), kBounced, kFailed, kSuppressed
  Timestamp next_attempt_at;           // for kQueued
  std::string provider_id;
  std::string error;                   // last_error ("" clears it)
  std::string log_kind;                // the log line written with it
  std::string log_detail;
  Timestamp at;
};

// An address that must not be mailed again (a permanent bounce, a complaint, an operator's
// entry), per workspace; addresses are stored lower-case.
struct EmailSuppression {
  WorkspaceId workspace;
  std::string address;
  std::string reason;  // "bounce", "complaint", "manual"
  std::string detail;
  Timestamp at;
};

// Proof of a consent change, kept for export: what happened, when, from where and under which
// version of the consent text. Append-only.
struct ConsentRecord {
  std::int64_t id = 0;
  WorkspaceId workspace;
  CustomerId customer;
  Channel channel = Channel::kEmail;
  // "requested" (a double opt-in mail was sent), "confirmed" (its link was followed),
  // "granted", "withdrawn" (API, import, preference page), "unsubscribed" (a message's link).
  std::string action;
  Timestamp at;
  std::string ip;
  std::string user_agent;
  std::string text_version;  // the consent text the customer saw, e.g. "newsletter-2026-01"
  std::string source;        // "api", "preference_page", "one_click", "double_opt_in", ...
};

// A customer's message preferences: topics they opted out of, and a pause of all marketing.
struct MessagePreferences {
  WorkspaceId workspace;
  CustomerId customer;
  std::vector<std::string> topics_off;  // sorted, unique
  std::optional<Timestamp> paused_until;
  bool tracking_off = false;            // opens and clicks of their email are not tracked
  Timestamp updated_at;
};

// A workspace's messaging settings. Secrets (the SMTP password, the DKIM private key) are
// stored sealed with the server's secret (src/messaging/sealed.hpp), never in plain text.
struct MessagingSettingsRecord {
  WorkspaceId workspace;
  std::string from_name;
  std::string from_address;
  std::string reply_to;
  std::string transport = "file";  // "file" or "smtp"
  std::string smtp_url;            // "smtp://host:587", "smtps://host:465"
  std::string smtp_tls = "starttls";  // "none", "starttls", "tls"
  std::string smtp_username;
  std::string smtp_password_sealed;
  std::string dkim_domain;
  std::string dkim_selector;
  std::string dkim_key_sealed;
  std::string consent_text_version;
  std::string public_url;          // where customers reach treu: links in messages
  bool track_engagement = true;    // open pixel and click redirects
  int max_attempts = 8;
  Timestamp updated_at;
};

// A browser's push subscription (the Push API), per customer: the push service's endpoint and
// the keys payloads are encrypted for (base64url, as PushSubscription.toJSON() gives them).
struct PushSubscriptionRecord {
  std::int64_t id = 0;
  WorkspaceId workspace;
  CustomerId customer;
  std::string endpoint;  // unique in the workspace
  std::string p256dh;    // the browser's P-256 public key, 65 bytes uncompressed
  std::string auth;      // the 16-byte authentication secret
  std::string user_agent;
  Timestamp created_at;
  Timestamp updated_at;
};

// A named endpoint that messages of the webhook channel are posted to (Slack, Discord, a chat
// app's bridge, the workspace's own systems).
struct WebhookEndpointRecord {
  WorkspaceId workspace;
  std::string name;             // as segment names, unique in the workspace
  std::string url;              // http or https
  std::string format = "json";  // "json" (treu's envelope), "slack" or "discord"
  std::string secret_sealed;    // the key of the Treu-Signature header, sealed
  Timestamp created_at;
  Timestamp updated_at;
};

// A workspace's settings of the channels beyond email: web push (VAPID keys, RFC 8292) and the
// secret of in-app identity verification (the HMAC of user ids that the workspace's backend
// makes). Private keys and secrets are sealed with the server's secret.
struct ChannelSettingsRecord {
  WorkspaceId workspace;
  std::string vapid_public_key;        // base64url, 65 bytes; "" until generated
  std::string vapid_private_sealed;
  std::string vapid_subject;           // "mailto:..." or an https URL, sent to push services
  std::string identity_secret_sealed;  // "" until generated
  Timestamp updated_at;
};

// ---- Campaigns ----
// A campaign's life: kDraft (editable), kScheduled (launches at send_at), kRunning (being
// launched: audience resolved, arms recorded, messages enqueued), kTesting (the A/B test share
// was sent; the rest waits for the winner at test_ends_at), kDone, kCancelled.
enum class CampaignState { kDraft, kScheduled, kRunning, kTesting, kDone, kCancelled };
std::string_view CampaignStateName(CampaignState s);
Result<CampaignState> ParseCampaignState(std::string_view text);

struct CampaignVariant {
  std::string template_name;
  int weight = 1;
  auto operator<=>(const CampaignVariant&) const = default;
};

// A campaign: variants of templates (one channel) sent to a saved segment and/or a segment
// expression, with a holdout, an optional A/B test share whose winner the rest get, and a
// send time (docs/campaigns.md). The service checks the fields; the store keeps them.
struct CampaignRecord {
  std::int64_t id = 0;
  WorkspaceId workspace;
  std::string name;
  CampaignState state = CampaignState::kDraft;
  std::string segment;  // a saved segment's name, and/or
  std::string where;    // a segment expression
  std::vector<CampaignVariant> variants;
  int holdout_permille = 0;
  int test_permille = 1000;
  std::string winner_metric = "clicked";  // "opened", "clicked" or "converted"
  std::int64_t test_window_micros = 0;
  int winner = -1;                        // the winning variant's index once picked
  std::string split_key;                  // 32 hex digits: the arms' hash key
  std::optional<Timestamp> send_at;       // none: when launched
  std::string local_time;                 // "HH:MM" in each recipient's zone, or ""
  bool optimize_send_time = false;
  std::int64_t goal_window_micros = 7 * kMicrosPerDay;  // an order within it converts
  std::string survey;  // a survey whose invitation each message carries (a survey wave), or ""
  std::string last_error;
  Timestamp created_at;
  Timestamp updated_at;
  std::optional<Timestamp> launched_at;
  std::optional<Timestamp> test_ends_at;
  std::optional<Timestamp> finished_at;
};

// Arms of a campaign member (CampaignMember::arm); variants are 0, 1, ...
inline constexpr int kArmHoldout = -1;
inline constexpr int kArmWaiting = -2;

// One customer of a campaign's audience as recorded at launch: their arm, when their message is
// due, and what became of it: "queued", "capped", "no_email", "no_consent", "suppressed",
// "no_address", "duplicate", "held_out", "waiting" (for the winner), "cancelled" or "failed"
// (the message could not be rendered). A queued member is `planned` until the campaign
// materialiser has rendered its message into the outbox (docs/decisions/0006).
struct CampaignMember {
  CustomerId customer;
  int arm = 0;
  Timestamp due;
  std::string outcome;
  bool planned = false;
  auto operator<=>(const CampaignMember&) const = default;
};

// A marketing message as frequency capping counts it (Store::ListMarketingMessages): an outbox
// row, or a campaign member's planned message (id: minus the campaign's id; state queued).
struct MarketingMessageRow {
  std::int64_t id = 0;
  CustomerId customer;
  Timestamp at;  // next_attempt_at: when it is due, or was last attempted
  MessageState state = MessageState::kQueued;
  std::string campaign;
};

// An open or click of a customer (Store::ListEngagements).
struct EngagementRow {
  CustomerId customer;
  std::int64_t message_id = 0;
  Timestamp at;
  std::string kind;  // "opened" or "clicked"
};

// A workspace's delivery rules: at most cap_messages marketing messages per customer in any
// cap_window (0: no cap) and quiet hours ("HH:MM"; equal: none) in each recipient's zone.
struct DeliveryRulesRecord {
  WorkspaceId workspace;
  int cap_messages = 0;
  std::int64_t cap_window_micros = 7 * kMicrosPerDay;
  std::string quiet_start = "00:00";
  std::string quiet_end = "00:00";
  Timestamp updated_at;
};

// Variants as stored: "<weight>:<template name>" joined by ",". Template names have no ','.
std::string FormatCampaignVariants(std::span<const CampaignVariant> variants);
Result<std::vector<CampaignVariant>> ParseCampaignVariants(std::string_view text);

// The checks both backends make before saving a campaign.
Status CheckCampaignRecord(const CampaignRecord& c);

// A lock's name for Store::HoldLock: 1 to 40 of a-z and '_'.
Status CheckLockName(std::string_view name);

// ---- Journeys ----
// A journey (docs/journeys.md) as stored: its latest version's definition (the JSON text),
// whether it runs, and how far the journey worker has read each of its inputs.
struct JourneyRecord {
  std::int64_t id = 0;
  WorkspaceId workspace;
  std::string name;
  std::string state = "active";  // "active": customers enter and runs proceed; "paused": neither
  int version = 1;               // the latest version
  std::string definition;        // the latest version's JSON
  std::string split_key;         // 32 hex digits: the random splits' key, kept across versions
  // The worker's cursors: the change log (events and orders: event triggers, waits for events,
  // goals), the trigger's input (segment transitions, survey responses by id; a date trigger:
  // the last local day scanned, as days since 1970-01-01) and the goal segment's transitions.
  std::int64_t change_seq = 0;
  std::int64_t trigger_cursor = 0;
  std::int64_t goal_cursor = 0;
  std::string last_error;        // the worker's last failure on this journey, "" when none
  Timestamp created_at;
  Timestamp updated_at;
};

// One customer's pass through a journey as stored (journeys::JourneyRun).
struct JourneyRunRow {
  std::int64_t id = 0;            // assigned by WriteJourneyRuns when 0
  std::int64_t journey_id = 0;
  int version = 1;
  CustomerId customer;
  std::string zone;               // the customer's time zone name at entry ("" = UTC)
  int step = 0;
  std::string state = "active";   // journeys::RunStateName
  Timestamp wake_at;
  Timestamp entered_at;
  Timestamp step_entered_at;
  Timestamp ended_at;             // 0 while inside
  std::int64_t steps_executed = 0;
  auto operator<=>(const JourneyRunRow&) const = default;
};

// How often a step of a version was executed, by outcome ("" for steps without one; actions:
// "queued", "capped", "no_consent", ...). WriteJourneyRuns adds deltas of these.
struct JourneyStepCount {
  int version = 1;
  std::string step_id;
  std::string outcome;
  std::int64_t count = 0;
  auto operator<=>(const JourneyStepCount&) const = default;
};

// Runs per version, current step and state (Store::CountJourneyRuns).
struct JourneyRunCount {
  int version = 1;
  int step = 0;
  std::string state;
  std::int64_t count = 0;
  auto operator<=>(const JourneyRunCount&) const = default;
};

// Filters of Store::ListJourneyRuns; empty fields don't filter.
struct JourneyRunFilter {
  std::int64_t journey_id = 0;  // 0: every journey
  CustomerId customer;          // invalid: every customer
  bool inside_only = false;     // only runs that are active, waiting or waiting for an event
};

// A user of the web dashboard: an email unique in its workspace (stored lower-case), a role
// ("admin", "marketer" or "viewer") and an argon2id password hash (libsodium's string form).
struct DashboardUser {
  std::int64_t id = 0;
  WorkspaceId workspace;
  std::string email;
  std::string name;
  std::string role = "viewer";
  std::string password_hash;
  std::string locale = "en";  // "en" or "de"
  Timestamp created_at;
  std::optional<Timestamp> last_login_at;
};

// A signed-in dashboard session: only the SHA-256 of its token is stored.
struct DashboardSession {
  std::string token_hash;  // lower-case hex SHA-256 of the cookie's token
  std::int64_t user_id = 0;
  WorkspaceId workspace;
  std::string csrf_token;  // sent back in X-CSRF-Token by state-changing requests
  Timestamp created_at;
  Timestamp expires_at;    // absolute end
  Timestamp last_seen_at;  // for the idle timeout
  std::string remote;      // peer address at sign-in, "" if unknown
  std::string user_agent;  // at sign-in, "" if unknown
};

// Reward tiers as stored: comma-separated, ',' and '\' escaped by '\'; no tiers is "".
// REQUIRES: no name is empty (SaveLoyaltyReward checks).
std::string EncodeTierList(const std::vector<std::string>& tiers);
std::vector<std::string> DecodeTierList(std::string_view text);

// The text form of named values in storage: "name=value;name=value" (values round-trip).
std::string EncodeNamedValues(const std::vector<std::pair<std::string, double>>& values);
Result<std::vector<std::pair<std::string, double>>> DecodeNamedValues(std::string_view text);

class WriteTransaction {
 public:
  virtual ~WriteTransaction() = default;  // rolls back unless committed

  // The ids of the customers with these external ids, in the same order. Customers not yet
  // stored are created with only their external id and `now` as creation time.
  virtual Result<std::vector<CustomerId>> ResolveCustomers(
      std::span<const std::string> external_ids, Timestamp now) = 0;

  // Inserts customers or updates their profile, keyed by external id. Profile fields that
  // are empty in `c` keep their stored value; attributes and consents given are set, others
  // kept. A customer whose stored profile already equals the merge counts as unchanged.
  // REQUIRES: each customer passes ValidateCustomer.
  virtual Result<WriteStats> UpsertCustomers(std::span<const Customer> customers,
                                             Timestamp now) = 0;

  // Inserts orders keyed by external id. For an order whose external id is already stored,
  // a changed status and refunds it didn't have are applied (counted updated); otherwise it
  // is left as it is (counted unchanged). Total, time, customer and lines never change.
  // REQUIRES: each order passes ValidateOrder and has a valid `customer` id of this workspace.
  virtual Result<WriteStats> InsertOrders(std::span<const Order> orders) = 0;

  // Inserts subscriptions keyed by external id, or merges into a stored one: history states
  // at new effective times are added (a state at a stored time must be equal, else
  // Conflict), and ended_at is set when given.
  // REQUIRES: each passes ValidateSubscription and has a valid `customer`.
  virtual Result<WriteStats> UpsertSubscriptions(std::span<const Subscription> subs) = 0;

  // Inserts products or updates their name and price, keyed by external id.
  // REQUIRES: each passes ValidateProduct.
  virtual Result<WriteStats> UpsertProducts(std::span<const Product> products) = 0;

  // Appends events; an event whose message_id is already stored is skipped (unchanged).
  // REQUIRES: each passes ValidateEvent.
  virtual Result<WriteStats> InsertEvents(std::span<const Event> events) = 0;

  // Links an anonymous id (a browser, a device) to a customer: its events that have no
  // customer get this one (logged as event updates), and FindAnonymousId answers with it.
  // The first link of an id wins: false when it is already linked to another customer.
  virtual Result<bool> LinkAnonymousId(std::string_view anonymous_id, CustomerId customer,
                                       Timestamp now) = 0;
  // The customer an anonymous id is linked to, or an invalid id when none.
  virtual Result<CustomerId> FindAnonymousId(std::string_view anonymous_id) = 0;

  // Sets the workspace's reporting currency. FailedPrecondition if it already has another.
  virtual Status SetCurrency(const Currency& currency) = 0;
  // Records in the change log that the workspace's settings changed (Store::UpdateWorkspace),
  // so live snapshots pick them up.
  virtual Status NoteWorkspaceChanged() = 0;

  // Deletes the order with this external id, its lines and its refunds; logs an order
  // delete. False when there is no such order.
  virtual Result<bool> DeleteOrder(std::string_view external_id) = 0;
  // Deletes the subscription with this external id and its history; logs a subscription
  // delete. False when there is no such subscription.
  virtual Result<bool> DeleteSubscription(std::string_view external_id) = 0;
  // Deletes the product with this external id (order lines keep its id as text); logs a
  // product delete. False when there is no such product.
  virtual Result<bool> DeleteProduct(std::string_view external_id) = 0;
  // Erases a customer's personal data (the right to erasure): email, name, country, locale,
  // time zone, attributes and consents are cleared, the customer's events and anonymous-id
  // links and push subscriptions are deleted, and the external id becomes "erased-<id>", so
  // the same shop id later starts a new customer. Orders and subscriptions stay attached to the
  // anonymous row, so aggregate revenue and retention figures don't change. Logs a customer
  // update and event deletes. False when there is no such customer.
  virtual Result<bool> EraseCustomer(std::string_view external_id, Timestamp now) = 0;

  // ---- Loyalty, under the workspace's write lock ----
  // A member's row, and writing it back (inserted or replaced, by customer).
  virtual Result<std::optional<LoyaltyMember>> FindLoyaltyMember(CustomerId customer) = 0;
  virtual Status SaveLoyaltyMember(const LoyaltyMember& m) = 0;
  // The member with this referral code, if any.
  virtual Result<std::optional<LoyaltyMember>> FindLoyaltyMemberByReferralCode(std::string_view code) = 0;
  // Every transfer touching the customer, in seq order.
  virtual Result<std::vector<LoyaltyTransferRecord>> LoyaltyTransfers(CustomerId customer) = 0;
  // Appends transfers in the order given, assigning increasing seqs. AlreadyExists when an id is
  // taken (nothing of the call is then written, the transaction stays usable).
  virtual Status AppendLoyaltyTransfers(std::span<const LoyaltyTransferRecord> transfers) = 0;
  virtual Status AddLoyaltyTierChange(const LoyaltyTierChange& c) = 0;
  // Moves the program's change-log cursor. NotFound when the workspace has no program.
  virtual Status SetLoyaltyProcessedSeq(std::int64_t seq) = 0;
  // A reward by id, read under the lock.
  virtual Result<std::optional<LoyaltyReward>> FindLoyaltyRewardById(std::int64_t id) = 0;
  // Adds `stock_delta` to a limited reward's stock (unlimited: unchanged) and `redeemed_delta`
  // to its redeemed count. FailedPrecondition "out of stock" when the stock would fall below 0.
  virtual Status ChangeLoyaltyRewardStock(std::int64_t reward_id, std::int64_t stock_delta,
                                          std::int64_t redeemed_delta) = 0;
  // Gives one unused code of a voucher reward's pool to a redemption (the oldest added first);
  // nullopt when the pool is empty. ReturnLoyaltyRewardCode puts it back (a released hold).
  virtual Result<std::optional<std::string>> ClaimLoyaltyRewardCode(std::int64_t reward_id,
                                                                    std::string_view redemption_id) = 0;
  virtual Status ReturnLoyaltyRewardCode(std::int64_t reward_id, std::string_view code) = 0;
  // Redemptions: inserted or replaced by id.
  virtual Status SaveLoyaltyRedemption(const LoyaltyRedemption& r) = 0;
  virtual Result<std::optional<LoyaltyRedemption>> FindLoyaltyRedemption(std::string_view id) = 0;

  // Makes everything durable. After a failed commit the transaction is rolled back.
  virtual Status Commit() = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // "sqlite" or "postgresql".
  virtual std::string_view backend() const = 0;

  // Takes the lock `name` (lower-case letters and '_') for as long as this store stays open,
  // unless another store on the same database holds it: true when this one holds it (asking
  // again while holding it is fine), false when another does. A process that dies lets go of its
  // locks. Work that must run in one place per database (the journey pass) runs only where its
  // lock is held. PostgreSQL: a session advisory lock; SQLite: flock(2) on the file
  // "<database>-<name>.lock" beside the database (an in-memory database always has it).
  // InvalidArgument for a bad name.
  virtual Result<bool> HoldLock(std::string_view name) = 0;

  // NotFound when no workspace has this name.
  virtual Result<Workspace> FindWorkspace(std::string_view name) = 0;
  // Creates a workspace; fills in its id and logs a workspace insert as the workspace's
  // first change. AlreadyExists when the name is taken.
  // REQUIRES: ValidateWorkspace(w).
  virtual Result<Workspace> CreateWorkspace(const Workspace& w) = 0;
  virtual Result<std::vector<Workspace>> ListWorkspaces() = 0;

  // Starts a write transaction on one workspace. Blocks while another writer holds the
  // database (SQLite) or the workspace (PostgreSQL), up to a busy timeout → Unavailable.
  virtual Result<std::unique_ptr<WriteTransaction>> BeginWrite(WorkspaceId ws) = 0;

  virtual Result<EntityCounts> Counts(WorkspaceId ws) = 0;
  virtual Result<std::optional<Customer>> FindCustomer(WorkspaceId ws,
                                                       std::string_view external_id) = 0;
  // The external id of customer `id` of `ws`, if there is one.
  virtual Result<std::optional<std::string>> CustomerExternalId(WorkspaceId ws, CustomerId id) = 0;
  virtual Result<std::optional<Order>> FindOrder(WorkspaceId ws, std::string_view external_id) = 0;
  virtual Result<std::optional<Subscription>> FindSubscription(WorkspaceId ws,
                                                               std::string_view external_id) = 0;

  // At most `limit` customers with id > after_id matching `filter`, in id order, with
  // their attributes and consents. REQUIRES: 1 <= limit <= 1000.
  virtual Result<std::vector<Customer>> ListCustomers(WorkspaceId ws, const CustomerFilter& filter,
                                                      std::int64_t after_id, int limit) = 0;

  // At most `limit` events with id > after_id, in id order; only those of `user_id` when
  // it is not empty. REQUIRES: 1 <= limit <= 1000.
  virtual Result<std::vector<Event>> ListEvents(WorkspaceId ws, std::string_view user_id,
                                                std::int64_t after_id, int limit) = 0;

  virtual Result<std::optional<Product>> FindProduct(WorkspaceId ws,
                                                     std::string_view external_id) = 0;

  // At most `limit` orders (with lines and refunds) with id > after_id, in id order; only
  // the orders of the customer with external id `customer` when it is not empty.
  // REQUIRES: 1 <= limit <= 1000.
  virtual Result<std::vector<Order>> ListOrders(WorkspaceId ws, std::string_view customer,
                                                std::int64_t after_id, int limit) = 0;
  // As ListOrders, for subscriptions with their history.
  virtual Result<std::vector<Subscription>> ListSubscriptions(WorkspaceId ws,
                                                              std::string_view customer,
                                                              std::int64_t after_id,
                                                              int limit) = 0;
  // At most `limit` products with id > after_id, in id order. REQUIRES: 1 <= limit <= 1000.
  virtual Result<std::vector<Product>> ListProducts(WorkspaceId ws, std::int64_t after_id,
                                                    int limit) = 0;

  // CSV import jobs (imports sent over HTTP). CreateImportJob fills in the id.
  virtual Result<ImportJob> CreateImportJob(const ImportJob& job) = 0;
  // Stores the job's progress and outcome (every field but id, workspace, kind, file name
  // and creation time). NotFound when there is no such job.
  virtual Status UpdateImportJob(const ImportJob& job) = 0;
  virtual Result<std::optional<ImportJob>> FindImportJob(WorkspaceId ws, std::int64_t id) = 0;
  // Marks every job still queued or running as failed with `error` and finished at `now`
  // (at server start: a job's import is all-or-nothing, so an interrupted one stored
  // nothing). Returns how many there were.
  virtual Result<std::int64_t> FailUnfinishedImportJobs(std::string_view error, Timestamp now) = 0;

  // Sets the workspace's settings that may change after creation: retention basis, activity
  // window, purchase model, allow_private_webhooks, brand_colour, time zone, and the currency
  // while it has none (the name stays, and a currency once set; CreateWorkspace starts with
  // private webhooks refused and no brand colour). NotFound if it's gone.
  // REQUIRES: ValidateWorkspace(w).
  virtual Status UpdateWorkspace(const Workspace& w) = 0;

  // Model fits. CreateModelRun fills in the id; UpdateModelRun writes everything but the
  // workspace, model and created_at. ListModelRuns: newest first, of one model or ("") all.
  virtual Result<ModelRun> CreateModelRun(const ModelRun& run) = 0;
  virtual Status UpdateModelRun(const ModelRun& run) = 0;
  virtual Result<std::vector<ModelRun>> ListModelRuns(WorkspaceId ws, std::string_view model,
                                                      int limit) = 0;
  virtual Result<std::optional<ModelRun>> FindModelRun(WorkspaceId ws, std::int64_t id) = 0;
  // Saved segments. SaveSegment inserts or (same workspace and name) replaces the expression,
  // keeping id and created_at; it returns the row as stored. ListSegments: by name.
  // DeleteSegment: NotFound if there is none.
  virtual Result<SegmentDefinition> SaveSegment(const SegmentDefinition& s) = 0;
  virtual Result<std::vector<SegmentDefinition>> ListSegments(WorkspaceId ws) = 0;
  virtual Result<std::optional<SegmentDefinition>> FindSegment(WorkspaceId ws, std::string_view name) = 0;
  virtual Status DeleteSegment(WorkspaceId ws, std::string_view name) = 0;
  // Renames and/or changes saved segment `s.id` of `s.workspace` (name, expr, updated_at);
  // NotFound if there is none, AlreadyExists if another segment has the new name.
  virtual Result<SegmentDefinition> UpdateSegment(const SegmentDefinition& s) = 0;
  virtual Result<std::optional<SegmentDefinition>> FindSegmentById(WorkspaceId ws, std::int64_t id) = 0;

  // Survey definitions. SaveSurvey inserts or (same workspace and name) replaces the
  // definition, keeping id and created_at, and returns the row as stored. ListSurveys: by name.
  virtual Result<SurveyRecord> SaveSurvey(const SurveyRecord& s) = 0;
  virtual Result<std::vector<SurveyRecord>> ListSurveys(WorkspaceId ws) = 0;
  virtual Result<std::optional<SurveyRecord>> FindSurvey(WorkspaceId ws, std::string_view name) = 0;
  virtual Result<std::optional<SurveyRecord>> FindSurveyById(WorkspaceId ws, std::int64_t id) = 0;

  // Survey invitations and responses. CreateSurveyInvitations stores all or none, all of one
  // survey.
  // SaveSurveyResponse inserts or (same survey and nonce) replaces the answers, keeping id and
  // created_at. Responses are listed by id.
  virtual Status CreateSurveyInvitations(std::span<const SurveyInvitation> invitations) = 0;
  virtual Result<std::optional<SurveyInvitation>> FindSurveyInvitation(WorkspaceId ws, std::int64_t survey_id,
                                                                       std::int64_t nonce) = 0;
  virtual Result<std::int64_t> CountSurveyInvitations(WorkspaceId ws, std::int64_t survey_id) = 0;
  virtual Result<SurveyResponse> SaveSurveyResponse(const SurveyResponse& r) = 0;
  virtual Result<std::optional<SurveyResponse>> FindSurveyResponse(WorkspaceId ws, std::int64_t survey_id,
                                                                   std::int64_t nonce) = 0;
  // Each customer's latest response with an NPS score (by updated_at, then id), at or before
  // `now`, in customer id order.
  virtual Result<std::vector<NpsScore>> LatestNpsScores(WorkspaceId ws, Timestamp now) = 0;
  // Responses of one survey (with nps_score) by id after `after_id`, at most `limit`.
  virtual Result<std::vector<SurveyResponse>> ListSurveyResponses(WorkspaceId ws, std::int64_t survey_id,
                                                                  std::int64_t after_id, int limit) = 0;

  // Every invitation of `ws` (all surveys): survey, customer and when it was made, in id order.
  virtual Status ScanSurveyInvitations(WorkspaceId ws,
                                       const std::function<void(std::int64_t survey_id, CustomerId customer,
                                                                Timestamp created_at)>& f) = 0;
  // Each identified customer's latest event named `name`, in customer id order.
  virtual Result<std::vector<std::pair<CustomerId, Timestamp>>> LatestEvents(WorkspaceId ws, std::string_view name) = 0;

  // Follow-up items. CreateFollowUp inserts `f` (id ignored) unless its response (survey and
  // nonce) has one already; returns the stored item and whether it is new. ListFollowUps: by id
  // after `after_id`, only `status` unless empty. UpdateFollowUp writes status, assignee, note
  // and updated_at; NotFound if there is none.
  virtual Result<std::pair<FollowUpItem, bool>> CreateFollowUp(const FollowUpItem& f) = 0;
  virtual Result<std::optional<FollowUpItem>> FindFollowUp(WorkspaceId ws, std::int64_t id) = 0;
  virtual Result<std::vector<FollowUpItem>> ListFollowUps(WorkspaceId ws, std::string_view status,
                                                          std::int64_t after_id, int limit) = 0;
  virtual Status UpdateFollowUp(const FollowUpItem& f) = 0;
  // Notifications: the pending ones due at `now`, of every workspace, oldest due first, at most
  // `limit`; and recording an attempt (state, attempts, next due time, error) of item `id`.
  virtual Result<std::vector<FollowUpItem>> DueFollowUpNotifications(Timestamp now, int limit) = 0;
  virtual Status RecordFollowUpNotification(std::int64_t id, std::string_view state, int attempts,
                                            Timestamp next_at, std::string_view error) = 0;

  // Segment membership (deleted with its segment). ApplySegmentRefresh applies one
  // re-evaluation atomically: members added and removed, one transition per change, and the
  // size point. REQUIRES: `entered` are not members and `left` are.
  virtual Status ApplySegmentRefresh(const SegmentRefresh& r) = 0;
  // Members by customer id, after `after` (0: from the start), at most `limit` (<= 0: all).
  virtual Result<std::vector<SegmentMember>> ListSegmentMembers(WorkspaceId ws, std::int64_t segment_id,
                                                                std::int64_t after, int limit) = 0;
  // Transitions in the order recorded, after id `after_id`, at most `limit`.
  virtual Result<std::vector<SegmentTransition>> ListSegmentTransitions(WorkspaceId ws, std::int64_t segment_id,
                                                                        std::int64_t after_id, int limit) = 0;
  // The size history from `since` on, oldest first.
  virtual Result<std::vector<SegmentSize>> ListSegmentSizes(WorkspaceId ws, std::int64_t segment_id,
                                                            Timestamp since) = 0;
  // The saved segments `customer` is a member of at the last refresh: (segment id, since), by
  // segment id.
  virtual Result<std::vector<std::pair<std::int64_t, Timestamp>>> CustomerSegments(WorkspaceId ws,
                                                                                   CustomerId customer) = 0;
  // Every transition of one customer (all segments), in the order recorded.
  virtual Result<std::vector<SegmentTransition>> CustomerSegmentTransitions(WorkspaceId ws, CustomerId customer) = 0;
  // Every survey response of one customer (all surveys, with nps_score), by id.
  virtual Result<std::vector<SurveyResponse>> CustomerSurveyResponses(WorkspaceId ws, CustomerId customer) = 0;

  // Marks every fit still queued or running as failed (at server start). Returns how many.
  virtual Result<std::int64_t> FailUnfinishedModelRuns(std::string_view error, Timestamp now) = 0;

  // Visit every row of a kind in id order. The visitor may not call back into the Store.
  virtual Status ScanCustomers(WorkspaceId ws, const std::function<void(const Customer&)>& f) = 0;
  virtual Status ScanOrders(WorkspaceId ws, const std::function<void(const Order&)>& f) = 0;
  virtual Status ScanSubscriptions(WorkspaceId ws,
                                   const std::function<void(const Subscription&)>& f) = 0;
  virtual Status ScanEvents(WorkspaceId ws, const std::function<void(const Event&)>& f) = 0;

  // Lean scans for the analytics snapshot: only the columns it keeps, rows with
  // first_id <= id <= last_id (of the customer, the order, the order, the subscription) in id
  // order; 0 and INT64_MAX scan everything. The visitor may not call back into the Store.
  virtual Status ScanCustomerKeys(WorkspaceId ws, std::int64_t first_id, std::int64_t last_id,
                                  const std::function<void(const CustomerKey&)>& f) = 0;
  // Orders of every status (the snapshot skips cancelled ones), without lines.
  virtual Status ScanOrderFacts(WorkspaceId ws, std::int64_t first_id, std::int64_t last_id,
                                const std::function<void(const OrderFact&)>& f) = 0;
  // Refunds of the orders with ids in the range, by order id, then time.
  virtual Status ScanRefundFacts(WorkspaceId ws, std::int64_t first_order_id,
                                 std::int64_t last_order_id,
                                 const std::function<void(const RefundFact&)>& f) = 0;
  // As ScanSubscriptions, for the subscriptions with ids in the range.
  virtual Status ScanSubscriptionRange(WorkspaceId ws, std::int64_t first_id, std::int64_t last_id,
                                       const std::function<void(const Subscription&)>& f) = 0;

  // Stores a new API key (its hash, never the key); fills in id. AlreadyExists when the
  // hash is taken.
  virtual Result<ApiKey> CreateApiKey(const ApiKey& key) = 0;
  // The key whose SHA-256 is `hash_hex`, in any workspace, or nullopt.
  virtual Result<std::optional<ApiKey>> FindApiKey(std::string_view hash_hex) = 0;
  // The keys of a workspace, oldest first.
  virtual Result<std::vector<ApiKey>> ListApiKeys(WorkspaceId ws) = 0;
  // Marks key `id` of workspace `ws` revoked at `now`: it authenticates no more. NotFound
  // when the workspace has no such key; revoking twice keeps the first time.
  virtual Status RevokeApiKey(WorkspaceId ws, std::int64_t id, Timestamp now) = 0;

  // ---- Dashboard users and sessions ----
  // Stores a new user; fills in id. AlreadyExists when the workspace has a user with this email.
  virtual Result<DashboardUser> CreateDashboardUser(const DashboardUser& u) = 0;
  // Replaces name, role, locale, password hash and last login of user `u.id` of `u.workspace`.
  // NotFound when the workspace has no such user.
  virtual Status UpdateDashboardUser(const DashboardUser& u) = 0;
  virtual Result<std::optional<DashboardUser>> FindDashboardUser(WorkspaceId ws, std::int64_t id) = 0;
  virtual Result<std::optional<DashboardUser>> FindDashboardUserByEmail(WorkspaceId ws,
                                                                        std::string_view email) = 0;
  // The users with this email in every workspace (a sign-in that names no workspace), by id.
  virtual Result<std::vector<DashboardUser>> FindDashboardUsersByEmail(std::string_view email) = 0;
  // The workspace's users, oldest first.
  virtual Result<std::vector<DashboardUser>> ListDashboardUsers(WorkspaceId ws) = 0;
  // Deletes a user and every session of theirs. NotFound when the workspace has no such user.
  virtual Status DeleteDashboardUser(WorkspaceId ws, std::int64_t id) = 0;
  // Stores a new session, and drops sessions whose expires_at is before s.created_at.
  // AlreadyExists when the token hash is taken.
  virtual Status CreateDashboardSession(const DashboardSession& s) = 0;
  // The session with this token hash, in any workspace, or nullopt.
  virtual Result<std::optional<DashboardSession>> FindDashboardSession(std::string_view token_hash) = 0;
  // Sets last_seen_at of a session (no error when there is none).
  virtual Status TouchDashboardSession(std::string_view token_hash, Timestamp at) = 0;
  // Deletes a session (no error when there is none).
  virtual Status DeleteDashboardSession(std::string_view token_hash) = 0;
  // Deletes every session of user `user_id` of workspace `ws`.
  virtual Status DeleteDashboardSessions(WorkspaceId ws, std::int64_t user_id) = 0;

  // Claims `key` for a request whose hash is `request_hash` (see IdempotencyClaim). A key
  // in flight for longer than `stale_after_micros` (a crash between claim and completion)
  // is claimed anew.
  virtual Result<IdempotencyClaim> ClaimIdempotencyKey(WorkspaceId ws, std::string_view key,
                                                       std::string_view request_hash,
                                                       Timestamp now,
                                                       std::int64_t stale_after_micros) = 0;
  // Stores the response of a claimed key, or with `status` 0 releases the key so the
  // request may be retried.
  virtual Status CompleteIdempotencyKey(WorkspaceId ws, std::string_view key, int status,
                                        std::string_view response) = 0;

  // ---- Loyalty (reads, and what needs no ledger lock) ----
  // The workspace's program; SaveLoyaltyProgram inserts or replaces the definition (keeping
  // created_at and processed_seq) and returns the row as stored.
  virtual Result<std::optional<LoyaltyProgramRecord>> FindLoyaltyProgram(WorkspaceId ws) = 0;
  virtual Result<LoyaltyProgramRecord> SaveLoyaltyProgram(const LoyaltyProgramRecord& p) = 0;
  virtual Result<std::optional<LoyaltyMember>> FindLoyaltyMember(WorkspaceId ws, CustomerId customer) = 0;
  // Members in customer id order after `after` (0: from the start), at most `limit`.
  virtual Result<std::vector<LoyaltyMember>> ListLoyaltyMembers(WorkspaceId ws, std::int64_t after, int limit) = 0;
  // The customers whose next_due_at <= now, earliest first, at most `limit`.
  virtual Result<std::vector<CustomerId>> DueLoyaltyMembers(WorkspaceId ws, Timestamp now, int limit) = 0;
  // Transfers in seq order after `after_seq`, at most `limit`; only the customer's when
  // `customer` is valid.
  virtual Result<std::vector<LoyaltyTransferRecord>> ListLoyaltyTransfers(WorkspaceId ws, CustomerId customer,
                                                                          std::int64_t after_seq, int limit) = 0;
  // Every transfer with from <= at < to, in seq order. The visitor may not call back into the Store.
  virtual Status ScanLoyaltyTransfers(WorkspaceId ws, Timestamp from, Timestamp to,
                                      const std::function<void(const LoyaltyTransferRecord&)>& f) = 0;
  // Every transfer of `ws`, reduced to what points flows are counted by (kind, from_account,
  // points, at), in no particular order: a narrow scan for reports. The visitor may not call
  // back into the Store.
  virtual Status ScanLoyaltyFlows(WorkspaceId ws, const std::function<void(const LoyaltyFlowRow&)>& f) = 0;
  // A customer's tier changes, oldest first (all customers' when `customer` is invalid).
  virtual Result<std::vector<LoyaltyTierChange>> ListLoyaltyTierChanges(WorkspaceId ws, CustomerId customer) = 0;
  // Rewards: SaveLoyaltyReward inserts or (same name) replaces everything but id, created_at
  // and redeemed, and returns the row as stored. Listed by name.
  virtual Result<LoyaltyReward> SaveLoyaltyReward(const LoyaltyReward& r) = 0;
  virtual Result<std::vector<LoyaltyReward>> ListLoyaltyRewards(WorkspaceId ws) = 0;
  virtual Result<std::optional<LoyaltyReward>> FindLoyaltyReward(WorkspaceId ws, std::string_view name) = 0;
  // Adds codes to a voucher reward's pool (codes already in the workspace are skipped) and
  // raises a limited stock by the number added; returns that number.
  virtual Result<std::int64_t> AddLoyaltyRewardCodes(WorkspaceId ws, std::int64_t reward_id,
                                                     std::span<const std::string> codes) = 0;
  // Redemptions in row order after row `after_row` (0: from the first), at most `limit`; only
  // the customer's when `customer` is valid.
  virtual Result<std::vector<LoyaltyRedemption>> ListLoyaltyRedemptions(WorkspaceId ws, CustomerId customer,
                                                                        std::int64_t after_row, int limit) = 0;
  virtual Result<std::optional<LoyaltyRedemption>> FindLoyaltyRedemption(WorkspaceId ws, std::string_view id) = 0;

  // ---- Messaging ----
  // Templates. SaveMessageTemplate inserts or (same workspace and name) replaces channel,
  // topic and parts, keeping id and created_at, and returns the row as stored. Listed by name.
  // DeleteMessageTemplate: NotFound if there is none.
  virtual Result<MessageTemplateRecord> SaveMessageTemplate(const MessageTemplateRecord& t) = 0;
  virtual Result<std::vector<MessageTemplateRecord>> ListMessageTemplates(WorkspaceId ws) = 0;
  virtual Result<std::optional<MessageTemplateRecord>> FindMessageTemplate(WorkspaceId ws, std::string_view name) = 0;
  virtual Result<std::optional<MessageTemplateRecord>> FindMessageTemplateById(WorkspaceId ws, std::int64_t id) = 0;
  virtual Status DeleteMessageTemplate(WorkspaceId ws, std::string_view name) = 0;

  // Outbox. EnqueueMessages inserts the messages (all of `ws`, state kQueued) in one
  // transaction, skipping those whose idempotency key the workspace already has, and writes a
  // "queued" log line for each inserted one; returns how many were inserted. The ids of the
  // inserted messages are not returned (FindMessageByKey finds one). Each is due at its
  // next_attempt_at. InvalidArgument (nothing inserted) for a message of another workspace or
  // of an unknown category.
  virtual Result<std::int64_t> EnqueueMessages(WorkspaceId ws, std::span<const OutboxMessage> messages,
                                               Timestamp now) = 0;
  // Claims at most `limit` messages of every workspace that are due: queued with
  // next_attempt_at <= now, or sending with lease_until <= now (a lapsed claim, e.g. of a
  // crashed worker); oldest due first. Each claimed message becomes kSending with
  // claimed_by = worker, lease_until = now + lease_micros and attempts + 1, and is returned
  // so. Concurrent claimers (threads, processes) never get the same message while its lease
  // holds (PostgreSQL: FOR UPDATE SKIP LOCKED). Only messages of `channel`; equally due ones
  // by id. InvalidArgument for a worker without a name.
  virtual Result<std::vector<OutboxMessage>> ClaimMessages(Channel channel, Timestamp now,
                                                           std::int64_t lease_micros,
                                                           std::string_view worker, int limit) = 0;
  // Records the outcome of an attempt if `o.worker` still holds the claim of message `o.id`
  // (state kSending, claimed_by = worker): sets state, next_attempt_at (kQueued),
  // provider_id (when not empty), last_error, sent_at (kSent: o.at), clears the claim, and
  // appends the log line (o.log_kind, o.log_detail) at o.at — all in one transaction. False
  // (and nothing written) when the claim was lost. InvalidArgument for another o.state.
  virtual Result<bool> FinishMessage(const MessageOutcome& o) = 0;
  virtual Result<std::optional<OutboxMessage>> FindMessage(WorkspaceId ws, std::int64_t id) = 0;
  virtual Result<std::optional<OutboxMessage>> FindMessageByKey(WorkspaceId ws, std::string_view key) = 0;
  // Messages by id descending (newest first) with id < before_id (0: from the newest),
  // at most `limit` (1..1000). Bodies (html, text) are left empty.
  virtual Result<std::vector<OutboxMessage>> ListMessages(WorkspaceId ws, const MessageFilter& filter,
                                                          std::int64_t before_id, int limit) = 0;
  // Messages per state of one campaign, or ("") of the whole workspace.
  virtual Result<MessageCounts> CountMessages(WorkspaceId ws, std::string_view campaign) = 0;
  // Cancels the queued messages of `ws` matching `filter` (state kQueued only; kSending ones
  // finish) with a "cancelled" log line each at `now`, and the campaigns' planned messages it
  // matches (their members: planned no more, outcome "cancelled"); returns how many.
  virtual Result<std::int64_t> CancelMessages(WorkspaceId ws, const MessageFilter& filter, Timestamp now) = 0;
  // Appends a log line (opened, clicked, ...) to a message of `ws`; NotFound if there is none.
  virtual Status AppendMessageLog(const MessageLogEntry& e) = 0;
  // A message's log (message_id > 0) or a customer's (message_id 0, customer valid), in order,
  // at most `limit`. InvalidArgument when it names neither.
  virtual Result<std::vector<MessageLogEntry>> ListMessageLog(WorkspaceId ws, std::int64_t message_id,
                                                              CustomerId customer, int limit) = 0;

  // Suppressions. SuppressEmail inserts or replaces (reason, detail, at) by address.
  // Addresses are lower-cased (ASCII) on write and lookup; listed in byte order after
  // `after_address`. DeleteSuppression: false if there was none.
  virtual Status SuppressEmail(const EmailSuppression& s) = 0;
  virtual Result<std::optional<EmailSuppression>> FindSuppression(WorkspaceId ws, std::string_view address) = 0;
  virtual Result<std::vector<EmailSuppression>> ListSuppressions(WorkspaceId ws, std::string_view after_address,
                                                                 int limit) = 0;
  virtual Result<bool> DeleteSuppression(WorkspaceId ws, std::string_view address) = 0;

  // Consent proof (append-only); fills in the id. Listed oldest first: one customer's, or
  // (customer invalid) the workspace's, after id `after_id`, at most `limit`.
  virtual Result<ConsentRecord> AddConsentRecord(const ConsentRecord& r) = 0;
  virtual Result<std::vector<ConsentRecord>> ListConsentRecords(WorkspaceId ws, CustomerId customer,
                                                                std::int64_t after_id, int limit) = 0;

  // Preferences: inserted or replaced by customer (topics_off sorted and made unique);
  // nullopt when the customer has none stored. InvalidArgument for an empty topic.
  virtual Status SaveMessagePreferences(const MessagePreferences& p) = 0;
  virtual Result<std::optional<MessagePreferences>> FindMessagePreferences(WorkspaceId ws, CustomerId customer) = 0;

  // Settings: inserted or replaced; nullopt when the workspace has none stored yet.
  // InvalidArgument for an unknown transport or smtp_tls.
  virtual Status SaveMessagingSettings(const MessagingSettingsRecord& s) = 0;
  virtual Result<std::optional<MessagingSettingsRecord>> FindMessagingSettings(WorkspaceId ws) = 0;

  // ---- Channels beyond email ----
  // Push subscriptions. SavePushSubscription inserts or, by (workspace, endpoint), replaces
  // customer, keys and user agent (a browser's subscription follows whoever signed in last),
  // keeping id and created_at, and returns the row as stored. Listed by id after `after_id`,
  // at most `limit`: one customer's, or (customer invalid) the workspace's. Deletes return
  // false when there was none.
  // The record's id is ignored (the store assigns it), and so is its created_at on a replace.
  // InvalidArgument for an empty endpoint or an invalid customer; NotFound when the customer
  // is not one of the workspace's. Workspaces are apart: the same endpoint in two workspaces
  // is two subscriptions, and one workspace never sees, moves or deletes another's.
  virtual Result<PushSubscriptionRecord> SavePushSubscription(const PushSubscriptionRecord& s) = 0;
  virtual Result<std::vector<PushSubscriptionRecord>> ListPushSubscriptions(WorkspaceId ws, CustomerId customer,
                                                                            std::int64_t after_id, int limit) = 0;
  virtual Result<std::optional<PushSubscriptionRecord>> FindPushSubscription(WorkspaceId ws, std::int64_t id) = 0;
  virtual Result<bool> DeletePushSubscription(WorkspaceId ws, std::int64_t id) = 0;
  virtual Result<bool> DeletePushSubscriptionByEndpoint(WorkspaceId ws, std::string_view endpoint) = 0;

  // Webhook endpoints: inserted or replaced by name (keeping created_at), listed by name.
  // InvalidArgument for a format other than json, slack or discord. DeleteWebhookEndpoint:
  // NotFound if there is none. Names are compared and listed byte by byte (case matters).
  // SaveWebhookEndpoint returns the row as stored.
  virtual Result<WebhookEndpointRecord> SaveWebhookEndpoint(const WebhookEndpointRecord& e) = 0;
  virtual Result<std::vector<WebhookEndpointRecord>> ListWebhookEndpoints(WorkspaceId ws) = 0;
  virtual Result<std::optional<WebhookEndpointRecord>> FindWebhookEndpoint(WorkspaceId ws, std::string_view name) = 0;
  virtual Status DeleteWebhookEndpoint(WorkspaceId ws, std::string_view name) = 0;

  // Channel settings: inserted or replaced; nullopt when the workspace has none stored yet.
  virtual Status SaveChannelSettings(const ChannelSettingsRecord& s) = 0;
  virtual Result<std::optional<ChannelSettingsRecord>> FindChannelSettings(WorkspaceId ws) = 0;

  // A customer's in-app inbox: their messages of channel kInApp in state kSent, sent at or
  // after `since`, without a "dismissed" log line; newest first, at most `limit` (1..100),
  // with their payloads.
  // Newest first is by id (the order they were enqueued in), not by sent_at. A limit below 1
  // gives an empty list, one above 100 is taken as 100.
  virtual Result<std::vector<OutboxMessage>> ListInAppMessages(WorkspaceId ws, CustomerId customer, Timestamp since,
                                                               int limit) = 0;

  // ---- Campaigns ----
  // SaveCampaign inserts or (same workspace and name) replaces every field but id and
  // created_at, and returns the row as stored. InvalidArgument for an empty name, no variants
  // or a template name with ','. DeleteCampaign deletes the campaign and its members; NotFound
  // if there is none. Listed by name.
  virtual Result<CampaignRecord> SaveCampaign(const CampaignRecord& c) = 0;
  virtual Result<std::vector<CampaignRecord>> ListCampaigns(WorkspaceId ws) = 0;
  virtual Result<std::optional<CampaignRecord>> FindCampaign(WorkspaceId ws, std::string_view name) = 0;
  virtual Status DeleteCampaign(WorkspaceId ws, std::string_view name) = 0;
  // Writes `c` (found by workspace and id) only if its stored state is still `expected`: the
  // compare-and-set of state changes, so of two schedulers only one launches a campaign.
  // False (nothing written) when the state differs; NotFound when there is no such campaign.
  virtual Result<bool> UpdateCampaignIf(const CampaignRecord& c, CampaignState expected) = 0;
  // Campaigns of every workspace that need the scheduler at `now`: scheduled with send_at <=
  // now, testing with test_ends_at <= now, and running ones not updated since `stale_before`
  // (a launch a crash interrupted). By id.
  virtual Result<std::vector<CampaignRecord>> ListDueCampaigns(Timestamp now, Timestamp stale_before) = 0;
  // Members: inserted or replaced by (campaign, customer), in one transaction; listed by
  // customer id after `after`, at most `limit` (1..100,000).
  virtual Status SaveCampaignMembers(WorkspaceId ws, std::int64_t campaign_id,
                                     std::span<const CampaignMember> members) = 0;
  virtual Result<std::vector<CampaignMember>> ListCampaignMembers(WorkspaceId ws, std::int64_t campaign_id,
                                                                  CustomerId after, int limit) = 0;
  // The campaign materialiser: the campaigns (of every workspace, by id) with planned members
  // due before `before`; a campaign's planned members due before `before`, by due time then
  // customer, at most `limit` (1..100,000).
  virtual Result<std::vector<std::pair<WorkspaceId, std::int64_t>>> ListCampaignsWithPlans(Timestamp before) = 0;
  virtual Result<std::vector<CampaignMember>> ListPlannedMembers(WorkspaceId ws, std::int64_t campaign_id,
                                                                 Timestamp before, int limit) = 0;
  // The materialiser's write of a batch, in one transaction: each of `members` still planned
  // takes its new outcome and is planned no more, and `messages` (as EnqueueMessages; each for
  // one of `members`) are enqueued for those members only. A member cancelled or capped
  // meanwhile keeps that, and gets no message.
  struct RenderedPlans {
    std::int64_t members = 0;   // members still planned, now rendered
    std::int64_t offered = 0;   // messages for them
    std::int64_t inserted = 0;  // of those, enqueued (the others' keys were taken)
  };
  virtual Result<RenderedPlans> RenderPlannedMembers(WorkspaceId ws, std::int64_t campaign_id,
                                                     std::span<const CampaignMember> members,
                                                     std::span<const OutboxMessage> messages, Timestamp now) = 0;
  // Planned members that will not be messaged after all (e.g. one a journey message displaced
  // under the frequency cap): planned no more, with `outcome`. Only `customer`'s when given.
  // Returns how many were changed. (CancelMessages cancels planned messages too.)
  virtual Result<std::int64_t> UnplanCampaignMembers(WorkspaceId ws, std::int64_t campaign_id,
                                                     std::optional<CustomerId> customer, std::string_view outcome) = 0;

  // Frequency capping: the workspace's marketing messages queued, sending or sent with
  // next_attempt_at in [from, to), and its campaigns' planned messages due in [from, to), by
  // time then id (so each customer's in time order). Not by customer first: that sorted every
  // row, where the time order is an index's.
  virtual Result<std::vector<MarketingMessageRow>> ListMarketingMessages(WorkspaceId ws, Timestamp from,
                                                                         Timestamp to) = 0;
  // Send-time optimisation: the workspace's "opened" and "clicked" log lines at or after
  // `since`, by customer then time.
  virtual Result<std::vector<EngagementRow>> ListEngagements(WorkspaceId ws, Timestamp since) = 0;

  // Delivery rules: inserted or replaced; nullopt when the workspace has none stored.
  virtual Status SaveDeliveryRules(const DeliveryRulesRecord& r) = 0;
  virtual Result<std::optional<DeliveryRulesRecord>> FindDeliveryRules(WorkspaceId ws) = 0;

  // ---- Journeys ----
  // SaveJourney inserts or (same workspace and name) replaces every field but id, created_at
  // and the cursors (kept; a new journey's are stored as given), and stores (journey, version)
  // with `definition` unless that version is stored already (versions are immutable). Returns
  // the row as stored. DeleteJourney deletes it with its versions, runs and counts; NotFound if
  // there is none. Listed by name.
  virtual Result<JourneyRecord> SaveJourney(const JourneyRecord& j) = 0;
  virtual Result<std::vector<JourneyRecord>> ListJourneys(WorkspaceId ws) = 0;
  virtual Result<std::optional<JourneyRecord>> FindJourney(WorkspaceId ws, std::string_view name) = 0;
  virtual Status DeleteJourney(WorkspaceId ws, std::string_view name) = 0;
  // A stored version's definition; nullopt when there is no such version of a journey of `ws`.
  virtual Result<std::optional<std::string>> FindJourneyVersion(WorkspaceId ws, std::int64_t journey_id,
                                                                int version) = 0;
  // One step of the journey worker, in one transaction: inserts the runs with id 0 and
  // replaces the others (by id; all of journeys of `ws`), adds the step count deltas of
  // `journey_id`, and writes the cursors and last_error of `cursors` (when given; by id).
  // Returns the ids of the runs in the order given. A second run of a customer inside the same
  // journey is AlreadyExists (nothing of the call is then written).
  virtual Result<std::vector<std::int64_t>> WriteJourneyRuns(WorkspaceId ws, std::int64_t journey_id,
                                                             std::span<const JourneyRunRow> runs,
                                                             std::span<const JourneyStepCount> step_deltas,
                                                             const JourneyRecord* cursors) = 0;
  // Runs by id after `after_id`, at most `limit` (1..100,000).
  virtual Result<std::vector<JourneyRunRow>> ListJourneyRuns(WorkspaceId ws, const JourneyRunFilter& filter,
                                                             std::int64_t after_id, int limit) = 0;
  // Waiting runs (waiting, waiting_for_event) of the active journeys of `ws` with wake_at <= now,
  // by wake_at then id, at most `limit` (1..100,000). A paused journey's runs are left out.
  virtual Result<std::vector<JourneyRunRow>> ListDueJourneyRuns(WorkspaceId ws, Timestamp now, int limit) = 0;
  virtual Result<std::vector<JourneyStepCount>> CountJourneySteps(WorkspaceId ws, std::int64_t journey_id) = 0;
  virtual Result<std::vector<JourneyRunCount>> CountJourneyRuns(WorkspaceId ws, std::int64_t journey_id) = 0;

  // Change-log rows with seq > after_seq, oldest first, at most `limit`.
  virtual Result<std::vector<Change>> ReadChanges(WorkspaceId ws, std::int64_t after_seq,
                                                  int limit) = 0;
};

}  // namespace treu
