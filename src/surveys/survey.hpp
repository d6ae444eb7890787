// Survey definitions: questions (NPS, CSAT, CES, choices, free text), localized texts, NPS
// thresholds, relationship and transactional schedules, and their validation. Pure values:
// nothing here reads storage, the clock or the network.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace treu::survey {

enum class QuestionKind {
  kNps,             // 0..10, "how likely are you to recommend us?"
  kCsat,            // 1..5, "how satisfied are you?"
  kCes,             // 1..7, "how easy was it?"
  kSingleChoice,    // one of the choices
  kMultipleChoice,  // any of the choices
  kText,            // free text
};

// Stable name of a kind: "nps", "csat", "ces", "single_choice", "multiple_choice", "text".
std::string_view QuestionKindName(QuestionKind kind);
// The kind named `name` (exactly as QuestionKindName spells it). InvalidArgument otherwise,
// with context "question kind".
Result<QuestionKind> ParseQuestionKind(std::string_view name);

// True for the kinds answered with a score: NPS, CSAT and CES.
bool IsScoreKind(QuestionKind kind);
// True for single_choice and multiple_choice.
bool IsChoiceKind(QuestionKind kind);

// An inclusive range of whole-number scores.
struct ScoreRange {
  int min = 0;
  int max = 0;
  constexpr bool Contains(int score) const { return score >= min && score <= max; }
  constexpr bool operator==(const ScoreRange&) const = default;
};

// The scores a kind allows: NPS 0..10, CSAT 1..5, CES 1..7; nullopt for kinds without a
// score.
std::optional<ScoreRange> ScoreRangeOf(QuestionKind kind);

// Checks an answer's score. Returns the score, or InvalidArgument with context "score" and a
// detail naming the allowed range ("must be a whole number from 0 to 10"), or saying that the
// kind has no score.
Result<int> ValidateScore(QuestionKind kind, int score);

// One text in several languages, keyed by locale ("en", "de", "de-AT").
class LocalizedText {
 public:
  LocalizedText() = default;
  LocalizedText(std::initializer_list<std::pair<const std::string, std::string>> texts)
      : texts_(texts) {}

  // Sets the text of `locale`, replacing any previous one.
  void Set(std::string locale, std::string text) { texts_[std::move(locale)] = std::move(text); }

  // True when `locale` has a non-empty text (exact match, ignoring case and '-' vs '_').
  bool Has(std::string_view locale) const;
  bool empty() const { return texts_.empty(); }
  const std::map<std::string, std::string>& texts() const { return texts_; }

  // The text for `locale`, falling back from the most specific tag to the least ("de-AT" →
  // "de"), then to `default_locale` the same way. Locale tags compare case-insensitively and
  // '_' counts as '-'. Returns "" when none of these has a non-empty text. The view points
  // into this object and lives as long as it is unchanged.
  std::string_view Resolve(std::string_view locale, std::string_view default_locale) const;

  bool operator==(const LocalizedText&) const = default;

 private:
  const std::string* Find(std::string_view locale) const;

  std::map<std::string, std::string> texts_;
};

struct Choice {
  std::string id;  // stable id stored with answers; letters, digits and '_'
  LocalizedText label;
  bool operator==(const Choice&) const = default;
};

struct Question;

// A question shown after a score question when its score is within [min_score, max_score],
// e.g. detractors 0..6: "What should we improve?". Holds its question by value: copies are
// deep. A moved-from FollowUp may only be assigned to or destroyed.
class FollowUp {
 public:
  FollowUp(int min_score, int max_score, Question question);
  FollowUp(const FollowUp& other);
  FollowUp(FollowUp&& other) noexcept;
  FollowUp& operator=(const FollowUp& other);
  FollowUp& operator=(FollowUp&& other) noexcept;
  ~FollowUp();

  int min_score() const { return min_score_; }
  int max_score() const { return max_score_; }
  // True when a score of `score` shows the follow-up.
  bool ShownFor(int score) const { return score >= min_score_ && score <= max_score_; }
  const Question& question() const { return *question_; }
  Question& mutable_question() { return *question_; }

