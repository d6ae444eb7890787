#include "journeys/definition_json.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <utility>

namespace treu::journeys {
namespace {

using nlohmann::json;

std::string Join(const std::string& at, std::string_view member) {
  return at.empty() ? std::string(member) : at + "." + std::string(member);
}

std::string ListOf(std::initializer_list<std::string_view> names) {
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

// Reads members into a definition, collecting the errors of the JSON itself: not an object,
// unknown or missing members, values of the wrong type.
class Reader {
 public:
  JourneyErrors errors;

  void Add(std::string context, std::string detail) {
    if (errors.size() < 100) errors.emplace_back(ErrorCode::kInvalidArgument, std::move(context), std::move(detail));
  }

  // Whether `j` is an object; reports each member not in `allowed`.
  bool Object(const json& j, const std::string& at, std::string_view what,
              std::initializer_list<std::string_view> allowed) {
    if (!j.is_object()) {
      Add(at, std::string(what) + " must be a JSON object");
      return false;
    }
    for (const auto& [name, value] : j.items()) {
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
        Add(Join(at, name), "is not a field of " + std::string(what) + " (" + ListOf(allowed) + ")");
    }
    return true;
  }

  void String(const json& obj, std::string_view name, const std::string& at, std::string& out) {
    auto it = obj.find(name);
    if (it == obj.end()) return;
    if (!it->is_string()) {
      Add(Join(at, name), "must be a string");
      return;
    }
    out = it->get<std::string>();
  }

  // A whole number in [min, max] when present; `range` describes the bounds for the error.
  template <typename T>
  bool Whole(const json& obj, std::string_view name, const std::string& at, T& out, std::int64_t min, std::int64_t max,
             std::string_view range) {
    auto it = obj.find(name);
    if (it == obj.end()) return false;
    if (!it->is_number_integer()) {
      Add(Join(at, name), "must be a whole number");
      return false;
    }
    const bool too_big = it->is_number_unsigned() &&
                         it->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    const std::int64_t v = too_big ? std::numeric_limits<std::int64_t>::max() : it->get<std::int64_t>();
    if (too_big || v < min || v > max) {
      Add(Join(at, name), std::string(range));
      return false;
    }
    out = static_cast<T>(v);
    return true;
  }

  void Bool(const json& obj, std::string_view name, const std::string& at, bool& out) {
    auto it = obj.find(name);
    if (it == obj.end()) return;
    if (!it->is_boolean()) {
      Add(Join(at, name), "must be true or false");
      return;
    }
    out = it->get<bool>();
  }

  void Time(const json& obj, std::string_view name, const std::string& at, TimeOfDay& out) {
    auto it = obj.find(name);
    if (it == obj.end()) return;
    if (!it->is_string()) {
      Add(Join(at, name), "must be a time of day as HH:MM, e.g. 09:30");
      return;
    }
    auto t = ParseTimeOfDay(it->get_ref<const std::string&>(), Join(at, name));
    if (!t) {
      errors.push_back(t.error());
      return;
    }
    out = *t;
  }

  void ReadTrigger(const json& j, Trigger& t) {
    const std::string at = "trigger";
    if (!j.is_object()) {
      Add(at, "must be a JSON object with a type");
      return;
    }
    auto type = j.find("type");
    if (type == j.end()) {
      Add("trigger.type", "is required: event, segment_entered, segment_left, date or survey_answer");
      return;
    }
    const std::string name = type->is_string() ? type->get<std::string>() : "";
    if (name == "event") {
      t.type = TriggerType::kEvent;
      Object(j, at, "an event trigger", {"type", "event", "where"});
      String(j, "event", at, t.event);
      String(j, "where", at, t.where);
    } else if (name == "segment_entered" || name == "segment_left") {
      t.type = name == "segment_entered" ? TriggerType::kSegmentEntered : TriggerType::kSegmentLeft;
      Object(j, at, "a " + name + " trigger", {"type", "segment"});
      String(j, "segment", at, t.segment);
    } else if (name == "date") {
      t.type = TriggerType::kDate;
      Object(j, at, "a date trigger", {"type", "attribute", "offset_days", "at", "yearly"});
      String(j, "attribute", at, t.attribute);
      Whole(j, "offset_days", at, t.offset_days, -365, 365, "must be between -365 and 365");
      Time(j, "at", at, t.at);
      Bool(j, "yearly", at, t.yearly);
    } else if (name == "survey_answer") {
      t.type = TriggerType::kSurveyAnswer;
      Object(j, at, "a survey_answer trigger", {"type", "survey", "min_score", "max_score"});
      String(j, "survey", at, t.survey);
      int score = 0;
      if (Whole(j, "min_score", at, score, 0, 10, "must be between 0 and 10")) t.min_score = score;
      if (Whole(j, "max_score", at, score, 0, 10, "must be between 0 and 10")) t.max_score = score;
    } else {
      Add("trigger.type", "must be event, segment_entered, segment_left, date or survey_answer" +
                              (name.empty() ? std::string() : ", not '" + name + "'"));
    }
  }

  void ReadReentry(const json& j, Reentry& r) {
    auto mode = [&](const std::string& text, const std::string& at) {
      if (text == "never") {
        r.mode = ReentryMode::kNever;
      } else if (text == "after_exit") {
        r.mode = ReentryMode::kAfterExit;
      } else if (text == "always") {
        r.mode = ReentryMode::kAlways;
      } else {
        Add(at, "must be never, after_exit or always, not '" + text + "'");
      }
    };
    if (j.is_string()) {
      mode(j.get<std::string>(), "reentry");
      return;
    }
    if (!j.is_object()) {
      Add("reentry", "must be never, after_exit, always or an object like {\"mode\": \"after_exit\", \"after_days\": 90}");
      return;
    }
    Object(j, "reentry", "reentry", {"mode", "after_days"});
    auto m = j.find("mode");
    if (m == j.end()) {
      Add("reentry.mode", "is required: never, after_exit or always");
    } else if (!m->is_string()) {
      Add("reentry.mode", "must be never, after_exit or always");
    } else {
      mode(m->get<std::string>(), "reentry.mode");
    }
    Whole(j, "after_days", "reentry", r.after_days, 0, 3650, "must be between 1 and 3650");
  }

  void ReadGoal(const json& j, Goal& g) {
    if (j.is_null()) return;
    if (!Object(j, "goal", "a goal", {"event", "segment", "within_days"})) return;
    String(j, "event", "goal", g.event);
    String(j, "segment", "goal", g.segment);
    Whole(j, "within_days", "goal", g.within_days, 0, kMaxWaitDays, "must be between 1 and 365");
  }

  // A positive duration part: present means more than 0.
  void Part(const json& j, std::string_view name, const std::string& at, int& out) {
    Whole(j, name, at, out, 1, std::numeric_limits<int>::max(), "must be a whole number greater than 0");
  }

  void Value(const json& j, const std::string& at, AttributeValue& out) {
    auto it = j.find("value");
    if (it == j.end()) {
      Add(Join(at, "value"), "is required: a string, a number, true or false");
    } else if (it->is_string()) {
      out = it->get<std::string>();
    } else if (it->is_boolean()) {
      out = it->get<bool>();
    } else if (it->is_number_integer() &&
               !(it->is_number_unsigned() &&
                 it->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))) {
      out = it->get<std::int64_t>();
    } else if (it->is_number()) {
      out = it->get<double>();
    } else {
      Add(Join(at, "value"), "must be a string, a number, true or false");
    }
  }

  Step StepFrom(const json& j, const std::string& at) {
    Step step;
    step.body = ExitStep{};
    if (!j.is_object()) {
      Add(at, "a step must be a JSON object");
      return step;
    }
    String(j, "id", at, step.id);
    auto type = j.find("type");
    if (type == j.end()) {
      Add(Join(at, "type"), "is required");
      return step;
    }
    const std::string name = type->is_string() ? type->get<std::string>() : "";
    const std::optional<StepType> parsed = ParseStepType(name);
    if (!parsed) {
      Add(Join(at, "type"),
          "must be wait, wait_until, wait_for_event, branch, split, send, grant_points, grant_reward, webhook, "
          "followup, set_attribute or exit" +
              (name.empty() ? std::string() : ", not '" + name + "'"));
      return step;
    }
    const std::string what = "a " + name + " step";
    switch (*parsed) {
      case StepType::kWait: {
        WaitStep s;
        Object(j, at, what, {"id", "type", "days", "hours", "minutes", "next"});
        Part(j, "days", at, s.days);
        Part(j, "hours", at, s.hours);
        Part(j, "minutes", at, s.minutes);
        String(j, "next", at, s.next);
        step.body = std::move(s);
        break;
      }
      case StepType::kWaitUntil: {
        WaitUntilStep s;
        Object(j, at, what, {"id", "type", "time", "weekday", "next"});
        if (!j.contains("time")) Add(Join(at, "time"), "is required: a time of day as HH:MM");
        Time(j, "time", at, s.time);
        Whole(j, "weekday", at, s.weekday, 1, 7, "must be 1 (Monday) to 7 (Sunday)");
        String(j, "next", at, s.next);
        step.body = std::move(s);
        break;
      }
      case StepType::kWaitForEvent: {
        WaitForEventStep s;
        Object(j, at, what, {"id", "type", "event", "timeout_days", "timeout_hours", "next", "timeout_next"});
        String(j, "event", at, s.event);
        Part(j, "timeout_days", at, s.timeout_days);
        Part(j, "timeout_hours", at, s.timeout_hours);
        String(j, "next", at, s.next);
        String(j, "timeout_next", at, s.timeout_next);
        step.body = std::move(s);
        break;
      }
      case StepType::kBranch: {
        BranchStep s;
        Object(j, at, what, {"id", "type", "if", "then", "else"});
        String(j, "if", at, s.condition);
        String(j, "then", at, s.then_next);
        String(j, "else", at, s.else_next);
        step.body = std::move(s);
        break;
      }
      case StepType::kSplit: {
        SplitStep s;
        Object(j, at, what, {"id", "type", "branches"});
        auto branches = j.find("branches");
        const std::string bat = Join(at, "branches");
        if (branches == j.end()) {
          Add(bat, "is required: 2 to 10 branches like {\"weight\": 50, \"next\": \"a\"}");
        } else if (!branches->is_array()) {
          Add(bat, "must be an array of branches like {\"weight\": 50, \"next\": \"a\"}");
        } else if (branches->size() > kMaxSplitBranches) {
          Add(bat, "needs 2 to 10 branches, not " + std::to_string(branches->size()));
        } else {
          for (std::size_t i = 0; i < branches->size(); ++i) {
            const json& b = (*branches)[i];
            const std::string at_b = Join(bat, std::to_string(i));
            SplitBranch branch;
            if (Object(b, at_b, "a split branch", {"weight", "next"})) {
              Whole(b, "weight", at_b, branch.weight, 1, 1000, "must be between 1 and 1000");
              String(b, "next", at_b, branch.next);
            }
            s.branches.push_back(std::move(branch));
          }
        }
        step.body = std::move(s);
        break;
      }
      case StepType::kSend: {
        SendStep s;
        Object(j, at, what, {"id", "type", "template", "category", "survey", "next"});
        String(j, "template", at, s.template_name);
        String(j, "survey", at, s.survey);
        std::string category;
        String(j, "category", at, category);
        if (category == "transactional") {
          s.category = MessageCategory::kTransactional;
        } else if (!category.empty() && category != "marketing") {
          Add(Join(at, "category"), "must be marketing or transactional, not '" + category + "'");
        }
        String(j, "next", at, s.next);
        step.body = std::move(s);
        break;
      }
      case StepType::kGrantPoints: {
        GrantPointsStep s;
        Object(j, at, what, {"id", "type", "points", "reason", "next"});
        if (!j.contains("points")) Add(Join(at, "points"), "is required");
        Whole(j, "points", at, s.points, 1, 1'000'000'000, "must be between 1 and 1000000000");
        String(j, "reason", at, s.reason);
        String(j, "next", at, s.next);
        step.body = std::move(s);
        break;
      }
      case StepType::kGrantReward: {
        GrantRewardStep s;
        Object(j, at, what, {"id", "type", "reward", "next"});
        String(j, "reward", at, s.reward);
        String(j, "next", at, s.next);
        step.body = std::move(s);
        break;
      }
      case StepType::kWebhook: {
        WebhookStep s;
        Object(j, at, what, {"id", "type", "endpoint", "next"});
        String(j, "endpoint", at, s.endpoint);
        String(j, "next", at, s.next);
        step.body = std::move(s);
        break;
      }
      case StepType::kFollowup: {
        FollowupStep s;
        Object(j, at, what, {"id", "type", "note", "next"});
        String(j, "note", at, s.note);
        String(j, "next", at, s.next);
        step.body = std::move(s);
        break;
      }
      case StepType::kSetAttribute: {
        SetAttributeStep s;
        Object(j, at, what, {"id", "type", "name", "value", "next"});
        String(j, "name", at, s.name);
        Value(j, at, s.value);
        String(j, "next", at, s.next);
        step.body = std::move(s);
        break;
      }
      case StepType::kExit:
        Object(j, at, what, {"id", "type"});
        break;
    }
    return step;
  }
};

// Whether a check of ValidateJourney at `context` concerns the same member as an error of the
// JSON at `reported`: the one contains the other. An error at "X.type" (the kind of X is
// unknown) covers all of X.
bool Related(std::string_view context, std::string_view reported) {
  if (reported.ends_with(".type")) reported.remove_suffix(5);
  auto within = [](std::string_view inner, std::string_view outer) {
    return inner == outer || outer.empty() || (inner.starts_with(outer) && inner[outer.size()] == '.');
  };
  return within(context, reported) || within(reported, context);
}

json ValueJson(const AttributeValue& v) {
  return std::visit([](const auto& x) { return json(x); }, v);
}

json StepJson(const Step& step) {
  json out = {{"id", step.id}, {"type", StepTypeName(step.type())}};
  auto next = [&](const std::string& id) {
    if (!id.empty()) out["next"] = id;
  };
  struct Visitor {
    json& out;
    decltype(next)& put_next;
    void operator()(const WaitStep& s) const {
      if (s.days) out["days"] = s.days;
      if (s.hours) out["hours"] = s.hours;
      if (s.minutes) out["minutes"] = s.minutes;
      put_next(s.next);
    }
    void operator()(const WaitUntilStep& s) const {
      out["time"] = FormatTimeOfDay(s.time);
      if (s.weekday) out["weekday"] = s.weekday;
      put_next(s.next);
    }
    void operator()(const WaitForEventStep& s) const {
      out["event"] = s.event;
      if (s.timeout_days) out["timeout_days"] = s.timeout_days;
      if (s.timeout_hours) out["timeout_hours"] = s.timeout_hours;
      put_next(s.next);
      out["timeout_next"] = s.timeout_next;
    }
    void operator()(const BranchStep& s) const {
      out["if"] = s.condition;
      out["then"] = s.then_next;
      out["else"] = s.else_next;
    }
    void operator()(const SplitStep& s) const {
      json branches = json::array();
      for (const SplitBranch& b : s.branches) branches.push_back({{"weight", b.weight}, {"next", b.next}});
      out["branches"] = std::move(branches);
    }
    void operator()(const SendStep& s) const {
      out["template"] = s.template_name;
      out["category"] = MessageCategoryName(s.category);
      if (!s.survey.empty()) out["survey"] = s.survey;
      put_next(s.next);
    }
    void operator()(const GrantPointsStep& s) const {
      out["points"] = s.points;
      out["reason"] = s.reason;
      put_next(s.next);
    }
    void operator()(const GrantRewardStep& s) const {
      out["reward"] = s.reward;
      put_next(s.next);
    }
    void operator()(const WebhookStep& s) const {
      out["endpoint"] = s.endpoint;
      put_next(s.next);
    }
    void operator()(const FollowupStep& s) const {
      out["note"] = s.note;
      put_next(s.next);
    }
    void operator()(const SetAttributeStep& s) const {
      out["name"] = s.name;
      out["value"] = ValueJson(s.value);
      put_next(s.next);
    }
    void operator()(const ExitStep&) const {}
  };
  std::visit(Visitor{out, next}, step.body);
  return out;
}

json TriggerJson(const Trigger& t) {
  json out = {{"type", TriggerTypeName(t.type)}};
  switch (t.type) {
    case TriggerType::kEvent:
      out["event"] = t.event;
      if (!t.where.empty()) out["where"] = t.where;
      break;
    case TriggerType::kSegmentEntered:
    case TriggerType::kSegmentLeft:
      out["segment"] = t.segment;
      break;
    case TriggerType::kDate:
      out["attribute"] = t.attribute;
      out["offset_days"] = t.offset_days;
      out["at"] = FormatTimeOfDay(t.at);
      out["yearly"] = t.yearly;
      break;
    case TriggerType::kSurveyAnswer:
      out["survey"] = t.survey;
      if (t.min_score) out["min_score"] = *t.min_score;
      if (t.max_score) out["max_score"] = *t.max_score;
      break;
  }
  return out;
}

}  // namespace

std::expected<JourneyDefinition, JourneyErrors> ParseJourneyJson(const json& j) {
  Reader r;
  JourneyDefinition def;
  if (!r.Object(j, "", "a journey", {"name", "trigger", "reentry", "goal", "start", "steps"}))
    return std::unexpected(std::move(r.errors));
  r.String(j, "name", "", def.name);
  if (auto it = j.find("trigger"); it == j.end()) {
    r.Add("trigger", "is required");
  } else {
    r.ReadTrigger(*it, def.trigger);
  }
  if (auto it = j.find("reentry"); it != j.end()) r.ReadReentry(*it, def.reentry);
  if (auto it = j.find("goal"); it != j.end()) r.ReadGoal(*it, def.goal);
  const bool has_start = j.contains("start");
  r.String(j, "start", "", def.start);
  if (auto it = j.find("steps"); it == j.end()) {
    r.Add("steps", "is required");
  } else if (!it->is_array()) {
    r.Add("steps", "must be an array of steps");
  } else if (it->size() > kMaxSteps) {
    r.Add("steps", "has " + std::to_string(it->size()) + " steps; at most " + std::to_string(kMaxSteps));
  } else {
    for (std::size_t i = 0; i < it->size(); ++i) def.steps.push_back(r.StepFrom((*it)[i], "steps." + std::to_string(i)));
    if (!has_start && !def.steps.empty()) def.start = def.steps.front().id;  // the first step by default
  }

  JourneyErrors errors = std::move(r.errors);
  const std::size_t reported = errors.size();
  for (Error& e : ValidateJourney(def, /*check_graph=*/reported == 0)) {
    const bool related = std::any_of(errors.begin(), errors.begin() + static_cast<std::ptrdiff_t>(reported),
                                     [&](const Error& p) { return Related(e.context(), p.context()); });
    if (!related) errors.push_back(std::move(e));
  }
  if (!errors.empty()) return std::unexpected(std::move(errors));
  return def;
}

std::expected<JourneyDefinition, JourneyErrors> ParseJourneyText(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Parse again for the position of the error (exceptions only on this path).
    std::string detail = "is not valid JSON";
    try {
      const json again = json::parse(text.begin(), text.end());
      (void)again;
    } catch (const json::parse_error& e) {
      detail += " (at byte " + std::to_string(e.byte) + ")";
    }
    return std::unexpected(JourneyErrors{Error(ErrorCode::kInvalidArgument, "", detail)});
  }
  return ParseJourneyJson(j);
}

Result<JourneyDefinition> JourneyFromJson(const json& j) {
  auto parsed = ParseJourneyJson(j);
  if (!parsed) return std::unexpected(std::move(parsed.error().front()));
  return std::move(*parsed);
}

json JourneyToJson(const JourneyDefinition& def) {
  json out = {{"name", def.name}, {"trigger", TriggerJson(def.trigger)}, {"start", def.start}};
  if (def.reentry.after_days == 0) {
    out["reentry"] = ReentryModeName(def.reentry.mode);
  } else {
    out["reentry"] = {{"mode", ReentryModeName(def.reentry.mode)}, {"after_days", def.reentry.after_days}};
  }
  if (!def.goal.empty()) {
    json goal = json::object();
    if (!def.goal.event.empty()) goal["event"] = def.goal.event;
    if (!def.goal.segment.empty()) goal["segment"] = def.goal.segment;
    if (def.goal.within_days) goal["within_days"] = def.goal.within_days;
    out["goal"] = std::move(goal);
  }
  json steps = json::array();
  for (const Step& s : def.steps) steps.push_back(StepJson(s));
  out["steps"] = std::move(steps);
  return out;
}

std::string FormatJourneyJson(const JourneyDefinition& def, int indent) {
  return JourneyToJson(def).dump(indent, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

std::string DefinitionHash(const JourneyDefinition& def) {
  const std::string text = FormatJourneyJson(def);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * sizeof digest);
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace treu::journeys
