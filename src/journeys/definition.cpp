#include "journeys/definition.hpp"

#include <sodium.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <unordered_map>
#include <utility>

namespace treu::journeys {
namespace {

constexpr std::size_t kMaxErrors = 100;
constexpr int kMaxAfterDays = 3650;
constexpr std::int64_t kPointsLimit = 1'000'000'000;
constexpr std::int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr std::int64_t kMicrosPerHour = 60 * kMicrosPerMinute;

bool IsStepId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

bool IsAsciiAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// A saved segment's (and a journey's) name: 1 to 64 letters, digits, '_', '-', '.'.
bool IsSegmentName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!(IsAsciiAlnum(c) || c == '_' || c == '-' || c == '.')) return false;
  }
  return true;
}

bool IsAttributeName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!(IsAsciiAlnum(c) || c == '_')) return false;
  }
  return true;
}

// Collects errors, at most kMaxErrors.
class Errors {
 public:
  void Add(std::string context, std::string detail) {
    if (list_.size() < kMaxErrors) list_.emplace_back(ErrorCode::kInvalidArgument, std::move(context), std::move(detail));
  }
  bool empty() const { return list_.empty(); }
  std::size_t size() const { return list_.size(); }
  std::vector<Error> Take() { return std::move(list_); }

  // A required name-like text: non-empty, at most `max` characters.
  void Text(const std::string& context, const std::string& value, std::size_t max = kMaxNameLength) {
    if (value.empty()) {
      Add(context, "is required");
    } else if (value.size() > max) {
      Add(context, "is longer than " + std::to_string(max) + " characters");
    }
  }
  // A member that has no place in this kind of trigger or step but is set.
  void Stray(const std::string& context, bool set, std::string_view what) {
    if (set) Add(context, "is not a field of " + std::string(what));
  }

 private:
  std::vector<Error> list_;
};

void CheckTimeOfDay(Errors& errors, const std::string& context, TimeOfDay t) {
  if (t.hour < 0 || t.hour > 23 || t.minute < 0 || t.minute > 59)
    errors.Add(context, "must be a time of day between 00:00 and 23:59");
}

void CheckTrigger(Errors& errors, const Trigger& t) {
  const bool event = t.type == TriggerType::kEvent;
  const bool segment = t.type == TriggerType::kSegmentEntered || t.type == TriggerType::kSegmentLeft;
  const bool date = t.type == TriggerType::kDate;
  const bool survey = t.type == TriggerType::kSurveyAnswer;
  const std::string what = (event ? "an " : "a ") + std::string(TriggerTypeName(t.type)) + " trigger";
  errors.Stray("trigger.event", !event && !t.event.empty(), what);
  errors.Stray("trigger.where", !event && !t.where.empty(), what);
  errors.Stray("trigger.segment", !segment && !t.segment.empty(), what);
  errors.Stray("trigger.attribute", !date && !t.attribute.empty(), what);
  errors.Stray("trigger.offset_days", !date && t.offset_days != 0, what);
  errors.Stray("trigger.at", !date && t.at != TimeOfDay{9, 0}, what);
  errors.Stray("trigger.yearly", !date && t.yearly, what);
  errors.Stray("trigger.survey", !survey && !t.survey.empty(), what);
  errors.Stray("trigger.min_score", !survey && t.min_score.has_value(), what);
  errors.Stray("trigger.max_score", !survey && t.max_score.has_value(), what);
  switch (t.type) {
    case TriggerType::kEvent:
      errors.Text("trigger.event", t.event);
      if (t.where.size() > kMaxExpressionLength)
        errors.Add("trigger.where", "is longer than " + std::to_string(kMaxExpressionLength) + " characters");
      break;
    case TriggerType::kSegmentEntered:
    case TriggerType::kSegmentLeft:
      if (t.segment.empty()) {
        errors.Add("trigger.segment", "is required");
      } else if (!IsSegmentName(t.segment)) {
        errors.Add("trigger.segment", "must be a segment name: 1 to 64 letters, digits, '_', '-' or '.'");
      }
      break;
    case TriggerType::kDate:
      if (t.attribute.empty()) {
        errors.Add("trigger.attribute", "is required");
      } else if (!IsAttributeName(t.attribute)) {
        errors.Add("trigger.attribute", "must be an attribute name: 1 to 64 letters, digits or '_'");
      }
      if (t.offset_days < -365 || t.offset_days > 365)
        errors.Add("trigger.offset_days", "must be between -365 and 365");
      CheckTimeOfDay(errors, "trigger.at", t.at);
      break;
    case TriggerType::kSurveyAnswer:
      errors.Text("trigger.survey", t.survey);
      if (t.min_score && (*t.min_score < 0 || *t.min_score > 10))
        errors.Add("trigger.min_score", "must be between 0 and 10");
      if (t.max_score && (*t.max_score < 0 || *t.max_score > 10))
        errors.Add("trigger.max_score", "must be between 0 and 10");
      if (t.min_score && t.max_score && *t.min_score > *t.max_score)
        errors.Add("trigger.max_score", "must not be below min_score");
      break;
  }
}

