#include "messaging/template.hpp"

#include <unicode/currunit.h>
#include <unicode/locid.h>
#include <unicode/numberformatter.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <span>
#include <utility>

#include "core/html_escape.hpp"
#include "core/money.hpp"

namespace treu::messaging {

// ============================================================================================
// Value
// ============================================================================================

namespace {
bool MembersEqual(const Value::Object& a, const Value::Object& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].key != b[i].key || !(a[i].value == b[i].value)) return false;
  }
  return true;
}
}  // namespace

Value Value::MakeArray(std::initializer_list<Value> items) { return Value(Array(items)); }
Value Value::MakeObject(std::initializer_list<Member> members) { return Value(Object(members)); }

const Value* Value::Find(std::string_view key) const {
  const Object* object = std::get_if<Object>(&v_);
  if (object == nullptr) return nullptr;
  for (const Member& m : *object) {
    if (m.key == key) return &m.value;
  }
  return nullptr;
}

Value& Value::Set(std::string key, Value value) {
  if (is_null()) v_ = Object();
  Object& object = std::get<Object>(v_);
  object.push_back(Member{std::move(key), std::move(value)});
  return object.back().value;
}

Value& Value::Push(Value value) {
  if (is_null()) v_ = Array();
  Array& array = std::get<Array>(v_);
  array.push_back(std::move(value));
  return array.back();
}

bool Value::operator==(const Value& other) const {
  if (kind() != other.kind()) return false;
  switch (kind()) {
    case Kind::kNull: return true;
    case Kind::kBool: return as_bool() == other.as_bool();
    case Kind::kInteger: return as_integer() == other.as_integer();
    case Kind::kDouble: return as_double() == other.as_double();
    case Kind::kString: return as_string() == other.as_string();
    case Kind::kTime: return as_time() == other.as_time();
    case Kind::kArray: return as_array() == other.as_array();
    case Kind::kObject: return MembersEqual(as_object(), other.as_object());
  }
  return false;
}

// ============================================================================================
// RenderContext and money formatting (ICU)
// ============================================================================================

struct RenderContext::MoneyFormat {
  icu::number::LocalizedNumberFormatter formatter;
};

namespace {

Result<std::shared_ptr<const RenderContext::MoneyFormat>> MakeMoneyFormat(const icu::Locale& locale,
                                                                           const Currency& currency) {
  const std::u16string code = {static_cast<char16_t>(currency.code()[0]),
                               static_cast<char16_t>(currency.code()[1]),
                               static_cast<char16_t>(currency.code()[2])};
  UErrorCode status = U_ZERO_ERROR;
  icu::CurrencyUnit unit(code.c_str(), status);
  if (U_FAILURE(status)) {
    return InvalidArgument("currency", "ICU has no currency '" + std::string(currency.code()) + "'");
  }
  auto format = std::make_shared<RenderContext::MoneyFormat>(RenderContext::MoneyFormat{
      icu::number::NumberFormatter::withLocale(locale).unit(unit).roundingMode(UNUM_ROUND_HALFUP)});
  return std::shared_ptr<const RenderContext::MoneyFormat>(std::move(format));
}

Result<icu::Locale> ParseLocale(std::string_view tag) {
  UErrorCode status = U_ZERO_ERROR;
  icu::Locale locale = icu::Locale::forLanguageTag(icu::StringPiece(tag.data(), static_cast<int32_t>(tag.size())), status);
  if (U_FAILURE(status) || locale.isBogus() || tag.empty()) {
    return InvalidArgument("locale", "'" + std::string(tag) + "' is not a BCP 47 language tag like de-DE");
  }
  return locale;
}

// Formats `decimal` (a plain decimal number: "-1234.5") as money.
std::string FormatMoney(const RenderContext::MoneyFormat& format, std::string_view decimal) {
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString text =
      format.formatter.formatDecimal(icu::StringPiece(decimal.data(), static_cast<int32_t>(decimal.size())), status)
          .toString(status);
  if (U_FAILURE(status)) return std::string(decimal);
  std::string out;
  text.toUTF8String(out);
  return out;
}

}  // namespace

RenderContext::RenderContext() {
  static const std::shared_ptr<const MoneyFormat> kDefault = [] {
    auto made = MakeMoneyFormat(icu::Locale("en", "US"), *Currency::FromCode("USD"));
    return *made;
  }();
  money_ = kDefault;
}

Result<RenderContext> RenderContext::Make(TimeZone time_zone, std::string_view locale,
                                          std::string_view currency, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(icu::Locale icu_locale, ParseLocale(locale));
  TREU_ASSIGN_OR_RETURN(Currency c, Currency::FromCode(currency));
  RenderContext ctx;
  TREU_ASSIGN_OR_RETURN(ctx.money_, MakeMoneyFormat(icu_locale, c));
  ctx.time_zone_ = std::move(time_zone);
  ctx.locale_ = std::string(locale);
  ctx.currency_ = std::string(c.code());
  ctx.now_ = now;
  return ctx;
}

// ============================================================================================
// Source positions and errors
// ============================================================================================

namespace {

constexpr std::string_view kContextPrefix = "template";

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

struct LineColumn {
  int line = 1;
  int column = 1;
};

// Line and column (in code points) of byte `offset` in `source`.
LineColumn PositionOf(std::string_view source, std::size_t offset) {
  LineColumn pos;
  offset = std::min(offset, source.size());
  for (std::size_t i = 0; i < offset; ++i) {
    if (source[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else if (!IsContinuationByte(source[i])) {
      ++pos.column;
    }
  }
  return pos;
}

Error ErrorAt(std::string_view source, std::size_t offset, std::string message) {
  const LineColumn pos = PositionOf(source, offset);
  offset = std::min(offset, source.size());
  const std::size_t newline = offset == 0 ? std::string_view::npos : source.rfind('\n', offset - 1);
  const std::size_t start = newline == std::string_view::npos ? 0 : newline + 1;
  std::size_t end = source.find('\n', offset);
  if (end == std::string_view::npos) end = source.size();
  std::string_view text = source.substr(start, end - start);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  std::string caret;
  int column = 1;
  for (std::size_t i = 0; i < text.size() && column < pos.column; ++i) {
    if (IsContinuationByte(text[i])) continue;
    caret += text[i] == '\t' ? '\t' : ' ';
    ++column;
  }
  for (; column < pos.column; ++column) caret += ' ';
  caret += '^';
  std::string detail = std::move(message);
  detail += '\n';
  detail += text;
  detail += '\n';
  detail += caret;
  return Error(ErrorCode::kInvalidArgument,
               std::string(kContextPrefix) + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column),
               std::move(detail));
}

std::unexpected<Error> ResourceExhausted(std::string detail) {
  return MakeError(ErrorCode::kResourceExhausted, std::string(kContextPrefix), std::move(detail));
}

// The text with control bytes shown as \xNN, shortened, for messages that quote input.
std::string Quote(std::string_view text) {
  std::string out = "'";
  std::size_t n = 0;
  for (char c : text) {
    if (++n > 40) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

}  // namespace

std::optional<TemplateError> AsTemplateError(const Error& error) {
  if (error.code() != ErrorCode::kInvalidArgument) return std::nullopt;
  std::string_view ctx = error.context();
  if (!ctx.starts_with(kContextPrefix)) return std::nullopt;
  ctx.remove_prefix(kContextPrefix.size());
  TemplateError out;
  const std::string_view detail = error.detail();
  out.message = std::string(detail.substr(0, detail.find('\n')));
  if (ctx.empty()) return out;
  if (ctx[0] != ':') return std::nullopt;
  ctx.remove_prefix(1);
  const std::size_t colon = ctx.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto read = [](std::string_view s, int& v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size() && v > 0;
  };
  if (!read(ctx.substr(0, colon), out.line) || !read(ctx.substr(colon + 1), out.column)) return std::nullopt;
  return out;
}

// ============================================================================================
// Filters: one row each
// ============================================================================================

namespace {

enum class FilterId : std::uint8_t {
  kDefault, kUpcase, kDowncase, kCapitalize, kTruncate, kDate, kMoney, kEscape, kUrlEncode,
  kRaw, kSize, kAppend, kPrepend, kReplace, kStrip, kPlus, kMinus, kTimes, kDividedBy, kRound,
  kFirst, kLast, kJoin,
  kIdentity,  // `escape` in HTML mode where the output is escaped anyway
};

struct FilterRow {
  FilterInfo info;
  FilterId id;
  int min_args;
  int max_args;
};

constexpr FilterRow kFilterTable[] = {
    {{"default", "the argument when the input is nil, false or empty", "{{ name | default: \"there\" }}"},
     FilterId::kDefault, 1, 1},
    {{"upcase", "upper case (Unicode)", "{{ \"grüße\" | upcase }} → GRÜSSE"}, FilterId::kUpcase, 0, 0},
    {{"downcase", "lower case (Unicode)", "{{ \"ÄB\" | downcase }} → äb"}, FilterId::kDowncase, 0, 0},
    {{"capitalize", "first character upper case, the rest lower case", "{{ \"aDA\" | capitalize }} → Ada"},
     FilterId::kCapitalize, 0, 0},
    {{"truncate", "at most N characters (default 50) including the ellipsis (default \"...\")",
      "{{ \"Grüße aus Köln\" | truncate: 8 }} → Grüße..."},
     FilterId::kTruncate, 0, 2},
    {{"date", "formats a time, ISO 8601 text, Unix seconds or \"now\" in the context's time zone",
      "{{ order.placed_at | date: \"%-d %B %Y\" }} → 1 March 2024"},
     FilterId::kDate, 1, 1},
    {{"money", "a number in major units in the context's locale and currency (or the argument's)",
      "{{ 1234.5 | money }} → 1.234,50 € (de-DE, EUR)"},
     FilterId::kMoney, 0, 1},
    {{"escape", "HTML-escapes (text mode; in HTML mode output is escaped anyway)", "{{ note | escape }}"},
     FilterId::kEscape, 0, 0},
    {{"url_encode", "percent-encodes all but A-Z a-z 0-9 - . _ ~", "{{ \"a b\" | url_encode }} → a%20b"},
     FilterId::kUrlEncode, 0, 0},
    {{"raw", "last filter only: the output is not escaped", "{{ snippet | raw }}"}, FilterId::kRaw, 0, 0},
    {{"size", "characters of a string, elements of an array, members of an object", "{{ orders | size }}"},
     FilterId::kSize, 0, 0},
    {{"append", "appends the argument", "{{ \"a\" | append: \"b\" }} → ab"}, FilterId::kAppend, 1, 1},
    {{"prepend", "prepends the argument", "{{ \"b\" | prepend: \"a\" }} → ab"}, FilterId::kPrepend, 1, 1},
    {{"replace", "replaces every occurrence of the first argument by the second",
      "{{ \"a-b-c\" | replace: \"-\", \"+\" }} → a+b+c"},
     FilterId::kReplace, 2, 2},
    {{"strip", "removes leading and trailing whitespace", "{{ \"  a \" | strip }} → a"}, FilterId::kStrip, 0, 0},
    {{"plus", "addition", "{{ 4 | plus: 2 }} → 6"}, FilterId::kPlus, 1, 1},
    {{"minus", "subtraction", "{{ 4 | minus: 2 }} → 2"}, FilterId::kMinus, 1, 1},
    {{"times", "multiplication", "{{ 4 | times: 2.5 }} → 10.0"}, FilterId::kTimes, 1, 1},
    {{"divided_by", "division; integer division when both are integers; nil when dividing by 0",
      "{{ 7 | divided_by: 2 }} → 3"},
     FilterId::kDividedBy, 1, 1},
    {{"round", "rounds to N decimals (default 0: an integer), halves away from zero",
      "{{ 2.456 | round: 2 }} → 2.46"},
     FilterId::kRound, 0, 1},
    {{"first", "first element of an array, first character of a string", "{{ orders | first }}"},
     FilterId::kFirst, 0, 0},
    {{"last", "last element of an array, last character of a string", "{{ orders | last }}"}, FilterId::kLast, 0,
     0},
    {{"join", "joins array elements with the argument (default \" \")", "{{ tags | join: \", \" }}"},
     FilterId::kJoin, 0, 1},
};

const FilterRow* FindFilter(std::string_view name) {
  for (const FilterRow& row : kFilterTable) {
    if (row.info.name == name) return &row;
  }
  return nullptr;
}

}  // namespace

std::span<const FilterInfo> Filters() {
  static const std::vector<FilterInfo> kInfos = [] {
    std::vector<FilterInfo> infos;
    for (const FilterRow& row : kFilterTable) infos.push_back(row.info);
    return infos;
  }();
  return kInfos;
}

// ============================================================================================
// Syntax tree
// ============================================================================================

namespace {

struct Expr;

enum class SegmentKind : std::uint8_t { kKey, kIndex, kDynamic };

struct Segment {
  SegmentKind kind = SegmentKind::kKey;
  bool pseudo = false;  // size, first or last: a member if the object has one, else computed
  std::string key;
  std::int64_t index = 0;
  std::unique_ptr<Expr> dynamic;
};

enum class ExprKind : std::uint8_t { kLiteral, kPath, kRange, kForloop };
enum class Special : std::uint8_t { kNone, kEmpty, kBlank };
enum class RootKind : std::uint8_t {
  kData,      // a member of the data object
  kLoop,      // a for loop's variable (slot)
  kAssigned,  // a name given by assign (slot), read from the data while not yet assigned
};
enum class ForloopField : std::uint8_t { kIndex, kIndex0, kRindex, kRindex0, kFirst, kLast, kLength };

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  std::uint32_t offset = 0;
  // kLiteral
  Value literal;
  Special special = Special::kNone;
  // kPath
  RootKind root_kind = RootKind::kData;
  std::string root;
  int slot = -1;
  std::vector<Segment> segments;
  // kRange
  std::unique_ptr<Expr> from;
  std::unique_ptr<Expr> to;
  // kForloop
  int loop_depth = 0;  // 0: the outermost loop
  ForloopField field = ForloopField::kIndex;
};

struct FilterCall {
  FilterId id = FilterId::kIdentity;
  std::uint32_t offset = 0;
  std::vector<Expr> args;
};

struct Pipeline {
  Expr input;
  std::vector<FilterCall> filters;
};

// How an output is written, decided from its HTML context (Mode::kHtml) at parse time.
enum class Escaping : std::uint8_t {
  kNone,         // text mode, or the last filter is raw
  kHtml,         // text node, <title>, <textarea>
  kAttribute,    // quoted attribute value
  kUrl,          // start of a URL attribute: SafeUrl, then attribute-escaped
  kUrlPart,      // later in a URL attribute: percent-encoded
  kUrlEncoded,   // later in a URL attribute, already url_encode'd: attribute-escaped
};

enum class CmpOp : std::uint8_t { kTruthy, kEq, kNe, kLt, kGt, kLe, kGe, kContains };

struct Comparison {
  Expr left;
  CmpOp op = CmpOp::kTruthy;
  Expr right;
};

struct Condition {
  std::vector<Comparison> terms;
  std::vector<bool> is_and;  // is_and[i] joins terms[i] and terms[i + 1]
};

struct Node;
using Block = std::vector<Node>;

struct TextNode {
  std::string_view text;
  std::uint32_t offset = 0;
};
struct OutputNode {
  Pipeline pipeline;
  Escaping escaping = Escaping::kNone;
  bool raw = false;  // the last filter is raw
  std::uint32_t offset = 0;
};
struct IfBranch {
  Condition condition;
  bool negate = false;  // unless
  Block body;
};
struct IfNode {
  std::vector<IfBranch> branches;
  bool has_else = false;
  Block else_body;
  std::uint32_t offset = 0;
  std::uint32_t end_offset = 0;
};
struct ForNode {
  int slot = -1;
  int depth = 0;
  Expr collection;
  std::optional<Expr> limit;
  std::optional<Expr> skip;  // offset:
  bool reversed = false;
  Block body;
  bool has_else = false;
  Block else_body;
  std::uint32_t offset = 0;
  std::uint32_t end_offset = 0;
};
struct AssignNode {
  int slot = -1;
  Pipeline pipeline;
};
struct JumpNode {
  bool is_break = false;
  std::uint32_t offset = 0;
};

struct Node {
  std::variant<TextNode, OutputNode, IfNode, ForNode, AssignNode, JumpNode> v;
};

}  // namespace

struct Template::Program {
  std::string source;  // text nodes point into it
  Mode mode = Mode::kText;
  Block body;
  int slot_count = 0;
  std::vector<VariableUse> variables;
};

// ============================================================================================
// Template lexer: literal text, {{ output }}, {% tag %}
// ============================================================================================

namespace {

enum class TokenKind : std::uint8_t {
  kText,
  kOutput,
  kTag,
  kMarker,  // comment, raw, endraw, {% # ... %}: no meaning, but may trim whitespace
};

struct Token {
  TokenKind kind = TokenKind::kText;
  std::uint32_t offset = 0;         // of the text, or of "{{" / "{%"
  std::string_view text;            // kText: the text; otherwise the markup inside
  std::uint32_t markup_offset = 0;  // of `text` for kOutput and kTag
  std::string_view name;            // kTag: the tag's name
  std::uint32_t name_offset = 0;    // kTag: where the name starts
  std::uint32_t args_offset = 0;    // kTag: where its arguments start
  std::string_view args;            // kTag: the markup after the name
  bool trim_left = false;           // "{{-" / "{%-"
  bool trim_right = false;          // "-}}" / "-%}"
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c) || c == '-'; }

// The offset of the first invalid UTF-8 sequence in `s`, or npos.
std::size_t FindInvalidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    for (std::size_t k = 1; k <= need; ++k) {
      if (i + k >= s.size()) return i;
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (c < lo || c > hi) return i;
      lo = 0x80;
      hi = 0xBF;
    }
    i += need + 1;
  }
  return std::string_view::npos;
}

