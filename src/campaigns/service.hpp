// Campaigns as a service (docs/campaigns.md): saving and checking them, launching them — the
// audience resolved on the live snapshot, every member's arm drawn (holdout, A/B test share,
// the rest waiting for the winner) and recorded, each member's send time worked out in their
// own time zone (a chosen local time, or the hour they engage most, then quiet hours), the
// frequency cap applied, the messages planned, and rendered into the outbox shortly before they are due — picking the A/B winner after the
// test window, the scheduler that does all this when it is due, and the report with the lift
// against the holdout.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "analytics/model_fits.hpp"
#include "campaigns/assignment.hpp"
#include "campaigns/frequency.hpp"
#include "campaigns/lift.hpp"
#include "campaigns/timing.hpp"
#include "messaging/delivery.hpp"
#include "snapshot/snapshot.hpp"
#include "storage/store.hpp"
#include "surveys/answers.hpp"

namespace treu::campaigns {

// ---- Delivery rules ----

struct DeliveryRules {
  FrequencyCap cap;
  QuietHours quiet;
};
// The workspace's rules; no cap and no quiet hours when none are stored.
Result<DeliveryRules> LoadDeliveryRules(Store& store, WorkspaceId ws);
// Checks (CheckFrequencyCap; quiet hours "HH:MM", context "quiet_hours.start"/".end") and saves.
Result<DeliveryRulesRecord> SaveDeliveryRules(Store& store, DeliveryRulesRecord r, Timestamp now);

// The quiet hours again at send time (the outbox workers' hold rules, messaging::HoldRules): a
// campaign's or journey's marketing message that comes due inside its workspace's quiet hours in
// the recipient's zone (theirs, else the workspace's) is held until they end. Such a message is
// planned outside them when it is queued; this catches one that comes due later, after a retry
// or behind a backlog. Transactional messages and one-off sends are never held. The check made
// here serves one claimed batch: it reads each workspace's rules and zone once.
messaging::HoldCheck QuietHoursHolds(Store& store);

// ---- Campaigns ----

// The earliest instant local time `at` occurs on `date` anywhere (UTC+14): a campaign sent at a
// local time is launched then, so nobody's morning has passed.
Timestamp EarliestLocal(CivilDate date, LocalTime at);
// The date of a local-time campaign (the inverse of EarliestLocal).
CivilDate LocalSendDate(Timestamp send_at);

// A change to a campaign as the API and the CLI take it: every member optional — absent, the
// stored campaign's value stays (a new one gets the default). Percentages have one decimal.
struct CampaignChange {
  std::optional<std::string> segment, where;
  std::optional<std::vector<CampaignVariant>> variants;
  std::optional<double> holdout_percent;    // 0..50
  std::optional<double> test_percent;       // 0.1..100
  std::optional<std::string> winner_metric;
  std::optional<double> test_window_hours;  // 1..720
  std::optional<double> goal_window_days;   // 1/24..90
  std::optional<bool> optimize_send_time;
  std::optional<std::string> survey;  // "": none
  // When: an instant, or a date with a local time (that time in each recipient's zone); or no
  // send time (clear_send_at: when launched).
  std::optional<Timestamp> send_at;
  std::optional<CivilDate> send_date;
  std::optional<std::string> local_time;
  bool clear_send_at = false;
  std::optional<bool> schedule;  // scheduled, or back to a draft
};

// `existing` (null: a new campaign named `name`, with a test window of 4 hours) with `change`
// applied. InvalidArgument naming the member: a value out of range, more than one decimal,
// send_at with send_date, send_date without a local time, a new campaign without variants.
Result<CampaignRecord> ApplyCampaignChange(const CampaignRecord* existing, std::string name, const CampaignChange& change);

// The checks of SaveCampaign without saving (nor the state of a stored campaign of that name);
// returns `c` with a local-time send moved to EarliestLocal of its date.
Result<CampaignRecord> CheckedCampaign(Store& store, const Workspace& ws, CampaignRecord c);

// Deletes a draft, done or cancelled campaign with its members; its messages not gone out yet
// (queued or planned) are cancelled at `now`. FailedPrecondition for one that is scheduled,
// running or testing (cancel it first), NotFound.
Status DeleteCampaign(Store& store, WorkspaceId ws, std::string_view name, Timestamp now);

// Checks and saves campaign `c` (new, or replacing one of the same name that is a draft or
// scheduled; FailedPrecondition otherwise):
//  - a name as segment names have them; 1..26 variants, distinct templates of the workspace
//    of one channel, weights 1..1000;
//  - an audience: a saved segment and/or an expression (checked);
//  - holdout 0..500 ‰; test share 1..1000 ‰ (below 1000: two or more variants, a winner
//    metric opened, clicked or converted, a test window of 1 hour to 30 days);
//  - local_time "HH:MM" or "" (then send_at is EarliestLocal of its date); a goal window of 1
//    hour to 90 days; state draft or scheduled (scheduled with a send_at).
// A new campaign draws its split key; a replaced one keeps its own, so arms never change.
Result<CampaignRecord> SaveCampaign(Store& store, const Workspace& ws, CampaignRecord c, Timestamp now);

// The campaign's split (its key, holdout, test share and weights), checked.
Result<Split> CampaignSplit(const CampaignRecord& c);

// Cancels a draft, scheduled or testing campaign: its queued messages are withdrawn; members
// waiting for the winner get nothing. FailedPrecondition for a running, done or cancelled one.
Result<CampaignRecord> CancelCampaign(Store& store, WorkspaceId ws, std::string_view name, Timestamp now);

struct LaunchReport {
  std::int64_t audience = 0;      // customers selected (this phase: the waiting ones for the winner)
  std::int64_t holdout = 0;       // held out: recorded, sent nothing
  std::int64_t waiting = 0;       // waiting for the A/B winner
  std::int64_t queued = 0;        // members to be messaged (planned; see MaterializeCampaign)
  std::int64_t rendered = 0;      // launch: messages it put into the outbox itself (the first due)
  std::int64_t duplicates = 0;    // launch: of those, already there (a launch run again)
  std::int64_t capped = 0;        // over the frequency cap
  std::int64_t no_email = 0, no_consent = 0, suppressed = 0, no_subscription = 0;
  std::int64_t survey_not_due = 0;  // a survey wave's members its schedule does not invite now
  std::int64_t deferred = 0;      // due inside quiet hours, moved to their end
  std::int64_t optimized = 0;     // at the hour the customer engages most
  std::vector<std::int64_t> per_variant;  // members sent each variant
};

using Progress = std::function<void(std::int64_t done, std::int64_t total)>;

// What launching `c` now would do, writing nothing: the composer's audience after caps (and,
// for a survey wave, after the survey's schedule). `read_survey` reads a survey wave's survey.
Result<LaunchReport> PreviewCampaign(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                     PredictionCache* predictions, const CampaignRecord& c,
                                     std::span<const std::uint8_t> secret, const survey::SurveyReader& read_survey,
                                     Timestamp now);

// Launches `c` (state kRunning): the audience, arms, send times and caps as above; the members
// written in batches of 10,000, each one to be messaged recorded as queued and planned (its
// message is rendered into the outbox by MaterializeCampaign shortly before it is due;
// docs/decisions/0006); then the first 10,000 of them due within kMaterializeLeadMicros are
// rendered into the outbox at once, so that a small campaign sent now is there when the launch
// returns. Members are upserted and message keys are "campaign:<id>:<customer>": running it
// again after a crash adds nothing twice. With a winner (c.winner >= 0), sends the winner to the
// members waiting for it instead.
// A survey wave (c.survey) invites each member its survey's schedule finds due, recorded under
// the member's message key, and their message carries the link ({{ survey_url }}); the others
// get nothing (outcome "survey_<reason>", e.g. "survey_asked_recently"). FailedPrecondition
// without the workspace's public URL, which the links point to.
Result<LaunchReport> LaunchCampaign(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                    PredictionCache* predictions, const CampaignRecord& c,
                                    std::span<const std::uint8_t> secret, const survey::SurveyReader& read_survey,
                                    Timestamp now, const Progress& progress = {});

// ---- Materialising planned messages ----

// How long before its due time a planned message is rendered into the outbox.
inline constexpr std::int64_t kMaterializeLeadMicros = 10 * 60 * kMicrosPerSecond;

struct MaterializeReport {
  std::int64_t members = 0;     // planned members handled
  std::int64_t messages = 0;    // messages enqueued for them
  std::int64_t duplicates = 0;  // already in the outbox (a launch run again)
  std::int64_t failed = 0;      // members whose message could not be rendered (outcome "failed")
  int campaigns_failed = 0;     // campaigns whose pass failed (printed to stderr; retried next pass)
};

// Renders the planned members of `c` due before `before` (at most `limit` of them; 0: all) into
// the outbox in batches of 10,000, each batch's messages and members written in one
// transaction (Store::RenderPlannedMembers: a member cancelled or capped meanwhile gets none). A survey wave's message carries the invitation made at launch;
// a member the survey no longer invites gets nothing ("survey_<reason>"). Consent,
// suppressions and quiet hours are checked again when each message is sent.
Result<MaterializeReport> MaterializeCampaign(Store& store, const Workspace& ws,
                                              const std::shared_ptr<const Snapshot>& s, PredictionCache* predictions,
                                              const CampaignRecord& c, std::span<const std::uint8_t> secret,
                                              const survey::SurveyReader& read_survey, Timestamp now, Timestamp before,
                                              std::int64_t limit = 0);
// MaterializeCampaign for every campaign of every workspace with planned members due within
// kMaterializeLeadMicros of `now`. A failure of one campaign is counted and the others go on.
Result<MaterializeReport> MaterializeDue(Store& store, SnapshotCache& snapshots, PredictionCache* predictions,
                                         std::span<const std::uint8_t> secret, const survey::SurveyReader& read_survey,
                                         Timestamp now, const Progress& progress = {});

// ---- Reports ----

struct ArmReport {
  std::string name;           // "A", "B", ..., or "holdout"
  std::string template_name;  // "" for the holdout
  std::int64_t members = 0;   // assigned to the arm (intent to treat)
  std::int64_t messaged = 0;  // members a message was enqueued for
  std::int64_t sent = 0, failed = 0;        // customers with a message in that state
  std::int64_t opened = 0, clicked = 0;     // customers who opened / clicked
  std::int64_t converted = 0;               // members with an order within the goal window
  std::int64_t unsubscribed = 0;            // members who unsubscribed within it
  double revenue = 0;                       // of those orders, in the currency's units
  Sample revenue_sample;                    // per member
};

struct CampaignReport {
  CampaignRecord campaign;
  std::vector<ArmReport> variants;
  ArmReport treated;  // all variants together
  ArmReport holdout;
  std::int64_t waiting = 0;
  std::int64_t capped = 0;
  std::int64_t planned = 0;  // queued members whose message is not yet in the outbox
  std::optional<Lift> conversion_lift;  // treated vs holdout
  std::optional<Lift> revenue_lift;     // per member
  std::optional<Winner> winner;         // by the campaign's metric, among the variants
};

// The report of `c` on snapshot s: members' outcomes, the messages and their opens and clicks,
// orders and unsubscribes within goal_window of each member's send time (the holdout's would-be
// send time), and the lift with its 95 % interval.
Result<CampaignReport> ReportCampaign(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                      const CampaignRecord& c);

// ---- The content calendar ----

struct CalendarConflict {
  std::string kind;    // "same_audience" (another send to the same audience that day), "quiet_hours"
  std::string detail;  // e.g. the other campaign's name, or the quiet hours
};

struct CalendarEntry {
  std::string kind = "campaign";
  std::string name;
  CampaignState state = CampaignState::kScheduled;
  Channel channel = Channel::kEmail;
  CivilDate date;                 // in the workspace's zone; a local-time send's own day
  std::optional<Timestamp> at;    // the instant; none for a local-time send (each zone its own)
  std::string local_time;         // "HH:MM" in each recipient's zone, or ""
  std::string segment, where;     // the audience
  std::vector<CalendarConflict> conflicts;
  // kind "journey" (journeys::ContentCalendar): the send step, its template and the customers
  // whose wait ends that day.
  std::string step, template_name;
  std::int64_t customers = 0;
  std::string survey;  // kind "campaign": the survey of a survey wave, or ""
};

// Every campaign planned or sent on a day from `from` to `to` (inclusive, at most 366 days):
// scheduled, testing and running ones at their send day, done ones at the day they were
// launched; drafts and cancelled ones are not on it. By date, then time, then name. Conflicts:
// two sends to the same audience (segment and expression) on one day, and a send at a time
// inside the quiet hours (in the workspace's zone, or the local time itself), which would be
// deferred for everyone.
Result<std::vector<CalendarEntry>> ContentCalendar(Store& store, const Workspace& ws, CivilDate from, CivilDate to);

// ---- Scheduling ----

// Launches campaign `c` now from this process, as the scheduler would: a draft without a local
// time is sent now (a local-time one keeps its day). False when another process had it.
Result<bool> LaunchNow(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& snapshot,
                       PredictionCache* predictions, const CampaignRecord& c, std::span<const std::uint8_t> secret,
                       const survey::SurveyReader& read_survey, Timestamp now, const Progress& progress = {});

// Moves campaign `found` on, claimed by a compare-and-set of its state (false: another server
// had it): a draft or scheduled one is launched, a testing one gets its winner picked (by its
// metric; A on a tie) and sent to the members waiting for it, a stale running one is resumed.
// Then it is testing (until its test window ends) or done. A failed launch stays running with
// the error in last_error, and the error is returned.
Result<bool> AdvanceCampaign(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& snapshot,
                             PredictionCache* predictions, const CampaignRecord& found,
                             std::span<const std::uint8_t> secret, const survey::SurveyReader& read_survey,
                             Timestamp now, const Progress& progress = {});

struct SchedulerRun {
  int launched = 0;   // campaigns launched (or their winner sent)
  int failed = 0;     // launches that failed (last_error says why; retried when stale)
  MaterializeReport materialized;  // RunScheduler: planned messages rendered into the outbox
};

// AdvanceCampaign for every campaign due at `now` (Store::ListDueCampaigns; running ones
// untouched for `stale_micros` are resumed). A failure of one campaign is counted (and printed
// to stderr) and the others go on.
Result<SchedulerRun> RunDueCampaigns(Store& store, SnapshotCache& snapshots, PredictionCache* predictions,
                                     std::span<const std::uint8_t> secret, const survey::SurveyReader& read_survey,
                                     Timestamp now, std::int64_t stale_micros = 10 * 60 * kMicrosPerSecond);

// One pass of the scheduler: RunDueCampaigns, then MaterializeDue.
Result<SchedulerRun> RunScheduler(Store& store, SnapshotCache& snapshots, PredictionCache* predictions,
                                  std::span<const std::uint8_t> secret, const survey::SurveyReader& read_survey,
                                  Timestamp now, std::int64_t stale_micros = 10 * 60 * kMicrosPerSecond);

}  // namespace treu::campaigns