void CheckReentry(Errors& errors, const Reentry& r) {
  if (r.mode == ReentryMode::kAfterExit) {
    if (r.after_days < 0 || r.after_days > kMaxAfterDays)
      errors.Add("reentry.after_days", "must be between 1 and " + std::to_string(kMaxAfterDays) + " (or left out)");
  } else if (r.after_days != 0) {
    errors.Add("reentry.after_days", "is only for the mode after_exit");
  }
}

void CheckGoal(Errors& errors, const Goal& g) {
  if (g.empty()) {
    if (g.within_days != 0) errors.Add("goal", "needs an event or a segment");
    return;
  }
  if (!g.event.empty() && !g.segment.empty()) {
    errors.Add("goal", "is an event or a segment, not both");
    return;
  }
  if (!g.event.empty()) errors.Text("goal.event", g.event);
  if (!g.segment.empty() && !IsSegmentName(g.segment))
    errors.Add("goal.segment", "must be a segment name: 1 to 64 letters, digits, '_', '-' or '.'");
  if (g.within_days < 0 || g.within_days > kMaxWaitDays)
    errors.Add("goal.within_days", "must be between 1 and " + std::to_string(kMaxWaitDays) + " (or left out)");
}

// A duration made of parts (days, hours, minutes): each part 0 or positive within the limit,
// some part positive, at most kMaxWaitDays in total.
struct DurationPart {
  const char* field;
  int value;
  std::int64_t unit;
};
void CheckDuration(Errors& errors, const std::string& at, std::initializer_list<DurationPart> parts,
                   std::string_view what) {
  const std::int64_t limit = kMaxWaitDays * kMicrosPerDay;
  std::int64_t total = 0;
  bool ok = true, any = false;
  for (const DurationPart& p : parts) {
    if (p.value < 0) {
      errors.Add(at + "." + p.field, "must be greater than 0");
      ok = false;
    } else if (p.value > limit / p.unit) {
      errors.Add(at + "." + p.field, "is more than " + std::to_string(kMaxWaitDays) + " days");
      ok = false;
    } else {
      total += p.value * p.unit;
      any = any || p.value > 0;
    }
  }
  if (!ok) return;
  if (!any) {
    std::string names;
    for (const DurationPart& p : parts) names += (names.empty() ? "" : ", ") + std::string(p.field);
    errors.Add(at, std::string(what) + " needs a duration (" + names + ")");
  } else if (total > limit) {
    errors.Add(at, std::string(what) + " lasts more than " + std::to_string(kMaxWaitDays) + " days in total");
  }
}

void Required(Errors& errors, const std::string& context, const std::string& target) {
  if (target.empty()) errors.Add(context, "is required");
}

