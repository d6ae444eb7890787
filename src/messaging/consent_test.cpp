#include "messaging/consent.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "storage/sqlite/temp_store_testing.hpp"

namespace treu::messaging {
namespace {

const std::vector<std::uint8_t> kSecret(32, 9);

class ConsentTest : public ::testing::Test {
 protected:
  ConsentTest() : clock_(Timestamp{1'767'225'600'000'000}), db_("treu-consent", clock_) {
    Customer ada;
    ada.external_id = "ada";
    ada.email = "ada@example.com";
    ada.locale = "de-DE";
    Customer bob;
    bob.external_id = "bob";
    auto tx = store().BeginWrite(ws().id).value();
    std::vector<Customer> both{ada, bob};
    tx->UpsertCustomers(both, clock_.Now()).value();
    tx->Commit().value();
  }
  Store& store() { return *db_.store; }
  const Workspace& ws() { return db_.workspace; }
  Customer Find(std::string_view id) { return store().FindCustomer(ws().id, id).value().value(); }
  bool EmailConsent(std::string_view id) {
    Customer c = Find(id);
    auto it = c.consent.find(Channel::kEmail);
    return it != c.consent.end() && it->second.granted;
  }
  std::vector<ConsentRecord> Records(std::string_view id) {
    return store().ListConsentRecords(ws().id, Find(id).id, 0, 100).value();
  }
  LinkTarget Target(LinkKind kind, std::int64_t ref = 0) {
    LinkClaims c{kind, ws().id, Find("ada").id, ref, Timestamp{}};
    return OpenLink(store(), SignLink(c, "", kSecret), kind, "", kSecret, clock_.Now()).value();
  }

  ManualClock clock_;
  testing::TempSqliteStore db_;
};

TEST_F(ConsentTest, DoubleOptInSendsAConfirmationAndKeepsTheProof) {
  const Requester who{"203.0.113.9", "Firefox"};
  auto key = RequestEmailConsent(store(), ws(), "ada", who, kSecret, clock_.Now());
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  EXPECT_FALSE(EmailConsent("ada")) << "requesting grants nothing";
  auto m = store().FindMessageByKey(ws().id, *key).value();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->category, "confirmation");
  EXPECT_EQ(m->recipient, "ada@example.com");
  EXPECT_EQ(m->subject, "Bitte bestätigen Sie Ihre Anmeldung");  // the customer's language
  const auto at = m->html.find("/m/confirm/");
  ASSERT_NE(at, std::string::npos);
  const std::string token = m->html.substr(at + 11, 69);

  clock_.Advance(60'000'000);
  auto target = OpenLink(store(), token, LinkKind::kConfirm, "", kSecret, clock_.Now());
  ASSERT_TRUE(target.has_value()) << target.error().ToString();
  ASSERT_TRUE(ConfirmEmailConsent(store(), *target, {"198.51.100.4", "Safari"}, clock_.Now()).has_value());
  EXPECT_TRUE(EmailConsent("ada"));
  EXPECT_EQ(Find("ada").consent.at(Channel::kEmail).source, "double_opt_in");

  auto records = Records("ada");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].action, "requested");
  EXPECT_EQ(records[0].ip, "203.0.113.9");
  EXPECT_EQ(records[1].action, "confirmed");
  EXPECT_EQ(records[1].ip, "198.51.100.4");
  EXPECT_EQ(records[1].user_agent, "Safari");
  EXPECT_EQ(records[1].text_version, "1");
  EXPECT_EQ(records[1].at, clock_.Now());

  // A second confirmation changes nothing; a second request is refused.
  ASSERT_TRUE(ConfirmEmailConsent(store(), *target, {}, clock_.Now()).has_value());
  EXPECT_EQ(Records("ada").size(), 2u);
  auto again = RequestEmailConsent(store(), ws(), "ada", who, kSecret, clock_.Now());
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kFailedPrecondition);
}

TEST_F(ConsentTest, ConfirmationLinksExpire) {
  auto key = RequestEmailConsent(store(), ws(), "ada", {}, kSecret, clock_.Now()).value();
  const std::string html = store().FindMessageByKey(ws().id, key).value()->html;
  const std::string token = html.substr(html.find("/m/confirm/") + 11, 69);
  clock_.Advance(kConfirmLinkMicros);
  auto late = OpenLink(store(), token, LinkKind::kConfirm, "", kSecret, clock_.Now());
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code(), ErrorCode::kFailedPrecondition);
}

