// A workspace's saved segments for the language: loading them, checking a segment before it is
// saved (its expression binds, its name is valid, it refers to no unknown segment and closes
// no cycle), refusing to delete one that others refer to, and resolving in_segment(...) for
// the binder and the evaluator.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "analytics/customer_table.hpp"
#include "segments/binder.hpp"
#include "storage/store.hpp"

namespace treu::segment {

class SegmentLibrary {
 public:
  // The saved segments of `ws`, parsed. A stored expression that no longer parses fails.
  static Result<SegmentLibrary> Load(Store& store, WorkspaceId ws);

  // For BindOptions::lookup (the function keeps the segments alive).
  SegmentLookup Lookup() const;
  // For EvalContext::segment: the saved segment's bound tree.
  std::function<Result<ExprPtr>(std::string_view name)> Resolver() const;
  // The saved segments whose expression refers to `name` with in_segment, by name.
  std::vector<std::string> ReferencesTo(std::string_view name) const;
  bool Has(std::string_view name) const { return entries_->contains(name); }

 private:
  struct Entry {
    std::string text;
    ExprPtr expr;  // parsed, not bound
  };
  using Map = std::map<std::string, Entry, std::less<>>;
  std::shared_ptr<Map> entries_ = std::make_shared<Map>();
};

// Checks and saves segment `name` = `text` in `ws` at `now`: InvalidArgument for a bad name
// or an expression that doesn't bind (with position and caret; cycles through saved segments
// included). Returns the stored row.
Result<SegmentDefinition> SaveChecked(Store& store, WorkspaceId ws, std::string_view name, std::string_view text,
                                      Timestamp now);

// Deletes segment `name` of `ws`; FailedPrecondition naming the segments that refer to it,
// NotFound if there is none.
Status DeleteChecked(Store& store, WorkspaceId ws, std::string_view name);

// A bound expression evaluated over a snapshot as of `now`: the customer table it ran on (with
// today's predictions when the workspace's purchase model has been fitted) and, by snapshot
// index, who is a member.
struct Membership {
  CustomerTable table;
  std::vector<bool> members;
};
Result<Membership> EvaluateSegment(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                   const Expr& bound, const SegmentLibrary& lib, Timestamp now);

// The members of the expression `where` (if not empty) and of the saved segment `name` (if not
// empty; both: the customers in both), for restricting KPIs and cohorts. Errors of parsing,
// binding (with position and caret) and evaluation; NotFound for an unknown segment.
Result<std::vector<bool>> SelectCustomers(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                          std::string_view where, std::string_view name, Timestamp now);

}  // namespace treu::segment
