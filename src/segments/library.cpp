#include "segments/library.hpp"

#include "analytics/model_fits.hpp"
#include "segments/evaluator.hpp"
#include "segments/parser.hpp"
#include "segments/vector_evaluator.hpp"

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
  TREU_ASSIGN_OR_RETURN(auto existing, store.FindSegment(ws, name));
  if (existing && existing->builtin) {
    return FailedPrecondition("segment " + std::string(name), "is a built-in segment and can't be changed");
  }
  TREU_ASSIGN_OR_RETURN(SegmentLibrary lib, SegmentLibrary::Load(store, ws));
  BindOptions o;
  o.lookup = lib.Lookup();
  o.self_name = std::string(name);
  TREU_ASSIGN_OR_RETURN(ExprPtr bound, ParseAndBind(text, o));
  (void)bound;
  return store.SaveSegment({0, ws, std::string(name), std::string(text), now, now});
}

Result<SegmentDefinition> UpdateChecked(Store& store, WorkspaceId ws, std::int64_t id,
                                        std::optional<std::string_view> name, std::optional<std::string_view> text,
                                        Timestamp now) {
  TREU_ASSIGN_OR_RETURN(auto found, store.FindSegmentById(ws, id));
  if (!found) return NotFound("segment " + std::to_string(id), "no such segment");
  SegmentDefinition seg = std::move(*found);
  if (seg.builtin) return FailedPrecondition("segment " + seg.name, "is a built-in segment and can't be changed");
  TREU_ASSIGN_OR_RETURN(SegmentLibrary lib, SegmentLibrary::Load(store, ws));
  if (name && *name != seg.name) {
    TREU_RETURN_IF_ERROR(ValidateSegmentName(*name));
    const auto users = lib.ReferencesTo(seg.name);
    if (!users.empty()) {
      std::string list;
      for (const auto& u : users) list += (list.empty() ? "" : ", ") + u;
      return FailedPrecondition("segment " + seg.name, "can't be renamed: in_segment in " + list + " refers to it");
    }
  }
  const std::string old_name = seg.name;
  if (name) seg.name = std::string(*name);
  if (text) seg.expr = std::string(*text);
  // Bind under the new name, without the old one (a reference to it would be unknown now).
  const SegmentLookup all = lib.Lookup();
  BindOptions o;
  o.lookup = [&all, &old_name, &seg](std::string_view n) -> std::optional<SavedSegment> {
    if (n == old_name && old_name != seg.name) return std::nullopt;
    return all(n);
  };
  o.self_name = seg.name;
  TREU_ASSIGN_OR_RETURN(ExprPtr bound, ParseAndBind(seg.expr, o));
  (void)bound;
  seg.updated_at = now;
  return store.UpdateSegment(seg);
}

Status DeleteChecked(Store& store, WorkspaceId ws, std::string_view name) {
  TREU_ASSIGN_OR_RETURN(auto found, store.FindSegment(ws, name));
  if (!found) return NotFound("segment " + std::string(name), "no such segment");
  if (found->builtin) return FailedPrecondition("segment " + std::string(name), "is a built-in segment and can't be deleted");
  TREU_ASSIGN_OR_RETURN(SegmentLibrary lib, SegmentLibrary::Load(store, ws));
  const auto users = lib.ReferencesTo(name);
  if (!users.empty()) {
    std::string list;
    for (const auto& u : users) list += (list.empty() ? "" : ", ") + u;
    return FailedPrecondition("segment " + std::string(name), "is used by in_segment in " + list);
  }
  return store.DeleteSegment(ws, name);
}

bool SegmentLibrary::NeedsEvents(const Expr& e, int depth) const {
  if (e.kind == ExprKind::kCount) return true;
  if (e.kind == ExprKind::kInSegment && depth < kMaxSegmentReferenceDepth) {
    auto it = entries_->find(e.text);
    if (it != entries_->end() && NeedsEvents(*it->second.expr, depth + 1)) return true;
  }
  for (const ExprPtr& c : e.children) {
    if (NeedsEvents(*c, depth)) return true;
  }
  return false;
}

