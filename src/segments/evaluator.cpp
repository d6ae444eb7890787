#include "segments/evaluator.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <limits>
#include <regex>
#include <set>
#include <unordered_map>

#include <simdjson.h>

namespace treu::segment {
namespace {

// One value of one customer.
struct Scalar {
  enum Kind { kNull, kNumber, kTime, kString, kBool } kind = kNull;
  double number = 0;
  std::int64_t time = 0;
  std::string_view text;
  bool boolean = false;
};

// Three-valued truth.
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

constexpr std::int64_t kMicrosPerHour = 3'600'000'000LL;

class Interpreter {
 public:
  explicit Interpreter(const EvalContext& context) : ctx_(context) {}

  Result<std::vector<bool>> Run(const Expr& root) {
    TREU_RETURN_IF_ERROR(Prepare(root));
    std::vector<bool> out(ctx_.table->customers);
    for (std::size_t c = 0; c < out.size(); ++c) out[c] = Eval(root, c) == kTrue;
    return out;
  }

 private:
  // Resolves fields to columns, compiles regular expressions and evaluates referenced
  // segments once, before the per-customer loop.
  Status Prepare(const Expr& e) {
    if (e.kind == ExprKind::kField) columns_[&e] = ctx_.table->Find(e.text);
    if (e.kind == ExprKind::kCompare && e.op == Op::kMatches && e.children[1]->kind == ExprKind::kString) {
      regexes_.emplace(&e, std::regex(e.children[1]->text, std::regex::ECMAScript));
    }
    if (e.kind == ExprKind::kInSegment) {
      if (!ctx_.segment) return NotFound("segment " + e.text, "no such segment");
      TREU_ASSIGN_OR_RETURN(ExprPtr bound, ctx_.segment(e.text));
      Interpreter inner(ctx_);
      TREU_ASSIGN_OR_RETURN(segments_[&e], inner.Run(*bound));
    }
    if (e.kind == ExprKind::kCount) {
      TREU_ASSIGN_OR_RETURN(counts_[&e], CountEvents(e, ctx_));
      return Ok();  // its where clause is evaluated over the events, by CountEvents
    }
    for (const ExprPtr& c : e.children) TREU_RETURN_IF_ERROR(Prepare(*c));
    return Ok();
  }

  Scalar Value(const Expr& e, std::size_t c) const {
    Scalar s;
    switch (e.kind) {
      case ExprKind::kField: {
        const Column* col = columns_.at(&e);
        if (col == nullptr || col->IsNull(c)) return s;
        switch (col->type) {
          case ColumnType::kString:
            s.kind = Scalar::kString;
            s.text = col->dictionary[static_cast<std::size_t>(col->codes[c])];
            break;
          case ColumnType::kNumber:
          case ColumnType::kMoney:
            s.kind = Scalar::kNumber;
            s.number = col->numbers[c];
            break;
          case ColumnType::kTime:
            s.kind = Scalar::kTime;
            s.time = col->times[c];
            break;
          case ColumnType::kBool:
            s.kind = Scalar::kBool;
            s.boolean = col->bools[c] == 1;
            break;
        }
        return s;
      }
      case ExprKind::kNumber:
        s.kind = Scalar::kNumber;
        s.number = e.number;
        return s;
      case ExprKind::kString:
        if (e.type == Type::kTime) {
          s.kind = Scalar::kTime;
          s.time = e.date_only ? ctx_.zone.StartOfDay(CivilFromDays(e.time_micros / kMicrosPerDay)).micros
                               : e.time_micros;
        } else {
          s.kind = Scalar::kString;
          s.text = e.text;
        }
        return s;
      case ExprKind::kBool:
        s.kind = Scalar::kBool;
        s.boolean = e.boolean;
        return s;
      case ExprKind::kNow:
        s.kind = Scalar::kTime;
        s.time = ctx_.now.micros;
        return s;
      case ExprKind::kCount:
        s.kind = Scalar::kNumber;
        s.number = counts_.at(&e)[c];
        return s;
      case ExprKind::kArith: {
        const Expr& l = *e.children[0];
        const Expr& r = *e.children[1];
        const int sign = e.op == Op::kSub ? -1 : 1;
        if (r.kind == ExprKind::kDuration || l.kind == ExprKind::kDuration) {
          const Expr& when = r.kind == ExprKind::kDuration ? l : r;
          const Duration& d = r.kind == ExprKind::kDuration ? r.duration : l.duration;
          const Scalar t = Value(when, c);
          if (t.kind != Scalar::kTime) return s;
          s.kind = Scalar::kTime;
          s.time = AddDuration(Timestamp{t.time}, d, sign, ctx_.zone).micros;
          return s;
        }
        const Scalar a = Value(l, c), b = Value(r, c);
        if (a.kind != Scalar::kNumber || b.kind != Scalar::kNumber) return s;
        s.kind = Scalar::kNumber;
        s.number = a.number + sign * b.number;
        return s;
      }
      default:
        return s;
    }
  }

