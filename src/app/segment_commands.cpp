#include "app/segment_commands.hpp"

#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "analytics/customer_table.hpp"
#include "analytics/predictions.hpp"
#include "ingest/csv_reader.hpp"
#include "segments/binder.hpp"
#include "segments/evaluator.hpp"
#include "segments/fields.hpp"
#include "api/segment_export.hpp"
#include "segments/library.hpp"
#include "segments/membership.hpp"

namespace treu::app {
namespace {

using nlohmann::json;

struct SegmentFlags {
  std::string action;
  std::vector<std::string> args;
  std::string expr;  // eval, explain: args[0]; save: args[1]
  bool count = false, ids = false, csv = false, json = false;
  std::string format = "csv";  // export: csv or jsonl
  std::int64_t after = 0;      // transitions: after this id
  int limit = 100;             // transitions: at most this many
};

// Every field node of a bound tree, in order.
void CollectFields(const segment::Expr& e, std::vector<const segment::Expr*>& out) {
  if (e.kind == segment::ExprKind::kField) out.push_back(&e);
  for (const auto& c : e.children) CollectFields(*c, out);
}

int ListFields() {
  std::printf("%-26s %-9s %-13s %s\n", "FIELD", "TYPE", "GROUP", "DESCRIPTION");
  for (const segment::FieldInfo& f : segment::Fields()) {
    std::printf("%-26s %-9s %-13s %s\n", std::string(f.name).c_str(), std::string(segment::TypeName(f.type)).c_str(),
                std::string(f.group).c_str(), std::string(f.description).c_str());
  }
  std::printf("%-26s %-9s %-13s %s\n", "attributes.<name>", "any", "profile",
              "a custom attribute, typed by its values");
  return 0;
}

int Explain(Context& ctx, const std::string& text) {
  segment::BindOptions o;
  if (auto store = ctx.OpenStore()) {
    if (auto ws = (*store)->FindWorkspace(ctx.workspace)) {
      auto lib = segment::SegmentLibrary::Load(**store, ws->id);
      if (!lib) return Fail(lib.error());
      o.lookup = lib->Lookup();
    }
  }
  auto bound = segment::ParseAndBind(text, o);
  if (!bound) return Fail(bound.error());
  std::printf("%s\n", segment::PrintSegment(**bound).c_str());
  std::vector<const segment::Expr*> fields;
  CollectFields(**bound, fields);
  for (const segment::Expr* f : fields) {
    std::printf("  %-26s %-9s %s\n", f->text.c_str(), std::string(segment::TypeName(f->type)).c_str(),
                f->field != nullptr ? std::string(f->field->description).c_str() : "typed by the data");
  }
  return 0;
}

// The members of a bound expression in the --workspace, with the table they came from.
struct Evaluated {
  std::shared_ptr<const Snapshot> snapshot;
  CustomerTable table;
  std::vector<Snapshot::Index> members;
};

Result<Evaluated> EvaluateIn(Store& store, const Workspace& ws, const segment::Expr& bound,
                             const segment::SegmentLibrary& lib, Timestamp now) {
  Evaluated out;
  TREU_ASSIGN_OR_RETURN(out.snapshot, BuildSnapshot(store, ws.id));
  TREU_ASSIGN_OR_RETURN(segment::Membership m, segment::EvaluateSegment(store, ws, out.snapshot, bound, lib, now));
  out.table = std::move(m.table);
  for (Snapshot::Index c = 0; c < m.members.size(); ++c) {
    if (m.members[c]) out.members.push_back(c);
  }
  return out;
}

int Eval(Context& ctx, const SegmentFlags& f) {
  auto store = ctx.OpenStore();
  if (!store) return Fail(store.error());
  auto ws = (*store)->FindWorkspace(ctx.workspace);
  if (!ws) return Fail(ws.error());
  auto lib = segment::SegmentLibrary::Load(**store, ws->id);
  if (!lib) return Fail(lib.error());
  segment::BindOptions o;
  o.lookup = lib->Lookup();
  auto bound = segment::ParseAndBind(f.expr, o);
  if (!bound) return Fail(bound.error());
  auto evaluated = EvaluateIn(**store, *ws, **bound, *lib, ctx.clock.Now());
  if (!evaluated) return Fail(evaluated.error());
  const auto& snap = evaluated->snapshot;
  const CustomerTable* table = &evaluated->table;
  const std::vector<Snapshot::Index>& in = evaluated->members;
  if (f.json) {
    json out = {{"expr", segment::PrintSegment(**bound)}, {"count", in.size()}, {"customers", table->customers}};
    if (f.ids) {
      json ids = json::array();
      for (auto c : in) ids.push_back(snap->external_id(c));
      out["ids"] = ids;
    }
    std::printf("%s\n", out.dump(2).c_str());
  } else if (f.ids) {
    for (auto c : in) std::printf("%s\n", snap->external_id(c).c_str());
  } else if (f.csv) {
    const Column* email = table->Find("email");
    std::printf("customer_id,email\n");
    for (auto c : in) {
      std::string line;
      AppendCsvField(line, snap->external_id(c));
      line += ',';
      if (email != nullptr && !email->IsNull(c)) AppendCsvField(line, email->dictionary[static_cast<std::size_t>(email->codes[c])]);
      std::printf("%s\n", line.c_str());
    }
  } else {
    std::printf("%zu of %zu customers\n", in.size(), table->customers);
  }
  return 0;
}

int Save(Context& ctx, const std::string& name, const std::string& text) {
  auto store = ctx.OpenStore();
  if (!store) return Fail(store.error());
  auto ws = ctx.EnsureWorkspace(**store);
  if (!ws) return Fail(ws.error());
  auto saved = segment::SaveChecked(**store, ws->id, name, text, ctx.clock.Now());
  if (!saved) return Fail(saved.error());
  std::printf("saved segment %s: %s\n", saved->name.c_str(), saved->expr.c_str());
  return 0;
}

int List(Context& ctx, bool as_json) {
  auto store = ctx.OpenStore();
  if (!store) return Fail(store.error());
  auto ws = (*store)->FindWorkspace(ctx.workspace);
  if (!ws) return Fail(ws.error());
  auto all = (*store)->ListSegments(ws->id);
  if (!all) return Fail(all.error());
  if (as_json) {
    json out = json::array();
    for (const auto& s : *all) {
      out.push_back({{"id", s.id}, {"name", s.name}, {"expr", s.expr}, {"builtin", s.builtin},
                     {"created_at", FormatTimestamp(s.created_at)}, {"updated_at", FormatTimestamp(s.updated_at)}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  for (const auto& s : *all) {
    std::printf("%-24s %s%s\n", s.name.c_str(), s.expr.c_str(), s.builtin ? "  (built-in)" : "");
  }
  return 0;
}

int Show(Context& ctx, const std::string& name, bool as_json) {
  auto store = ctx.OpenStore();
  if (!store) return Fail(store.error());
  auto ws = (*store)->FindWorkspace(ctx.workspace);
  if (!ws) return Fail(ws.error());
  auto found = (*store)->FindSegment(ws->id, name);
  if (!found) return Fail(found.error());
  if (!*found) return Fail(Error(ErrorCode::kNotFound, "segment " + name, "no such segment"));
  auto lib = segment::SegmentLibrary::Load(**store, ws->id);
  if (!lib) return Fail(lib.error());
  auto bound = lib->Resolver()(name);
  if (!bound) return Fail(bound.error());
  auto evaluated = EvaluateIn(**store, *ws, **bound, *lib, ctx.clock.Now());
  if (!evaluated) return Fail(evaluated.error());
  if (as_json) {
    std::printf("%s\n", json({{"name", name}, {"expr", (*found)->expr}, {"count", evaluated->members.size()},
                               {"customers", evaluated->table.customers}})
                             .dump(2)
                             .c_str());
    return 0;
  }
  std::printf("%s: %s\n%zu of %zu customers\n", name.c_str(), (*found)->expr.c_str(), evaluated->members.size(),
              evaluated->table.customers);
  return 0;
}

// Opens the store and finds the --workspace's saved segment `name`.
struct Found : OpenedWorkspace {
  SegmentDefinition segment;
};
Result<Found> FindSaved(Context& ctx, const std::string& name) {
  Found out;
  TREU_ASSIGN_OR_RETURN(static_cast<OpenedWorkspace&>(out), ctx.OpenWorkspace());
  TREU_ASSIGN_OR_RETURN(auto seg, out.store->FindSegment(out.ws.id, name));
  if (!seg) return NotFound("segment " + name, "no such segment");
  out.segment = std::move(*seg);
  return out;
}

int Rename(Context& ctx, const std::string& from, const std::string& to) {
  auto found = FindSaved(ctx, from);
  if (!found) return Fail(found.error());
  auto saved = segment::UpdateChecked(*found->store, found->ws.id, found->segment.id, to, std::nullopt, ctx.clock.Now());
  if (!saved) return Fail(saved.error());
  std::printf("renamed segment %s to %s\n", from.c_str(), saved->name.c_str());
  return 0;
}

int Refresh(Context& ctx, bool as_json) {
  auto store = ctx.OpenStore();
  if (!store) return Fail(store.error());
  auto ws = ctx.EnsureWorkspace(**store);
  if (!ws) return Fail(ws.error());
  auto snapshot = BuildSnapshot(**store, ws->id);
  if (!snapshot) return Fail(snapshot.error());
  auto report = segment::RefreshSegments(**store, *ws, *snapshot, ctx.clock.Now(), nullptr);
  if (!report) return Fail(report.error());
  for (const std::string& f : report->failed) std::fprintf(stderr, "treu: segment %s\n", f.c_str());
  if (as_json) {
    std::printf("%s\n", json({{"segments", report->segments}, {"entered", report->entered}, {"left", report->left},
                               {"failed", report->failed}, {"seconds", report->seconds}})
                             .dump(2)
                             .c_str());
  } else {
    std::printf("refreshed %zu segments in %.2f s: %lld entered, %lld left\n", report->segments, report->seconds,
                static_cast<long long>(report->entered), static_cast<long long>(report->left));
  }
  return report->failed.empty() ? 0 : 1;
}

// Streams the current members of saved segment `name` with their main fields, one line each.
int Export(Context& ctx, const std::string& name, const std::string& format) {
  auto found = FindSaved(ctx, name);
  if (!found) return Fail(found.error());
  auto snapshot = BuildSnapshot(*found->store, found->ws.id);
  if (!snapshot) return Fail(snapshot.error());
  auto evaluated = EvaluateSaved(*found->store, found->ws, *snapshot, name, ctx.clock.Now());
  if (!evaluated) return Fail(evaluated.error());
  const bool written = WriteSegmentExport(**snapshot, *evaluated, format, [](std::string_view line) {
    return std::fwrite(line.data(), 1, line.size(), stdout) == line.size();
  });
  if (!written) return Fail(Error(ErrorCode::kUnavailable, "segment export", "can't write to standard output"));
  return 0;
}

int Transitions(Context& ctx, const std::string& name, const SegmentFlags& f) {
  auto found = FindSaved(ctx, name);
  if (!found) return Fail(found.error());
  auto log = found->store->ListSegmentTransitions(found->ws.id, found->segment.id, f.after, f.limit);
  if (!log) return Fail(log.error());
  auto sizes = found->store->ListSegmentSizes(found->ws.id, found->segment.id, Timestamp{0});
  if (!sizes) return Fail(sizes.error());
  if (f.json) {
    json out = {{"segment", name}, {"transitions", json::array()}, {"sizes", json::array()}};
    for (const SegmentTransition& t : *log) {
      out["transitions"].push_back({{"id", t.id}, {"customer_id", t.external_id}, {"kind", t.entered ? "entered" : "left"},
                                    {"at", FormatTimestamp(t.at)}});
    }
    for (const SegmentSize& z : *sizes) out["sizes"].push_back({{"at", FormatTimestamp(z.at)}, {"size", z.size}});
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  for (const SegmentTransition& t : *log) {
    std::printf("%lld %s %-7s %s\n", static_cast<long long>(t.id), FormatTimestamp(t.at).c_str(),
                t.entered ? "entered" : "left", t.external_id.c_str());
  }
  return 0;
}

int Delete(Context& ctx, const std::string& name) {
  auto store = ctx.OpenStore();
  if (!store) return Fail(store.error());
  auto ws = (*store)->FindWorkspace(ctx.workspace);
  if (!ws) return Fail(ws.error());
  if (auto s = segment::DeleteChecked(**store, ws->id, name); !s) return Fail(s.error());
  std::printf("deleted segment %s\n", name.c_str());
  return 0;
}

}  // namespace

std::function<int()> SetupSegment(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<SegmentFlags>();
  cmd.add_option("ACTION", f->action,
                 "eval EXPR (the customers matching), explain EXPR (how it binds), fields, save NAME EXPR, "
                 "list, show NAME (expression and size), rename NAME NEW, delete NAME, refresh (re-evaluate "
                 "the saved segments and record who entered and left), export NAME (the members, streamed) or "
                 "transitions NAME (who entered and left, and the size history)")
      ->required()
      ->check(CLI::IsMember({"eval", "explain", "fields", "save", "list", "show", "rename", "delete", "refresh",
                             "export", "transitions"}));
  cmd.add_option("ARGS", f->args, "EXPR, or NAME [EXPR]: a segment expression (docs/segments.md), e.g. "
                                  "'revenue_total > 100'");
  auto* count = cmd.add_flag("--count", f->count, "eval: print the number of members (default)");
  auto* ids = cmd.add_flag("--ids", f->ids, "eval: print the members' ids, one per line");
  auto* csv = cmd.add_flag("--csv", f->csv, "eval: print the members as CSV (customer_id,email)");
  ids->excludes(csv);
  count->excludes(ids)->excludes(csv);
  cmd.add_flag("--json", f->json, "eval: print JSON ({\"expr\", \"count\", \"customers\", \"ids\" with --ids}); "
                                  "list, show, refresh, transitions: JSON");
  cmd.add_option("--format", f->format, "export: csv (default) or jsonl (one JSON object per line)")
      ->check(CLI::IsMember({"csv", "jsonl"}));
  cmd.add_option("--after", f->after, "transitions: only those after this id (for paging)");
  cmd.add_option("--limit", f->limit, "transitions: at most this many (default 100)")->check(CLI::Range(1, 100000));
  return [f, &ctx]() -> int {
    const std::string& a = f->action;
    const std::size_t want = a == "save" || a == "rename" ? 2 : a == "fields" || a == "list" || a == "refresh" ? 0 : 1;
    if (f->args.size() != want) {
      const char* usage = a == "save" ? "NAME EXPR" : a == "rename" ? "NAME NEW" : want == 0 ? "no arguments"
                          : a == "eval" || a == "explain" ? "EXPR" : "NAME";
      return Fail(Error(ErrorCode::kInvalidArgument, "segment " + f->action, std::string("takes ") + usage));
    }
    if (f->action == "fields") return ListFields();
    if (f->action == "list") return List(ctx, f->json);
    if (f->action == "save") return Save(ctx, f->args[0], f->args[1]);
    if (f->action == "show") return Show(ctx, f->args[0], f->json);
    if (f->action == "delete") return Delete(ctx, f->args[0]);
    if (f->action == "rename") return Rename(ctx, f->args[0], f->args[1]);
    if (f->action == "refresh") return Refresh(ctx, f->json);
    if (f->action == "export") return Export(ctx, f->args[0], f->format);
    if (f->action == "transitions") return Transitions(ctx, f->args[0], *f);
    f->expr = f->args[0];
    if (f->action == "explain") return Explain(ctx, f->expr);
    return Eval(ctx, *f);
  };
}

}  // namespace treu::app
