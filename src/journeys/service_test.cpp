// Journey scenarios on a real SQLite store with a simulated clock: customers entered by live
// events and segment transitions (not by history), waits, branches and waits for events, the
// goal, actions performed once however often a pass runs, a new version while customers are
// inside, the frequency cap with the journey priority, quiet hours in each customer's zone,
// the report per step, and the checks of a definition against the workspace.
#include "journeys/service.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "campaigns/service.hpp"
#include "journeys/definition_json.hpp"
#include "journeys/worker.hpp"
#include "loyalty/catalog.hpp"
#include "messaging/composer.hpp"
#include "segments/library.hpp"
#include "surveys/survey_testing.hpp"
#include "segments/membership.hpp"
#include "storage/sqlite/temp_store_testing.hpp"
#include "surveys/invitations.hpp"
#include "surveys/tokens.hpp"

namespace treu::journeys {
namespace {

const std::vector<std::uint8_t> kSecret(32, 7);

Timestamp At(std::string_view text) { return ParseTimestamp(text, TimeZone::Utc()).value(); }

// Signed up → welcome → 2 days → ordered? exit : nudge → wait up to 3 days for an order:
// ordered → mark them; no order → mark them otherwise.
constexpr std::string_view kWelcome = R"({
  "name": "welcome",
  "trigger": {"type": "event", "event": "Signed Up"},
  "steps": [
    {"id": "hello", "type": "send", "template": "hello", "next": "pause"},
    {"id": "pause", "type": "wait", "days": 2, "next": "ordered"},
    {"id": "ordered", "type": "branch", "if": "orders_count > 0", "then": "done", "else": "nudge"},
    {"id": "nudge", "type": "send", "template": "nudge", "next": "await"},
    {"id": "await", "type": "wait_for_event", "event": "Order Completed", "timeout_days": 3,
     "next": "won", "timeout_next": "lost"},
    {"id": "won", "type": "set_attribute", "name": "welcome_result", "value": "ordered", "next": "done"},
    {"id": "lost", "type": "set_attribute", "name": "welcome_result", "value": "silent", "next": "done"},
    {"id": "done", "type": "exit"}
  ]
})";

class JourneyServiceTest : public ::testing::Test {
 protected:
  // Monday 2026-03-23, 12:00 UTC.
  JourneyServiceTest() : clock_(At("2026-03-23T12:00:00Z")), db_("treu-journeys", clock_) {
    std::vector<Customer> customers;
    for (int i = 0; i < 6; ++i) {
      Customer c;
      c.external_id = "c" + std::to_string(i);
      c.email = c.external_id + "@example.com";
      c.time_zone = i % 2 == 0 ? "Europe/Berlin" : "America/New_York";
      c.consent[Channel::kEmail] = Consent{true, "import", clock_.Now()};
      customers.push_back(std::move(c));
    }
    auto tx = store().BeginWrite(ws().id).value();
    ids_ = tx->ResolveCustomers(std::vector<std::string>{"c0", "c1", "c2", "c3", "c4", "c5"}, clock_.Now()).value();
    tx->UpsertCustomers(customers, clock_.Now()).value();
    tx->SetCurrency(Currency::FromCode("EUR").value()).value();
    tx->Commit().value();
    for (std::string name : {"hello", "nudge", "offer"}) {
      MessageTemplateRecord t;
      t.workspace = ws().id;
      t.name = name;
      t.subject = name + " {{ customer.name }}";
      t.html = "<p>" + name + "</p>";
      messaging::SaveTemplate(store(), t, clock_.Now()).value();
    }
  }

  Store& store() { return *db_.store; }
  const Workspace& ws() { return db_.workspace; }

  SaveOutcome Save(std::string_view json) {
    auto def = ParseJourneyText(json);
    EXPECT_TRUE(def.has_value()) << (def ? "" : def.error().front().ToString());
    auto saved = SaveJourney(store(), ws(), def.value(), "", clock_.Now());
    EXPECT_TRUE(saved.has_value()) << saved.error().ToString();
    return saved.value_or(SaveOutcome{});
  }

  PassReport Pass() {
    auto r = RunJourneys(store(), ws(), snapshots_, RunOptions{kSecret, nullptr}, clock_.Now());
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r.value_or(PassReport{});
  }

  void Track(int customer, std::string name, Timestamp at) {
    Event e;
    e.name = std::move(name);
    e.message_id = "m" + std::to_string(++events_);
    e.user_id = "c" + std::to_string(customer);
    e.customer = ids_[static_cast<std::size_t>(customer)];
    e.timestamp = e.received_at = at;
    auto tx = store().BeginWrite(ws().id).value();
    tx->InsertEvents(std::span(&e, 1)).value();
    tx->Commit().value();
  }

