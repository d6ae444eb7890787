#include "messaging/channels.hpp"

#include <sodium.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "messaging/delivery.hpp"
#include "messaging/sealed.hpp"
#include "messaging/webpush.hpp"
#include "net/webhook_signature.hpp"
#include "segments/library.hpp"

namespace treu::messaging {
namespace {

using nlohmann::json;

// How long a push service keeps a message for an offline browser (seconds).
constexpr int kPushTtlSeconds = 4 * 7 * 86'400;

MessageOutcome Outcome(const OutboxMessage& m, MessageState state, std::string log_kind,
                       std::string detail, Timestamp now) {
  MessageOutcome o;
  o.id = m.id;
  o.worker = m.claimed_by;
  o.state = state;
  o.next_attempt_at = now;
  o.error = state == MessageState::kSent ? "" : detail;
  o.log_kind = std::move(log_kind);
  o.log_detail = std::move(detail);
  o.at = now;
  return o;
}

// A retry after a temporary failure, or the dead letter once the attempts are used up.
MessageOutcome RetryOrFail(const OutboxMessage& m, std::string detail, int max_attempts,
                           Timestamp now, double unit) {
  if (m.attempts >= max_attempts) {
    return Outcome(m, MessageState::kFailed, "failed",
                   detail + " (gave up after " + std::to_string(m.attempts) + " attempts)", now);
  }
  MessageOutcome o = Outcome(m, MessageState::kQueued, "deferred", std::move(detail), now);
  o.next_attempt_at = NextAttemptAt(m.attempts, now, unit);
  return o;
}

std::string Hex(std::span<const unsigned char> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

bool HttpUrl(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string scheme(url.substr(0, scheme_end));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (scheme != "http" && scheme != "https") return false;
  const std::string_view rest = url.substr(scheme_end + 3);
  if (rest.empty() || rest.front() == '/' || rest.front() == ':') return false;
  return std::none_of(url.begin(), url.end(),
                      [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
}

}  // namespace

// ---- Settings ----

Result<ChannelSettingsRecord> LoadChannelSettings(Store& store, WorkspaceId ws) {
  TREU_ASSIGN_OR_RETURN(auto stored, store.FindChannelSettings(ws));
  if (stored) return *stored;
  ChannelSettingsRecord s;
  s.workspace = ws;
  return s;
}

Result<ChannelSettingsRecord> SetUpPush(Store& store, WorkspaceId ws, std::string_view subject,
                                        bool new_keys, std::span<const std::uint8_t> secret,
                                        Timestamp now) {
  const bool mailto = subject.starts_with("mailto:") && subject.size() > 7 &&
                      subject.find('@') != std::string_view::npos;
  const bool https = subject.starts_with("https://") && HttpUrl(subject);
  if ((!mailto && !https) || subject.size() > 512 ||
      std::any_of(subject.begin(), subject.end(),
                  [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
    return InvalidArgument(
        "vapid_subject",
        "must be a mailto: address or an https URL that push services can contact");
  }
  TREU_ASSIGN_OR_RETURN(ChannelSettingsRecord s, LoadChannelSettings(store, ws));
  s.vapid_subject = std::string(subject);
  if (new_keys || s.vapid_public_key.empty()) {
    TREU_ASSIGN_OR_RETURN(webpush::VapidKeys keys, webpush::GenerateVapidKeys());
    s.vapid_public_key = keys.public_key;
    s.vapid_private_sealed = Seal(keys.private_key, secret);
  }
  s.updated_at = now;
  TREU_RETURN_IF_ERROR(store.SaveChannelSettings(s));
  return s;
}

Result<std::string> RotateIdentitySecret(Store& store, WorkspaceId ws,
                                         std::span<const std::uint8_t> secret, Timestamp now) {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  std::string plain = Hex(bytes);
  TREU_ASSIGN_OR_RETURN(ChannelSettingsRecord s, LoadChannelSettings(store, ws));
  s.identity_secret_sealed = Seal(plain, secret);
  s.updated_at = now;
  TREU_RETURN_IF_ERROR(store.SaveChannelSettings(s));
  return plain;
}

std::string UserHash(std::string_view identity_secret, std::string_view user_id) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state,
                              reinterpret_cast<const unsigned char*>(identity_secret.data()),
                              identity_secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(user_id.data()),
                                user_id.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  return Hex(mac);
}

Status VerifyUserHash(Store& store, WorkspaceId ws, std::string_view user_id,
                      std::string_view user_hash, std::span<const std::uint8_t> secret) {
  TREU_ASSIGN_OR_RETURN(ChannelSettingsRecord s, LoadChannelSettings(store, ws));
  if (s.identity_secret_sealed.empty()) {
    return FailedPrecondition(
        "identity verification",
        "this workspace has no identity secret yet; make one in the dashboard's channel "
        "settings or with treu channels identity-secret");
  }
  TREU_ASSIGN_OR_RETURN(std::string key, Unseal(s.identity_secret_sealed, secret));
  const std::string expected = UserHash(key, user_id);
  std::string given(user_hash);
  std::transform(given.begin(), given.end(), given.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (given.size() != expected.size() ||
      sodium_memcmp(given.data(), expected.data(), expected.size()) != 0) {
    return MakeError(
        ErrorCode::kPermissionDenied, "user_hash",
        "is not the HMAC-SHA256 of the user id under this workspace's identity secret");
  }
  return {};
}

// ---- Webhook endpoints ----

Result<SavedWebhookEndpoint> SaveWebhookEndpoint(Store& store, WorkspaceId ws,
                                                 const WebhookEndpointChange& change,
                                                 std::span<const std::uint8_t> secret,
                                                 Timestamp now) {
  if (auto ok = ValidateSegmentName(change.name); !ok)
    return InvalidArgument("name", ok.error().detail());
  if (change.url.size() > 2048 || !HttpUrl(change.url)) {
    return InvalidArgument("url", "must be an http or https URL with a host, at most 2048 bytes");
  }
  if (change.format != "json" && change.format != "slack" && change.format != "discord") {
    return InvalidArgument("format", "must be json, slack or discord");
  }
  TREU_ASSIGN_OR_RETURN(auto existing, store.FindWebhookEndpoint(ws, change.name));
  SavedWebhookEndpoint out;
  WebhookEndpointRecord& e = out.endpoint;
  e.workspace = ws;
  e.name = change.name;
  e.url = change.url;
  e.format = change.format;
  e.created_at = existing ? existing->created_at : now;
  e.updated_at = now;
  if (!existing || change.new_secret) {
    unsigned char bytes[32];
    randombytes_buf(bytes, sizeof bytes);
    out.secret = "whsec_" + Hex(bytes);
    e.secret_sealed = Seal(out.secret, secret);
  } else {
    e.secret_sealed = existing->secret_sealed;
  }
  TREU_ASSIGN_OR_RETURN(e, store.SaveWebhookEndpoint(e));
  return out;
}

// ---- Push subscriptions ----

Result<PushSubscriptionRecord> SubscribePush(Store& store, WorkspaceId ws,
                                             std::string_view customer,
                                             const PushSubscriptionInput& input,
                                             const Requester& who, Timestamp now) {
  if (auto ok = webpush::ValidateSubscription(
          input.endpoint, webpush::PushSubscriptionKeys{input.p256dh, input.auth});
      !ok) {
    std::string field = "subscription." + ok.error().context();
    std::replace(field.begin(), field.end(), '/', '.');
    return InvalidArgument(field, ok.error().detail());
  }
  TREU_ASSIGN_OR_RETURN(auto found, store.FindCustomer(ws, customer));
  if (!found)
    return NotFound("customer " + std::string(customer), "no such customer in this workspace");
  PushSubscriptionRecord r;
  r.workspace = ws;
  r.customer = found->id;
  r.endpoint = input.endpoint;
  r.p256dh = input.p256dh;
  r.auth = input.auth;
  r.user_agent = input.user_agent.substr(0, 512);
  r.created_at = now;
  r.updated_at = now;
  TREU_ASSIGN_OR_RETURN(r, store.SavePushSubscription(r));
  const auto consent = found->consent.find(Channel::kPush);
  if (consent == found->consent.end() || !consent->second.granted) {
    TREU_RETURN_IF_ERROR(
        SetConsent(store, ws, customer, Channel::kPush, true, "browser", "", who, "", now));
  }
  return r;
}

// ---- Payloads ----

std::string ChannelPayload(std::string_view title, std::string_view body, std::string_view url,
                           std::string_view layout) {
  json j = {{"title", title}, {"body", body}, {"url", url}};
  if (!layout.empty()) j["layout"] = layout;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string WebhookBody(std::string_view format, const OutboxMessage& m,
                        std::string_view customer_id, std::string_view email,
                        std::string_view url) {
  std::string line = m.text;
  if (!url.empty()) line += (line.empty() ? "" : "\n") + std::string(url);
  json j;
  if (format == "slack") {
    j = {{"text", m.subject.empty() ? line : "*" + m.subject + "*\n" + line}};
  } else if (format == "discord") {
    j = {{"content", m.subject.empty() ? line : "**" + m.subject + "**\n" + line}};
  } else {
    j = {{"type", "message"},
         {"id", m.idempotency_key},
         {"campaign", m.campaign},
         {"topic", m.topic},
         {"customer", {{"id", customer_id}, {"email", email}}},
         {"title", m.subject},
         {"text", m.text},
         {"url", url}};
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---- Delivery ----

Result<std::string> ChannelBlocker(Store& store, const OutboxMessage& m, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(auto external, store.CustomerExternalId(m.workspace, m.customer));
  if (!external) return std::string("the customer was deleted");
  if (m.category != "marketing") return std::string();
  TREU_ASSIGN_OR_RETURN(auto prefs, store.FindMessagePreferences(m.workspace, m.customer));
  if (prefs) {
    if (prefs->paused_until && now < *prefs->paused_until)
      return std::string("the customer paused messages");
    if (!m.topic.empty() &&
        std::binary_search(prefs->topics_off.begin(), prefs->topics_off.end(), m.topic)) {
      return "the customer turned topic '" + m.topic + "' off";
    }
  }
  return std::string();
}

Result<ChannelSetup> MakeChannelSetup(Store& store, WorkspaceId ws,
                                      std::span<const std::uint8_t> secret) {
  ChannelSetup setup;
  TREU_ASSIGN_OR_RETURN(setup.settings, LoadChannelSettings(store, ws));
  if (!setup.settings.vapid_private_sealed.empty()) {
    TREU_ASSIGN_OR_RETURN(std::string private_key,
                          Unseal(setup.settings.vapid_private_sealed, secret));
    TREU_ASSIGN_OR_RETURN(
        webpush::VapidSigner signer,
        webpush::VapidSigner::Create(webpush::VapidKeys{setup.settings.vapid_public_key, private_key},
                                     setup.settings.vapid_subject));
    setup.vapid = std::make_shared<const webpush::VapidSigner>(std::move(signer));
  }
  TREU_ASSIGN_OR_RETURN(const std::vector<Workspace> all, store.ListWorkspaces());
  for (const Workspace& w : all) {
    if (w.id == ws) setup.allow_private = w.allow_private_webhooks;
  }
  return setup;
}

Result<MessageOutcome> DeliverPush(Store& store, const OutboxMessage& m, const ChannelSetup& setup,
                                   net::HttpClient& http, int max_attempts, Timestamp now,
                                   double random_unit) {
  TREU_ASSIGN_OR_RETURN(std::string blocker, ChannelBlocker(store, m, now));
  if (!blocker.empty()) return Outcome(m, MessageState::kSuppressed, "suppressed", blocker, now);
  std::int64_t subscription_id = 0;
  try {
    subscription_id = std::stoll(m.recipient);
  } catch (...) {
    return Outcome(m, MessageState::kFailed, "failed",
                   "the recipient is not a push subscription id", now);
  }
  TREU_ASSIGN_OR_RETURN(auto sub, store.FindPushSubscription(m.workspace, subscription_id));
  if (!sub || sub->customer != m.customer) {
    return Outcome(m, MessageState::kSuppressed, "suppressed", "the push subscription was removed",
                   now);
  }
  if (!setup.vapid) {
    return RetryOrFail(m, "web push is not set up for this workspace (no VAPID keys)", max_attempts,
                       now, random_unit);
  }
  auto body =
      webpush::EncryptPushPayload(m.html, webpush::PushSubscriptionKeys{sub->p256dh, sub->auth});
  if (!body) return Outcome(m, MessageState::kFailed, "failed", body.error().ToString(), now);
  auto authorization = setup.vapid->Authorization(sub->endpoint, now.micros / kMicrosPerSecond);
  if (!authorization) {
    return Outcome(m, MessageState::kFailed, "failed", authorization.error().ToString(), now);
  }

  net::HttpRequest req;
  req.url = sub->endpoint;
  req.body = std::move(*body);
  req.headers = {{"Content-Type", "application/octet-stream"},
                 {"Content-Encoding", "aes128gcm"},
                 {"TTL", std::to_string(kPushTtlSeconds)},
                 {"Urgency", m.category == "marketing" ? "normal" : "high"},
                 {"Authorization", std::move(*authorization)}};
  auto sent = http.Post(req, net::OutboundPolicy::ForWorkspace(setup.allow_private));
  if (!sent) {
    if (sent.error().code() == ErrorCode::kUnavailable) {
      return RetryOrFail(m, sent.error().ToString(), max_attempts, now, random_unit);
    }
    return Outcome(m, MessageState::kFailed, "failed", sent.error().ToString(), now);
  }
  const std::string status = "HTTP " + std::to_string(sent->status) + " from the push service";
  if (sent->status >= 200 && sent->status <= 299) {
    MessageOutcome o = Outcome(m, MessageState::kSent, "sent", status, now);
    if (auto location = sent->Header("location"))
      o.provider_id = std::string(location->substr(0, 512));
    return o;
  }
  if (sent->status == 404 || sent->status == 410) {
    TREU_ASSIGN_OR_RETURN(const bool removed, store.DeletePushSubscription(m.workspace, sub->id));
    (void)removed;  // a concurrent delivery may have removed it first
    return Outcome(m, MessageState::kBounced, "bounced",
                   status + ": the subscription expired and was removed", now);
  }
  if (sent->status == 429 || sent->status >= 500)
    return RetryOrFail(m, status, max_attempts, now, random_unit);
  return Outcome(m, MessageState::kFailed, "failed", status, now);
}

Result<MessageOutcome> DeliverWebhook(Store& store, const OutboxMessage& m,
                                      const ChannelSetup& setup, net::HttpClient& http,
                                      std::span<const std::uint8_t> secret, int max_attempts,
                                      Timestamp now, double random_unit) {
  TREU_ASSIGN_OR_RETURN(std::string blocker, ChannelBlocker(store, m, now));
  if (!blocker.empty()) return Outcome(m, MessageState::kSuppressed, "suppressed", blocker, now);
  TREU_ASSIGN_OR_RETURN(auto endpoint, store.FindWebhookEndpoint(m.workspace, m.recipient));
  if (!endpoint) {
    return Outcome(m, MessageState::kFailed, "failed",
                   "webhook endpoint '" + m.recipient + "' was deleted", now);
  }
  return PostWebhook(m, *endpoint, setup, http, secret, max_attempts, now, random_unit);
}

Result<MessageOutcome> TestWebhook(Store& store, WorkspaceId ws, const WebhookEndpointRecord& endpoint,
                                   std::span<const std::uint8_t> secret, Timestamp now, net::HttpClient* http) {
  TREU_ASSIGN_OR_RETURN(ChannelSetup setup, MakeChannelSetup(store, ws, secret));
  OutboxMessage m;
  m.workspace = ws;
  m.idempotency_key = "test:" + std::to_string(now.micros);
  m.recipient = endpoint.name;
  m.subject = "treu test message";
  m.text = "This is a test message from treu: the endpoint '" + endpoint.name + "' works.";
  m.html = WebhookBody(endpoint.format, m, "", "", "");
  m.attempts = 1;
  net::CurlHttpClient curl;
  return PostWebhook(m, endpoint, setup, http != nullptr ? *http : curl, secret, 1, now, 0.5);
}

Result<MessageOutcome> PostWebhook(const OutboxMessage& m, const WebhookEndpointRecord& endpoint,
                                   const ChannelSetup& setup, net::HttpClient& http,
                                   std::span<const std::uint8_t> secret, int max_attempts, Timestamp now,
                                   double random_unit) {
  TREU_ASSIGN_OR_RETURN(std::string key, Unseal(endpoint.secret_sealed, secret));
  net::HttpRequest req;
  req.url = endpoint.url;
  req.body = m.html;
  req.headers = {{"Content-Type", "application/json"},
                 {std::string(net::kWebhookSignatureHeader),
                  net::SignWebhook(key, now.micros / kMicrosPerSecond, req.body)},
                 {"Idempotency-Key", m.idempotency_key}};
  auto sent = http.Post(req, net::OutboundPolicy::ForWorkspace(setup.allow_private));
  if (!sent) {
    if (sent.error().code() == ErrorCode::kUnavailable) {
      return RetryOrFail(m, sent.error().ToString(), max_attempts, now, random_unit);
    }
    return Outcome(m, MessageState::kFailed, "failed", sent.error().ToString(), now);
  }
  const std::string status = "HTTP " + std::to_string(sent->status) + " from " + endpoint.name;
  if (sent->status >= 200 && sent->status <= 299)
    return Outcome(m, MessageState::kSent, "sent", status, now);
  if (sent->status == 408 || sent->status == 429 || sent->status >= 500) {
    return RetryOrFail(m, status, max_attempts, now, random_unit);
  }
  return Outcome(m, MessageState::kFailed, "failed", status, now);
}

Result<MessageOutcome> DeliverInApp(Store& store, const OutboxMessage& m, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(std::string blocker, ChannelBlocker(store, m, now));
  if (!blocker.empty()) return Outcome(m, MessageState::kSuppressed, "suppressed", blocker, now);
  return Outcome(m, MessageState::kSent, "sent", "in the customer's in-app inbox", now);
}

// ---- In-app inbox ----

Status RecordInAppEvent(Store& store, WorkspaceId ws, CustomerId customer,
                        std::string_view external_id, std::int64_t id, std::string_view type,
                        Timestamp now) {
  std::string name;
  if (type == "shown") {
    name = "In-App Message Shown";
  } else if (type == "dismissed") {
    name = "In-App Message Dismissed";
  } else if (type == "clicked") {
    name = "In-App Message Clicked";
  } else {
    return InvalidArgument("type", "must be shown, dismissed or clicked");
  }
  TREU_ASSIGN_OR_RETURN(auto message, store.FindMessage(ws, id));
  if (!message || message->customer != customer || message->channel != Channel::kInApp ||
      message->state != MessageState::kSent) {
    return NotFound("message " + std::to_string(id), "no such in-app message for this user");
  }
  TREU_ASSIGN_OR_RETURN(auto log, store.ListMessageLog(ws, id, CustomerId{}, 1000));
  const bool first = std::none_of(log.begin(), log.end(),
                                  [&](const MessageLogEntry& e) { return e.kind == type; });
  if (!first) return {};
  TREU_RETURN_IF_ERROR(
      store.AppendMessageLog(MessageLogEntry{0, ws, id, customer, std::string(type), now, ""}));
  Event ev;
  ev.type = EventType::kTrack;
  ev.name = name;
  ev.message_id = "inapp:" + std::string(type) + ":" + std::to_string(id);
  ev.user_id = std::string(external_id);
  ev.customer = customer;
  ev.timestamp = now;
  ev.received_at = now;
  json props = {{"message_id", std::to_string(id)}, {"campaign_name", message->campaign}};
  ev.properties_json = props.dump();
  TREU_ASSIGN_OR_RETURN(auto tx, store.BeginWrite(ws));
  std::vector<Event> one{std::move(ev)};
  TREU_RETURN_IF_ERROR(tx->InsertEvents(one));
  return tx->Commit();
}

}  // namespace treu::messaging