void CheckStepBody(Errors& errors, const std::string& at, const Step& step) {
  struct Visitor {
    Errors& errors;
    const std::string& at;
    void operator()(const WaitStep& s) const {
      CheckDuration(errors, at, {{"days", s.days, kMicrosPerDay}, {"hours", s.hours, kMicrosPerHour},
                                 {"minutes", s.minutes, kMicrosPerMinute}},
                    "a wait");
      Required(errors, at + ".next", s.next);
    }
    void operator()(const WaitUntilStep& s) const {
      CheckTimeOfDay(errors, at + ".time", s.time);
      if (s.weekday < 0 || s.weekday > 7) errors.Add(at + ".weekday", "must be 1 (Monday) to 7 (Sunday)");
      Required(errors, at + ".next", s.next);
    }
    void operator()(const WaitForEventStep& s) const {
      errors.Text(at + ".event", s.event);
      CheckDuration(errors, at, {{"timeout_days", s.timeout_days, kMicrosPerDay},
                                 {"timeout_hours", s.timeout_hours, kMicrosPerHour}},
                    "waiting for an event");
      Required(errors, at + ".next", s.next);
      Required(errors, at + ".timeout_next", s.timeout_next);
    }
    void operator()(const BranchStep& s) const {
      errors.Text(at + ".if", s.condition, kMaxExpressionLength);
      Required(errors, at + ".then", s.then_next);
      Required(errors, at + ".else", s.else_next);
    }
    void operator()(const SplitStep& s) const {
      if (s.branches.size() < 2 || s.branches.size() > kMaxSplitBranches) {
        errors.Add(at + ".branches", "needs 2 to " + std::to_string(kMaxSplitBranches) + " branches, not " +
                                         std::to_string(s.branches.size()));
      }
      for (std::size_t i = 0; i < s.branches.size() && i < kMaxSplitBranches; ++i) {
        const std::string b = at + ".branches." + std::to_string(i);
        if (s.branches[i].weight < 1 || s.branches[i].weight > 1000)
          errors.Add(b + ".weight", "must be between 1 and 1000");
        Required(errors, b + ".next", s.branches[i].next);
      }
    }
    void operator()(const SendStep& s) const {
      errors.Text(at + ".template", s.template_name);
      if (!s.survey.empty()) errors.Text(at + ".survey", s.survey);
    }
    void operator()(const GrantPointsStep& s) const {
      if (s.points < 1 || s.points > kPointsLimit)
        errors.Add(at + ".points", "must be between 1 and " + std::to_string(kPointsLimit));
      errors.Text(at + ".reason", s.reason);
    }
    void operator()(const GrantRewardStep& s) const { errors.Text(at + ".reward", s.reward); }
    void operator()(const WebhookStep& s) const { errors.Text(at + ".endpoint", s.endpoint); }
    void operator()(const FollowupStep& s) const { errors.Text(at + ".note", s.note, kMaxNoteLength); }
    void operator()(const SetAttributeStep& s) const {
      if (s.name.empty()) {
        errors.Add(at + ".name", "is required");
      } else if (!IsAttributeName(s.name)) {
        errors.Add(at + ".name", "must be an attribute name: 1 to 64 letters, digits or '_'");
      }
      if (const auto* text = std::get_if<std::string>(&s.value); text && text->size() > kMaxNoteLength)
        errors.Add(at + ".value", "is longer than " + std::to_string(kMaxNoteLength) + " characters");
      if (const auto* d = std::get_if<double>(&s.value); d && !std::isfinite(*d))
        errors.Add(at + ".value", "must be a finite number");
    }
    void operator()(const ExitStep&) const {}
  };
  std::visit(Visitor{errors, at}, step.body);
}

std::string StepRef(std::size_t i) { return "steps." + std::to_string(i); }

// Loops made only of steps that don't wait: each closes a cycle a run would go round forever
// at one instant. Waits end a path here (their targets are reached only later).
void CheckLoops(Errors& errors, const JourneyDefinition& def, const std::vector<std::vector<int>>& targets) {
  const std::size_t n = def.steps.size();
  enum Color : std::uint8_t { kWhite, kGrey, kBlack };
  std::vector<Color> color(n, kWhite);
  std::vector<int> path;
  std::function<void(int)> visit = [&](int u) {
    color[static_cast<std::size_t>(u)] = kGrey;
    path.push_back(u);
    if (!IsWaitType(def.steps[static_cast<std::size_t>(u)].type())) {
      for (int v : targets[static_cast<std::size_t>(u)]) {
        if (v < 0) continue;
        if (color[static_cast<std::size_t>(v)] == kGrey) {
          std::string loop;
          std::size_t from = 0;
          while (path[from] != v) ++from;
          for (std::size_t k = from; k < path.size(); ++k) loop += "'" + def.steps[static_cast<std::size_t>(path[k])].id + "' → ";
          loop += "'" + def.steps[static_cast<std::size_t>(v)].id + "'";
          errors.Add(StepRef(static_cast<std::size_t>(v)),
                     "the steps " + loop + " form a loop without a wait step; a run would go round it forever");
        } else if (color[static_cast<std::size_t>(v)] == kWhite) {
          visit(v);
        }
      }
    }
    path.pop_back();
    color[static_cast<std::size_t>(u)] = kBlack;
  };
  const int start = [&] {
    for (std::size_t i = 0; i < n; ++i)
      if (def.steps[i].id == def.start) return static_cast<int>(i);
    return 0;
  }();
  visit(start);
  for (std::size_t i = 0; i < n; ++i)
    if (color[i] == kWhite) visit(static_cast<int>(i));
}

}  // namespace

