#include "journeys/service.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "campaigns/frequency.hpp"
#include "campaigns/service.hpp"
#include "campaigns/timing.hpp"
#include "journeys/definition_json.hpp"
#include "loyalty/service.hpp"
#include "messaging/composer.hpp"
#include "messaging/settings.hpp"
#include "segments/library.hpp"
#include "surveys/invitations.hpp"

namespace treu::journeys {
namespace {

// A tracked event or an order counts as happening live (for triggers, waits and goals) when it
// is written within this long of its own time: an import of last year's orders enters nobody.
constexpr std::int64_t kLiveWindow = kMicrosPerDay;
// An order written live is the event "Order Completed" of its customer (the Segment spec's name).
constexpr std::string_view kOrderEvent = "Order Completed";
// A date trigger's customers are scanned at most this often.
constexpr std::int64_t kDateScanInterval = 10 * 60 * kMicrosPerSecond;
constexpr int kPage = 1000;

std::string StepContextName(std::size_t index, std::string_view member) {
  return "steps." + std::to_string(index) + "." + std::string(member);
}

Status Named(Status st, std::string context) {
  if (st) return st;
  return MakeError(st.error().code(), std::move(context), st.error().detail());
}

// The latest segment transition id of segment `id` (a new journey reads from there on).
Result<std::int64_t> LatestTransition(Store& store, WorkspaceId ws, std::int64_t id) {
  std::int64_t after = 0;
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ListSegmentTransitions(ws, id, after, 10'000));
    if (page.empty()) return after;
    after = page.back().id;
    if (page.size() < 10'000) return after;
  }
}

Result<std::int64_t> LatestResponse(Store& store, WorkspaceId ws, std::int64_t survey) {
  std::int64_t after = 0;
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ListSurveyResponses(ws, survey, after, kPage));
    if (page.empty()) return after;
    after = page.back().id;
    if (page.size() < static_cast<std::size_t>(kPage)) return after;
  }
}

Result<std::int64_t> LatestChange(Store& store, WorkspaceId ws, std::int64_t from) {
  std::int64_t seq = from;
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto page, store.ReadChanges(ws, seq, kPage));
    if (page.empty()) return seq;
    seq = page.back().seq;
  }
}

Result<std::int64_t> SegmentId(Store& store, WorkspaceId ws, const std::string& name, const std::string& context) {
  TREU_ASSIGN_OR_RETURN(auto found, store.FindSegment(ws, name));
  if (!found) return NotFound(context, "there is no saved segment '" + name + "'");
  return found->id;
}

Result<std::int64_t> SurveyId(Store& store, WorkspaceId ws, const std::string& name, const std::string& context) {
  TREU_ASSIGN_OR_RETURN(auto found, store.FindSurvey(ws, name));
  if (!found) return NotFound(context, "there is no survey '" + name + "'");
  return found->id;
}

// The checks against the workspace, each naming its member.
Status CheckReferences(Store& store, const Workspace& ws, const JourneyDefinition& def) {
  const Trigger& t = def.trigger;
  switch (t.type) {
    case TriggerType::kEvent:
      if (!t.where.empty()) TREU_RETURN_IF_ERROR(Named(segment::CheckSelection(store, ws.id, t.where, ""), "trigger.where"));
      break;
    case TriggerType::kSegmentEntered:
    case TriggerType::kSegmentLeft:
      TREU_RETURN_IF_ERROR(SegmentId(store, ws.id, t.segment, "trigger.segment"));
      break;
    case TriggerType::kSurveyAnswer:
      TREU_RETURN_IF_ERROR(SurveyId(store, ws.id, t.survey, "trigger.survey"));
      break;
    case TriggerType::kDate:
      break;
  }
  if (!def.goal.segment.empty()) TREU_RETURN_IF_ERROR(SegmentId(store, ws.id, def.goal.segment, "goal.segment"));
  for (std::size_t i = 0; i < def.steps.size(); ++i) {
    const StepBody& body = def.steps[i].body;
    if (const auto* send = std::get_if<SendStep>(&body)) {
      TREU_ASSIGN_OR_RETURN(auto tpl, store.FindMessageTemplate(ws.id, send->template_name));
      if (!tpl) return NotFound(StepContextName(i, "template"), "there is no template '" + send->template_name + "'");
      if (!send->survey.empty()) TREU_RETURN_IF_ERROR(SurveyId(store, ws.id, send->survey, StepContextName(i, "survey")));
      TREU_ASSIGN_OR_RETURN(const bool links, messaging::LinksToSurvey(*tpl));
      if (!send->survey.empty() && !links) {
        return InvalidArgument(StepContextName(i, "template"),
                               "template '" + send->template_name + "' doesn't link to the survey: put {{ survey_url }} in it");
      }
      if (send->survey.empty() && links) {
        return InvalidArgument(StepContextName(i, "survey"),
                               "is required: template '" + send->template_name + "' links to {{ survey_url }}");
      }
    } else if (const auto* branch = std::get_if<BranchStep>(&body)) {
      TREU_RETURN_IF_ERROR(Named(segment::CheckSelection(store, ws.id, branch->condition, ""), StepContextName(i, "if")));
    } else if (const auto* reward = std::get_if<GrantRewardStep>(&body)) {
      TREU_ASSIGN_OR_RETURN(auto found, store.FindLoyaltyReward(ws.id, reward->reward));
      if (!found) return NotFound(StepContextName(i, "reward"), "there is no reward '" + reward->reward + "'");
    } else if (const auto* hook = std::get_if<WebhookStep>(&body)) {
      TREU_ASSIGN_OR_RETURN(auto found, store.FindWebhookEndpoint(ws.id, hook->endpoint));
      if (!found) return NotFound(StepContextName(i, "endpoint"), "there is no webhook endpoint '" + hook->endpoint + "'");
    } else if (std::holds_alternative<FollowupStep>(body)) {
      if (t.type != TriggerType::kSurveyAnswer)
        return InvalidArgument(StepContextName(i, "type"),
                               "a follow-up is about a survey response: it needs a survey_answer trigger");
    }
  }
  return Ok();
}

// The cursors of a journey starting now.
Status StartCursors(Store& store, const Workspace& ws, const JourneyDefinition& def, JourneyRecord& j, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(j.change_seq, LatestChange(store, ws.id, j.change_seq));
  const Trigger& t = def.trigger;
  if (t.type == TriggerType::kSegmentEntered || t.type == TriggerType::kSegmentLeft) {
    TREU_ASSIGN_OR_RETURN(std::int64_t id, SegmentId(store, ws.id, t.segment, "trigger.segment"));
    TREU_ASSIGN_OR_RETURN(j.trigger_cursor, LatestTransition(store, ws.id, id));
  } else if (t.type == TriggerType::kSurveyAnswer) {
    TREU_ASSIGN_OR_RETURN(std::int64_t id, SurveyId(store, ws.id, t.survey, "trigger.survey"));
    TREU_ASSIGN_OR_RETURN(j.trigger_cursor, LatestResponse(store, ws.id, id));
  } else if (t.type == TriggerType::kDate) {
    j.trigger_cursor = now.micros;
  }
  if (!def.goal.segment.empty()) {
    TREU_ASSIGN_OR_RETURN(std::int64_t id, SegmentId(store, ws.id, def.goal.segment, "goal.segment"));
    TREU_ASSIGN_OR_RETURN(j.goal_cursor, LatestTransition(store, ws.id, id));
  }
  return Ok();
}