  static Truth Compare(Op op, const Scalar& a, const Scalar& b) {
    if (a.kind == Scalar::kNull || b.kind == Scalar::kNull || a.kind != b.kind) return kUnknown;
    int cmp = 0;
    switch (a.kind) {
      case Scalar::kNumber: cmp = a.number < b.number ? -1 : a.number > b.number ? 1 : 0; break;
      case Scalar::kTime: cmp = a.time < b.time ? -1 : a.time > b.time ? 1 : 0; break;
      case Scalar::kString: cmp = a.text.compare(b.text) < 0 ? -1 : a.text == b.text ? 0 : 1; break;
      case Scalar::kBool:
        if (op != Op::kEq && op != Op::kNe) return kUnknown;
        cmp = a.boolean == b.boolean ? 0 : 1;
        break;
      case Scalar::kNull: return kUnknown;
    }
    switch (op) {
      case Op::kEq: return cmp == 0 ? kTrue : kFalse;
      case Op::kNe: return cmp != 0 ? kTrue : kFalse;
      case Op::kLt: return cmp < 0 ? kTrue : kFalse;
      case Op::kLe: return cmp <= 0 ? kTrue : kFalse;
      case Op::kGt: return cmp > 0 ? kTrue : kFalse;
      case Op::kGe: return cmp >= 0 ? kTrue : kFalse;
      default: return kUnknown;
    }
  }

  Truth Eval(const Expr& e, std::size_t c) const {
    switch (e.kind) {
      case ExprKind::kAnd: {
        const Truth a = Eval(*e.children[0], c);
        return a == kFalse ? kFalse : And(a, Eval(*e.children[1], c));
      }
      case ExprKind::kOr: {
        const Truth a = Eval(*e.children[0], c);
        return a == kTrue ? kTrue : Or(a, Eval(*e.children[1], c));
      }
      case ExprKind::kNot: return Not(Eval(*e.children[0], c));
      case ExprKind::kIsNull: {
        const bool null = Value(*e.children[0], c).kind == Scalar::kNull;
        return null != e.negated ? kTrue : kFalse;
      }
      case ExprKind::kInSegment: return segments_.at(&e)[c] ? kTrue : kFalse;
      case ExprKind::kCompare: return EvalCompare(e, c);
      default: {
        const Scalar v = Value(e, c);  // a bool field or literal used as a condition
        if (v.kind != Scalar::kBool) return kUnknown;
        return v.boolean ? kTrue : kFalse;
      }
    }
  }

