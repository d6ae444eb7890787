#include "segments/ast.hpp"

#include <charconv>

namespace treu::segment {

std::string_view DurationUnitSuffix(DurationUnit unit) {
  switch (unit) {
    case DurationUnit::kHours: return "h";
    case DurationUnit::kDays: return "d";
    case DurationUnit::kWeeks: return "w";
    case DurationUnit::kMonths: return "mo";
    case DurationUnit::kYears: return "y";
  }
  return "d";
}

std::optional<DurationUnit> DurationUnitFromSuffix(std::string_view suffix) {
  for (DurationUnit u : {DurationUnit::kHours, DurationUnit::kDays, DurationUnit::kWeeks,
                         DurationUnit::kMonths, DurationUnit::kYears}) {
    if (DurationUnitSuffix(u) == suffix) return u;
  }
  return std::nullopt;
}

std::string_view OpSpelling(Op op) {
  switch (op) {
    case Op::kNone: return "";
    case Op::kEq: return "=";
    case Op::kNe: return "!=";
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    case Op::kIn: return "in";
    case Op::kContains: return "contains";
    case Op::kStartsWith: return "starts_with";
    case Op::kMatches: return "matches";
    case Op::kAdd: return "+";
    case Op::kSub: return "-";
  }
  return "";
}

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kUnbound: return "unbound";
    case Type::kBool: return "bool";
    case Type::kNumber: return "number";
    case Type::kMoney: return "money";
    case Type::kString: return "string";
    case Type::kTime: return "time";
    case Type::kDuration: return "duration";
    case Type::kAny: return "any";
  }
  return "unbound";
}

namespace {
ExprPtr Node(ExprKind kind, Pos pos) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->pos = pos;
  return e;
}
}  // namespace

ExprPtr MakeField(std::string name, Pos pos) {
  auto e = Node(ExprKind::kField, pos);
  e->text = std::move(name);
  return e;
}
ExprPtr MakeNumber(double value, Pos pos) {
  auto e = Node(ExprKind::kNumber, pos);
  e->number = value;
  return e;
}
ExprPtr MakeString(std::string value, Pos pos) {
  auto e = Node(ExprKind::kString, pos);
  e->text = std::move(value);
  return e;
}
ExprPtr MakeBool(bool value, Pos pos) {
  auto e = Node(ExprKind::kBool, pos);
  e->boolean = value;
  return e;
}
ExprPtr MakeDuration(Duration d, Pos pos) {
  auto e = Node(ExprKind::kDuration, pos);
  e->duration = d;
  return e;
}
ExprPtr MakeNow(Pos pos) { return Node(ExprKind::kNow, pos); }
ExprPtr MakeList(std::vector<ExprPtr> items, Pos pos) {
  auto e = Node(ExprKind::kList, pos);
  e->children = std::move(items);
  return e;
}
ExprPtr MakeBinary(ExprKind kind, Op op, ExprPtr left, ExprPtr right, Pos pos) {
  auto e = Node(kind, pos);
  e->op = op;
  e->children.push_back(std::move(left));
  e->children.push_back(std::move(right));
  return e;
}
ExprPtr MakeNot(ExprPtr operand, Pos pos) {
  auto e = Node(ExprKind::kNot, pos);
  e->children.push_back(std::move(operand));
  return e;
}
ExprPtr MakeIsNull(ExprPtr operand, bool negated, Pos pos) {
  auto e = Node(ExprKind::kIsNull, pos);
  e->negated = negated;
  e->children.push_back(std::move(operand));
  return e;
}
ExprPtr MakeCount(std::string event, std::optional<Duration> within, ExprPtr where, Pos pos) {
  auto e = Node(ExprKind::kCount, pos);
  e->text = std::move(event);
  e->within = within;
  if (where) e->children.push_back(std::move(where));
  return e;
}
ExprPtr MakeInSegment(std::string name, Pos pos) {
  auto e = Node(ExprKind::kInSegment, pos);
  e->text = std::move(name);
  return e;
}

ExprPtr Clone(const Expr& e) {
  auto c = std::make_unique<Expr>();
  c->kind = e.kind;
  c->pos = e.pos;
  c->op = e.op;
  c->text = e.text;
  c->number = e.number;
  c->boolean = e.boolean;
  c->negated = e.negated;
  c->duration = e.duration;
  c->within = e.within;
  c->type = e.type;
  c->field = e.field;
  c->time_micros = e.time_micros;
  c->date_only = e.date_only;
  for (const auto& child : e.children) c->children.push_back(Clone(*child));
  return c;
}

bool SameTree(const Expr& a, const Expr& b) {
  if (a.kind != b.kind || a.op != b.op || a.children.size() != b.children.size()) return false;
  switch (a.kind) {
    case ExprKind::kField:
    case ExprKind::kString:
    case ExprKind::kInSegment:
      if (a.text != b.text) return false;
      break;
    case ExprKind::kNumber:
      if (a.number != b.number) return false;
      break;
    case ExprKind::kBool:
      if (a.boolean != b.boolean) return false;
      break;
    case ExprKind::kDuration:
      if (a.duration != b.duration) return false;
      break;
    case ExprKind::kIsNull:
      if (a.negated != b.negated) return false;
      break;
    case ExprKind::kCount:
      if (a.text != b.text || a.within != b.within) return false;
      break;
    default:
      break;
  }
  for (std::size_t i = 0; i < a.children.size(); ++i) {
    if (!SameTree(*a.children[i], *b.children[i])) return false;
  }
  return true;
}