Result<TimeOfDay> ParseTimeOfDay(std::string_view text, std::string context) {
  auto digit = [&](std::size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (text.size() != 5 || text[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4))
    return InvalidArgument(std::move(context), "must be a time of day as HH:MM, e.g. 09:30");
  const TimeOfDay t{(text[0] - '0') * 10 + (text[1] - '0'), (text[3] - '0') * 10 + (text[4] - '0')};
  if (t.hour > 23 || t.minute > 59)
    return InvalidArgument(std::move(context), "must be a time of day between 00:00 and 23:59");
  return t;
}

std::string FormatTimeOfDay(TimeOfDay t) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", t.hour, t.minute);
  return buf;
}

std::string_view TriggerTypeName(TriggerType t) {
  switch (t) {
    case TriggerType::kEvent: return "event";
    case TriggerType::kSegmentEntered: return "segment_entered";
    case TriggerType::kSegmentLeft: return "segment_left";
    case TriggerType::kDate: return "date";
    case TriggerType::kSurveyAnswer: return "survey_answer";
  }
  return "event";
}

std::string_view ReentryModeName(ReentryMode m) {
  switch (m) {
    case ReentryMode::kNever: return "never";
    case ReentryMode::kAfterExit: return "after_exit";
    case ReentryMode::kAlways: return "always";
  }
  return "never";
}

std::string_view MessageCategoryName(MessageCategory c) {
  return c == MessageCategory::kTransactional ? "transactional" : "marketing";
}

namespace {
constexpr std::string_view kStepTypeNames[] = {"wait",         "wait_until",  "wait_for_event", "branch",
                                               "split",        "send",        "grant_points",   "grant_reward",
                                               "webhook",      "followup",    "set_attribute",  "exit"};
static_assert(std::size(kStepTypeNames) == std::variant_size_v<StepBody>);
}  // namespace

std::string_view StepTypeName(StepType t) { return kStepTypeNames[static_cast<std::size_t>(t)]; }

std::optional<StepType> ParseStepType(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kStepTypeNames); ++i)
    if (kStepTypeNames[i] == name) return static_cast<StepType>(i);
  return std::nullopt;
}

bool IsWaitType(StepType t) {
  return t == StepType::kWait || t == StepType::kWaitUntil || t == StepType::kWaitForEvent;
}

bool IsActionType(StepType t) { return t >= StepType::kSend && t <= StepType::kSetAttribute; }

std::int64_t WaitStep::micros() const {
  return days * kMicrosPerDay + hours * kMicrosPerHour + minutes * kMicrosPerMinute;
}

std::int64_t WaitForEventStep::timeout_micros() const {
  return timeout_days * kMicrosPerDay + timeout_hours * kMicrosPerHour;
}

std::vector<StepTarget> TargetsOf(const Step& step) {
  struct Visitor {
    std::vector<StepTarget> operator()(const WaitStep& s) const { return {{"next", s.next}}; }
    std::vector<StepTarget> operator()(const WaitUntilStep& s) const { return {{"next", s.next}}; }
    std::vector<StepTarget> operator()(const WaitForEventStep& s) const {
      return {{"next", s.next}, {"timeout_next", s.timeout_next}};
    }
    std::vector<StepTarget> operator()(const BranchStep& s) const {
      return {{"then", s.then_next}, {"else", s.else_next}};
    }
    std::vector<StepTarget> operator()(const SplitStep& s) const {
      std::vector<StepTarget> out;
      for (std::size_t i = 0; i < s.branches.size(); ++i)
        out.push_back({"branches." + std::to_string(i) + ".next", s.branches[i].next});
      return out;
    }
    std::vector<StepTarget> operator()(const SendStep& s) const { return {{"next", s.next}}; }
    std::vector<StepTarget> operator()(const GrantPointsStep& s) const { return {{"next", s.next}}; }
    std::vector<StepTarget> operator()(const GrantRewardStep& s) const { return {{"next", s.next}}; }
    std::vector<StepTarget> operator()(const WebhookStep& s) const { return {{"next", s.next}}; }
    std::vector<StepTarget> operator()(const FollowupStep& s) const { return {{"next", s.next}}; }
    std::vector<StepTarget> operator()(const SetAttributeStep& s) const { return {{"next", s.next}}; }
    std::vector<StepTarget> operator()(const ExitStep&) const { return {}; }
  };
  return std::visit(Visitor{}, step.body);
}

