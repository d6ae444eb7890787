#include "segments/binder.hpp"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>
#include <vector>

#include "segments/fields.hpp"
#include "segments/parser.hpp"

namespace treu::segment {

namespace {

constexpr std::size_t kMaxRegexBytes = 1000;
constexpr int kMaxRegexGroupDepth = 50;  // std::regex compiles groups recursively

// Deepest nesting of unescaped '(' (an over-estimate inside [...] is harmless).
int GroupDepth(std::string_view re) {
  int depth = 0, max_depth = 0;
  for (std::size_t i = 0; i < re.size(); ++i) {
    if (re[i] == '\\') {
      ++i;
    } else if (re[i] == '(') {
      max_depth = std::max(max_depth, ++depth);
    } else if (re[i] == ')' && depth > 0) {
      --depth;
    }
  }
  return max_depth;
}

// libstdc++ reads back-reference numbers and {m,n} counts into a long without an overflow
// check; numbers of more digits than this are refused before compiling.
constexpr std::size_t kMaxRegexNumberDigits = 5;

// A back reference (\123) or repetition count ({12,34}) with too many digits: which kind, or
// nullptr.
const char* LongRegexNumber(std::string_view re) {
  bool in_braces = false;
  for (std::size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\') {
      std::size_t digits = 0;
      while (i + 1 + digits < re.size() && std::isdigit(static_cast<unsigned char>(re[i + 1 + digits]))) ++digits;
      if (digits > kMaxRegexNumberDigits) return "back reference";
      i += std::max<std::size_t>(digits, 1);
    } else if (c == '{') {
      in_braces = true;
    } else if (c == '}') {
      in_braces = false;
    } else if (in_braces && std::isdigit(static_cast<unsigned char>(c))) {
      std::size_t digits = 0;
      while (i + digits < re.size() && std::isdigit(static_cast<unsigned char>(re[i + digits]))) ++digits;
      if (digits > kMaxRegexNumberDigits) return "repetition count";
      i += digits - 1;
    }
  }
  return nullptr;
}

std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Reads exactly `n` digits at s[at..].
std::optional<int> Digits(std::string_view s, std::size_t at, std::size_t n) {
  if (at + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

std::string Describe(const Expr& e) {
  std::string text = PrintSegment(e);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text + " (" + std::string(TypeName(e.type)) + ")";
}

// Where an operand starts in the text (binary nodes are positioned at their operator).
Pos StartPos(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kCompare:
    case ExprKind::kArith:
    case ExprKind::kAnd:
    case ExprKind::kOr:
    case ExprKind::kIsNull:
      return StartPos(*e.children[0]);
    default:
      return e.pos;
  }
}

bool IsNumeric(Type t) { return t == Type::kNumber || t == Type::kMoney; }
bool IsOrdered(Op op) { return op == Op::kLt || op == Op::kLe || op == Op::kGt || op == Op::kGe; }

std::string RegexProblem(std::regex_constants::error_type code) {
  using namespace std::regex_constants;
  struct Row {
    error_type code;
    const char* text;
  };
  static const Row kRows[] = {
      {error_collate, "invalid collating element"}, {error_ctype, "invalid character class"},
      {error_escape, "invalid escape"},             {error_backref, "invalid back reference"},
      {error_brack, "unbalanced '['"},              {error_paren, "unbalanced parentheses"},
      {error_brace, "unbalanced '{'"},              {error_badbrace, "invalid repetition count"},
      {error_range, "invalid character range"},     {error_space, "too complex"},
      {error_badrepeat, "nothing to repeat"},       {error_complexity, "too complex"},
      {error_stack, "too complex"},
  };
  for (const Row& r : kRows) {
    if (r.code == code) return r.text;
  }
  return "invalid";
}

struct Shared {
  const SegmentLookup* lookup = nullptr;
  std::vector<std::string> chain;  // segment names being bound, outermost first
  bool cycle = false;              // the error being returned names a cycle
  // Segments already bound without error in this Bind() call. Binding one again cannot find
  // anything new (a cycle through it would have been found the first time), and skipping
  // keeps diamond-shaped references linear instead of exponential.
  std::set<std::string, std::less<>> done;
};

class Binder {
 public:
  Binder(std::string_view source, Shared& shared) : source_(source), shared_(shared) {}

  Status BindCondition(Expr& e) {
    TREU_RETURN_IF_ERROR(BindExpr(e));
    if (e.type != Type::kBool && e.type != Type::kAny) {
      return Fail(StartPos(e), "expected a condition, got " + Describe(e));
    }
    return Ok();
  }

 private:
  std::unexpected<Error> Fail(Pos pos, std::string message) const {
    return std::unexpected<Error>(SegmentError(source_, pos, std::move(message)));
  }

  Status BindExpr(Expr& e) {
    switch (e.kind) {
      case ExprKind::kField: return BindField(e);
      case ExprKind::kNumber: e.type = Type::kNumber; return Ok();
      case ExprKind::kString: e.type = Type::kString; return Ok();
      case ExprKind::kBool: e.type = Type::kBool; return Ok();
      case ExprKind::kDuration: e.type = Type::kDuration; return Ok();
      case ExprKind::kNow: e.type = Type::kTime; return Ok();
      case ExprKind::kList: return Fail(e.pos, "a list is only allowed after 'in'");
      case ExprKind::kArith: return BindArith(e);
      case ExprKind::kCompare: return BindCompare(e);
      case ExprKind::kAnd:
      case ExprKind::kOr:
      case ExprKind::kNot:
        for (auto& child : e.children) TREU_RETURN_IF_ERROR(BindCondition(*child));
        e.type = Type::kBool;
        return Ok();
      case ExprKind::kIsNull:
        TREU_RETURN_IF_ERROR(BindExpr(*e.children[0]));
        TREU_RETURN_IF_ERROR(NoDuration(*e.children[0]));
        e.type = Type::kBool;
        return Ok();
      case ExprKind::kCount: return BindCount(e);
      case ExprKind::kInSegment: return BindInSegment(e);
    }
    return Fail(e.pos, "unknown node");
  }

  Status BindField(Expr& e) {
    const std::string& name = e.text;
    bool is_property = name.starts_with(kPropertiesPrefix) && name.size() > kPropertiesPrefix.size();
    if (in_where_) {
      if (!is_property) {
        return Fail(e.pos, "only properties.<name> fields are allowed in a where clause, got '" + name + "'");
      }
      e.type = Type::kAny;
      return Ok();
    }
    if (is_property) {
      return Fail(e.pos, "'" + name + "' is only allowed in the where clause of count(event ...)");
    }
    if (name.starts_with(kAttributesPrefix) && name.size() > kAttributesPrefix.size()) {
      e.type = Type::kAny;
      return Ok();
    }
    if (const FieldInfo* f = FindField(name)) {
      e.field = f;
      e.type = f->type;
      return Ok();
    }
    std::string message = "unknown field '" + name + "'";
    if (auto suggestion = SuggestField(name)) message += "; did you mean '" + std::string(*suggestion) + "'?";
    return Fail(e.pos, std::move(message));
  }

  Status NoDuration(const Expr& e) {
    if (e.type == Type::kDuration) {
      return Fail(StartPos(e), "a duration (" + PrintSegment(e) + ") is only allowed in time arithmetic such as now() - " + PrintSegment(e));
    }
    return Ok();
  }

  Status BindArith(Expr& e) {
    Expr& l = *e.children[0];
    Expr& r = *e.children[1];
    TREU_RETURN_IF_ERROR(BindExpr(l));
    TREU_RETURN_IF_ERROR(BindExpr(r));
    Type a = l.type, b = r.type;
    std::optional<Type> result;
    if ((a == Type::kTime || a == Type::kAny) && b == Type::kDuration) {
      result = Type::kTime;
    } else if (e.op == Op::kAdd && a == Type::kDuration && (b == Type::kTime || b == Type::kAny)) {
      result = Type::kTime;
    } else if (IsNumeric(a) && IsNumeric(b)) {
      result = (a == Type::kMoney || b == Type::kMoney) ? Type::kMoney : Type::kNumber;
    } else if ((a == Type::kAny && IsNumeric(b)) || (IsNumeric(a) && b == Type::kAny) || (a == Type::kAny && b == Type::kAny)) {
      result = Type::kAny;
    }
    if (!result) {
      std::string message = "cannot apply '" + std::string(OpSpelling(e.op)) + "' to " + Describe(l) + " and " + Describe(r);
      if (a == Type::kDuration || b == Type::kDuration) message += "; a duration can only be added to or subtracted from a time";
      return Fail(e.pos, std::move(message));
    }
    e.type = *result;
    return Ok();
  }

  // Types a string literal compared with a time as a date.
  Status AsDate(Expr& literal) {
    auto date = ParseDateLiteral(literal.text);
    if (!date) {
      return Fail(literal.pos, "invalid date " + QuoteString(literal.text) + " (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)");
    }
    literal.type = Type::kTime;
    literal.time_micros = date->micros;
    literal.date_only = date->date_only;
    return Ok();
  }

  // Checks a string literal against a field's closed set of values.
  Status CheckValue(const Expr& field, const Expr& literal) {
    if (field.kind != ExprKind::kField || field.field == nullptr || field.field->values.empty()) return Ok();
    if (literal.kind != ExprKind::kString) return Ok();
    const auto& values = field.field->values;
    if (std::find(values.begin(), values.end(), literal.text) != values.end()) return Ok();
    std::string message = "unknown " + field.text + " value " + QuoteString(literal.text);
    if (auto s = NearestName(literal.text, values)) {
      message += "; did you mean \"" + std::string(*s) + "\"?";
    } else {
      message += "; expected one of";
      for (std::size_t i = 0; i < values.size(); ++i) message += (i ? ", " : " ") + std::string(values[i]);
    }
    return Fail(literal.pos, std::move(message));
  }

  // Checks `l op r` for the comparison operators; `at` positions a type mismatch.
  Status ComparePair(Op op, Pos at, Expr& l, Expr& r) {
    TREU_RETURN_IF_ERROR(NoDuration(l));
    TREU_RETURN_IF_ERROR(NoDuration(r));
    if (l.type == Type::kTime && r.kind == ExprKind::kString) TREU_RETURN_IF_ERROR(AsDate(r));
    if (r.type == Type::kTime && l.kind == ExprKind::kString) TREU_RETURN_IF_ERROR(AsDate(l));
    Type a = l.type, b = r.type;
    bool ok = a == b || (IsNumeric(a) && IsNumeric(b)) || a == Type::kAny || b == Type::kAny;
    if (!ok) return Fail(at, "cannot compare " + Describe(l) + " with " + Describe(r));
    if (IsOrdered(op) && (a == Type::kBool || b == Type::kBool)) {
      return Fail(at, "'" + std::string(OpSpelling(op)) + "' cannot order bool values: " + Describe(a == Type::kBool ? l : r));
    }
    TREU_RETURN_IF_ERROR(CheckValue(l, r));
    TREU_RETURN_IF_ERROR(CheckValue(r, l));
    return Ok();
  }

  Status BindCompare(Expr& e) {
    Expr& l = *e.children[0];
    Expr& r = *e.children[1];
    TREU_RETURN_IF_ERROR(BindExpr(l));
    e.type = Type::kBool;
    switch (e.op) {
      case Op::kIn: {
        if (r.kind != ExprKind::kList) return Fail(r.pos, "expected a list after 'in'");
        if (r.children.empty()) return Fail(r.pos, "empty list after 'in'");
        const Expr* first = nullptr;
        for (auto& item : r.children) {
          if (item->kind != ExprKind::kNumber && item->kind != ExprKind::kString && item->kind != ExprKind::kBool) {
            return Fail(StartPos(*item), "list items must be literals (numbers, strings or true/false), got " + PrintSegment(*item));
          }
          TREU_RETURN_IF_ERROR(BindExpr(*item));
          if (first && item->kind != first->kind) {
            return Fail(item->pos, "list items must all have the same type: " + Describe(*first) + " and " + Describe(*item));
          }
          if (!first) first = item.get();
          TREU_RETURN_IF_ERROR(ComparePair(Op::kEq, e.pos, l, *item));
        }
        r.type = first->type;
        return Ok();
      }
      case Op::kContains:
      case Op::kStartsWith:
      case Op::kMatches: {
        TREU_RETURN_IF_ERROR(BindExpr(r));
        std::string op(OpSpelling(e.op));
        if (l.type != Type::kString && l.type != Type::kAny) {
          return Fail(e.pos, "'" + op + "' needs a string on the left, got " + Describe(l));
        }
        if (e.op == Op::kMatches) {
          if (r.kind != ExprKind::kString) return Fail(StartPos(r), "'matches' needs a regular expression as a quoted string, got " + Describe(r));
          return CheckRegex(r);
        }
        if (r.type != Type::kString && r.type != Type::kAny) {
          return Fail(StartPos(r), "'" + op + "' needs a string on the right, got " + Describe(r));
        }
        return Ok();
      }
      default:
        TREU_RETURN_IF_ERROR(BindExpr(r));
        return ComparePair(e.op, e.pos, l, r);
    }
  }

  Status CheckRegex(const Expr& r) {
    if (r.text.size() > kMaxRegexBytes) {
      return Fail(r.pos, "regular expression too long (more than " + std::to_string(kMaxRegexBytes) + " bytes)");
    }
    if (GroupDepth(r.text) > kMaxRegexGroupDepth) {
      return Fail(r.pos, "regular expression nested too deeply (more than " + std::to_string(kMaxRegexGroupDepth) + " groups)");
    }
    if (const char* what = LongRegexNumber(r.text)) {
      return Fail(r.pos, "invalid regular expression " + QuoteString(r.text) + ": " + what + " too large (more than " +
                             std::to_string(kMaxRegexNumberDigits) + " digits)");
    }
    try {
      std::regex re(r.text, std::regex::ECMAScript);
    } catch (const std::regex_error& err) {
      return Fail(r.pos, "invalid regular expression " + QuoteString(r.text) + ": " + RegexProblem(err.code()));
    }
    return Ok();
  }

  Status BindCount(Expr& e) {
    if (in_where_) return Fail(e.pos, "count(...) is not allowed inside a where clause");
    if (!e.children.empty()) {
      in_where_ = true;
      Status s = BindCondition(*e.children[0]);
      in_where_ = false;
      TREU_RETURN_IF_ERROR(s);
    }
    e.type = Type::kNumber;
    return Ok();
  }

  Status BindInSegment(Expr& e) {
    if (in_where_) return Fail(e.pos, "in_segment(...) is not allowed inside a where clause");
    auto& chain = shared_.chain;
    if (auto it = std::find(chain.begin(), chain.end(), e.text); it != chain.end()) {
      std::string cycle = "in_segment(" + QuoteString(*it) + ")";
      for (++it; it != chain.end(); ++it) cycle += " -> " + QuoteString(*it);
      cycle += " -> " + QuoteString(e.text) + " is a cycle";
      shared_.cycle = true;
      return std::unexpected<Error>(Error(ErrorCode::kInvalidArgument, "segment", std::move(cycle)));
    }
    if (shared_.done.contains(e.text)) {
      e.type = Type::kBool;
      return Ok();
    }
    std::optional<SavedSegment> saved;
    if (shared_.lookup && *shared_.lookup) saved = (*shared_.lookup)(e.text);
    if (!saved || saved->expr == nullptr) return Fail(e.pos, "unknown segment " + QuoteString(e.text));
    if (static_cast<int>(chain.size()) >= kMaxSegmentReferenceDepth) {
      return Fail(e.pos, "segments nested deeper than " + std::to_string(kMaxSegmentReferenceDepth) + " levels");
    }
    chain.push_back(e.text);
    ExprPtr copy = Clone(*saved->expr);
    Binder inner(saved->text, shared_);
    Status s = inner.BindCondition(*copy);
    chain.pop_back();
    if (!s) {
      const Error& err = s.error();
      if (shared_.cycle) return std::unexpected<Error>(err);  // already names the whole cycle
      return std::unexpected<Error>(err.WithContext("in_segment(" + QuoteString(e.text) + ")"));
    }
    shared_.done.insert(e.text);
    e.type = Type::kBool;
    return Ok();
  }

  std::string_view source_;
  Shared& shared_;
  bool in_where_ = false;
};

}  // namespace

Result<ParsedDate> ParseDateLiteral(std::string_view s) {
  auto bad = [&] { return InvalidArgument("date", "invalid date '" + std::string(s) + "'"); };
  if (!s.empty() && s.back() == 'Z') s.remove_suffix(1);
  auto y = Digits(s, 0, 4), mo = Digits(s, 5, 2), d = Digits(s, 8, 2);
  if (s.size() < 10 || !y || !mo || !d || s[4] != '-' || s[7] != '-') return bad();
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*mo < 1 || *mo > 12 || *d < 1) return bad();
  int max_day = kDays[*mo - 1] + (*mo == 2 && IsLeap(*y) ? 1 : 0);
  if (*d > max_day) return bad();
  ParsedDate out;
  std::int64_t seconds = DaysFromCivil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d)) * 86'400;
  if (s.size() > 10) {
    if (s[10] != 'T' && s[10] != ' ') return bad();
    auto h = Digits(s, 11, 2), mi = Digits(s, 14, 2);
    if (!h || !mi || s.size() < 16 || s[13] != ':' || *h > 23 || *mi > 59) return bad();
    int sec = 0;
    if (s.size() > 16) {
      auto sc = Digits(s, 17, 2);
      if (s.size() != 19 || s[16] != ':' || !sc || *sc > 59) return bad();
      sec = *sc;
    }
    seconds += *h * 3600 + *mi * 60 + sec;
    out.date_only = false;
  }
  out.micros = seconds * 1'000'000;
  return out;
}

Result<ExprPtr> Bind(ExprPtr expr, const BindOptions& options) {
  if (!expr) return InvalidArgument("segment", "empty expression");
  Shared shared;
  shared.lookup = &options.lookup;
  if (!options.self_name.empty()) shared.chain.push_back(options.self_name);
  Binder binder(options.source, shared);
  TREU_RETURN_IF_ERROR(binder.BindCondition(*expr));
  return expr;
}

Result<ExprPtr> ParseAndBind(std::string_view text, BindOptions options) {
  TREU_ASSIGN_OR_RETURN(ExprPtr expr, ParseSegment(text));
  options.source = text;
  return Bind(std::move(expr), options);
}

}  // namespace treu::segment
