// Campaign scenarios on a real SQLite store with a simulated clock: launching with a holdout,
// send times at a local hour across a daylight-saving change, quiet hours, frequency caps, the
// A/B test and its winner through the scheduler, and the report's lift against the holdout.
#include "campaigns/service.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "campaigns/assignment.hpp"
#include "messaging/composer.hpp"
#include "surveys/invitations.hpp"
#include "surveys/survey_testing.hpp"
#include "surveys/tokens.hpp"
#include "storage/sqlite/temp_store_testing.hpp"

namespace treu::campaigns {
namespace {

const std::vector<std::uint8_t> kSecret(32, 9);
constexpr int kCustomers = 3000;
const char* const kZones[] = {"Europe/Berlin", "America/New_York", "Asia/Tokyo"};

Timestamp At(std::string_view text) { return ParseTimestamp(text, TimeZone::Utc()).value(); }

class CampaignServiceTest : public ::testing::Test {
 protected:
  // Friday 2026-03-27, 12:00 UTC: Europe springs forward on Sunday the 29th.
  CampaignServiceTest() : clock_(At("2026-03-27T12:00:00Z")), db_("treu-campaigns", clock_) {
    std::vector<Customer> customers;
    for (int i = 0; i < kCustomers; ++i) {
      Customer c;
      c.external_id = Id(i);
      c.email = Id(i) + "@example.com";
      c.time_zone = kZones[i % 3];
      if (i % 100 != 99) c.consent[Channel::kEmail] = Consent{true, "import", clock_.Now()};
      customers.push_back(std::move(c));
    }
    auto tx = store().BeginWrite(ws().id).value();
    tx->UpsertCustomers(customers, clock_.Now()).value();
    tx->Commit().value();
    for (std::string name : {"offer-a", "offer-b"}) {
      MessageTemplateRecord t;
      t.workspace = ws().id;
      t.name = name;
      t.subject = name + " for {{ customer.id }}";
      t.html = "<p>" + name + "</p>";
      messaging::SaveTemplate(store(), t, clock_.Now()).value();
    }
    MessageTemplateRecord push;
    push.workspace = ws().id;
    push.name = "offer-push";
    push.channel = Channel::kPush;
    push.subject = "Offer";
    push.text = "For you";
    messaging::SaveTemplate(store(), push, clock_.Now()).value();
  }

  static std::string Id(int i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "c%04d", i);
    return buf;
  }
  Store& store() { return *db_.store; }
  const Workspace& ws() { return db_.workspace; }
  std::shared_ptr<const Snapshot> Snap() { return BuildSnapshot(store(), ws().id).value(); }

  CampaignRecord Draft(std::string name, std::vector<CampaignVariant> variants = {{"offer-a", 1}}) {
    CampaignRecord c;
    c.name = std::move(name);
    c.where = "orders_count >= 0";
    c.variants = std::move(variants);
    return c;
  }

  // Saves and launches `c` now (as the scheduler would), returning the stored campaign; then
  // renders all its planned messages into the outbox, whenever they are due.
  std::pair<CampaignRecord, LaunchReport> Launch(CampaignRecord c, const survey::SurveyReader& read = {}) {
    CampaignRecord saved = SaveCampaign(store(), ws(), std::move(c), clock_.Now()).value();
    saved.launched_at = clock_.Now();
    saved = store().SaveCampaign(saved).value();
    auto report = LaunchCampaign(store(), ws(), Snap(), nullptr, saved, kSecret, read, clock_.Now());
    EXPECT_TRUE(report.has_value()) << report.error().ToString();
    auto rendered = RenderAll(saved, read);
    EXPECT_TRUE(rendered.has_value()) << rendered.error().ToString();
    return {saved, report.value_or(LaunchReport{})};
  }

  Result<MaterializeReport> RenderAll(const CampaignRecord& c, const survey::SurveyReader& read = {}) {
    return MaterializeCampaign(store(), ws(), Snap(), nullptr, c, kSecret, read, clock_.Now(),
                               Timestamp{std::numeric_limits<std::int64_t>::max()});
  }

