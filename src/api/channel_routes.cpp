#include "api/channel_routes.hpp"

#include <nlohmann/json.hpp>

#include "api/problem.hpp"
#include "api/route_support.hpp"
#include "messaging/channels.hpp"
#include "messaging/delivery.hpp"

namespace treu::api {
namespace {

using nlohmann::json;



HttpResponse Status204() {
  HttpResponse r;
  r.status = 204;
  return r;
}

// ---- Settings ----

json SettingsJson(const ChannelSettingsRecord& s) {
  return {{"vapid_public_key", s.vapid_public_key},
          {"vapid_subject", s.vapid_subject},
          {"push_ready", !s.vapid_public_key.empty()},
          {"identity_secret_set", !s.identity_secret_sealed.empty()},
          {"updated_at", s.updated_at.micros == 0 ? json(nullptr) : json(FormatTimestamp(s.updated_at))}};
}

Result<HttpResponse> GetChannelSettings(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto s, messaging::LoadChannelSettings(ctx.store, ctx.workspace()));
  return JsonResponse(SettingsJson(s));
}

Result<HttpResponse> PatchChannelSettings(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(NeedSecret(ctx, "channels"));
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"vapid_subject", "new_vapid_keys"}));
  TREU_ASSIGN_OR_RETURN(auto subject, OptionalString(body, "vapid_subject"));
  bool new_keys = false;
  if (body.contains("new_vapid_keys") && !body["new_vapid_keys"].is_null()) {
    if (!body["new_vapid_keys"].is_boolean()) return InvalidArgument("new_vapid_keys", "must be true or false");
    new_keys = body["new_vapid_keys"].get<bool>();
  }
  TREU_ASSIGN_OR_RETURN(auto current, messaging::LoadChannelSettings(ctx.store, ctx.workspace()));
  const std::string chosen = subject ? *subject : current.vapid_subject;
  if (chosen.empty()) return InvalidArgument("vapid_subject", "is required: a mailto: address or https URL");
  TREU_ASSIGN_OR_RETURN(auto saved, messaging::SetUpPush(ctx.store, ctx.workspace(), chosen, new_keys, Secret(ctx),
                                                         ctx.clock.Now()));
  return JsonResponse(SettingsJson(saved));
}

Result<HttpResponse> NewIdentitySecret(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(NeedSecret(ctx, "channels"));
  TREU_ASSIGN_OR_RETURN(std::string plain,
                        messaging::RotateIdentitySecret(ctx.store, ctx.workspace(), Secret(ctx), ctx.clock.Now()));
  return JsonResponse({{"identity_secret", plain},
                       {"note", "shown once: give it to your backend, which sends HMAC-SHA256(secret, user id) "
                                "as the user's hash"}},
                      201);
}

// ---- Webhook endpoints ----

json EndpointJson(const WebhookEndpointRecord& e) {
  return {{"name", e.name},
          {"url", e.url},
          {"format", e.format},
          {"created_at", FormatTimestamp(e.created_at)},
          {"updated_at", FormatTimestamp(e.updated_at)}};
}

Result<HttpResponse> ListEndpoints(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto all, ctx.store.ListWebhookEndpoints(ctx.workspace()));
  json data = json::array();
  for (const auto& e : all) data.push_back(EndpointJson(e));
  return JsonResponse({{"data", std::move(data)}});
}

Result<HttpResponse> PutEndpoint(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(NeedSecret(ctx, "channels"));
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"url", "format", "new_secret"}));
  messaging::WebhookEndpointChange change;
  change.name = ctx.params.at("name");
  TREU_ASSIGN_OR_RETURN(auto url, OptionalString(body, "url"));
  if (!url) return InvalidArgument("url", "is required");
  change.url = *url;
  TREU_ASSIGN_OR_RETURN(auto format, OptionalString(body, "format"));
  if (format) change.format = *format;
  if (body.contains("new_secret") && !body["new_secret"].is_null()) {
    if (!body["new_secret"].is_boolean()) return InvalidArgument("new_secret", "must be true or false");
    change.new_secret = body["new_secret"].get<bool>();
  }
  TREU_ASSIGN_OR_RETURN(auto existing, ctx.store.FindWebhookEndpoint(ctx.workspace(), change.name));
  TREU_ASSIGN_OR_RETURN(auto saved,
                        messaging::SaveWebhookEndpoint(ctx.store, ctx.workspace(), change, Secret(ctx), ctx.clock.Now()));
  json out = EndpointJson(saved.endpoint);
  if (!saved.secret.empty()) out["secret"] = saved.secret;
  return JsonResponse(out, existing ? 200 : 201);
}

Result<HttpResponse> DeleteEndpoint(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(ctx.store.DeleteWebhookEndpoint(ctx.workspace(), ctx.params.at("name")));
  return Status204();
}