class TemplateLexer {
 public:
  explicit TemplateLexer(std::string_view source) : src_(source) {}

  Result<std::vector<Token>> Run() {
    std::size_t at = 0;
    while (at < src_.size()) {
      const std::size_t open = FindOpen(at);
      if (open == std::string_view::npos) {
        AddText(at, src_.size());
        break;
      }
      AddText(at, open);
      if (src_[open + 1] == '{') {
        TREU_ASSIGN_OR_RETURN(at, LexDelimited(open, TokenKind::kOutput));
      } else {
        TREU_ASSIGN_OR_RETURN(at, LexDelimited(open, TokenKind::kTag));
        Token& tag = tokens_.back();
        if (tag.name == "raw") {
          tag.kind = TokenKind::kMarker;
          TREU_ASSIGN_OR_RETURN(at, LexRaw(at, tag.offset));
        } else if (tag.name == "comment") {
          tag.kind = TokenKind::kMarker;
          TREU_ASSIGN_OR_RETURN(at, SkipComment(at, tag.offset));
        } else if (tag.name == "#") {
          tag.kind = TokenKind::kMarker;
        }
      }
    }
    ApplyTrimming();
    return std::move(tokens_);
  }

 private:
  std::size_t FindOpen(std::size_t from) const {
    while (true) {
      const std::size_t p = src_.find('{', from);
      if (p == std::string_view::npos || p + 1 >= src_.size()) return std::string_view::npos;
      if (src_[p + 1] == '{' || src_[p + 1] == '%') return p;
      from = p + 1;
    }
  }

  void AddText(std::size_t begin, std::size_t end) {
    if (end <= begin) return;
    Token t;
    t.kind = TokenKind::kText;
    t.offset = static_cast<std::uint32_t>(begin);
    t.text = src_.substr(begin, end - begin);
    tokens_.push_back(t);
  }

  // The end of the closing "}}" / "%}" of the delimiter opened at `open`, skipping quoted
  // strings when `quotes`; npos if there is none.
  std::size_t FindClose(std::size_t from, char closer, bool quotes) const {
    for (std::size_t i = from; i + 1 < src_.size(); ++i) {
      const char c = src_[i];
      if (quotes && (c == '"' || c == '\'')) {
        const std::size_t end = src_.find(c, i + 1);
        if (end == std::string_view::npos) return std::string_view::npos;
        i = end;
        continue;
      }
      if (c == closer && src_[i + 1] == '}') return i;
    }
    return std::string_view::npos;
  }

  // Lexes "{{ ... }}" or "{% ... %}" at `open`; returns the offset after it.
  Result<std::size_t> LexDelimited(std::size_t open, TokenKind kind) {
    const char closer = kind == TokenKind::kOutput ? '}' : '%';
    Token t;
    t.kind = kind;
    t.offset = static_cast<std::uint32_t>(open);
    std::size_t begin = open + 2;
    if (begin < src_.size() && src_[begin] == '-') {
      t.trim_left = true;
      ++begin;
    }
    std::size_t close = FindClose(begin, closer, true);
    if (close == std::string_view::npos) {
      const std::size_t plain = FindClose(begin, closer, false);
      if (plain == std::string_view::npos) {
        return std::unexpected(ErrorAt(src_, open, kind == TokenKind::kOutput ? "'{{' is not closed by '}}'"
                                                                              : "'{%' is not closed by '%}'"));
      }
      // Closed, but only inside a string that never ends: point at that string.
      char quote = 0;
      std::size_t quote_at = begin;
      for (std::size_t i = begin; i < plain; ++i) {
        if (quote == 0 && (src_[i] == '"' || src_[i] == '\'')) {
          quote = src_[i];
          quote_at = i;
        } else if (src_[i] == quote) {
          quote = 0;
        }
      }
      return std::unexpected(ErrorAt(src_, quote_at, "unterminated string"));
    }
    std::size_t end = close;
    if (end > begin && src_[end - 1] == '-') {
      t.trim_right = true;
      --end;
    }
    t.markup_offset = static_cast<std::uint32_t>(begin);
    t.text = src_.substr(begin, end - begin);
    if (kind == TokenKind::kTag) SplitTag(t);
    tokens_.push_back(t);
    return close + 2;
  }

  static void SplitTag(Token& t) {
    std::size_t i = 0;
    while (i < t.text.size() && IsSpace(t.text[i])) ++i;
    const std::size_t name_start = i;
    if (i < t.text.size() && t.text[i] == '#') {
      ++i;
    } else {
      while (i < t.text.size() && (IsIdentChar(t.text[i]) || static_cast<unsigned char>(t.text[i]) >= 0x80)) ++i;
    }
    t.name = t.text.substr(name_start, i - name_start);
    t.args = t.text.substr(i);
    t.args_offset = t.markup_offset + static_cast<std::uint32_t>(i);
    t.name_offset = t.markup_offset + static_cast<std::uint32_t>(name_start);
  }

  // Reads the next "{% ... %}" from `from` without looking at quotes: its name, trim flags
  // and bounds. Returns false when there is none.
  struct PlainTag {
    std::size_t open = 0, end = 0;
    std::string_view name;
    bool trim_left = false, trim_right = false;
  };
  bool NextPlainTag(std::size_t from, PlainTag& tag) {
    {
      const std::size_t open = src_.find("{%", from);
      if (open == std::string_view::npos) return false;
      // The first "%}" after an earlier "{%" is also the first after this one when it lies
      // beyond: remembering it keeps a run of "{%" without "%}" linear.
      if (next_close_ == std::string_view::npos || next_close_ < open + 2) {
        next_close_ = src_.find("%}", open + 2);
      }
      const std::size_t close = next_close_;
      if (close == std::string_view::npos) return false;
      tag.open = open;
      tag.end = close + 2;
      std::size_t i = open + 2;
      tag.trim_left = i < close && src_[i] == '-';
      if (tag.trim_left) ++i;
      tag.trim_right = close > i && src_[close - 1] == '-';
      while (i < close && IsSpace(src_[i])) ++i;
      std::size_t j = i;
      while (j < close && IsIdentChar(src_[j])) ++j;
      tag.name = src_.substr(i, j - i);
      return true;
    }
  }

  Result<std::size_t> LexRaw(std::size_t from, std::uint32_t raw_offset) {
    PlainTag tag;
    std::size_t search = from;
    while (NextPlainTag(search, tag)) {
      if (tag.name == "endraw") {
        AddText(from, tag.open);
        Token end;
        end.kind = TokenKind::kMarker;
        end.offset = static_cast<std::uint32_t>(tag.open);
        end.trim_left = tag.trim_left;
        end.trim_right = tag.trim_right;
        tokens_.push_back(end);
        return tag.end;
      }
      search = tag.open + 2;
    }
    return std::unexpected(ErrorAt(src_, raw_offset, "'raw' is never closed by 'endraw'"));
  }

  Result<std::size_t> SkipComment(std::size_t from, std::uint32_t comment_offset) {
    PlainTag tag;
    int depth = 1;
    std::size_t search = from;
    while (NextPlainTag(search, tag)) {
      if (tag.name == "comment") ++depth;
      if (tag.name == "endcomment" && --depth == 0) {
        Token end;
        end.kind = TokenKind::kMarker;
        end.offset = static_cast<std::uint32_t>(tag.open);
        end.trim_left = tag.trim_left;
        end.trim_right = tag.trim_right;
        tokens_.push_back(end);
        return tag.end;
      }
      search = tag.open + 2;
    }
    return std::unexpected(ErrorAt(src_, comment_offset, "'comment' is never closed by 'endcomment'"));
  }

  // "{{-" strips the whitespace before the tag, "-}}" the whitespace after it.
  void ApplyTrimming() {
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      Token& t = tokens_[i];
      if (t.kind != TokenKind::kText) continue;
      if (i > 0 && tokens_[i - 1].kind != TokenKind::kText && tokens_[i - 1].trim_right) {
        std::size_t n = 0;
        while (n < t.text.size() && IsSpace(t.text[n])) ++n;
        t.text.remove_prefix(n);
        t.offset += static_cast<std::uint32_t>(n);
      }
      if (i + 1 < tokens_.size() && tokens_[i + 1].kind != TokenKind::kText && tokens_[i + 1].trim_left) {
        while (!t.text.empty() && IsSpace(t.text.back())) t.text.remove_suffix(1);
      }
    }
    std::erase_if(tokens_, [](const Token& t) { return t.kind == TokenKind::kText && t.text.empty(); });
  }

  std::string_view src_;
  std::vector<Token> tokens_;
  std::size_t next_close_ = std::string_view::npos;
};

}  // namespace

// ============================================================================================
// Expression lexer: the markup inside {{ }} and {% %}
// ============================================================================================