  std::vector<CampaignMember> Members(const CampaignRecord& c) {
    return store().ListCampaignMembers(ws().id, c.id, CustomerId{}, 100'000).value();
  }

  // The campaign's messages by customer id.
  std::map<std::int64_t, OutboxMessage> Messages(const std::string& campaign) {
    std::map<std::int64_t, OutboxMessage> out;
    MessageFilter f;
    f.campaign = campaign;
    for (std::int64_t before = 0;;) {
      auto page = store().ListMessages(ws().id, f, before, 1000).value();
      for (auto& m : page) out.emplace(m.customer.value, m);
      if (page.size() < 1000) break;
      before = page.back().id;
    }
    return out;
  }

  ManualClock clock_;
  testing::TempSqliteStore db_;
};

TEST_F(CampaignServiceTest, SavingChecksEveryFieldAndKeepsTheSplitKey) {
  auto error_of = [&](CampaignRecord c) {
    auto r = SaveCampaign(store(), ws(), std::move(c), clock_.Now());
    EXPECT_FALSE(r.has_value());
    return r ? Error(ErrorCode::kInternal, "", "") : r.error();
  };
  EXPECT_EQ(error_of(Draft("bad name!")).context(), "name");
  EXPECT_EQ(error_of(Draft("x", {})).context(), "variants");
  EXPECT_EQ(error_of(Draft("x", {{"offer-a", 1}, {"nope", 1}})).context(), "variants.1.template");
  EXPECT_EQ(error_of(Draft("x", {{"offer-a", 1}, {"offer-push", 1}})).context(), "variants.1.template");
  EXPECT_EQ(error_of(Draft("x", {{"offer-a", 1}, {"offer-a", 1}})).context(), "variants.1.template");
  EXPECT_EQ(error_of(Draft("x", {{"offer-a", 0}})).context(), "variants.0.weight");
  CampaignRecord c = Draft("x");
  c.where = "";
  EXPECT_EQ(error_of(c).context(), "audience");
  c = Draft("x");
  c.segment = "no_such_segment";
  EXPECT_EQ(error_of(c).code(), ErrorCode::kNotFound);
  c = Draft("x");
  c.where = "orders_count >=";
  EXPECT_EQ(error_of(c).code(), ErrorCode::kInvalidArgument);
  c = Draft("x");
  c.holdout_permille = 501;
  EXPECT_EQ(error_of(c).context(), "holdout_percent");
  c = Draft("x");
  c.test_permille = 200;
  EXPECT_EQ(error_of(c).context(), "test_percent");  // one variant
  c = Draft("x", {{"offer-a", 1}, {"offer-b", 1}});
  c.test_permille = 200;
  c.winner_metric = "revenue";
  EXPECT_EQ(error_of(c).context(), "winner_metric");
  c.winner_metric = "clicked";
  c.test_window_micros = 60 * kMicrosPerSecond;
  EXPECT_EQ(error_of(c).context(), "test_window_hours");
  c = Draft("x");
  c.local_time = "9:00";
  EXPECT_EQ(error_of(c).context(), "local_time");
  c = Draft("x");
  c.state = CampaignState::kScheduled;
  EXPECT_EQ(error_of(c).context(), "send_at");
  EXPECT_TRUE(store().ListCampaigns(ws().id).value().empty());

  // Saved: a split key of its own, kept when the draft is changed.
  c = Draft("spring");
  const CampaignRecord saved = SaveCampaign(store(), ws(), c, clock_.Now()).value();
  EXPECT_EQ(saved.split_key.size(), 32u);
  EXPECT_TRUE(ParseSplitKey(saved.split_key).has_value());
  c.holdout_permille = 200;
  c.split_key = "00000000000000000000000000000000";
  const CampaignRecord changed = SaveCampaign(store(), ws(), c, clock_.Now()).value();
  EXPECT_EQ(changed.id, saved.id);
  EXPECT_EQ(changed.split_key, saved.split_key);
  EXPECT_EQ(changed.holdout_permille, 200);
  // A local-time campaign is launched when its date begins at UTC+14.
  c.local_time = "09:00";
  c.send_at = At("2026-03-30T07:00:00Z");
  EXPECT_EQ(SaveCampaign(store(), ws(), c, clock_.Now()).value().send_at, At("2026-03-29T19:00:00Z"));
  // Once it ran, it can't be changed.
  CampaignRecord done = changed;
  done.state = CampaignState::kDone;
  store().SaveCampaign(done).value();
  EXPECT_EQ(SaveCampaign(store(), ws(), c, clock_.Now()).error().code(), ErrorCode::kFailedPrecondition);
}

TEST_F(CampaignServiceTest, LaunchRecordsTheHoldoutAndSendsAtNineInEveryZone) {
  // Monday 2026-03-30 at 09:00 local: Berlin is on summer time by then.
  clock_.Set(EarliestLocal({2026, 3, 30}, {9, 0}));
  CampaignRecord c = Draft("monday");
  c.holdout_permille = 100;
  c.local_time = "09:00";
  c.send_at = clock_.Now();
  auto [saved, report] = Launch(c);
  EXPECT_EQ(report.audience, kCustomers);
  EXPECT_NEAR(report.holdout, 300, 4 * 16.4);  // binomial(3000, 0.1): σ = 16.4
  EXPECT_EQ(report.waiting, 0);
  EXPECT_EQ(report.no_consent + report.queued + report.holdout, kCustomers);
  EXPECT_EQ(report.per_variant, std::vector<std::int64_t>{report.queued});
  EXPECT_GT(report.no_consent, 20);  // every 100th customer has no consent, unless held out

  const auto members = Members(saved);
  ASSERT_EQ(members.size(), static_cast<std::size_t>(kCustomers));
  const auto messages = Messages("monday");
  EXPECT_EQ(static_cast<std::int64_t>(messages.size()), report.queued);
  const std::map<std::string, Timestamp> nine{{"Europe/Berlin", At("2026-03-30T07:00:00Z")},
                                             {"America/New_York", At("2026-03-30T13:00:00Z")},
                                             {"Asia/Tokyo", At("2026-03-30T00:00:00Z")}};
  const Assigner assigner(CampaignSplit(saved).value());
  int held = 0;
  for (const CampaignMember& m : members) {
    const auto customer = store().CustomerExternalId(ws().id, m.customer).value().value();
    const int i = std::stoi(customer.substr(1));
    const Arm arm = assigner.Assign(m.customer);
    if (m.arm == kArmHoldout) {
      ++held;
      EXPECT_EQ(arm.kind, ArmKind::kHoldout);
      EXPECT_EQ(m.outcome, "held_out");
      EXPECT_FALSE(messages.contains(m.customer.value)) << customer;
      EXPECT_EQ(m.due, nine.at(kZones[i % 3])) << customer;  // when they would have got it
      continue;
    }
    EXPECT_EQ(arm.kind, ArmKind::kVariant);
    if (i % 100 == 99) {
      EXPECT_EQ(m.outcome, "no_consent");
      continue;
    }
    EXPECT_EQ(m.outcome, "queued");
    ASSERT_TRUE(messages.contains(m.customer.value)) << customer;
    EXPECT_EQ(messages.at(m.customer.value).next_attempt_at, nine.at(kZones[i % 3])) << customer;
    EXPECT_EQ(m.due, nine.at(kZones[i % 3]));
  }
  EXPECT_EQ(held, report.holdout);

  // Launched again (a crash in between): the same arms and plans, and nothing rendered twice.
  auto again = LaunchCampaign(store(), ws(), Snap(), nullptr, saved, kSecret, {}, clock_.Now()).value();
  EXPECT_EQ(again.queued, report.queued);
  EXPECT_EQ(again.holdout, report.holdout);
  const MaterializeReport rendered = RenderAll(saved).value();
  EXPECT_EQ(rendered.members, report.queued);
  EXPECT_EQ(rendered.messages, 0);
  EXPECT_EQ(rendered.duplicates, report.queued);
  EXPECT_EQ(Members(saved), members);
  EXPECT_EQ(Messages("monday").size(), messages.size());
  // The preview predicts what a launch does.
  CampaignRecord twin = c;
  twin.name = "monday-preview";
  const CampaignRecord twin_saved = SaveCampaign(store(), ws(), twin, clock_.Now()).value();
  CampaignRecord same_key = twin_saved;
  same_key.split_key = saved.split_key;
  auto preview = PreviewCampaign(store(), ws(), Snap(), nullptr, same_key, kSecret, {}, clock_.Now()).value();
  EXPECT_EQ(preview.holdout, report.holdout);
  EXPECT_EQ(preview.queued, report.queued);
  EXPECT_TRUE(Members(twin_saved).empty());  // a preview writes nothing
}

TEST_F(CampaignServiceTest, QuietHoursDeferAndCapsSkip) {
  // 21:30 UTC on Friday: 22:30 in Berlin (quiet), 17:30 in New York, 06:30 on Saturday in Tokyo
  // (quiet).
  clock_.Set(At("2026-03-27T21:30:00Z"));
  store().SaveDeliveryRules({ws().id, 1, 7 * kMicrosPerDay, "21:00", "08:00", clock_.Now()}).value();
  auto [first, report] = Launch(Draft("friday-night"));
  EXPECT_EQ(report.capped, 0);
  const std::map<std::string, Timestamp> due{{"Europe/Berlin", At("2026-03-28T07:00:00Z")},
                                            {"America/New_York", At("2026-03-27T21:30:00Z")},
                                            {"Asia/Tokyo", At("2026-03-27T23:00:00Z")}};
  const auto messages = Messages("friday-night");
  std::int64_t quiet = 0;
  for (const auto& [id, m] : messages) {
    const auto customer = store().CustomerExternalId(ws().id, CustomerId{id}).value().value();
    const int zone = std::stoi(customer.substr(1)) % 3;
    EXPECT_EQ(m.next_attempt_at, due.at(kZones[zone])) << customer;
    quiet += zone != 1;
  }
  EXPECT_EQ(report.deferred, quiet);  // Berlin's and Tokyo's, not New York's
  // One marketing message a week: a second campaign the same night reaches nobody.
  auto [second, capped] = Launch(Draft("saturday", {{"offer-b", 1}}));
  EXPECT_EQ(capped.queued, 0);
  EXPECT_EQ(capped.capped, report.queued);
  for (const CampaignMember& m : Members(second))
    EXPECT_TRUE(m.outcome == "capped" || m.outcome == "no_consent") << m.outcome;
  // Eight days later there is room again.
  clock_.Advance(8 * kMicrosPerDay);
  auto [third, later] = Launch(Draft("next-week", {{"offer-b", 1}}));
  EXPECT_EQ(later.capped, 0);
  EXPECT_EQ(later.queued, report.queued);
}

TEST_F(CampaignServiceTest, QuietHoursAreCheckedAgainAtSendTime) {
  // 19:30 UTC on Friday: 20:30 in Berlin and 15:30 in New York, both outside the quiet hours.
  clock_.Set(At("2026-03-27T19:30:00Z"));
  store().SaveDeliveryRules({ws().id, 0, 7 * kMicrosPerDay, "21:00", "08:00", clock_.Now()}).value();
  Launch(Draft("evening"));
  const auto messages = Messages("evening");
  const OutboxMessage berlin = messages.at(store().FindCustomer(ws().id, Id(0)).value()->id.value);
  const OutboxMessage new_york = messages.at(store().FindCustomer(ws().id, Id(1)).value()->id.value);
  ASSERT_EQ(berlin.next_attempt_at, clock_.Now()) << "planned for now, outside the quiet hours";
  // Each call checks as a batch of its own.
  auto QuietHoursHold = [](Store& store, const OutboxMessage& m, Timestamp now) {
    messaging::MessageCustomer customer(store, m);
    return QuietHoursHolds(store)(m, customer, now);
  };
  EXPECT_FALSE(QuietHoursHold(store(), berlin, clock_.Now()).value());

  // The mail server was down for an hour: at 21:30 in Berlin the message waits until 08:00 CET.
  clock_.Set(At("2026-03-27T20:30:00Z"));
  const auto held = QuietHoursHold(store(), berlin, clock_.Now()).value();
  ASSERT_TRUE(held);
  EXPECT_EQ(held->until, At("2026-03-28T07:00:00Z"));
  EXPECT_EQ(held->reason, "inside the quiet hours 21:00–08:00 in Europe/Berlin");
  EXPECT_FALSE(QuietHoursHold(store(), new_york, clock_.Now()).value()) << "16:30 in New York";
  OutboxMessage receipt = berlin;
  receipt.category = "transactional";
  EXPECT_FALSE(QuietHoursHold(store(), receipt, clock_.Now()).value()) << "transactional messages are never held";
  OutboxMessage journey = berlin;
  journey.idempotency_key = "journey:7.2:c0000";
  EXPECT_TRUE(QuietHoursHold(store(), journey, clock_.Now()).value()) << "a journey's message is held too";
  OutboxMessage one_off = berlin;
  one_off.idempotency_key = "send:4:evening:c0000";
  EXPECT_FALSE(QuietHoursHold(store(), one_off, clock_.Now()).value()) << "one-off sends are not under the rules";

  // A customer without a zone of their own keeps the workspace's (UTC here): 20:30 is not quiet,
  // 21:30 is, until 08:00 UTC.
  Customer nomad;
  nomad.external_id = "nomad";
  nomad.email = "nomad@example.com";
  auto tx = store().BeginWrite(ws().id).value();
  tx->UpsertCustomers(std::vector<Customer>{nomad}, clock_.Now()).value();
  tx->Commit().value();
  OutboxMessage theirs = berlin;
  theirs.customer = store().FindCustomer(ws().id, "nomad").value()->id;
  EXPECT_FALSE(QuietHoursHold(store(), theirs, clock_.Now()).value());
  clock_.Advance(3600 * kMicrosPerSecond);
  const auto nomad_held = QuietHoursHold(store(), theirs, clock_.Now()).value();
  ASSERT_TRUE(nomad_held);
  EXPECT_EQ(nomad_held->until, At("2026-03-28T08:00:00Z"));

  // Without quiet hours nothing is held. A batch's check reads the rules once, at its first
  // message: the batch claimed before the change still holds; the next one does not.
  const messaging::HoldCheck batch = QuietHoursHolds(store());
  messaging::MessageCustomer first(store(), berlin);
  EXPECT_TRUE(batch(berlin, first, clock_.Now()).value());
  store().SaveDeliveryRules({ws().id, 0, 7 * kMicrosPerDay, "00:00", "00:00", clock_.Now()}).value();
  messaging::MessageCustomer second(store(), berlin);
  EXPECT_TRUE(batch(berlin, second, clock_.Now()).value());
  EXPECT_FALSE(QuietHoursHold(store(), berlin, clock_.Now()).value());
}

TEST_F(CampaignServiceTest, ASurveyWaveInvitesTheCustomersItsScheduleFindsDue) {
  const SurveyRecord nps = testing::SaveSurveyRecord(store(), ws().id, "nps", clock_.Now());
  const SurveyRecord other = testing::SaveSurveyRecord(store(), ws().id, "other", clock_.Now());
  const survey::SurveyReader& read = testing::kReadDefaultSurvey;  // nobody asked twice within 30 days
  const CustomerId asked = store().FindCustomer(ws().id, Id(1)).value()->id;
  const SurveyInvitation earlier{0, ws().id, other.id, asked, 1, At("2026-03-17T12:00:00Z"), At("2026-04-17T12:00:00Z")};
  ASSERT_TRUE(store().CreateSurveyInvitations(std::span(&earlier, 1)));
  MessageTemplateRecord ask;
  ask.workspace = ws().id;
  ask.name = "ask";
  ask.subject = "How likely are you to recommend us?";
  ask.html = R"(<p><a href="{{ survey_url }}">Tell us</a></p>)";
  ASSERT_TRUE(messaging::SaveTemplate(store(), ask, clock_.Now()));

  // Saving checks the survey and that every variant's template carries the link.
  CampaignRecord wave = Draft("wave", {{"ask", 1}});
  wave.survey = "nope";
  auto refused = SaveCampaign(store(), ws(), wave, clock_.Now());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().ToString(), "survey: no survey named 'nope' in this workspace");
  wave.survey = "nps";
  wave.variants = {{"ask", 1}, {"offer-a", 1}};
  refused = SaveCampaign(store(), ws(), wave, clock_.Now());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().ToString(),
            "survey: template 'offer-a' (variant B) does not use {{ survey_url }}: its recipients would get no "
            "invitation");
  wave.survey = "";
  wave.variants = {{"ask", 1}};
  refused = SaveCampaign(store(), ws(), wave, clock_.Now());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().ToString(), "survey: is required: template 'ask' (variant A) links to {{ survey_url }}");
  EXPECT_FALSE(store().FindCampaign(ws().id, "wave").value());
  wave.survey = "nps";

  // The preview counts who the schedule leaves out, and invites nobody.
  wave.variants = {{"ask", 1}};
  wave.split_key = "000102030405060708090a0b0c0d0e0f";  // a saved campaign's (no holdout here)
  auto previewed = PreviewCampaign(store(), ws(), Snap(), nullptr, wave, kSecret, read, clock_.Now());
  ASSERT_TRUE(previewed) << previewed.error().ToString();
  const LaunchReport preview = *previewed;
  EXPECT_EQ(preview.survey_not_due, 1);
  EXPECT_EQ(preview.queued, kCustomers - kCustomers / 100 - 1);
  EXPECT_EQ(store().CountSurveyInvitations(ws().id, nps.id).value(), 0);

  // The launch invites every due customer once; their message carries their own link.
  auto [saved, report] = Launch(wave, read);
  EXPECT_EQ(report.survey_not_due, 1);
  EXPECT_EQ(report.queued, preview.queued);
  EXPECT_EQ(store().CountSurveyInvitations(ws().id, nps.id).value(), report.queued);
  const auto messages = Messages("wave");
  EXPECT_EQ(messages.count(asked.value), 0u);
  for (const std::int64_t customer : {0, 2, 3}) {
    const CustomerId id = store().FindCustomer(ws().id, Id(customer)).value()->id;
    const std::string html = store().FindMessage(ws().id, messages.at(id.value).id).value()->html;
    const std::string prefix = "/s/";
    const auto at = html.find(prefix);
    ASSERT_NE(at, std::string::npos) << html;
    const std::string token = html.substr(at + prefix.size(), html.find('"', at) - at - prefix.size());
    auto invitation = survey::VerifyInvitation(token, kSecret, clock_.Now());
    ASSERT_TRUE(invitation) << invitation.error().ToString();
    EXPECT_EQ(invitation->survey_id, nps.id);
    EXPECT_EQ(invitation->customer, id);
  }
  std::map<std::string, int> outcomes;
  for (const CampaignMember& m : Members(saved)) ++outcomes[m.outcome];
  EXPECT_EQ(outcomes["survey_min_gap"], 1);
  EXPECT_EQ(outcomes["queued"], report.queued);

  // A launch run again (after a crash) finds the same invitations and queues nothing twice.
  const LaunchReport again = LaunchCampaign(store(), ws(), Snap(), nullptr, saved, kSecret, read, clock_.Now()).value();
  EXPECT_EQ(again.queued, report.queued);
  EXPECT_EQ((std::pair{again.rendered, again.duplicates}), (std::pair{std::int64_t{0}, report.queued}));
  EXPECT_EQ(RenderAll(saved, read).value().members, 0);
  EXPECT_EQ(store().CountSurveyInvitations(ws().id, nps.id).value(), report.queued);

  // A scheduled survey wave is on the content calendar as one.
  CampaignRecord next = Draft("wave-2", {{"ask", 1}});
  next.survey = "nps";
  next.send_at = At("2026-04-02T09:00:00Z");
  next.state = CampaignState::kScheduled;
  ASSERT_TRUE(SaveCampaign(store(), ws(), next, clock_.Now()));
  const auto calendar = ContentCalendar(store(), ws(), CivilDate{2026, 4, 2}, CivilDate{2026, 4, 2}).value();
  ASSERT_EQ(calendar.size(), 1u);
  EXPECT_EQ(calendar[0].name, "wave-2");
  EXPECT_EQ(calendar[0].survey, "nps");
}

