#include "segments/vector_evaluator.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <deque>
#include <regex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace treu::segment {
namespace vectorised {
namespace {

// Three-valued truth, as in the row interpreter.
enum Truth : std::int8_t { kFalse = 0, kTrue = 1, kUnknown = 2 };

Truth Not(Truth t) { return t == kUnknown ? kUnknown : t == kTrue ? kFalse : kTrue; }
Truth And(Truth a, Truth b) {
  if (a == kFalse || b == kFalse) return kFalse;
  return a == kTrue && b == kTrue ? kTrue : kUnknown;
}
Truth Or(Truth a, Truth b) {
  if (a == kTrue || b == kTrue) return kTrue;
  return a == kFalse && b == kFalse ? kFalse : kUnknown;
}
Truth FromBool(bool b) { return b ? kTrue : kFalse; }

// One value of one customer (the row interpreter's model).
struct Scalar {
  enum Kind : std::uint8_t { kNull, kNumber, kTime, kString, kBool } kind = kNull;
  double number = 0;
  std::int64_t time = 0;
  std::string_view text;
  bool boolean = false;
};

// `a op b` for the ordering operators, written so that a NaN produced by arithmetic (which
// is a value, not a null) orders like the interpreter's three-way comparison: neither less
// nor greater, hence equal.
template <typename T>
bool Ordered(Op op, T a, T b) {
  switch (op) {
    case Op::kEq:
      return !(a < b) && !(a > b);
    case Op::kNe:
      return a < b || a > b;
    case Op::kLt:
      return a < b;
    case Op::kLe:
      return !(a > b);
    case Op::kGt:
      return a > b;
    case Op::kGe:
      return !(a < b);
    default:
      return false;
  }
}

// Two non-null values of any kinds: unknown unless the kinds agree (bool: = and != only).
Truth Compare(Op op, const Scalar& a, const Scalar& b) {
  if (a.kind == Scalar::kNull || b.kind == Scalar::kNull || a.kind != b.kind) return kUnknown;
  switch (a.kind) {
    case Scalar::kNumber:
      return FromBool(Ordered(op, a.number, b.number));
    case Scalar::kTime:
      return FromBool(Ordered(op, a.time, b.time));
    case Scalar::kString: {
      const int c = a.text.compare(b.text);
      return FromBool(Ordered(op, c, 0));
    }
    case Scalar::kBool:
      if (op == Op::kEq) return FromBool(a.boolean == b.boolean);
      if (op == Op::kNe) return FromBool(a.boolean != b.boolean);
      return kUnknown;
    case Scalar::kNull:
      break;
  }
  return kUnknown;
}

// `a op b` for every operator but `in`; `re` is the compiled pattern of `matches`.
Truth CompareScalars(Op op, const Scalar& a, const Scalar& b, const std::regex* re) {
  if (a.kind == Scalar::kNull) return kUnknown;
  switch (op) {
    case Op::kContains:
    case Op::kStartsWith:
    case Op::kMatches:
      if (a.kind != Scalar::kString || b.kind != Scalar::kString) return kUnknown;
      if (op == Op::kContains) return FromBool(a.text.find(b.text) != std::string_view::npos);
      if (op == Op::kStartsWith) return FromBool(a.text.starts_with(b.text));
      if (re == nullptr) return kUnknown;
      return FromBool(std::regex_search(a.text.begin(), a.text.end(), *re));
    case Op::kEq:
    case Op::kNe:
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe:
      return Compare(op, a, b);
    default:
      return kUnknown;
  }
}

// `a in [items]`: true on an equal item, else unknown if some item was of another kind.
Truth InList(const Scalar& a, const std::vector<Scalar>& items) {
  if (a.kind == Scalar::kNull) return kUnknown;
  Truth any = kFalse;
  for (const Scalar& item : items) {
    const Truth t = Compare(Op::kEq, a, item);
    if (t == kTrue) return kTrue;
    if (t == kUnknown) any = kUnknown;
  }
  return any;
}

}  // namespace

// A value node compiled against the table. Its kind is fixed by the table (a field's column
// type; arithmetic on values of the wrong kinds is always null), so type mismatches are
// settled at compile time.
struct Val {
  enum Source : std::uint8_t {
    kConst,        // `constant` (possibly null)
    kColumn,       // a table column of `kind`
    kCounts,       // count(event ...) results: numbers, never null
    kShiftedTime,  // values[left] ± duration
    kNumberArith,  // values[left] ± values[right]
  } source = kConst;
  Scalar::Kind kind = Scalar::kNull;
  Scalar constant;
  // kColumn: the vector of the column's type.
  const double* numbers = nullptr;
  const std::int64_t* times = nullptr;
  const std::int32_t* codes = nullptr;
  const std::int8_t* bools = nullptr;
  const std::vector<std::string>* dictionary = nullptr;
  std::vector<double> counts;  // kCounts
  int left = -1, right = -1;
  int sign = 1;
  Duration duration;
};

// A condition node.
struct Cond {
  enum Type : std::uint8_t {
    kConst,        // `constant`
    kAnd,          // conds a and b
    kOr,           // conds a or b
    kNot,          // not cond a
    kIsNull,       // value a is null (!= negated)
    kSegment,      // bit of `members`
    kBoolValue,    // bool column a as a condition
    kOrdered,      // numbers or times: value a op value b (not both constant)
    kBoolCompare,  // bools: value a op value b, op = or !=
    kTable,        // string column a: `table[code + 1]` (index 0: null)
    kIn,           // number, time or bool value a in `items` (the items of a's kind)
    kGeneric,      // per row: CompareScalars(op, value a, value b)
  } type = kConst;
  Truth constant = kUnknown;
  Op op = Op::kNone;
  bool negated = false;
  bool mismatch_unknown = false;  // kIn: some item of another kind (no match is unknown)
  int a = -1, b = -1;
  std::vector<std::int8_t> table;
  std::vector<Scalar> items;
  std::vector<std::uint64_t> members;
  std::shared_ptr<const std::regex> regex;
};

struct Program {
  const CustomerTable* table = nullptr;
  std::size_t customers = 0;
  TimeZone zone = TimeZone::Utc();
  std::vector<Val> values;
  std::vector<Cond> conds;
  int root = -1;
  std::deque<std::string> strings;  // the text of string constants (stable addresses)
};

namespace {

// ---------------------------------------------------------------------------------------
// Compilation.

class Compiler {
 public:
  Compiler(const EvalContext& context, Program& program) : ctx_(context), p_(program) {}

