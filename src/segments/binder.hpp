// Name resolution and type checking of a parsed segment: fields against the registry
// (segments/fields.hpp), operand types of every operator, date literals, regular expressions,
// event where-clauses and in_segment references (unknown names and cycles).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "segments/ast.hpp"

namespace treu::segment {

// A saved segment as the binder needs it: its parsed tree and the text it came from (for
// error carets; may be empty). Both must outlive the Bind() call.
struct SavedSegment {
  const Expr* expr = nullptr;
  std::string_view text;
};

// Returns the saved segment called `name`, or nullopt when there is none.
using SegmentLookup = std::function<std::optional<SavedSegment>(std::string_view name)>;

struct BindOptions {
  std::string_view source;  // text `expr` was parsed from, for carets; may be empty
  SegmentLookup lookup;     // empty: every in_segment(...) is unknown
  std::string self_name;    // the name this segment is saved under, if any, so that a
                            // reference back to it is reported as a cycle
};

inline constexpr int kMaxSegmentReferenceDepth = 32;

// Type-checks `expr` in place and returns it annotated: every node gets a `type`; fields get
// their registry row (`field`; nullptr for the dynamic attributes.* and properties.*, typed
// kAny); string literals compared with a time get `time_micros`/`date_only` (UTC reading,
// see ast.hpp). The root must be a condition (bool or any).
// Money values are compared in major units: `revenue_total > 100` means 100.00.
// Referenced segments are bound too (on copies) to check them and to find cycles; the result
// keeps only the in_segment("name") node, the evaluator resolves it again.
// On failure returns kInvalidArgument with a SegmentError (position and caret), except a cycle:
//   segment: in_segment("a") -> "b" -> "a" is a cycle
// and errors inside a referenced segment, whose context is prefixed with in_segment("name").
// Thread-safe if `lookup` is.
Result<ExprPtr> Bind(ExprPtr expr, const BindOptions& options);

// ParseSegment(text) then Bind() with options.source = text.
Result<ExprPtr> ParseAndBind(std::string_view text, BindOptions options = {});

// Reads "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS]" (a space may replace the T; a trailing Z is
// allowed) as UTC microseconds since the epoch; date_only tells whether a time was given.
// Fails (InvalidArgument) on anything else or an impossible date.
struct ParsedDate {
  std::int64_t micros = 0;
  bool date_only = true;
};
Result<ParsedDate> ParseDateLiteral(std::string_view text);

}  // namespace treu::segment
