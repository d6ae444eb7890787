#include "app/segment_commands.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "analytics/customer_table.hpp"
#include "analytics/predictions.hpp"
#include "ingest/csv_reader.hpp"
#include "segments/binder.hpp"
#include "segments/evaluator.hpp"
#include "segments/fields.hpp"

namespace treu::app {
namespace {

using nlohmann::json;

struct SegmentFlags {
  std::string action, expr;
  bool count = false, ids = false, csv = false, json = false;
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

int Explain(const std::string& text) {
  auto bound = segment::ParseAndBind(text);
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

int Eval(Context& ctx, const SegmentFlags& f) {
  auto bound = segment::ParseAndBind(f.expr);
  if (!bound) return Fail(bound.error());
  auto store = ctx.OpenStore();
  if (!store) return Fail(store.error());
  auto ws = (*store)->FindWorkspace(ctx.workspace);
  if (!ws) return Fail(ws.error());
  auto snap = BuildSnapshot(**store, ws->id);
  if (!snap) return Fail(snap.error());
  const Timestamp now = ctx.clock.Now();
  // Today's predictions when the workspace's purchase model has been fitted.
  std::optional<CustomerPredictions> predictions;
  if (auto runs = LatestRuns(**store, *ws)) {
    auto p = PredictCustomers(**snap, runs->purchase, runs->spend, now);
    if (!p) return Fail(p.error());
    predictions = std::move(*p);
  }
  auto table = BuildCustomerTable(**store, **snap, predictions ? &*predictions : nullptr, now);
  if (!table) return Fail(table.error());
  auto zone = TimeZone::Find(ws->time_zone);
  if (!zone) return Fail(zone.error());
  segment::EvalContext ec{&*table, now, *zone, {}};
  auto members = segment::Evaluate(**bound, ec);
  if (!members) return Fail(members.error());
  std::vector<Snapshot::Index> in;
  for (Snapshot::Index c = 0; c < members->size(); ++c) {
    if ((*members)[c]) in.push_back(c);
  }
  if (f.json) {
    json out = {{"expr", segment::PrintSegment(**bound)}, {"count", in.size()}, {"customers", table->customers}};
    if (f.ids) {
      json ids = json::array();
      for (auto c : in) ids.push_back((*snap)->external_id(c));
      out["ids"] = ids;
    }
    std::printf("%s\n", out.dump(2).c_str());
  } else if (f.ids) {
    for (auto c : in) std::printf("%s\n", (*snap)->external_id(c).c_str());
  } else if (f.csv) {
    const Column* email = table->Find("email");
    std::printf("customer_id,email\n");
    for (auto c : in) {
      std::string line;
      AppendCsvField(line, (*snap)->external_id(c));
      line += ',';
      if (email != nullptr && !email->IsNull(c)) AppendCsvField(line, email->dictionary[static_cast<std::size_t>(email->codes[c])]);
      std::printf("%s\n", line.c_str());
    }
  } else {
    std::printf("%zu of %zu customers\n", in.size(), table->customers);
  }
  return 0;
}

}  // namespace

std::function<int()> SetupSegment(CLI::App& cmd, Context& ctx) {
  auto f = std::make_shared<SegmentFlags>();
  cmd.add_option("ACTION", f->action, "eval (the customers matching EXPR), explain (how EXPR binds) or fields")
      ->required()
      ->check(CLI::IsMember({"eval", "explain", "fields"}));
  cmd.add_option("EXPR", f->expr, "a segment expression (docs/segments.md), e.g. 'revenue_total > 100'");
  auto* count = cmd.add_flag("--count", f->count, "eval: print the number of members (default)");
  auto* ids = cmd.add_flag("--ids", f->ids, "eval: print the members' ids, one per line");
  auto* csv = cmd.add_flag("--csv", f->csv, "eval: print the members as CSV (customer_id,email)");
  ids->excludes(csv);
  count->excludes(ids)->excludes(csv);
  cmd.add_flag("--json", f->json, "eval: print JSON ({\"expr\", \"count\", \"customers\", \"ids\" with --ids})");
  return [f, &ctx]() -> int {
    if (f->action == "fields") return ListFields();
    if (f->expr.empty()) return Fail(Error(ErrorCode::kInvalidArgument, "segment " + f->action, "EXPR is required"));
    if (f->action == "explain") return Explain(f->expr);
    return Eval(ctx, *f);
  };
}

}  // namespace treu::app