  Result<int> CompileCond(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kAnd:
      case ExprKind::kOr: {
        TREU_ASSIGN_OR_RETURN(const int a, CompileCond(*e.children[0]));
        TREU_ASSIGN_OR_RETURN(const int b, CompileCond(*e.children[1]));
        Cond c;
        c.type = e.kind == ExprKind::kAnd ? Cond::kAnd : Cond::kOr;
        c.a = a;
        c.b = b;
        return AddCond(std::move(c));
      }
      case ExprKind::kNot: {
        TREU_ASSIGN_OR_RETURN(const int a, CompileCond(*e.children[0]));
        if (p_.conds[a].type == Cond::kConst) return ConstCond(Not(p_.conds[a].constant));
        Cond c;
        c.type = Cond::kNot;
        c.a = a;
        return AddCond(std::move(c));
      }
      case ExprKind::kIsNull: {
        TREU_ASSIGN_OR_RETURN(const int v, CompileValue(*e.children[0]));
        const Val& val = p_.values[v];
        if (val.source == Val::kConst)
          return ConstCond(FromBool((val.kind == Scalar::kNull) != e.negated));
        Cond c;
        c.type = Cond::kIsNull;
        c.a = v;
        c.negated = e.negated;
        return AddCond(std::move(c));
      }
      case ExprKind::kInSegment: {
        if (!ctx_.segment) return NotFound("segment " + e.text, "no such segment");
        TREU_ASSIGN_OR_RETURN(ExprPtr bound, ctx_.segment(e.text));
        TREU_ASSIGN_OR_RETURN(std::vector<std::uint64_t> members, Members(*bound));
        Cond c;
        c.type = Cond::kSegment;
        c.members = std::move(members);
        return AddCond(std::move(c));
      }
      case ExprKind::kCompare:
        return CompileCompare(e);
      default: {
        // A value used as a condition: only a bool is true or false.
        TREU_ASSIGN_OR_RETURN(const int v, CompileValue(e));
        const Val& val = p_.values[v];
        if (val.kind != Scalar::kBool) return ConstCond(kUnknown);
        if (val.source == Val::kConst) return ConstCond(FromBool(val.constant.boolean));
        Cond c;
        c.type = Cond::kBoolValue;
        c.a = v;
        return AddCond(std::move(c));
      }
    }
  }

 private:
  // The bitmap of a referenced segment's members.
  Result<std::vector<std::uint64_t>> Members(const Expr& bound);

  Result<int> CompileValue(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kField: {
        const Column* col = p_.table->Find(e.text);
        if (col == nullptr) return ConstValue(Scalar{});
        Val v;
        v.source = Val::kColumn;
        switch (col->type) {
          case ColumnType::kString:
            v.kind = Scalar::kString;
            v.codes = col->codes.data();
            v.dictionary = &col->dictionary;
            break;
          case ColumnType::kNumber:
          case ColumnType::kMoney:
            v.kind = Scalar::kNumber;
            v.numbers = col->numbers.data();
            break;
          case ColumnType::kTime:
            v.kind = Scalar::kTime;
            v.times = col->times.data();
            break;
          case ColumnType::kBool:
            v.kind = Scalar::kBool;
            v.bools = col->bools.data();
            break;
        }
        return AddValue(std::move(v));
      }
      case ExprKind::kNumber: {
        Scalar s;
        s.kind = Scalar::kNumber;
        s.number = e.number;
        return ConstValue(s);
      }
      case ExprKind::kString: {
        Scalar s;
        if (e.type == Type::kTime) {
          s.kind = Scalar::kTime;
          s.time = e.date_only
                       ? ctx_.zone.StartOfDay(CivilFromDays(e.time_micros / kMicrosPerDay)).micros
                       : e.time_micros;
        } else {
          s.kind = Scalar::kString;
          s.text = p_.strings.emplace_back(e.text);
        }
        return ConstValue(s);
      }
      case ExprKind::kBool: {
        Scalar s;
        s.kind = Scalar::kBool;
        s.boolean = e.boolean;
        return ConstValue(s);
      }
      case ExprKind::kNow: {
        Scalar s;
        s.kind = Scalar::kTime;
        s.time = ctx_.now.micros;
        return ConstValue(s);
      }
      case ExprKind::kCount: {
        TREU_ASSIGN_OR_RETURN(std::vector<double> counts, CountEvents(e, ctx_));
        Val v;
        v.source = Val::kCounts;
        v.kind = Scalar::kNumber;
        v.counts = std::move(counts);
        return AddValue(std::move(v));
      }
      case ExprKind::kArith:
        return CompileArith(e);
      case ExprKind::kAnd:
      case ExprKind::kOr:
      case ExprKind::kNot:
      case ExprKind::kIsNull:
      case ExprKind::kCompare:
      case ExprKind::kInSegment:
        // A condition has no value (null), but its segments and counts are still evaluated,
        // errors included, as the interpreter does.
        TREU_RETURN_IF_ERROR(CompileCond(e));
        return ConstValue(Scalar{});
      default:
        return ConstValue(Scalar{});
    }
  }

