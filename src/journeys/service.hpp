// Journeys as a service (docs/journeys.md): saving a definition as a new version (checked
// against the workspace: its segments, templates, survey, rewards and endpoints exist, its
// branch conditions bind), and the journey pass that runs them — customers entered from the
// triggers (events and orders in the change log, segment transitions, survey answers, dates in
// attributes), runs woken when their wait is over or their event comes, goals reached, and the
// steps' actions performed: messages rendered into the outbox under the delivery rules (the
// frequency cap with the journey priority, quiet hours), points and rewards granted, webhooks
// queued, attributes set, follow-ups opened. Every action has a key of its run and sequence, so
// a pass repeated after a crash does nothing twice.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analytics/model_fits.hpp"
#include "campaigns/service.hpp"
#include "journeys/definition.hpp"
#include "journeys/engine.hpp"
#include "snapshot/snapshot.hpp"
#include "storage/store.hpp"
#include "surveys/answers.hpp"

namespace treu::journeys {

// A stored journey with its latest version.
struct LoadedJourney {
  JourneyRecord record;
  JourneyVersion version;
};

// The definition of `record` at `version`, as a JourneyVersion; NotFound when not stored.
Result<JourneyVersion> LoadVersion(Store& store, const JourneyRecord& record, int version);

struct SaveOutcome {
  JourneyRecord record;
  bool created = false;      // a new journey
  bool new_version = false;  // the definition changed (or is new)
};

// Checks `def` (CheckJourney, then against the workspace: the trigger's and goal's segments,
// the survey, templates, rewards and webhook endpoints exist, branch conditions and the event
// trigger's `where` parse and bind; a follow-up step needs a survey_answer trigger, whose
// response it is about), each error naming its member ("steps.2.template"), and saves it: a new
// journey starts reading its inputs from now on (customers already in a trigger segment enter
// only through EnterCurrentMembers); a changed definition becomes a new version that customers
// entering from now on follow, while those inside stay on theirs. `state` is "active" or
// "paused" (empty: the stored one, else active).
Result<SaveOutcome> SaveJourney(Store& store, const Workspace& ws, const JourneyDefinition& def, std::string_view state,
                                Timestamp now);

// Pauses or resumes a journey. Paused, nobody enters and runs don't move on; its inputs are
// read again from where it stopped when it is resumed.
Result<JourneyRecord> SetJourneyState(Store& store, WorkspaceId ws, std::string_view name, std::string_view state,
                                      Timestamp now);

// Deletes a journey with its versions and runs. Messages already queued stay queued.
Status DeleteJourney(Store& store, WorkspaceId ws, std::string_view name);

// ---- Running ----

struct PassReport {
  std::int64_t entered = 0;    // runs started
  std::int64_t woken = 0;      // waits that ended (time or event)
  std::int64_t completed = 0;  // runs that reached the goal
  std::int64_t exited = 0;     // runs that ended otherwise
  std::int64_t steps = 0;      // steps executed
  std::int64_t actions = 0;    // actions performed
  std::int64_t messages = 0;   // messages queued
  std::int64_t capped = 0;     // messages over the frequency cap (not sent)
  std::int64_t failed = 0;     // journeys whose pass failed (last_error says why)
};

struct RunOptions {
  std::span<const std::uint8_t> secret;  // the workspace secret of unsubscribe links
  PredictionCache* predictions = nullptr;
  // Reads a stored survey's definition: send steps that invite to a survey need it (without
  // one they count the outcome "no_survey_reader" and send nothing).
  survey::SurveyReader read_survey;
  int batch = 10'000;  // runs written per transaction
};

// The store lock (Store::HoldLock) under which journey passes run: one process per database
// makes them, whichever holds it (the journey worker of a `treu serve`, `treu journey run-due`).
inline constexpr std::string_view kPassLock = "journeys";

// One pass over the active journeys of `ws` at `now`: their inputs since the last pass enter
// customers and move runs (events, goals), due waits end, and the actions are performed. A
// journey that fails keeps its error in last_error (its inputs are read again next time); the
// others go on. `snapshots` gives the workspace's live snapshot (templates and conditions).
Result<PassReport> RunJourneys(Store& store, const Workspace& ws, SnapshotCache& snapshots, const RunOptions& options,
                               Timestamp now);

// Enters the current members of the trigger segment of journey `name` (a segment_entered
// trigger) now, as if they had just entered the segment: the way to start a journey on an
// audience that exists already. Re-entry rules apply. Returns the runs started.
Result<PassReport> EnterCurrentMembers(Store& store, const Workspace& ws, SnapshotCache& snapshots,
                                       std::string_view name, const RunOptions& options, Timestamp now);

// ---- Reporting ----

struct StepReport {
  std::string id;
  StepType type = StepType::kExit;
  std::int64_t executed = 0;                                // times the step ran (all versions)
  std::vector<std::pair<std::string, std::int64_t>> outcomes;  // actions: by outcome
  std::int64_t waiting = 0;                                 // runs at this step now
  // Send steps: the step's messages per state, and customers who opened or clicked.
  std::int64_t queued = 0, sent = 0, failed = 0, suppressed = 0, opened = 0, clicked = 0;
};

struct JourneyReport {
  JourneyRecord record;
  JourneyDefinition definition;  // the latest version's
  std::int64_t entered = 0, inside = 0, completed = 0, exited = 0;
  std::vector<StepReport> steps;  // the latest version's steps, with counts of every version by step id
  double conversion_rate = 0;     // completed / entered
};

Result<JourneyReport> ReportJourney(Store& store, const Workspace& ws, std::string_view name);

// ---- The content calendar ----

// Sends a journey has planned: runs waiting (wait, wait_until) whose next step is a send, by
// the day their wait ends in the workspace's zone.
struct PlannedSend {
  std::string journey;
  std::string step;
  std::string template_name;
  Channel channel = Channel::kEmail;
  CivilDate date;
  std::int64_t customers = 0;
  std::string segment;  // the trigger's segment, if it has one
};

// The planned sends of the active journeys from `from` to `to` (inclusive), by date, journey
// and step. A wait for an event isn't counted: whether its timeout leads to a send depends on
// the customer.
Result<std::vector<PlannedSend>> PlannedJourneySends(Store& store, const Workspace& ws, CivilDate from, CivilDate to);

// The whole content calendar from `from` to `to`: the campaigns' entries
// (campaigns::ContentCalendar) and the journeys' planned sends (kind "journey", state active, no
// instant), by date, campaigns first within a day. A journey's send on a day a campaign goes to
// the journey's trigger segment is flagged on both ("same_audience", naming the other).
Result<std::vector<campaigns::CalendarEntry>> ContentCalendar(Store& store, const Workspace& ws, CivilDate from,
                                                              CivilDate to);

}  // namespace treu::journeys