TEST_F(ConsentTest, RequestNeedsAnAddressAndACustomer) {
  EXPECT_EQ(RequestEmailConsent(store(), ws(), "bob", {}, kSecret, clock_.Now()).error().code(),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(RequestEmailConsent(store(), ws(), "nobody", {}, kSecret, clock_.Now()).error().code(),
            ErrorCode::kNotFound);
}

TEST_F(ConsentTest, UnsubscribeWithoutTopicWithdrawsEmailConsent) {
  ASSERT_TRUE(SetConsent(store(), ws().id, "ada", Channel::kEmail, true, "api", "", {}, "1", clock_.Now()).has_value());
  EXPECT_TRUE(EmailConsent("ada"));
  auto topic = Unsubscribe(store(), Target(LinkKind::kUnsubscribe), "one_click", {"192.0.2.1", "mail client"},
                           clock_.Now());
  ASSERT_TRUE(topic.has_value()) << topic.error().ToString();
  EXPECT_EQ(*topic, "");
  EXPECT_FALSE(EmailConsent("ada"));
  EXPECT_EQ(Records("ada").back().action, "unsubscribed");
  EXPECT_EQ(Records("ada").back().source, "one_click");
}

TEST_F(ConsentTest, UnsubscribeFromATopicKeepsConsent) {
  ASSERT_TRUE(SetConsent(store(), ws().id, "ada", Channel::kEmail, true, "api", "", {}, "1", clock_.Now()).has_value());
  MessageTemplateRecord t;
  t.workspace = ws().id;
  t.name = "weekly";
  t.topic = "newsletter";
  t.subject = "News";
  t.html = "<p>x</p>";
  t.created_at = t.updated_at = clock_.Now();
  const auto saved = store().SaveMessageTemplate(t).value();
  auto topic = Unsubscribe(store(), Target(LinkKind::kUnsubscribe, saved.id), "page", {}, clock_.Now());
  ASSERT_TRUE(topic.has_value());
  EXPECT_EQ(*topic, "newsletter");
  EXPECT_TRUE(EmailConsent("ada"));
  auto prefs = store().FindMessagePreferences(ws().id, Find("ada").id).value();
  ASSERT_TRUE(prefs.has_value());
  EXPECT_EQ(prefs->topics_off, std::vector<std::string>{"newsletter"});

  auto view = LoadPreferences(store(), Target(LinkKind::kPreferences)).value();
  EXPECT_EQ(view.topics, std::vector<std::string>{"newsletter"});
  EXPECT_EQ(view.topics_off, std::vector<std::string>{"newsletter"});
  EXPECT_TRUE(view.email);
}

TEST_F(ConsentTest, PreferencePageChangesAreStoredAndChecked) {
  PreferenceView v;
  v.email = true;
  v.tracking = false;
  v.paused_until = Timestamp{clock_.Now().micros + 1'000'000};
  ASSERT_TRUE(SavePreferences(store(), Target(LinkKind::kPreferences), v, {"192.0.2.7", "UA"}, clock_.Now()).has_value());
  EXPECT_TRUE(EmailConsent("ada"));
  EXPECT_EQ(Records("ada").back().source, "preference_page");
  auto back = LoadPreferences(store(), Target(LinkKind::kPreferences)).value();
  EXPECT_FALSE(back.tracking);
  EXPECT_EQ(back.paused_until, v.paused_until);

  v.topics_off = {"no-such-topic"};
  auto bad = SavePreferences(store(), Target(LinkKind::kPreferences), v, {}, clock_.Now());
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().context(), "topics");
}

TEST_F(ConsentTest, OpensAndClicksBecomeEvents) {
  OutboxMessage m;
  m.workspace = ws().id;
  m.idempotency_key = "k1";
  m.customer = Find("ada").id;
  m.recipient = "ada@example.com";
  m.subject = "s";
  m.html = "<p>h</p>";
  m.campaign = "spring";
  m.next_attempt_at = m.created_at = clock_.Now();
  std::vector<OutboxMessage> one{m};
  ASSERT_EQ(store().EnqueueMessages(ws().id, one, clock_.Now()).value(), 1);
  const std::int64_t id = store().FindMessageByKey(ws().id, "k1").value()->id;

  ASSERT_TRUE(RecordEngagement(store(), Target(LinkKind::kOpen, id), "", clock_.Now()).has_value());
  ASSERT_TRUE(RecordEngagement(store(), Target(LinkKind::kOpen, id), "", clock_.Now()).has_value());
  ASSERT_TRUE(RecordEngagement(store(), Target(LinkKind::kClick, id), "https://shop.example/", clock_.Now()).has_value());
  auto events = store().ListEvents(ws().id, "ada", 0, 100).value();
  ASSERT_EQ(events.size(), 2u) << "a second open adds no event";
  EXPECT_EQ(events[0].name, "Email Opened");
  EXPECT_EQ(events[1].name, "Email Link Clicked");
  const auto props = nlohmann::json::parse(events[1].properties_json);
  EXPECT_EQ(props["link_url"], "https://shop.example/");
  EXPECT_EQ(props["campaign_name"], "spring");
  auto log = store().ListMessageLog(ws().id, id, CustomerId{}, 100).value();
  ASSERT_EQ(log.size(), 4u);  // queued, opened, opened, clicked
  EXPECT_EQ(log[3].kind, "clicked");

  // A message of another customer is not theirs to open.
  LinkClaims foreign{LinkKind::kOpen, ws().id, Find("bob").id, id, Timestamp{}};
  auto target = OpenLink(store(), SignLink(foreign, "", kSecret), LinkKind::kOpen, "", kSecret, clock_.Now()).value();
  EXPECT_EQ(RecordEngagement(store(), target, "", clock_.Now()).error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace treu::messaging