TEST_F(CampaignServiceTest, PlannedMessagesAreRenderedAsTheyComeDueAndCountUnderTheCap) {
  // Monday 2026-03-30 at 09:00 local, launched at 09:00 in Tokyo (00:00 UTC): Tokyo's members
  // are due now, New York's at 13:00 UTC and Berlin's at 07:00 UTC.
  clock_.Set(At("2026-03-30T00:00:00Z"));
  store().SaveDeliveryRules({ws().id, 1, 7 * kMicrosPerDay, "00:00", "00:00", clock_.Now()}).value();
  CampaignRecord c = Draft("monday");
  c.local_time = "09:00";
  c.send_at = EarliestLocal({2026, 3, 30}, {9, 0});
  c.state = CampaignState::kScheduled;
  SnapshotCache snapshots;
  const CampaignRecord saved = SaveCampaign(store(), ws(), c, clock_.Now()).value();
  const SchedulerRun launched = RunScheduler(store(), snapshots, nullptr, kSecret, {}, clock_.Now()).value();
  EXPECT_EQ(launched.launched, 1);
  // Tokyo's thousand were rendered by the launch; the materialiser found nothing else due.
  EXPECT_EQ(launched.materialized.members, 0);
  auto by_zone = [&](bool planned) {
    std::map<std::string, int> out;
    for (const CampaignMember& m : Members(saved)) {
      if (m.outcome != "queued" || m.planned != planned) continue;
      const int i = std::stoi(store().CustomerExternalId(ws().id, m.customer).value().value().substr(1));
      ++out[kZones[i % 3]];
    }
    return out;
  };
  const int per_zone = kCustomers / 3 - kCustomers / 300;  // every 100th has no consent
  EXPECT_EQ(by_zone(true), (std::map<std::string, int>{{"America/New_York", per_zone}, {"Europe/Berlin", per_zone}}));
  EXPECT_EQ(by_zone(false), (std::map<std::string, int>{{"Asia/Tokyo", per_zone}}));
  EXPECT_EQ(Messages("monday").size(), static_cast<std::size_t>(per_zone));
  EXPECT_EQ(ReportCampaign(store(), ws(), Snap(), saved).value().planned, 2 * per_zone);

  // The cap (one a week) counts the planned messages: a second campaign today reaches nobody.
  auto [second, capped] = Launch(Draft("second", {{"offer-b", 1}}));
  EXPECT_EQ(capped.queued, 0);
  EXPECT_EQ(capped.capped, 3 * per_zone);

  // Ten minutes before 07:00 UTC Berlin's are rendered, each due at its own time; at 12:49
  // New York's are not yet due within ten minutes, at 12:51 they are.
  clock_.Set(At("2026-03-30T06:50:01Z"));
  EXPECT_EQ(MaterializeDue(store(), snapshots, nullptr, kSecret, {}, clock_.Now()).value().members, per_zone);
  clock_.Set(At("2026-03-30T12:49:59Z"));
  EXPECT_EQ(MaterializeDue(store(), snapshots, nullptr, kSecret, {}, clock_.Now()).value().members, 0);
  clock_.Set(At("2026-03-30T12:51:00Z"));
  const MaterializeReport last = RunScheduler(store(), snapshots, nullptr, kSecret, {}, clock_.Now()).value().materialized;
  EXPECT_EQ((std::tuple{last.members, last.messages, last.duplicates, last.failed}),
            (std::tuple{std::int64_t{per_zone}, std::int64_t{per_zone}, std::int64_t{0}, std::int64_t{0}}));
  EXPECT_TRUE(by_zone(true).empty());
  const auto messages = Messages("monday");
  ASSERT_EQ(messages.size(), static_cast<std::size_t>(3 * per_zone));
  for (const CampaignMember& m : Members(saved)) {
    if (m.outcome == "queued") {
      EXPECT_EQ(messages.at(m.customer.value).next_attempt_at, m.due);
    }
  }
  EXPECT_EQ(ReportCampaign(store(), ws(), Snap(), saved).value().planned, 0);
}