namespace {

enum class T : std::uint8_t {
  kIdent, kString, kInteger, kDecimal, kDot, kDotDot, kLBracket, kRBracket, kLParen, kRParen,
  kPipe, kColon, kComma, kAssign, kCmp, kEnd,
};

struct ExprToken {
  T kind = T::kEnd;
  std::uint32_t offset = 0;
  std::string_view text;  // as written; for strings, the contents between the quotes
  std::int64_t integer = 0;
  double decimal = 0;
  CmpOp op = CmpOp::kEq;
};

std::string Describe(const ExprToken& t) {
  switch (t.kind) {
    case T::kEnd: return "the end of the tag";
    case T::kString: return "the string " + Quote(t.text);
    default: return Quote(t.text);
  }
}

Result<std::vector<ExprToken>> LexMarkup(std::string_view source, std::string_view markup,
                                         std::uint32_t base) {
  std::vector<ExprToken> out;
  std::size_t i = 0;
  auto fail = [&](std::size_t at, std::string message) {
    return std::unexpected(ErrorAt(source, base + at, std::move(message)));
  };
  while (true) {
    while (i < markup.size() && IsSpace(markup[i])) ++i;
    ExprToken t;
    t.offset = static_cast<std::uint32_t>(base + i);
    if (i >= markup.size()) {
      out.push_back(t);
      return out;
    }
    const std::size_t start = i;
    const char c = markup[i];
    const bool after_dot = !out.empty() && out.back().kind == T::kDot;
    if (IsIdentStart(c) || (after_dot && IsDigit(c))) {
      while (i < markup.size() && IsIdentChar(markup[i])) ++i;
      if (i < markup.size() && markup[i] == '?') ++i;
      t.kind = T::kIdent;
    } else if (IsDigit(c) || (c == '-' && i + 1 < markup.size() && IsDigit(markup[i + 1]))) {
      if (c == '-') ++i;
      while (i < markup.size() && IsDigit(markup[i])) ++i;
      if (i + 1 < markup.size() && markup[i] == '.' && IsDigit(markup[i + 1])) {
        ++i;
        while (i < markup.size() && IsDigit(markup[i])) ++i;
        t.kind = T::kDecimal;
        auto [p, ec] = std::from_chars(markup.data() + start, markup.data() + i, t.decimal);
        if (ec != std::errc() || !std::isfinite(t.decimal)) return fail(start, "number out of range");
      } else {
        t.kind = T::kInteger;
        auto [p, ec] = std::from_chars(markup.data() + start, markup.data() + i, t.integer);
        if (ec != std::errc()) return fail(start, "number out of range");
      }
      if (i < markup.size() && IsIdentStart(markup[i])) {
        return fail(i, "unexpected character '" + std::string(1, markup[i]) + "' after a number");
      }
    } else if (c == '"' || c == '\'') {
      const std::size_t end = markup.find(c, i + 1);
      if (end == std::string_view::npos) return fail(start, "unterminated string");
      t.kind = T::kString;
      t.text = markup.substr(i + 1, end - i - 1);
      i = end + 1;
      out.push_back(t);
      continue;
    } else {
      const std::string_view rest = markup.substr(i);
      struct Op {
        std::string_view spelling;
        T kind;
        CmpOp op;
      };
      static constexpr Op kOps[] = {
          {"==", T::kCmp, CmpOp::kEq}, {"!=", T::kCmp, CmpOp::kNe},  {"<>", T::kCmp, CmpOp::kNe},
          {"<=", T::kCmp, CmpOp::kLe}, {">=", T::kCmp, CmpOp::kGe},  {"<", T::kCmp, CmpOp::kLt},
          {">", T::kCmp, CmpOp::kGt},  {"..", T::kDotDot, CmpOp::kEq}, {".", T::kDot, CmpOp::kEq},
          {"=", T::kAssign, CmpOp::kEq}, {"[", T::kLBracket, CmpOp::kEq}, {"]", T::kRBracket, CmpOp::kEq},
          {"(", T::kLParen, CmpOp::kEq}, {")", T::kRParen, CmpOp::kEq}, {"|", T::kPipe, CmpOp::kEq},
          {":", T::kColon, CmpOp::kEq}, {",", T::kComma, CmpOp::kEq},
      };
      bool matched = false;
      for (const Op& op : kOps) {
        if (rest.starts_with(op.spelling)) {
          t.kind = op.kind;
          t.op = op.op;
          i += op.spelling.size();
          matched = true;
          break;
        }
      }
      if (!matched) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7F) return fail(start, "unexpected character '" + std::string(1, c) + "'");
        if (u >= 0x80) {
          std::size_t n = 1;
          while (start + n < markup.size() && IsContinuationByte(markup[start + n])) ++n;
          return fail(start, "unexpected character '" + std::string(markup.substr(start, n)) + "'");
        }
        char buf[8];
        std::snprintf(buf, sizeof buf, "0x%02x", u);
        return fail(start, std::string("unexpected byte ") + buf);
      }
    }
    t.text = markup.substr(start, i - start);
    out.push_back(t);
  }
}

// ============================================================================================
// Date formats
// ============================================================================================

constexpr std::string_view kDateDirectives = "YmdeHMSIlpPyjbhBaAzZsFTDRuw%";

// The offset of the first '%' in `format` that starts no known directive, or npos.
std::size_t FindBadDirective(std::string_view format) {
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') continue;
    std::size_t j = i + 1;
    if (j < format.size() && format[j] == '-') ++j;
    if (j >= format.size() || kDateDirectives.find(format[j]) == std::string_view::npos) return i;
    i = j;
  }
  return std::string_view::npos;
}

// ============================================================================================
// Parser
// ============================================================================================

bool IsKeyword(std::string_view word) {
  static constexpr std::string_view kWords[] = {"true", "false", "nil",  "null", "empty",
                                                 "blank", "and",  "or",  "contains", "in"};
  return std::find(std::begin(kWords), std::end(kWords), word) != std::end(kWords);
}

class Parser {
 public:
  Parser(std::string_view source, Mode mode, std::vector<Token> tokens)
      : src_(source), mode_(mode), tokens_(std::move(tokens)) {}

  Result<Block> Run() {
    // Every name given by assign gets its slot first, so a read knows whether it may be local.
    for (const Token& t : tokens_) {
      if (t.kind != TokenKind::kTag || t.name != "assign") continue;
      std::size_t i = 0;
      while (i < t.args.size() && IsSpace(t.args[i])) ++i;
      std::size_t j = i;
      while (j < t.args.size() && IsIdentChar(t.args[j])) ++j;
      const std::string_view name = t.args.substr(i, j - i);
      if (!name.empty() && AssignedSlot(name) < 0) assigned_.emplace_back(std::string(name), slot_count_++);
    }
    definite_.assign(assigned_.size(), 0);
    Block body;
    TREU_ASSIGN_OR_RETURN(BlockEnd end, ParseBlock(body, {}, 0));
    (void)end;
    return body;
  }

  int slot_count() const { return slot_count_; }

