#include "api/survey_json.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>

namespace treu {
namespace {

using nlohmann::json;
using survey::Choice;
using survey::FollowUp;
using survey::LocalizedText;
using survey::NpsThresholds;
using survey::Question;
using survey::Survey;

json TextJson(const LocalizedText& t) {
  json out = json::object();
  for (const auto& [locale, text] : t.texts()) out[locale] = text;
  return out;
}

json QuestionJson(const Question& q) {
  json out = {{"id", q.id}, {"kind", survey::QuestionKindName(q.kind)}, {"text", TextJson(q.text)},
              {"required", q.required}};
  if (!q.choices.empty()) {
    json choices = json::array();
    for (const Choice& c : q.choices) choices.push_back({{"id", c.id}, {"label", TextJson(c.label)}});
    out["choices"] = choices;
  }
  if (q.follow_up) {
    out["follow_up"] = {{"min", q.follow_up->min_score()},
                        {"max", q.follow_up->max_score()},
                        {"question", QuestionJson(q.follow_up->question())}};
  }
  return out;
}

Error At(const std::string& pointer, std::string detail) {
  return Error(ErrorCode::kInvalidArgument, pointer, std::move(detail));
}

Status OnlyMembers(const json& j, const std::string& pointer, std::initializer_list<std::string_view> allowed) {
  if (!j.is_object()) return std::unexpected(At(pointer.empty() ? "/" : pointer, "must be a JSON object"));
  for (const auto& [name, value] : j.items()) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return std::unexpected(At(pointer + "/" + name, "is not a member here (" + list + ")"));
    }
  }
  return Ok();
}

Result<std::string> String(const json& j, const std::string& pointer) {
  if (!j.is_string()) return std::unexpected(At(pointer, "must be a string"));
  return j.get<std::string>();
}

Result<int> Int(const json& j, const std::string& pointer) {
  if (!j.is_number_integer()) return std::unexpected(At(pointer, "must be a whole number"));
  const auto v = j.get<std::int64_t>();
  if (v < -1'000'000 || v > 1'000'000) return std::unexpected(At(pointer, "is out of range"));
  return static_cast<int>(v);
}

Result<LocalizedText> Text(const json& j, const std::string& pointer) {
  if (!j.is_object()) return std::unexpected(At(pointer, "must be an object of locale → text, e.g. {\"de\": \"…\"}"));
  LocalizedText out;
  for (const auto& [locale, text] : j.items()) {
    TREU_ASSIGN_OR_RETURN(std::string t, String(text, pointer + "/" + locale));
    out.Set(locale, std::move(t));
  }
  return out;
}

Result<Question> QuestionFrom(const json& j, const std::string& pointer) {
  TREU_RETURN_IF_ERROR(OnlyMembers(j, pointer, {"id", "kind", "text", "required", "choices", "follow_up"}));
  Question q;
  if (!j.contains("id")) return std::unexpected(At(pointer + "/id", "is required"));
  TREU_ASSIGN_OR_RETURN(q.id, String(j["id"], pointer + "/id"));
  if (!j.contains("kind")) return std::unexpected(At(pointer + "/kind", "is required"));
  TREU_ASSIGN_OR_RETURN(std::string kind, String(j["kind"], pointer + "/kind"));
  auto parsed = survey::ParseQuestionKind(kind);
  if (!parsed) return std::unexpected(At(pointer + "/kind", parsed.error().detail()));
  q.kind = *parsed;
  if (j.contains("text")) {
    TREU_ASSIGN_OR_RETURN(q.text, Text(j["text"], pointer + "/text"));
  }
  if (j.contains("required")) {
    if (!j["required"].is_boolean()) return std::unexpected(At(pointer + "/required", "must be true or false"));
    q.required = j["required"].get<bool>();
  }
  if (j.contains("choices")) {
    if (!j["choices"].is_array()) return std::unexpected(At(pointer + "/choices", "must be an array"));
    for (std::size_t i = 0; i < j["choices"].size(); ++i) {
      const std::string at = pointer + "/choices/" + std::to_string(i);
      const json& c = j["choices"][i];
      TREU_RETURN_IF_ERROR(OnlyMembers(c, at, {"id", "label"}));
      Choice choice;
      if (!c.contains("id")) return std::unexpected(At(at + "/id", "is required"));
      TREU_ASSIGN_OR_RETURN(choice.id, String(c["id"], at + "/id"));
      if (c.contains("label")) {
        TREU_ASSIGN_OR_RETURN(choice.label, Text(c["label"], at + "/label"));
      }
      q.choices.push_back(std::move(choice));
    }
  }
  if (j.contains("follow_up")) {
    const std::string at = pointer + "/follow_up";
    const json& f = j["follow_up"];
    TREU_RETURN_IF_ERROR(OnlyMembers(f, at, {"min", "max", "question"}));
    if (!f.contains("min") || !f.contains("max") || !f.contains("question")) {
      return std::unexpected(At(at, "needs min, max and question"));
    }
    TREU_ASSIGN_OR_RETURN(int min, Int(f["min"], at + "/min"));
    TREU_ASSIGN_OR_RETURN(int max, Int(f["max"], at + "/max"));
    TREU_ASSIGN_OR_RETURN(Question inner, QuestionFrom(f["question"], at + "/question"));
    q.follow_up.emplace(min, max, std::move(inner));
  }
  return q;
}

}  // namespace