  Result<int> CompileArith(const Expr& e) {
    const Expr& l = *e.children[0];
    const Expr& r = *e.children[1];
    const int sign = e.op == Op::kSub ? -1 : 1;
    if (r.kind == ExprKind::kDuration || l.kind == ExprKind::kDuration) {
      const Expr& when = r.kind == ExprKind::kDuration ? l : r;
      const Duration& d = r.kind == ExprKind::kDuration ? r.duration : l.duration;
      TREU_ASSIGN_OR_RETURN(const int w, CompileValue(when));
      const Val& t = p_.values[w];
      if (t.kind != Scalar::kTime) return ConstValue(Scalar{});
      if (t.source == Val::kConst) {
        Scalar s;
        s.kind = Scalar::kTime;
        s.time = AddDuration(Timestamp{t.constant.time}, d, sign, ctx_.zone).micros;
        return ConstValue(s);
      }
      Val v;
      v.source = Val::kShiftedTime;
      v.kind = Scalar::kTime;
      v.left = w;
      v.sign = sign;
      v.duration = d;
      return AddValue(std::move(v));
    }
    TREU_ASSIGN_OR_RETURN(const int a, CompileValue(l));
    TREU_ASSIGN_OR_RETURN(const int b, CompileValue(r));
    const Val& x = p_.values[a];
    const Val& y = p_.values[b];
    if (x.kind != Scalar::kNumber || y.kind != Scalar::kNumber) return ConstValue(Scalar{});
    if (x.source == Val::kConst && y.source == Val::kConst) {
      Scalar s;
      s.kind = Scalar::kNumber;
      s.number = x.constant.number + sign * y.constant.number;
      return ConstValue(s);
    }
    Val v;
    v.source = Val::kNumberArith;
    v.kind = Scalar::kNumber;
    v.left = a;
    v.right = b;
    v.sign = sign;
    return AddValue(std::move(v));
  }

  // Truth per dictionary code of a string column, index 0 for the null code.
  template <typename F>
  static std::vector<std::int8_t> Table(const Val& column, F truth) {
    std::vector<std::int8_t> table(column.dictionary->size() + 1);
    table[0] = kUnknown;
    for (std::size_t k = 0; k < column.dictionary->size(); ++k) {
      Scalar s;
      s.kind = Scalar::kString;
      s.text = (*column.dictionary)[k];
      table[k + 1] = truth(s);
    }
    return table;
  }

  Result<int> CompileCompare(const Expr& e) {
    TREU_ASSIGN_OR_RETURN(const int a, CompileValue(*e.children[0]));
    const Expr& right = *e.children[1];
    if (e.op == Op::kIn) {
      std::vector<Scalar> items;
      for (const ExprPtr& item : right.children) {
        TREU_ASSIGN_OR_RETURN(const int i, CompileValue(*item));
        items.push_back(p_.values[i].constant);  // list items are literals
      }
      const Val& x = p_.values[a];
      if (x.kind == Scalar::kNull) return ConstCond(kUnknown);
      if (x.source == Val::kConst) return ConstCond(InList(x.constant, items));
      Cond c;
      c.a = a;
      if (x.kind == Scalar::kString) {
        c.type = Cond::kTable;
        c.table = Table(x, [&](const Scalar& s) { return InList(s, items); });
        return AddCond(std::move(c));
      }
      c.type = Cond::kIn;
      for (const Scalar& item : items) {
        if (item.kind == x.kind) {
          c.items.push_back(item);
        } else {
          c.mismatch_unknown = true;
        }
      }
      return AddCond(std::move(c));
    }
    std::shared_ptr<const std::regex> regex;
    if (e.op == Op::kMatches && right.kind == ExprKind::kString) {
      regex = std::make_shared<const std::regex>(right.text, std::regex::ECMAScript);
    }
    TREU_ASSIGN_OR_RETURN(const int b, CompileValue(right));
    const Val& x = p_.values[a];
    const Val& y = p_.values[b];
    if (x.kind == Scalar::kNull || y.kind == Scalar::kNull || x.kind != y.kind)
      return ConstCond(kUnknown);
    const bool string_op = e.op == Op::kContains || e.op == Op::kStartsWith || e.op == Op::kMatches;
    if (string_op && x.kind != Scalar::kString) return ConstCond(kUnknown);
    if (x.kind == Scalar::kBool && e.op != Op::kEq && e.op != Op::kNe) return ConstCond(kUnknown);
    if (x.source == Val::kConst && y.source == Val::kConst) {
      return ConstCond(CompareScalars(e.op, x.constant, y.constant, regex.get()));
    }
    Cond c;
    c.op = e.op;
    c.a = a;
    c.b = b;
    switch (x.kind) {
      case Scalar::kString:
        if (x.source == Val::kColumn && y.source == Val::kConst) {
          c.type = Cond::kTable;
          c.table = Table(
              x, [&](const Scalar& s) { return CompareScalars(e.op, s, y.constant, regex.get()); });
        } else if (x.source == Val::kConst && y.source == Val::kColumn) {
          c.type = Cond::kTable;
          c.a = b;
          c.table = Table(
              y, [&](const Scalar& s) { return CompareScalars(e.op, x.constant, s, regex.get()); });
        } else {
          c.type = Cond::kGeneric;
          c.regex = std::move(regex);
        }
        break;
      case Scalar::kNumber:
      case Scalar::kTime:
        c.type = Cond::kOrdered;
        break;
      case Scalar::kBool:
        c.type = Cond::kBoolCompare;
        break;
      case Scalar::kNull:
        return ConstCond(kUnknown);
    }
    return AddCond(std::move(c));
  }

