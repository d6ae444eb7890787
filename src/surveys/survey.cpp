#include "surveys/survey.hpp"

#include <algorithm>
#include <array>
#include <set>

namespace treu::survey {
namespace {

struct KindRow {
  QuestionKind kind;
  std::string_view name;
  std::optional<ScoreRange> range;
};

constexpr std::array<KindRow, 6> kKinds = {{
    {QuestionKind::kNps, "nps", ScoreRange{0, 10}},
    {QuestionKind::kCsat, "csat", ScoreRange{1, 5}},
    {QuestionKind::kCes, "ces", ScoreRange{1, 7}},
    {QuestionKind::kSingleChoice, "single_choice", std::nullopt},
    {QuestionKind::kMultipleChoice, "multiple_choice", std::nullopt},
    {QuestionKind::kText, "text", std::nullopt},
}};

const KindRow& RowOf(QuestionKind kind) {
  for (const KindRow& row : kKinds) {
    if (row.kind == kind) return row;
  }
  return kKinds.back();
}

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Locale tags compare case-insensitively, with '_' the same as '-'.
bool SameLocale(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = LowerAscii(a[i] == '_' ? '-' : a[i]);
    char y = LowerAscii(b[i] == '_' ? '-' : b[i]);
    if (x != y) return false;
  }
  return true;
}

// "de-AT" → "de"; "" when there is no shorter tag.
std::string_view ParentLocale(std::string_view locale) {
  std::size_t cut = locale.find_last_of("-_");
  if (cut == std::string_view::npos) return {};
  return locale.substr(0, cut);
}

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsIdentifier(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsAsciiAlnum(c) && c != '_') return false;
  }
  return true;
}

