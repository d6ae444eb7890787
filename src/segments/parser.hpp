// Text -> syntax tree for the segment language (grammar in docs/segments.md).
#pragma once

#include <string_view>

#include "core/status.hpp"
#include "segments/ast.hpp"

namespace treu::segment {

// Limits that keep parsing (and every later recursive pass) bounded on hostile input.
inline constexpr int kMaxNestingDepth = 100;   // parentheses, `not`, where-clauses
inline constexpr int kMaxNodes = 2000;         // nodes in one expression
inline constexpr int kMaxTreeDepth = 500;      // levels of the tree, e.g. a chain of 500 `or`s;
                                               // bounds the recursion of every later pass
inline constexpr std::size_t kMaxTextBytes = 64 * 1024;

// Parses one segment expression. Never throws, crashes or hangs, whatever the bytes; on
// failure returns kInvalidArgument with a SegmentError (context "segment:LINE:COL", detail =
// message, source line and caret). The tree is unbound: types come from Bind().
// Thread-safe.
Result<ExprPtr> ParseSegment(std::string_view text);

// True if `name` is written as a field reference: identifier segments ([A-Za-z_][A-Za-z0-9_]*,
// later segments may start with a digit) joined by '.', and not a reserved word.
bool IsValidFieldName(std::string_view name);

// True for the language's reserved words ("and", "or", "not", "in", "is", "null", ...).
bool IsReservedWord(std::string_view word);

}  // namespace treu::segment