TEST_F(CampaignServiceTest, DeletingADoneCampaignWithdrawsWhatHasNotGoneOut) {
  // Launched now at 00:00 UTC to 09:00 local: Tokyo's messages rendered, the others planned.
  clock_.Set(At("2026-03-30T00:00:00Z"));
  CampaignRecord c = Draft("monday");
  c.local_time = "09:00";
  c.send_at = EarliestLocal({2026, 3, 30}, {9, 0});
  c.state = CampaignState::kScheduled;
  SnapshotCache snapshots;
  ASSERT_TRUE(SaveCampaign(store(), ws(), c, clock_.Now()));
  ASSERT_EQ(RunScheduler(store(), snapshots, nullptr, kSecret, {}, clock_.Now()).value().launched, 1);
  ASSERT_EQ(store().FindCampaign(ws().id, "monday").value()->state, CampaignState::kDone);
  const std::size_t rendered = Messages("monday").size();
  ASSERT_GT(rendered, 0u);
  ASSERT_TRUE(DeleteCampaign(store(), ws().id, "monday", clock_.Now()));
  EXPECT_FALSE(store().FindCampaign(ws().id, "monday").value());
  const auto messages = Messages("monday");
  EXPECT_EQ(messages.size(), rendered);
  for (const auto& [customer, m] : messages) EXPECT_EQ(m.state, MessageState::kCancelled);
  clock_.Advance(kMicrosPerDay);
  EXPECT_EQ(MaterializeDue(store(), snapshots, nullptr, kSecret, {}, clock_.Now()).value().members, 0);
}