bool IsLocaleTag(std::string_view s) {
  if (s.empty() || s.size() > 35 || !IsAsciiAlnum(s.front()) || !IsAsciiAlnum(s.back())) {
    return false;
  }
  for (char c : s) {
    if (!IsAsciiAlnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

// Number of code points in UTF-8 text (continuation bytes are not counted).
std::size_t Utf8Length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool IsBlank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
}

std::string Indexed(std::string_view prefix, std::string_view field, std::size_t i) {
  return std::string(prefix) + std::string(field) + "[" + std::to_string(i) + "]";
}

std::string RangeText(ScoreRange r) {
  return "from " + std::to_string(r.min) + " to " + std::to_string(r.max);
}

// A text that must be present (non-blank) in the default locale.
Status CheckRequiredText(const LocalizedText& text, const std::string& path,
                         std::string_view default_locale) {
  if (!text.Has(default_locale)) {
    return InvalidArgument(
        path, "needs a text in the default locale \"" + std::string(default_locale) + "\"");
  }
  return Ok();
}

// A text that may be absent altogether, but if any locale has it, the default one must too.
Status CheckOptionalText(const LocalizedText& text, const std::string& path,
                         std::string_view default_locale) {
  bool any = false;
  for (const auto& [locale, value] : text.texts()) {
    if (!value.empty()) any = true;
  }
  if (!any) return Ok();
  return CheckRequiredText(text, path, default_locale);
}

Status CheckLocaleKeys(const LocalizedText& text, const std::string& path) {
  for (const auto& [locale, value] : text.texts()) {
    if (!IsLocaleTag(locale)) {
      return InvalidArgument(path,
                             "\"" + locale + "\" is not a locale tag such as \"de\" or \"de-AT\"");
    }
  }
  return Ok();
}

class Validator {
 public:
  explicit Validator(const Survey& survey) : survey_(survey) {}

  Status Run() {
    TREU_RETURN_IF_ERROR(CheckHeader());
    TREU_RETURN_IF_ERROR(CheckSchedule());
    TREU_RETURN_IF_ERROR(CheckWebhook());
    TREU_RETURN_IF_ERROR(CheckThresholds());
    if (survey_.questions.empty()) {
      return InvalidArgument("questions", "a survey needs at least one question");
    }
    for (std::size_t i = 0; i < survey_.questions.size(); ++i) {
      TREU_RETURN_IF_ERROR(CheckQuestion(survey_.questions[i], Indexed("", "questions", i), true));
    }
    return Ok();
  }

 private:
  Status CheckHeader() {
    std::size_t chars = Utf8Length(survey_.name);
    if (chars == 0 || IsBlank(survey_.name)) {
      return InvalidArgument("name", "must not be empty");
    }
    if (chars > kMaxSurveyNameChars) {
      return InvalidArgument("name", "must be at most " + std::to_string(kMaxSurveyNameChars) +
                                         " characters, not " + std::to_string(chars));
    }
    if (!IsLocaleTag(survey_.default_locale)) {
      return InvalidArgument("default_locale", "must be a locale tag such as \"en\" or \"de-AT\"");
    }
    TREU_RETURN_IF_ERROR(CheckLocaleKeys(survey_.title, "title"));
    TREU_RETURN_IF_ERROR(CheckLocaleKeys(survey_.intro, "intro"));
    TREU_RETURN_IF_ERROR(CheckLocaleKeys(survey_.thanks, "thanks"));
    TREU_RETURN_IF_ERROR(CheckRequiredText(survey_.title, "title", survey_.default_locale));
    TREU_RETURN_IF_ERROR(CheckOptionalText(survey_.intro, "intro", survey_.default_locale));
    TREU_RETURN_IF_ERROR(CheckOptionalText(survey_.thanks, "thanks", survey_.default_locale));
    return Ok();
  }

  Status CheckWebhook() {
    const std::string& url = survey_.followup_webhook;
    if (url.empty()) return Ok();
    const bool http = url.starts_with("http://") || url.starts_with("https://");
    const bool clean = std::none_of(url.begin(), url.end(), [](char c) {
      return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
    });
    if (!http || !clean || url.size() > kMaxWebhookUrlChars || url.find("://") + 3 == url.size()) {
      return InvalidArgument("followup_webhook", "must be an http:// or https:// URL of at most " +
                                                     std::to_string(kMaxWebhookUrlChars) + " characters, without spaces");
    }
    return Ok();
  }

  Status CheckSchedule() {
    if (survey_.min_gap_days < 0) {
      return InvalidArgument("min_gap_days", "must be 0 or more");
    }
    switch (survey_.kind) {
      case SurveyKind::kRelationship:
        if (survey_.every_days < 1) {
          return InvalidArgument("every_days",
                                 "a relationship survey must repeat every 1 or more days");
        }
        break;
      case SurveyKind::kTransactional:
        if (IsBlank(survey_.trigger_event)) {
          return InvalidArgument("trigger_event", "a transactional survey needs a trigger event");
        }
        if (survey_.delay_hours < 0 || survey_.delay_hours > kMaxDelayHours) {
          return InvalidArgument(
              "delay_hours", "must be a whole number from 0 to " + std::to_string(kMaxDelayHours));
        }
        break;
    }
    return Ok();
  }

  Status CheckThresholds() {
    const NpsThresholds& t = survey_.nps;
    if (t.detractor_max < 0 || t.detractor_max > 10) {
      return InvalidArgument("nps.detractor_max", "must be from 0 to 10");
    }
    if (t.promoter_min < 0 || t.promoter_min > 10) {
      return InvalidArgument("nps.promoter_min", "must be from 0 to 10");
    }
    if (t.detractor_max >= t.promoter_min) {
      return InvalidArgument("nps", "detractor_max (" + std::to_string(t.detractor_max) +
                                        ") must be below promoter_min (" +
                                        std::to_string(t.promoter_min) + ")");
    }
    return Ok();
  }

  Status CheckQuestion(const Question& q, const std::string& path, bool top_level) {
    const std::string_view kind = QuestionKindName(q.kind);
    if (!IsIdentifier(q.id)) {
      return InvalidArgument(path + ".id", "must be 1 or more letters, digits or '_'");
    }
    if (q.id.size() > kMaxQuestionIdChars) {
      return InvalidArgument(
          path + ".id", "must be at most " + std::to_string(kMaxQuestionIdChars) + " characters");
    }
    if (!ids_.insert(q.id).second) {
      return InvalidArgument(path + ".id", "\"" + q.id + "\" is used by another question");
    }
    TREU_RETURN_IF_ERROR(CheckLocaleKeys(q.text, path + ".text"));
    TREU_RETURN_IF_ERROR(CheckRequiredText(q.text, path + ".text", survey_.default_locale));

    if (IsChoiceKind(q.kind)) {
      TREU_RETURN_IF_ERROR(CheckChoices(q, path));
    } else if (!q.choices.empty()) {
      return InvalidArgument(path + ".choices", std::string(kind) + " questions have no choices");
    }

    if (!q.follow_up) return Ok();
    const std::string fpath = path + ".follow_up";
    if (!top_level) {
      return InvalidArgument(fpath, "a follow-up question can't have a follow-up of its own");
    }
    std::optional<ScoreRange> range = ScoreRangeOf(q.kind);
    if (!range) {
      return InvalidArgument(
          fpath, "only nps, csat and ces questions can have a follow-up, not " + std::string(kind));
    }
    const FollowUp& f = *q.follow_up;
    if (!range->Contains(f.min_score())) {
      return InvalidArgument(fpath + ".min_score", "must be " + RangeText(*range) + " for a " +
                                                       std::string(kind) + " question");
    }
    if (!range->Contains(f.max_score())) {
      return InvalidArgument(fpath + ".max_score", "must be " + RangeText(*range) + " for a " +
                                                       std::string(kind) + " question");
    }
    if (f.min_score() > f.max_score()) {
      return InvalidArgument(fpath, "min_score (" + std::to_string(f.min_score()) +
                                        ") must not be above max_score (" +
                                        std::to_string(f.max_score()) + ")");
    }
    return CheckQuestion(f.question(), fpath + ".question", false);
  }

  Status CheckChoices(const Question& q, const std::string& path) {
    const std::string cpath = path + ".choices";
    const std::string kind(QuestionKindName(q.kind));
    if (q.choices.size() < kMinChoices) {
      return InvalidArgument(cpath, "a " + kind + " question needs at least " +
                                        std::to_string(kMinChoices) + " choices");
    }
    if (q.choices.size() > kMaxChoices) {
      return InvalidArgument(cpath, "a " + kind + " question can have at most " +
                                        std::to_string(kMaxChoices) + " choices");
    }
    std::set<std::string_view> seen;
    for (std::size_t i = 0; i < q.choices.size(); ++i) {
      const Choice& c = q.choices[i];
      const std::string item = Indexed(path + ".", "choices", i);
      if (!IsIdentifier(c.id) || c.id.size() > kMaxQuestionIdChars) {
        return InvalidArgument(item + ".id", "must be 1 to " + std::to_string(kMaxQuestionIdChars) +
                                                 " letters, digits or '_'");
      }
      if (!seen.insert(c.id).second) {
        return InvalidArgument(item + ".id", "\"" + c.id + "\" is used by another choice");
      }
      TREU_RETURN_IF_ERROR(CheckLocaleKeys(c.label, item + ".label"));
      TREU_RETURN_IF_ERROR(CheckRequiredText(c.label, item + ".label", survey_.default_locale));
    }
    return Ok();
  }

  const Survey& survey_;
  std::set<std::string> ids_;  // question ids seen so far, follow-ups included
};

}  // namespace

std::string_view QuestionKindName(QuestionKind kind) { return RowOf(kind).name; }

Result<QuestionKind> ParseQuestionKind(std::string_view name) {
  for (const KindRow& row : kKinds) {
    if (row.name == name) return row.kind;
  }
  return InvalidArgument(
      "question kind", "\"" + std::string(name) +
                           "\" is not one of nps, csat, ces, single_choice, multiple_choice, text");
}

bool IsScoreKind(QuestionKind kind) { return RowOf(kind).range.has_value(); }

bool IsChoiceKind(QuestionKind kind) {
  return kind == QuestionKind::kSingleChoice || kind == QuestionKind::kMultipleChoice;
}

std::optional<ScoreRange> ScoreRangeOf(QuestionKind kind) { return RowOf(kind).range; }

Result<int> ValidateScore(QuestionKind kind, int score) {
  std::optional<ScoreRange> range = ScoreRangeOf(kind);
  if (!range) {
    return InvalidArgument("score",
                           std::string(QuestionKindName(kind)) + " questions have no score");
  }
  if (!range->Contains(score)) {
    return InvalidArgument("score", "must be a whole number " + RangeText(*range));
  }
  return score;
}

bool LocalizedText::Has(std::string_view locale) const {
  const std::string* text = Find(locale);
  return text != nullptr && !IsBlank(*text);
}

const std::string* LocalizedText::Find(std::string_view locale) const {
  if (locale.empty()) return nullptr;
  if (auto it = texts_.find(std::string(locale)); it != texts_.end()) return &it->second;
  for (const auto& [key, value] : texts_) {
    if (SameLocale(key, locale)) return &value;
  }
  return nullptr;
}

std::string_view LocalizedText::Resolve(std::string_view locale,
                                        std::string_view default_locale) const {
  for (std::string_view start : {locale, default_locale}) {
    for (std::string_view tag = start; !tag.empty(); tag = ParentLocale(tag)) {
      const std::string* text = Find(tag);
      if (text != nullptr && !text->empty()) return *text;
    }
  }
  return {};
}

FollowUp::FollowUp(int min_score, int max_score, Question question)
    : min_score_(min_score),
      max_score_(max_score),
      question_(std::make_unique<Question>(std::move(question))) {}

FollowUp::FollowUp(const FollowUp& other)
    : min_score_(other.min_score_),
      max_score_(other.max_score_),
      question_(other.question_ ? std::make_unique<Question>(*other.question_) : nullptr) {}

FollowUp::FollowUp(FollowUp&& other) noexcept = default;

FollowUp& FollowUp::operator=(const FollowUp& other) {
  if (this != &other) *this = FollowUp(other);
  return *this;
}

FollowUp& FollowUp::operator=(FollowUp&& other) noexcept = default;

FollowUp::~FollowUp() = default;

bool FollowUp::operator==(const FollowUp& other) const {
  if (min_score_ != other.min_score_ || max_score_ != other.max_score_) return false;
  if (!question_ || !other.question_) return question_ == other.question_;
  return *question_ == *other.question_;
}

std::string_view NpsCategoryName(NpsCategory category) {
  switch (category) {
    case NpsCategory::kDetractor:
      return "detractor";
    case NpsCategory::kPassive:
      return "passive";
    case NpsCategory::kPromoter:
      return "promoter";
  }
  return "unknown";
}

std::string_view SurveyKindName(SurveyKind kind) {
  switch (kind) {
    case SurveyKind::kRelationship:
      return "relationship";
    case SurveyKind::kTransactional:
      return "transactional";
  }
  return "unknown";
}

Result<SurveyKind> ParseSurveyKind(std::string_view name) {
  if (name == "relationship") return SurveyKind::kRelationship;
  if (name == "transactional") return SurveyKind::kTransactional;
  return InvalidArgument("survey kind",
                         "\"" + std::string(name) + "\" is not one of relationship, transactional");
}

std::vector<const Question*> AllQuestions(const Survey& s) {
  std::vector<const Question*> out;
  for (const Question& q : s.questions) {
    out.push_back(&q);
    if (q.follow_up) out.push_back(&q.follow_up->question());
  }
  return out;
}

Status ValidateSurvey(const Survey& survey) { return Validator(survey).Run(); }

}  // namespace treu::survey
