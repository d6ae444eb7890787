#include "segments/library.hpp"

#include "analytics/model_fits.hpp"
#include "segments/evaluator.hpp"
#include "segments/parser.hpp"

namespace treu::segment {
namespace {

bool RefersTo(const Expr& e, std::string_view name) {
  if (e.kind == ExprKind::kInSegment && e.text == name) return true;
  for (const ExprPtr& c : e.children) {
    if (RefersTo(*c, name)) return true;
  }
  return false;
}

}  // namespace

Result<SegmentLibrary> SegmentLibrary::Load(Store& store, WorkspaceId ws) {
  TREU_ASSIGN_OR_RETURN(auto saved, store.ListSegments(ws));
  SegmentLibrary lib;
  for (SegmentDefinition& s : saved) {
    auto parsed = ParseSegment(s.expr);
    if (!parsed) return std::unexpected(parsed.error().WithContext("segment " + s.name));
    (*lib.entries_)[s.name] = Entry{std::move(s.expr), std::move(*parsed)};
  }
  return lib;
}

SegmentLookup SegmentLibrary::Lookup() const {
  return [entries = entries_](std::string_view name) -> std::optional<SavedSegment> {
    auto it = entries->find(name);
    if (it == entries->end()) return std::nullopt;
    return SavedSegment{it->second.expr.get(), it->second.text};
  };
}

std::function<Result<ExprPtr>(std::string_view)> SegmentLibrary::Resolver() const {
  return [entries = entries_, lookup = Lookup()](std::string_view name) -> Result<ExprPtr> {
    auto it = entries->find(name);
    if (it == entries->end()) return NotFound("segment " + std::string(name), "no such segment");
    BindOptions o;
    o.source = it->second.text;
    o.lookup = lookup;
    o.self_name = std::string(name);
    return Bind(Clone(*it->second.expr), o);
  };
}

std::vector<std::string> SegmentLibrary::ReferencesTo(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [other, entry] : *entries_) {
    if (other != name && RefersTo(*entry.expr, name)) out.push_back(other);
  }
  return out;
}

Result<SegmentDefinition> SaveChecked(Store& store, WorkspaceId ws, std::string_view name, std::string_view text,
                                      Timestamp now) {
  TREU_RETURN_IF_ERROR(ValidateSegmentName(name));
  TREU_ASSIGN_OR_RETURN(SegmentLibrary lib, SegmentLibrary::Load(store, ws));
  BindOptions o;
  o.lookup = lib.Lookup();
  o.self_name = std::string(name);
  TREU_ASSIGN_OR_RETURN(ExprPtr bound, ParseAndBind(text, o));
  (void)bound;
  return store.SaveSegment({0, ws, std::string(name), std::string(text), now, now});
}

Status DeleteChecked(Store& store, WorkspaceId ws, std::string_view name) {
  TREU_ASSIGN_OR_RETURN(SegmentLibrary lib, SegmentLibrary::Load(store, ws));
  if (!lib.Has(name)) return NotFound("segment " + std::string(name), "no such segment");
  const auto users = lib.ReferencesTo(name);
  if (!users.empty()) {
    std::string list;
    for (const auto& u : users) list += (list.empty() ? "" : ", ") + u;
    return FailedPrecondition("segment " + std::string(name), "is used by in_segment in " + list);
  }
  return store.DeleteSegment(ws, name);
}

Result<Membership> EvaluateSegment(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                   const Expr& bound, const SegmentLibrary& lib, Timestamp now) {
  // Today's predictions when the workspace's purchase model has been fitted.
  auto predictions = CurrentPredictions(store, s, now, nullptr);
  if (!predictions && predictions.error().code() != ErrorCode::kFailedPrecondition) {
    return std::unexpected(predictions.error());
  }
  Membership out;
  TREU_ASSIGN_OR_RETURN(out.table, BuildCustomerTable(store, *s, predictions ? predictions->get() : nullptr, now));
  TREU_ASSIGN_OR_RETURN(TimeZone zone, TimeZone::Find(ws.time_zone));
  const EvalContext ec{&out.table, now, zone, lib.Resolver()};
  TREU_ASSIGN_OR_RETURN(out.members, Evaluate(bound, ec));
  return out;
}

Result<std::vector<bool>> SelectCustomers(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                          std::string_view where, std::string_view name, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(SegmentLibrary lib, SegmentLibrary::Load(store, ws.id));
  std::string text(where);
  if (!name.empty()) {
    if (!lib.Has(name)) return NotFound("segment " + std::string(name), "no such segment");
    const std::string ref = "in_segment(" + QuoteString(name) + ")";
    text = text.empty() ? ref : "(" + text + ") and " + ref;
  }
  BindOptions o;
  o.source = text;
  o.lookup = lib.Lookup();
  TREU_ASSIGN_OR_RETURN(ExprPtr bound, ParseAndBind(text, o));
  TREU_ASSIGN_OR_RETURN(Membership m, EvaluateSegment(store, ws, s, *bound, lib, now));
  return std::move(m.members);
}

}  // namespace treu::segment