  void Buy(int customer, Timestamp at) {
    Order o;
    o.external_id = "o" + std::to_string(++orders_);
    o.customer = ids_[static_cast<std::size_t>(customer)];
    o.customer_external_id = "c" + std::to_string(customer);
    o.placed_at = at;
    o.total = Money{5000, Currency::FromCode("EUR").value()};
    auto tx = store().BeginWrite(ws().id).value();
    tx->InsertOrders(std::span(&o, 1)).value();
    tx->Commit().value();
  }

  std::vector<JourneyRunRow> Runs(std::int64_t journey) {
    return store().ListJourneyRuns(ws().id, JourneyRunFilter{journey, CustomerId{}, false}, 0, 1000).value();
  }

  std::map<std::string, OutboxMessage> Messages() {
    std::map<std::string, OutboxMessage> out;
    const auto messages = store().ListMessages(ws().id, MessageFilter{}, 0, 1000).value();
    for (const auto& m : messages) out.emplace(m.idempotency_key, m);
    return out;
  }

  std::string Attribute(int customer, const std::string& name) {
    auto c = store().FindCustomer(ws().id, "c" + std::to_string(customer)).value().value();
    auto it = c.attributes.find(name);
    return it == c.attributes.end() ? "" : FormatAttributeValue(it->second);
  }

  ManualClock clock_;
  testing::TempSqliteStore db_;
  SnapshotCache snapshots_;
  std::vector<CustomerId> ids_;
  int events_ = 0, orders_ = 0;
};

TEST_F(JourneyServiceTest, EventsEnterCustomersWhoThenWaitBranchAndWaitForAnOrder) {
  // History before the journey enters nobody.
  Track(5, "Signed Up", clock_.Now());
  const SaveOutcome saved = Save(kWelcome);
  EXPECT_TRUE(saved.created);
  EXPECT_EQ(saved.record.version, 1);
  EXPECT_EQ(Pass().entered, 0);

  for (int c : {0, 1, 2}) Track(c, "Signed Up", clock_.Now());
  Track(3, "Page Viewed", clock_.Now());
  PassReport first = Pass();
  EXPECT_EQ(first.entered, 3);
  EXPECT_EQ(first.messages, 3);
  // A second pass at once does nothing again.
  PassReport again = Pass();
  EXPECT_EQ(again.entered, 0);
  EXPECT_EQ(again.messages, 0);
  EXPECT_EQ(Messages().size(), 3u);
  for (const JourneyRunRow& r : Runs(saved.record.id)) {
    EXPECT_EQ(r.state, "waiting");
    EXPECT_EQ(r.wake_at.micros, clock_.Now().micros + 2 * kMicrosPerDay);
  }

  // c0 orders during the wait (not a goal, not awaited yet); after 2 days c0 leaves at the branch.
  clock_.Advance(kMicrosPerDay);
  Buy(0, clock_.Now());
  EXPECT_EQ(Pass().woken, 0);
  clock_.Advance(kMicrosPerDay);
  PassReport woke = Pass();
  EXPECT_EQ(woke.woken, 3);
  EXPECT_EQ(woke.exited, 1);
  EXPECT_EQ(woke.messages, 2);  // the nudges of c1 and c2
  // c1 orders a day later: the run continues at once.
  clock_.Advance(kMicrosPerDay);
  Buy(1, clock_.Now());
  PassReport ordered = Pass();
  EXPECT_EQ(ordered.woken, 1);
  EXPECT_EQ(Attribute(1, "welcome_result"), "ordered");
  EXPECT_EQ(Attribute(2, "welcome_result"), "");
  // c2's timeout: 3 days after the nudge.
  clock_.Advance(kMicrosPerDay);
  EXPECT_EQ(Pass().woken, 0);
  clock_.Advance(kMicrosPerDay);
  EXPECT_EQ(Pass().woken, 1);
  EXPECT_EQ(Attribute(2, "welcome_result"), "silent");
  for (const JourneyRunRow& r : Runs(saved.record.id)) EXPECT_EQ(r.state, "exited");

  // The report per step.
  const JourneyReport report = ReportJourney(store(), ws(), "welcome").value();
  EXPECT_EQ(report.entered, 3);
  EXPECT_EQ(report.inside, 0);
  EXPECT_EQ(report.exited, 3);
  std::map<std::string, StepReport> steps;
  for (const StepReport& s : report.steps) steps[s.id] = s;
  EXPECT_EQ(steps["hello"].executed, 3);
  EXPECT_EQ(steps["hello"].queued, 3);
  EXPECT_EQ(steps["ordered"].executed, 3);
  EXPECT_EQ(steps["nudge"].executed, 2);
  EXPECT_EQ(steps["won"].executed, 1);
  EXPECT_EQ(steps["lost"].executed, 1);
  EXPECT_EQ(steps["done"].executed, 3);
  EXPECT_EQ(steps["won"].outcomes, (std::vector<std::pair<std::string, std::int64_t>>{{"set", 1}}));
}

