// A journey's definition: what starts it (the trigger), who may enter again (re-entry), when a
// customer counts as converted (the goal) and the steps, a graph of waits, branches, splits and
// actions joined by step ids. A value type without JSON (definition_json.hpp reads and writes
// the JSON form) and without storage. docs/journeys.md is the user-facing reference.
//
// ValidateJourney checks a definition completely and returns every error found, each with a
// context that names the member ("steps.3.next", "trigger.segment", "reentry.after_days"): made
// of [A-Za-z0-9_.], it becomes a JSON pointer ("/steps/3/next") in HTTP problem details.
//
// A JourneyVersion is a validated definition frozen under a version number, with its step
// graph resolved to indices for the engine (engine.hpp). A customer's run keeps the version it
// entered with, so saving a new version never changes the path of customers already inside.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.hpp"
#include "core/time.hpp"

namespace treu::journeys {

// Limits of a definition.
inline constexpr std::size_t kMaxSteps = 200;
inline constexpr std::size_t kMaxSplitBranches = 10;
inline constexpr int kMaxWaitDays = 365;             // a wait or an event timeout, in total
inline constexpr std::size_t kMaxNameLength = 200;   // event, template, reward, ... names
inline constexpr std::size_t kMaxExpressionLength = 4096;
inline constexpr std::size_t kMaxNoteLength = 2000;

// A local time of day, "HH:MM" (24 h).
struct TimeOfDay {
  int hour = 0;    // 0..23
  int minute = 0;  // 0..59
  constexpr std::int64_t micros() const { return (hour * 60LL + minute) * 60 * kMicrosPerSecond; }
  auto operator<=>(const TimeOfDay&) const = default;
};

// "HH:MM"; InvalidArgument with `context` otherwise.
Result<TimeOfDay> ParseTimeOfDay(std::string_view text, std::string context);
std::string FormatTimeOfDay(TimeOfDay t);

// ---- Trigger -------------------------------------------------------------------------------

enum class TriggerType : std::uint8_t {
  kEvent,           // a tracked event of the customer, optionally only when `where` holds
  kSegmentEntered,  // the customer entered the saved segment `segment`
  kSegmentLeft,     // the customer left it
  kDate,            // a date in a customer attribute (birthday, renewal date), shifted
  kSurveyAnswer,    // an answer to the survey `survey`, optionally within a score range
};

std::string_view TriggerTypeName(TriggerType t);

// Only the members of the trigger's type are meaningful; the others stay at their defaults
// (ValidateJourney refuses a definition where they don't).
struct Trigger {
  TriggerType type = TriggerType::kEvent;
  std::string event;               // kEvent: the event's name
  std::string where;               // kEvent: a segment expression over the customer; "" = none
  std::string segment;             // kSegmentEntered, kSegmentLeft
  std::string attribute;           // kDate: the customer attribute holding a date
  int offset_days = 0;             // kDate: -365..365, -7 = a week before the date
  TimeOfDay at{9, 0};              // kDate: local time in the customer's zone
  bool yearly = false;             // kDate: every year on the date's anniversary (birthdays)
  std::string survey;              // kSurveyAnswer
  std::optional<int> min_score;    // kSurveyAnswer: 0..10, inclusive bounds
  std::optional<int> max_score;
  bool operator==(const Trigger&) const = default;
};

// ---- Re-entry and goal ---------------------------------------------------------------------

enum class ReentryMode : std::uint8_t {
  kNever,      // a customer enters at most once, ever
  kAfterExit,  // again once the previous run has ended (and `after_days` since its entry)
  kAlways,     // whenever the customer is not inside (after_exit without a waiting period)
};

std::string_view ReentryModeName(ReentryMode m);

struct Reentry {
  ReentryMode mode = ReentryMode::kNever;
  int after_days = 0;  // kAfterExit: 0, or 1..3650 days since the last entry
  bool operator==(const Reentry&) const = default;
};

// Reaching the goal ends the run as completed (converted), from whichever step it is at.
// Exactly one of `event` and `segment` is set when there is a goal.
struct Goal {
  std::string event;    // the customer does this event ...
  std::string segment;  // ... or enters this saved segment
  int within_days = 0;  // 1..365: only within that many days of entering; 0: while inside
  bool empty() const { return event.empty() && segment.empty(); }
  bool operator==(const Goal&) const = default;
};

// ---- Steps ---------------------------------------------------------------------------------
// Targets ("next", "then", ...) name another step by its id. An action's `next` may be empty:
// the run exits after the action.

// Waits a fixed duration: days, hours and minutes add up (exact durations: a day is 24 hours,
// whatever daylight saving does).
struct WaitStep {
  int days = 0;
  int hours = 0;
  int minutes = 0;
  std::string next;
  std::int64_t micros() const;
  bool operator==(const WaitStep&) const = default;
};

// Waits for the next `time` (and ISO `weekday`: 1 Monday .. 7 Sunday; 0 any day) in the
// customer's time zone, strictly after the step is reached.
struct WaitUntilStep {
  TimeOfDay time;
  int weekday = 0;
  std::string next;
  bool operator==(const WaitUntilStep&) const = default;
};

// Waits for the customer's event `event`: at `next` when it happens, at `timeout_next` when it
// hasn't within the timeout.
struct WaitForEventStep {
  std::string event;
  int timeout_days = 0;
  int timeout_hours = 0;
  std::string next;
  std::string timeout_next;
  std::int64_t timeout_micros() const;
  bool operator==(const WaitForEventStep&) const = default;
};

// `condition` is a segment expression over the customer, evaluated by the caller.
struct BranchStep {
  std::string condition;
  std::string then_next;
  std::string else_next;
  bool operator==(const BranchStep&) const = default;
};

struct SplitBranch {
  int weight = 1;  // 1..1000
  std::string next;
  bool operator==(const SplitBranch&) const = default;
};

// A random but stable choice: each customer takes branch i with probability
// weight_i / Σ weights, the same every time for a (journey, customer, step).
struct SplitStep {
  std::vector<SplitBranch> branches;  // 2..10
  bool operator==(const SplitStep&) const = default;
};

enum class MessageCategory : std::uint8_t { kMarketing, kTransactional };
std::string_view MessageCategoryName(MessageCategory c);

struct SendStep {
  std::string template_name;
  MessageCategory category = MessageCategory::kMarketing;
  std::string next;
  std::string survey;  // invites to this survey: the template's {{ survey_url }} ("" none)
  bool operator==(const SendStep&) const = default;
};

struct GrantPointsStep {
  std::int64_t points = 0;  // 1..1,000,000,000
  std::string reason;
  std::string next;
  bool operator==(const GrantPointsStep&) const = default;
};

struct GrantRewardStep {
  std::string reward;  // a reward of the loyalty catalogue
  std::string next;
  bool operator==(const GrantRewardStep&) const = default;
};

struct WebhookStep {
  std::string endpoint;  // a configured webhook endpoint's name
  std::string next;
  bool operator==(const WebhookStep&) const = default;
};

// Opens a follow-up item (a task for the team) with `note`.
struct FollowupStep {
  std::string note;
  std::string next;
  bool operator==(const FollowupStep&) const = default;
};

using AttributeValue = std::variant<std::string, std::int64_t, double, bool>;

struct SetAttributeStep {
  std::string name;  // [A-Za-z0-9_]{1,64}
  AttributeValue value;
  std::string next;
  bool operator==(const SetAttributeStep&) const = default;
};

struct ExitStep {
  bool operator==(const ExitStep&) const = default;
};

// The order of the alternatives is StepType's.
using StepBody = std::variant<WaitStep, WaitUntilStep, WaitForEventStep, BranchStep, SplitStep, SendStep,
                              GrantPointsStep, GrantRewardStep, WebhookStep, FollowupStep, SetAttributeStep,
                              ExitStep>;

enum class StepType : std::uint8_t {
  kWait,
  kWaitUntil,
  kWaitForEvent,
  kBranch,
  kSplit,
  kSend,
  kGrantPoints,
  kGrantReward,
  kWebhook,
  kFollowup,
  kSetAttribute,
  kExit,
};

// "wait", "wait_until", "wait_for_event", "branch", "split", "send", "grant_points",
// "grant_reward", "webhook", "followup", "set_attribute", "exit".
std::string_view StepTypeName(StepType t);
std::optional<StepType> ParseStepType(std::string_view name);

// Whether reaching a step of this type makes the run wait (for a time or an event).
bool IsWaitType(StepType t);
// Whether it is an action (send .. set_attribute), which the caller performs.
bool IsActionType(StepType t);

struct Step {
  std::string id;  // [a-z0-9_-]{1,64}, unique in the journey
  StepBody body;
  StepType type() const { return static_cast<StepType>(body.index()); }
  bool operator==(const Step&) const = default;
};

// The step's targets in a fixed order, with the field each comes from: wait, wait_until and
// actions: {next}; wait_for_event: {next, timeout_next}; branch: {then, else}; split: one per
// branch ("branches.<i>.next"); exit: none. An action's empty `next` is listed (as "").
struct StepTarget {
  std::string field;  // "next", "timeout_next", "then", "else", "branches.1.next"
  std::string id;
};
std::vector<StepTarget> TargetsOf(const Step& step);

// ---- The definition ------------------------------------------------------------------------

struct JourneyDefinition {
  std::string name;  // 1..64 letters, digits, '_', '-', '.'
  Trigger trigger;
  Reentry reentry;
  Goal goal;
  std::string start;  // the first step's id
  std::vector<Step> steps;
  bool operator==(const JourneyDefinition&) const = default;
};

// Every error of `def` (empty when valid), in the order of the members: name, trigger,
// reentry, goal, start, each step's own fields, then across steps: duplicate ids, targets that
// name no step, steps not reachable from `start`, loops without a wait. The checks across
// steps run only when the steps' ids are sound; reachability and loops only when nothing
// else is wrong, and `check_graph` is set (the JSON reader clears it when the input had errors
// the value can't show, such as a `next` of the wrong type). At most 100 errors. Every error is
// InvalidArgument.
std::vector<Error> ValidateJourney(const JourneyDefinition& def, bool check_graph = true);

// The first error of ValidateJourney, or OK.
Status CheckJourney(const JourneyDefinition& def);

// ---- Keys and versions ---------------------------------------------------------------------

// The journey's 128-bit SipHash key for its splits: drawn once when the journey is created and
// kept across versions, so a customer takes the same branch of a split step in every version.
using JourneyKey = std::array<std::uint8_t, 16>;
JourneyKey NewJourneyKey();
// 32 lower-case hex digits and back; InvalidArgument (context "key") otherwise.
std::string FormatJourneyKey(const JourneyKey& key);
Result<JourneyKey> ParseJourneyKey(std::string_view hex);

// An immutable, validated definition under a version number (1, 2, ...), with its steps
// resolved to indices. Runs are advanced with the version they entered with.
class JourneyVersion {
 public:
  // Validates `def` (CheckJourney's first error otherwise). `journey_id` is the journey's
  // stored id (0 before it is stored); `version` >= 1.
  static Result<JourneyVersion> Create(std::int64_t journey_id, int version, const JourneyKey& key,
                                       JourneyDefinition def);