JourneyRunRow ToRow(const JourneyRun& r) {
  JourneyRunRow row;
  row.id = r.run_id;
  row.journey_id = r.journey_id;
  row.version = r.version;
  row.customer = r.customer;
  row.zone = r.zone.is_utc() ? "" : r.zone.name();
  row.step = r.step;
  row.state = std::string(RunStateName(r.state));
  row.wake_at = r.wake_at;
  row.entered_at = r.entered_at;
  row.step_entered_at = r.step_entered_at;
  row.ended_at = r.ended_at;
  row.steps_executed = r.steps_executed;
  return row;
}

Result<RunState> ParseRunState(std::string_view s) {
  for (RunState st : {RunState::kActive, RunState::kWaiting, RunState::kWaitingForEvent, RunState::kExited,
                      RunState::kCompleted}) {
    if (RunStateName(st) == s) return st;
  }
  return Internal("journey run", "unknown run state '" + std::string(s) + "'");
}

// Time zones by name, found once.
class Zones {
 public:
  const TimeZone& Get(const std::string& name) {
    auto it = zones_.find(name);
    if (it != zones_.end()) return it->second;
    auto found = name.empty() ? Result<TimeZone>(TimeZone::Utc()) : TimeZone::Find(name);
    return zones_.emplace(name, found ? *found : TimeZone::Utc()).first->second;
  }

 private:
  std::unordered_map<std::string, TimeZone> zones_;
};

Result<JourneyRun> FromRow(const JourneyRunRow& row, Zones& zones) {
  JourneyRun r;
  r.run_id = row.id;
  r.journey_id = row.journey_id;
  r.version = row.version;
  r.customer = row.customer;
  r.zone = zones.Get(row.zone);
  r.step = row.step;
  TREU_ASSIGN_OR_RETURN(r.state, ParseRunState(row.state));
  r.wake_at = row.wake_at;
  r.entered_at = row.entered_at;
  r.step_entered_at = row.step_entered_at;
  r.ended_at = row.ended_at;
  r.steps_executed = row.steps_executed;
  return r;
}

// A customer's event as journeys see it.
struct LiveEvent {
  CustomerId customer;
  std::string name;
  Timestamp at;
};

// Live events and orders of the change log after `seq`; returns the new cursor.
Result<std::int64_t> ReadLiveEvents(Store& store, WorkspaceId ws, std::int64_t seq, std::vector<LiveEvent>& out) {
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto changes, store.ReadChanges(ws, seq, kPage));
    if (changes.empty()) return seq;
    for (const Change& c : changes) {
      seq = c.seq;
      if (c.op != ChangeOp::kInsert) continue;
      if (c.entity == Entity::kEvent) {
        for (std::int64_t after = c.entity_id - 1; after < c.last_entity_id;) {
          TREU_ASSIGN_OR_RETURN(auto events, store.ListEvents(ws, "", after, kPage));
          if (events.empty()) break;
          for (const Event& e : events) {
            after = e.id.value;
            if (e.id.value > c.last_entity_id) break;
            if (e.type != EventType::kTrack || !e.customer.valid()) continue;
            if (e.timestamp.micros < c.at.micros - kLiveWindow) continue;
            out.push_back({e.customer, e.name, c.at});
          }
        }
      } else if (c.entity == Entity::kOrder) {
        for (std::int64_t after = c.entity_id - 1; after < c.last_entity_id;) {
          TREU_ASSIGN_OR_RETURN(auto orders, store.ListOrders(ws, "", after, kPage));
          if (orders.empty()) break;
          for (const Order& o : orders) {
            after = o.id.value;
            if (o.id.value > c.last_entity_id) break;
            if (o.status != OrderStatus::kCompleted || o.placed_at.micros < c.at.micros - kLiveWindow) continue;
            out.push_back({o.customer, std::string(kOrderEvent), c.at});
          }
        }
      }
    }
  }
}

std::string FormatSequence(const JourneyRun& r, std::int64_t sequence) {
  return std::to_string(r.journey_id) + ":" + std::to_string(r.customer.value) + ":" +
         std::to_string(r.entered_at.micros) + ":" + std::to_string(sequence);
}

}  // namespace

Result<JourneyVersion> LoadVersion(Store& store, const JourneyRecord& record, int version) {
  std::string text;
  if (version == record.version) {
    text = record.definition;
  } else {
    TREU_ASSIGN_OR_RETURN(auto found, store.FindJourneyVersion(record.workspace, record.id, version));
    if (!found) return NotFound("version", "journey '" + record.name + "' has no version " + std::to_string(version));
    text = std::move(*found);
  }
  auto def = ParseJourneyText(text);
  if (!def) return std::unexpected(def.error().front());
  TREU_ASSIGN_OR_RETURN(JourneyKey key, ParseJourneyKey(record.split_key));
  return JourneyVersion::Create(record.id, version, key, std::move(*def));
}

Result<SaveOutcome> SaveJourney(Store& store, const Workspace& ws, const JourneyDefinition& def, std::string_view state,
                                Timestamp now) {
  TREU_RETURN_IF_ERROR(CheckJourney(def));
  if (!state.empty() && state != "active" && state != "paused")
    return InvalidArgument("state", "must be active or paused, not '" + std::string(state) + "'");
  TREU_RETURN_IF_ERROR(CheckReferences(store, ws, def));
  TREU_ASSIGN_OR_RETURN(auto found, store.FindJourney(ws.id, def.name));
  SaveOutcome out;
  JourneyRecord j;
  if (found) {
    j = *found;
    TREU_ASSIGN_OR_RETURN(JourneyVersion latest, LoadVersion(store, j, j.version));
    const int version = VersionForSave(&latest, def);
    out.new_version = version != j.version;
    j.version = version;
    // A new trigger or goal segment is read from now on.
    const JourneyDefinition& before = latest.definition();
    if (!(before.trigger == def.trigger) || before.goal.segment != def.goal.segment) {
      JourneyRecord fresh = j;
      TREU_RETURN_IF_ERROR(StartCursors(store, ws, def, fresh, now));
      if (!(before.trigger == def.trigger)) j.trigger_cursor = fresh.trigger_cursor;
      if (before.goal.segment != def.goal.segment) j.goal_cursor = fresh.goal_cursor;
    }
  } else {
    out.created = out.new_version = true;
    j.workspace = ws.id;
    j.name = def.name;
    j.version = 1;
    j.split_key = FormatJourneyKey(NewJourneyKey());
    j.created_at = now;
    TREU_RETURN_IF_ERROR(StartCursors(store, ws, def, j, now));
  }
  j.definition = FormatJourneyJson(def);
  if (!state.empty()) j.state = std::string(state);
  j.updated_at = now;
  TREU_ASSIGN_OR_RETURN(out.record, store.SaveJourney(j));
  if (!found) {
    // Store::SaveJourney keeps the cursors of a row that exists: had a concurrent save created
    // the journey since FindJourney, its cursors would stay. This one's start from now.
    JourneyRecord cursors = out.record;
    cursors.change_seq = j.change_seq;
    cursors.trigger_cursor = j.trigger_cursor;
    cursors.goal_cursor = j.goal_cursor;
    TREU_RETURN_IF_ERROR(store.WriteJourneyRuns(ws.id, out.record.id, {}, {}, &cursors));
    out.record = cursors;
  } else if (j.trigger_cursor != found->trigger_cursor || j.goal_cursor != found->goal_cursor) {
    TREU_RETURN_IF_ERROR(store.WriteJourneyRuns(ws.id, out.record.id, {}, {}, &j));
    out.record.trigger_cursor = j.trigger_cursor;
    out.record.goal_cursor = j.goal_cursor;
  }
  return out;
}

