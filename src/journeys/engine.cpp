#include "journeys/engine.hpp"

#include <sodium.h>

#include <algorithm>
#include <type_traits>
#include <utility>

namespace treu::journeys {
namespace {

std::string StepRef(int index) { return "steps." + std::to_string(index); }

Status CheckVersion(const JourneyVersion& v, const JourneyRun& run) {
  if (run.journey_id != v.journey_id())
    return FailedPrecondition("journey", "run " + std::to_string(run.run_id) + " belongs to journey " +
                                             std::to_string(run.journey_id) + ", not " + std::to_string(v.journey_id()));
  if (run.version != v.version())
    return FailedPrecondition("version", "run " + std::to_string(run.run_id) + " follows version " +
                                             std::to_string(run.version) + ", not " + std::to_string(v.version()));
  if (run.step < 0 || static_cast<std::size_t>(run.step) >= v.steps().size())
    return FailedPrecondition("step", "run " + std::to_string(run.run_id) + " is at step " + std::to_string(run.step) +
                                          ", which version " + std::to_string(v.version()) + " doesn't have");
  return Ok();
}

// Moves the run to step `target` (-1: exit) at `now`.
void MoveTo(JourneyRun& run, int target, Timestamp now) {
  if (target < 0) {
    run.state = RunState::kExited;
    run.ended_at = now;
    return;
  }
  run.step = target;
  run.state = RunState::kActive;
  run.step_entered_at = now;
  run.wake_at = Timestamp{};
}

std::optional<ActionBody> ActionOf(const StepBody& body) {
  return std::visit(
      [](const auto& s) -> std::optional<ActionBody> {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_constructible_v<ActionBody, S>) {
          return ActionBody(s);
        } else {
          return std::nullopt;
        }
      },
      body);
}

// Executes steps of `out.run` (active) until it waits or ends.
Status Execute(const JourneyVersion& v, const StepContext& ctx, Timestamp now, Outcome& out) {
  JourneyRun& run = out.run;
  while (run.state == RunState::kActive) {
    if (out.steps >= ctx.max_steps) {
      return MakeError(ErrorCode::kResourceExhausted, StepRef(run.step),
                       "the run executed " + std::to_string(out.steps) + " steps at one instant without waiting (step '" +
                           v.steps()[static_cast<std::size_t>(run.step)].id + "')");
    }
    const Step& step = v.steps()[static_cast<std::size_t>(run.step)];
    const std::span<const int> targets = v.Targets(run.step);
    ++out.steps;
    out.visited.push_back(run.step);
    ++run.steps_executed;
    switch (step.type()) {
      case StepType::kWait:
        run.state = RunState::kWaiting;
        run.wake_at = Timestamp{now.micros + std::get<WaitStep>(step.body).micros()};
        break;
      case StepType::kWaitUntil: {
        const auto& s = std::get<WaitUntilStep>(step.body);
        run.state = RunState::kWaiting;
        run.wake_at = NextLocalTimeAfter(now, run.zone, s.time, s.weekday);
        break;
      }
      case StepType::kWaitForEvent:
        run.state = RunState::kWaitingForEvent;
        run.wake_at = Timestamp{now.micros + std::get<WaitForEventStep>(step.body).timeout_micros()};
        break;
      case StepType::kBranch: {
        const auto& s = std::get<BranchStep>(step.body);
        if (!ctx.condition)
          return FailedPrecondition(StepRef(run.step) + ".if", "step '" + step.id + "' needs a condition evaluator");
        Result<bool> holds = ctx.condition(s.condition);
        if (!holds) return std::unexpected(holds.error().WithContext("journey step '" + step.id + "'"));
        MoveTo(run, targets[*holds ? 0 : 1], now);
        break;
      }
      case StepType::kSplit: {
        const auto& s = std::get<SplitStep>(step.body);
        MoveTo(run, targets[static_cast<std::size_t>(ChooseSplitBranch(v.key(), run.customer, step.id, s.branches))],
               now);
        break;
      }
      case StepType::kExit:
        run.state = RunState::kExited;
        run.ended_at = now;
        break;
      default:  // an action
        out.actions.push_back(Action{step.id, run.step, run.steps_executed, *ActionOf(step.body)});
        MoveTo(run, targets[0], now);
        break;
    }
  }
  return Ok();
}

Result<Outcome> Continue(const JourneyVersion& v, JourneyRun run, int target, const StepContext& ctx, Timestamp now) {
  Outcome out{std::move(run), {}, 0};
  MoveTo(out.run, target, now);
  TREU_RETURN_IF_ERROR(Execute(v, ctx, now, out));
  return out;
}

bool WithinGoalWindow(const Goal& goal, const JourneyRun& run, Timestamp now) {
  if (now < run.entered_at) return false;
  return goal.within_days == 0 || now.micros - run.entered_at.micros <= goal.within_days * kMicrosPerDay;
}

Outcome Completed(const JourneyRun& run, Timestamp now) {
  Outcome out{run, {}, 0};
  out.run.state = RunState::kCompleted;
  out.run.ended_at = now;
  out.run.wake_at = Timestamp{};
  return out;
}

}  // namespace

std::string_view RunStateName(RunState s) {
  switch (s) {
    case RunState::kActive: return "active";
    case RunState::kWaiting: return "waiting";
    case RunState::kWaitingForEvent: return "waiting_for_event";
    case RunState::kExited: return "exited";
    case RunState::kCompleted: return "completed";
  }
  return "active";
}