  int AddValue(Val v) {
    p_.values.push_back(std::move(v));
    return static_cast<int>(p_.values.size()) - 1;
  }
  int ConstValue(const Scalar& s) {
    Val v;
    v.source = Val::kConst;
    v.kind = s.kind;
    v.constant = s;
    return AddValue(std::move(v));
  }
  int AddCond(Cond c) {
    p_.conds.push_back(std::move(c));
    return static_cast<int>(p_.conds.size()) - 1;
  }
  int ConstCond(Truth t) {
    Cond c;
    c.type = Cond::kConst;
    c.constant = t;
    return AddCond(std::move(c));
  }

  const EvalContext& ctx_;
  Program& p_;
};

Result<std::unique_ptr<Program>> CompileProgram(const Expr& bound, const EvalContext& context) {
  if (context.table == nullptr) return InvalidArgument("segment", "no customer table");
  auto p = std::make_unique<Program>();
  p->table = context.table;
  p->customers = context.table->customers;
  p->zone = context.zone;
  Compiler compiler(context, *p);
  TREU_ASSIGN_OR_RETURN(p->root, compiler.CompileCond(bound));
  return p;
}

// ---------------------------------------------------------------------------------------
// One customer at a time.

class RowEvaluator {
 public:
  explicit RowEvaluator(const Program& p) : p_(p) {}

  Scalar Value(int index, std::size_t c) const {
    const Val& v = p_.values[index];
    Scalar s;
    switch (v.source) {
      case Val::kConst:
        return v.constant;
      case Val::kColumn:
        switch (v.kind) {
          case Scalar::kNumber:
            if (v.numbers[c] != v.numbers[c]) return s;
            s.number = v.numbers[c];
            break;
          case Scalar::kTime:
            if (v.times[c] == kNullTime) return s;
            s.time = v.times[c];
            break;
          case Scalar::kString:
            if (v.codes[c] < 0) return s;
            s.text = (*v.dictionary)[static_cast<std::size_t>(v.codes[c])];
            break;
          case Scalar::kBool:
            if (v.bools[c] < 0) return s;
            s.boolean = v.bools[c] == 1;
            break;
          case Scalar::kNull:
            return s;
        }
        s.kind = v.kind;
        return s;
      case Val::kCounts:
        s.kind = Scalar::kNumber;
        s.number = v.counts[c];
        return s;
      case Val::kShiftedTime: {
        const Scalar t = Value(v.left, c);
        if (t.kind != Scalar::kTime) return s;
        s.kind = Scalar::kTime;
        s.time = AddDuration(Timestamp{t.time}, v.duration, v.sign, p_.zone).micros;
        return s;
      }
      case Val::kNumberArith: {
        const Scalar a = Value(v.left, c), b = Value(v.right, c);
        if (a.kind != Scalar::kNumber || b.kind != Scalar::kNumber) return s;
        s.kind = Scalar::kNumber;
        s.number = a.number + v.sign * b.number;
        return s;
      }
    }
    return s;
  }

  Truth Eval(int index, std::size_t c) const {
    const Cond& n = p_.conds[index];
    switch (n.type) {
      case Cond::kConst:
        return n.constant;
      case Cond::kAnd: {
        const Truth a = Eval(n.a, c);
        return a == kFalse ? kFalse : And(a, Eval(n.b, c));
      }
      case Cond::kOr: {
        const Truth a = Eval(n.a, c);
        return a == kTrue ? kTrue : Or(a, Eval(n.b, c));
      }
      case Cond::kNot:
        return Not(Eval(n.a, c));
      case Cond::kIsNull:
        return FromBool((Value(n.a, c).kind == Scalar::kNull) != n.negated);
      case Cond::kSegment:
        return FromBool((n.members[c >> 6] >> (c & 63)) & 1);
      case Cond::kBoolValue: {
        const Scalar v = Value(n.a, c);
        if (v.kind != Scalar::kBool) return kUnknown;
        return FromBool(v.boolean);
      }
      case Cond::kTable: {
        const Val& v = p_.values[n.a];
        return static_cast<Truth>(n.table[static_cast<std::size_t>(v.codes[c] + 1)]);
      }
      case Cond::kOrdered: {
        const Val& va = p_.values[n.a];
        const Val& vb = p_.values[n.b];
        if (va.source == Val::kColumn && vb.source == Val::kConst) {  // the common case
          if (va.kind == Scalar::kNumber) {
            const double x = va.numbers[c];
            if (x != x) return kUnknown;
            return FromBool(Ordered(n.op, x, vb.constant.number));
          }
          const std::int64_t t = va.times[c];
          if (t == kNullTime) return kUnknown;
          return FromBool(Ordered(n.op, t, vb.constant.time));
        }
        return Compare(n.op, Value(n.a, c), Value(n.b, c));
      }
      case Cond::kBoolCompare:
        return Compare(n.op, Value(n.a, c), Value(n.b, c));
      case Cond::kIn: {
        const Scalar v = Value(n.a, c);
        if (v.kind == Scalar::kNull) return kUnknown;
        for (const Scalar& item : n.items) {
          if (Compare(Op::kEq, v, item) == kTrue) return kTrue;
        }
        return n.mismatch_unknown ? kUnknown : kFalse;
      }
      case Cond::kGeneric:
        return CompareScalars(n.op, Value(n.a, c), Value(n.b, c), n.regex.get());
    }
    return kUnknown;
  }