Result<JourneyRecord> SetJourneyState(Store& store, WorkspaceId ws, std::string_view name, std::string_view state,
                                      Timestamp now) {
  if (state != "active" && state != "paused")
    return InvalidArgument("state", "must be active or paused, not '" + std::string(state) + "'");
  TREU_ASSIGN_OR_RETURN(auto found, store.FindJourney(ws, name));
  if (!found) return NotFound("journey " + std::string(name), "no such journey");
  found->state = std::string(state);
  found->updated_at = now;
  return store.SaveJourney(*found);
}

Status DeleteJourney(Store& store, WorkspaceId ws, std::string_view name) { return store.DeleteJourney(ws, name); }

// ---- Running ----

namespace {

// One pass over a workspace's journeys: shared lookups (snapshot, zones, conditions, composers,
// the frequency cap) and the runs to write.
class Pass {
 public:
  Pass(Store& store, const Workspace& ws, SnapshotCache& snapshots, const RunOptions& options, Timestamp now)
      : store_(store), ws_(ws), snapshots_(snapshots), options_(options), now_(now) {}

  PassReport report;

  // Everything of journey `j` but its due wakes.
  Status RunInputs(JourneyRecord& j);
  // Entering the trigger segment's members now.
  Status EnterMembers(JourneyRecord& j);
  // The waits of `ws` that are over (any journey).
  Status WakeDue();

 private:
  struct Journey {
    JourneyRecord record;
    std::map<int, std::unique_ptr<JourneyVersion>> versions;
  };

  Result<Journey*> JourneyById(std::int64_t id);
  Result<const JourneyVersion*> Version(Journey& j, int version);
  Result<std::shared_ptr<const Snapshot>> Snap();
  Result<std::optional<Snapshot::Index>> IndexOf(CustomerId c);
  Result<std::string> ZoneNameOf(CustomerId c);
  StepContext ContextFor(CustomerId c);
  Result<bool> Holds(std::string_view expression, CustomerId c);

  // Enters customers at the given instants (in order), applying the re-entry rules.
  Status Enter(Journey& j, const std::vector<std::pair<CustomerId, Timestamp>>& who);
  // Moves runs inside journey j of customers with live events.
  Status OnEvents(Journey& j, const std::vector<LiveEvent>& events);
  Status OnGoalSegment(Journey& j, const std::vector<SegmentTransition>& entered);
  // Performs the outcome's actions and records the run and counts for the next Flush.
  Status Apply(Journey& j, const Outcome& out);
  Result<std::string> Perform(Journey& j, const JourneyRun& run, const Action& a);
  Result<std::string> Send(Journey& j, const JourneyRun& run, const Action& a, const SendStep& step);
  // The invitation of a send step with a survey: its link, or (no link) the outcome that stops
  // the send.
  struct SurveyLink {
    std::string link;
    std::string outcome;
  };
  Result<SurveyLink> Invite(const JourneyRun& run, const Action& a, const SendStep& step);
  Status Flush(Journey& j, const JourneyRecord* cursors);
  Status LoadCapHistory();

  Store& store_;
  const Workspace& ws_;
  SnapshotCache& snapshots_;
  RunOptions options_;
  Timestamp now_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::unordered_map<std::int64_t, Snapshot::Index> index_;
  std::unordered_map<std::int64_t, std::string> zone_names_;
  Zones zones_;
  std::map<std::string, std::vector<bool>, std::less<>> conditions_;
  std::map<std::string, std::unique_ptr<messaging::Composer>, std::less<>> composers_;
  std::optional<campaigns::DeliveryRules> rules_;
  std::optional<std::unordered_map<std::int64_t, std::vector<campaigns::CountedMessage>>> history_;
  std::unordered_map<std::int64_t, std::vector<MarketingMessageRow>> queued_campaign_;  // displaceable
  std::optional<loyalty::Program> program_;
  bool program_loaded_ = false;
  // Surveys invited to by send steps, with the recorded schedule facts of the customers who
  // have any (kept current as this pass invites), and the address survey links start with.
  struct Invitations {
    survey::Survey survey;
    survey::RecordedFacts recorded;
  };
  std::map<std::string, Invitations, std::less<>> invitations_;
  std::optional<std::string> public_url_;
  // Actions performed in one write at Flush: points grants and attribute changes.
  std::vector<std::pair<CustomerId, loyalty::ManualTransfer>> points_;
  std::map<std::string, Customer> attributes_;  // by external id
  std::map<std::int64_t, std::unique_ptr<Journey>> journeys_;

