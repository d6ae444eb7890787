// Column-at-a-time evaluation of a bound segment expression, and a compiled form of one
// segment that tests a single customer cheaply (live membership).
//
// Both give exactly the results of Evaluate() (segments/evaluator.hpp): the same nulls, the
// same three-valued logic and the same typing rules (a comparison between values of different
// kinds is unknown; bool values only compare with = and !=). A bound tree is first compiled
// against the table: fields become column pointers, constant sub-expressions are folded
// (now() - 90d is computed once), string conditions against a constant become a truth table
// per dictionary code (=, in, contains, starts_with, matches cost one lookup per customer),
// regular expressions are compiled, and in_segment(...) and count(event ...) are evaluated
// for the whole table.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/status.hpp"
#include "segments/ast.hpp"
#include "segments/evaluator.hpp"

namespace treu::segment {

// The set of customers for whom `bound` holds, computed column by column: every condition
// yields two bitmaps (true, unknown) over all customers in 64-bit words, combined word by
// word by and/or/not; comparisons of a column with a constant are tight loops over the typed
// column. Same contract and errors as Evaluate(): InvalidArgument without a table, errors
// of the segment lookup and of CountEvents(). Only reads the table; thread-safe if
// context.segment is.
// REQUIRES: `bound` came from Bind().
Result<std::vector<bool>> EvaluateVectorised(const Expr& bound, const EvalContext& context);

namespace vectorised {
struct Program;
}

// One segment prepared for testing single customers of one table. Compile() does the
// per-segment work (column lookups, constants, regular expressions, dictionary truth tables)
// and evaluates in_segment(...) and count(event ...) over the whole table: their results are
// those at Compile() time, so a CompiledSegment is stale once the referenced segments, the
// events or the table change. Matches() then reads only the customer's row.
//
// The table (context.table) must outlive the CompiledSegment and stay unchanged; the bound
// tree and the rest of the context may go. Matches() is const and thread-safe.
class CompiledSegment {
 public:
  // REQUIRES: `bound` came from Bind(). Errors as EvaluateVectorised().
  static Result<CompiledSegment> Compile(const Expr& bound, const EvalContext& context);

  CompiledSegment(CompiledSegment&&) noexcept;
  CompiledSegment& operator=(CompiledSegment&&) noexcept;
  ~CompiledSegment();

  // Whether the expression is true for `customer` (a row of the table); agrees with
  // Evaluate(bound, context)[customer].
  // REQUIRES: customer < customers().
  bool Matches(std::size_t customer) const;

  // The whole table at once, as EvaluateVectorised() (with in_segment and count results from
  // Compile() time).
  std::vector<bool> MatchAll() const;

  // Rows of the table the segment was compiled against.
  std::size_t customers() const;

 private:
  explicit CompiledSegment(std::unique_ptr<vectorised::Program> program);

  std::unique_ptr<vectorised::Program> program_;
};

}  // namespace treu::segment
