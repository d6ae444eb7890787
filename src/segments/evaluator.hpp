// Evaluation of a bound segment expression over the customer table: the set of customers for
// whom it holds. Nulls follow three-valued logic (a comparison with a null is unknown; `not`
// of unknown is unknown; `and`/`or` as in SQL) and a customer is a member only when the
// expression is true. This is the row-at-a-time interpreter: simple and the reference a
// faster evaluator is tested against.
#pragma once

#include <functional>
#include <vector>

#include "analytics/customer_table.hpp"
#include "core/time.hpp"
#include "segments/ast.hpp"
#include "segments/events.hpp"

namespace treu::segment {

struct EvalContext {
  const CustomerTable* table = nullptr;
  Timestamp now;                  // now(); also the day "today" for date-only literals
  TimeZone zone = TimeZone::Utc();  // date-only literals are midnight here; months and years
                                    // of durations are calendar units here
  // The bound tree of a saved segment (for in_segment); NotFound if there is none.
  std::function<Result<ExprPtr>(std::string_view name)> segment;
  // The tracked events for count(event ...); null: such conditions fail (FailedPrecondition).
  const EventLog* events = nullptr;
};

// REQUIRES: `bound` came from Bind(). FailedPrecondition for count(event ...) without
// context.events; errors of the segment lookup.
Result<std::vector<bool>> Evaluate(const Expr& bound, const EvalContext& context);

// The value of a bound count(event "name" within D where ...) node for every customer of the
// table: how many of the customer's events of that name happened in (now - D, now] (any time
// up to now without `within`) and satisfy the where clause (three-valued: unknown does not
// count). Never null: a customer without such events counts 0.
Result<std::vector<double>> CountEvents(const Expr& count, const EvalContext& context);

// `t` moved by a duration: hours, days and weeks exactly; months and years in calendar terms
// in `zone` (the same local time of day, the day of month clamped: 31 Jan + 1mo = 28/29 Feb).
Timestamp AddDuration(Timestamp t, const Duration& d, int sign, const TimeZone& zone);

}  // namespace treu::segment