std::string QuoteString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

namespace {

// Binding strength; a child printed where a stronger level is needed gets parentheses.
enum Level { kLevelOr = 1, kLevelAnd = 2, kLevelNot = 3, kLevelPredicate = 4, kLevelArith = 5, kLevelTerm = 6 };

Level LevelOf(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kOr: return kLevelOr;
    case ExprKind::kAnd: return kLevelAnd;
    case ExprKind::kNot: return kLevelNot;
    case ExprKind::kCompare:
    case ExprKind::kIsNull: return kLevelPredicate;
    case ExprKind::kArith: return kLevelArith;
    default: return kLevelTerm;
  }
}

std::string FormatNumber(double v) {
  char buf[1100];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (ec != std::errc()) return "0";
  return std::string(buf, end);
}

std::string FormatDuration(const Duration& d) {
  return std::to_string(d.amount) + std::string(DurationUnitSuffix(d.unit));
}

void Print(const Expr& e, int need, std::string& out);

void PrintChild(const Expr& e, int need, std::string& out) {
  if (LevelOf(e) < need) {
    out += '(';
    Print(e, kLevelOr, out);
    out += ')';
  } else {
    Print(e, need, out);
  }
}

void Print(const Expr& e, int /*need*/, std::string& out) {
  switch (e.kind) {
    case ExprKind::kField: out += e.text; return;
    case ExprKind::kNumber: out += FormatNumber(e.number); return;
    case ExprKind::kString: out += QuoteString(e.text); return;
    case ExprKind::kBool: out += e.boolean ? "true" : "false"; return;
    case ExprKind::kDuration: out += FormatDuration(e.duration); return;
    case ExprKind::kNow: out += "now()"; return;
    case ExprKind::kList:
      out += '[';
      for (std::size_t i = 0; i < e.children.size(); ++i) {
        if (i > 0) out += ", ";
        PrintChild(*e.children[i], kLevelArith, out);
      }
      out += ']';
      return;
    case ExprKind::kCompare:
      PrintChild(*e.children[0], kLevelArith, out);
      out += ' ';
      out += OpSpelling(e.op);
      out += ' ';
      PrintChild(*e.children[1], kLevelArith, out);
      return;
    case ExprKind::kArith:
      PrintChild(*e.children[0], kLevelArith, out);
      out += ' ';
      out += OpSpelling(e.op);
      out += ' ';
      PrintChild(*e.children[1], kLevelTerm, out);
      return;
    case ExprKind::kAnd:
    case ExprKind::kOr: {
      int level = e.kind == ExprKind::kAnd ? kLevelAnd : kLevelOr;
      PrintChild(*e.children[0], level, out);
      out += e.kind == ExprKind::kAnd ? " and " : " or ";
      PrintChild(*e.children[1], level + 1, out);
      return;
    }
    case ExprKind::kNot:
      out += "not ";
      PrintChild(*e.children[0], kLevelNot, out);
      return;
    case ExprKind::kIsNull:
      PrintChild(*e.children[0], kLevelArith, out);
      out += e.negated ? " is not null" : " is null";
      return;
    case ExprKind::kCount:
      out += "count(event ";
      out += QuoteString(e.text);
      if (e.within) {
        out += " within ";
        out += FormatDuration(*e.within);
      }
      if (!e.children.empty()) {
        out += " where ";
        Print(*e.children[0], kLevelOr, out);
      }
      out += ')';
      return;
    case ExprKind::kInSegment:
      out += "in_segment(";
      out += QuoteString(e.text);
      out += ')';
      return;
  }
}

}  // namespace

std::string PrintSegment(const Expr& e) {
  std::string out;
  Print(e, kLevelOr, out);
  return out;
}

Error SegmentError(std::string_view source, Pos pos, std::string message) {
  if (pos.line <= 0) return Error(ErrorCode::kInvalidArgument, "segment", std::move(message));
  // Find the line.
  std::size_t start = 0;
  for (int line = 1; line < pos.line; ++line) {
    std::size_t nl = source.find('\n', start);
    if (nl == std::string_view::npos) {
      start = source.size();
      break;
    }
    start = nl + 1;
  }
  std::size_t end = source.find('\n', start);
  if (end == std::string_view::npos) end = source.size();
  std::string_view text = source.substr(start, end - start);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  std::string caret;
  for (int i = 0; i + 1 < pos.column; ++i) {
    caret += (static_cast<std::size_t>(i) < text.size() && text[i] == '\t') ? '\t' : ' ';
  }
  caret += '^';
  std::string detail = std::move(message);
  detail += '\n';
  detail += text;
  detail += '\n';
  detail += caret;
  return Error(ErrorCode::kInvalidArgument,
               "segment:" + std::to_string(pos.line) + ":" + std::to_string(pos.column),
               std::move(detail));
}

}  // namespace treu::segment