TEST_F(JourneyServiceTest, OnlyTheServerHoldingTheLockMakesThePasses) {
  const SaveOutcome saved = Save(kWelcome);
  Track(0, "Signed Up", clock_.Now());
  // Another server's worker holds the database's journey lock: this one's passes do nothing.
  std::unique_ptr<Store> other = db_.Reopen(clock_).value();
  ASSERT_TRUE(other->HoldLock(kPassLock).value());
  auto pass = JourneyWorkerPass(db_.Reopen(clock_).value(), clock_, &snapshots_, nullptr, kSecret, {});
  pass();
  pass();
  EXPECT_TRUE(Runs(saved.record.id).empty());
  // That server stops: the next pass takes the lock over and enters the customer.
  other.reset();
  pass();
  EXPECT_EQ(Runs(saved.record.id).size(), 1u);
  std::unique_ptr<Store> third = db_.Reopen(clock_).value();
  EXPECT_FALSE(third->HoldLock(kPassLock).value()) << "kept by the worker that took it";
}

TEST_F(JourneyServiceTest, ANewVersionTakesNewEntriesWhileThoseInsideStayOnTheirs) {
  const SaveOutcome v1 = Save(kWelcome);
  Track(0, "Signed Up", clock_.Now());
  EXPECT_EQ(Pass().entered, 1);
  // Saving the same definition keeps version 1; a longer pause is version 2.
  EXPECT_FALSE(Save(kWelcome).new_version);
  std::string changed(kWelcome);
  changed.replace(changed.find("\"days\": 2"), 9, "\"days\": 5");
  const SaveOutcome v2 = Save(changed);
  EXPECT_TRUE(v2.new_version);
  EXPECT_EQ(v2.record.version, 2);
  EXPECT_EQ(v2.record.id, v1.record.id);
  Track(1, "Signed Up", clock_.Now());
  EXPECT_EQ(Pass().entered, 1);
  std::map<std::int64_t, JourneyRunRow> runs;
  for (const JourneyRunRow& r : Runs(v1.record.id)) runs[r.customer.value] = r;
  EXPECT_EQ(runs[ids_[0].value].version, 1);
  EXPECT_EQ(runs[ids_[1].value].version, 2);
  EXPECT_EQ(runs[ids_[1].value].wake_at.micros - runs[ids_[0].value].wake_at.micros, 3 * kMicrosPerDay);
  // c0 wakes after 2 days on version 1 and is nudged; c1 still waits.
  clock_.Advance(2 * kMicrosPerDay);
  EXPECT_EQ(Pass().woken, 1);
  EXPECT_TRUE(Messages().size() == 3u);
}

TEST_F(JourneyServiceTest, SegmentEntriesTheGoalAndReentry) {
  ASSERT_TRUE(segment::SaveChecked(store(), ws().id, "buyers", "orders_count >= 1", clock_.Now()));
  ASSERT_TRUE(segment::SaveChecked(store(), ws().id, "loyal", "orders_count >= 2", clock_.Now()));
  auto refresh = [&] {
    auto snap = snapshots_.Get(store(), ws().id).value();
    ASSERT_TRUE(segment::RefreshSegments(store(), ws(), snap, clock_.Now(), nullptr));
  };
  Buy(0, clock_.Now());  // c0 is a buyer before the journey: only EnterCurrentMembers enters them
  refresh();
  Save(R"({"name": "second-order", "trigger": {"type": "segment_entered", "segment": "buyers"},
           "reentry": "never", "goal": {"segment": "loyal", "within_days": 30},
           "steps": [{"id": "offer", "type": "send", "template": "offer", "next": "wait"},
                     {"id": "wait", "type": "wait", "days": 14, "next": "done"},
                     {"id": "done", "type": "exit"}]})");
  Buy(1, clock_.Now());
  Buy(2, clock_.Now());
  refresh();
  EXPECT_EQ(Pass().entered, 2);
  auto current = EnterCurrentMembers(store(), ws(), snapshots_, "second-order", RunOptions{kSecret, nullptr}, clock_.Now());
  ASSERT_TRUE(current) << current.error().ToString();
  EXPECT_EQ(current->entered, 1);  // c0; c1 and c2 are inside already
  // c1 orders again: in "loyal", the goal; the run completes.
  clock_.Advance(kMicrosPerDay);
  Buy(1, clock_.Now());
  refresh();
  EXPECT_EQ(Pass().completed, 1);
  const JourneyReport report = ReportJourney(store(), ws(), "second-order").value();
  EXPECT_EQ(report.entered, 3);
  EXPECT_EQ(report.completed, 1);
  EXPECT_EQ(report.inside, 2);
  EXPECT_NEAR(report.conversion_rate, 1.0 / 3, 1e-12);
  // Never again: leaving and entering the segment enters nobody a second time.
  clock_.Advance(20 * kMicrosPerDay);
  Pass();
  EXPECT_EQ(Runs(report.record.id).size(), 3u);
}

