// Declarative KPI scenarios: test/logic/kpis/*.json each hold a workspace, its orders,
// subscriptions and survey answers, and checks with hand-computed expectations (see their
// "description").
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "analytics/kpis.hpp"
#include "api/analytics_json.hpp"
#include "surveys/kpi_feedback.hpp"

namespace treu {
namespace {

using nlohmann::json;

Timestamp Time(const json& j) { return ParseTimestamp(j.get<std::string>(), TimeZone::Utc()).value(); }

std::shared_ptr<const Snapshot> Load(const json& doc) {
  Workspace w;
  w.name = "scenario";
  const json& ws = doc.at("workspace");
  w.time_zone = ws.value("time_zone", "UTC");
  w.currency = Currency::FromCode(ws.value("currency", "EUR")).value();
  w.retention_basis = ParseRetentionBasis(ws.value("basis", "purchases")).value();
  w.activity_window_days = ws.value("window_days", kDefaultActivityWindowDays);
  SnapshotBuilder b(w);
  for (const json& o : doc.value("orders", json::array())) {
    Order order;
    order.external_id = o.at("id");
    order.customer_external_id = o.at("customer");
    order.placed_at = Time(o.at("at"));
    order.total = Money{ParseMinorUnits(o.at("total").get<std::string>(), *w.currency).value(), *w.currency};
    order.status = ParseOrderStatus(o.value("status", "completed")).value();
    for (const json& r : o.value("refunds", json::array())) {
      order.refunds.push_back({Time(r.at("at")), ParseMinorUnits(r.at("amount").get<std::string>(), *w.currency).value()});
    }
    EXPECT_TRUE(b.AddOrder(order));
  }
  for (const json& s : doc.value("subscriptions", json::array())) {
    Subscription sub;
    sub.external_id = s.at("id");
    sub.customer_external_id = s.at("customer");
    sub.currency = *w.currency;
    sub.started_at = Time(s.at("started_at"));
    if (s.contains("ended_at")) sub.ended_at = Time(s.at("ended_at"));
    for (const json& h : s.at("history")) {
      SubscriptionState st;
      st.effective_at = Time(h.at("at"));
      st.interval = ParseBillingInterval(h.value("interval", "month")).value();
      st.amount_minor = ParseMinorUnits(h.at("amount").get<std::string>(), *w.currency).value();
      st.quantity = h.value("quantity", 1);
      st.discount_bp = h.value("discount_bp", 0);
      st.status = ParseSubscriptionStatus(h.value("status", "active")).value();
      sub.history.push_back(st);
    }
    EXPECT_TRUE(b.AddSubscription(sub));
  }
  return b.Build();
}

// Every key of `expected` must be in `actual` with the same value (numbers within 1e-9).
void ExpectSubset(const json& expected, const json& actual, const std::string& where) {
  if (expected.is_object()) {
    ASSERT_TRUE(actual.is_object()) << where << ": " << actual.dump();
    for (const auto& [k, v] : expected.items()) {
      ASSERT_TRUE(actual.contains(k)) << where << ": no '" << k << "' in " << actual.dump();
      ExpectSubset(v, actual.at(k), where + "/" + k);
    }
  } else if (expected.is_array()) {
    ASSERT_TRUE(actual.is_array() && actual.size() == expected.size()) << where << ": " << actual.dump();
    for (std::size_t i = 0; i < expected.size(); ++i) ExpectSubset(expected[i], actual[i], where + "/" + std::to_string(i));
  } else if (expected.is_number()) {
    ASSERT_TRUE(actual.is_number()) << where << ": " << actual.dump();
    EXPECT_NEAR(expected.get<double>(), actual.get<double>(), 1e-9) << where;
  } else {
    EXPECT_EQ(expected, actual) << where;
  }
}

// The scenario's survey answers ("surveys": [{"nps_thresholds", "answers": [{"customer", "at",
// "kind", "score"}]}]) as the feedback metrics' source.
std::shared_ptr<const FeedbackSource> Feedback(const json& doc, const Snapshot& snap, bool latest_only) {
  std::map<std::string, std::int64_t> index_of;
  for (Snapshot::Index c = 0; c < snap.customers(); ++c) index_of[snap.external_id(c)] = c;
  std::map<std::string, CustomerId> ids;
  std::vector<survey::Answer> answers;
  std::vector<std::int64_t> index;
  for (const json& s : doc.value("surveys", json::array())) {
    const survey::NpsThresholds t = s.value("nps_thresholds", "standard") == "article"
                                        ? survey::NpsThresholds::Article()
                                        : survey::NpsThresholds::Standard();
    for (const json& a : s.at("answers")) {
      const std::string customer = a.at("customer");
      auto found = index_of.find(customer);
      // A snapshot built without a store has no store ids: each external id gets one here.
      const CustomerId id = ids.try_emplace(customer, CustomerId{static_cast<std::int64_t>(ids.size()) + 1}).first->second;
      answers.push_back({id, Time(a.at("at")), survey::ParseQuestionKind(a.at("kind").get<std::string>()).value(),
                         a.at("score").get<int>(), t});
      index.push_back(found != index_of.end() ? found->second : -1);
    }
  }
  return std::make_shared<survey::SurveyFeedback>(std::move(answers), std::move(index), latest_only);
}

void RunScenario(const std::filesystem::path& file) {
  std::ifstream in(file);
  const json doc = json::parse(in);
  const auto snap = Load(doc);
  const Analytics a(snap);
  const auto feedback = Feedback(doc, *snap, false), latest_feedback = Feedback(doc, *snap, true);
  int n = 0;
  for (const json& check : doc.at("checks")) {
    const std::string where = file.filename().string() + " check " + std::to_string(n++) + " " + check.dump();
    KpiOptions o = DefaultKpiOptions(*snap);
    o.feedback = feedback;
    if (check.contains("options")) {
      if (check["options"].value("latest_only", false)) o.feedback = latest_feedback;
      o.window_days = check["options"].value("window_days", o.window_days);
      if (check["options"].contains("basis")) o.basis = ParseRetentionBasis(check["options"]["basis"].get<std::string>()).value();
    }
    if (check.contains("kpi")) {
      const Period p = Period::Parse(check.at("period").get<std::string>()).value();
      auto r = a.Compute(check.at("kpi").get<std::string>(), p, o);
      ASSERT_TRUE(r.has_value()) << where << ": " << r.error().ToString();
      const json got = KpiResultJson(*r, snap->currency());
      if (check.value("null", false)) {
        EXPECT_TRUE(got["value"].is_null()) << where << ": " << got.dump();
        EXPECT_FALSE(got["null_reason"].get<std::string>().empty()) << where;
      } else {
        ExpectSubset(check.at("value"), got["value"], where + " value");
      }
      if (check.contains("inputs")) ExpectSubset(check["inputs"], got["inputs"], where + " inputs");
    } else if (check.contains("mrr")) {
      const Period p = Period::Parse(check.at("mrr").get<std::string>()).value();
      const MrrMovements m = a.Movements(p.Start(a.zone()), p.End(a.zone()), o);
      // The identity holds exactly, in MRR units.
      EXPECT_EQ(m.mrr_end, m.mrr_start + m.new_mrr + m.reactivation + m.expansion - m.contraction - m.churn) << where;
      ExpectSubset(check.at("expect"), MrrJson(p, m, snap->currency()), where);
    } else if (check.contains("cohorts")) {
      const json& c = check["cohorts"];
      CohortOptions co;
      const std::string by = c.value("by", "month");
      co.by = by == "week" ? PeriodKind::kWeek : by == "quarter" ? PeriodKind::kQuarter : PeriodKind::kMonth;
      co.revenue = c.value("revenue", false);
      if (c.contains("from")) co.from = Period::Parse(c["from"].get<std::string>()).value();
      if (c.contains("to")) co.to = Period::Parse(c["to"].get<std::string>()).value();
      auto rows = Cohorts(a, co, o);
      ASSERT_TRUE(rows.has_value()) << where;
      ExpectSubset(check.at("expect"), CohortsJson(*rows, co, o)["cohorts"], where);
    } else {
      ADD_FAILURE() << where << ": a check needs kpi, mrr or cohorts";
    }
  }
  EXPECT_GT(n, 0) << file;
}

TEST(KpiScenarios, EveryScenarioHolds) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(TREU_KPI_SCENARIOS)) {
    if (entry.path().extension() != ".json") continue;
    SCOPED_TRACE(entry.path().filename().string());
    RunScenario(entry.path());
    ++files;
  }
  EXPECT_GE(files, 3);
}

}  // namespace
}  // namespace treu