  std::vector<VariableUse> TakeVariables() {
    // Offsets to line:column in one pass.
    std::vector<std::size_t> order(variables_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return variable_offsets_[a] < variable_offsets_[b]; });
    LineColumn pos;
    std::size_t at = 0;
    for (std::size_t k : order) {
      const std::size_t target = variable_offsets_[k];
      for (; at < target && at < src_.size(); ++at) {
        if (src_[at] == '\n') {
          ++pos.line;
          pos.column = 1;
        } else if (!IsContinuationByte(src_[at])) {
          ++pos.column;
        }
      }
      variables_[k].line = pos.line;
      variables_[k].column = pos.column;
    }
    std::vector<VariableUse> sorted;
    sorted.reserve(order.size());
    for (std::size_t k : order) sorted.push_back(std::move(variables_[k]));
    return sorted;
  }

 private:
  struct BlockEnd {
    const Token* tag = nullptr;  // the terminator, or nullptr at the end of the template
  };
  struct OpenBlock {
    std::string_view name;
    std::uint32_t offset = 0;
    bool in_else = false;
  };
  struct LoopScope {
    std::string_view name;
    int slot = -1;
  };

  std::unexpected<Error> Fail(std::size_t offset, std::string message) const {
    return std::unexpected(ErrorAt(src_, offset, std::move(message)));
  }

  std::string Where(std::uint32_t offset) const {
    const LineColumn pos = PositionOf(src_, offset);
    return "line " + std::to_string(pos.line) + ", column " + std::to_string(pos.column);
  }

  int AssignedSlot(std::string_view name) const {
    for (const auto& [n, slot] : assigned_) {
      if (n == name) return slot;
    }
    return -1;
  }

  // ---- token cursor over one markup ----

  Status StartMarkup(std::string_view markup, std::uint32_t offset) {
    TREU_ASSIGN_OR_RETURN(toks_, LexMarkup(src_, markup, offset));
    ti_ = 0;
    return Ok();
  }
  const ExprToken& Peek(std::size_t ahead = 0) const { return toks_[std::min(ti_ + ahead, toks_.size() - 1)]; }
  const ExprToken& Next() {
    const ExprToken& t = toks_[ti_];
    if (ti_ + 1 < toks_.size()) ++ti_;
    return t;
  }
  bool PeekWord(std::string_view word) const { return Peek().kind == T::kIdent && Peek().text == word; }
  Status ExpectEnd(std::string_view what) const {
    if (Peek().kind != T::kEnd) return Fail(Peek().offset, "unexpected " + Describe(Peek()) + " " + std::string(what));
    return Ok();
  }

  // ---- expressions ----

  Result<Expr> ParseValue(bool allow_range, int depth) {
    const ExprToken& t = Peek();
    Expr e;
    e.offset = t.offset;
    switch (t.kind) {
      case T::kString:
        e.literal = Value(std::string(t.text));
        Next();
        return e;
      case T::kInteger:
        e.literal = Value(t.integer);
        Next();
        return e;
      case T::kDecimal:
        e.literal = Value(t.decimal);
        Next();
        return e;
      case T::kLParen: {
        if (!allow_range) return Fail(t.offset, "a range (a..b) is only allowed in a for loop");
        Next();
        TREU_ASSIGN_OR_RETURN(Expr from, ParseValue(false, depth));
        if (Peek().kind != T::kDotDot) return Fail(Peek().offset, "expected '..' in the range, found " + Describe(Peek()));
        Next();
        TREU_ASSIGN_OR_RETURN(Expr to, ParseValue(false, depth));
        if (Peek().kind != T::kRParen) return Fail(Peek().offset, "expected ')' to close the range, found " + Describe(Peek()));
        Next();
        e.kind = ExprKind::kRange;
        e.from = std::make_unique<Expr>(std::move(from));
        e.to = std::make_unique<Expr>(std::move(to));
        return e;
      }
      case T::kIdent:
        break;
      default:
        return Fail(t.offset, "expected a value, found " + Describe(t));
    }
    if (t.text == "true" || t.text == "false") {
      e.literal = Value(t.text == "true");
      Next();
      return e;
    }
    if (t.text == "nil" || t.text == "null") {
      Next();
      return e;
    }
    if (t.text == "empty" || t.text == "blank") {
      e.literal = Value(std::string());
      e.special = t.text == "empty" ? Special::kEmpty : Special::kBlank;
      Next();
      return e;
    }
    if (IsKeyword(t.text)) return Fail(t.offset, "expected a value, found " + Describe(t));
    return ParsePath(depth);
  }

  Result<Expr> ParsePath(int depth) {
    const ExprToken root = Next();
    Expr e;
    e.kind = ExprKind::kPath;
    e.offset = root.offset;
    if (root.text == "forloop") {
      if (loops_.empty()) return Fail(root.offset, "'forloop' is only defined inside a for loop");
      if (Peek().kind != T::kDot || Peek(1).kind != T::kIdent) {
        return Fail(Peek().offset, "expected '.' and a forloop property (index, index0, rindex, rindex0, first, last, length)");
      }
      Next();
      const ExprToken field = Next();
      static constexpr std::pair<std::string_view, ForloopField> kFields[] = {
          {"index", ForloopField::kIndex},   {"index0", ForloopField::kIndex0}, {"rindex", ForloopField::kRindex},
          {"rindex0", ForloopField::kRindex0}, {"first", ForloopField::kFirst}, {"last", ForloopField::kLast},
          {"length", ForloopField::kLength}};
      bool found = false;
      for (const auto& [name, f] : kFields) {
        if (field.text == name) {
          e.field = f;
          found = true;
        }
      }
      if (!found) return Fail(field.offset, "unknown forloop property " + Quote(field.text));
      if (Peek().kind == T::kDot || Peek().kind == T::kLBracket) {
        return Fail(Peek().offset, "forloop." + std::string(field.text) + " has no properties");
      }
      e.kind = ExprKind::kForloop;
      e.loop_depth = static_cast<int>(loops_.size()) - 1;
      return e;
    }
    e.root = std::string(root.text);
    for (auto it = loops_.rbegin(); it != loops_.rend(); ++it) {
      if (it->name == root.text) {
        e.root_kind = RootKind::kLoop;
        e.slot = it->slot;
        break;
      }
    }
    if (e.root_kind == RootKind::kData) {
      const int slot = AssignedSlot(root.text);
      if (slot >= 0) {
        e.root_kind = RootKind::kAssigned;
        e.slot = slot;
      }
    }
    while (true) {
      if (Peek().kind == T::kDot) {
        Next();
        if (Peek().kind != T::kIdent) return Fail(Peek().offset, "expected a name after '.', found " + Describe(Peek()));
        Segment s;
        s.key = std::string(Next().text);
        s.pseudo = s.key == "size" || s.key == "first" || s.key == "last";
        e.segments.push_back(std::move(s));
      } else if (Peek().kind == T::kLBracket) {
        const ExprToken open = Next();
        Segment s;
        if (Peek().kind == T::kInteger && Peek(1).kind == T::kRBracket) {
          s.kind = SegmentKind::kIndex;
          s.index = Next().integer;
        } else if (Peek().kind == T::kString && Peek(1).kind == T::kRBracket) {
          s.key = std::string(Next().text);
        } else {
          if (depth + 1 >= kMaxLookupDepth) return Fail(open.offset, "lookups nested deeper than " + std::to_string(kMaxLookupDepth));
          if (Peek().kind != T::kIdent || IsKeyword(Peek().text)) {
            return Fail(Peek().offset, "expected a number, a string or a variable in '[ ]', found " + Describe(Peek()));
          }
          TREU_ASSIGN_OR_RETURN(Expr inner, ParsePath(depth + 1));
          s.kind = SegmentKind::kDynamic;
          s.dynamic = std::make_unique<Expr>(std::move(inner));
        }
        if (Peek().kind != T::kRBracket) return Fail(Peek().offset, "expected ']', found " + Describe(Peek()));
        Next();
        e.segments.push_back(std::move(s));
      } else {
        break;
      }
    }
    const bool may_read_data =
        e.root_kind == RootKind::kData || (e.root_kind == RootKind::kAssigned && !definite_[static_cast<std::size_t>(e.slot)]);
    if (may_read_data) {
      std::string path = e.root;
      for (const Segment& s : e.segments) {
        if (s.kind != SegmentKind::kKey || s.pseudo) break;
        path += '.';
        path += s.key;
      }
      bool seen = false;
      for (const VariableUse& v : variables_) seen = seen || v.path == path;
      if (!seen) {
        variables_.push_back(VariableUse{std::move(path), 0, 0});
        variable_offsets_.push_back(e.offset);
      }
    }
    return e;
  }

  Result<Pipeline> ParsePipeline(bool in_output) {
    Pipeline p;
    TREU_ASSIGN_OR_RETURN(p.input, ParseValue(false, 0));
    while (Peek().kind == T::kPipe) {
      Next();
      if (Peek().kind != T::kIdent) return Fail(Peek().offset, "expected a filter name after '|', found " + Describe(Peek()));
      const ExprToken name = Next();
      const FilterRow* row = FindFilter(name.text);
      if (row == nullptr) return Fail(name.offset, "unknown filter " + Quote(name.text));
      FilterCall call;
      call.id = row->id;
      call.offset = name.offset;
      if (Peek().kind == T::kColon) {
        Next();
        while (true) {
          if (Peek().kind == T::kIdent && Peek(1).kind == T::kColon) {
            return Fail(Peek().offset, "keyword arguments (" + std::string(Peek().text) + ": ...) are not supported");
          }
          TREU_ASSIGN_OR_RETURN(Expr arg, ParseValue(false, 0));
          call.args.push_back(std::move(arg));
          if (Peek().kind != T::kComma) break;
          Next();
        }
      }
      const int n = static_cast<int>(call.args.size());
      if (n < row->min_args || n > row->max_args) {
        std::string takes;
        if (row->min_args == row->max_args) {
          takes = row->min_args == 0 ? "no arguments" : row->min_args == 1 ? "1 argument" : std::to_string(row->min_args) + " arguments";
        } else {
          takes = std::to_string(row->min_args) + " to " + std::to_string(row->max_args) + " arguments";
        }
        return Fail(name.offset, "filter " + Quote(name.text) + " takes " + takes + ", not " + std::to_string(n));
      }
      if (call.id == FilterId::kDate && call.args[0].kind == ExprKind::kLiteral &&
          call.args[0].literal.kind() == Value::Kind::kString) {
        const std::string& format = call.args[0].literal.as_string();
        const std::size_t bad = FindBadDirective(format);
        if (bad != std::string::npos) {
          const std::size_t n_len = bad + 1 < format.size() ? (format[bad + 1] == '-' ? 3 : 2) : 1;
          return Fail(call.args[0].offset + 1 + bad,
                      "unknown date directive " + Quote(std::string_view(format).substr(bad, n_len)));
        }
      }
      if (call.id == FilterId::kMoney && n == 1 && call.args[0].kind == ExprKind::kLiteral &&
          call.args[0].literal.kind() == Value::Kind::kString) {
        if (!Currency::FromCode(call.args[0].literal.as_string())) {
          return Fail(call.args[0].offset, Quote(call.args[0].literal.as_string()) + " is not an ISO 4217 currency code");
        }
      }
      p.filters.push_back(std::move(call));
    }
    for (std::size_t i = 0; i < p.filters.size(); ++i) {
      if (p.filters[i].id != FilterId::kRaw) continue;
      if (!in_output) return Fail(p.filters[i].offset, "'raw' is only for output, not for assign");
      if (i + 1 != p.filters.size()) return Fail(p.filters[i].offset, "'raw' must be the last filter");
    }
    // In HTML mode every output is escaped for its context, so `escape` would escape twice;
    // it escapes only where the output is not escaped again (before raw).
    const bool raw = !p.filters.empty() && p.filters.back().id == FilterId::kRaw;
    if (mode_ == Mode::kHtml && !raw) {
      for (FilterCall& f : p.filters) {
        if (f.id == FilterId::kEscape) f.id = FilterId::kIdentity;
      }
    }
    if (Peek().kind == T::kCmp) {
      return Fail(Peek().offset, "comparisons are only allowed in if, elsif and unless");
    }
    TREU_RETURN_IF_ERROR(ExpectEnd(in_output ? "(expected '|' or '}}')" : "(expected '|' or '%}')"));
    return p;
  }

  Result<Condition> ParseCondition() {
    Condition c;
    while (true) {
      Comparison cmp;
      TREU_ASSIGN_OR_RETURN(cmp.left, ParseValue(false, 0));
      if (Peek().kind == T::kCmp || PeekWord("contains")) {
        cmp.op = Peek().kind == T::kCmp ? Peek().op : CmpOp::kContains;
        Next();
        TREU_ASSIGN_OR_RETURN(cmp.right, ParseValue(false, 0));
      }
      c.terms.push_back(std::move(cmp));
      if (PeekWord("and") || PeekWord("or")) {
        c.is_and.push_back(Next().text == "and");
        continue;
      }
      break;
    }
    if (Peek().kind == T::kPipe) {
      return Fail(Peek().offset, "filters are not allowed in conditions; assign the filtered value first");
    }
    TREU_RETURN_IF_ERROR(ExpectEnd("in the condition"));
    return c;
  }

  // ---- blocks ----

  Result<BlockEnd> ParseBlock(Block& out, std::initializer_list<std::string_view> terminators, int depth) {
    while (pos_ < tokens_.size()) {
      const Token& t = tokens_[pos_++];
      switch (t.kind) {
        case TokenKind::kText:
          out.push_back(Node{TextNode{t.text, t.offset}});
          continue;
        case TokenKind::kMarker:
          continue;
        case TokenKind::kOutput: {
          TREU_RETURN_IF_ERROR(StartMarkup(t.text, t.markup_offset));
          OutputNode node;
          node.offset = t.offset;
          TREU_ASSIGN_OR_RETURN(node.pipeline, ParsePipeline(true));
          node.raw = !node.pipeline.filters.empty() && node.pipeline.filters.back().id == FilterId::kRaw;
          out.push_back(Node{std::move(node)});
          continue;
        }
        case TokenKind::kTag:
          break;
      }
      if (std::find(terminators.begin(), terminators.end(), t.name) != terminators.end()) return BlockEnd{&t};
      if (t.name == "if" || t.name == "unless" || t.name == "for") {
        if (depth + 1 > kMaxBlockDepth) {
          return Fail(t.name_offset, "blocks nested deeper than " + std::to_string(kMaxBlockDepth));
        }
        if (t.name == "for") {
          TREU_ASSIGN_OR_RETURN(Node node, ParseFor(t, depth + 1));
          out.push_back(std::move(node));
        } else {
          TREU_ASSIGN_OR_RETURN(Node node, ParseIf(t, depth + 1));
          out.push_back(std::move(node));
        }
      } else if (t.name == "assign") {
        TREU_ASSIGN_OR_RETURN(Node node, ParseAssign(t));
        out.push_back(std::move(node));
      } else if (t.name == "break" || t.name == "continue") {
        if (loops_.empty()) return Fail(t.name_offset, Quote(t.name) + " outside a for loop");
        TREU_RETURN_IF_ERROR(NoArguments(t));
        out.push_back(Node{JumpNode{t.name == "break", t.offset}});
      } else {
        return Fail(t.name_offset, Unexpected(t));
      }
    }
    return BlockEnd{};
  }

  std::string Unexpected(const Token& t) const {
    static constexpr std::pair<std::string_view, std::string_view> kClosers[] = {
        {"endif", "'if'"}, {"endunless", "'unless'"}, {"endfor", "'for'"}, {"elsif", "'if'"},
        {"else", "'if', 'unless' or 'for'"}, {"endraw", "'raw'"}, {"endcomment", "'comment'"}};
    if (t.name.empty()) return "expected a tag name after '{%'";
    for (const auto& [closer, opener] : kClosers) {
      if (t.name != closer) continue;
      if (open_.empty()) return Quote(t.name) + " without a matching " + std::string(opener);
      const OpenBlock& b = open_.back();
      if (b.in_else && (t.name == "else" || t.name == "elsif")) {
        return Quote(t.name) + " after the 'else' of the " + Quote(b.name) + " at " + Where(b.offset);
      }
      return Quote(t.name) + " does not close the " + Quote(b.name) + " at " + Where(b.offset) +
             " (expected 'end" + std::string(b.name) + "')";
    }
    return "unknown tag " + Quote(t.name);
  }

  Status NoArguments(const Token& t) const {
    std::size_t i = 0;
    while (i < t.args.size() && IsSpace(t.args[i])) ++i;
    if (i < t.args.size()) return Fail(t.args_offset + i, Quote(t.name) + " takes no arguments");
    return Ok();
  }

  std::unexpected<Error> NeverClosed(const Token& open) const {
    return Fail(open.name_offset, Quote(open.name) + " is never closed (expected 'end" + std::string(open.name) + "')");
  }

  Result<Node> ParseIf(const Token& open, int depth) {
    const std::string closing = "end" + std::string(open.name);
    open_.push_back(OpenBlock{open.name, open.name_offset, false});
    IfNode node;
    node.offset = open.offset;
    const std::vector<char> before = definite_;
    std::vector<std::vector<char>> ends;
    const Token* branch_tag = &open;
    while (true) {
      TREU_RETURN_IF_ERROR(StartMarkup(branch_tag->args, branch_tag->args_offset));
      IfBranch branch;
      TREU_ASSIGN_OR_RETURN(branch.condition, ParseCondition());
      branch.negate = branch_tag == &open && open.name == "unless";
      definite_ = before;
      TREU_ASSIGN_OR_RETURN(BlockEnd end, ParseBlock(branch.body, {"elsif", "else", closing}, depth));
      ends.push_back(definite_);
      node.branches.push_back(std::move(branch));
      if (end.tag == nullptr) return NeverClosed(open);
      if (end.tag->name == "elsif") {
        branch_tag = end.tag;
        continue;
      }
      if (end.tag->name == "else") {
        TREU_RETURN_IF_ERROR(NoArguments(*end.tag));
        open_.back().in_else = true;
        definite_ = before;
        node.has_else = true;
        TREU_ASSIGN_OR_RETURN(BlockEnd last, ParseBlock(node.else_body, {closing}, depth));
        if (last.tag == nullptr) return NeverClosed(open);
        ends.push_back(definite_);
        end = last;
      }
      TREU_RETURN_IF_ERROR(NoArguments(*end.tag));
      node.end_offset = end.tag->offset;
      break;
    }
    if (!node.has_else) ends.push_back(before);
    definite_ = before;
    for (std::size_t s = 0; s < definite_.size(); ++s) {
      bool all = true;
      for (const auto& e : ends) all = all && e[s];
      definite_[s] = all;
    }
    open_.pop_back();
    return Node{std::move(node)};
  }

  Result<Node> ParseFor(const Token& open, int depth) {
    TREU_RETURN_IF_ERROR(StartMarkup(open.args, open.args_offset));
    ForNode node;
    node.offset = open.offset;
    if (Peek().kind != T::kIdent || IsKeyword(Peek().text) || Peek().text == "forloop") {
      return Fail(Peek().offset, "expected a loop variable name, found " + Describe(Peek()));
    }
    const std::string_view name = Next().text;
    if (!PeekWord("in")) return Fail(Peek().offset, "expected 'in' after the loop variable, found " + Describe(Peek()));
    Next();
    TREU_ASSIGN_OR_RETURN(node.collection, ParseValue(true, 0));
    while (Peek().kind != T::kEnd) {
      if (PeekWord("reversed")) {
        Next();
        node.reversed = true;
      } else if ((PeekWord("limit") || PeekWord("offset")) && Peek(1).kind == T::kColon) {
        const bool limit = Next().text == "limit";
        Next();
        TREU_ASSIGN_OR_RETURN(Expr value, ParseValue(false, 0));
        (limit ? node.limit : node.skip) = std::move(value);
      } else {
        return Fail(Peek().offset, "expected limit:, offset: or reversed, found " + Describe(Peek()));
      }
    }
    node.slot = slot_count_++;
    node.depth = static_cast<int>(loops_.size());
    open_.push_back(OpenBlock{open.name, open.name_offset, false});
    loops_.push_back(LoopScope{name, node.slot});
    const std::vector<char> before = definite_;
    TREU_ASSIGN_OR_RETURN(BlockEnd end, ParseBlock(node.body, {"else", "endfor"}, depth));
    loops_.pop_back();
    if (end.tag == nullptr) return NeverClosed(open);
    if (end.tag->name == "else") {
      TREU_RETURN_IF_ERROR(NoArguments(*end.tag));
      open_.back().in_else = true;
      node.has_else = true;
      definite_ = before;
      TREU_ASSIGN_OR_RETURN(BlockEnd last, ParseBlock(node.else_body, {"endfor"}, depth));
      if (last.tag == nullptr) return NeverClosed(open);
      end = last;
    }
    TREU_RETURN_IF_ERROR(NoArguments(*end.tag));
    node.end_offset = end.tag->offset;
    definite_ = before;  // the body may run zero times
    open_.pop_back();
    return Node{std::move(node)};
  }

  Result<Node> ParseAssign(const Token& t) {
    TREU_RETURN_IF_ERROR(StartMarkup(t.args, t.args_offset));
    if (Peek().kind != T::kIdent) return Fail(Peek().offset, "expected a variable name after 'assign', found " + Describe(Peek()));
    const ExprToken name = Next();
    if (IsKeyword(name.text) || name.text == "forloop") return Fail(name.offset, "cannot assign to " + Quote(name.text));
    if (Peek().kind != T::kAssign) return Fail(Peek().offset, "expected '=' after the variable name, found " + Describe(Peek()));
    Next();
    AssignNode node;
    node.slot = AssignedSlot(name.text);
    TREU_ASSIGN_OR_RETURN(node.pipeline, ParsePipeline(false));
    if (node.slot < 0) return Fail(name.offset, Quote(name.text) + " is not a valid variable name");
    definite_[static_cast<std::size_t>(node.slot)] = 1;
    return Node{std::move(node)};
  }

  std::string_view src_;
  Mode mode_;
  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  std::vector<ExprToken> toks_;
  std::size_t ti_ = 0;
  std::vector<OpenBlock> open_;
  std::vector<LoopScope> loops_;
  std::vector<std::pair<std::string, int>> assigned_;
  std::vector<char> definite_;  // per assigned slot: given a value on every path so far
  int slot_count_ = 0;
  std::vector<VariableUse> variables_;
  std::vector<std::size_t> variable_offsets_;
};

}  // namespace

// ============================================================================================
// HTML contexts (Mode::kHtml): a small tokenizer after the WHATWG HTML tokenizer follows the
// literal text, so each output knows whether it stands in text, in a quoted attribute value,
// in a URL attribute, or somewhere no escaping makes it safe (then Parse fails).
// ============================================================================================