std::string SurveyPathToPointer(std::string_view path) {
  // Members whose JSON name differs from the field's.
  static constexpr std::pair<std::string_view, std::string_view> kRenamed[] = {
      {"min_score", "min"}, {"max_score", "max"}, {"nps", "nps_thresholds"}};
  std::string out;
  std::string segment;
  auto flush = [&] {
    if (segment.empty()) return;
    for (const auto& [field, member] : kRenamed) {
      if (segment == field) segment = member;
    }
    out += "/" + segment;
    segment.clear();
  };
  for (const char c : path) {
    if (c == '.' || c == '[' || c == ']') {
      flush();
    } else {
      segment += c;
    }
  }
  flush();
  return out.empty() ? "/" : out;
}

json SurveyToJson(const Survey& s) {
  json out = {{"name", s.name}, {"kind", survey::SurveyKindName(s.kind)}, {"default_locale", s.default_locale},
              {"title", TextJson(s.title)}};
  if (s.id != 0) out["id"] = s.id;
  if (s.kind == survey::SurveyKind::kRelationship) {
    out["every_days"] = s.every_days;
  } else {
    out["trigger_event"] = s.trigger_event;
    out["delay_hours"] = s.delay_hours;
  }
  out["min_gap_days"] = s.min_gap_days;
  if (!s.followup_webhook.empty()) out["followup_webhook"] = s.followup_webhook;
  if (!s.intro.empty()) out["intro"] = TextJson(s.intro);
  if (!s.thanks.empty()) out["thanks"] = TextJson(s.thanks);
  if (s.nps == NpsThresholds::Standard()) {
    out["nps_thresholds"] = "standard";
  } else if (s.nps == NpsThresholds::Article()) {
    out["nps_thresholds"] = "article";
  } else {
    out["nps_thresholds"] = {{"promoter_min", s.nps.promoter_min}, {"detractor_max", s.nps.detractor_max}};
  }
  json questions = json::array();
  for (const Question& q : s.questions) questions.push_back(QuestionJson(q));
  out["questions"] = questions;
  return out;
}

