// The outbox's email delivery against a real SMTP server (test/messaging/smtp_sink.py): what is
// sent, suppressed, bounced, deferred and given up, what the received messages carry (parsed by
// Python's email package, DKIM checked by dkimpy), and the workers draining an outbox.
#include "messaging/delivery.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "messaging/consent.hpp"
#include "messaging/dkim.hpp"
#include "messaging/sealed.hpp"
#include "messaging/settings.hpp"
#include "messaging/smtp_sink_testing.hpp"
#include "storage/sqlite/temp_store_testing.hpp"

namespace treu::messaging {
namespace {

using nlohmann::json;
using smtp_testing::Sink;
using smtp_testing::TempDir;

const std::vector<std::uint8_t> kSecret(32, 5);


class DeliveryTest : public ::testing::Test {
 protected:
  DeliveryTest() : clock_(Timestamp{1'767'225'600'000'000}), db_("treu-delivery", clock_) {
    const std::string pem = GenerateDkimKey(DkimKeyType::kRsa2048).value();
    record_ = DkimSigner::Create("shop.example", "treu", pem).value().DnsRecord();
    smtp_testing::WriteFile(keys_.path() / "record.txt", record_);
    sink_ = std::make_unique<Sink>(std::vector<std::string>{
        "--dkim-public-key", (keys_.path() / "record.txt").string(), "--reject", "carl@*=550", "--defer",
        "dora@*=451"});
    SettingsChange change;
    change.from_name = "Kaffee & Co";
    change.from_address = "news@shop.example";
    change.transport = "smtp";
    change.smtp_url = sink_->Url();
    change.smtp_tls = "none";
    change.dkim_domain = "shop.example";
    change.dkim_selector = "treu";
    change.dkim_private_key = pem;
    change.public_url = "https://treu.shop.example/";
    change.max_attempts = 2;
    settings_ = ApplySettingsChange(DefaultMessagingSettings(ws().id), change, kSecret, clock_.Now()).value();
    store().SaveMessagingSettings(settings_).value();

    std::vector<Customer> customers;
    for (const char* name : {"ada", "bob", "carl", "dora"}) {
      Customer c;
      c.external_id = name;
      c.email = std::string(name) + "@example.com";
      if (std::string_view(name) != "bob") c.consent[Channel::kEmail] = Consent{true, "import", clock_.Now()};
      customers.push_back(c);
    }
    auto tx = store().BeginWrite(ws().id).value();
    tx->UpsertCustomers(customers, clock_.Now()).value();
    tx->Commit().value();
  }

  Store& store() { return *db_.store; }
  const Workspace& ws() { return db_.workspace; }
  CustomerId Id(std::string_view name) { return store().FindCustomer(ws().id, name).value()->id; }

  std::int64_t Enqueue(std::string key, std::string_view customer, std::string category = "marketing",
                       std::string topic = "") {
    OutboxMessage m;
    m.workspace = ws().id;
    m.idempotency_key = key;
    m.customer = Id(customer);
    m.category = std::move(category);
    m.topic = std::move(topic);
    m.recipient = std::string(customer) + "@example.com";
    m.subject = "Frühlingsangebot für " + std::string(customer);
    m.html = "<html><body><p>Hallo!</p><p><a href=\"https://shop.example/sale?x=1&amp;y=2\">Zum Angebot</a></p>"
             "</body></html>";
    m.next_attempt_at = m.created_at = clock_.Now();
    std::vector<OutboxMessage> one{m};
    EXPECT_EQ(store().EnqueueMessages(ws().id, one, clock_.Now()).value(), 1);
    return store().FindMessageByKey(ws().id, key).value()->id;
  }

  // Claims what is due and delivers it as a worker does; returns how many were finished.
  int DeliverDue() {
    auto setup = MakeEmailSetup(settings_, kSecret, mail_.path(), clock_).value();
    auto claimed = store().ClaimMessages(Channel::kEmail, clock_.Now(), 60'000'000, "w1", 100).value();
    int n = 0;
    for (const OutboxMessage& m : claimed) {
      MessageCustomer customer(store(), m);
      auto outcome = DeliverEmail(store(), m, customer, setup, kSecret, clock_.Now(), 0.5);
      EXPECT_TRUE(outcome.has_value()) << outcome.error().ToString();
      if (outcome && store().FinishMessage(*outcome).value()) ++n;
    }
    return n;
  }

  OutboxMessage Message(std::int64_t id) { return store().FindMessage(ws().id, id).value().value(); }

  ManualClock clock_;
  testing::TempSqliteStore db_;
  TempDir keys_, mail_;
  std::string record_;
  std::unique_ptr<Sink> sink_;
  MessagingSettingsRecord settings_;
};

TEST_F(DeliveryTest, SendsWhatMayBeSentAndRecordsEveryOutcome) {
  const std::int64_t ada = Enqueue("a1", "ada");
  const std::int64_t bob = Enqueue("b1", "bob");                          // no consent
  const std::int64_t bob_receipt = Enqueue("b2", "bob", "transactional");  // needs none
  const std::int64_t carl = Enqueue("c1", "carl");                        // 550
  const std::int64_t dora = Enqueue("d1", "dora");                        // 451
  EXPECT_EQ(DeliverDue(), 5);

  EXPECT_EQ(Message(ada).state, MessageState::kSent);
  EXPECT_EQ(Message(bob).state, MessageState::kSuppressed);
  EXPECT_EQ(Message(bob).last_error, "no consent for email");
  EXPECT_EQ(Message(bob_receipt).state, MessageState::kSent);
  EXPECT_EQ(Message(carl).state, MessageState::kBounced);
  EXPECT_NE(Message(carl).last_error.find("550"), std::string::npos);
  auto suppressed = store().FindSuppression(ws().id, "carl@example.com").value();
  ASSERT_TRUE(suppressed.has_value());
  EXPECT_EQ(suppressed->reason, "bounce");
  const OutboxMessage deferred = Message(dora);
  EXPECT_EQ(deferred.state, MessageState::kQueued);
  EXPECT_EQ(deferred.attempts, 1);
  // The first retry is due 30 to 60 s later (0.5: 45 s).
  EXPECT_EQ(deferred.next_attempt_at.micros, clock_.Now().micros + 45'000'000);

  // Nothing is due before the retry; then the last attempt gives up (max_attempts 2).
  EXPECT_EQ(DeliverDue(), 0);
  clock_.Advance(45'000'000);
  EXPECT_EQ(DeliverDue(), 1);
  EXPECT_EQ(Message(dora).state, MessageState::kFailed);
  EXPECT_EQ(Message(dora).attempts, 2);
  auto log = store().ListMessageLog(ws().id, dora, CustomerId{}, 100).value();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].kind, "queued");
  EXPECT_EQ(log[1].kind, "deferred");
  EXPECT_EQ(log[2].kind, "failed");