  std::vector<JourneyRunRow> rows_;
  std::map<std::tuple<int, std::string, std::string>, std::int64_t> deltas_;
};

Result<Pass::Journey*> Pass::JourneyById(std::int64_t id) {
  if (auto it = journeys_.find(id); it != journeys_.end()) return it->second.get();
  TREU_ASSIGN_OR_RETURN(auto all, store_.ListJourneys(ws_.id));
  for (JourneyRecord& r : all) {
    if (journeys_.contains(r.id)) continue;
    auto j = std::make_unique<Journey>();
    j->record = std::move(r);
    journeys_.emplace(j->record.id, std::move(j));
  }
  if (auto it = journeys_.find(id); it != journeys_.end()) return it->second.get();
  return NotFound("journey " + std::to_string(id), "no such journey");
}

Result<const JourneyVersion*> Pass::Version(Journey& j, int version) {
  if (auto it = j.versions.find(version); it != j.versions.end()) return it->second.get();
  TREU_ASSIGN_OR_RETURN(JourneyVersion v, LoadVersion(store_, j.record, version));
  auto& slot = j.versions[version];
  slot = std::make_unique<JourneyVersion>(std::move(v));
  return slot.get();
}

Result<std::shared_ptr<const Snapshot>> Pass::Snap() {
  if (!snapshot_) {
    TREU_ASSIGN_OR_RETURN(snapshot_, snapshots_.Get(store_, ws_.id));
    index_.reserve(snapshot_->customers());
    for (Snapshot::Index i = 0; i < snapshot_->customers(); ++i) index_.emplace(snapshot_->customer_id(i).value, i);
  }
  return snapshot_;
}

Result<std::optional<Snapshot::Index>> Pass::IndexOf(CustomerId c) {
  TREU_RETURN_IF_ERROR(Snap());
  auto it = index_.find(c.value);
  if (it == index_.end()) return std::optional<Snapshot::Index>();
  return std::optional<Snapshot::Index>(it->second);
}

Result<std::string> Pass::ZoneNameOf(CustomerId c) {
  if (auto it = zone_names_.find(c.value); it != zone_names_.end()) return it->second;
  TREU_ASSIGN_OR_RETURN(auto external, store_.CustomerExternalId(ws_.id, c));
  std::string zone = ws_.time_zone;
  if (external) {
    TREU_ASSIGN_OR_RETURN(auto customer, store_.FindCustomer(ws_.id, *external));
    if (customer && !customer->time_zone.empty()) zone = customer->time_zone;
  }
  return zone_names_.emplace(c.value, zone).first->second;
}

Result<bool> Pass::Holds(std::string_view expression, CustomerId c) {
  auto it = conditions_.find(expression);
  if (it == conditions_.end()) {
    TREU_ASSIGN_OR_RETURN(auto s, Snap());
    TREU_ASSIGN_OR_RETURN(auto members, segment::SelectCustomers(store_, ws_, s, expression, "", now_));
    it = conditions_.emplace(std::string(expression), std::move(members)).first;
  }
  TREU_ASSIGN_OR_RETURN(auto i, IndexOf(c));
  return i.has_value() && *i < it->second.size() && it->second[*i];
}

StepContext Pass::ContextFor(CustomerId c) {
  StepContext ctx;
  ctx.condition = [this, c](std::string_view expression) { return Holds(expression, c); };
  return ctx;
}

Status Pass::LoadCapHistory() {
  if (history_) return Ok();
  history_.emplace();
  if (!rules_) {
    TREU_ASSIGN_OR_RETURN(auto rules, campaigns::LoadDeliveryRules(store_, ws_.id));
    rules_ = rules;
  }
  if (!rules_->cap.enabled()) return Ok();
  const Timestamp from{now_.micros - rules_->cap.window_micros - 2 * kMicrosPerDay};
  const Timestamp to{now_.micros + rules_->cap.window_micros + 3 * kMicrosPerDay};
  TREU_ASSIGN_OR_RETURN(auto rows, store_.ListMarketingMessages(ws_.id, from, to));
  for (MarketingMessageRow& r : rows) {
    const campaigns::Priority priority = campaigns::PriorityOfMessage(r.campaign);
    (*history_)[r.customer.value].push_back({r.id, r.at, priority, r.state == MessageState::kSent});
    if (priority == campaigns::Priority::kCampaign && !r.campaign.empty() && r.state == MessageState::kQueued)
      queued_campaign_[r.customer.value].push_back(std::move(r));
  }
  return Ok();
}

Result<std::string> Pass::Send(Journey& j, const JourneyRun& run, const Action& a, const SendStep& step) {
  auto cit = composers_.find(step.template_name);
  if (cit == composers_.end()) {
    TREU_ASSIGN_OR_RETURN(auto s, Snap());
    TREU_ASSIGN_OR_RETURN(auto tpl, store_.FindMessageTemplate(ws_.id, step.template_name));
    if (!tpl) return std::string("no_template");
    std::vector<MessageTemplateRecord> templates{std::move(*tpl)};
    TREU_ASSIGN_OR_RETURN(auto composer, messaging::Composer::Prepare(store_, ws_, s, options_.predictions,
                                                                      std::move(templates), options_.secret, now_));
    cit = composers_.emplace(step.template_name, std::move(composer)).first;
  }
  const messaging::Composer& composer = *cit->second;
  TREU_ASSIGN_OR_RETURN(auto index, IndexOf(run.customer));
  if (!index) {
    // Newer than the snapshot: the live snapshot catches up on the next pass.
    snapshot_.reset();
    TREU_ASSIGN_OR_RETURN(index, IndexOf(run.customer));
    if (!index) return Unavailable("customer " + std::to_string(run.customer.value), "not in the snapshot yet");
  }
  const bool marketing = step.category == MessageCategory::kMarketing;
  const messaging::Skip skip = composer.Check(*index, marketing);
  if (skip != messaging::Skip::kNone) return std::string(messaging::SkipName(skip));
  Timestamp due = now_;
  campaigns::CapDecision cap;
  if (marketing) {
    TREU_RETURN_IF_ERROR(LoadCapHistory());
    const TimeZone& zone = zones_.Get(composer.data().ZoneName(*index));
    due = campaigns::DeferPastQuietHours(due, zone, rules_->quiet);
    cap = campaigns::DecideCap(rules_->cap, campaigns::Priority::kJourney, due, (*history_)[run.customer.value]);
    if (!cap.allowed) {
      ++report.capped;
      return std::string("capped");
    }
  }
  // Invited only when the message goes out: a capped customer isn't counted as asked.
  SurveyLink survey;
  if (!step.survey.empty()) {
    TREU_ASSIGN_OR_RETURN(survey, Invite(run, a, step));
    if (survey.link.empty()) return survey.outcome;
  }
  if (marketing) {
    auto& mine = (*history_)[run.customer.value];
    if (cap.displaced != 0) {
      auto& queued = queued_campaign_[run.customer.value];
      auto it = std::find_if(queued.begin(), queued.end(), [&](const MarketingMessageRow& r) { return r.id == cap.displaced; });
      if (it != queued.end()) {
        // A planned campaign message (id: minus the campaign's) is capped before it is rendered;
        // one in the outbox is cancelled (both, for one rendered meanwhile).
        if (it->id < 0) {
          TREU_RETURN_IF_ERROR(store_.UnplanCampaignMembers(ws_.id, -it->id, run.customer, "capped"));
        }
        MessageFilter f;
        f.customer = run.customer;
        f.campaign = it->campaign;
        f.state = MessageState::kQueued;
        TREU_RETURN_IF_ERROR(store_.CancelMessages(ws_.id, f, now_));
        std::erase_if(mine, [&](const campaigns::CountedMessage& m) { return m.id == cap.displaced; });
        queued.erase(it);
      }
    }
    mine.push_back({0, due, campaigns::Priority::kJourney, false});
  }
  std::vector<OutboxMessage> messages;
  const messaging::Composer::Envelope envelope{marketing ? "marketing" : "transactional",
                                               campaigns::JourneyMessageTag(j.record.name, a.step_id),
                                               campaigns::JourneyActionKey(FormatSequence(run, a.sequence)), due, now_,
                                               std::move(survey.link)};
  TREU_RETURN_IF_ERROR(composer.Compose(0, *index, envelope, messages));
  TREU_ASSIGN_OR_RETURN(std::int64_t inserted, store_.EnqueueMessages(ws_.id, messages, now_));
  report.messages += inserted;
  return std::string(due == now_ ? "queued" : "deferred");
}

Result<Pass::SurveyLink> Pass::Invite(const JourneyRun& run, const Action& a, const SendStep& step) {
  if (!options_.read_survey) return SurveyLink{"", "no_survey_reader"};
  auto it = invitations_.find(step.survey);
  if (it == invitations_.end()) {
    TREU_ASSIGN_OR_RETURN(auto record, store_.FindSurvey(ws_.id, step.survey));
    if (!record) return SurveyLink{"", "no_survey"};
    TREU_ASSIGN_OR_RETURN(survey::Survey parsed, options_.read_survey(*record));
    // One scan of the invitations (and trigger events) per pass and survey; kept by customer.
    TREU_ASSIGN_OR_RETURN(auto recorded, survey::LoadRecordedFacts(store_, ws_.id, parsed));
    it = invitations_.emplace(step.survey, Invitations{std::move(parsed), std::move(recorded)}).first;
  }
  if (!public_url_) {
    TREU_ASSIGN_OR_RETURN(auto settings, messaging::LoadMessagingSettings(store_, ws_.id));
    public_url_ = settings.public_url;
  }
  survey::InviteOptions options;
  options.base_url = *public_url_;
  std::optional<Timestamp> last_order;
  TREU_ASSIGN_OR_RETURN(const auto index, IndexOf(run.customer));
  if (index) {
    const auto times = snapshot_->order_times(*index);
    if (!times.empty()) last_order = Timestamp{times.back()};
  }
  const survey::ScheduleFacts facts = survey::FactsOf(it->second.survey, it->second.recorded, run.customer, last_order);
  TREU_ASSIGN_OR_RETURN(auto invited,
                        survey::InviteWithKey(store_, ws_, it->second.survey, run.customer, facts,
                                              campaigns::JourneyActionKey(FormatSequence(run, a.sequence)), options, options_.secret, now_));
  if (invited.reason != survey::NotDue::kDue) {
    return SurveyLink{"", "survey_" + std::string(survey::NotDueName(invited.reason))};
  }
  if (invited.made) {
    for (auto& [name, other] : invitations_) {
      survey::ScheduleFacts& f = other.recorded[run.customer.value];
      f.last_invited_any = now_;
      if (&other == &it->second) f.last_invited_this = now_;
    }
  }
  return SurveyLink{std::move(invited.link), ""};
}

Result<std::string> Pass::Perform(Journey& j, const JourneyRun& run, const Action& a) {
  ++report.actions;
  const std::string key = campaigns::JourneyActionKey(FormatSequence(run, a.sequence));
  if (const auto* send = std::get_if<SendStep>(&a.body)) return Send(j, run, a, *send);
  if (std::holds_alternative<GrantPointsStep>(a.body) || std::holds_alternative<GrantRewardStep>(a.body)) {
    if (!program_loaded_) {
      program_loaded_ = true;
      TREU_ASSIGN_OR_RETURN(auto record, store_.FindLoyaltyProgram(ws_.id));
      if (record) {
        TREU_ASSIGN_OR_RETURN(program_, loyalty::ProgramOf(*record, ws_));
      }
    }
    if (!program_) return std::string("no_program");
    if (const auto* points = std::get_if<GrantPointsStep>(&a.body)) {
      // Booked with the batch's other grants when the runs are written (Flush).
      loyalty::ManualTransfer t;
      t.id = key;
      t.kind = "earn";
      t.points = points->points;
      t.reason = points->reason.empty() ? "journey " + j.record.name : points->reason;
      t.source = loyalty::Source{loyalty::SourceKind::kRule, "journey:" + j.record.name, std::nullopt};
      points_.emplace_back(run.customer, std::move(t));
      return std::string("granted");
    }
    {
      TREU_ASSIGN_OR_RETURN(auto batch, loyalty::LoyaltyBatch::Begin(store_, ws_, *program_, now_, nullptr));
      loyalty::Surprise s;
      s.id = "journey-" + std::to_string(j.record.id);
      s.reward = std::get<GrantRewardStep>(a.body).reward;
      TREU_ASSIGN_OR_RETURN(bool granted, batch->GrantSurprise(run.customer, s,
                                                               std::to_string(run.entered_at.micros) + "-" +
                                                                   std::to_string(a.sequence)));
      TREU_RETURN_IF_ERROR(batch->Commit());
      return std::string(granted ? "granted" : "unavailable");
    }
  }
  if (const auto* hook = std::get_if<WebhookStep>(&a.body)) {
    TREU_ASSIGN_OR_RETURN(auto external, store_.CustomerExternalId(ws_.id, run.customer));
    nlohmann::json body = {{"type", "journey.step"},
                           {"journey", j.record.name},
                           {"version", run.version},
                           {"step", a.step_id},
                           {"customer", external.value_or("")},
                           {"at", FormatTimestamp(now_)}};
    OutboxMessage m;
    m.workspace = ws_.id;
    m.idempotency_key = key;
    m.channel = Channel::kWebhook;
    m.customer = run.customer;
    m.category = "transactional";
    m.campaign = campaigns::JourneyMessageTag(j.record.name, a.step_id);
    m.recipient = hook->endpoint;
    m.html = body.dump();
    m.next_attempt_at = now_;
    m.created_at = now_;
    TREU_ASSIGN_OR_RETURN(std::int64_t inserted, store_.EnqueueMessages(ws_.id, std::span(&m, 1), now_));
    report.messages += inserted;
    return std::string("queued");
  }
  if (const auto* attr = std::get_if<SetAttributeStep>(&a.body)) {
    // Written with the batch's other attributes when the runs are written (Flush).
    TREU_ASSIGN_OR_RETURN(auto index, IndexOf(run.customer));
    std::optional<std::string> external;
    if (index) {
      external = snapshot_->external_id(*index);
    } else {
      TREU_ASSIGN_OR_RETURN(external, store_.CustomerExternalId(ws_.id, run.customer));
    }
    if (!external) return std::string("no_customer");
    Customer& c = attributes_[*external];
    c.external_id = *external;
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::int64_t>) c.attributes[attr->name] = static_cast<double>(v);
          else c.attributes[attr->name] = v;
        },
        attr->value);
    return std::string("set");
  }
  if (const auto* followup = std::get_if<FollowupStep>(&a.body)) {
    // The survey response that entered the run: its survey and nonce (the journey's trigger).
    TREU_ASSIGN_OR_RETURN(const JourneyVersion* v, Version(j, run.version));
    TREU_ASSIGN_OR_RETURN(auto survey, store_.FindSurvey(ws_.id, v->definition().trigger.survey));
    if (!survey) return std::string("no_survey");
    TREU_ASSIGN_OR_RETURN(auto responses, store_.CustomerSurveyResponses(ws_.id, run.customer));
    const SurveyResponse* latest = nullptr;
    for (const SurveyResponse& r : responses) {
      if (r.survey_id == survey->id && r.updated_at <= run.entered_at) latest = &r;
    }
    if (!latest) return std::string("no_response");
    FollowUpItem f;
    f.workspace = ws_.id;
    f.survey_id = survey->id;
    f.customer = run.customer;
    f.nonce = latest->nonce;
    f.score = latest->nps_score.value_or(0);
    f.note = followup->note;
    f.created_at = f.updated_at = now_;
    TREU_ASSIGN_OR_RETURN(auto created, store_.CreateFollowUp(f));
    return std::string(created.second ? "opened" : "exists");
  }
  return Internal(a.step_id, "an action of an unknown type");
}