 private:
  const Program& p_;
};

// ---------------------------------------------------------------------------------------
// All customers at once.

using Words = std::vector<std::uint64_t>;

// Truth over all customers: bit i of `t` says customer i is true, of `u` unknown; neither is
// false. Bits past the last customer are zero.
struct Mask {
  Words t, u;
};

// 64 bytes of 0 or 1 as the bits of a word (byte j -> bit j): eight bytes at a time, moved
// to the top byte by one multiplication (the shifted copies never overlap or carry).
inline std::uint64_t Pack(const std::uint8_t* bytes) {
  std::uint64_t word = 0;
  for (unsigned k = 0; k < 8; ++k) {
    std::uint64_t x;
    std::memcpy(&x, bytes + 8 * k, sizeof x);
    if constexpr (std::endian::native == std::endian::big) x = __builtin_bswap64(x);
    word |= ((x * 0x0102040810204080ULL) >> 56) << (8 * k);
  }
  return word;
}

// t[w] = bits ft(64w + j), u[w] = bits fu(64w + j), j = 0..63, for rows below n. The
// predicates go to byte buffers in branch-free fixed-length loops, which the compiler can
// vectorise, and are then packed.
template <typename FT, typename FU>
void Bits2(std::size_t n, std::uint64_t* t, std::uint64_t* u, FT ft, FU fu) {
  alignas(64) std::uint8_t tb[64], ub[64];
  const std::size_t full = n / 64;
  for (std::size_t w = 0; w < full; ++w) {
    const std::size_t base = w * 64;
    for (unsigned j = 0; j < 64; ++j) tb[j] = static_cast<std::uint8_t>(ft(base + j));
    for (unsigned j = 0; j < 64; ++j) ub[j] = static_cast<std::uint8_t>(fu(base + j));
    t[w] = Pack(tb);
    u[w] = Pack(ub);
  }
  if (n % 64 != 0) {
    const std::size_t base = full * 64;
    std::memset(tb, 0, sizeof tb);
    std::memset(ub, 0, sizeof ub);
    for (unsigned j = 0; j < n % 64; ++j) {
      tb[j] = static_cast<std::uint8_t>(ft(base + j));
      ub[j] = static_cast<std::uint8_t>(fu(base + j));
    }
    t[full] = Pack(tb);
    u[full] = Pack(ub);
  }
}

// out[w] = bits f(64w + j), as Bits2.
template <typename F>
void Bits(std::size_t n, std::uint64_t* out, F f) {
  alignas(64) std::uint8_t b[64];
  const std::size_t full = n / 64;
  for (std::size_t w = 0; w < full; ++w) {
    const std::size_t base = w * 64;
    for (unsigned j = 0; j < 64; ++j) b[j] = static_cast<std::uint8_t>(f(base + j));
    out[w] = Pack(b);
  }
  if (n % 64 != 0) {
    const std::size_t base = full * 64;
    std::memset(b, 0, sizeof b);
    for (unsigned j = 0; j < n % 64; ++j) b[j] = static_cast<std::uint8_t>(f(base + j));
    out[full] = Pack(b);
  }
}

// A number or time value for every customer: `data` (borrowed from a column or owned) and
// its validity bitmap.
template <typename T>
struct Vec {
  const T* data = nullptr;
  std::vector<T> own;
  Words valid;
};

class VectorEvaluator {
 public:
  explicit VectorEvaluator(const Program& p)
      : p_(p),
        n_(p.customers),
        words_((n_ + 63) / 64),
        tail_(n_ % 64 == 0 ? ~0ULL : (1ULL << (n_ % 64)) - 1) {}

  Words Run() {
    Mask m = Eval(p_.root);
    return std::move(m.t);
  }

 private:
  Words Zeros() const { return Words(words_, 0); }
  Words Ones() const {
    Words w(words_, ~0ULL);
    if (words_ > 0) w.back() = tail_;
    return w;
  }

  // Validity of a value that is not constant.
  Words Valid(const Val& v) const {
    Words out(words_);
    if (v.source == Val::kColumn) {
      switch (v.kind) {
        case Scalar::kNumber: {
          const double* x = v.numbers;
          Bits(n_, out.data(), [x](std::size_t i) { return x[i] == x[i]; });
          break;
        }
        case Scalar::kTime: {
          const std::int64_t* x = v.times;
          Bits(n_, out.data(), [x](std::size_t i) { return x[i] != kNullTime; });
          break;
        }
        case Scalar::kString: {
          const std::int32_t* x = v.codes;
          Bits(n_, out.data(), [x](std::size_t i) { return x[i] >= 0; });
          break;
        }
        case Scalar::kBool: {
          const std::int8_t* x = v.bools;
          Bits(n_, out.data(), [x](std::size_t i) { return x[i] >= 0; });
          break;
        }
        case Scalar::kNull:
          return Zeros();
      }
      return out;
    }
    if (v.source == Val::kCounts) return Ones();
    if (v.kind == Scalar::kNumber) return Numbers(v).valid;
    return Times(v).valid;
  }