// A test message to an endpoint now, through the same delivery as the outbox's.
Result<HttpResponse> TestEndpoint(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(NeedSecret(ctx, "channels"));
  const std::string& name = ctx.params.at("name");
  TREU_ASSIGN_OR_RETURN(auto endpoint, ctx.store.FindWebhookEndpoint(ctx.workspace(), name));
  if (!endpoint) return NotFound("webhook endpoint " + name, "no such endpoint in this workspace");
  TREU_ASSIGN_OR_RETURN(auto outcome, messaging::TestWebhook(ctx.store, ctx.workspace(), *endpoint, Secret(ctx),
                                                            ctx.clock.Now()));
  // The test ran either way: its result is the answer, not an error of the request.
  return JsonResponse({{"ok", outcome.state == MessageState::kSent}, {"detail", outcome.log_detail}});
}

// ---- Push subscriptions (dashboard and API) ----

json SubscriptionJson(const PushSubscriptionRecord& s) {
  return {{"id", s.id},
          {"endpoint", s.endpoint},
          {"user_agent", s.user_agent},
          {"created_at", FormatTimestamp(s.created_at)},
          {"updated_at", FormatTimestamp(s.updated_at)}};
}

Result<HttpResponse> CustomerSubscriptions(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Customer c, CustomerOfPath(ctx));
  TREU_ASSIGN_OR_RETURN(auto all, ctx.store.ListPushSubscriptions(ctx.workspace(), c.id, 0, 100));
  json data = json::array();
  for (const auto& s : all) data.push_back(SubscriptionJson(s));
  return JsonResponse({{"data", std::move(data)}});
}

Result<HttpResponse> DeleteSubscription(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(std::int64_t id, PathId(ctx, "push subscription"));
  TREU_ASSIGN_OR_RETURN(bool removed, ctx.store.DeletePushSubscription(ctx.workspace(), id));
  if (!removed) return NotFound("push subscription " + std::to_string(id), "no such subscription in this workspace");
  return Status204();
}

// ---- Public routes of the JavaScript snippet (tracking key + identity verification) ----

// The verified user of a snippet request: the customer named by Treu-User-Id whose
// Treu-User-Hash is right.
Result<Customer> VerifiedUser(RequestContext& ctx) {
  TREU_RETURN_IF_ERROR(NeedSecret(ctx, "channels"));
  const std::string user(ctx.request.Header("treu-user-id"));
  const std::string hash(ctx.request.Header("treu-user-hash"));
  if (user.empty()) return InvalidArgument("Treu-User-Id", "the header is required: the signed-in user's id");
  if (hash.empty()) {
    return InvalidArgument("Treu-User-Hash", "the header is required: HMAC-SHA256 of the user id, made by your backend");
  }
  TREU_RETURN_IF_ERROR(messaging::VerifyUserHash(ctx.store, ctx.workspace(), user, hash, Secret(ctx)));
  TREU_ASSIGN_OR_RETURN(auto c, ctx.store.FindCustomer(ctx.workspace(), user));
  if (!c) return NotFound("user " + user, "no such customer in this workspace yet (identify them first)");
  return std::move(*c);
}

Result<HttpResponse> PushKey(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto s, messaging::LoadChannelSettings(ctx.store, ctx.workspace()));
  if (s.vapid_public_key.empty()) return NotFound("push", "web push is not set up for this workspace");
  return JsonResponse({{"vapid_public_key", s.vapid_public_key}});
}

Result<HttpResponse> PushSubscribe(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Customer c, VerifiedUser(ctx));
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"subscription"}));
  if (!body.contains("subscription") || !body["subscription"].is_object()) {
    return InvalidArgument("subscription", "is required: the browser's PushSubscription.toJSON()");
  }
  const json& sub = body["subscription"];
  messaging::PushSubscriptionInput input;
  if (!sub.contains("endpoint") || !sub["endpoint"].is_string()) {
    return InvalidArgument("subscription.endpoint", "is required (a string)");
  }
  input.endpoint = sub["endpoint"].get<std::string>();
  if (!sub.contains("keys") || !sub["keys"].is_object()) return InvalidArgument("subscription.keys", "is required");
  for (const char* k : {"p256dh", "auth"}) {
    if (!sub["keys"].contains(k) || !sub["keys"][k].is_string()) {
      return InvalidArgument(std::string("subscription.keys.") + k, "is required (base64url)");
    }
  }
  input.p256dh = sub["keys"]["p256dh"].get<std::string>();
  input.auth = sub["keys"]["auth"].get<std::string>();
  input.user_agent = std::string(ctx.request.Header("user-agent"));
  messaging::Requester who{ctx.request.remote, input.user_agent};
  TREU_ASSIGN_OR_RETURN(auto saved, messaging::SubscribePush(ctx.store, ctx.workspace(), c.external_id, input, who,
                                                             ctx.clock.Now()));
  return JsonResponse({{"id", saved.id}}, 201);
}