TEST_F(CampaignServiceTest, CancellingATestingCampaignUnplansItsMembers) {
  SnapshotCache snapshots;
  CampaignRecord c = Draft("ab", {{"offer-a", 1}, {"offer-b", 1}});
  c.test_permille = 200;
  c.test_window_micros = 4 * 3600 * kMicrosPerSecond;
  c.local_time = "09:00";
  c.send_at = EarliestLocal({2026, 3, 30}, {9, 0});
  c.state = CampaignState::kScheduled;
  auto stored = SaveCampaign(store(), ws(), c, clock_.Now());
  ASSERT_TRUE(stored) << stored.error().ToString();
  const CampaignRecord saved = *stored;
  clock_.Set(*c.send_at);
  ASSERT_EQ(RunScheduler(store(), snapshots, nullptr, kSecret, {}, clock_.Now()).value().launched, 1);
  std::int64_t planned = 0;
  for (const CampaignMember& m : Members(saved)) planned += m.planned;
  EXPECT_GT(planned, 300);  // New York's and Berlin's test members, due later today
  ASSERT_TRUE(CancelCampaign(store(), ws().id, "ab", clock_.Now()));
  std::map<std::string, std::int64_t> outcomes;
  for (const CampaignMember& m : Members(saved)) {
    EXPECT_FALSE(m.planned);
    ++outcomes[m.outcome];
  }
  EXPECT_EQ(outcomes["cancelled"], planned);
  // Nothing is rendered later.
  clock_.Advance(kMicrosPerDay);
  EXPECT_EQ(MaterializeDue(store(), snapshots, nullptr, kSecret, {}, clock_.Now()).value().members, 0);
  EXPECT_TRUE(Messages("ab").empty());
}