  Truth EvalCompare(const Expr& e, std::size_t c) const {
    const Scalar a = Value(*e.children[0], c);
    if (a.kind == Scalar::kNull) return kUnknown;
    const Expr& right = *e.children[1];
    switch (e.op) {
      case Op::kIn: {
        Truth any = kFalse;
        for (const ExprPtr& item : right.children) {
          const Truth t = Compare(Op::kEq, a, Value(*item, c));
          if (t == kTrue) return kTrue;
          if (t == kUnknown) any = kUnknown;
        }
        return any;
      }
      case Op::kContains:
      case Op::kStartsWith:
      case Op::kMatches: {
        const Scalar b = Value(right, c);
        if (a.kind != Scalar::kString || b.kind != Scalar::kString) return kUnknown;
        if (e.op == Op::kContains) return a.text.find(b.text) != std::string_view::npos ? kTrue : kFalse;
        if (e.op == Op::kStartsWith) return a.text.starts_with(b.text) ? kTrue : kFalse;
        const std::regex& re = regexes_.at(&e);
        return std::regex_search(a.text.begin(), a.text.end(), re) ? kTrue : kFalse;
      }
      default: return Compare(e.op, a, Value(right, c));
    }
  }

  const EvalContext& ctx_;
  std::unordered_map<const Expr*, const Column*> columns_;
  std::unordered_map<const Expr*, std::regex> regexes_;
  std::unordered_map<const Expr*, std::vector<bool>> segments_;
  std::unordered_map<const Expr*, std::vector<double>> counts_;
};

void CollectFields(const Expr& e, std::set<std::string>& out) {
  if (e.kind == ExprKind::kField) out.insert(e.text);
  for (const ExprPtr& c : e.children) CollectFields(*c, out);
}

// The value at `path` ("url", "product.sku") in a properties object: strings, numbers and
// booleans as themselves, objects and arrays as their JSON text; nullopt when absent or null.
std::optional<AttributeValue> PropertyValue(simdjson::dom::element object, std::string_view path) {
  simdjson::dom::element v = object;
  while (!path.empty()) {
    const std::size_t dot = path.find('.');
    const std::string_view key = path.substr(0, dot);
    simdjson::dom::object o;
    if (v.get_object().get(o) != simdjson::SUCCESS) return std::nullopt;
    if (o.at_key(key).get(v) != simdjson::SUCCESS) return std::nullopt;
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  }
  switch (v.type()) {
    case simdjson::dom::element_type::STRING: return AttributeValue{std::string(v.get_string().value_unsafe())};
    case simdjson::dom::element_type::INT64: return AttributeValue{static_cast<double>(v.get_int64().value_unsafe())};
    case simdjson::dom::element_type::UINT64: return AttributeValue{static_cast<double>(v.get_uint64().value_unsafe())};
    case simdjson::dom::element_type::DOUBLE: return AttributeValue{v.get_double().value_unsafe()};
    case simdjson::dom::element_type::BOOL: return AttributeValue{v.get_bool().value_unsafe()};
    case simdjson::dom::element_type::NULL_VALUE: return std::nullopt;
    default: return AttributeValue{simdjson::minify(v)};
  }
}

}  // namespace

Result<std::vector<double>> CountEvents(const Expr& count, const EvalContext& context) {
  if (context.table == nullptr) return InvalidArgument("segment", "no customer table");
  if (context.events == nullptr) {
    return FailedPrecondition("segment", "count(event ...) needs the workspace's events, which were not loaded");
  }
  std::vector<double> counts(context.table->customers, 0.0);
  auto it = context.events->by_name.find(count.text);
  if (it == context.events->by_name.end()) return counts;
  const EventLog::Stream& stream = it->second;
  const std::int64_t end = context.now.micros;
  const std::int64_t begin = count.within ? AddDuration(context.now, *count.within, -1, context.zone).micros
                                          : std::numeric_limits<std::int64_t>::min();
  std::vector<std::uint32_t> rows;  // the events in the window
  for (std::size_t i = 0; i < stream.size(); ++i) {
    if (stream.at[i] > begin && stream.at[i] <= end && stream.customer[i] < counts.size()) {
      rows.push_back(static_cast<std::uint32_t>(i));
    }
  }
  if (count.children.empty()) {
    for (std::uint32_t r : rows) counts[stream.customer[r]] += 1;
    return counts;
  }
  // The where clause runs over a table with one row per event in the window and one column
  // per property it names, typed like customer attributes.
  const Expr& where = *count.children[0];
  std::set<std::string> fields;
  CollectFields(where, fields);
  std::map<std::string, std::vector<std::pair<std::uint32_t, AttributeValue>>> values;
  simdjson::dom::parser parser;
  for (std::uint32_t k = 0; k < rows.size(); ++k) {
    simdjson::dom::element doc;
    // In place when the buffer holds the parser's padding after the document, else copied.
    const std::string_view text = stream.Properties(rows[k]);
    const bool in_place = stream.Padded(rows[k]);
    if (parser.parse(text.data(), text.size(), !in_place).get(doc) != simdjson::SUCCESS) continue;
    for (const std::string& field : fields) {
      const std::string_view path = std::string_view(field).substr(field.find('.') + 1);
      if (auto v = PropertyValue(doc, path)) values[field].emplace_back(k, std::move(*v));
    }
  }
  CustomerTable events;
  events.customers = rows.size();
  events.as_of = context.now;
  for (const std::string& field : fields) events.columns[field] = ColumnOfValues(rows.size(), values[field]);
  EvalContext inner = context;
  inner.table = &events;
  inner.events = nullptr;
  TREU_ASSIGN_OR_RETURN(std::vector<bool> match, Interpreter(inner).Run(where));
  for (std::size_t k = 0; k < rows.size(); ++k) {
    if (match[k]) counts[stream.customer[rows[k]]] += 1;
  }
  return counts;
}

Timestamp AddDuration(Timestamp t, const Duration& d, int sign, const TimeZone& zone) {
  const std::int64_t n = sign * d.amount;
  switch (d.unit) {
    case DurationUnit::kHours: return Timestamp{t.micros + n * kMicrosPerHour};
    case DurationUnit::kDays: return Timestamp{t.micros + n * kMicrosPerDay};
    case DurationUnit::kWeeks: return Timestamp{t.micros + 7 * n * kMicrosPerDay};
    case DurationUnit::kMonths:
    case DurationUnit::kYears: {
      // The local date and time of day (not the time elapsed since midnight, which differs
      // on the days clocks change).
      const std::int64_t local = t.micros + zone.OffsetSeconds(t) * kMicrosPerSecond;
      const std::int64_t days = local >= 0 ? local / kMicrosPerDay : (local - kMicrosPerDay + 1) / kMicrosPerDay;
      const CivilDate day = CivilFromDays(days);
      const std::int64_t of_day = local - days * kMicrosPerDay;
      const std::int64_t months = d.unit == DurationUnit::kYears ? 12 * n : n;
      const std::int64_t index = std::int64_t{day.year} * 12 + (day.month - 1) + months;
      CivilDate moved{static_cast<int>(index >= 0 ? index / 12 : (index - 11) / 12), 0, 1};
      moved.month = static_cast<int>(index - std::int64_t{moved.year} * 12) + 1;
      // Clamp the day to the month's length: the day before the 1st of the next month.
      const CivilDate next = moved.month == 12 ? CivilDate{moved.year + 1, 1, 1} : CivilDate{moved.year, moved.month + 1, 1};
      const int last = CivilFromDays(DaysFromCivil(next) - 1).day;
      moved.day = std::min(day.day, last);
      return zone.ToUtc(moved, of_day);
    }
  }
  return t;
}

Result<std::vector<bool>> Evaluate(const Expr& bound, const EvalContext& context) {
  if (context.table == nullptr) return InvalidArgument("segment", "no customer table");
  return Interpreter(context).Run(bound);
}

}  // namespace treu::segment