Status Pass::Apply(Journey& j, const Outcome& out) {
  report.steps += out.steps;
  std::size_t next_action = 0;
  for (int index : out.visited) {
    TREU_ASSIGN_OR_RETURN(const JourneyVersion* v, Version(j, out.run.version));
    const Step& step = v->steps()[static_cast<std::size_t>(index)];
    std::string outcome;
    if (IsActionType(step.type()) && next_action < out.actions.size() && out.actions[next_action].step == index) {
      TREU_ASSIGN_OR_RETURN(outcome, Perform(j, out.run, out.actions[next_action]));
      ++next_action;
    }
    ++deltas_[{out.run.version, step.id, outcome}];
  }
  if (out.run.state == RunState::kCompleted) ++report.completed;
  if (out.run.state == RunState::kExited) ++report.exited;
  rows_.push_back(ToRow(out.run));
  return Ok();
}

Status Pass::Flush(Journey& j, const JourneyRecord* cursors) {
  // The batched actions first: a crash before the runs are written repeats them under the same
  // keys (a points grant with the same id is a replay; an attribute set twice is set once).
  if (!points_.empty()) {
    TREU_ASSIGN_OR_RETURN(auto batch, loyalty::LoyaltyBatch::Begin(store_, ws_, *program_, now_, nullptr));
    for (const auto& [customer, t] : points_) TREU_RETURN_IF_ERROR(StatusOf(batch->Manual(customer, t)));
    TREU_RETURN_IF_ERROR(batch->Commit());
    points_.clear();
  }
  if (!attributes_.empty()) {
    std::vector<Customer> customers;
    customers.reserve(attributes_.size());
    for (auto& [external, c] : attributes_) customers.push_back(std::move(c));
    TREU_ASSIGN_OR_RETURN(auto tx, store_.BeginWrite(ws_.id));
    TREU_RETURN_IF_ERROR(StatusOf(tx->UpsertCustomers(customers, now_)));
    TREU_RETURN_IF_ERROR(tx->Commit());
    attributes_.clear();
  }
  std::vector<JourneyStepCount> deltas;
  for (const auto& [key, count] : deltas_) deltas.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), count});
  if (!rows_.empty() || !deltas.empty() || cursors) {
    TREU_RETURN_IF_ERROR(store_.WriteJourneyRuns(ws_.id, j.record.id, rows_, deltas, cursors));
  }
  rows_.clear();
  deltas_.clear();
  return Ok();
}