TEST_F(CampaignServiceTest, TheSchedulerRunsTheTestAndSendsTheWinner) {
  SnapshotCache snapshots;
  CampaignRecord c = Draft("ab", {{"offer-a", 1}, {"offer-b", 1}});
  c.test_permille = 200;
  c.winner_metric = "clicked";
  c.test_window_micros = 4 * 3600 * kMicrosPerSecond;
  c.state = CampaignState::kScheduled;
  c.send_at = At("2026-03-27T13:00:00Z");
  CampaignRecord saved = SaveCampaign(store(), ws(), c, clock_.Now()).value();
  // Not due yet.
  EXPECT_EQ(RunDueCampaigns(store(), snapshots, nullptr, kSecret, {}, clock_.Now()).value().launched, 0);
  clock_.Set(At("2026-03-27T13:00:00Z"));
  EXPECT_EQ(RunDueCampaigns(store(), snapshots, nullptr, kSecret, {}, clock_.Now()).value().launched, 1);
  saved = store().FindCampaign(ws().id, "ab").value().value();
  EXPECT_EQ(saved.state, CampaignState::kTesting);
  EXPECT_EQ(saved.test_ends_at, At("2026-03-27T17:00:00Z"));
  // 20 % in the test (300 each side), the rest wait.
  std::map<int, int> arms;
  for (const CampaignMember& m : Members(saved)) ++arms[m.arm];
  EXPECT_NEAR(arms[0], 300, 4 * 15.5);
  EXPECT_NEAR(arms[1], 300, 4 * 15.5);
  EXPECT_NEAR(arms[kArmWaiting], 2400, 4 * 21.9);
  // B's messages get clicked twice as often (every second vs every fourth).
  const auto templates = store().ListMessageTemplates(ws().id).value();
  std::int64_t b_id = 0;
  for (const auto& t : templates)
    if (t.name == "offer-b") b_id = t.id;
  int n = 0;
  for (const auto& [customer, m] : Messages("ab")) {
    const bool b = m.template_id == b_id;
    if (n++ % (b ? 2 : 4) == 0)
      store().AppendMessageLog({0, ws().id, m.id, m.customer, "clicked", At("2026-03-27T14:00:00Z"), "u"}).value();
  }
  // The window isn't over: nothing happens; then the winner goes to everyone waiting.
  clock_.Set(At("2026-03-27T16:59:00Z"));
  EXPECT_EQ(RunDueCampaigns(store(), snapshots, nullptr, kSecret, {}, clock_.Now()).value().launched, 0);
  clock_.Set(At("2026-03-27T17:00:00Z"));
  EXPECT_EQ(RunDueCampaigns(store(), snapshots, nullptr, kSecret, {}, clock_.Now()).value().launched, 1);
  saved = store().FindCampaign(ws().id, "ab").value().value();
  EXPECT_EQ(saved.state, CampaignState::kDone);
  EXPECT_EQ(saved.winner, 1);
  EXPECT_EQ(saved.finished_at, At("2026-03-27T17:00:00Z"));
  std::map<int, int> after;
  for (const CampaignMember& m : Members(saved)) ++after[m.arm];
  EXPECT_EQ(after[kArmWaiting], 0);
  EXPECT_EQ(after[0], arms[0]);
  EXPECT_EQ(after[1], arms[1] + arms[kArmWaiting]);
  int to_b = 0;
  for (const auto& [customer, m] : Messages("ab")) to_b += m.template_id == b_id;
  EXPECT_GT(to_b, 2400);
  // Done campaigns are not run again.
  clock_.Advance(kMicrosPerDay);
  EXPECT_EQ(RunDueCampaigns(store(), snapshots, nullptr, kSecret, {}, clock_.Now()).value().launched, 0);
}