JourneyRun Enter(const JourneyVersion& v, CustomerId customer, Timestamp now, const TimeZone& zone, std::int64_t run_id) {
  JourneyRun run;
  run.run_id = run_id;
  run.journey_id = v.journey_id();
  run.version = v.version();
  run.customer = customer;
  run.zone = zone;
  run.step = v.start_index();
  run.state = RunState::kActive;
  run.entered_at = now;
  run.step_entered_at = now;
  return run;
}

Result<Outcome> Advance(const JourneyVersion& v, const JourneyRun& run, const StepContext& ctx, Timestamp now) {
  TREU_RETURN_IF_ERROR(CheckVersion(v, run));
  if (run.state != RunState::kActive)
    return FailedPrecondition("state", "run " + std::to_string(run.run_id) + " is " +
                                           std::string(RunStateName(run.state)) + ", not active");
  Outcome out{run, {}, 0};
  TREU_RETURN_IF_ERROR(Execute(v, ctx, now, out));
  return out;
}

Result<Outcome> Start(const JourneyVersion& v, CustomerId customer, Timestamp now, const TimeZone& zone,
                      const StepContext& ctx, std::int64_t run_id) {
  return Advance(v, Enter(v, customer, now, zone, run_id), ctx, now);
}

Result<Outcome> OnEvent(const JourneyVersion& v, const JourneyRun& run, std::string_view event, const StepContext& ctx,
                        Timestamp now) {
  TREU_RETURN_IF_ERROR(CheckVersion(v, run));
  if (!IsInside(run.state)) return Outcome{run, {}, 0};
  const Goal& goal = v.definition().goal;
  if (!goal.event.empty() && goal.event == event && WithinGoalWindow(goal, run, now)) return Completed(run, now);
  if (run.state == RunState::kWaitingForEvent) {
    const auto& s = std::get<WaitForEventStep>(v.steps()[static_cast<std::size_t>(run.step)].body);
    if (s.event == event && now >= run.step_entered_at && now < run.wake_at)
      return Continue(v, run, v.Targets(run.step)[0], ctx, now);
  }
  return Outcome{run, {}, 0};
}

Result<Outcome> OnSegmentEntered(const JourneyVersion& v, const JourneyRun& run, std::string_view segment, Timestamp now) {
  TREU_RETURN_IF_ERROR(CheckVersion(v, run));
  const Goal& goal = v.definition().goal;
  if (IsInside(run.state) && !goal.segment.empty() && goal.segment == segment && WithinGoalWindow(goal, run, now))
    return Completed(run, now);
  return Outcome{run, {}, 0};
}

Result<Outcome> OnWake(const JourneyVersion& v, const JourneyRun& run, const StepContext& ctx, Timestamp now) {
  TREU_RETURN_IF_ERROR(CheckVersion(v, run));
  if (now < run.wake_at) return Outcome{run, {}, 0};
  if (run.state == RunState::kWaiting) return Continue(v, run, v.Targets(run.step)[0], ctx, now);
  if (run.state == RunState::kWaitingForEvent) return Continue(v, run, v.Targets(run.step)[1], ctx, now);
  return Outcome{run, {}, 0};
}

JourneyRun ExitRun(const JourneyRun& run, Timestamp now) {
  if (!IsInside(run.state)) return run;
  JourneyRun out = run;
  out.state = RunState::kExited;
  out.ended_at = now;
  out.wake_at = Timestamp{};
  return out;
}

bool MayEnter(const JourneyVersion& v, std::span<const JourneyRun> previous, Timestamp now) {
  bool any = false;
  Timestamp latest_entry{};
  for (const JourneyRun& r : previous) {
    if (r.journey_id != v.journey_id()) continue;
    if (IsInside(r.state)) return false;
    latest_entry = any ? std::max(latest_entry, r.entered_at) : r.entered_at;
    any = true;
  }
  if (!any) return true;
  const Reentry& reentry = v.definition().reentry;
  switch (reentry.mode) {
    case ReentryMode::kNever: return false;
    case ReentryMode::kAlways: return true;
    case ReentryMode::kAfterExit:
      return now.micros - latest_entry.micros >= reentry.after_days * kMicrosPerDay;
  }
  return false;
}

int ChooseSplitBranch(const JourneyKey& key, CustomerId customer, std::string_view step_id,
                      std::span<const SplitBranch> branches) {
  static_assert(crypto_shorthash_KEYBYTES == 16 && crypto_shorthash_BYTES == 8);
  // The customer id, little-endian on every host, then the step id (at most 64 bytes).
  unsigned char in[8 + 64];
  const auto id = static_cast<std::uint64_t>(customer.value);
  for (int i = 0; i < 8; ++i) in[i] = static_cast<unsigned char>(id >> (8 * i));
  const std::size_t n = std::min<std::size_t>(step_id.size(), 64);
  std::copy_n(step_id.data(), n, in + 8);
  unsigned char out[8];
  crypto_shorthash(out, in, 8 + n, key.data());
  std::uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h |= static_cast<std::uint64_t>(out[i]) << (8 * i);
  std::uint64_t total = 0;
  for (const SplitBranch& b : branches) total += static_cast<std::uint64_t>(b.weight);
  // h / 2^64 × total, in [0, total): the high word of the 128-bit product.
  const auto point = static_cast<std::uint64_t>((static_cast<unsigned __int128>(h) * total) >> 64);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < branches.size(); ++i) {
    cumulative += static_cast<std::uint64_t>(branches[i].weight);
    if (point < cumulative) return static_cast<int>(i);
  }
  return static_cast<int>(branches.size()) - 1;
}

}  // namespace treu::journeys