  bool operator==(const FollowUp& other) const;

 private:
  int min_score_;
  int max_score_;
  std::unique_ptr<Question> question_;  // null only when moved from
};

struct Question {
  std::string id;  // unique within the survey, follow-ups included; letters, digits and '_'
  QuestionKind kind = QuestionKind::kNps;
  LocalizedText text;
  std::vector<Choice> choices;  // only for single_choice and multiple_choice
  bool required = false;
  std::optional<FollowUp> follow_up;  // only for score questions; never nested

  bool operator==(const Question&) const = default;
};

enum class NpsCategory { kDetractor, kPassive, kPromoter };

// "detractor", "passive", "promoter".
std::string_view NpsCategoryName(NpsCategory category);

// How NPS scores are classified: promoter at or above promoter_min, detractor at or below
// detractor_max, passive in between. Valid when 0 <= detractor_max < promoter_min <= 10.
struct NpsThresholds {
  int promoter_min = 9;
  int detractor_max = 6;

  // Promoters 9..10, passives 7..8, detractors 0..6.
  static constexpr NpsThresholds Standard() { return {9, 6}; }
  // The article's variant: promoters 8..10, detractors 0..7, no passives.
  static constexpr NpsThresholds Article() { return {8, 7}; }

  // REQUIRES: the thresholds are valid (see ValidateSurvey); any int score is classified.
  constexpr NpsCategory Classify(int score) const {
    if (score >= promoter_min) return NpsCategory::kPromoter;
    if (score <= detractor_max) return NpsCategory::kDetractor;
    return NpsCategory::kPassive;
  }

  constexpr bool operator==(const NpsThresholds&) const = default;
};

enum class SurveyKind {
  kRelationship,   // sent to each customer periodically, every `every_days`
  kTransactional,  // sent `delay_hours` after a `trigger_event`
};

// "relationship", "transactional".
std::string_view SurveyKindName(SurveyKind kind);
// InvalidArgument with context "survey kind" for other names.
Result<SurveyKind> ParseSurveyKind(std::string_view name);

struct Survey {
  std::int64_t id = 0;  // assigned by storage; 0 means "not yet stored"
  std::string name;     // internal name, 1..100 characters
  SurveyKind kind = SurveyKind::kRelationship;

  // Relationship surveys: how often each customer is asked.
  int every_days = 90;
  // Both kinds: the minimum number of days between any two surveys sent to one customer.
  int min_gap_days = 30;

  // Transactional surveys: the event name that triggers it ("Order Completed") and the delay
  // after it before the invitation goes out.
  std::string trigger_event;
  int delay_hours = 0;

  std::string default_locale = "en";
  LocalizedText title;   // required in the default locale
  LocalizedText intro;   // optional; if set, needs the default locale
  LocalizedText thanks;  // optional; if set, needs the default locale
  std::vector<Question> questions;
  NpsThresholds nps;
  // Optional http(s) URL told of each detractor's follow-up item (docs/surveys.md).
  std::string followup_webhook;

  bool operator==(const Survey&) const = default;
};

// Every question of `s`: each top-level one followed by its follow-up, if any. The pointers
// live as long as `s` is unchanged.
std::vector<const Question*> AllQuestions(const Survey& s);

inline constexpr std::size_t kMaxSurveyNameChars = 100;
inline constexpr std::size_t kMaxQuestionIdChars = 64;
inline constexpr std::size_t kMinChoices = 2;
inline constexpr std::size_t kMaxChoices = 20;
inline constexpr int kMaxDelayHours = 8760;  // one year
inline constexpr std::size_t kMaxWebhookUrlChars = 2000;

// Checks a survey definition. Returns the first problem found as InvalidArgument whose
// context is the path of the offending field ("name", "questions[1].choices",
// "questions[0].follow_up.question.text", "nps.promoter_min", "delay_hours") and whose detail
// states the rule broken.
Status ValidateSurvey(const Survey& survey);

}  // namespace treu::survey