namespace {

enum class Html : std::uint8_t {
  kData, kRcdata, kRawtext, kScript, kPlaintext,
  kTagOpen, kEndTagOpen, kTagName, kBeforeAttrName, kAttrName, kAfterAttrName, kBeforeAttrValue,
  kAttrValueDq, kAttrValueSq, kAttrValueUnquoted, kAfterAttrValueQuoted, kSelfClosing,
  kMarkupDeclOpen, kComment, kBogusComment,
};

struct HtmlState {
  Html state = Html::kData;
  bool end_tag = false;     // the tag being read is an end tag
  std::string tag;          // lower-case name of the tag being read, or of the raw text element
  std::string attr;         // lower-case name of the attribute being read
  bool value_start = true;  // in an attribute value: only whitespace so far
  int progress = 0;         // raw text: characters of "</tag" matched; comment: '-' just read;
                            // markup declaration: '-' after "<!"
  bool operator==(const HtmlState&) const = default;
};

constexpr std::size_t kMaxNameBytes = 32;  // longer names match no list below

bool IsHtmlSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
void AppendName(std::string& name, char c) {
  if (name.size() <= kMaxNameBytes) name += Lower(c);
}

bool IsUrlAttribute(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "href",   "src",  "action",   "formaction", "poster",   "background", "cite",     "xlink:href",
      "data",   "codebase", "longdesc", "usemap", "manifest", "profile",    "classid", "icon",
      "archive", "lowsrc", "dynsrc", "ping"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

class HtmlTracker {
 public:
  explicit HtmlTracker(std::string_view source) : src_(source) {}

  // Follows literal text starting at byte `offset` of the source.
  Status Feed(HtmlState& s, std::string_view text, std::uint32_t offset) const {
    for (std::size_t i = 0; i < text.size(); ++i) {
      TREU_RETURN_IF_ERROR(Step(s, text[i], offset + static_cast<std::uint32_t>(i)));
    }
    return Ok();
  }

  // How an output in state `s` is escaped, or an error at `offset` if none is safe.
  Result<Escaping> OutputEscaping(const HtmlState& s, const OutputNode& node) const {
    const std::uint32_t at = node.offset;
    switch (s.state) {
      case Html::kData:
      case Html::kRcdata:
        return Escaping::kHtml;
      case Html::kAttrValueDq:
      case Html::kAttrValueSq: {
        const std::string& a = s.attr;
        if (a.starts_with("on")) return Fail(at, "output inside the event handler attribute " + Quote(a) + " is not allowed");
        if (a == "style") return Fail(at, "output inside a style attribute is not allowed");
        if (a == "srcdoc" || a == "srcset") return Fail(at, "output inside the " + Quote(a) + " attribute is not allowed");
        const bool animation = s.tag == "animate" || s.tag == "set" || s.tag == "animatemotion" || s.tag == "animatetransform";
        if (animation && (a == "values" || a == "from" || a == "to" || a == "by" || a == "attributename")) {
          return Fail(at, "output inside the " + Quote(a) + " attribute of an SVG animation is not allowed");
        }
        if (IsUrlAttribute(a) || (animation && a == "href")) {
          if (s.value_start) return Escaping::kUrl;
          const auto& f = node.pipeline.filters;
          return (!f.empty() && f.back().id == FilterId::kUrlEncode) ? Escaping::kUrlEncoded : Escaping::kUrlPart;
        }
        return Escaping::kAttribute;
      }
      case Html::kScript:
        return Fail(at, "output inside <script> is not allowed");
      case Html::kRawtext:
        return Fail(at, "output inside <" + s.tag + "> is not allowed");
      case Html::kPlaintext:
        return Fail(at, "output inside <plaintext> is not allowed");
      case Html::kComment:
        return Fail(at, "output inside an HTML comment is not allowed");
      case Html::kMarkupDeclOpen:
      case Html::kBogusComment:
        return Fail(at, "output inside an HTML declaration or processing instruction is not allowed");
      case Html::kTagOpen:
      case Html::kEndTagOpen:
      case Html::kTagName:
        return Fail(at, "output inside a tag name is not allowed");
      case Html::kBeforeAttrName:
      case Html::kAttrName:
      case Html::kAfterAttrName:
      case Html::kAfterAttrValueQuoted:
      case Html::kSelfClosing:
        return Fail(at, "output in place of an attribute name is not allowed; write name=\"{{ ... }}\"");
      case Html::kBeforeAttrValue:
      case Html::kAttrValueUnquoted:
        return Fail(at, "output in an unquoted attribute value is not allowed; put the value in quotes");
    }
    return Fail(at, "output is not allowed here");
  }

  // States that behave alike from here on are made equal, so branches can be joined: after
  // an attribute (name or quoted value) the tag is simply waiting for the next attribute.
  static HtmlState Normalized(HtmlState s) {
    switch (s.state) {
      case Html::kAttrName:
      case Html::kAfterAttrName:
      case Html::kAfterAttrValueQuoted:
        s.state = Html::kBeforeAttrName;
        break;
      default:
        break;
    }
    const bool in_tag = s.state >= Html::kTagOpen && s.state <= Html::kSelfClosing;
    const bool raw = s.state == Html::kRcdata || s.state == Html::kRawtext || s.state == Html::kScript;
    const bool in_value = s.state == Html::kBeforeAttrValue || s.state == Html::kAttrValueDq ||
                          s.state == Html::kAttrValueSq || s.state == Html::kAttrValueUnquoted;
    if (!in_tag && !raw) s.tag.clear();
    if (!in_tag) s.end_tag = false;
    if (!in_value) {
      s.attr.clear();
      s.value_start = true;
    }
    if (!raw && s.state != Html::kComment && s.state != Html::kMarkupDeclOpen) s.progress = 0;
    return s;
  }

  // The state two control-flow paths lead to, or nullopt if they differ. In a URL attribute
  // a path that has written something makes the joined value "not at its start".
  static std::optional<HtmlState> Join(const HtmlState& a, const HtmlState& b) {
    HtmlState x = Normalized(a);
    HtmlState y = Normalized(b);
    const bool start = x.value_start && y.value_start;
    x.value_start = y.value_start = start;
    if (!(x == y)) return std::nullopt;
    return x;
  }

  static std::string Describe(const HtmlState& s) {
    switch (s.state) {
      case Html::kData: return "text";
      case Html::kRcdata: case Html::kRawtext: case Html::kScript: return "inside <" + s.tag + ">";
      case Html::kPlaintext: return "inside <plaintext>";
      case Html::kAttrValueDq: case Html::kAttrValueSq: case Html::kAttrValueUnquoted: case Html::kBeforeAttrValue:
        return "the value of the attribute " + Quote(s.attr);
      case Html::kComment: return "an HTML comment";
      case Html::kMarkupDeclOpen: case Html::kBogusComment: return "an HTML declaration";
      default: return "inside the tag <" + (s.end_tag ? "/" : std::string()) + s.tag + ">";
    }
  }

 private:
  std::unexpected<Error> Fail(std::size_t offset, std::string message) const {
    return std::unexpected(ErrorAt(src_, offset, std::move(message)));
  }

  static void EmitTag(HtmlState& s) {
    Html next = Html::kData;
    if (!s.end_tag) {
      const std::string& t = s.tag;
      if (t == "script") {
        next = Html::kScript;
      } else if (t == "style" || t == "xmp" || t == "iframe" || t == "noembed" || t == "noframes" || t == "noscript") {
        next = Html::kRawtext;
      } else if (t == "title" || t == "textarea") {
        next = Html::kRcdata;
      } else if (t == "plaintext") {
        next = Html::kPlaintext;
      }
    }
    s.state = next;
    s.attr.clear();
    s.value_start = true;
    s.progress = 0;
    s.end_tag = false;
    if (next == Html::kData) s.tag.clear();
  }

  void StartAttribute(HtmlState& s, char c) const {
    s.state = Html::kAttrName;
    s.attr.clear();
    AppendName(s.attr, c);
  }

  Status Step(HtmlState& s, char c, std::uint32_t at) const {
    switch (s.state) {
      case Html::kData:
        if (c == '<') s.state = Html::kTagOpen;
        return Ok();
      case Html::kPlaintext:
        return Ok();
      case Html::kRcdata:
      case Html::kRawtext:
      case Html::kScript: {
        // Looks for "</" + the element's name, then whitespace, '/' or '>'.
        const int name_end = 2 + static_cast<int>(s.tag.size());
        if (s.progress == name_end) {
          if (IsHtmlSpace(c) || c == '/' || c == '>') {
            s.end_tag = true;
            s.progress = 0;
            s.state = Html::kTagName;
            return Step(s, c, at);
          }
          s.progress = 0;
        }
        if (s.progress == 0) {
          if (c == '<') s.progress = 1;
        } else if (s.progress == 1) {
          if (s.state == Html::kScript && c == '!') {
            return Fail(at - 1, "'<!' inside <script> is not supported");
          }
          s.progress = c == '/' ? 2 : (c == '<' ? 1 : 0);
        } else if (Lower(c) == s.tag[static_cast<std::size_t>(s.progress - 2)]) {
          ++s.progress;
        } else {
          s.progress = c == '<' ? 1 : 0;
        }
        return Ok();
      }
      case Html::kTagOpen:
        if (IsAsciiAlpha(c)) {
          s.state = Html::kTagName;
          s.end_tag = false;
          s.tag.clear();
          AppendName(s.tag, c);
        } else if (c == '/') {
          s.state = Html::kEndTagOpen;
        } else if (c == '!') {
          s.state = Html::kMarkupDeclOpen;
          s.progress = 0;
        } else if (c == '?') {
          s.state = Html::kBogusComment;
        } else {
          s.state = Html::kData;
          return Step(s, c, at);
        }
        return Ok();
      case Html::kEndTagOpen:
        if (IsAsciiAlpha(c)) {
          s.state = Html::kTagName;
          s.end_tag = true;
          s.tag.clear();
          AppendName(s.tag, c);
        } else if (c == '>') {
          s.state = Html::kData;
        } else {
          s.state = Html::kBogusComment;
        }
        return Ok();
      case Html::kTagName:
        if (IsHtmlSpace(c)) {
          s.state = Html::kBeforeAttrName;
        } else if (c == '/') {
          s.state = Html::kSelfClosing;
        } else if (c == '>') {
          EmitTag(s);
        } else {
          AppendName(s.tag, c);
        }
        return Ok();
      case Html::kBeforeAttrName:
        if (IsHtmlSpace(c)) return Ok();
        if (c == '/') {
          s.state = Html::kSelfClosing;
        } else if (c == '>') {
          EmitTag(s);
        } else {
          StartAttribute(s, c);
        }
        return Ok();
      case Html::kAttrName:
        if (IsHtmlSpace(c)) {
          s.state = Html::kAfterAttrName;
        } else if (c == '/') {
          s.state = Html::kSelfClosing;
        } else if (c == '>') {
          EmitTag(s);
        } else if (c == '=') {
          s.state = Html::kBeforeAttrValue;
        } else {
          AppendName(s.attr, c);
        }
        return Ok();
      case Html::kAfterAttrName:
        if (IsHtmlSpace(c)) return Ok();
        if (c == '/') {
          s.state = Html::kSelfClosing;
        } else if (c == '=') {
          s.state = Html::kBeforeAttrValue;
        } else if (c == '>') {
          EmitTag(s);
        } else {
          StartAttribute(s, c);
        }
        return Ok();
      case Html::kBeforeAttrValue:
        if (IsHtmlSpace(c)) return Ok();
        s.value_start = true;
        if (c == '"') {
          s.state = Html::kAttrValueDq;
        } else if (c == '\'') {
          s.state = Html::kAttrValueSq;
        } else if (c == '>') {
          EmitTag(s);
        } else {
          s.state = Html::kAttrValueUnquoted;
          s.value_start = false;
        }
        return Ok();
      case Html::kAttrValueDq:
      case Html::kAttrValueSq:
        if (c == (s.state == Html::kAttrValueDq ? '"' : '\'')) {
          s.state = Html::kAfterAttrValueQuoted;
        } else if (!IsHtmlSpace(c)) {
          s.value_start = false;
        }
        return Ok();
      case Html::kAttrValueUnquoted:
        if (IsHtmlSpace(c)) {
          s.state = Html::kBeforeAttrName;
        } else if (c == '>') {
          EmitTag(s);
        }
        return Ok();
      case Html::kAfterAttrValueQuoted:
        if (IsHtmlSpace(c)) {
          s.state = Html::kBeforeAttrName;
        } else if (c == '/') {
          s.state = Html::kSelfClosing;
        } else if (c == '>') {
          EmitTag(s);
        } else {
          StartAttribute(s, c);
        }
        return Ok();
      case Html::kSelfClosing:
        if (c == '>') {
          EmitTag(s);
        } else {
          s.state = Html::kBeforeAttrName;
          return Step(s, c, at);
        }
        return Ok();
      case Html::kMarkupDeclOpen:
        // "<!--" opens a comment; anything else ("<!DOCTYPE", "<![CDATA[") reads as a bogus
        // comment up to the next '>'.
        if (c == '-' && s.progress == 0) {
          s.progress = 1;
        } else if (c == '-' && s.progress == 1) {
          s.state = Html::kComment;
          s.progress = 2;  // "<!-->" and "<!--->" close at once
        } else {
          s.state = Html::kBogusComment;
          s.progress = 0;
          return Step(s, c, at);
        }
        return Ok();
      case Html::kComment:
        if (c == '-') {
          ++s.progress;
          if (s.progress > 3) s.progress = 3;
        } else if (c == '>' && s.progress >= 2) {
          s.state = Html::kData;
          s.progress = 0;
        } else if (c == '!' && s.progress >= 2) {
          s.progress = 10;  // "--!" : a following '>' closes
        } else if (c == '>' && s.progress == 10) {
          s.state = Html::kData;
          s.progress = 0;
        } else {
          s.progress = 0;
        }
        return Ok();
      case Html::kBogusComment:
        if (c == '>') s.state = Html::kData;
        return Ok();
    }
    return Ok();
  }

  std::string_view src_;
};

// Walks the tree in execution order with the HTML state, sets every output's escaping, and
// checks that the paths through an if or a loop end in the same context.
class HtmlAnalysis {
 public:
  explicit HtmlAnalysis(std::string_view source) : src_(source), tracker_(source) {}

  Status Run(Block& body) {
    HtmlState s;
    return WalkBlock(body, s);
  }

 private:
  struct Loop {
    std::vector<HtmlState> continues;
    std::vector<HtmlState> breaks;
  };

  std::unexpected<Error> Fail(std::size_t offset, std::string message) const {
    return std::unexpected(ErrorAt(src_, offset, std::move(message)));
  }

  Result<HtmlState> JoinAll(const std::vector<HtmlState>& states, std::uint32_t at, std::string_view what) const {
    HtmlState joined = states.front();
    for (std::size_t i = 1; i < states.size(); ++i) {
      std::optional<HtmlState> j = HtmlTracker::Join(joined, states[i]);
      if (!j) {
        return Fail(at, std::string(what) + " end in different HTML contexts (" + HtmlTracker::Describe(joined) +
                            " and " + HtmlTracker::Describe(states[i]) + ")");
      }
      joined = *j;
    }
    return joined;
  }

  Status WalkBlock(Block& block, HtmlState& s) {
    for (Node& node : block) {
      TREU_RETURN_IF_ERROR(WalkNode(node, s));
    }
    return Ok();
  }

  Status WalkNode(Node& node, HtmlState& s) {
    if (auto* text = std::get_if<TextNode>(&node.v)) return tracker_.Feed(s, text->text, text->offset);
    if (auto* out = std::get_if<OutputNode>(&node.v)) {
      TREU_ASSIGN_OR_RETURN(Escaping e, tracker_.OutputEscaping(s, *out));
      out->escaping = out->raw ? Escaping::kNone : e;
      s.value_start = false;
      return Ok();
    }
    if (auto* jump = std::get_if<JumpNode>(&node.v)) {
      (jump->is_break ? loops_.back().breaks : loops_.back().continues).push_back(s);
      return Ok();
    }
    if (auto* branch = std::get_if<IfNode>(&node.v)) {
      std::vector<HtmlState> ends;
      for (IfBranch& b : branch->branches) {
        HtmlState t = s;
        TREU_RETURN_IF_ERROR(WalkBlock(b.body, t));
        ends.push_back(t);
      }
      HtmlState t = s;
      if (branch->has_else) TREU_RETURN_IF_ERROR(WalkBlock(branch->else_body, t));
      ends.push_back(t);
      TREU_ASSIGN_OR_RETURN(s, JoinAll(ends, branch->end_offset, "the branches of this block"));
      return Ok();
    }
    if (auto* loop = std::get_if<ForNode>(&node.v)) {
      // The body starts where the loop starts or where the last iteration ended; iterate to a
      // fixed point (the joins only ever clear value_start, so two rounds suffice).
      HtmlState start = s;
      Loop collected;
      for (int round = 0;; ++round) {
        loops_.emplace_back();
        HtmlState t = start;
        Status walked = WalkBlock(loop->body, t);
        Loop got = std::move(loops_.back());
        loops_.pop_back();
        TREU_RETURN_IF_ERROR(walked);
        std::vector<HtmlState> next = {start, t};
        next.insert(next.end(), got.continues.begin(), got.continues.end());
        TREU_ASSIGN_OR_RETURN(HtmlState joined, JoinAll(next, loop->end_offset, "the iterations of this loop"));
        collected = std::move(got);
        if (joined == start) break;
        if (round >= 4) return Fail(loop->end_offset, "the iterations of this loop do not settle in one HTML context");
        start = joined;
      }
      std::vector<HtmlState> ends = {start};
      ends.insert(ends.end(), collected.breaks.begin(), collected.breaks.end());
      if (loop->has_else) {
        HtmlState t = s;
        TREU_RETURN_IF_ERROR(WalkBlock(loop->else_body, t));
        ends.push_back(t);
      }
      TREU_ASSIGN_OR_RETURN(s, JoinAll(ends, loop->end_offset, "the paths through this loop"));
      return Ok();
    }
    return Ok();  // assign: no output
  }

  std::string_view src_;
  HtmlTracker tracker_;
  std::vector<Loop> loops_;
};

}  // namespace

// ============================================================================================
// Values as text, numbers, times
// ============================================================================================

namespace {

const Value kNil;

std::size_t CodePoints(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += IsContinuationByte(c) ? 0 : 1;
  return n;
}

// The byte offset where code point number `k` (0-based) starts, or s.size().
std::size_t CodePointOffset(std::string_view s, std::size_t k) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (IsContinuationByte(s[i])) continue;
    if (seen == k) return i;
    ++seen;
  }
  return s.size();
}

