// The JSON form of a segment expression's syntax tree, for the HTTP API and storage.
// Every node is an object with "kind" and optional "pos": [line, column]:
//   {"kind": "field", "name": "revenue_total"}
//   {"kind": "number", "value": 12.5}      {"kind": "string", "value": "DE"}
//   {"kind": "bool", "value": true}        {"kind": "now"}
//   {"kind": "duration", "amount": 90, "unit": "d"}          (unit: h, d, w, mo, y)
//   {"kind": "list", "items": [...]}                          (only as the right side of "in")
//   {"kind": "compare", "op": "<=", "left": ..., "right": ...}
//        (op: = != < <= > >= in contains starts_with matches)
//   {"kind": "arith", "op": "-", "left": ..., "right": ...}  (op: + -)
//   {"kind": "and" | "or", "left": ..., "right": ...}
//   {"kind": "not", "operand": ...}
//   {"kind": "is_null", "operand": ..., "negated": false}
//   {"kind": "count", "event": "Page Viewed", "within": {"amount": 7, "unit": "d"}, "where": ...}
//        ("within" and "where" optional)
//   {"kind": "in_segment", "name": "vip"}
// Binder annotations are not part of the form; bind again after reading.
#pragma once

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "segments/ast.hpp"

namespace treu {

// The JSON form of `e`, positions included when known.
nlohmann::json SegmentToJson(const segment::Expr& e);

// Reads the JSON form. Enforces what the parser enforces (field name syntax, lists only after
// "in", finite numbers, duration range, node count and nesting limits; the last by parsing
// the canonical text), so PrintSegment() of the result parses back to the same tree. Fails with kInvalidArgument, context "segment json"
// and a detail naming the JSON pointer: "/left/op: unknown operator '=='".
Result<segment::ExprPtr> SegmentFromJson(const nlohmann::json& j);

}  // namespace treu