Result<SegmentData> SegmentData::Build(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                       Timestamp now, bool with_events, PredictionCache* predictions,
                                       const std::function<void(Snapshot::Index, const Customer&)>& each_customer) {
  // Today's predictions when the workspace's purchase model has been fitted.
  auto current = CurrentPredictions(store, s, now, predictions);
  if (!current && current.error().code() != ErrorCode::kFailedPrecondition) {
    return std::unexpected(current.error());
  }
  SegmentData out;
  out.now = now;
  out.snapshot = s;
  TREU_ASSIGN_OR_RETURN(out.table, BuildCustomerTable(store, *s, current ? current->get() : nullptr, now, each_customer));
  TREU_ASSIGN_OR_RETURN(out.zone, TimeZone::Find(ws.time_zone));
  if (with_events) {
    TREU_ASSIGN_OR_RETURN(EventLog log, LoadEventLog(store, *s));
    out.events = std::make_unique<EventLog>(std::move(log));
  }
  return out;
}

EvalContext SegmentData::Context(const SegmentLibrary& lib) const {
  return EvalContext{&table, now, zone, lib.Resolver(), events.get()};
}

Result<Membership> EvaluateSegment(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                   const Expr& bound, const SegmentLibrary& lib, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(SegmentData data, SegmentData::Build(store, ws, s, now, lib.NeedsEvents(bound), nullptr));
  Membership out;
  TREU_ASSIGN_OR_RETURN(out.members, EvaluateVectorised(bound, data.Context(lib)));
  out.table = std::move(data.table);
  return out;
}

namespace {

// The bound expression of `where` and/or saved segment `name`.
Result<ExprPtr> BindSelection(const SegmentLibrary& lib, std::string_view where, std::string_view name) {
  std::string text(where);
  if (!name.empty()) {
    if (!lib.Has(name)) return NotFound("segment " + std::string(name), "no such segment");
    const std::string ref = "in_segment(" + QuoteString(name) + ")";
    text = text.empty() ? ref : "(" + text + ") and " + ref;
  }
  BindOptions o;
  o.source = text;
  o.lookup = lib.Lookup();
  return ParseAndBind(text, o);
}

}  // namespace

Result<std::vector<bool>> SelectCustomers(Store& store, const Workspace& ws, const std::shared_ptr<const Snapshot>& s,
                                          std::string_view where, std::string_view name, Timestamp now) {
  TREU_ASSIGN_OR_RETURN(SegmentLibrary lib, SegmentLibrary::Load(store, ws.id));
  TREU_ASSIGN_OR_RETURN(ExprPtr bound, BindSelection(lib, where, name));
  TREU_ASSIGN_OR_RETURN(Membership m, EvaluateSegment(store, ws, s, *bound, lib, now));
  return std::move(m.members);
}

Status CheckSelection(Store& store, WorkspaceId ws, std::string_view where, std::string_view name) {
  if (where.empty() && name.empty()) return InvalidArgument("audience", "name a segment or a where expression");
  TREU_ASSIGN_OR_RETURN(SegmentLibrary lib, SegmentLibrary::Load(store, ws));
  TREU_RETURN_IF_ERROR(BindSelection(lib, where, name));
  return Ok();
}

Result<std::vector<bool>> SelectCustomersOn(Store& store, const Workspace& ws, const SegmentData& data,
                                            std::string_view where, std::string_view name) {
  TREU_ASSIGN_OR_RETURN(SegmentLibrary lib, SegmentLibrary::Load(store, ws.id));
  TREU_ASSIGN_OR_RETURN(ExprPtr bound, BindSelection(lib, where, name));
  if (lib.NeedsEvents(*bound) && data.events == nullptr) {
    TREU_ASSIGN_OR_RETURN(Membership m, EvaluateSegment(store, ws, data.snapshot, *bound, lib, data.now));
    return std::move(m.members);
  }
  return EvaluateVectorised(*bound, data.Context(lib));
}

}  // namespace treu::segment