void AppendInteger(std::string& out, std::int64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

// Ruby's way: 3.0, 2.5, 1.0e+20, 1.5e-05.
void AppendDouble(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "NaN";
    return;
  }
  if (std::isinf(d)) {
    out += d < 0 ? "-Infinity" : "Infinity";
    return;
  }
  char buf[64];
  const double magnitude = std::fabs(d);
  if (magnitude >= 1e16 || (magnitude < 1e-4 && d != 0)) {
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    const std::string_view s(buf, static_cast<std::size_t>(p - buf));
    const std::size_t e = s.find('e');
    out.append(s.substr(0, e));
    if (s.substr(0, e).find('.') == std::string_view::npos) out += ".0";
    out.append(s.substr(e));
    return;
  }
  if (d == std::trunc(d)) {
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed, 1);
    out.append(buf, p);
    return;
  }
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  out.append(buf, p);
}

// Instants the date functions handle: years 1 to 9999.
constexpr std::int64_t kMinSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr std::int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z

bool InDateRange(Timestamp t) {
  return t.micros >= kMinSeconds * kMicrosPerSecond && t.micros <= kMaxSeconds * kMicrosPerSecond + 999'999;
}

struct Civil {
  int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  int weekday = 4;  // 0 = Sunday
  int yday = 1;     // 1..366
  std::int64_t offset = 0;  // seconds east of UTC
};

Civil ToCivil(Timestamp t, const TimeZone& zone) {
  Civil c;
  c.offset = zone.OffsetSeconds(t);
  const std::int64_t local = t.micros + c.offset * kMicrosPerSecond;
  std::int64_t days = local / kMicrosPerDay;
  if (local % kMicrosPerDay < 0) --days;
  const std::int64_t secs = (local - days * kMicrosPerDay) / kMicrosPerSecond;
  const CivilDate d = CivilFromDays(days);
  c.year = d.year;
  c.month = d.month;
  c.day = d.day;
  c.hour = static_cast<int>(secs / 3600);
  c.minute = static_cast<int>(secs / 60 % 60);
  c.second = static_cast<int>(secs % 60);
  c.weekday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  c.yday = static_cast<int>(days - DaysFromCivil(CivilDate{d.year, 1, 1}) + 1);
  return c;
}

constexpr std::string_view kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                        "July",    "August",   "September", "October", "November", "December"};
constexpr std::string_view kWeekdays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

void AppendPadded(std::string& out, std::int64_t v, int width, char pad) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v < 0 ? -v : v);
  if (v < 0) out += '-';
  for (int n = static_cast<int>(p - buf); n < width; ++n) out += pad;
  out.append(buf, p);
}

// strftime for the directives in kDateDirectives; '-' after '%' drops the padding. Unknown
// directives are written as they are. Returns false when `out` would pass `limit` bytes.
bool AppendStrftime(std::string& out, std::string_view format, Timestamp t, const TimeZone& zone, std::size_t limit) {
  const Civil c = ToCivil(t, zone);
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (out.size() > limit) return false;
    if (format[i] != '%' || i + 1 >= format.size()) {
      out += format[i];
      continue;
    }
    std::size_t j = i + 1;
    const bool no_pad = format[j] == '-';
    if (no_pad) {
      ++j;
      if (j >= format.size()) {
        out.append(format.substr(i));
        break;
      }
    }
    auto num = [&](std::int64_t v, int width, char pad = '0') { AppendPadded(out, v, no_pad ? 0 : width, pad); };
    const int hour12 = c.hour % 12 == 0 ? 12 : c.hour % 12;
    switch (format[j]) {
      case 'Y': num(c.year, 4); break;
      case 'y': num(c.year % 100, 2); break;
      case 'm': num(c.month, 2); break;
      case 'd': num(c.day, 2); break;
      case 'e': num(c.day, 2, ' '); break;
      case 'H': num(c.hour, 2); break;
      case 'I': num(hour12, 2); break;
      case 'l': num(hour12, 2, ' '); break;
      case 'M': num(c.minute, 2); break;
      case 'S': num(c.second, 2); break;
      case 'j': num(c.yday, 3); break;
      case 'u': num(c.weekday == 0 ? 7 : c.weekday, 1); break;
      case 'w': num(c.weekday, 1); break;
      case 'p': out += c.hour < 12 ? "AM" : "PM"; break;
      case 'P': out += c.hour < 12 ? "am" : "pm"; break;
      case 'b': case 'h': out += kMonths[c.month - 1].substr(0, 3); break;
      case 'B': out += kMonths[c.month - 1]; break;
      case 'a': out += kWeekdays[c.weekday].substr(0, 3); break;
      case 'A': out += kWeekdays[c.weekday]; break;
      case 's': AppendInteger(out, t.micros / kMicrosPerSecond - (t.micros % kMicrosPerSecond < 0 ? 1 : 0)); break;
      case 'z': {
        const std::int64_t off = c.offset < 0 ? -c.offset : c.offset;
        out += c.offset < 0 ? '-' : '+';
        AppendPadded(out, off / 3600, 2, '0');
        AppendPadded(out, off / 60 % 60, 2, '0');
        break;
      }
      case 'Z': out += zone.Abbreviation(t); break;
      case 'F':
        AppendPadded(out, c.year, 4, '0');
        out += '-';
        AppendPadded(out, c.month, 2, '0');
        out += '-';
        AppendPadded(out, c.day, 2, '0');
        break;
      case 'T': case 'R':
        AppendPadded(out, c.hour, 2, '0');
        out += ':';
        AppendPadded(out, c.minute, 2, '0');
        if (format[j] == 'T') {
          out += ':';
          AppendPadded(out, c.second, 2, '0');
        }
        break;
      case 'D':
        AppendPadded(out, c.month, 2, '0');
        out += '/';
        AppendPadded(out, c.day, 2, '0');
        out += '/';
        AppendPadded(out, c.year % 100, 2, '0');
        break;
      case '%': out += '%'; break;
      default: out.append(format.substr(i, j + 1 - i)); break;
    }
    i = j;
  }
  return out.size() <= limit;
}

// Writes `v` as text to `out`: nil is empty, arrays are their elements' text run together,
// objects are empty, times are "2024-03-01 13:00:00 +0100" in the context's zone.
void AppendText(std::string& out, const Value& v, const TimeZone& zone) {
  switch (v.kind()) {
    case Value::Kind::kNull:
    case Value::Kind::kObject:
      return;
    case Value::Kind::kBool:
      out += v.as_bool() ? "true" : "false";
      return;
    case Value::Kind::kInteger:
      AppendInteger(out, v.as_integer());
      return;
    case Value::Kind::kDouble:
      AppendDouble(out, v.as_double());
      return;
    case Value::Kind::kString:
      out += v.as_string();
      return;
    case Value::Kind::kTime:
      if (InDateRange(v.as_time())) AppendStrftime(out, "%Y-%m-%d %H:%M:%S %z", v.as_time(), zone, kMaxOutputBytes);
      return;
    case Value::Kind::kArray:
      for (const Value& e : v.as_array()) {
        if (out.size() > kMaxOutputBytes) return;
        AppendText(out, e, zone);
      }
      return;
  }
}

// The text of `v`: a view of the string itself, or of `buf` filled by AppendText.
std::string_view TextOf(const Value& v, std::string& buf, const TimeZone& zone) {
  if (v.kind() == Value::Kind::kString) return v.as_string();
  buf.clear();
  AppendText(buf, v, zone);
  return buf;
}

struct Number {
  bool is_int = true;
  std::int64_t i = 0;
  double d = 0;
  double AsDouble() const { return is_int ? static_cast<double>(i) : d; }
};

// Liquid's to_number: integers and doubles as they are, numeric strings parsed, else 0.
Number ToNumber(const Value& v) {
  Number n;
  switch (v.kind()) {
    case Value::Kind::kInteger:
      n.i = v.as_integer();
      return n;
    case Value::Kind::kDouble:
      n.is_int = false;
      n.d = v.as_double();
      return n;
    case Value::Kind::kString: {
      std::string_view s = v.as_string();
      while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
      while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
      std::int64_t i = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
      if (ec == std::errc() && p == s.data() + s.size()) {
        n.i = i;
        return n;
      }
      double d = 0;
      auto [q, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (ec2 == std::errc() && q == s.data() + s.size() && std::isfinite(d)) {
        n.is_int = false;
        n.d = d;
      }
      return n;
    }
    default:
      return n;
  }
}

// An integer from a number (doubles truncated toward zero and clamped).
std::int64_t ToInteger(const Value& v) {
  const Number n = ToNumber(v);
  if (n.is_int) return n.i;
  if (!(n.d == n.d)) return 0;
  if (n.d >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
  if (n.d <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(n.d);
}

bool IsNumber(const Value& v) { return v.kind() == Value::Kind::kInteger || v.kind() == Value::Kind::kDouble; }

bool Truthy(const Value& v) { return !(v.is_null() || (v.kind() == Value::Kind::kBool && !v.as_bool())); }

// Liquid's empty?: an empty string, array or object.
bool IsEmptyValue(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kString: return v.as_string().empty();
    case Value::Kind::kArray: return v.as_array().empty();
    case Value::Kind::kObject: return v.as_object().empty();
    default: return false;
  }
}

// Liquid's blank?: nil, false, empty, or a string of whitespace only.
bool IsBlankValue(const Value& v) {
  if (!Truthy(v) || IsEmptyValue(v)) return true;
  if (v.kind() != Value::Kind::kString) return false;
  for (char c : v.as_string()) {
    if (!IsSpace(c)) return false;
  }
  return true;
}

bool LiquidEqual(const Value& a, const Value& b) {
  if (IsNumber(a) && IsNumber(b)) {
    if (a.kind() == Value::Kind::kInteger && b.kind() == Value::Kind::kInteger) return a.as_integer() == b.as_integer();
    return ToNumber(a).AsDouble() == ToNumber(b).AsDouble();
  }
  if (a.kind() != b.kind()) return false;
  if (a.kind() == Value::Kind::kArray) {
    const auto& x = a.as_array();
    const auto& y = b.as_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!LiquidEqual(x[i], y[i])) return false;
    }
    return true;
  }
  return a == b;
}

// -1, 0, 1, or nullopt when the two cannot be ordered.
std::optional<int> LiquidOrder(const Value& a, const Value& b) {
  auto sign = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  if (IsNumber(a) && IsNumber(b)) {
    if (a.kind() == Value::Kind::kInteger && b.kind() == Value::Kind::kInteger) return sign(a.as_integer(), b.as_integer());
    const double x = ToNumber(a).AsDouble(), y = ToNumber(b).AsDouble();
    if (x != x || y != y) return std::nullopt;
    return sign(x, y);
  }
  if (a.kind() == Value::Kind::kString && b.kind() == Value::Kind::kString) {
    const int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.kind() == Value::Kind::kTime && b.kind() == Value::Kind::kTime) return sign(a.as_time(), b.as_time());
  return std::nullopt;
}

// Unicode case mapping through ICU; ASCII text takes a fast path.
enum class CaseMap { kUpper, kLower, kCapitalize };

