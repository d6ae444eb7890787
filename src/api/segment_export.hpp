// The export of a saved segment's members with their main fields (customer_id, email,
// orders_count, revenue_total, last_order_at), shared by `treu segment export` and
// GET /api/v1/segments/{id}/export: CSV with a header row, or JSON lines.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "core/status.hpp"
#include "segments/library.hpp"
#include "snapshot/snapshot.hpp"

namespace treu {

// The saved segment `name` of `ws` evaluated now on `s`. Errors of binding and evaluation;
// NotFound for an unknown segment.
Result<segment::Membership> EvaluateSaved(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                          std::string_view name, Timestamp now);

// Hands `write` the export of the members of `m` one line at a time (each ending in "\n"),
// CSV with a header row first or (format "jsonl") one JSON object per member; stops when `write`
// returns false, and returns false then. REQUIRES: format is "csv" or "jsonl".
bool WriteSegmentExport(const Snapshot& s, const segment::Membership& m, std::string_view format,
                        const std::function<bool(std::string_view line)>& write);

}  // namespace treu