TEST_F(JourneyServiceTest, QuietHoursDeferAndTheCapPrefersTheJourney) {
  // At most one marketing message a week, nothing between 21:00 and 08:00 local time.
  DeliveryRulesRecord rules;
  rules.workspace = ws().id;
  rules.cap_messages = 1;
  rules.cap_window_micros = 7 * kMicrosPerDay;
  rules.quiet_start = "21:00";
  rules.quiet_end = "08:00";
  ASSERT_TRUE(campaigns::SaveDeliveryRules(store(), rules, clock_.Now()));
  // A campaign message waits for c2 for tomorrow, another one for c4 was sent yesterday.
  auto queue = [&](int c, std::string campaign, Timestamp due, MessageState state) {
    OutboxMessage m;
    m.workspace = ws().id;
    m.idempotency_key = campaign + ":" + std::to_string(c);
    m.customer = ids_[static_cast<std::size_t>(c)];
    m.campaign = campaign;
    m.recipient = "c" + std::to_string(c) + "@example.com";
    m.subject = "s";
    m.html = "<p>h</p>";
    m.next_attempt_at = due;
    m.created_at = clock_.Now();
    ASSERT_TRUE(store().EnqueueMessages(ws().id, std::span(&m, 1), clock_.Now()));
    (void)state;
  };
  queue(2, "spring-sale", Timestamp{clock_.Now().micros + kMicrosPerDay}, MessageState::kQueued);
  // c0 is a member of a launched campaign whose message for tomorrow is planned, not yet rendered.
  CampaignRecord autumn;
  autumn.workspace = ws().id;
  autumn.name = "autumn";
  autumn.variants = {{"a", 1}};
  autumn.state = CampaignState::kDone;
  autumn.created_at = autumn.updated_at = clock_.Now();
  const std::int64_t autumn_id = store().SaveCampaign(autumn).value().id;
  const CampaignMember planned{ids_[0], 0, Timestamp{clock_.Now().micros + kMicrosPerDay}, "queued", true};
  ASSERT_TRUE(store().SaveCampaignMembers(ws().id, autumn_id, std::span(&planned, 1)));
  Save(kWelcome);
  // 22:30 in Berlin (21:30 UTC) is quiet there; 17:30 in New York isn't.
  clock_.Set(At("2026-03-23T21:30:00Z"));
  for (int c : {0, 1, 2}) Track(c, "Signed Up", clock_.Now());
  const PassReport r = Pass();
  EXPECT_EQ(r.entered, 3);
  EXPECT_EQ(r.capped, 0);
  const auto messages = Messages();
  auto hello = [&](int c) {
    for (const auto& [key, m] : messages)
      if (m.customer == ids_[static_cast<std::size_t>(c)] && m.campaign == "journey:welcome:hello") return m;
    ADD_FAILURE() << "no hello for c" << c;
    return OutboxMessage{};
  };
  EXPECT_EQ(hello(0).next_attempt_at, At("2026-03-24T07:00:00Z"));  // 08:00 in Berlin (UTC+1)
  EXPECT_EQ(hello(1).next_attempt_at, At("2026-03-23T21:30:00Z"));
  EXPECT_EQ(hello(2).next_attempt_at, At("2026-03-24T07:00:00Z"));
  // c2's waiting campaign message gave way to the journey's, and so did c0's planned one.
  EXPECT_EQ(messages.at("spring-sale:2").state, MessageState::kCancelled);
  EXPECT_EQ(store().ListCampaignMembers(ws().id, autumn_id, CustomerId{}, 10).value(),
            (std::vector<CampaignMember>{{ids_[0], 0, planned.due, "capped", false}}));
  // Two days later the nudges are over the cap (the hellos are within the week).
  clock_.Advance(2 * kMicrosPerDay);
  const PassReport later = Pass();
  EXPECT_EQ(later.capped, 3);
  EXPECT_EQ(later.messages, 0);
}