std::string MapCase(std::string_view text, CaseMap map) {
  const bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    std::string out(text);
    for (std::size_t i = 0; i < out.size(); ++i) {
      char& c = out[i];
      const bool upper = map == CaseMap::kUpper || (map == CaseMap::kCapitalize && i == 0);
      if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
  }
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  const icu::Locale& root = icu::Locale::getRoot();
  if (map == CaseMap::kUpper) {
    u.toUpper(root);
  } else if (map == CaseMap::kLower) {
    u.toLower(root);
  } else if (!u.isEmpty()) {
    const int32_t first_end = u.moveIndex32(0, 1);
    icu::UnicodeString first(u, 0, first_end);
    icu::UnicodeString rest(u, first_end);
    first.toTitle(nullptr, root, U_TITLECASE_NO_LOWERCASE | U_TITLECASE_NO_BREAK_ADJUSTMENT);
    rest.toLower(root);
    u = first + rest;
  }
  std::string out;
  u.toUTF8String(out);
  return out;
}

// A plain decimal ("-12", "3.50") for ICU, or nullopt if `v` is no number.
std::optional<std::string> DecimalText(const Value& v) {
  char buf[400];
  switch (v.kind()) {
    case Value::Kind::kInteger: {
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v.as_integer());
      return std::string(buf, p);
    }
    case Value::Kind::kDouble: {
      if (!std::isfinite(v.as_double())) return std::nullopt;
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v.as_double(), std::chars_format::fixed);
      if (ec != std::errc()) return std::nullopt;
      return std::string(buf, p);
    }
    case Value::Kind::kString: {
      std::string_view s = v.as_string();
      while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
      while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
      std::size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
      const std::size_t int_start = i;
      while (i < s.size() && IsDigit(s[i])) ++i;
      if (i == int_start || i - int_start > 30) return std::nullopt;
      if (i < s.size() && s[i] == '.') {
        const std::size_t frac_start = ++i;
        while (i < s.size() && IsDigit(s[i])) ++i;
        if (i == frac_start || i - frac_start > 30) return std::nullopt;
      }
      if (i != s.size()) return std::nullopt;
      return std::string(s);
    }
    default:
      return std::nullopt;
  }
}

