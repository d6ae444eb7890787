// The journey engine: pure, deterministic functions that move one customer's run through the
// steps of the journey version it entered with. No storage, no clock, no I/O: every function
// takes `now` and returns the new run with the actions the caller is to perform (send a
// message, grant points, ...). Branch conditions are segment expressions the caller evaluates
// for the customer through a callback.
//
// A run executes steps one after the other, at one instant, until it reaches a wait (it is
// then `waiting` until `wake_at`, or `waiting_for_event` with `wake_at` its timeout), an exit
// (`exited`) or its goal (`completed`). The caller stores the run and calls OnWake when
// wake_at has come, OnEvent for the customer's events and OnSegmentEntered for segment entries
// (goals). Every call either succeeds as a whole or changes nothing: on an error (a condition
// that couldn't be evaluated) the run is returned as it was and no action is lost, so the call
// can be repeated.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/ids.hpp"
#include "core/status.hpp"
#include "core/time.hpp"
#include "journeys/definition.hpp"

namespace treu::journeys {

enum class RunState : std::uint8_t {
  kActive,           // executing steps (between Enter and Advance, or after an error)
  kWaiting,          // at a wait or wait_until step until wake_at
  kWaitingForEvent,  // at a wait_for_event step: the event, or the timeout at wake_at
  kExited,           // left: an exit step, or an action without next
  kCompleted,        // reached the goal
};

// "active", "waiting", "waiting_for_event", "exited", "completed".
std::string_view RunStateName(RunState s);
// Whether a run in this state is inside the journey (not ended).
constexpr bool IsInside(RunState s) { return s != RunState::kExited && s != RunState::kCompleted; }

// One customer's pass through a journey.
struct JourneyRun {
  std::int64_t run_id = 0;      // assigned by storage (0 before)
  std::int64_t journey_id = 0;  // JourneyVersion::journey_id()
  int version = 1;              // the version entered with; the run follows its steps only
  CustomerId customer;
  TimeZone zone;                // the customer's time zone, for wait_until
  int step = 0;                 // index of the current step in the version's steps
  RunState state = RunState::kActive;
  Timestamp wake_at;            // waiting: when to continue; waiting_for_event: the timeout
  Timestamp entered_at;
  Timestamp step_entered_at;    // when the current step was reached
  Timestamp ended_at;           // exited or completed: when
  std::int64_t steps_executed = 0;  // in the whole run
};

// An action for the caller to perform, in the order of the steps.
using ActionBody = std::variant<SendStep, GrantPointsStep, GrantRewardStep, WebhookStep, FollowupStep, SetAttributeStep>;

struct Action {
  std::string step_id;
  int step = 0;               // the step's index
  // The run's steps_executed when this step ran: unique within the run even when a step is
  // reached again (a loop through a wait), so (run_id, sequence) names the action for
  // idempotent delivery.
  std::int64_t sequence = 0;
  ActionBody body;
  StepType type() const { return static_cast<StepType>(static_cast<std::size_t>(StepType::kSend) + body.index()); }
};

// Evaluates a branch's segment expression for the run's customer.
using ConditionFn = std::function<Result<bool>(std::string_view expression)>;

struct StepContext {
  ConditionFn condition;  // required for journeys with branch steps
  // Safety limit of steps executed in one call. Validation refuses loops without a wait, so a
  // valid journey never executes more than its number of steps (at most 200) in one call.
  int max_steps = 1000;
};

struct Outcome {
  JourneyRun run;
  std::vector<Action> actions;
  int steps = 0;  // steps executed in this call (each counts, waits and exits too)
  std::vector<int> visited;  // the indices of those steps, in the order executed
};

// A new run of `customer` at the version's start step (active; Advance executes it).
JourneyRun Enter(const JourneyVersion& v, CustomerId customer, Timestamp now, const TimeZone& zone, std::int64_t run_id = 0);

// Executes the steps of an active run from its current step: actions are collected, branches
// evaluated through ctx.condition, splits drawn (ChooseSplitBranch), until the run waits,
// exits or ctx.max_steps steps have run (ResourceExhausted naming the step). A wait step sets
// wake_at = now + its duration; wait_until the next local time (and weekday) strictly after
// now in the run's zone; wait_for_event wake_at = now + its timeout.
// FailedPrecondition for a run of another journey or version, or one that isn't active.
Result<Outcome> Advance(const JourneyVersion& v, const JourneyRun& run, const StepContext& ctx, Timestamp now);

// Enter and Advance in one.
Result<Outcome> Start(const JourneyVersion& v, CustomerId customer, Timestamp now, const TimeZone& zone,
                      const StepContext& ctx, std::int64_t run_id = 0);

// The customer did `event` at `now`. A goal event (within goal.within_days of the entry, and
// not before it) completes a run inside the journey, whatever its step. Otherwise a run waiting
// for this event continues at the step's `next` and advances, if the event is not before the
// step was reached and before the timeout (at wake_at the timeout wins). Any other event
// leaves the run as it is (no steps). FailedPrecondition for another journey or version.
Result<Outcome> OnEvent(const JourneyVersion& v, const JourneyRun& run, std::string_view event, const StepContext& ctx,
                        Timestamp now);

// The customer entered the saved segment `segment` at `now`: completes a run inside the
// journey whose goal is that segment (within goal.within_days of the entry). The caller also
// calls it at entry when the customer is in the goal segment already.
Result<Outcome> OnSegmentEntered(const JourneyVersion& v, const JourneyRun& run, std::string_view segment, Timestamp now);

// A waiting run whose wake_at has come (now >= wake_at) continues: after a wait or wait_until
// at its `next`, after a wait_for_event's timeout at its `timeout_next`, and advances. A run
// not waiting, or not yet due, is left as it is (no steps).
Result<Outcome> OnWake(const JourneyVersion& v, const JourneyRun& run, const StepContext& ctx, Timestamp now);

// Ends a run from outside (the journey is stopped, the customer deleted): exited at `now`.
// A run that has ended already is returned as it is.
JourneyRun ExitRun(const JourneyRun& run, Timestamp now);

// Whether the customer may enter now, given their earlier runs (any order; runs of other
// journeys are ignored):
// - never while one of their runs is inside the journey;
// - else with no earlier run, yes;
// - never: no; always: yes; after_exit: yes once `after_days` (if set) have passed since the
//   latest earlier entry.
bool MayEnter(const JourneyVersion& v, std::span<const JourneyRun> previous, Timestamp now);

// The branch (0-based) a split step sends `customer` to: SipHash-2-4 (libsodium's
// crypto_shorthash) of the customer id (8 bytes little-endian) and the step id under the
// journey's key, scaled to the sum of the weights, picks the branch by cumulative weight.
int ChooseSplitBranch(const JourneyKey& key, CustomerId customer, std::string_view step_id,
                      std::span<const SplitBranch> branches);

}  // namespace treu::journeys
