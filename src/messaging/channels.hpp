// The channels beyond email (docs/channels.md): web push to browsers (RFC 8030 with the
// payload encrypted per RFC 8291 and the sender identified per RFC 8292), in-app messages that
// treu's JavaScript snippet fetches for the signed-in user, and webhooks (Slack, Discord, chat
// apps' bridges, the workspace's own systems). All three go through the outbox like email:
// rendered and enqueued by a send, claimed by the workers, checked again at send time, retried
// with backoff, logged.
//
// Who may read a customer's in-app messages or attach a browser to them: the snippet carries
// the workspace's public tracking key, which anyone can copy, so it also has to present
// HMAC-SHA256(identity secret, user id) — made by the workspace's own backend, which knows who
// is signed in (identity verification). The identity secret and the VAPID private key are
// sealed with the server's secret.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "messaging/consent.hpp"
#include "messaging/webpush.hpp"
#include "net/http_client.hpp"
#include "storage/store.hpp"

namespace treu::messaging {

// ---- Settings ----

// The stored channel settings of `ws`, or empty ones (no keys yet).
Result<ChannelSettingsRecord> LoadChannelSettings(Store& store, WorkspaceId ws);

// Sets the VAPID subject ("mailto:" address or https URL that push services may contact) and,
// when the workspace has no keys yet or `new_keys`, makes a new VAPID key pair (subscriptions
// made under the old public key stop working: browsers must subscribe again). InvalidArgument
// (context "vapid_subject") for another subject form.
Result<ChannelSettingsRecord> SetUpPush(Store& store, WorkspaceId ws, std::string_view subject,
                                        bool new_keys, std::span<const std::uint8_t> secret,
                                        Timestamp now);

// Makes a new identity secret (32 random bytes as 64 hex digits), stores it sealed and returns it:
// the only time it is shown. The previous secret stops working.
Result<std::string> RotateIdentitySecret(Store& store, WorkspaceId ws,
                                         std::span<const std::uint8_t> secret, Timestamp now);

// Lower-case hex HMAC-SHA256 of `user_id` under `identity_secret`: what the workspace's backend
// computes and hands to its pages.
std::string UserHash(std::string_view identity_secret, std::string_view user_id);

// Checks `user_hash` for `user_id` in constant time. FailedPrecondition when the workspace has
// no identity secret yet; PermissionDenied (context "user_hash") when the hash is wrong.
Status VerifyUserHash(Store& store, WorkspaceId ws, std::string_view user_id,
                      std::string_view user_hash, std::span<const std::uint8_t> secret);

// ---- Webhook endpoints ----

struct WebhookEndpointChange {
  std::string name;
  std::string url;
  std::string format = "json";
  bool new_secret = false;  // make a new signing secret (always for a new endpoint)
};

// A saved endpoint and its signing secret in plain text when one was made ("" otherwise).
struct SavedWebhookEndpoint {
  WebhookEndpointRecord endpoint;
  std::string secret;
};

// Validates (name as segment names; url http or https with a host, at most 2 KiB; format json,
// slack or discord) and saves an endpoint. InvalidArgument naming the field.
Result<SavedWebhookEndpoint> SaveWebhookEndpoint(Store& store, WorkspaceId ws,
                                                 const WebhookEndpointChange& change,
                                                 std::span<const std::uint8_t> secret,
                                                 Timestamp now);

// ---- Push subscriptions ----

struct PushSubscriptionInput {
  std::string endpoint;
  std::string p256dh;
  std::string auth;
  std::string user_agent;
};

// Validates (InvalidArgument naming "subscription.endpoint", "subscription.keys.p256dh",
// "subscription.keys.auth") and stores the subscription of customer `customer` (external id;
// NotFound when unknown), granting push consent with a proof record (source "browser"): the
// browser's permission prompt is the opt-in.
Result<PushSubscriptionRecord> SubscribePush(Store& store, WorkspaceId ws,
                                             std::string_view customer,
                                             const PushSubscriptionInput& input,
                                             const Requester& who, Timestamp now);

// ---- Payloads, rendered when a message is enqueued ----

// Push and in-app: {"title", "body", "url"} plus "layout" for in-app ("banner" or "modal").
std::string ChannelPayload(std::string_view title, std::string_view body, std::string_view url,
                           std::string_view layout);

// What a webhook endpoint of `format` receives about one message to one customer:
//   json:    {"type": "message", "id", "campaign", "topic", "customer": {"id", "email"},
//             "title", "text", "url"} — "id" is the outbox message's idempotency key;
//   slack:   {"text": "*title*\ntext\nurl"} (Slack's incoming webhooks);
//   discord: {"content": "**title**\ntext\nurl"} (Discord's webhooks).
std::string WebhookBody(std::string_view format, const OutboxMessage& m,
                        std::string_view customer_id, std::string_view email, std::string_view url);

// ---- Delivery ----

// Why a push, in-app or webhook message may not be sent now, or "": the customer was deleted;
// for marketing, messages are paused or the message's topic is off.
Result<std::string> ChannelBlocker(Store& store, const OutboxMessage& m, Timestamp now);

// The workspace facts delivery needs: its outbound address policy and, for push, its VAPID
// signer. Cached per workspace by the worker until the settings change.
struct ChannelSetup {
  ChannelSettingsRecord settings;
  std::shared_ptr<const webpush::VapidSigner> vapid;  // null when push is not set up
  bool allow_private = false;                         // Workspace::allow_private_webhooks
};
Result<ChannelSetup> MakeChannelSetup(Store& store, WorkspaceId ws,
                                      std::span<const std::uint8_t> secret);

// One claimed message of each channel; the outcome to record (nothing is written here, except
// that a push subscription the push service reports gone — 404 or 410 — is deleted).
//   push: POST of the encrypted payload to the subscription's endpoint with VAPID; 201/200/202
//     sent; 404/410 bounced (subscription removed); 400/401/403/413 failed; 429, 5xx and
//     network trouble retried with backoff.
//   webhook: POST of the body with the Treu-Signature header; 2xx sent; 429, 408, 5xx and
//     network trouble retried; other statuses and refused addresses failed.
//   in-app: sent (it now shows in the customer's inbox).
Result<MessageOutcome> DeliverPush(Store& store, const OutboxMessage& m, const ChannelSetup& setup,
                                   net::HttpClient& http, int max_attempts, Timestamp now,
                                   double random_unit);
Result<MessageOutcome> DeliverWebhook(Store& store, const OutboxMessage& m,
                                      const ChannelSetup& setup, net::HttpClient& http,
                                      std::span<const std::uint8_t> secret, int max_attempts,
                                      Timestamp now, double random_unit);
Result<MessageOutcome> DeliverInApp(Store& store, const OutboxMessage& m, Timestamp now);

// The POST of a webhook message `m` (its body in m.html) to `endpoint`, signed with the
// endpoint's secret; the outcome as DeliverWebhook describes.
Result<MessageOutcome> PostWebhook(const OutboxMessage& m, const WebhookEndpointRecord& endpoint,
                                   const ChannelSetup& setup, net::HttpClient& http,
                                   std::span<const std::uint8_t> secret, int max_attempts, Timestamp now,
                                   double random_unit);

// Posts a test message to `endpoint` of `ws` now (through `http`, or a CurlHttpClient when
// null): sent, or failed with the reason (the address refused, the status, the connection).
Result<MessageOutcome> TestWebhook(Store& store, WorkspaceId ws, const WebhookEndpointRecord& endpoint,
                                   std::span<const std::uint8_t> secret, Timestamp now,
                                   net::HttpClient* http = nullptr);

// ---- In-app inbox ----

// In-app messages stay in the inbox this long after they were sent.
inline constexpr std::int64_t kInAppLifetimeMicros = 30LL * 86'400'000'000;

// Records what the customer did with in-app message `id`: "shown", "dismissed" or "clicked"
// (InvalidArgument "type" otherwise) as a log line and, the first time, a customer event
// ("In-App Message Shown", "In-App Message Dismissed", "In-App Message Clicked"). NotFound when
// the message is not one of this customer's in-app messages.
Status RecordInAppEvent(Store& store, WorkspaceId ws, CustomerId customer,
                        std::string_view external_id, std::int64_t id, std::string_view type,
                        Timestamp now);

}  // namespace treu::messaging