TEST_F(JourneyServiceTest, PointsAndAttributesAreWrittenOncePerRun) {
  Save(R"({"name": "thanks", "trigger": {"type": "event", "event": "Review Written"}, "reentry": "always",
           "steps": [{"id": "points", "type": "grant_points", "points": 50, "reason": "thanks for the review",
                      "next": "mark"},
                     {"id": "mark", "type": "set_attribute", "name": "reviews_thanked", "value": 1}]})");
  // Without a loyalty program the points can't be granted; the run goes on.
  Track(0, "Review Written", clock_.Now());
  PassReport first = Pass();
  EXPECT_EQ(first.entered, 1);
  EXPECT_EQ(Attribute(0, "reviews_thanked"), "1");
  ASSERT_TRUE(loyalty::SaveProgram(store(), ws(), nlohmann::json::parse(R"({"name": "Club"})"), clock_.Now()));
  clock_.Advance(60 * kMicrosPerSecond);
  for (int c : {1, 2}) Track(c, "Review Written", clock_.Now());
  // c1 writes a second review: "always" enters them again, as their first run has ended.
  Track(1, "Review Written", Timestamp{clock_.Now().micros + 1});
  EXPECT_EQ(Pass().entered, 3);
  EXPECT_EQ(Pass().entered, 0);
  std::map<std::int64_t, std::int64_t> points;
  const auto members = store().ListLoyaltyMembers(ws().id, 0, 100).value();
  for (const LoyaltyMember& m : members) points[m.customer.value] = m.available;
  EXPECT_EQ(points[ids_[0].value], 0);
  EXPECT_EQ(points[ids_[1].value], 100);
  EXPECT_EQ(points[ids_[2].value], 50);
  EXPECT_EQ(Attribute(2, "reviews_thanked"), "1");
  const JourneyReport report = ReportJourney(store(), ws(), "thanks").value();
  EXPECT_EQ(report.exited, 4);
  EXPECT_EQ(report.steps[0].outcomes,
            (std::vector<std::pair<std::string, std::int64_t>>{{"granted", 3}, {"no_program", 1}}));
}

TEST_F(JourneyServiceTest, TheCalendarShowsTheSendsJourneysHavePlanned) {
  Save(R"({"name": "reminder", "trigger": {"type": "event", "event": "Cart Abandoned"},
           "steps": [{"id": "later", "type": "wait", "days": 1, "next": "remind"},
                     {"id": "remind", "type": "send", "template": "nudge"}]})");
  for (int c : {0, 1, 2}) Track(c, "Cart Abandoned", clock_.Now());
  EXPECT_EQ(Pass().entered, 3);
  const CivilDate today = TimeZone::Find(ws().time_zone).value().LocalDate(clock_.Now());
  const CivilDate tomorrow = TimeZone::Find(ws().time_zone).value().LocalDate(Timestamp{clock_.Now().micros + kMicrosPerDay});
  auto planned = PlannedJourneySends(store(), ws(), today, tomorrow).value();
  ASSERT_EQ(planned.size(), 1u);
  EXPECT_EQ(planned[0].journey, "reminder");
  EXPECT_EQ(planned[0].step, "remind");
  EXPECT_EQ(planned[0].template_name, "nudge");
  EXPECT_EQ(planned[0].channel, Channel::kEmail);
  EXPECT_EQ(planned[0].date, tomorrow);
  EXPECT_EQ(planned[0].customers, 3);
  EXPECT_TRUE(PlannedJourneySends(store(), ws(), today, today).value().empty());
  // The whole calendar: a campaign to the segment a journey is entered from, on the day the
  // journey sends too, is flagged on both.
  ASSERT_TRUE(segment::SaveChecked(store(), ws().id, "carts", "orders_count >= 0", clock_.Now()));
  ASSERT_TRUE(segment::RefreshSegments(store(), ws(), snapshots_.Get(store(), ws().id).value(), clock_.Now(), nullptr));
  Save(R"({"name": "carts", "trigger": {"type": "segment_entered", "segment": "carts"},
           "steps": [{"id": "later", "type": "wait", "days": 1, "next": "remind"},
                     {"id": "remind", "type": "send", "template": "nudge"}]})");
  ASSERT_TRUE(EnterCurrentMembers(store(), ws(), snapshots_, "carts", RunOptions{kSecret, nullptr}, clock_.Now()));
  CampaignRecord c;
  c.name = "spring";
  c.segment = "carts";
  c.variants = {{"offer", 1}};
  c.state = CampaignState::kScheduled;
  c.send_at = Timestamp{clock_.Now().micros + kMicrosPerDay};
  ASSERT_TRUE(campaigns::SaveCampaign(store(), ws(), c, clock_.Now()));
  const auto calendar = ContentCalendar(store(), ws(), today, tomorrow).value();
  ASSERT_EQ(calendar.size(), 3u);
  EXPECT_EQ(calendar[0].kind, "campaign");
  EXPECT_EQ(calendar[0].name, "spring");
  ASSERT_EQ(calendar[0].conflicts.size(), 1u);
  EXPECT_EQ(calendar[0].conflicts[0].detail, "journey carts");
  for (std::size_t i : {1u, 2u}) EXPECT_EQ(calendar[i].kind, "journey");
  const auto& carts = calendar[1].name == "carts" ? calendar[1] : calendar[2];
  const auto& reminder = calendar[1].name == "carts" ? calendar[2] : calendar[1];
  EXPECT_EQ(carts.step, "remind");
  EXPECT_EQ(carts.customers, 6);
  ASSERT_EQ(carts.conflicts.size(), 1u);
  EXPECT_EQ(carts.conflicts[0].kind, "same_audience");
  EXPECT_EQ(carts.conflicts[0].detail, "spring");
  EXPECT_TRUE(reminder.conflicts.empty());
  EXPECT_EQ(reminder.customers, 3);
  ASSERT_TRUE(SetJourneyState(store(), ws().id, "carts", "paused", clock_.Now()));
  // Sent: nothing is planned any more.
  clock_.Advance(kMicrosPerDay);
  EXPECT_EQ(Pass().messages, 3);
  EXPECT_TRUE(PlannedJourneySends(store(), ws(), today, tomorrow).value().empty());
}