std::vector<Error> ValidateJourney(const JourneyDefinition& def, bool check_graph) {
  Errors errors;
  if (def.name.empty()) {
    errors.Add("name", "is required");
  } else if (!IsSegmentName(def.name)) {
    errors.Add("name", "must be 1 to 64 letters, digits, '_', '-' or '.'");
  }
  CheckTrigger(errors, def.trigger);
  CheckReentry(errors, def.reentry);
  CheckGoal(errors, def.goal);
  if (def.start.empty()) errors.Add("start", "is required");
  if (def.steps.empty()) {
    errors.Add("steps", "needs at least one step");
    return errors.Take();
  }
  if (def.steps.size() > kMaxSteps) {
    errors.Add("steps", "has " + std::to_string(def.steps.size()) + " steps; at most " + std::to_string(kMaxSteps));
    return errors.Take();
  }
  bool ids_sound = true;
  for (std::size_t i = 0; i < def.steps.size(); ++i) {
    const std::string at = StepRef(i);
    const Step& step = def.steps[i];
    if (step.id.empty()) {
      errors.Add(at + ".id", "is required");
      ids_sound = false;
    } else if (!IsStepId(step.id)) {
      errors.Add(at + ".id", "must be 1 to 64 of a-z, 0-9, '_' and '-'");
      ids_sound = false;
    }
    CheckStepBody(errors, at, step);
  }
  if (!ids_sound) return errors.Take();

  // Across steps: ids, targets.
  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < def.steps.size(); ++i) {
    auto [it, fresh] = index.emplace(def.steps[i].id, i);
    if (!fresh)
      errors.Add(StepRef(i) + ".id", "id '" + def.steps[i].id + "' is also step " + std::to_string(it->second) + "'s");
  }
  if (!def.start.empty() && !index.contains(def.start)) errors.Add("start", "names no step '" + def.start + "'");
  std::vector<std::vector<int>> targets(def.steps.size());
  for (std::size_t i = 0; i < def.steps.size(); ++i) {
    for (const StepTarget& t : TargetsOf(def.steps[i])) {
      if (t.id.empty()) {
        targets[i].push_back(-1);
        continue;
      }
      auto it = index.find(t.id);
      if (it == index.end()) {
        errors.Add(StepRef(i) + "." + t.field, "names no step '" + t.id + "'");
        targets[i].push_back(-1);
      } else {
        targets[i].push_back(static_cast<int>(it->second));
      }
    }
  }
  if (!errors.empty() || !check_graph) return errors.Take();

  // The graph: every step reachable from the start, no loop without a wait.
  std::vector<bool> reached(def.steps.size(), false);
  std::vector<std::size_t> queue{index.at(def.start)};
  reached[queue.front()] = true;
  while (!queue.empty()) {
    const std::size_t u = queue.back();
    queue.pop_back();
    for (int v : targets[u]) {
      if (v >= 0 && !reached[static_cast<std::size_t>(v)]) {
        reached[static_cast<std::size_t>(v)] = true;
        queue.push_back(static_cast<std::size_t>(v));
      }
    }
  }
  for (std::size_t i = 0; i < def.steps.size(); ++i) {
    if (!reached[i])
      errors.Add(StepRef(i), "step '" + def.steps[i].id + "' can't be reached from the start step '" + def.start + "'");
  }
  if (!errors.empty()) return errors.Take();
  CheckLoops(errors, def, targets);
  return errors.Take();
}

Status CheckJourney(const JourneyDefinition& def) {
  std::vector<Error> errors = ValidateJourney(def);
  if (!errors.empty()) return std::unexpected(std::move(errors.front()));
  return Ok();
}

JourneyKey NewJourneyKey() {
  if (sodium_init() < 0) std::abort();  // libsodium cannot start: no randomness to draw from
  JourneyKey key;
  randombytes_buf(key.data(), key.size());
  return key;
}

