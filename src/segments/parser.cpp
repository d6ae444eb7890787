#include "segments/parser.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <utility>
#include <vector>

namespace treu::segment {

namespace {

constexpr std::array<std::string_view, 17> kReserved = {
    "and",  "or",   "not",   "in",    "contains", "starts_with", "matches", "is",        "null",
    "true", "false", "now", "count", "event",    "within",      "where",   "in_segment"};

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }

enum class Tok { kIdent, kNumber, kDuration, kString, kLParen, kRParen, kLBracket, kRBracket, kComma, kOp, kEnd };

struct Token {
  Tok kind = Tok::kEnd;
  Pos pos;
  std::string text;  // identifier, operator spelling, unescaped string, number spelling
  double number = 0;
  Duration duration;
};

std::string Describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd: return "end of input";
    case Tok::kString: return "string " + QuoteString(t.text);
    default: return "'" + t.text + "'";
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  // Reads all tokens; the last one is kEnd.
  Result<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      SkipSpace();
      Token t;
      t.pos = Here();
      if (at_ >= text_.size()) {
        tokens.push_back(std::move(t));
        return tokens;
      }
      char c = text_[at_];
      if (IsIdentStart(c)) {
        std::size_t start = at_;
        while (at_ < text_.size() && IsIdentChar(text_[at_])) Advance();
        while (at_ + 1 < text_.size() && text_[at_] == '.' && IsIdentChar(text_[at_ + 1])) {
          Advance();
          while (at_ < text_.size() && IsIdentChar(text_[at_])) Advance();
        }
        t.kind = Tok::kIdent;
        t.text = std::string(text_.substr(start, at_ - start));
      } else if (IsDigit(c)) {
        TREU_RETURN_IF_ERROR(LexNumber(t));
      } else if (c == '"') {
        TREU_RETURN_IF_ERROR(LexString(t));
      } else {
        std::string_view rest = text_.substr(at_);
        static constexpr std::array<std::string_view, 8> kOps = {"!=", "<=", ">=", "=", "<", ">", "+", "-"};
        bool matched = false;
        for (std::string_view op : kOps) {
          if (rest.starts_with(op)) {
            t.kind = Tok::kOp;
            t.text = std::string(op);
            for (std::size_t i = 0; i < op.size(); ++i) Advance();
            matched = true;
            break;
          }
        }
        if (!matched) {
          switch (c) {
            case '(': t.kind = Tok::kLParen; break;
            case ')': t.kind = Tok::kRParen; break;
            case '[': t.kind = Tok::kLBracket; break;
            case ']': t.kind = Tok::kRBracket; break;
            case ',': t.kind = Tok::kComma; break;
            default: return Fail(t.pos, UnexpectedChar(c));
          }
          t.text = std::string(1, c);
          Advance();
        }
      }
      tokens.push_back(std::move(t));
    }
  }

 private:
  static std::string UnexpectedChar(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string("unexpected character '") + c + "'";
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", u);
    return std::string("unexpected byte ") + buf;
  }

  std::unexpected<Error> Fail(Pos pos, std::string message) const {
    return std::unexpected<Error>(SegmentError(text_, pos, std::move(message)));
  }

  Pos Here() const { return {line_, column_}; }

  void Advance() {
    if (text_[at_] == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    ++at_;
  }

  void SkipSpace() {
    while (at_ < text_.size()) {
      char c = text_[at_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        Advance();
      } else if (c == '#') {
        while (at_ < text_.size() && text_[at_] != '\n') Advance();
      } else {
        return;
      }
    }
  }

  Status LexNumber(Token& t) {
    std::size_t start = at_;
    while (at_ < text_.size() && IsDigit(text_[at_])) Advance();
    bool fraction = false;
    if (at_ < text_.size() && text_[at_] == '.') {
      Advance();
      if (at_ >= text_.size() || !IsDigit(text_[at_])) return Fail(Here(), "expected a digit after '.'");
      while (at_ < text_.size() && IsDigit(text_[at_])) Advance();
      fraction = true;
    }
    std::string_view digits = text_.substr(start, at_ - start);
    t.text = std::string(digits);
    if (at_ < text_.size() && IsIdentChar(text_[at_])) {
      Pos unit_pos = Here();
      std::size_t unit_start = at_;
      while (at_ < text_.size() && IsIdentChar(text_[at_])) Advance();
      std::string_view suffix = text_.substr(unit_start, at_ - unit_start);
      t.text += suffix;
      auto unit = DurationUnitFromSuffix(suffix);
      if (!unit) {
        return Fail(unit_pos, "unknown duration unit '" + std::string(suffix) + "' (use h, d, w, mo or y)");
      }
      if (fraction) return Fail(t.pos, "a duration needs a whole number: '" + t.text + "'");
      std::int64_t amount = 0;
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), amount);
      if (ec != std::errc() || amount > 100'000) return Fail(t.pos, "duration too large: '" + t.text + "'");
      t.kind = Tok::kDuration;
      t.duration = {amount, *unit};
      return Ok();
    }
    double value = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc()) return Fail(t.pos, "number out of range: '" + t.text + "'");
    t.kind = Tok::kNumber;
    t.number = value;
    return Ok();
  }

  Status LexString(Token& t) {
    Advance();  // opening quote
    std::string value;
    while (true) {
      if (at_ >= text_.size() || text_[at_] == '\n') return Fail(t.pos, "unterminated string");
      char c = text_[at_];
      if (c == '"') {
        Advance();
        break;
      }
      if (c == '\\') {
        Pos esc = Here();
        Advance();
        if (at_ >= text_.size()) return Fail(t.pos, "unterminated string");
        char e = text_[at_];
        if (e == '"' || e == '\\') {
          value += e;
        } else if (e == 'n') {
          value += '\n';
        } else if (e == 't') {
          value += '\t';
        } else {
          return Fail(esc, "unknown escape in string (use \\\", \\\\, \\n or \\t)");
        }
        Advance();
        continue;
      }
      value += c;
      Advance();
    }
    t.kind = Tok::kString;
    t.text = std::move(value);
    return Ok();
  }

  std::string_view text_;
  std::size_t at_ = 0;
  int line_ = 1;
  int column_ = 1;
};

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens) : text_(text), tokens_(std::move(tokens)) {}

  Result<ExprPtr> Run() {
    TREU_ASSIGN_OR_RETURN(ExprPtr e, ParseOr());
    if (Peek().kind != Tok::kEnd) {
      return Fail(Peek().pos, "unexpected " + Describe(Peek()) + " after the end of the expression");
    }
    return e;
  }

 private:
  const Token& Peek() const { return tokens_[at_]; }
  const Token& Take() { return tokens_[at_ < tokens_.size() - 1 ? at_++ : at_]; }
  bool PeekWord(std::string_view w) const { return Peek().kind == Tok::kIdent && Peek().text == w; }

  std::unexpected<Error> Fail(Pos pos, std::string message) const {
    return std::unexpected<Error>(SegmentError(text_, pos, std::move(message)));
  }

  Status Count() {
    if (++nodes_ > kMaxNodes) return Fail(Peek().pos, "expression too large (more than " + std::to_string(kMaxNodes) + " nodes)");
    return Ok();
  }

  Status Enter(Pos pos) {
    if (++depth_ > kMaxNestingDepth) return Fail(pos, "expression nested too deeply");
    return Ok();
  }

  Status Expect(Tok kind, std::string_view what) {
    if (Peek().kind != kind) return Fail(Peek().pos, "expected " + std::string(what) + ", got " + Describe(Peek()));
    Take();
    return Ok();
  }

  Status ExpectWord(std::string_view word) {
    if (!PeekWord(word)) return Fail(Peek().pos, "expected '" + std::string(word) + "', got " + Describe(Peek()));
    Take();
    return Ok();
  }

  Result<ExprPtr> ParseOr() {
    TREU_ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
    while (PeekWord("or")) {
      Pos pos = Take().pos;
      TREU_RETURN_IF_ERROR(Count());
      TREU_ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
      left = MakeBinary(ExprKind::kOr, Op::kNone, std::move(left), std::move(right), pos);
    }
    return left;
  }

  Result<ExprPtr> ParseAnd() {
    TREU_ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
    while (PeekWord("and")) {
      Pos pos = Take().pos;
      TREU_RETURN_IF_ERROR(Count());
      TREU_ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
      left = MakeBinary(ExprKind::kAnd, Op::kNone, std::move(left), std::move(right), pos);
    }
    return left;
  }

  Result<ExprPtr> ParseNot() {
    if (PeekWord("not")) {
      Pos pos = Take().pos;
      TREU_RETURN_IF_ERROR(Enter(pos));
      TREU_RETURN_IF_ERROR(Count());
      TREU_ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
      --depth_;
      return MakeNot(std::move(operand), pos);
    }
    return ParsePredicate();
  }

  Result<ExprPtr> ParsePredicate() {
    TREU_ASSIGN_OR_RETURN(ExprPtr left, ParseValue());
    const Token& t = Peek();
    static constexpr std::array<std::pair<std::string_view, Op>, 9> kCompareOps = {{
        {"=", Op::kEq}, {"!=", Op::kNe}, {"<", Op::kLt}, {"<=", Op::kLe}, {">", Op::kGt}, {">=", Op::kGe},
        {"contains", Op::kContains}, {"starts_with", Op::kStartsWith}, {"matches", Op::kMatches}}};
    for (auto [spelling, op] : kCompareOps) {
      bool is_symbol = spelling[0] < 'a';
      if ((is_symbol && t.kind == Tok::kOp && t.text == spelling) || (!is_symbol && PeekWord(spelling))) {
        Pos pos = Take().pos;
        TREU_RETURN_IF_ERROR(Count());
        if (PeekWord("null")) return Fail(Peek().pos, "use 'is null' or 'is not null' to test for null");
        TREU_ASSIGN_OR_RETURN(ExprPtr right, ParseValue());
        return MakeBinary(ExprKind::kCompare, op, std::move(left), std::move(right), pos);
      }
    }
    if (PeekWord("in")) {
      Pos pos = Take().pos;
      TREU_RETURN_IF_ERROR(Count());
      TREU_ASSIGN_OR_RETURN(ExprPtr list, ParseList());
      return MakeBinary(ExprKind::kCompare, Op::kIn, std::move(left), std::move(list), pos);
    }
    if (PeekWord("is")) {
      Pos pos = Take().pos;
      TREU_RETURN_IF_ERROR(Count());
      bool negated = false;
      if (PeekWord("not")) {
        Take();
        negated = true;
      }
      TREU_RETURN_IF_ERROR(ExpectWord("null"));
      return MakeIsNull(std::move(left), negated, pos);
    }
    return left;
  }

  Result<ExprPtr> ParseList() {
    Pos pos = Peek().pos;
    if (Peek().kind != Tok::kLBracket) return Fail(pos, "expected '[' after 'in', got " + Describe(Peek()));
    Take();
    TREU_RETURN_IF_ERROR(Count());
    std::vector<ExprPtr> items;
    if (Peek().kind != Tok::kRBracket) {
      while (true) {
        TREU_ASSIGN_OR_RETURN(ExprPtr item, ParseValue());
        items.push_back(std::move(item));
        if (Peek().kind == Tok::kComma) {
          Take();
          continue;
        }
        break;
      }
    }
    TREU_RETURN_IF_ERROR(Expect(Tok::kRBracket, "',' or ']'"));
    return MakeList(std::move(items), pos);
  }

  Result<ExprPtr> ParseValue() {
    TREU_ASSIGN_OR_RETURN(ExprPtr left, ParseTerm());
    while (Peek().kind == Tok::kOp && (Peek().text == "+" || Peek().text == "-")) {
      const Token& t = Take();
      Op op = t.text == "+" ? Op::kAdd : Op::kSub;
      TREU_RETURN_IF_ERROR(Count());
      TREU_ASSIGN_OR_RETURN(ExprPtr right, ParseTerm());
      left = MakeBinary(ExprKind::kArith, op, std::move(left), std::move(right), t.pos);
    }
    return left;
  }

  Result<std::string> ParseStringArg(std::string_view what) {
    if (Peek().kind != Tok::kString) return Fail(Peek().pos, "expected " + std::string(what) + " as a quoted string, got " + Describe(Peek()));
    return Take().text;
  }

  Result<ExprPtr> ParseTerm() {
    TREU_RETURN_IF_ERROR(Count());
    const Token& t = Peek();
    Pos pos = t.pos;
    switch (t.kind) {
      case Tok::kNumber: return MakeNumber(Take().number, pos);
      case Tok::kDuration: return MakeDuration(Take().duration, pos);
      case Tok::kString: return MakeString(Take().text, pos);
      case Tok::kLParen: {
        Take();
        TREU_RETURN_IF_ERROR(Enter(pos));
        TREU_ASSIGN_OR_RETURN(ExprPtr inner, ParseOr());
        --depth_;
        TREU_RETURN_IF_ERROR(Expect(Tok::kRParen, "')'"));
        return inner;
      }
      case Tok::kLBracket: return Fail(pos, "a list is only allowed after 'in'");
      case Tok::kOp:
        if (t.text == "-" && tokens_[at_ + 1].kind == Tok::kNumber) {
          Take();
          return MakeNumber(-Take().number, pos);
        }
        break;
      case Tok::kIdent: {
        if (t.text == "true" || t.text == "false") return MakeBool(Take().text == "true", pos);
        if (t.text == "null") return Fail(pos, "null is only allowed in 'is null' and 'is not null'");
        if (t.text == "now") {
          Take();
          TREU_RETURN_IF_ERROR(Expect(Tok::kLParen, "'(' after 'now'"));
          TREU_RETURN_IF_ERROR(Expect(Tok::kRParen, "')'"));
          return MakeNow(pos);
        }
        if (t.text == "in_segment") {
          Take();
          TREU_RETURN_IF_ERROR(Expect(Tok::kLParen, "'(' after 'in_segment'"));
          TREU_ASSIGN_OR_RETURN(std::string name, ParseStringArg("a segment name"));
          TREU_RETURN_IF_ERROR(Expect(Tok::kRParen, "')'"));
          return MakeInSegment(std::move(name), pos);
        }
        if (t.text == "count") return ParseCount();
        if (IsReservedWord(t.text)) break;
        return MakeField(Take().text, pos);
      }
      default: break;
    }
    return Fail(pos, "expected a value, got " + Describe(t));
  }

  Result<ExprPtr> ParseCount() {
    Pos pos = Take().pos;
    TREU_RETURN_IF_ERROR(Expect(Tok::kLParen, "'(' after 'count'"));
    TREU_RETURN_IF_ERROR(ExpectWord("event"));
    TREU_ASSIGN_OR_RETURN(std::string event, ParseStringArg("an event name"));
    std::optional<Duration> within;
    if (PeekWord("within")) {
      Take();
      if (Peek().kind != Tok::kDuration) return Fail(Peek().pos, "expected a duration such as 7d after 'within', got " + Describe(Peek()));
      within = Take().duration;
    }
    ExprPtr where;
    if (PeekWord("where")) {
      Pos where_pos = Take().pos;
      TREU_RETURN_IF_ERROR(Enter(where_pos));
      TREU_ASSIGN_OR_RETURN(where, ParseOr());
      --depth_;
    }
    TREU_RETURN_IF_ERROR(Expect(Tok::kRParen, within || where ? "')'" : "'within', 'where' or ')'"));
    return MakeCount(std::move(event), within, std::move(where), pos);
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  std::size_t at_ = 0;
  int depth_ = 0;
  int nodes_ = 0;
};