TEST_F(JourneyServiceTest, DateTriggersFireAtTheLocalTimeBeforeTheDate) {
  // c0 (Berlin) and c1 (New York) renew on 2026-04-01; c2 on 2026-05-01; c3 has no date.
  std::vector<Customer> dated(3);
  const char* dates[] = {"2026-04-01", "2026-04-01", "2026-05-01"};
  for (int i = 0; i < 3; ++i) {
    dated[i].external_id = "c" + std::to_string(i);
    dated[i].attributes["renewal_date"] = ParseTimestamp(dates[i], TimeZone::Utc()).value();
  }
  auto tx = store().BeginWrite(ws().id).value();
  tx->UpsertCustomers(dated, clock_.Now()).value();
  tx->Commit().value();
  Save(R"({"name": "renewal", "trigger": {"type": "date", "attribute": "renewal_date", "offset_days": -7, "at": "09:00"},
           "reentry": "always", "steps": [{"id": "remind", "type": "send", "template": "nudge"}]})");
  // 2026-03-25 09:00 in Berlin is 08:00 UTC; in New York 13:00 UTC (EDT).
  clock_.Set(At("2026-03-25T07:59:00Z"));
  EXPECT_EQ(Pass().entered, 0);
  clock_.Set(At("2026-03-25T08:30:00Z"));
  EXPECT_EQ(Pass().entered, 1);
  clock_.Set(At("2026-03-25T12:00:00Z"));
  EXPECT_EQ(Pass().entered, 0);
  clock_.Set(At("2026-03-25T13:30:00Z"));
  EXPECT_EQ(Pass().entered, 1);
  clock_.Set(At("2026-03-26T13:30:00Z"));
  EXPECT_EQ(Pass().entered, 0);  // once
  std::map<std::int64_t, Timestamp> entered;
  for (const JourneyRunRow& r : Runs(store().FindJourney(ws().id, "renewal").value()->id)) entered[r.customer.value] = r.entered_at;
  EXPECT_EQ(entered[ids_[0].value], At("2026-03-25T08:00:00Z"));
  EXPECT_EQ(entered[ids_[1].value], At("2026-03-25T13:00:00Z"));
  EXPECT_EQ(entered.size(), 2u);
}

TEST_F(JourneyServiceTest, DetractorsGetAFollowUpAndAWebhookCall) {
  SurveyRecord survey;
  survey.workspace = ws().id;
  survey.name = "nps";
  survey.definition = "{}";
  survey.created_at = survey.updated_at = clock_.Now();
  survey = store().SaveSurvey(survey).value();
  WebhookEndpointRecord hook;
  hook.workspace = ws().id;
  hook.name = "team";
  hook.url = "https://hooks.example/team";
  hook.created_at = hook.updated_at = clock_.Now();
  ASSERT_TRUE(store().SaveWebhookEndpoint(hook));
  Save(R"({"name": "recovery", "trigger": {"type": "survey_answer", "survey": "nps", "max_score": 6},
           "steps": [{"id": "task", "type": "followup", "note": "Call them", "next": "tell"},
                     {"id": "tell", "type": "webhook", "endpoint": "team"}]})");
  auto answer = [&](int c, int score, std::int64_t nonce) {
    SurveyResponse r;
    r.workspace = ws().id;
    r.survey_id = survey.id;
    r.customer = ids_[static_cast<std::size_t>(c)];
    r.nonce = nonce;
    r.answers = R"({"nps": )" + std::to_string(score) + "}";
    r.nps_score = score;
    r.nps_category = score <= 6 ? "detractor" : score <= 8 ? "passive" : "promoter";
    r.created_at = r.updated_at = clock_.Now();
    ASSERT_TRUE(store().SaveSurveyResponse(r));
  };
  answer(0, 3, 101);
  answer(1, 9, 102);
  answer(2, 6, 103);
  const PassReport r = Pass();
  EXPECT_EQ(r.entered, 2);
  const auto items = store().ListFollowUps(ws().id, "", 0, 100).value();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].customer, ids_[0]);
  EXPECT_EQ(items[0].nonce, 101);
  EXPECT_EQ(items[0].score, 3);
  EXPECT_EQ(items[0].note, "Call them");
  EXPECT_EQ(items[1].customer, ids_[2]);
  int calls = 0;
  for (const auto& [key, m] : Messages()) {
    if (m.channel != Channel::kWebhook) continue;
    ++calls;
    EXPECT_EQ(m.recipient, "team");
    const auto body = nlohmann::json::parse(store().FindMessage(ws().id, m.id).value()->html);  // lists leave bodies out
    EXPECT_EQ(body["journey"], "recovery");
    EXPECT_EQ(body["step"], "tell");
  }
  EXPECT_EQ(calls, 2);
}