Status Pass::Enter(Journey& j, const std::vector<std::pair<CustomerId, Timestamp>>& who) {
  if (who.empty()) return Ok();
  TREU_ASSIGN_OR_RETURN(const JourneyVersion* v, Version(j, j.record.version));
  // Earlier runs: of the customers concerned, or of the whole journey for a burst.
  std::unordered_map<std::int64_t, std::vector<JourneyRun>> previous;
  auto load = [&](const JourneyRunFilter& f) -> Status {
    for (std::int64_t after = 0;;) {
      TREU_ASSIGN_OR_RETURN(auto page, store_.ListJourneyRuns(ws_.id, f, after, 100'000));
      for (const JourneyRunRow& row : page) {
        TREU_ASSIGN_OR_RETURN(JourneyRun r, FromRow(row, zones_));
        previous[row.customer.value].push_back(std::move(r));
      }
      if (page.size() < 100'000) return Ok();
      after = page.back().id;
    }
  };
  if (who.size() > 1000) {
    TREU_RETURN_IF_ERROR(load(JourneyRunFilter{j.record.id, CustomerId{}, false}));
    // Everyone's time zone in one scan rather than a lookup per customer.
    TREU_RETURN_IF_ERROR(store_.ScanCustomers(ws_.id, [&](const Customer& c) {
      zone_names_.emplace(c.id.value, c.time_zone.empty() ? ws_.time_zone : c.time_zone);
    }));
  } else {
    std::set<std::int64_t> seen;
    for (const auto& [c, at] : who) {
      if (seen.insert(c.value).second) TREU_RETURN_IF_ERROR(load(JourneyRunFilter{j.record.id, c, false}));
    }
  }
  // Customers already in the goal segment: they have reached it.
  std::optional<std::vector<bool>> in_goal;
  for (const auto& [c, trigger_at] : who) {
    auto& mine = previous[c.value];
    // Each entry of a customer at its own instant: the entry time is part of the actions' keys.
    Timestamp at = trigger_at;
    for (const JourneyRun& r : mine) at = std::max(at, Timestamp{r.entered_at.micros + 1});
    if (!MayEnter(*v, mine, at)) continue;
    TREU_ASSIGN_OR_RETURN(std::string zone_name, ZoneNameOf(c));
    TREU_ASSIGN_OR_RETURN(Outcome out, Start(*v, c, at, zones_.Get(zone_name), ContextFor(c)));
    if (!v->definition().goal.segment.empty() && IsInside(out.run.state)) {
      TREU_ASSIGN_OR_RETURN(bool reached, Holds("in_segment(\"" + v->definition().goal.segment + "\")", c));
      if (reached) {
        TREU_ASSIGN_OR_RETURN(Outcome done, OnSegmentEntered(*v, out.run, v->definition().goal.segment, at));
        out.run = done.run;
      }
    }
    ++report.entered;
    mine.push_back(out.run);
    TREU_RETURN_IF_ERROR(Apply(j, out));
    if (rows_.size() >= static_cast<std::size_t>(options_.batch)) TREU_RETURN_IF_ERROR(Flush(j, nullptr));
  }
  return Ok();
}

Status Pass::OnEvents(Journey& j, const std::vector<LiveEvent>& events) {
  std::set<std::int64_t> customers;
  for (const LiveEvent& e : events) customers.insert(e.customer.value);
  for (std::int64_t c : customers) {
    TREU_ASSIGN_OR_RETURN(auto rows, store_.ListJourneyRuns(ws_.id, JourneyRunFilter{j.record.id, CustomerId{c}, true}, 0, 10));
    for (const JourneyRunRow& row : rows) {
      TREU_ASSIGN_OR_RETURN(JourneyRun run, FromRow(row, zones_));
      TREU_ASSIGN_OR_RETURN(const JourneyVersion* v, Version(j, run.version));
      Outcome last{run, {}, 0, {}};
      for (const LiveEvent& e : events) {
        if (e.customer.value != c || !IsInside(last.run.state)) continue;
        TREU_ASSIGN_OR_RETURN(Outcome out, OnEvent(*v, last.run, e.name, ContextFor(run.customer), e.at));
        if (out.steps == 0 && out.run.state == last.run.state) continue;  // not an event it waits for
        if (out.steps > 0) {
          ++report.woken;
          TREU_RETURN_IF_ERROR(Apply(j, out));
        } else {
          if (out.run.state == RunState::kCompleted) ++report.completed;
          rows_.push_back(ToRow(out.run));
        }
        last = std::move(out);
      }
    }
  }
  return Ok();
}

Status Pass::OnGoalSegment(Journey& j, const std::vector<SegmentTransition>& entered) {
  for (const SegmentTransition& t : entered) {
    TREU_ASSIGN_OR_RETURN(auto rows,
                          store_.ListJourneyRuns(ws_.id, JourneyRunFilter{j.record.id, t.customer, true}, 0, 10));
    for (const JourneyRunRow& row : rows) {
      TREU_ASSIGN_OR_RETURN(JourneyRun run, FromRow(row, zones_));
      TREU_ASSIGN_OR_RETURN(const JourneyVersion* v, Version(j, run.version));
      TREU_ASSIGN_OR_RETURN(Outcome out, OnSegmentEntered(*v, run, v->definition().goal.segment, t.at));
      if (out.run.state == RunState::kCompleted) {
        ++report.completed;
        rows_.push_back(ToRow(out.run));
      }
    }
  }
  return Ok();
}

Status Pass::RunInputs(JourneyRecord& record) {
  TREU_ASSIGN_OR_RETURN(Journey * j, JourneyById(record.id));
  j->record = record;
  TREU_ASSIGN_OR_RETURN(const JourneyVersion* v, Version(*j, record.version));
  const JourneyDefinition& def = v->definition();
  JourneyRecord cursors = record;
  // The change log: event triggers, waits for events and goals (of every version inside).
  std::vector<LiveEvent> events;
  TREU_ASSIGN_OR_RETURN(cursors.change_seq, ReadLiveEvents(store_, ws_.id, record.change_seq, events));
  std::vector<std::pair<CustomerId, Timestamp>> who;
  const Trigger& t = def.trigger;
  if (t.type == TriggerType::kEvent) {
    for (const LiveEvent& e : events) {
      if (e.name != t.event) continue;
      if (!t.where.empty()) {
        TREU_ASSIGN_OR_RETURN(bool holds, Holds(t.where, e.customer));
        if (!holds) continue;
      }
      who.emplace_back(e.customer, e.at);
    }
  } else if (t.type == TriggerType::kSegmentEntered || t.type == TriggerType::kSegmentLeft) {
    TREU_ASSIGN_OR_RETURN(std::int64_t id, SegmentId(store_, ws_.id, t.segment, "trigger.segment"));
    for (std::int64_t after = record.trigger_cursor;;) {
      TREU_ASSIGN_OR_RETURN(auto page, store_.ListSegmentTransitions(ws_.id, id, after, 10'000));
      for (const SegmentTransition& tr : page) {
        if (tr.entered == (t.type == TriggerType::kSegmentEntered)) who.emplace_back(tr.customer, tr.at);
        cursors.trigger_cursor = tr.id;
      }
      if (page.size() < 10'000) break;
      after = page.back().id;
    }
  } else if (t.type == TriggerType::kSurveyAnswer) {
    TREU_ASSIGN_OR_RETURN(std::int64_t id, SurveyId(store_, ws_.id, t.survey, "trigger.survey"));
    for (std::int64_t after = record.trigger_cursor;;) {
      TREU_ASSIGN_OR_RETURN(auto page, store_.ListSurveyResponses(ws_.id, id, after, kPage));
      for (const SurveyResponse& r : page) {
        cursors.trigger_cursor = r.id;
        if (!r.nps_score) continue;
        if (t.min_score && *r.nps_score < *t.min_score) continue;
        if (t.max_score && *r.nps_score > *t.max_score) continue;
        who.emplace_back(r.customer, r.updated_at);
      }
      if (page.size() < static_cast<std::size_t>(kPage)) break;
      after = page.back().id;
    }
  } else if (t.type == TriggerType::kDate && now_.micros - record.trigger_cursor >= kDateScanInterval) {
    // Customers whose date (shifted, at the local time) falls in (last scan, now].
    const Timestamp after{record.trigger_cursor};
    TREU_RETURN_IF_ERROR(store_.ScanCustomers(ws_.id, [&](const Customer& c) {
      auto it = c.attributes.find(t.attribute);
      if (it == c.attributes.end()) return;
      const auto* at = std::get_if<Timestamp>(&it->second);
      if (!at) return;
      // A date attribute is a day in the workspace's zone (docs/import.md: midnight there); it fires at the
      // local time in the customer's own.
      const CivilDate date = zones_.Get(ws_.time_zone).LocalDate(*at);
      const TimeZone& zone = zones_.Get(c.time_zone.empty() ? ws_.time_zone : c.time_zone);
      if (auto fires = NextDateTrigger(t, date, zone, after); fires && *fires <= now_) who.emplace_back(c.id, *fires);
    }));
    cursors.trigger_cursor = now_.micros;
  }
  std::stable_sort(who.begin(), who.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  // Events move the runs inside first (an entry's own event must not count as its goal).
  TREU_RETURN_IF_ERROR(OnEvents(*j, events));
  if (!def.goal.segment.empty()) {
    TREU_ASSIGN_OR_RETURN(std::int64_t id, SegmentId(store_, ws_.id, def.goal.segment, "goal.segment"));
    std::vector<SegmentTransition> entered;
    for (std::int64_t after = record.goal_cursor;;) {
      TREU_ASSIGN_OR_RETURN(auto page, store_.ListSegmentTransitions(ws_.id, id, after, 10'000));
      for (SegmentTransition& tr : page) {
        cursors.goal_cursor = tr.id;
        if (tr.entered) entered.push_back(std::move(tr));
      }
      if (page.size() < 10'000) break;
      after = cursors.goal_cursor;
    }
    TREU_RETURN_IF_ERROR(OnGoalSegment(*j, entered));
  }
  TREU_RETURN_IF_ERROR(Flush(*j, nullptr));
  TREU_RETURN_IF_ERROR(Enter(*j, who));
  cursors.last_error.clear();
  cursors.updated_at = now_;
  TREU_RETURN_IF_ERROR(Flush(*j, &cursors));
  record = cursors;
  j->record = cursors;
  return Ok();
}

Status Pass::EnterMembers(JourneyRecord& record) {
  TREU_ASSIGN_OR_RETURN(Journey * j, JourneyById(record.id));
  TREU_ASSIGN_OR_RETURN(const JourneyVersion* v, Version(*j, record.version));
  const Trigger& t = v->definition().trigger;
  if (t.type != TriggerType::kSegmentEntered)
    return FailedPrecondition("trigger", "only a journey entered on a segment (segment_entered) has members to enter");
  TREU_ASSIGN_OR_RETURN(std::int64_t id, SegmentId(store_, ws_.id, t.segment, "trigger.segment"));
  std::vector<std::pair<CustomerId, Timestamp>> who;
  for (std::int64_t after = 0;;) {
    TREU_ASSIGN_OR_RETURN(auto page, store_.ListSegmentMembers(ws_.id, id, after, 100'000));
    for (const SegmentMember& m : page) who.emplace_back(m.customer, now_);
    if (page.size() < 100'000) break;
    after = page.back().customer.value;
  }
  TREU_RETURN_IF_ERROR(Enter(*j, who));
  return Flush(*j, nullptr);
}

Status Pass::WakeDue() {
  while (true) {
    TREU_ASSIGN_OR_RETURN(auto due, store_.ListDueJourneyRuns(ws_.id, now_, options_.batch));
    if (due.empty()) return Ok();
    std::map<std::int64_t, std::vector<JourneyRunRow>> by_journey;
    for (JourneyRunRow& r : due) by_journey[r.journey_id].push_back(std::move(r));
    bool moved = false;
    for (auto& [id, rows] : by_journey) {
      TREU_ASSIGN_OR_RETURN(Journey * j, JourneyById(id));
      if (j->record.state != "active") continue;
      for (const JourneyRunRow& row : rows) {
        TREU_ASSIGN_OR_RETURN(JourneyRun run, FromRow(row, zones_));
        TREU_ASSIGN_OR_RETURN(const JourneyVersion* v, Version(*j, run.version));
        TREU_ASSIGN_OR_RETURN(Outcome out, OnWake(*v, run, ContextFor(run.customer), now_));
        ++report.woken;
        TREU_RETURN_IF_ERROR(Apply(*j, out));
        moved = true;
      }
      TREU_RETURN_IF_ERROR(Flush(*j, nullptr));
    }
    // Nothing moved (a journey paused meanwhile) or nothing more is due.
    if (!moved || due.size() < static_cast<std::size_t>(options_.batch)) return Ok();
  }
}

}  // namespace

Result<PassReport> RunJourneys(Store& store, const Workspace& ws, SnapshotCache& snapshots, const RunOptions& options,
                               Timestamp now) {
  TREU_ASSIGN_OR_RETURN(auto journeys, store.ListJourneys(ws.id));
  Pass pass(store, ws, snapshots, options, now);
  for (JourneyRecord& j : journeys) {
    if (j.state != "active") continue;
    if (Status st = pass.RunInputs(j); !st) {
      ++pass.report.failed;
      JourneyRecord failed = j;
      failed.last_error = st.error().ToString();
      failed.updated_at = now;
      (void)store.WriteJourneyRuns(ws.id, j.id, {}, {}, &failed);
      std::fprintf(stderr, "treu: journey %s: %s\n", j.name.c_str(), failed.last_error.c_str());
    }
  }
  if (journeys.empty()) return pass.report;
  TREU_RETURN_IF_ERROR(pass.WakeDue());
  return pass.report;
}

Result<PassReport> EnterCurrentMembers(Store& store, const Workspace& ws, SnapshotCache& snapshots,
                                       std::string_view name, const RunOptions& options, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(auto found, store.FindJourney(ws.id, name));
  if (!found) return NotFound("journey " + std::string(name), "no such journey");
  Pass pass(store, ws, snapshots, options, now);
  TREU_RETURN_IF_ERROR(pass.EnterMembers(*found));
  return pass.report;
}

// ---- Reporting ----

Result<JourneyReport> ReportJourney(Store& store, const Workspace& ws, std::string_view name) {
  TREU_ASSIGN_OR_RETURN(auto found, store.FindJourney(ws.id, name));
  if (!found) return NotFound("journey " + std::string(name), "no such journey");
  JourneyReport report;
  report.record = *found;
  TREU_ASSIGN_OR_RETURN(JourneyVersion latest, LoadVersion(store, *found, found->version));
  report.definition = latest.definition();
  for (const Step& s : latest.steps()) report.steps.push_back(StepReport{s.id, s.type()});
  auto step_of = [&](std::string_view id) -> StepReport* {
    for (StepReport& s : report.steps)
      if (s.id == id) return &s;
    return nullptr;
  };
  TREU_ASSIGN_OR_RETURN(auto counts, store.CountJourneySteps(ws.id, found->id));
  for (const JourneyStepCount& c : counts) {
    StepReport* s = step_of(c.step_id);
    if (!s) continue;
    s->executed += c.count;
    if (c.outcome.empty()) continue;
    auto it = std::find_if(s->outcomes.begin(), s->outcomes.end(), [&](const auto& o) { return o.first == c.outcome; });
    if (it == s->outcomes.end()) s->outcomes.emplace_back(c.outcome, c.count);
    else it->second += c.count;
  }
  for (StepReport& s : report.steps) std::sort(s.outcomes.begin(), s.outcomes.end());
  TREU_ASSIGN_OR_RETURN(auto runs, store.CountJourneyRuns(ws.id, found->id));
  std::map<int, std::unique_ptr<JourneyVersion>> versions;
  for (const JourneyRunCount& r : runs) {
    report.entered += r.count;
    if (r.state == "completed") {
      report.completed += r.count;
    } else if (r.state == "exited") {
      report.exited += r.count;
    } else {
      report.inside += r.count;
      // The step's id in the run's own version.
      auto& v = versions[r.version];
      if (!v) {
        TREU_ASSIGN_OR_RETURN(JourneyVersion loaded, LoadVersion(store, *found, r.version));
        v = std::make_unique<JourneyVersion>(std::move(loaded));
      }
      if (r.step >= 0 && static_cast<std::size_t>(r.step) < v->steps().size()) {
        if (StepReport* s = step_of(v->steps()[static_cast<std::size_t>(r.step)].id)) s->waiting += r.count;
      }
    }
  }
  report.conversion_rate = report.entered > 0 ? static_cast<double>(report.completed) / static_cast<double>(report.entered) : 0;
  // Send steps: their messages and who engaged.
  std::optional<std::unordered_map<std::int64_t, std::pair<bool, bool>>> engaged;
  for (StepReport& s : report.steps) {
    if (s.type != StepType::kSend) continue;
    const std::string tag = campaigns::JourneyMessageTag(found->name, s.id);
    TREU_ASSIGN_OR_RETURN(MessageCounts m, store.CountMessages(ws.id, tag));
    s.queued = m.queued + m.sending;
    s.sent = m.sent;
    s.failed = m.failed + m.bounced;
    s.suppressed = m.suppressed;
    if (s.sent == 0) continue;
    if (!engaged) {
      engaged.emplace();
      TREU_ASSIGN_OR_RETURN(auto rows, store.ListEngagements(ws.id, found->created_at));
      for (const EngagementRow& r : rows) {
        auto& e = (*engaged)[r.message_id];
        (r.kind == "opened" ? e.first : e.second) = true;
      }
    }
    std::set<std::int64_t> opened, clicked;
    MessageFilter f;
    f.campaign = tag;
    for (std::int64_t before = 0;;) {
      TREU_ASSIGN_OR_RETURN(auto page, store.ListMessages(ws.id, f, before, 1000));
      for (const OutboxMessage& msg : page) {
        auto it = engaged->find(msg.id);
        if (it == engaged->end()) continue;
        if (it->second.first || it->second.second) opened.insert(msg.customer.value);  // a click implies the open
        if (it->second.second) clicked.insert(msg.customer.value);
      }
      if (page.size() < 1000) break;
      before = page.back().id;
    }
    s.opened = static_cast<std::int64_t>(opened.size());
    s.clicked = static_cast<std::int64_t>(clicked.size());
  }
  return report;
}

// ---- The content calendar ----

Result<std::vector<PlannedSend>> PlannedJourneySends(Store& store, const Workspace& ws, CivilDate from, CivilDate to) {
  TREU_ASSIGN_OR_RETURN(const TimeZone zone, TimeZone::Find(ws.time_zone));
  TREU_ASSIGN_OR_RETURN(auto journeys, store.ListJourneys(ws.id));
  std::map<std::tuple<CivilDate, std::string, std::string>, PlannedSend> planned;
  std::map<std::string, std::optional<Channel>, std::less<>> channels;
  for (const JourneyRecord& j : journeys) {
    if (j.state != "active") continue;
    std::map<int, std::unique_ptr<JourneyVersion>> versions;
    for (std::int64_t after = 0;;) {
      TREU_ASSIGN_OR_RETURN(auto page, store.ListJourneyRuns(ws.id, JourneyRunFilter{j.id, CustomerId{}, true}, after, 100'000));
      for (const JourneyRunRow& r : page) {
        if (r.state != "waiting") continue;
        const CivilDate date = zone.LocalDate(r.wake_at);
        if (date < from || to < date) continue;
        auto& v = versions[r.version];
        if (!v) {
          TREU_ASSIGN_OR_RETURN(JourneyVersion loaded, LoadVersion(store, j, r.version));
          v = std::make_unique<JourneyVersion>(std::move(loaded));
        }
        if (r.step < 0 || static_cast<std::size_t>(r.step) >= v->steps().size()) continue;
        const std::span<const int> targets = v->Targets(r.step);
        if (targets.empty() || targets[0] < 0) continue;
        const Step& next = v->steps()[static_cast<std::size_t>(targets[0])];
        const auto* send = std::get_if<SendStep>(&next.body);
        if (!send) continue;
        auto channel = channels.find(send->template_name);
        if (channel == channels.end()) {
          TREU_ASSIGN_OR_RETURN(auto tpl, store.FindMessageTemplate(ws.id, send->template_name));
          channel = channels.emplace(send->template_name, tpl ? std::optional(tpl->channel) : std::nullopt).first;
        }
        PlannedSend& p = planned[{date, j.name, next.id}];
        if (p.customers == 0) {
          const Trigger& t = v->definition().trigger;
          p = PlannedSend{j.name, next.id, send->template_name, channel->second.value_or(Channel::kEmail), date, 0,
                          t.type == TriggerType::kSegmentEntered || t.type == TriggerType::kSegmentLeft ? t.segment : ""};
        }
        ++p.customers;
      }
      if (page.size() < 100'000) break;
      after = page.back().id;
    }
  }
  std::vector<PlannedSend> out;
  for (auto& [key, p] : planned) out.push_back(std::move(p));
  return out;
}

Result<std::vector<campaigns::CalendarEntry>> ContentCalendar(Store& store, const Workspace& ws, CivilDate from,
                                                              CivilDate to) {
  TREU_ASSIGN_OR_RETURN(std::vector<campaigns::CalendarEntry> entries, campaigns::ContentCalendar(store, ws, from, to));
  TREU_ASSIGN_OR_RETURN(const std::vector<PlannedSend> planned, PlannedJourneySends(store, ws, from, to));
  const std::size_t campaigns = entries.size();
  for (const PlannedSend& p : planned) {
    campaigns::CalendarEntry e;
    e.kind = "journey";
    e.name = p.journey;
    e.state = CampaignState::kRunning;
    e.channel = p.channel;
    e.date = p.date;
    e.segment = p.segment;
    e.step = p.step;
    e.template_name = p.template_name;
    e.customers = p.customers;
    for (std::size_t i = 0; i < campaigns; ++i) {
      campaigns::CalendarEntry& c = entries[i];
      if (p.segment.empty() || c.segment != p.segment || !(c.date == p.date)) continue;
      e.conflicts.push_back({"same_audience", c.name});
      const std::string journey = "journey " + p.journey;
      const bool flagged = std::any_of(c.conflicts.begin(), c.conflicts.end(), [&](const campaigns::CalendarConflict& k) {
        return k.kind == "same_audience" && k.detail == journey;
      });
      if (!flagged) c.conflicts.push_back({"same_audience", journey});
    }
    entries.push_back(std::move(e));
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const campaigns::CalendarEntry& a, const campaigns::CalendarEntry& b) { return a.date < b.date; });
  return entries;
}

}  // namespace treu::journeys