// The first node (in pre-order) deeper than kMaxTreeDepth, or nullptr.
const Expr* TooDeep(const Expr& e, int depth) {
  if (depth > kMaxTreeDepth) return &e;
  for (const auto& child : e.children) {
    if (const Expr* found = TooDeep(*child, depth + 1)) return found;
  }
  return nullptr;
}

}  // namespace

bool IsReservedWord(std::string_view word) {
  for (std::string_view r : kReserved) {
    if (r == word) return true;
  }
  return false;
}

bool IsValidFieldName(std::string_view name) {
  if (name.empty() || !IsIdentStart(name[0]) || IsReservedWord(name)) return false;
  bool after_dot = false;
  for (char c : name) {
    if (c == '.') {
      if (after_dot) return false;
      after_dot = true;
    } else if (!IsIdentChar(c)) {
      return false;
    } else {
      after_dot = false;
    }
  }
  return !after_dot;
}

Result<ExprPtr> ParseSegment(std::string_view text) {
  if (text.size() > kMaxTextBytes) {
    return std::unexpected<Error>(SegmentError(text, {1, 1}, "segment text too long (more than " + std::to_string(kMaxTextBytes) + " bytes)"));
  }
  TREU_ASSIGN_OR_RETURN(std::vector<Token> tokens, Lexer(text).Run());
  TREU_ASSIGN_OR_RETURN(ExprPtr e, Parser(text, std::move(tokens)).Run());
  if (const Expr* deep = TooDeep(*e, 1)) {
    return std::unexpected<Error>(SegmentError(
        text, deep->pos, "expression nested too deeply (more than " + std::to_string(kMaxTreeDepth) + " levels)"));
  }
  return e;
}

}  // namespace treu::segment