  Vec<double> Numbers(const Val& v) const {
    Vec<double> out;
    switch (v.source) {
      case Val::kConst:
        out.own.assign(n_, v.constant.number);
        out.data = out.own.data();
        out.valid = Ones();
        return out;
      case Val::kColumn:
        out.data = v.numbers;
        out.valid = Valid(v);
        return out;
      case Val::kCounts:
        out.data = v.counts.data();
        out.valid = Ones();
        return out;
      case Val::kNumberArith: {
        const Vec<double> a = Numbers(p_.values[v.left]);
        const Vec<double> b = Numbers(p_.values[v.right]);
        out.own.resize(n_);
        const double* x = a.data;
        const double* y = b.data;
        const int sign = v.sign;
        for (std::size_t i = 0; i < n_; ++i) out.own[i] = x[i] + sign * y[i];
        out.data = out.own.data();
        out.valid.resize(words_);
        for (std::size_t w = 0; w < words_; ++w) out.valid[w] = a.valid[w] & b.valid[w];
        return out;
      }
      case Val::kShiftedTime:
        break;
    }
    out.own.assign(n_, 0);
    out.data = out.own.data();
    out.valid = Zeros();
    return out;
  }

  Vec<std::int64_t> Times(const Val& v) const {
    Vec<std::int64_t> out;
    switch (v.source) {
      case Val::kConst:
        out.own.assign(n_, v.constant.time);
        out.data = out.own.data();
        out.valid = Ones();
        return out;
      case Val::kColumn:
        out.data = v.times;
        out.valid = Valid(v);
        return out;
      case Val::kShiftedTime: {
        Vec<std::int64_t> t = Times(p_.values[v.left]);
        out.own.assign(n_, 0);
        const DurationUnit unit = v.duration.unit;
        if (unit == DurationUnit::kHours || unit == DurationUnit::kDays ||
            unit == DurationUnit::kWeeks) {
          // A fixed number of microseconds.
          const std::int64_t delta = AddDuration(Timestamp{0}, v.duration, v.sign, p_.zone).micros;
          // Unsigned, so that the null rows' kNullTime wraps instead of overflowing.
          const auto* in = reinterpret_cast<const std::uint64_t*>(t.data);
          const auto step = static_cast<std::uint64_t>(delta);
          for (std::size_t i = 0; i < n_; ++i) out.own[i] = static_cast<std::int64_t>(in[i] + step);
        } else {
          // Calendar months and years depend on each time.
          for (std::size_t i = 0; i < n_; ++i) {
            if ((t.valid[i >> 6] >> (i & 63)) & 1) {
              out.own[i] = AddDuration(Timestamp{t.data[i]}, v.duration, v.sign, p_.zone).micros;
            }
          }
        }
        out.data = out.own.data();
        out.valid = std::move(t.valid);
        return out;
      }
      case Val::kCounts:
      case Val::kNumberArith:
        break;
    }
    out.own.assign(n_, 0);
    out.data = out.own.data();
    out.valid = Zeros();
    return out;
  }

  // t = bits & valid, u = ~valid.
  Mask WithValidity(Words bits, const Words& valid) const {
    Mask m;
    m.t = std::move(bits);
    m.u.resize(words_);
    for (std::size_t w = 0; w < words_; ++w) {
      m.t[w] &= valid[w];
      m.u[w] = ~valid[w];
    }
    if (words_ > 0) m.u.back() &= tail_;
    return m;
  }

  template <typename T, typename L, typename R>
  void OrderedBits(Op op, L l, R r, std::uint64_t* out) const {
    switch (op) {
      case Op::kEq:
        Bits(n_, out, [&](std::size_t i) { return !(l(i) < r(i)) && !(l(i) > r(i)); });
        break;
      case Op::kNe:
        Bits(n_, out, [&](std::size_t i) { return l(i) < r(i) || l(i) > r(i); });
        break;
      case Op::kLt:
        Bits(n_, out, [&](std::size_t i) { return l(i) < r(i); });
        break;
      case Op::kLe:
        Bits(n_, out, [&](std::size_t i) { return !(l(i) > r(i)); });
        break;
      case Op::kGt:
        Bits(n_, out, [&](std::size_t i) { return l(i) > r(i); });
        break;
      case Op::kGe:
        Bits(n_, out, [&](std::size_t i) { return !(l(i) < r(i)); });
        break;
      default:
        std::fill(out, out + words_, 0);
        break;
    }
  }

  // `k op x` as `x Flip(op) k`.
  static Op Flip(Op op) {
    switch (op) {
      case Op::kLt:
        return Op::kGt;
      case Op::kLe:
        return Op::kGe;
      case Op::kGt:
        return Op::kLt;
      case Op::kGe:
        return Op::kLe;
      default:
        return op;
    }
  }