// A time from a time value, Unix seconds, "now"/"today" or ISO 8601 text.
std::optional<Timestamp> ToTime(const Value& v, const RenderContext& ctx) {
  switch (v.kind()) {
    case Value::Kind::kTime:
      return InDateRange(v.as_time()) ? std::optional(v.as_time()) : std::nullopt;
    case Value::Kind::kInteger:
      if (v.as_integer() < kMinSeconds || v.as_integer() > kMaxSeconds) return std::nullopt;
      return Timestamp::FromSeconds(v.as_integer());
    case Value::Kind::kDouble: {
      const double d = v.as_double();
      if (!(d >= static_cast<double>(kMinSeconds) && d <= static_cast<double>(kMaxSeconds))) return std::nullopt;
      return Timestamp{static_cast<std::int64_t>(std::floor(d * 1e6))};
    }
    case Value::Kind::kString: {
      const std::string& s = v.as_string();
      if (s == "now" || s == "today") return InDateRange(ctx.now()) ? std::optional(ctx.now()) : std::nullopt;
      if (s.size() > 64) return std::nullopt;
      std::int64_t secs = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
      if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) {
        if (secs < kMinSeconds || secs > kMaxSeconds) return std::nullopt;
        return Timestamp::FromSeconds(secs);
      }
      auto parsed = ParseTimestamp(s, ctx.time_zone());
      if (!parsed || !InDateRange(*parsed)) return std::nullopt;
      return *parsed;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

// ============================================================================================
// Renderer
// ============================================================================================

namespace {

class Renderer {
 public:
  Renderer(const Template::Program& program, const Value& data, const RenderContext& ctx, std::string& out)
      : program_(program), data_(data), ctx_(ctx), out_(out) {}

  Status Run() {
    start_size_ = out_.size();
    Slot inline_slots[8];
    std::vector<Slot> heap_slots;
    if (program_.slot_count <= 8) {
      slots_ = inline_slots;
    } else {
      heap_slots.resize(static_cast<std::size_t>(program_.slot_count));
      slots_ = heap_slots.data();
    }
    RenderBlock(program_.body);
    slots_ = nullptr;
    if (error_) return std::unexpected(*error_);
    return Ok();
  }

 private:
  // A variable the template sets: loop variables point at the element (or at `local`),
  // assigned ones own their value (shared, so a loop over it survives reassignment).
  struct Slot {
    const Value* ref = nullptr;
    std::shared_ptr<const Value> owned;
    Value local;
  };
  struct LoopFrame {
    std::int64_t index0 = 0;
    std::int64_t length = 0;
  };
  enum class Flow : std::uint8_t { kNormal, kBreak, kContinue, kStop };

  void Stop(std::string detail) {
    if (!error_) error_ = ResourceExhausted(std::move(detail)).error();
    flow_ = Flow::kStop;
  }

  bool Spend(std::size_t bytes) {
    work_ += static_cast<std::int64_t>(bytes) + 1;
    if (work_ > kMaxWorkBytes) {
      Stop("the template did more than " + std::to_string(kMaxWorkBytes >> 20) + " MiB of string work");
      return false;
    }
    return true;
  }

  bool CheckSize(std::size_t size) {
    if (size > kMaxOutputBytes) {
      Stop("a value or the output grew beyond " + std::to_string(kMaxOutputBytes >> 20) + " MiB");
      return false;
    }
    return true;
  }

  void RenderBlock(const Block& block) {
    for (const Node& node : block) {
      RenderNode(node);
      if (flow_ != Flow::kNormal) return;
    }
  }

  bool Step() {
    if (++steps_ > kMaxRenderSteps) {
      Stop("the template took more than " + std::to_string(kMaxRenderSteps) + " steps");
      return false;
    }
    return true;
  }

  void RenderNode(const Node& node) {
    if (!Step()) return;
    switch (node.v.index()) {
      case 0: {
        out_ += std::get<TextNode>(node.v).text;
        CheckSize(out_.size() - start_size_);
        return;
      }
      case 1: {
        const OutputNode& o = std::get<OutputNode>(node.v);
        Value a, b;
        const Value& v = EvalPipeline(o.pipeline, a, b);
        if (flow_ == Flow::kStop) return;
        Write(v, o.escaping);
        CheckSize(out_.size() - start_size_);
        return;
      }
      case 2: {
        const IfNode& n = std::get<IfNode>(node.v);
        for (const IfBranch& branch : n.branches) {
          const bool hit = Test(branch.condition) != branch.negate;
          if (flow_ == Flow::kStop) return;
          if (hit) {
            RenderBlock(branch.body);
            return;
          }
        }
        if (n.has_else) RenderBlock(n.else_body);
        return;
      }
      case 3:
        RenderFor(std::get<ForNode>(node.v));
        return;
      case 4: {
        const AssignNode& n = std::get<AssignNode>(node.v);
        Value a, b;
        const Value& v = EvalPipeline(n.pipeline, a, b);
        if (flow_ == Flow::kStop) return;
        auto owned = std::make_shared<const Value>(v);  // a copy first: v may point into the slot
        Slot& slot = slots_[n.slot];
        slot.ref = owned.get();
        slot.owned = std::move(owned);
        return;
      }
      case 5:
        flow_ = std::get<JumpNode>(node.v).is_break ? Flow::kBreak : Flow::kContinue;
        return;
    }
  }

  void RenderFor(const ForNode& n) {
    Value scratch;
    const Value* collection = nullptr;
    std::shared_ptr<const Value> keep;  // an assigned collection stays alive if reassigned
    std::int64_t range_start = 0;
    std::int64_t count = 0;
    if (n.collection.kind == ExprKind::kRange) {
      Value s1, s2;
      range_start = ToInteger(Eval(*n.collection.from, s1));
      const std::int64_t range_end = ToInteger(Eval(*n.collection.to, s2));
      if (range_end >= range_start) {
        // Saturating: the iteration limit ends any range long before it matters.
        const double span = static_cast<double>(range_end) - static_cast<double>(range_start) + 1;
        count = span > 1e15 ? static_cast<std::int64_t>(1e15) : range_end - range_start + 1;
      }
    } else {
      if (n.collection.kind == ExprKind::kPath && n.collection.root_kind == RootKind::kAssigned) {
        keep = slots_[n.collection.slot].owned;
      }
      collection = &Eval(n.collection, scratch);
      switch (collection->kind()) {
        case Value::Kind::kArray: count = static_cast<std::int64_t>(collection->as_array().size()); break;
        case Value::Kind::kObject: count = static_cast<std::int64_t>(collection->as_object().size()); break;
        case Value::Kind::kString: count = collection->as_string().empty() ? 0 : 1; break;
        default: count = 0; break;
      }
    }
    std::int64_t skip = 0;
    std::int64_t limit = count;
    if (n.skip) {
      Value s;
      skip = std::max<std::int64_t>(0, ToInteger(Eval(*n.skip, s)));
    }
    if (n.limit) {
      Value s;
      const Value& l = Eval(*n.limit, s);
      if (!l.is_null()) limit = std::max<std::int64_t>(0, ToInteger(l));
    }
    const std::int64_t begin = std::min(skip, count);
    const std::int64_t length = std::min(count - begin, limit);
    if (length <= 0) {
      if (n.has_else) RenderBlock(n.else_body);
      return;
    }
    Slot& slot = slots_[n.slot];
    LoopFrame& frame = frames_[n.depth];
    frame.length = length;
    for (std::int64_t k = 0; k < length; ++k) {
      if (++iterations_ > kMaxLoopIterations) {
        Stop("the template ran more than " + std::to_string(kMaxLoopIterations) + " loop iterations");
        return;
      }
      const std::int64_t index = begin + (n.reversed ? length - 1 - k : k);
      if (collection == nullptr) {
        slot.local = Value(range_start + index);
        slot.ref = &slot.local;
      } else if (collection->kind() == Value::Kind::kArray) {
        slot.ref = &collection->as_array()[static_cast<std::size_t>(index)];
      } else if (collection->kind() == Value::Kind::kObject) {
        const Value::Member& m = collection->as_object()[static_cast<std::size_t>(index)];
        slot.local = Value::MakeArray({Value(m.key), m.value});
        slot.ref = &slot.local;
      } else {
        slot.ref = collection;
      }
      frame.index0 = k;
      RenderBlock(n.body);
      if (flow_ == Flow::kStop) return;
      if (flow_ == Flow::kBreak) {
        flow_ = Flow::kNormal;
        break;
      }
      flow_ = Flow::kNormal;
    }
    slot.ref = nullptr;
  }

  // ---- expressions ----

  const Value* Root(const Expr& e) const {
    switch (e.root_kind) {
      case RootKind::kData: return data_.Find(e.root);
      case RootKind::kLoop: return slots_[e.slot].ref;
      case RootKind::kAssigned: {
        const Value* v = slots_[e.slot].ref;
        return v != nullptr ? v : data_.Find(e.root);
      }
    }
    return nullptr;
  }

  // size, first and last of an array, string or object without such a member.
  const Value* Pseudo(const Value& v, std::string_view name, Value& scratch) {
    if (name == "size") {
      std::int64_t size = 0;
      switch (v.kind()) {
        case Value::Kind::kArray: size = static_cast<std::int64_t>(v.as_array().size()); break;
        case Value::Kind::kObject: size = static_cast<std::int64_t>(v.as_object().size()); break;
        case Value::Kind::kString: size = static_cast<std::int64_t>(CodePoints(v.as_string())); break;
        default: return nullptr;
      }
      Spend(v.kind() == Value::Kind::kString ? v.as_string().size() : 0);
      scratch = Value(size);
      return &scratch;
    }
    if (v.kind() == Value::Kind::kArray && !v.as_array().empty()) {
      return name == "first" ? &v.as_array().front() : &v.as_array().back();
    }
    return nullptr;
  }

  static const Value* Index(const Value& v, std::int64_t index) {
    if (v.kind() != Value::Kind::kArray) return nullptr;
    const auto& a = v.as_array();
    const auto size = static_cast<std::int64_t>(a.size());
    if (index < 0) index += size;
    if (index < 0 || index >= size) return nullptr;
    return &a[static_cast<std::size_t>(index)];
  }

  const Value& Eval(const Expr& e, Value& scratch) {
    switch (e.kind) {
      case ExprKind::kLiteral:
        return e.literal;
      case ExprKind::kRange:
        return kNil;
      case ExprKind::kForloop: {
        const LoopFrame& f = frames_[e.loop_depth];
        switch (e.field) {
          case ForloopField::kIndex: scratch = Value(f.index0 + 1); break;
          case ForloopField::kIndex0: scratch = Value(f.index0); break;
          case ForloopField::kRindex: scratch = Value(f.length - f.index0); break;
          case ForloopField::kRindex0: scratch = Value(f.length - f.index0 - 1); break;
          case ForloopField::kFirst: scratch = Value(f.index0 == 0); break;
          case ForloopField::kLast: scratch = Value(f.index0 == f.length - 1); break;
          case ForloopField::kLength: scratch = Value(f.length); break;
        }
        return scratch;
      }
      case ExprKind::kPath:
        break;
    }
    const Value* v = Root(e);
    for (const Segment& s : e.segments) {
      if (v == nullptr) break;
      switch (s.kind) {
        case SegmentKind::kKey: {
          const Value* found = v->Find(s.key);
          v = (found == nullptr && s.pseudo) ? Pseudo(*v, s.key, scratch) : found;
          break;
        }
        case SegmentKind::kIndex:
          v = Index(*v, s.index);
          break;
        case SegmentKind::kDynamic: {
          Value key_scratch;
          const Value& key = Eval(*s.dynamic, key_scratch);
          if (key.kind() == Value::Kind::kInteger) {
            v = Index(*v, key.as_integer());
          } else if (key.kind() == Value::Kind::kString) {
            v = v->Find(key.as_string());
          } else {
            v = nullptr;
          }
          break;
        }
      }
    }
    return v != nullptr ? *v : kNil;
  }

  bool Compare(const Comparison& c) {
    if (!Step()) return false;
    Value sa, sb;
    const Value& a = Eval(c.left, sa);
    if (c.op == CmpOp::kTruthy) return Truthy(a);
    const Value& b = Eval(c.right, sb);
    const auto size_of = [](const Value& v) { return v.kind() == Value::Kind::kString ? v.as_string().size() : 0; };
    if (!Spend(size_of(a) + size_of(b))) return false;
    if (c.op == CmpOp::kEq || c.op == CmpOp::kNe) {
      bool equal;
      if (c.left.special != Special::kNone || c.right.special != Special::kNone) {
        const bool blank = c.left.special == Special::kBlank || c.right.special == Special::kBlank;
        const Value& other = c.left.special != Special::kNone ? b : a;
        const bool both = c.left.special != Special::kNone && c.right.special != Special::kNone;
        equal = both ? c.left.special == c.right.special : (blank ? IsBlankValue(other) : IsEmptyValue(other));
      } else {
        equal = LiquidEqual(a, b);
      }
      return (c.op == CmpOp::kEq) == equal;
    }
    if (c.op == CmpOp::kContains) {
      if (a.kind() == Value::Kind::kString) {
        if (b.kind() != Value::Kind::kString && !IsNumber(b)) return false;
        std::string buf;
        return a.as_string().find(TextOf(b, buf, ctx_.time_zone())) != std::string::npos;
      }
      if (a.kind() == Value::Kind::kArray) {
        if (!Spend(a.as_array().size())) return false;
        for (const Value& e : a.as_array()) {
          if (LiquidEqual(e, b)) return true;
        }
        return false;
      }
      if (a.kind() == Value::Kind::kObject && b.kind() == Value::Kind::kString) return a.Find(b.as_string()) != nullptr;
      return false;
    }
    const std::optional<int> order = LiquidOrder(a, b);
    if (!order) return false;
    switch (c.op) {
      case CmpOp::kLt: return *order < 0;
      case CmpOp::kGt: return *order > 0;
      case CmpOp::kLe: return *order <= 0;
      case CmpOp::kGe: return *order >= 0;
      default: return false;
    }
  }

  // Liquid reads and/or from right to left: `a or b and c` is `a or (b and c)`, and
  // `a and b or c` is `a and (b or c)`.
  bool Test(const Condition& c) {
    bool result = Compare(c.terms.back());
    for (std::size_t i = c.terms.size() - 1; i-- > 0;) {
      const bool left = Compare(c.terms[i]);
      result = c.is_and[i] ? (left && result) : (left || result);
    }
    return result;
  }

  // Evaluates the input and filters, using `a` and `b` in turn for the results.
  const Value& EvalPipeline(const Pipeline& p, Value& a, Value& b) {
    const Value* cur = &Eval(p.input, a);
    Value* next = &b;
    for (const FilterCall& f : p.filters) {
      if (f.id == FilterId::kIdentity || f.id == FilterId::kRaw) continue;
      Value result;
      ApplyFilter(f, *cur, result);
      if (flow_ == Flow::kStop) return kNil;
      *next = std::move(result);
      cur = next;
      next = (next == &b) ? &a : &b;
    }
    return *cur;
  }

  static std::size_t SizeOf(const Value& v) {
    switch (v.kind()) {
      case Value::Kind::kString: return v.as_string().size();
      case Value::Kind::kArray: return v.as_array().size();
      default: return 0;
    }
  }

  // Sets `out` to a string result, checking its size.
  void SetString(Value& out, std::string s) {
    if (!CheckSize(s.size()) || !Spend(s.size())) return;
    out = Value(std::move(s));
  }

  void ApplyFilter(const FilterCall& f, const Value& in, Value& out) {
    if (!Step() || !Spend(SizeOf(in))) return;
    Value s0, s1;
    const Value& arg0 = f.args.size() > 0 ? Eval(f.args[0], s0) : kNil;
    const Value& arg1 = f.args.size() > 1 ? Eval(f.args[1], s1) : kNil;
    const TimeZone& zone = ctx_.time_zone();
    std::string buf, buf2;
    switch (f.id) {
      case FilterId::kIdentity:
      case FilterId::kRaw:
        out = in;
        return;
      case FilterId::kDefault:
        out = (!Truthy(in) || IsEmptyValue(in)) ? arg0 : in;
        return;
      case FilterId::kUpcase:
        SetString(out, MapCase(TextOf(in, buf, zone), CaseMap::kUpper));
        return;
      case FilterId::kDowncase:
        SetString(out, MapCase(TextOf(in, buf, zone), CaseMap::kLower));
        return;
      case FilterId::kCapitalize:
        SetString(out, MapCase(TextOf(in, buf, zone), CaseMap::kCapitalize));
        return;
      case FilterId::kTruncate: {
        const std::string_view text = TextOf(in, buf, zone);
        const std::int64_t length = f.args.size() > 0 ? ToInteger(arg0) : 50;
        const std::string_view ellipsis = f.args.size() > 1 ? TextOf(arg1, buf2, zone) : std::string_view("...");
        const auto cps = static_cast<std::int64_t>(CodePoints(text));
        if (cps <= length) {
          SetString(out, std::string(text));
          return;
        }
        const std::int64_t keep = std::max<std::int64_t>(0, length - static_cast<std::int64_t>(CodePoints(ellipsis)));
        std::string r(text.substr(0, CodePointOffset(text, static_cast<std::size_t>(keep))));
        r += ellipsis;
        SetString(out, std::move(r));
        return;
      }
      case FilterId::kDate: {
        const std::optional<Timestamp> t = ToTime(in, ctx_);
        const std::string_view format = TextOf(arg0, buf, zone);
        if (!t || format.empty()) {
          out = in;
          return;
        }
        std::string r;
        if (!AppendStrftime(r, format, *t, zone, kMaxOutputBytes)) {
          CheckSize(r.size() + kMaxOutputBytes);
          return;
        }
        SetString(out, std::move(r));
        return;
      }
      case FilterId::kMoney: {
        const std::optional<std::string> decimal = DecimalText(in);
        if (!decimal) {
          out = in.is_null() ? Value() : in;
          return;
        }
        if (f.args.empty()) {
          SetString(out, FormatMoney(ctx_.money_format(), *decimal));
          return;
        }
        auto currency = Currency::FromCode(TextOf(arg0, buf, zone));
        auto locale = ParseLocale(ctx_.locale());
        if (!currency || !locale) {
          SetString(out, *decimal);
          return;
        }
        auto format = MakeMoneyFormat(*locale, *currency);
        SetString(out, format ? FormatMoney(**format, *decimal) : *decimal);
        return;
      }
      case FilterId::kEscape:
        SetString(out, EscapeHtml(TextOf(in, buf, zone)));
        return;
      case FilterId::kUrlEncode:
        SetString(out, UrlEncode(TextOf(in, buf, zone)));
        return;
      case FilterId::kSize:
        switch (in.kind()) {
          case Value::Kind::kString: out = Value(static_cast<std::int64_t>(CodePoints(in.as_string()))); return;
          case Value::Kind::kArray: out = Value(static_cast<std::int64_t>(in.as_array().size())); return;
          case Value::Kind::kObject: out = Value(static_cast<std::int64_t>(in.as_object().size())); return;
          default: out = Value(0); return;
        }
      case FilterId::kAppend:
      case FilterId::kPrepend: {
        const std::string_view x = TextOf(in, buf, zone);
        const std::string_view y = TextOf(arg0, buf2, zone);
        if (!CheckSize(x.size() + y.size())) return;
        std::string r;
        r.reserve(x.size() + y.size());
        r += f.id == FilterId::kAppend ? x : y;
        r += f.id == FilterId::kAppend ? y : x;
        SetString(out, std::move(r));
        return;
      }
      case FilterId::kReplace: {
        const std::string_view text = TextOf(in, buf, zone);
        const std::string_view from = TextOf(arg0, buf2, zone);
        std::string to_buf;
        const std::string_view to = TextOf(arg1, to_buf, zone);
        if (from.empty()) {
          SetString(out, std::string(text));
          return;
        }
        std::string r;
        std::size_t at = 0;
        while (true) {
          const std::size_t hit = text.find(from, at);
          if (hit == std::string_view::npos) break;
          r.append(text.substr(at, hit - at));
          r.append(to);
          if (!CheckSize(r.size())) return;
          at = hit + from.size();
        }
        r.append(text.substr(at));
        SetString(out, std::move(r));
        return;
      }
      case FilterId::kStrip: {
        std::string_view text = TextOf(in, buf, zone);
        while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
        while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
        SetString(out, std::string(text));
        return;
      }
      case FilterId::kPlus:
      case FilterId::kMinus:
      case FilterId::kTimes:
      case FilterId::kDividedBy:
        out = Arithmetic(f.id, ToNumber(in), ToNumber(arg0));
        return;
      case FilterId::kRound:
        out = Round(ToNumber(in), f.args.empty() ? 0 : ToInteger(arg0));
        return;
      case FilterId::kFirst:
      case FilterId::kLast: {
        const bool first = f.id == FilterId::kFirst;
        if (in.kind() == Value::Kind::kArray) {
          const auto& a = in.as_array();
          out = a.empty() ? Value() : (first ? a.front() : a.back());
        } else if (in.kind() == Value::Kind::kString && !in.as_string().empty()) {
          const std::string& s = in.as_string();
          const std::size_t cps = CodePoints(s);
          const std::size_t begin = first ? 0 : CodePointOffset(s, cps - 1);
          const std::size_t end = first ? CodePointOffset(s, 1) : s.size();
          out = Value(s.substr(begin, end - begin));
        } else {
          out = Value();
        }
        return;
      }
      case FilterId::kJoin: {
        if (in.kind() != Value::Kind::kArray) {
          SetString(out, std::string(TextOf(in, buf, zone)));
          return;
        }
        const std::string_view sep = f.args.empty() ? std::string_view(" ") : TextOf(arg0, buf2, zone);
        std::string r;
        bool first = true;
        for (const Value& e : in.as_array()) {
          if (!first) r += sep;
          first = false;
          AppendText(r, e, zone);
          if (!CheckSize(r.size())) return;
        }
        SetString(out, std::move(r));
        return;
      }
    }
  }

  static Value Arithmetic(FilterId op, Number x, Number y) {
    if (x.is_int && y.is_int) {
      std::int64_t r = 0;
      switch (op) {
        case FilterId::kPlus:
          if (!__builtin_add_overflow(x.i, y.i, &r)) return Value(r);
          break;
        case FilterId::kMinus:
          if (!__builtin_sub_overflow(x.i, y.i, &r)) return Value(r);
          break;
        case FilterId::kTimes:
          if (!__builtin_mul_overflow(x.i, y.i, &r)) return Value(r);
          break;
        default:  // divided_by: floor division, as Ruby
          if (y.i == 0) return Value();
          if (x.i == std::numeric_limits<std::int64_t>::min() && y.i == -1) break;
          r = x.i / y.i;
          if ((x.i % y.i != 0) && ((x.i < 0) != (y.i < 0))) --r;
          return Value(r);
      }
    }
    const double a = x.AsDouble(), b = y.AsDouble();
    switch (op) {
      case FilterId::kPlus: return Value(a + b);
      case FilterId::kMinus: return Value(a - b);
      case FilterId::kTimes: return Value(a * b);
      default: return b == 0 ? Value() : Value(a / b);
    }
  }

  static Value Round(Number x, std::int64_t digits) {
    digits = std::clamp<std::int64_t>(digits, -15, 15);
    if (x.is_int && digits >= 0) return Value(x.i);
    const double p = std::pow(10.0, static_cast<double>(digits));
    const double r = std::round(x.AsDouble() * p) / p;
    if (digits <= 0) {
      if (std::isfinite(r) && std::fabs(r) < 9e18) return Value(static_cast<std::int64_t>(r));
      return Value(r);
    }
    return Value(r);
  }

  void Write(const Value& v, Escaping escaping) {
    std::string buf;
    const std::string_view text = TextOf(v, buf, ctx_.time_zone());
    if (!CheckSize(out_.size() - start_size_ + text.size())) return;
    switch (escaping) {
      case Escaping::kNone:
        out_ += text;
        return;
      case Escaping::kHtml:
        AppendEscapedHtml(out_, text);
        return;
      case Escaping::kAttribute:
      case Escaping::kUrlEncoded:
        AppendEscapedAttribute(out_, text);
        return;
      case Escaping::kUrl:
        if (IsSafeUrl(text)) {
          AppendEscapedAttribute(out_, text);
        } else {
          out_ += kInvalidUrl;
        }
        return;
      case Escaping::kUrlPart:
        AppendUrlEncoded(out_, text);
        return;
    }
  }

  const Template::Program& program_;
  const Value& data_;
  const RenderContext& ctx_;
  std::string& out_;
  std::size_t start_size_ = 0;
  Slot* slots_ = nullptr;
  std::array<LoopFrame, kMaxBlockDepth + 1> frames_{};
  Flow flow_ = Flow::kNormal;
  std::int64_t iterations_ = 0;
  std::int64_t steps_ = 0;
  std::int64_t work_ = 0;
  std::optional<Error> error_;
};

}  // namespace

// ============================================================================================
// Template
// ============================================================================================

Result<Template> Template::Parse(std::string_view source, Mode mode) {
  if (source.size() > kMaxTemplateBytes) {
    return InvalidArgument(std::string(kContextPrefix), "the template is larger than " +
                                                            std::to_string(kMaxTemplateBytes / 1024) + " KiB");
  }
  if (const std::size_t bad = FindInvalidUtf8(source); bad != std::string_view::npos) {
    return std::unexpected(ErrorAt(source, bad, "invalid UTF-8"));
  }
  auto program = std::make_shared<Program>();
  program->source = std::string(source);
  program->mode = mode;
  const std::string_view src = program->source;
  TREU_ASSIGN_OR_RETURN(std::vector<Token> tokens, TemplateLexer(src).Run());
  Parser parser(src, mode, std::move(tokens));
  TREU_ASSIGN_OR_RETURN(program->body, parser.Run());
  if (mode == Mode::kHtml) TREU_RETURN_IF_ERROR(HtmlAnalysis(src).Run(program->body));
  program->slot_count = parser.slot_count();
  program->variables = parser.TakeVariables();
  return Template(std::move(program));
}

Status Template::RenderTo(const Value& data, const RenderContext& ctx, std::string& out) const {
  return Renderer(*program_, data, ctx, out).Run();
}

Result<std::string> Template::Render(const Value& data, const RenderContext& ctx) const {
  std::string out;
  out.reserve(program_->source.size() + 64);
  TREU_RETURN_IF_ERROR(RenderTo(data, ctx, out));
  return out;
}

const std::vector<VariableUse>& Template::Variables() const { return program_->variables; }

Mode Template::mode() const { return program_->mode; }

}  // namespace treu::messaging
