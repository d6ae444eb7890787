// A workspace's saved segments for the language: loading them, checking a segment before it is
// saved (its expression binds, its name is valid, it refers to no unknown segment and closes
// no cycle), refusing to delete one that others refer to, and resolving in_segment(...) for
// the binder and the evaluator.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "analytics/customer_table.hpp"
#include "analytics/model_fits.hpp"
#include "segments/binder.hpp"
#include "segments/evaluator.hpp"
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
  // Whether evaluating `e` needs the events: it has a count(event ...), itself or through
  // the saved segments it refers to.
  bool NeedsEvents(const Expr& e, int depth = 0) const;

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

// Renames (`name`) and/or changes (`text`) saved segment `id` of `ws`, with the checks of
// SaveChecked. FailedPrecondition for a built-in segment and for renaming a segment others
// refer to (naming them); NotFound; AlreadyExists when another segment has the name.
Result<SegmentDefinition> UpdateChecked(Store& store, WorkspaceId ws, std::int64_t id,
                                        std::optional<std::string_view> name, std::optional<std::string_view> text,
                                        Timestamp now);

// Deletes segment `name` of `ws`; FailedPrecondition naming the segments that refer to it
// and for a built-in segment, NotFound if there is none.
Status DeleteChecked(Store& store, WorkspaceId ws, std::string_view name);

// What segments are evaluated over at one instant: the customer table (with today's
// predictions when the purchase model has been fitted), the workspace's time zone and, when
// asked for, the events. Build once to evaluate many segments.
struct SegmentData {
  Timestamp now;
  std::shared_ptr<const Snapshot> snapshot;
  CustomerTable table;
  TimeZone zone = TimeZone::Utc();
  std::unique_ptr<EventLog> events;  // null unless built with_events

  // `predictions` may be null.
  // `each_customer`: as BuildCustomerTable's `each`.
  static Result<SegmentData> Build(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                   Timestamp now, bool with_events, PredictionCache* predictions,
                                   const std::function<void(Snapshot::Index, const Customer&)>& each_customer = {});
  // An evaluation context over this data (valid while it and `lib` live).
  EvalContext Context(const SegmentLibrary& lib) const;
};

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

// Checks an audience without evaluating it: `where` (if not empty) parses and binds (errors with
// position and caret), saved segment `name` (if not empty) exists (NotFound), and at least one
// of them is given (InvalidArgument "audience").
Status CheckSelection(Store& store, WorkspaceId ws, std::string_view where, std::string_view name);

// As SelectCustomers, evaluated over `data` already built (its snapshot and instant), so a caller
// that needs the customer table anyway builds it once.
Result<std::vector<bool>> SelectCustomersOn(Store& store, const Workspace& ws, const SegmentData& data,
                                            std::string_view where, std::string_view name);

}  // namespace treu::segment