std::string FormatJourneyKey(const JourneyKey& key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * key.size());
  for (std::uint8_t b : key) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Result<JourneyKey> ParseJourneyKey(std::string_view hex) {
  if (hex.size() != 32) return InvalidArgument("key", "must be 32 lower-case hexadecimal digits");
  JourneyKey key;
  for (std::size_t i = 0; i < key.size(); ++i) {
    int v = 0;
    for (char c : hex.substr(2 * i, 2)) {
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return InvalidArgument("key", "must be 32 lower-case hexadecimal digits");
      v = v * 16 + d;
    }
    key[i] = static_cast<std::uint8_t>(v);
  }
  return key;
}

Result<JourneyVersion> JourneyVersion::Create(std::int64_t journey_id, int version, const JourneyKey& key,
                                              JourneyDefinition def) {
  if (version < 1) return InvalidArgument("version", "must be 1 or more");
  TREU_RETURN_IF_ERROR(CheckJourney(def));
  JourneyVersion v;
  v.journey_id_ = journey_id;
  v.version_ = version;
  v.key_ = key;
  v.def_ = std::move(def);
  v.start_ = v.IndexOf(v.def_.start);
  v.offset_.reserve(v.def_.steps.size() + 1);
  for (const Step& step : v.def_.steps) {
    v.offset_.push_back(v.targets_.size());
    for (const StepTarget& t : TargetsOf(step)) v.targets_.push_back(t.id.empty() ? -1 : v.IndexOf(t.id));
  }
  v.offset_.push_back(v.targets_.size());
  return v;
}

int JourneyVersion::IndexOf(std::string_view id) const {
  for (std::size_t i = 0; i < def_.steps.size(); ++i)
    if (def_.steps[i].id == id) return static_cast<int>(i);
  return -1;
}

std::span<const int> JourneyVersion::Targets(int index) const {
  const auto i = static_cast<std::size_t>(index);
  return std::span<const int>(targets_).subspan(offset_[i], offset_[i + 1] - offset_[i]);
}

int VersionForSave(const JourneyVersion* latest, const JourneyDefinition& def) {
  if (latest == nullptr) return 1;
  return latest->definition() == def ? latest->version() : latest->version() + 1;
}

// ---- Dates and local times ------------------------------------------------------------------

namespace {

// ISO weekday of a day count since 1970-01-01 (a Thursday): 1 Monday .. 7 Sunday.
int IsoWeekday(std::int64_t days) {
  const std::int64_t r = ((days % 7) + 7 + 3) % 7;
  return static_cast<int>(r) + 1;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

Timestamp NextLocalTimeAfter(Timestamp after, const TimeZone& zone, TimeOfDay at, int weekday) {
  // Offsets are within ±26 h, so the answer is on the local date of `after`, one day before it
  // or up to 8 days after (a week for the weekday, plus one).
  const std::int64_t today = DaysFromCivil(zone.LocalDate(after));
  for (std::int64_t d = today - 1; d <= today + 9; ++d) {
    if (weekday != 0 && IsoWeekday(d) != weekday) continue;
    const Timestamp candidate = zone.ToUtc(CivilFromDays(d), at.micros());
    if (candidate > after) return candidate;
  }
  return zone.ToUtc(CivilFromDays(today + 10), at.micros());  // not reached for real zones
}

std::optional<Timestamp> NextDateTrigger(const Trigger& trigger, CivilDate date, const TimeZone& zone,
                                         Timestamp after) {
  auto fire = [&](CivilDate d) {
    return zone.ToUtc(CivilFromDays(DaysFromCivil(d) + trigger.offset_days), trigger.at.micros());
  };
  if (!trigger.yearly) {
    const Timestamp t = fire(date);
    if (t > after) return t;
    return std::nullopt;
  }
  // The anniversary in the year of `after`'s local date, shifted by the offset, may fall in
  // the year before or after: try the neighbouring years too.
  const int year = zone.LocalDate(after).year;
  for (int y = year - 2; y <= year + 2; ++y) {
    if (y < 1 || y > 9999) continue;
    CivilDate d{y, date.month, date.day};
    if (d.month == 2 && d.day == 29 && !IsLeapYear(y)) d.day = 28;
    const Timestamp t = fire(d);
    if (t > after) return t;
  }
  return std::nullopt;
}

}  // namespace treu::journeys