TEST_F(CampaignServiceTest, TheReportMeasuresTheLiftAgainstTheHoldout) {
  CampaignRecord c = Draft("winback");
  c.holdout_permille = 300;
  c.goal_window_micros = 7 * kMicrosPerDay;
  auto [saved, launch] = Launch(c);
  // Within the week, 40 % of the recipients order and 10 % of the holdout; one order of each
  // kind lands after the window and doesn't count.
  // Counted within each arm, so the rates are exact whichever customers the split held out.
  std::vector<Order> orders;
  int k = 0, held_k = 0, treated_k = 0;
  for (const CampaignMember& m : Members(saved)) {
    const bool held = m.arm == kArmHoldout;
    ++k;
    const int n = held ? ++held_k : ++treated_k;
    if ((held && n % 10 == 0) || (!held && n % 5 < 2)) {
      Order o;
      o.external_id = "o" + std::to_string(k);
      o.customer = m.customer;
      o.placed_at = Timestamp{m.due.micros + 2 * kMicrosPerDay};
      o.total = Money{2500, Currency::FromCode("EUR").value()};
      orders.push_back(o);
    }
    if (k == 7 || k == 10) {
      Order late;
      late.external_id = "late" + std::to_string(k);
      late.customer = m.customer;
      late.placed_at = Timestamp{m.due.micros + 8 * kMicrosPerDay};
      late.total = Money{100'000, Currency::FromCode("EUR").value()};
      orders.push_back(late);
    }
  }
  auto tx = store().BeginWrite(ws().id).value();
  ASSERT_TRUE(tx->InsertOrders(orders));
  ASSERT_TRUE(tx->Commit());
  const CampaignReport r = ReportCampaign(store(), ws(), Snap(), saved).value();
  EXPECT_EQ(r.holdout.members, launch.holdout);
  EXPECT_EQ(r.treated.members, kCustomers - launch.holdout);
  EXPECT_EQ(r.treated.messaged, launch.queued);
  EXPECT_EQ(r.treated.converted, r.treated.members / 5 + (r.treated.members + 4) / 5);  // n % 5 in {0, 1}
  EXPECT_EQ(r.holdout.converted, r.holdout.members / 10);
  ASSERT_TRUE(r.conversion_lift.has_value());
  EXPECT_NEAR(r.conversion_lift->difference, 0.3, 0.03);
  EXPECT_TRUE(r.conversion_lift->significant);
  EXPECT_GT(r.conversion_lift->interval.low, 0.2);
  EXPECT_LT(r.conversion_lift->interval.high, 0.4);
  ASSERT_TRUE(r.revenue_lift.has_value());
  EXPECT_NEAR(r.revenue_lift->difference, 0.3 * 25.0, 1.0);  // € per member
  EXPECT_DOUBLE_EQ(r.treated.revenue, 25.0 * static_cast<double>(r.treated.converted));
  ASSERT_EQ(r.variants.size(), 1u);
  EXPECT_EQ(r.variants[0].name, "A");
  EXPECT_EQ(r.variants[0].template_name, "offer-a");
}

TEST_F(CampaignServiceTest, TheCalendarShowsPlannedSendsAndTheirConflicts) {
  store().SaveDeliveryRules({ws().id, 0, 7 * kMicrosPerDay, "21:00", "08:00", clock_.Now()}).value();
  auto plan = [&](std::string name, std::string where, std::optional<Timestamp> send_at, std::string local_time,
                  CampaignState state = CampaignState::kScheduled) {
    CampaignRecord c = Draft(std::move(name));
    c.where = std::move(where);
    c.send_at = send_at;
    c.local_time = std::move(local_time);
    c.state = state;
    SaveCampaign(store(), ws(), c, clock_.Now()).value();
  };
  plan("a", "orders_count >= 0", At("2026-04-02T10:00:00Z"), "");
  plan("b", "orders_count >= 0", At("2026-04-02T15:00:00Z"), "");
  plan("c", "orders_count >= 1", At("2026-04-02T22:00:00Z"), "");       // 22:00 in the UTC workspace: quiet
  plan("d", "orders_count >= 2", EarliestLocal({2026, 4, 3}, {22, 30}), "22:30");  // quiet in every zone
  plan("e", "orders_count >= 0", At("2026-04-02T11:00:00Z"), "", CampaignState::kDraft);  // not planned
  plan("f", "orders_count >= 0", At("2026-05-01T10:00:00Z"), "");       // after the range
  const auto days = ContentCalendar(store(), ws(), {2026, 4, 1}, {2026, 4, 30}).value();
  std::vector<std::string> names;
  for (const auto& e : days) names.push_back(e.name);
  ASSERT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(days[0].date, (CivilDate{2026, 4, 2}));
  EXPECT_EQ(days[0].at, At("2026-04-02T10:00:00Z"));
  EXPECT_EQ(days[0].channel, Channel::kEmail);
  ASSERT_EQ(days[0].conflicts.size(), 1u);
  EXPECT_EQ(days[0].conflicts[0].kind, "same_audience");
  EXPECT_EQ(days[0].conflicts[0].detail, "b");
  ASSERT_EQ(days[1].conflicts.size(), 1u);
  EXPECT_EQ(days[1].conflicts[0].detail, "a");
  ASSERT_EQ(days[2].conflicts.size(), 1u);
  EXPECT_EQ(days[2].conflicts[0].kind, "quiet_hours");
  EXPECT_EQ(days[3].date, (CivilDate{2026, 4, 3}));
  EXPECT_EQ(days[3].at, std::nullopt);
  EXPECT_EQ(days[3].local_time, "22:30");
  ASSERT_EQ(days[3].conflicts.size(), 1u);
  EXPECT_EQ(days[3].conflicts[0].kind, "quiet_hours");
  // A sent campaign stays on the day it was launched; a cancelled one leaves.
  clock_.Set(At("2026-04-05T09:00:00Z"));
  Launch(Draft("sent-one", {{"offer-b", 1}}));
  CampaignRecord done = store().FindCampaign(ws().id, "sent-one").value().value();
  done.state = CampaignState::kDone;
  store().SaveCampaign(done).value();
  CancelCampaign(store(), ws().id, "b", clock_.Now()).value();
  names.clear();
  const auto after = ContentCalendar(store(), ws(), {2026, 4, 1}, {2026, 4, 30}).value();
  for (const auto& e : after) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "c", "d", "sent-one"}));
  EXPECT_EQ(ContentCalendar(store(), ws(), {2026, 4, 2}, {2026, 4, 1}).error().context(), "to");
  EXPECT_EQ(ContentCalendar(store(), ws(), {2026, 1, 1}, {2027, 1, 2}).error().context(), "to");
}

}  // namespace
}  // namespace treu::campaigns