Result<Survey> SurveyFromJson(const json& j) {
  TREU_RETURN_IF_ERROR(OnlyMembers(j, "", {"id", "name", "kind", "every_days", "min_gap_days", "trigger_event",
                                           "delay_hours", "default_locale", "title", "intro", "thanks",
                                           "nps_thresholds", "questions", "followup_webhook"}));
  Survey s;
  if (!j.contains("name")) return std::unexpected(At("/name", "is required"));
  TREU_ASSIGN_OR_RETURN(s.name, String(j["name"], "/name"));
  if (j.contains("kind")) {
    TREU_ASSIGN_OR_RETURN(std::string kind, String(j["kind"], "/kind"));
    auto parsed = survey::ParseSurveyKind(kind);
    if (!parsed) return std::unexpected(At("/kind", parsed.error().detail()));
    s.kind = *parsed;
  }
  if (j.contains("every_days")) {
    TREU_ASSIGN_OR_RETURN(s.every_days, Int(j["every_days"], "/every_days"));
  }
  if (j.contains("min_gap_days")) {
    TREU_ASSIGN_OR_RETURN(s.min_gap_days, Int(j["min_gap_days"], "/min_gap_days"));
  }
  if (j.contains("trigger_event")) {
    TREU_ASSIGN_OR_RETURN(s.trigger_event, String(j["trigger_event"], "/trigger_event"));
  }
  if (j.contains("delay_hours")) {
    TREU_ASSIGN_OR_RETURN(s.delay_hours, Int(j["delay_hours"], "/delay_hours"));
  }
  if (j.contains("followup_webhook")) {
    TREU_ASSIGN_OR_RETURN(s.followup_webhook, String(j["followup_webhook"], "/followup_webhook"));
  }
  if (j.contains("default_locale")) {
    TREU_ASSIGN_OR_RETURN(s.default_locale, String(j["default_locale"], "/default_locale"));
  }
  for (const char* name : {"title", "intro", "thanks"}) {
    if (!j.contains(name)) continue;
    TREU_ASSIGN_OR_RETURN(LocalizedText t, Text(j[name], std::string("/") + name));
    (name[0] == 't' && name[1] == 'i' ? s.title : name[0] == 'i' ? s.intro : s.thanks) = std::move(t);
  }
  if (j.contains("nps_thresholds")) {
    const json& t = j["nps_thresholds"];
    if (t == "standard") {
      s.nps = NpsThresholds::Standard();
    } else if (t == "article") {
      s.nps = NpsThresholds::Article();
    } else if (t.is_object()) {
      TREU_RETURN_IF_ERROR(OnlyMembers(t, "/nps_thresholds", {"promoter_min", "detractor_max"}));
      if (!t.contains("promoter_min") || !t.contains("detractor_max")) {
        return std::unexpected(At("/nps_thresholds", "needs promoter_min and detractor_max"));
      }
      TREU_ASSIGN_OR_RETURN(s.nps.promoter_min, Int(t["promoter_min"], "/nps_thresholds/promoter_min"));
      TREU_ASSIGN_OR_RETURN(s.nps.detractor_max, Int(t["detractor_max"], "/nps_thresholds/detractor_max"));
    } else {
      return std::unexpected(At("/nps_thresholds", "must be \"standard\", \"article\" or {\"promoter_min\", \"detractor_max\"}"));
    }
  }
  if (j.contains("questions")) {
    if (!j["questions"].is_array()) return std::unexpected(At("/questions", "must be an array"));
    for (std::size_t i = 0; i < j["questions"].size(); ++i) {
      TREU_ASSIGN_OR_RETURN(Question q, QuestionFrom(j["questions"][i], "/questions/" + std::to_string(i)));
      s.questions.push_back(std::move(q));
    }
  }
  if (auto valid = survey::ValidateSurvey(s); !valid) {
    return std::unexpected(At(SurveyPathToPointer(valid.error().context()), valid.error().detail()));
  }
  return s;
}

Result<SurveyRecord> SaveSurveyDefinition(Store& store, WorkspaceId ws, const json& j, bool replace, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(Survey s, SurveyFromJson(j));
  if (!replace) {
    TREU_ASSIGN_OR_RETURN(auto existing, store.FindSurvey(ws, s.name));
    if (existing) return std::unexpected(Error(ErrorCode::kAlreadyExists, "/name", "a survey named '" + s.name + "' exists"));
  }
  return store.SaveSurvey({0, ws, s.name, SurveyToJson(s).dump(), now, now});
}

Result<Survey> SurveyOf(const SurveyRecord& r) {
  const json j = json::parse(r.definition, nullptr, false);
  if (j.is_discarded()) return Internal("survey " + r.name, "stored definition is not JSON");
  TREU_ASSIGN_OR_RETURN(Survey s, SurveyFromJson(j));
  s.id = r.id;
  return s;
}

}  // namespace treu