Result<HttpResponse> PushUnsubscribe(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Customer c, VerifiedUser(ctx));
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"endpoint"}));
  TREU_ASSIGN_OR_RETURN(auto endpoint, OptionalString(body, "endpoint"));
  if (!endpoint) return InvalidArgument("endpoint", "is required");
  // Only a subscription of this user: find it among theirs first.
  TREU_ASSIGN_OR_RETURN(auto theirs, ctx.store.ListPushSubscriptions(ctx.workspace(), c.id, 0, 1000));
  bool removed = false;
  for (const auto& s : theirs) {
    if (s.endpoint == *endpoint) {
      TREU_ASSIGN_OR_RETURN(removed, ctx.store.DeletePushSubscription(ctx.workspace(), s.id));
    }
  }
  return JsonResponse({{"removed", removed}});
}

Result<HttpResponse> InAppInbox(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Customer c, VerifiedUser(ctx));
  const Timestamp now = ctx.clock.Now();
  TREU_ASSIGN_OR_RETURN(auto messages, ctx.store.ListInAppMessages(ctx.workspace(), c.id,
                                                                   Timestamp{now.micros - messaging::kInAppLifetimeMicros},
                                                                   20));
  json data = json::array();
  for (const OutboxMessage& m : messages) {
    json payload = json::parse(m.html, nullptr, false);
    if (!payload.is_object()) continue;
    data.push_back({{"id", m.id},
                    {"title", payload.value("title", "")},
                    {"body", payload.value("body", "")},
                    {"url", payload.value("url", "")},
                    {"layout", payload.value("layout", "banner")},
                    {"sent_at", m.sent_at ? json(FormatTimestamp(*m.sent_at)) : json(nullptr)}});
  }
  HttpResponse r = JsonResponse({{"data", std::move(data)}});
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Result<HttpResponse> InAppEvent(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(Customer c, VerifiedUser(ctx));
  TREU_ASSIGN_OR_RETURN(std::int64_t id, PathId(ctx, "in-app message"));
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"type"}));
  TREU_ASSIGN_OR_RETURN(auto type, OptionalString(body, "type"));
  if (!type) return InvalidArgument("type", "is required: shown, dismissed or clicked");
  TREU_RETURN_IF_ERROR(
      messaging::RecordInAppEvent(ctx.store, ctx.workspace(), c.id, c.external_id, id, *type, ctx.clock.Now()));
  return Status204();
}

}  // namespace

std::vector<Route> ChannelRoutes() {
  const Access read = Access::Requires(Scope::kRead);
  const Access write = Access::Requires(Scope::kWrite);
  const Access admin = Access::Requires(Scope::kAdmin);
  const Access tracking = Access::Requires(Scope::kTracking);
  return {
      {"GET", "/api/v1/channels/settings", read, "Web push and in-app settings (secrets only as *_set)",
       GetChannelSettings, "ChannelSettings"},
      {"PATCH", "/api/v1/channels/settings", admin,
       "Sets up web push: {\"vapid_subject\", \"new_vapid_keys\"}; keys are made on first use", PatchChannelSettings,
       "ChannelSettings"},
      {"POST", "/api/v1/channels/identity-secret", admin,
       "Makes a new identity secret for in-app and push identity verification; shown once", NewIdentitySecret,
       "IdentitySecret", {}, {}, 201},
      {"GET", "/api/v1/webhook-endpoints", read, "Webhook endpoints of the webhook channel, by name", ListEndpoints,
       "WebhookEndpointList"},
      {"PUT", "/api/v1/webhook-endpoints/{name}", admin,
       "Creates or changes an endpoint: {\"url\", \"format\": json|slack|discord, \"new_secret\"}; the signing secret "
       "is returned when made",
       PutEndpoint, "WebhookEndpoint"},
      {"DELETE", "/api/v1/webhook-endpoints/{name}", admin, "Deletes an endpoint", DeleteEndpoint},
      {"POST", "/api/v1/webhook-endpoints/{name}/test", admin,
       "Posts a signed test message to the endpoint now: {ok, detail} with the reason when it fails", TestEndpoint,
       "WebhookTestResult"},
      {"GET", "/api/v1/customers/{id}/push-subscriptions", read, "A customer's browsers subscribed to web push",
       CustomerSubscriptions, "PushSubscriptionList"},
      {"DELETE", "/api/v1/push-subscriptions/{id}", write, "Removes a push subscription", DeleteSubscription},
      {"GET", "/v1/push/key", tracking, "The workspace's VAPID public key, for PushManager.subscribe", PushKey,
       "PushKey"},
      {"POST", "/v1/push/subscribe", tracking,
       "Stores the verified user's push subscription {\"subscription\": PushSubscription.toJSON()}; "
       "headers Treu-User-Id and Treu-User-Hash",
       PushSubscribe, "PushSubscribed", {}, {}, 201},
      {"POST", "/v1/push/unsubscribe", tracking, "Removes one of the verified user's push subscriptions {\"endpoint\"}",
       PushUnsubscribe, "PushUnsubscribed"},
      {"GET", "/v1/inapp", tracking,
       "The verified user's in-app messages, newest first; headers Treu-User-Id and Treu-User-Hash", InAppInbox,
       "InAppInbox"},
      {"POST", "/v1/inapp/{id}/events", tracking,
       "Records that the verified user saw, dismissed or clicked an in-app message {\"type\"}", InAppEvent},
  };
}

}  // namespace treu::api
