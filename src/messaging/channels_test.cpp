#include "messaging/channels.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "net/webhook_signature.hpp"
#include "storage/sqlite/temp_store_testing.hpp"

namespace treu::messaging {
namespace {

using nlohmann::json;

const std::vector<std::uint8_t> kSecret(32, 7);

// Answers every POST with a chosen status (or error) and keeps the requests: the outcome
// classification of each answer is what these tests are about. Real HTTP, real push services
// and the address policy are exercised by test/api/channels_test.py and net/http_client_test.
class ScriptedHttp final : public net::HttpClient {
 public:
  Result<net::HttpResponse> Post(const net::HttpRequest& request, const net::OutboundPolicy& policy) override {
    requests.push_back(request);
    policies.push_back(policy);
    if (error) return std::unexpected(*error);
    net::HttpResponse r;
    r.status = status;
    return r;
  }
  int status = 200;
  std::optional<Error> error;
  std::vector<net::HttpRequest> requests;
  std::vector<net::OutboundPolicy> policies;
};

class ChannelsTest : public ::testing::Test {
 protected:
  ChannelsTest() : clock_(Timestamp{1'767'225'600'000'000}), db_("treu-channels", clock_) {
    Customer ada;
    ada.external_id = "ada";
    ada.email = "ada@example.com";
    auto tx = store().BeginWrite(ws().id).value();
    std::vector<Customer> one{ada};
    tx->UpsertCustomers(one, clock_.Now()).value();
    tx->Commit().value();
  }
  Store& store() { return *db_.store; }
  const Workspace& ws() { return db_.workspace; }
  CustomerId Ada() { return store().FindCustomer(ws().id, "ada").value()->id; }

  OutboxMessage Message(Channel channel, std::string recipient, int attempts = 1) {
    OutboxMessage m;
    m.id = 1;
    m.workspace = ws().id;
    m.idempotency_key = "k:ada";
    m.channel = channel;
    m.customer = Ada();
    m.recipient = std::move(recipient);
    m.subject = "Hallo";
    m.text = "Text";
    m.attempts = attempts;
    m.claimed_by = "w";
    return m;
  }

  ManualClock clock_;
  testing::TempSqliteStore db_;
};

TEST(UserHashTest, IsHmacSha256InLowerCaseHex) {
  // RFC 4231, test case 2.
  EXPECT_EQ(UserHash("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(ChannelPayloadTest, IsJsonWhateverTheText) {
  const json j = json::parse(ChannelPayload("Hi \"you\"", "<b>\n</b>", "https://x.example/?a=1&b=2", "modal"));
  EXPECT_EQ(j["title"], "Hi \"you\"");
  EXPECT_EQ(j["body"], "<b>\n</b>");
  EXPECT_EQ(j["url"], "https://x.example/?a=1&b=2");
  EXPECT_EQ(j["layout"], "modal");
  EXPECT_FALSE(json::parse(ChannelPayload("t", "b", "", "")).contains("layout"));
}

TEST(WebhookBodyTest, Formats) {
  OutboxMessage m;
  m.idempotency_key = "send:1:ada";
  m.subject = "VIP";
  m.text = "Ada *kauft*";
  EXPECT_EQ(json::parse(WebhookBody("slack", m, "ada", "", "https://s.example"))["text"],
            "*VIP*\nAda *kauft*\nhttps://s.example");
  EXPECT_EQ(json::parse(WebhookBody("discord", m, "ada", "", ""))["content"], "**VIP**\nAda *kauft*");
  const json j = json::parse(WebhookBody("json", m, "ada", "ada@example.com", ""));
  EXPECT_EQ(j["id"], "send:1:ada");
  EXPECT_EQ(j["customer"]["email"], "ada@example.com");
}

TEST_F(ChannelsTest, IdentityHashesAreCheckedAgainstTheWorkspacesSecret) {
  EXPECT_EQ(VerifyUserHash(store(), ws().id, "ada", "00", kSecret).error().code(), ErrorCode::kFailedPrecondition);
  const std::string secret = RotateIdentitySecret(store(), ws().id, kSecret, clock_.Now()).value();
  EXPECT_EQ(secret.size(), 64u);
  EXPECT_TRUE(VerifyUserHash(store(), ws().id, "ada", UserHash(secret, "ada"), kSecret).has_value());
  std::string upper = UserHash(secret, "ada");
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(VerifyUserHash(store(), ws().id, "ada", upper, kSecret).has_value()) << "hex is case-insensitive";
  auto wrong = VerifyUserHash(store(), ws().id, "ada", UserHash(secret, "bob"), kSecret);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(wrong.error().context(), "user_hash");
  // A new secret: the old hashes stop working.
  const std::string next = RotateIdentitySecret(store(), ws().id, kSecret, clock_.Now()).value();
  EXPECT_NE(next, secret);
  EXPECT_FALSE(VerifyUserHash(store(), ws().id, "ada", UserHash(secret, "ada"), kSecret).has_value());
  // The stored secret is sealed, not in plain text.
  EXPECT_EQ(store().FindChannelSettings(ws().id).value()->identity_secret_sealed.find(next), std::string::npos);
}

TEST_F(ChannelsTest, WebhookOutcomesByStatus) {
  auto saved = SaveWebhookEndpoint(store(), ws().id, {"team", "https://hooks.example/t", "json", false}, kSecret,
                                   clock_.Now())
                   .value();
  ASSERT_TRUE(saved.secret.starts_with("whsec_"));
  const ChannelSetup setup = MakeChannelSetup(store(), ws().id, kSecret).value();
  OutboxMessage m = Message(Channel::kWebhook, "team");
  m.html = R"({"text":"x"})";
  ScriptedHttp http;
  auto o = DeliverWebhook(store(), m, setup, http, kSecret, 8, clock_.Now(), 0.5).value();
  EXPECT_EQ(o.state, MessageState::kSent);
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_EQ(http.requests[0].body, m.html);
  EXPECT_FALSE(http.policies[0].allow_private) << "the workspace's policy";
  const auto& headers = http.requests[0].headers;
  const auto sig = std::find_if(headers.begin(), headers.end(), [](const auto& h) { return h.first == "Treu-Signature"; });
  ASSERT_NE(sig, headers.end());
  EXPECT_EQ(sig->second, net::SignWebhook(saved.secret, clock_.Now().micros / 1'000'000, m.html));

  http.status = 503;
  o = DeliverWebhook(store(), m, setup, http, kSecret, 8, clock_.Now(), 0.5).value();
  EXPECT_EQ(o.state, MessageState::kQueued);
  EXPECT_GT(o.next_attempt_at.micros, clock_.Now().micros);
  m.attempts = 8;
  EXPECT_EQ(DeliverWebhook(store(), m, setup, http, kSecret, 8, clock_.Now(), 0.5).value().state,
            MessageState::kFailed);
  m.attempts = 1;
  http.status = 404;
  EXPECT_EQ(DeliverWebhook(store(), m, setup, http, kSecret, 8, clock_.Now(), 0.5).value().state,
            MessageState::kFailed);
  http.error = Error(ErrorCode::kPermissionDenied, "url", "resolves to 127.0.0.1, a loopback address");
  o = DeliverWebhook(store(), m, setup, http, kSecret, 8, clock_.Now(), 0.5).value();
  EXPECT_EQ(o.state, MessageState::kFailed) << "a refused address is not retried";
  EXPECT_NE(o.error.find("loopback"), std::string::npos);
  http.error = Error(ErrorCode::kUnavailable, "POST https://hooks.example", "connection refused");
  EXPECT_EQ(DeliverWebhook(store(), m, setup, http, kSecret, 8, clock_.Now(), 0.5).value().state,
            MessageState::kQueued);
  // A deleted endpoint fails the message.
  ASSERT_TRUE(store().DeleteWebhookEndpoint(ws().id, "team").has_value());
  EXPECT_EQ(DeliverWebhook(store(), m, setup, http, kSecret, 8, clock_.Now(), 0.5).value().state,
            MessageState::kFailed);
}

TEST_F(ChannelsTest, PausedCustomersGetNoMarketingOnAnyChannel) {
  OutboxMessage m = Message(Channel::kInApp, "");
  EXPECT_EQ(DeliverInApp(store(), m, clock_.Now()).value().state, MessageState::kSent);
  MessagePreferences p;
  p.workspace = ws().id;
  p.customer = Ada();
  p.paused_until = Timestamp{clock_.Now().micros + 1'000'000};
  p.updated_at = clock_.Now();
  ASSERT_TRUE(store().SaveMessagePreferences(p).has_value());
  EXPECT_EQ(DeliverInApp(store(), m, clock_.Now()).value().state, MessageState::kSuppressed);
  m.category = "transactional";
  EXPECT_EQ(DeliverInApp(store(), m, clock_.Now()).value().state, MessageState::kSent);
}

TEST_F(ChannelsTest, PushWithoutKeysWaitsAndAGoneSubscriptionIsRemoved) {
  PushSubscriptionInput in;
  in.endpoint = "https://push.example.net/wpush/1";
  // A real P-256 point: the VAPID public key of a fresh pair serves as a browser key here.
  const webpush::VapidKeys browser = webpush::GenerateVapidKeys().value();
  in.p256dh = browser.public_key;
  in.auth = "AAAAAAAAAAAAAAAAAAAAAA";
  const PushSubscriptionRecord sub =
      SubscribePush(store(), ws().id, "ada", in, Requester{"203.0.113.1", "Firefox"}, clock_.Now()).value();
  EXPECT_TRUE(store().FindCustomer(ws().id, "ada").value()->consent.at(Channel::kPush).granted);
  OutboxMessage m = Message(Channel::kPush, std::to_string(sub.id));
  m.html = ChannelPayload("t", "b", "", "");
  ScriptedHttp http;
  ChannelSetup setup = MakeChannelSetup(store(), ws().id, kSecret).value();
  EXPECT_EQ(DeliverPush(store(), m, setup, http, 8, clock_.Now(), 0.5).value().state, MessageState::kQueued)
      << "no VAPID keys yet";
  EXPECT_TRUE(http.requests.empty());
  ASSERT_TRUE(SetUpPush(store(), ws().id, "mailto:ops@example.com", false, kSecret, clock_.Now()).has_value());
  setup = MakeChannelSetup(store(), ws().id, kSecret).value();
  http.status = 201;
  EXPECT_EQ(DeliverPush(store(), m, setup, http, 8, clock_.Now(), 0.5).value().state, MessageState::kSent);
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_EQ(http.requests[0].url, in.endpoint);
  http.status = 410;
  EXPECT_EQ(DeliverPush(store(), m, setup, http, 8, clock_.Now(), 0.5).value().state, MessageState::kBounced);
  EXPECT_FALSE(store().FindPushSubscription(ws().id, sub.id).value().has_value());
  EXPECT_EQ(DeliverPush(store(), m, setup, http, 8, clock_.Now(), 0.5).value().state, MessageState::kSuppressed)
      << "the subscription is gone";
}

}  // namespace
}  // namespace treu::messaging