  // A column `column op k` in one pass: nulls (NaN, kNullTime) are unknown.
  template <typename T>
  Mask ColumnOrdered(Op op, const Val& column, T k) const {
    Mask m;
    m.t.resize(words_);
    m.u.resize(words_);
    const T* x = nullptr;
    if constexpr (std::is_same_v<T, double>) {
      x = column.numbers;
    } else {
      x = column.times;
    }
    auto null = [x](std::size_t i) -> bool {
      if constexpr (std::is_same_v<T, double>) {
        return x[i] != x[i];
      } else {
        return x[i] == kNullTime;
      }
    };
    auto run = [&](auto cmp) {
      Bits2(
          n_, m.t.data(), m.u.data(),
          [&](std::size_t i) -> bool {
            return static_cast<unsigned>(cmp(x[i])) & static_cast<unsigned>(!null(i));
          },
          null);
    };
    switch (op) {
      case Op::kEq:
        run([k](T v) -> bool {
          return static_cast<unsigned>(!(v < k)) & static_cast<unsigned>(!(v > k));
        });
        break;
      case Op::kNe:
        run([k](T v) -> bool {
          return static_cast<unsigned>(v < k) | static_cast<unsigned>(v > k);
        });
        break;
      case Op::kLt:
        run([k](T v) -> bool { return v < k; });
        break;
      case Op::kLe:
        run([k](T v) -> bool { return !(v > k); });
        break;
      case Op::kGt:
        run([k](T v) -> bool { return v > k; });
        break;
      case Op::kGe:
        run([k](T v) -> bool { return !(v < k); });
        break;
      default:
        run([](T) -> bool { return false; });
        break;
    }
    return m;
  }

  template <typename T>
  Mask OrderedTyped(const Cond& n, const Val& a, const Val& b,
                    Vec<T> (VectorEvaluator::*vec)(const Val&) const, T Scalar::*member) const {
    if (a.source == Val::kColumn && b.source == Val::kConst)
      return ColumnOrdered(n.op, a, b.constant.*member);
    if (a.source == Val::kConst && b.source == Val::kColumn)
      return ColumnOrdered(Flip(n.op), b, a.constant.*member);
    Words bits(words_);
    if (b.source == Val::kConst) {
      Vec<T> x = (this->*vec)(a);
      const T* xd = x.data;
      const T k = b.constant.*member;
      OrderedBits<T>(
          n.op, [xd](std::size_t i) { return xd[i]; }, [k](std::size_t) { return k; }, bits.data());
      return WithValidity(std::move(bits), x.valid);
    }
    if (a.source == Val::kConst) {
      Vec<T> y = (this->*vec)(b);
      const T* yd = y.data;
      const T k = a.constant.*member;
      OrderedBits<T>(
          n.op, [k](std::size_t) { return k; }, [yd](std::size_t i) { return yd[i]; }, bits.data());
      return WithValidity(std::move(bits), y.valid);
    }
    Vec<T> x = (this->*vec)(a);
    Vec<T> y = (this->*vec)(b);
    const T* xd = x.data;
    const T* yd = y.data;
    OrderedBits<T>(
        n.op, [xd](std::size_t i) { return xd[i]; }, [yd](std::size_t i) { return yd[i]; },
        bits.data());
    for (std::size_t w = 0; w < words_; ++w) x.valid[w] &= y.valid[w];
    return WithValidity(std::move(bits), x.valid);
  }