  std::int64_t journey_id() const { return journey_id_; }
  int version() const { return version_; }
  const JourneyKey& key() const { return key_; }
  const JourneyDefinition& definition() const { return def_; }
  const std::vector<Step>& steps() const { return def_.steps; }

  int start_index() const { return start_; }
  // The index of the step with this id, or -1.
  int IndexOf(std::string_view id) const;
  // The resolved targets of step `index`, as TargetsOf lists them; -1 for an action without
  // `next` (exit).
  std::span<const int> Targets(int index) const;

 private:
  JourneyVersion() = default;
  std::int64_t journey_id_ = 0;
  int version_ = 1;
  JourneyKey key_{};
  JourneyDefinition def_;
  int start_ = 0;
  std::vector<int> targets_;         // every step's targets, one after the other
  std::vector<std::size_t> offset_;  // step i's targets start at targets_[offset_[i]]; size steps+1
};

// The version number a save of `def` gets: `latest`'s own when the definition is unchanged
// (structurally equal), else one more (1 for the first).
int VersionForSave(const JourneyVersion* latest, const JourneyDefinition& def);

// ---- Date triggers -------------------------------------------------------------------------

// When a date trigger (`trigger.type == kDate`) fires for a customer whose attribute holds
// `date`: at `at` local time in `zone` on `date` + offset_days, or with `yearly` on that day of
// every year (a 29 February falls on the 28th in other years), the first such instant
// strictly after `after`; nullopt when a one-off date is past.
std::optional<Timestamp> NextDateTrigger(const Trigger& trigger, CivilDate date, const TimeZone& zone,
                                         Timestamp after);

// The first instant strictly after `after` whose local time in `zone` is `at`, on the ISO
// `weekday` (1 Monday .. 7 Sunday) when it isn't 0. A local time skipped by a DST change maps
// to the transition instant, a repeated one to its first occurrence.
Timestamp NextLocalTimeAfter(Timestamp after, const TimeZone& zone, TimeOfDay at, int weekday = 0);

}  // namespace treu::journeys
