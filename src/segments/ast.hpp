// The syntax tree of the segment language, its canonical printer and the error format shared
// by the parser and the binder. See docs/segments.md for the grammar.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace treu::segment {

// A 1-based position in the segment text; columns count bytes. {0, 0} means "unknown" (for
// example a node built from JSON without positions).
struct Pos {
  int line = 0;
  int column = 0;
  bool operator==(const Pos&) const = default;
};

enum class DurationUnit { kHours, kDays, kWeeks, kMonths, kYears };

// `90d`, `6mo`: an amount of calendar units. Months and years are calendar arithmetic, left
// to the evaluator.
struct Duration {
  std::int64_t amount = 0;
  DurationUnit unit = DurationUnit::kDays;
  bool operator==(const Duration&) const = default;
};

// Suffix of a unit as written: "h", "d", "w", "mo", "y".
std::string_view DurationUnitSuffix(DurationUnit unit);
// The unit for a suffix, or nullopt.
std::optional<DurationUnit> DurationUnitFromSuffix(std::string_view suffix);

enum class ExprKind {
  kField,      // text = "revenue_total", "attributes.tier", "properties.url"
  kNumber,     // number
  kString,     // text (unescaped)
  kBool,       // boolean
  kDuration,   // duration
  kNow,        // now()
  kList,       // children = items; only as the right side of `in`
  kCompare,    // op in {kEq..kMatches}; children = {left, right}
  kArith,      // op in {kAdd, kSub}; children = {left, right}
  kAnd,        // children = {left, right}
  kOr,         // children = {left, right}
  kNot,        // children = {operand}
  kIsNull,     // children = {operand}; negated = `is not null`
  kCount,      // text = event name; within (optional); children = {} or {where}
  kInSegment,  // text = segment name
};

enum class Op { kNone, kEq, kNe, kLt, kLe, kGt, kGe, kIn, kContains, kStartsWith, kMatches, kAdd, kSub };

// The spelling of an operator: "=", "<=", "in", "starts_with", "+", ... ("" for kNone).
std::string_view OpSpelling(Op op);

// Types assigned by the binder. kUnbound until Bind() has run.
enum class Type { kUnbound, kBool, kNumber, kMoney, kString, kTime, kDuration, kAny };
// "bool", "number", "money", "string", "time", "duration", "any", "unbound".
std::string_view TypeName(Type type);

struct FieldInfo;

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// One node. A single struct with a kind tag (rather than a class hierarchy) keeps the printer,
// binder and JSON code as plain switches; the payload members a kind uses are listed above.
struct Expr {
  ExprKind kind = ExprKind::kBool;
  Pos pos;  // where the node starts (for binary nodes: the operator)
  Op op = Op::kNone;
  std::string text;
  double number = 0;
  bool boolean = false;
  bool negated = false;
  Duration duration;
  std::optional<Duration> within;
  std::vector<ExprPtr> children;

  // Filled in by the binder (segment/binder.hpp).
  Type type = Type::kUnbound;
  const FieldInfo* field = nullptr;  // kField of the registry; nullptr for dynamic fields
  // kString nodes typed kTime: the date (or date-time) read as UTC, in microseconds since
  // the epoch; date_only when no time of day was written. The evaluator re-reads date-only
  // values as midnight in the workspace time zone.
  std::int64_t time_micros = 0;
  bool date_only = false;
};

// Node constructors (positions optional).
ExprPtr MakeField(std::string name, Pos pos = {});
ExprPtr MakeNumber(double value, Pos pos = {});
ExprPtr MakeString(std::string value, Pos pos = {});
ExprPtr MakeBool(bool value, Pos pos = {});
ExprPtr MakeDuration(Duration d, Pos pos = {});
ExprPtr MakeNow(Pos pos = {});
ExprPtr MakeList(std::vector<ExprPtr> items, Pos pos = {});
ExprPtr MakeBinary(ExprKind kind, Op op, ExprPtr left, ExprPtr right, Pos pos = {});
ExprPtr MakeNot(ExprPtr operand, Pos pos = {});
ExprPtr MakeIsNull(ExprPtr operand, bool negated, Pos pos = {});
ExprPtr MakeCount(std::string event, std::optional<Duration> within, ExprPtr where, Pos pos = {});
ExprPtr MakeInSegment(std::string name, Pos pos = {});

// A deep copy, including binder annotations.
ExprPtr Clone(const Expr& e);

// Structural equality ignoring positions and binder annotations.
bool SameTree(const Expr& a, const Expr& b);

// The canonical text: single spaces around operators, minimal parentheses, strings quoted
// with \" and \\ escapes, numbers in shortest fixed notation. ParseSegment(PrintSegment(e))
// yields a tree SameTree() to e for every tree the parser or SegmentFromJson can produce.
std::string PrintSegment(const Expr& e);

// A string literal as written in the language: "a \"b\"".
std::string QuoteString(std::string_view s);

// The error every parser and binder failure uses: code kInvalidArgument, context
// "segment:LINE:COL", detail = message + "\n" + the source line + "\n" + a caret under the
// column. ToString() gives
//   segment:1:1: unknown field 'x'
//   x < 1
//   ^
// With an unknown position (line 0) the context is just "segment" and there is no caret.
Error SegmentError(std::string_view source, Pos pos, std::string message);

}  // namespace treu::segment
