#include "surveys/themes.hpp"

#include <unicode/brkiter.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <set>
#include <unordered_set>

namespace treu::survey {
namespace {

// The most common German function words, lower case, in UTF-8.
constexpr std::array kGermanStopWords = std::to_array<std::string_view>({
    "aber",   "alle",   "allem",   "allen",  "aller",   "alles",   "als",    "also",   "am",
    "an",     "andere", "anderen", "auch",   "auf",     "aus",     "bei",    "bin",    "bis",
    "bist",   "da",     "damit",   "dann",   "das",     "dass",    "daß",    "dein",   "deine",
    "dem",    "den",    "denn",    "der",    "des",     "dich",    "die",    "dies",   "diese",
    "diesem", "diesen", "dieser",  "dieses", "dir",     "doch",    "dort",   "du",     "durch",
    "ein",    "eine",   "einem",   "einen",  "einer",   "eines",   "er",     "es",     "etwas",
    "euch",   "euer",   "für",     "gegen",  "gewesen", "hab",     "habe",   "haben",  "hat",
    "hatte",  "hätte",  "hier",    "hin",    "ich",     "ihm",     "ihn",    "ihr",    "ihre",
    "im",     "in",     "ist",     "ja",     "jede",    "jedem",   "jeden",  "jeder",  "jetzt",
    "kann",   "kein",   "keine",   "keinen", "können",  "man",     "mein",   "meine",  "mich",
    "mir",    "mit",    "muss",    "müssen", "nach",    "nicht",   "nichts", "noch",   "nun",
    "nur",    "ob",     "oder",    "ohne",   "schon",   "sehr",    "sein",   "seine",  "sich",
    "sie",    "sind",   "so",      "soll",   "sollte",  "sondern", "über",   "um",     "und",
    "uns",    "unser",  "unsere",  "unter",  "viel",    "vom",     "von",    "vor",    "war",
    "waren",  "warum",  "was",     "weil",   "welche",  "wenn",    "wer",    "werden", "wie",
    "wieder", "wir",    "wird",    "wo",     "wurde",   "wurden",  "zu",     "zum",    "zur",
});

// The most common English function words, lower case, apostrophes as U+0027.
constexpr std::array kEnglishStopWords = std::to_array<std::string_view>({
    "a",      "about",   "above",  "after",   "again",  "against", "all",      "also",
    "am",     "an",      "and",    "any",     "are",    "aren't",  "as",       "at",
    "be",     "because", "been",   "before",  "being",  "below",   "between",  "both",
    "but",    "by",      "can",    "can't",   "cannot", "could",   "couldn't", "did",
    "didn't", "do",      "does",   "doesn't", "doing",  "don't",   "down",     "during",
    "each",   "even",    "few",    "for",     "from",   "further", "get",      "got",
    "had",    "hadn't",  "has",    "hasn't",  "have",   "haven't", "having",   "he",
    "her",    "here",    "hers",   "herself", "him",    "himself", "his",      "how",
    "i",      "i'm",     "i've",   "if",      "in",     "into",    "is",       "isn't",
    "it",     "it's",    "its",    "itself",  "just",   "me",      "more",     "most",
    "much",   "my",      "myself", "no",      "nor",    "not",     "now",      "of",
    "off",    "on",      "once",   "only",    "or",     "other",   "our",      "ours",
    "out",    "over",    "own",    "really",  "same",   "she",     "should",   "so",
    "some",   "still",   "such",   "than",    "that",   "that's",  "the",      "their",
    "them",   "then",    "there",  "these",   "they",   "this",    "those",    "through",
    "to",     "too",     "under",  "until",   "up",     "us",      "very",     "was",
    "wasn't", "we",      "were",   "what",    "when",   "where",   "which",    "while",
    "who",    "why",     "will",   "with",    "won't",  "would",   "you",      "your",
});

using WordSet = std::unordered_set<std::string_view>;

const WordSet& GermanStopWords() {
  static const WordSet set(kGermanStopWords.begin(), kGermanStopWords.end());
  return set;
}

const WordSet& EnglishStopWords() {
  static const WordSet set(kEnglishStopWords.begin(), kEnglishStopWords.end());
  return set;
}

// Counts code points of UTF-8 text.
std::size_t CodePoints(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool IsWhitespaceOnly(const icu::UnicodeString& s) {
  for (int32_t i = 0; i < s.length();) {
    UChar32 c = s.char32At(i);
    if (!u_isUWhiteSpace(c)) return false;
    i += U16_LENGTH(c);
  }
  return true;
}

// A word boundary scan yields words and separators. A separator made only of whitespace
// keeps two words adjacent; anything else (punctuation, a dropped word) breaks a phrase.
class Tokenizer {
 public:
  Tokenizer(std::string_view language, UErrorCode& status)
      : nfc_(icu::Normalizer2::getNFCInstance(status)),
        words_(icu::BreakIterator::createWordInstance(
            language == "de" ? icu::Locale::getGerman() : icu::Locale::getEnglish(), status)) {}

  // Every word and number of `text`, NFC-normalised and case-folded ("Straße" → "strasse").
  std::vector<std::string> Words(std::string_view input) {
    std::vector<std::string> out;
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeString text = nfc_->normalize(icu::UnicodeString::fromUTF8(input), status);
    if (U_FAILURE(status)) return out;
    text.foldCase();
    words_->setText(text);
    int32_t start = words_->first();
    for (int32_t end = words_->next(); end != icu::BreakIterator::DONE; start = end, end = words_->next()) {
      if (words_->getRuleStatus() < UBRK_WORD_NUMBER) continue;
      std::string word;
      text.tempSubStringBetween(start, end).toUTF8String(word);
      out.push_back(std::move(word));
    }
    return out;
  }

  // The themes of one comment, each once.
  std::set<std::string> Themes(const std::string& comment, std::string_view language) {
    std::set<std::string> themes;
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeString text = nfc_->normalize(icu::UnicodeString::fromUTF8(comment), status);
    if (U_FAILURE(status)) return themes;
    text.toLower(icu::Locale::getRoot());
    text.findAndReplace(icu::UnicodeString(static_cast<UChar32>(0x2019)),
                        icu::UnicodeString(static_cast<UChar32>(0x27)));
    words_->setText(text);

    std::string previous;  // the last kept word, while a phrase can still continue it
    int32_t start = words_->first();
    for (int32_t end = words_->next(); end != icu::BreakIterator::DONE;
         start = end, end = words_->next()) {
      const int32_t rule = words_->getRuleStatus();
      icu::UnicodeString piece = text.tempSubStringBetween(start, end);
      if (rule < UBRK_WORD_LETTER) {
        // UBRK_WORD_NONE: spaces and punctuation; UBRK_WORD_NUMBER: numbers.
        if (rule >= UBRK_WORD_NUMBER || !IsWhitespaceOnly(piece)) previous.clear();
        continue;
      }
      std::string word;
      piece.toUTF8String(word);
      if (CodePoints(word) < 2 || IsStopWord(word, language)) {
        previous.clear();
        continue;
      }
      if (!previous.empty()) themes.insert(previous + " " + word);
      themes.insert(word);
      previous = std::move(word);
    }
    return themes;
  }

 private:
  const icu::Normalizer2* nfc_;  // owned by ICU
  std::unique_ptr<icu::BreakIterator> words_;
};

}  // namespace

struct CommentSearch::State {
  UErrorCode status = U_ZERO_ERROR;
  Tokenizer tokenizer{"", status};
  std::vector<std::string> query;
};

CommentSearch::CommentSearch(std::string_view query) : state_(std::make_unique<State>()) {
  if (U_SUCCESS(state_->status)) state_->query = state_->tokenizer.Words(query);
}

CommentSearch::~CommentSearch() = default;

bool CommentSearch::Matches(std::string_view text) {
  if (state_->query.empty()) return true;
  if (U_FAILURE(state_->status)) return false;
  const std::vector<std::string> words = state_->tokenizer.Words(text);
  return std::all_of(state_->query.begin(), state_->query.end(), [&](const std::string& q) {
    return std::any_of(words.begin(), words.end(), [&](const std::string& w) { return w.starts_with(q); });
  });
}

bool IsStopWord(std::string_view word, std::string_view language) {
  const bool de = language != "en";
  const bool en = language != "de";
  return (de && GermanStopWords().contains(word)) || (en && EnglishStopWords().contains(word));
}

std::vector<Theme> TopThemes(std::span<const std::string> comments, std::string_view language,
                             std::size_t limit) {
  UErrorCode status = U_ZERO_ERROR;
  Tokenizer tokenizer(language, status);
  if (U_FAILURE(status)) return {};

  std::map<std::string, int> counts;
  for (const std::string& comment : comments) {
    for (const std::string& theme : tokenizer.Themes(comment, language)) ++counts[theme];
  }

  std::vector<Theme> themes;
  for (auto& [text, count] : counts) {
    const bool phrase = text.find(' ') != std::string::npos;
    if (phrase && count < 2) continue;
    themes.push_back(Theme{text, count});
  }
  // std::map iterates in byte order, which for UTF-8 is code-point order; a stable sort by
  // count keeps it for ties.
  std::stable_sort(themes.begin(), themes.end(),
                   [](const Theme& a, const Theme& b) { return a.count > b.count; });
  if (themes.size() > limit) themes.resize(limit);
  return themes;
}

}  // namespace treu::survey