TEST_F(JourneyServiceTest, SurveyStepsSendEachCustomerASignedInvitationOnce) {
  const SurveyRecord record = testing::SaveSurveyRecord(store(), ws().id, "why", clock_.Now());
  const SurveyRecord other = testing::SaveSurveyRecord(store(), ws().id, "other", clock_.Now());
  const survey::SurveyReader& read = testing::kReadDefaultSurvey;  // nobody asked twice within 30 days
  // c2 was asked another survey 10 days ago.
  const SurveyInvitation earlier{0, ws().id, other.id, ids_[2], 1, At("2026-03-13T12:00:00Z"),
                                 At("2026-04-13T12:00:00Z")};
  ASSERT_TRUE(store().CreateSurveyInvitations(std::span(&earlier, 1)));
  MessageTemplateRecord ask;
  ask.workspace = ws().id;
  ask.name = "ask";
  ask.subject = "Why?";
  ask.html = R"(<p><a href="{{ survey_url }}">Tell us</a></p>)";
  ASSERT_TRUE(messaging::SaveTemplate(store(), ask, clock_.Now()));

  auto error_of = [&](std::string json) {
    auto r = SaveJourney(store(), ws(), ParseJourneyText(json).value(), "", clock_.Now());
    return r ? std::string("saved") : r.error().ToString();
  };
  EXPECT_EQ(error_of(R"({"name": "a", "trigger": {"type": "event", "event": "Cancelled"},
                         "steps": [{"id": "s", "type": "send", "template": "ask", "survey": "nope"}]})"),
            "steps.0.survey: there is no survey 'nope'");
  EXPECT_EQ(error_of(R"({"name": "a", "trigger": {"type": "event", "event": "Cancelled"},
                         "steps": [{"id": "s", "type": "send", "template": "offer", "survey": "why"}]})"),
            "steps.0.template: template 'offer' doesn't link to the survey: put {{ survey_url }} in it");
  EXPECT_EQ(error_of(R"({"name": "a", "trigger": {"type": "event", "event": "Cancelled"},
                         "steps": [{"id": "s", "type": "send", "template": "ask"}]})"),
            "steps.0.survey: is required: template 'ask' links to {{ survey_url }}");
  EXPECT_TRUE(store().ListJourneys(ws().id).value().empty());

  Save(R"({"name": "ask", "trigger": {"type": "event", "event": "Cancelled"}, "reentry": "always",
           "steps": [{"id": "ask", "type": "send", "template": "ask", "survey": "why", "next": "done"},
                     {"id": "done", "type": "exit"}]})");
  for (int c : {0, 1, 2}) Track(c, "Cancelled", clock_.Now());
  auto r = RunJourneys(store(), ws(), snapshots_, RunOptions{kSecret, nullptr, read}, clock_.Now());
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->entered, 3);
  EXPECT_EQ(r->messages, 2);
  // Each message carries its customer's link, signed for this survey, recorded as invited.
  std::set<CustomerId> invited;
  for (const auto& [key, listed] : Messages()) {
    const std::string html = store().FindMessage(ws().id, listed.id).value()->html;
    const std::string prefix = "href=\"http://127.0.0.1:8080/s/";
    const auto at = html.find(prefix);
    ASSERT_NE(at, std::string::npos) << html;
    const std::string token = html.substr(at + prefix.size(), html.find('"', at + prefix.size()) - at - prefix.size());
    auto inv = survey::VerifyInvitation(token, kSecret, clock_.Now());
    ASSERT_TRUE(inv) << inv.error().ToString();
    EXPECT_EQ(inv->survey_id, record.id);
    EXPECT_EQ(inv->customer, listed.customer);
    EXPECT_TRUE(store().FindSurveyInvitation(ws().id, record.id, inv->nonce).value().has_value());
    invited.insert(inv->customer);
  }
  EXPECT_EQ(invited, (std::set<CustomerId>{ids_[0], ids_[1]}));
  EXPECT_EQ(store().CountSurveyInvitations(ws().id, record.id).value(), 2);
  const JourneyReport report = ReportJourney(store(), ws(), "ask").value();
  EXPECT_EQ(report.steps[0].outcomes,
            (std::vector<std::pair<std::string, std::int64_t>>{{"queued", 2}, {"survey_min_gap", 1}}));

  // A day later c0 cancels again: re-entered, but asked a day ago; no second invitation.
  clock_.Advance(kMicrosPerDay);
  Track(0, "Cancelled", clock_.Now());
  r = RunJourneys(store(), ws(), snapshots_, RunOptions{kSecret, nullptr, read}, clock_.Now());
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->entered, 1);
  EXPECT_EQ(r->messages, 0);
  EXPECT_EQ(store().CountSurveyInvitations(ws().id, record.id).value(), 2);

  // The same key again (a pass repeated after a crash) finds the invitation it made and gives
  // the same link, recording nothing, even though the schedule would now say no.
  const survey::Survey why = read(record).value();
  survey::InviteOptions options;
  options.base_url = "https://shop.example/";
  auto first = survey::InviteWithKey(store(), ws(), why, ids_[3], {}, "k-1", options, kSecret, clock_.Now()).value();
  EXPECT_TRUE(first.made);
  EXPECT_TRUE(first.link.starts_with("https://shop.example/s/"));
  survey::ScheduleFacts asked;
  asked.last_invited_any = asked.last_invited_this = clock_.Now();
  auto again = survey::InviteWithKey(store(), ws(), why, ids_[3], asked, "k-1", options, kSecret, clock_.Now()).value();
  EXPECT_FALSE(again.made);
  EXPECT_EQ(again.reason, survey::NotDue::kDue);
  EXPECT_EQ(again.link, first.link);
  EXPECT_EQ(survey::InviteWithKey(store(), ws(), why, ids_[3], asked, "k-2", options, kSecret, clock_.Now())->reason,
            survey::NotDue::kAskedRecently);
  EXPECT_EQ(survey::InviteWithKey(store(), ws(), why, ids_[4], {}, "k-1", options, kSecret, clock_.Now()).error().code(),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(store().CountSurveyInvitations(ws().id, record.id).value(), 3);
}