  Mask Eval(int index) const {
    const Cond& n = p_.conds[index];
    switch (n.type) {
      case Cond::kConst: {
        Mask m;
        m.t = n.constant == kTrue ? Ones() : Zeros();
        m.u = n.constant == kUnknown ? Ones() : Zeros();
        return m;
      }
      case Cond::kAnd: {
        Mask a = Eval(n.a);
        const Mask b = Eval(n.b);
        for (std::size_t w = 0; w < words_; ++w) {
          const std::uint64_t t = a.t[w] & b.t[w];
          a.u[w] = (a.t[w] | a.u[w]) & (b.t[w] | b.u[w]) & ~t;
          a.t[w] = t;
        }
        return a;
      }
      case Cond::kOr: {
        Mask a = Eval(n.a);
        const Mask b = Eval(n.b);
        for (std::size_t w = 0; w < words_; ++w) {
          a.t[w] |= b.t[w];
          a.u[w] = (a.u[w] | b.u[w]) & ~a.t[w];
        }
        return a;
      }
      case Cond::kNot: {
        Mask a = Eval(n.a);
        for (std::size_t w = 0; w < words_; ++w) a.t[w] = ~(a.t[w] | a.u[w]);
        if (words_ > 0) a.t.back() &= tail_;
        return a;
      }
      case Cond::kIsNull: {
        Mask m;
        m.t = Valid(p_.values[n.a]);
        if (!n.negated) {
          for (std::uint64_t& w : m.t) w = ~w;
          if (words_ > 0) m.t.back() &= tail_;
        }
        m.u = Zeros();
        return m;
      }
      case Cond::kSegment: {
        Mask m;
        m.t = n.members;
        m.u = Zeros();
        return m;
      }
      case Cond::kBoolValue: {
        const std::int8_t* x = p_.values[n.a].bools;
        Mask m;
        m.t.resize(words_);
        m.u.resize(words_);
        Bits2(
            n_, m.t.data(), m.u.data(), [x](std::size_t i) { return x[i] == 1; },
            [x](std::size_t i) { return x[i] < 0; });
        return m;
      }
      case Cond::kTable: {
        const std::int32_t* codes = p_.values[n.a].codes;
        const std::int8_t* table = n.table.data();
        Mask m;
        m.t.resize(words_);
        m.u.resize(words_);
        // Truths by code + 1 (kFalse 0, kTrue 1, kUnknown 2), as two bits.
        Bits2(
            n_, m.t.data(), m.u.data(),
            [codes, table](std::size_t i) { return table[codes[i] + 1] == kTrue; },
            [codes, table](std::size_t i) { return table[codes[i] + 1] == kUnknown; });
        return m;
      }
      case Cond::kOrdered: {
        const Val& a = p_.values[n.a];
        const Val& b = p_.values[n.b];
        if (a.kind == Scalar::kNumber)
          return OrderedTyped<double>(n, a, b, &VectorEvaluator::Numbers, &Scalar::number);
        return OrderedTyped<std::int64_t>(n, a, b, &VectorEvaluator::Times, &Scalar::time);
      }
      case Cond::kBoolCompare: {
        const Val& a = p_.values[n.a];
        const Val& b = p_.values[n.b];
        const Val& column = a.source == Val::kConst ? b : a;
        const Val& other = a.source == Val::kConst ? a : b;
        if (column.source != Val::kColumn || other.source != Val::kConst) break;  // per row
        const std::int8_t* x = column.bools;
        const bool want = (n.op == Op::kEq) == other.constant.boolean;  // true iff x is `want`
        Mask m;
        m.t.resize(words_);
        m.u.resize(words_);
        Bits2(
            n_, m.t.data(), m.u.data(),
            [x, want](std::size_t i) { return (x[i] >= 0) & ((x[i] == 1) == want); },
            [x](std::size_t i) { return x[i] < 0; });
        return m;
      }
      case Cond::kIn: {
        const Val& a = p_.values[n.a];
        Words any(words_), valid;
        if (a.kind == Scalar::kNumber) {
          Vec<double> x = Numbers(a);
          const double* d = x.data;
          for (const Scalar& item : n.items) {
            const double k = item.number;
            Words hit(words_);
            Bits(n_, hit.data(), [d, k](std::size_t i) { return !(d[i] < k) && !(d[i] > k); });
            for (std::size_t w = 0; w < words_; ++w) any[w] |= hit[w];
          }
          valid = std::move(x.valid);
        } else if (a.kind == Scalar::kTime) {
          Vec<std::int64_t> x = Times(a);
          const std::int64_t* d = x.data;
          for (const Scalar& item : n.items) {
            const std::int64_t k = item.time;
            Words hit(words_);
            Bits(n_, hit.data(), [d, k](std::size_t i) { return d[i] == k; });
            for (std::size_t w = 0; w < words_; ++w) any[w] |= hit[w];
          }
          valid = std::move(x.valid);
        } else {
          if (a.source != Val::kColumn) break;  // per row
          const std::int8_t* x = a.bools;
          bool has_true = false, has_false = false;
          for (const Scalar& item : n.items) (item.boolean ? has_true : has_false) = true;
          Bits(n_, any.data(), [=](std::size_t i) { return x[i] == 1 ? has_true : has_false; });
          valid = Valid(a);
        }
        Mask m;
        m.t.resize(words_);
        m.u.resize(words_);
        for (std::size_t w = 0; w < words_; ++w) {
          m.t[w] = any[w] & valid[w];
          m.u[w] = ~valid[w] | (n.mismatch_unknown ? ~any[w] : 0);
        }
        if (words_ > 0) m.u.back() &= tail_;
        return m;
      }
      case Cond::kGeneric:
        break;
    }
    // Per row.
    const RowEvaluator row(p_);
    Mask m;
    m.t.resize(words_);
    m.u.resize(words_);
    for (std::size_t c = 0; c < n_; ++c) {
      const Truth t = row.Eval(index, c);
      m.t[c >> 6] |= static_cast<std::uint64_t>(t == kTrue) << (c & 63);
      m.u[c >> 6] |= static_cast<std::uint64_t>(t == kUnknown) << (c & 63);
    }
    return m;
  }

  const Program& p_;
  const std::size_t n_;
  const std::size_t words_;
  const std::uint64_t tail_;  // the bits of the last word that are customers
};

std::vector<bool> ToBools(const Words& bits, std::size_t n) {
  std::vector<bool> out(n);
  for (std::size_t w = 0; w < bits.size(); ++w) {
    for (std::uint64_t word = bits[w]; word != 0; word &= word - 1) {
      out[w * 64 + static_cast<std::size_t>(std::countr_zero(word))] = true;
    }
  }
  return out;
}

Result<std::vector<std::uint64_t>> Compiler::Members(const Expr& bound) {
  TREU_ASSIGN_OR_RETURN(std::unique_ptr<Program> inner, CompileProgram(bound, ctx_));
  return VectorEvaluator(*inner).Run();
}

}  // namespace
}  // namespace vectorised

Result<std::vector<bool>> EvaluateVectorised(const Expr& bound, const EvalContext& context) {
  TREU_ASSIGN_OR_RETURN(std::unique_ptr<vectorised::Program> program,
                        vectorised::CompileProgram(bound, context));
  return vectorised::ToBools(vectorised::VectorEvaluator(*program).Run(), program->customers);
}

CompiledSegment::CompiledSegment(std::unique_ptr<vectorised::Program> program)
    : program_(std::move(program)) {}
CompiledSegment::CompiledSegment(CompiledSegment&&) noexcept = default;
CompiledSegment& CompiledSegment::operator=(CompiledSegment&&) noexcept = default;
CompiledSegment::~CompiledSegment() = default;

Result<CompiledSegment> CompiledSegment::Compile(const Expr& bound, const EvalContext& context) {
  TREU_ASSIGN_OR_RETURN(std::unique_ptr<vectorised::Program> program,
                        vectorised::CompileProgram(bound, context));
  return CompiledSegment(std::move(program));
}

bool CompiledSegment::Matches(std::size_t customer) const {
  return vectorised::RowEvaluator(*program_).Eval(program_->root, customer) == vectorised::kTrue;
}

std::vector<bool> CompiledSegment::MatchAll() const {
  return vectorised::ToBools(vectorised::VectorEvaluator(*program_).Run(), program_->customers);
}

std::size_t CompiledSegment::customers() const { return program_->customers; }

}  // namespace treu::segment
