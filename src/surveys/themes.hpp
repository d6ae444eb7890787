// What free-text feedback talks about: the most frequent words and two-word phrases of a set
// of comments (typically detractors' answers to "What should we improve?"), after dropping
// punctuation, numbers and common German and English stop words.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace treu::survey {

struct Theme {
  std::string text;  // lower-case UTF-8: a word ("lieferung") or two ("lieferung langsam")
  int count = 0;     // number of comments that mention it
  bool operator==(const Theme&) const = default;
};

// True when `word` (lower-case UTF-8) is a stop word of `language`: "de", "en", or "" (or any
// other value) for both lists.
bool IsStopWord(std::string_view word, std::string_view language);

// The `limit` most frequent themes of `comments` (UTF-8), most frequent first, ties in
// code-point order of their text. Text is NFC-normalised and lower-cased; words are found
// with ICU's word-break rules. Words of one character, numbers and the stop words of
// `language` (as in IsStopWord) are dropped. A phrase is two words that stand next to each
// other with only whitespace between them (no stop word, number or punctuation); it is
// returned only when it occurs in at least 2 comments. Each theme counts at most once per
// comment. Returns an empty list when ICU's word-break data can't be loaded. Thread-safe.
std::vector<Theme> TopThemes(std::span<const std::string> comments, std::string_view language,
                             std::size_t limit);

// Full-text search over comments: a comment matches when every word of the query begins one of
// its words, both NFC-normalised and case-folded with ICU's word boundaries — "liefer" finds
// "Lieferung" and "Lieferzeit", "STRASSE" finds "Straße", "langsam lieferung" finds "Die
// Lieferung war langsam". A query without words matches every comment. Not thread-safe: one
// per thread.
class CommentSearch {
 public:
  explicit CommentSearch(std::string_view query);
  ~CommentSearch();
  CommentSearch(const CommentSearch&) = delete;
  CommentSearch& operator=(const CommentSearch&) = delete;

  bool Matches(std::string_view text);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace treu::survey