TEST_F(JourneyServiceTest, DefinitionsAreCheckedAgainstTheWorkspace) {
  auto error_of = [&](std::string json) {
    auto def = ParseJourneyText(json);
    EXPECT_TRUE(def.has_value());
    auto r = SaveJourney(store(), ws(), def.value(), "", clock_.Now());
    EXPECT_FALSE(r.has_value());
    return r ? Error(ErrorCode::kInternal, "", "") : r.error();
  };
  std::string bad(kWelcome);
  bad.replace(bad.find("\"template\": \"nudge\""), 19, "\"template\": \"nope\"");
  EXPECT_EQ(error_of(bad).context(), "steps.3.template");
  bad = kWelcome;
  bad.replace(bad.find("orders_count > 0"), 16, "orders_cnt > 0");
  EXPECT_EQ(error_of(bad).context(), "steps.2.if");
  EXPECT_EQ(error_of(R"({"name": "s", "trigger": {"type": "segment_entered", "segment": "nope"},
                         "steps": [{"id": "x", "type": "exit"}]})").context(), "trigger.segment");
  EXPECT_EQ(error_of(R"({"name": "f", "trigger": {"type": "event", "event": "E"},
                         "steps": [{"id": "x", "type": "followup", "note": "call"}]})").context(), "steps.0.type");
  auto def = ParseJourneyText(kWelcome).value();
  EXPECT_EQ(SaveJourney(store(), ws(), def, "sleeping", clock_.Now()).error().context(), "state");
  EXPECT_TRUE(store().ListJourneys(ws().id).value().empty());
  // Paused, nobody enters; resumed, the inputs since the pause are read.
  Save(kWelcome);
  ASSERT_TRUE(SetJourneyState(store(), ws().id, "welcome", "paused", clock_.Now()));
  Track(0, "Signed Up", clock_.Now());
  EXPECT_EQ(Pass().entered, 0);
  ASSERT_TRUE(SetJourneyState(store(), ws().id, "welcome", "active", clock_.Now()));
  EXPECT_EQ(Pass().entered, 1);
}

}  // namespace
}  // namespace treu::journeys
