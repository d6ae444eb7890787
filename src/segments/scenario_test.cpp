// The scenarios of test/logic/segments/*.json on a real store: customers, orders and events
// written through the storage API, each case's expected members, and re-evaluations over time
// with the entered/left transitions they record.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "segments/library.hpp"
#include "segments/membership.hpp"
#include "storage/sqlite/temp_store_testing.hpp"

namespace treu::segment {
namespace {

using nlohmann::json;

Timestamp At(const json& text) { return ParseTimestamp(text.get<std::string>(), TimeZone::Utc()).value(); }

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class ScenarioTest : public ::testing::TestWithParam<std::string> {};

// Writes the scenario's data into `store`'s workspace.
void Load(const json& s, Store& store, Workspace& ws, const Clock& clock) {
  ws.time_zone = s.value("time_zone", "UTC");
  ASSERT_TRUE(store.UpdateWorkspace(ws));
  auto tx = store.BeginWrite(ws.id).value();
  std::vector<Customer> customers;
  for (const json& c : s["customers"]) {
    Customer cu;
    cu.external_id = c["id"];
    cu.email = c.value("email", "");
    cu.country = c.value("country", "");
    const json attributes = c.value("attributes", json::object());
    for (const auto& [name, v] : attributes.items()) {
      if (v.is_string()) cu.attributes[name] = v.get<std::string>();
      if (v.is_number()) cu.attributes[name] = v.get<double>();
      if (v.is_boolean()) cu.attributes[name] = v.get<bool>();
    }
    const json consent = c.value("consent", json::object());
    for (const auto& [channel, granted] : consent.items()) {
      ASSERT_EQ(channel, "email");
      cu.consent[Channel::kEmail] = {granted.get<bool>(), "import", clock.Now()};
    }
    customers.push_back(std::move(cu));
  }
  ASSERT_TRUE(tx->UpsertCustomers(customers, Timestamp{0}));
  std::vector<std::string> ext;
  for (const Customer& c : customers) ext.push_back(c.external_id);
  const auto ids = tx->ResolveCustomers(ext, Timestamp{0}).value();
  auto id_of = [&](const json& name) {
    return ids[static_cast<std::size_t>(std::find(ext.begin(), ext.end(), name.get<std::string>()) - ext.begin())];
  };
  std::vector<Order> orders;
  const json order_list = s.value("orders", json::array());
  for (const json& o : order_list) {
    Order order;
    order.external_id = o["id"];
    order.customer = id_of(o["customer"]);
    order.placed_at = At(o["at"]);
    order.total = Money{std::llround(o["total"].get<double>() * 100), *ws.currency};
    orders.push_back(std::move(order));
  }
  ASSERT_TRUE(tx->InsertOrders(orders));
  std::vector<Event> events;
  const json event_list = s.value("events", json::array());
  for (const json& e : event_list) {
    Event ev;
    ev.name = e["name"];
    ev.message_id = "m" + std::to_string(events.size());
    ev.user_id = e["customer"];
    ev.customer = id_of(e["customer"]);
    ev.timestamp = ev.received_at = At(e["at"]);
    ev.properties_json = e.value("properties", json::object()).dump();
    events.push_back(std::move(ev));
  }
  ASSERT_TRUE(tx->InsertEvents(events));
  ASSERT_TRUE(tx->Commit());
}

TEST_P(ScenarioTest, MembersAndTransitionsAreAsExpected) {
  std::ifstream in(GetParam());
  const json s = json::parse(in);
  const Timestamp now = At(s["now"]);
  ManualClock clock(now);
  testing::TempSqliteStore temp("treu-segment-scenario", clock);
  Store& store = *temp.store;
  Workspace& ws = temp.workspace;
  Load(s, store, ws, clock);
  if (HasFatalFailure()) return;
  const json saved = s.value("segments", json::array());  // [name, expression], saved in order
  for (const json& pair : saved) {
    const std::string name = pair[0];
    ASSERT_TRUE(SaveChecked(store, ws.id, name, pair[1].get<std::string>(), now)) << name;
  }
  const auto snap = BuildSnapshot(store, ws.id).value();
  const SegmentLibrary lib = SegmentLibrary::Load(store, ws.id).value();
  for (const json& c : s["cases"]) {
    const std::string text = c["expr"];
    BindOptions o;
    o.lookup = lib.Lookup();
    auto bound = ParseAndBind(text, o);
    if (c.value("error", false)) {
      EXPECT_FALSE(bound) << text;
      continue;
    }
    ASSERT_TRUE(bound) << bound.error().ToString();
    auto m = EvaluateSegment(store, ws, snap, **bound, lib, now);
    ASSERT_TRUE(m) << text << ": " << m.error().ToString();
    std::vector<std::string> got;
    for (Snapshot::Index i = 0; i < m->members.size(); ++i) {
      if (m->members[i]) got.push_back(snap->external_id(i));
    }
    EXPECT_EQ(Sorted(got), Sorted(c["members"].get<std::vector<std::string>>())) << text;
  }
  std::int64_t last_transition = 0;
  const json refreshes = s.value("refreshes", json::array());
  for (const json& r : refreshes) {
    const Timestamp at = At(r["now"]);
    auto report = RefreshSegments(store, ws, snap, at, nullptr);
    ASSERT_TRUE(report) << report.error().ToString();
    EXPECT_TRUE(report->failed.empty());
    for (const auto& [name, want] : r["expect"].items()) {
      const auto seg = store.FindSegment(ws.id, name).value();
      ASSERT_TRUE(seg) << name;
      std::vector<std::string> members, entered, left;
      const std::vector<SegmentMember> stored = store.ListSegmentMembers(ws.id, seg->id, 0, 0).value();
      for (const SegmentMember& mem : stored) {
        members.push_back(mem.external_id);
      }
      const std::vector<SegmentTransition> log = store.ListSegmentTransitions(ws.id, seg->id, last_transition, 1000).value();
      for (const SegmentTransition& t : log) {
        EXPECT_EQ(t.at, at);
        (t.entered ? entered : left).push_back(t.external_id);
      }
      const std::string where = name + " at " + r["now"].get<std::string>();
      EXPECT_EQ(Sorted(members), Sorted(want["members"].get<std::vector<std::string>>())) << where;
      EXPECT_EQ(Sorted(entered), Sorted(want["entered"].get<std::vector<std::string>>())) << where;
      EXPECT_EQ(Sorted(left), Sorted(want["left"].get<std::vector<std::string>>())) << where;
      const auto sizes = store.ListSegmentSizes(ws.id, seg->id, Timestamp{0}).value();
      ASSERT_FALSE(sizes.empty());
      EXPECT_EQ(sizes.back().size, static_cast<std::int64_t>(members.size())) << where;
    }
    // The next refresh looks at the transitions after these only.
    std::int64_t newest = last_transition;
    const std::vector<SegmentDefinition> all = store.ListSegments(ws.id).value();
    for (const SegmentDefinition& d : all) {
      const std::vector<SegmentTransition> log = store.ListSegmentTransitions(ws.id, d.id, last_transition, 100000).value();
      for (const SegmentTransition& t : log) newest = std::max(newest, t.id);
    }
    last_transition = newest;
  }
}

std::vector<std::string> Scenarios() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(TREU_SEGMENT_SCENARIOS)) {
    if (e.path().extension() == ".json") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, ScenarioTest, ::testing::ValuesIn(Scenarios()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = std::filesystem::path(info.param).stem().string();
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace treu::segment