  // A bounced address is not tried again.
  const std::int64_t carl2 = Enqueue("c2", "carl", "transactional");
  EXPECT_EQ(DeliverDue(), 1);
  EXPECT_EQ(Message(carl2).state, MessageState::kSuppressed);

  // The server received exactly two messages: ada's and bob's receipt.
  sink_->Stop();
  EXPECT_EQ(sink_->Stats()["messages"], 2);
}

TEST_F(DeliveryTest, ReceivedMessagesCarryUnsubscribeTrackingAndDkim) {
  const std::int64_t ada = Enqueue("a1", "ada");
  const std::int64_t receipt = Enqueue("b2", "bob", "transactional");
  ASSERT_EQ(DeliverDue(), 2);
  sink_->Stop();
  const json first = sink_->Message(1);
  const json second = sink_->Message(2);
  const json& marketing = first["envelope"]["rcpt_tos"][0] == "ada@example.com" ? first : second;
  const json& transactional = &marketing == &first ? second : first;

  EXPECT_EQ(marketing["envelope"]["mail_from"], "news@shop.example");
  EXPECT_EQ(marketing["headers"]["Subject"], "Frühlingsangebot für ada");
  EXPECT_TRUE(marketing["defects"].empty()) << marketing["defects"].dump();
  EXPECT_TRUE(marketing["dkim"]["verified"]) << marketing["dkim"].dump();
  // RFC 8058: an https List-Unsubscribe and the one-click marker.
  const std::string unsubscribe = marketing["headers"]["List-Unsubscribe"];
  EXPECT_TRUE(unsubscribe.starts_with("<https://treu.shop.example/m/u/")) << unsubscribe;
  EXPECT_EQ(marketing["headers"]["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
  const std::string token = unsubscribe.substr(31, unsubscribe.size() - 32);
  auto claims = VerifyLink(token, LinkKind::kUnsubscribe, "", kSecret, clock_.Now());
  ASSERT_TRUE(claims.has_value()) << token;
  EXPECT_EQ(claims->customer, Id("ada"));
  // One Message-ID for all attempts, recorded on the message.
  EXPECT_EQ("<" + Message(ada).provider_id + ">", marketing["headers"]["Message-ID"]);

  ASSERT_EQ(marketing["parts"].size(), 2u);
  const std::string text = marketing["parts"][0]["text"];
  const std::string html = marketing["parts"][1]["text"];
  EXPECT_EQ(marketing["parts"][0]["content_type"], "text/plain");
  EXPECT_NE(text.find("Zum Angebot (https://shop.example/sale?x=1&y=2)"), std::string::npos) << text;
  EXPECT_EQ(html.find("href=\"https://shop.example/sale"), std::string::npos) << "links go through the redirect";
  const auto click = html.find("https://treu.shop.example/m/c/");
  ASSERT_NE(click, std::string::npos) << html;
  EXPECT_NE(html.find("?u=https%3A%2F%2Fshop.example%2Fsale%3Fx%3D1%26y%3D2"), std::string::npos) << html;
  EXPECT_NE(html.find("<img src=\"https://treu.shop.example/m/o/"), std::string::npos) << html;

  // Transactional mail has no unsubscribe header but is tracked and signed as well.
  EXPECT_FALSE(transactional["headers"].contains("List-Unsubscribe"));
  EXPECT_TRUE(transactional["dkim"]["verified"]);
  (void)receipt;
}

TEST_F(DeliveryTest, PreferencesAreCheckedAtSendTime) {
  MessageTemplateRecord t;
  t.workspace = ws().id;
  t.name = "weekly";
  t.topic = "newsletter";
  t.subject = "x";
  t.html = "<p>x</p>";
  t.created_at = t.updated_at = clock_.Now();
  store().SaveMessageTemplate(t).value();
  const std::int64_t news = Enqueue("n1", "ada", "marketing", "newsletter");
  const std::int64_t offer = Enqueue("o1", "ada", "marketing", "offers");
  // Ada turns the newsletter and tracking off after the messages were queued.
  store().SaveMessagePreferences({ws().id, Id("ada"), {"newsletter"}, std::nullopt, true, clock_.Now()}).value();
  ASSERT_EQ(DeliverDue(), 2);
  EXPECT_EQ(Message(news).state, MessageState::kSuppressed);
  EXPECT_EQ(Message(news).last_error, "the customer turned topic 'newsletter' off");
  EXPECT_EQ(Message(offer).state, MessageState::kSent);
  sink_->Stop();
  const std::string html = sink_->Message(1)["parts"][1]["text"];
  EXPECT_NE(html.find("href=\"https://shop.example/sale?x=1&amp;y=2\""), std::string::npos) << "no tracking: " << html;
  EXPECT_EQ(html.find("/m/o/"), std::string::npos);

  // A pause holds back all marketing email.
  store().SaveMessagePreferences({ws().id, Id("ada"), {}, Timestamp{clock_.Now().micros + 1}, false, clock_.Now()}).value();
  const std::int64_t paused = Enqueue("p1", "ada");
  // (the sink is stopped: a message that got through would be deferred, not suppressed)
  ASSERT_EQ(DeliverDue(), 1);
  EXPECT_EQ(Message(paused).state, MessageState::kSuppressed);
}

TEST_F(DeliveryTest, WorkersDrainTheOutbox) {
  for (int i = 0; i < 60; ++i) Enqueue("w" + std::to_string(i), i % 2 == 0 ? "ada" : "bob", "transactional");
  SystemClock real;
  OutboxWorker::Options o;
  o.threads = 3;
  o.batch = 7;
  o.poll_ms = 20;
  o.mail_dir = mail_.path();
  // The workers open their own connections to the same database file.
  auto open = [&]() -> Result<std::unique_ptr<Store>> { return db_.Reopen(real); };
  auto worker = OutboxWorker::Start(open, real, kSecret, o);
  ASSERT_TRUE(worker.has_value()) << worker.error().ToString();
  for (int i = 0; i < 500 && (*worker)->finished() < 60; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  worker->reset();
  const MessageCounts c = store().CountMessages(ws().id, "").value();
  EXPECT_EQ(c.sent, 60);
  EXPECT_EQ(c.queued, 0);
  sink_->Stop();
  EXPECT_EQ(sink_->Stats()["messages"], 60);
  EXPECT_LE(sink_->Stats()["connections"].get<int>(), 3 + 1) << "connections are reused";
}

TEST_F(DeliveryTest, TheCustomerOfAMessageIsReadOnceForAllItsChecks) {
  const OutboxMessage m = Message(Enqueue("r1", "ada"));
  MessageCustomer customer(store(), m);
  const Customer* first = customer.Get().value();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->email, "ada@example.com");
  // A change after the first read is not seen: the checks of one message agree on one read.
  Customer moved = *first;
  moved.email = "ada@elsewhere.example";
  auto tx = store().BeginWrite(ws().id).value();
  tx->UpsertCustomers(std::vector<Customer>{moved}, clock_.Now()).value();
  tx->Commit().value();
  EXPECT_EQ(customer.Get().value(), first);
  EXPECT_EQ(customer.Get().value()->email, "ada@example.com");
  MessageCustomer again(store(), m);
  EXPECT_EQ(again.Get().value()->email, "ada@elsewhere.example");
  // A customer who is gone reads as nullptr.
  OutboxMessage orphan = m;
  orphan.customer = CustomerId{m.customer.value + 1000};
  MessageCustomer gone(store(), orphan);
  EXPECT_EQ(gone.Get().value(), nullptr);
}

TEST_F(DeliveryTest, WorkersQueueAHeldMessageAgainAndDeliverTheRest) {
  const std::int64_t offer = Enqueue("h1", "ada");
  const std::int64_t receipt = Enqueue("h2", "bob", "transactional");
  SystemClock real;
  const Timestamp until{real.Now().micros + 3600 * kMicrosPerSecond};
  OutboxWorker::Options o;
  o.threads = 1;
  o.poll_ms = 20;
  o.mail_dir = mail_.path();
  int asked = 0;
  int batches = 0;
  o.hold = [&](Store&) -> HoldCheck {
    ++batches;
    return [&](const OutboxMessage& m, MessageCustomer&, Timestamp) -> Result<std::optional<Hold>> {
      ++asked;
      if (m.category == "marketing") return Hold{until, "inside the quiet hours 21:00–08:00 in Europe/Berlin"};
      return std::nullopt;
    };
  };
  auto worker = OutboxWorker::Start([&]() -> Result<std::unique_ptr<Store>> { return db_.Reopen(real); }, real, kSecret, o);
  ASSERT_TRUE(worker.has_value()) << worker.error().ToString();
  for (int i = 0; i < 500 && (*worker)->finished() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  worker->reset();
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(batches, 1) << "both messages were claimed in one batch, whose check was made once";
  // The held message is queued again for the end of the hold, logged, and not sent.
  const OutboxMessage held = Message(offer);
  EXPECT_EQ(held.state, MessageState::kQueued);
  EXPECT_EQ(held.next_attempt_at, until);
  EXPECT_EQ(held.last_error, "");
  const auto log = store().ListMessageLog(ws().id, offer, CustomerId{}, 100).value();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back().kind, "deferred");
  EXPECT_EQ(log.back().detail, "inside the quiet hours 21:00–08:00 in Europe/Berlin");
  EXPECT_EQ(Message(receipt).state, MessageState::kSent);
  sink_->Stop();
  EXPECT_EQ(sink_->Stats()["messages"], 1);
}

}  // namespace
}  // namespace treu::messaging
