#include "api/segment_routes.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "api/problem.hpp"
#include "api/route_support.hpp"
#include "api/segment_export.hpp"
#include "segments/fields.hpp"
#include "api/segment_json.hpp"
#include "segments/library.hpp"
#include "segments/parser.hpp"
#include "segments/vector_evaluator.hpp"

namespace treu::api {
namespace {

using nlohmann::json;

constexpr int kMaxSample = 100;
constexpr int kDefaultSample = 10;

// A parse or bind error as JSON: line and column (null when unknown), the message, and the
// whole text with the source line and caret.
json SegmentErrorJson(const Error& e) {
  json out = {{"line", nullptr}, {"column", nullptr}, {"message", e.detail().substr(0, e.detail().find('\n'))},
              {"text", e.ToString()}};
  const std::string& where = e.context();
  if (where.starts_with("segment:")) {
    int line = 0, column = 0;
    if (std::sscanf(where.c_str() + 8, "%d:%d", &line, &column) == 2) {
      out["line"] = line;
      out["column"] = column;
    }
  }
  return out;
}

// An error of the segment text, attributed to the request's "expr" field.
Error AtExpr(const Error& e) {
  return e.code() == ErrorCode::kInvalidArgument ? Error(ErrorCode::kInvalidArgument, "/expr", e.ToString()) : e;
}

// The expression of a request body: "expr" (text) or "ast" (the JSON form), not both.
// nullopt when neither is given.
Result<std::optional<std::string>> ExprOf(const json& body) {
  const bool has_text = body.contains("expr"), has_ast = body.contains("ast");
  if (has_text && has_ast) return InvalidArgument("ast", "give either expr (text) or ast (JSON form), not both");
  if (has_text) {
    if (!body["expr"].is_string()) return InvalidArgument("expr", "must be a string of the segment language");
    return std::optional<std::string>(body["expr"].get<std::string>());
  }
  if (has_ast) {
    auto tree = SegmentFromJson(body["ast"]);
    if (!tree) return std::unexpected(Error(ErrorCode::kInvalidArgument, "/ast", tree.error().ToString()));
    return std::optional<std::string>(segment::PrintSegment(**tree));
  }
  return std::optional<std::string>();
}

// The newest recorded size of a segment, if any.
Result<std::optional<SegmentSize>> LatestSize(RequestContext& ctx, std::int64_t id, Timestamp since) {
  TREU_ASSIGN_OR_RETURN(auto sizes, ctx.store.ListSegmentSizes(ctx.workspace(), id, since));
  if (sizes.empty()) return std::optional<SegmentSize>();
  return std::optional<SegmentSize>(sizes.back());
}

json SegmentJson(const SegmentDefinition& s, const std::optional<SegmentSize>& size) {
  json ast = nullptr;
  if (auto tree = segment::ParseSegment(s.expr)) ast = SegmentToJson(**tree);
  return {{"id", s.id},
          {"name", s.name},
          {"expr", s.expr},
          {"ast", ast},
          {"builtin", s.builtin},
          {"size", size ? json(size->size) : json(nullptr)},
          {"size_at", size ? json(FormatTimestamp(size->at)) : json(nullptr)},
          {"created_at", FormatTimestamp(s.created_at)},
          {"updated_at", FormatTimestamp(s.updated_at)}};
}

Result<SegmentDefinition> SegmentOf(RequestContext& ctx) {
  const std::string& text = ctx.params.at("id");
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  std::optional<SegmentDefinition> found;
  if (ec == std::errc() && p == text.data() + text.size()) {
    TREU_ASSIGN_OR_RETURN(found, ctx.store.FindSegmentById(ctx.workspace(), id));
  }
  if (!found) return NotFound("segment " + text, "no such segment in this workspace");
  return std::move(*found);
}

void Wake(RequestContext& ctx) {
  if (ctx.segments != nullptr) ctx.segments->Wake();
}

Result<HttpResponse> ListSegments(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(auto all, ctx.store.ListSegments(ctx.workspace()));
  const Timestamp since{ctx.clock.Now().micros - 2 * kMicrosPerDay};  // sizes are recorded daily
  json data = json::array();
  for (const SegmentDefinition& s : all) {
    TREU_ASSIGN_OR_RETURN(auto size, LatestSize(ctx, s.id, since));
    data.push_back(SegmentJson(s, size));
  }
  return JsonResponse({{"data", data}});
}

Result<HttpResponse> CreateSegment(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"name", "expr", "ast"}));
  if (!body.contains("name") || !body["name"].is_string()) return InvalidArgument("name", "is required (a string)");
  TREU_ASSIGN_OR_RETURN(auto text, ExprOf(body));
  if (!text) return InvalidArgument("expr", "is required (or ast)");
  const std::string name = body["name"].get<std::string>();
  if (auto valid = ValidateSegmentName(name); !valid) return InvalidArgument("name", valid.error().detail());
  TREU_ASSIGN_OR_RETURN(auto existing, ctx.store.FindSegment(ctx.workspace(), name));
  if (existing) return AlreadyExists("name", "a segment named '" + name + "' exists");
  auto saved = segment::SaveChecked(ctx.store, ctx.workspace(), name, *text, ctx.clock.Now());
  if (!saved) return std::unexpected(AtExpr(saved.error()));
  Wake(ctx);
  HttpResponse r = JsonResponse(SegmentJson(*saved, std::nullopt), 201);
  r.headers.emplace_back("Location", "/api/v1/segments/" + std::to_string(saved->id));
  return r;
}

Result<HttpResponse> GetSegment(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(SegmentDefinition s, SegmentOf(ctx));
  const Timestamp now = ctx.clock.Now();
  TREU_ASSIGN_OR_RETURN(auto sizes, ctx.store.ListSegmentSizes(ctx.workspace(), s.id, Timestamp{now.micros - 90 * kMicrosPerDay}));
  json out = SegmentJson(s, sizes.empty() ? std::nullopt : std::optional<SegmentSize>(sizes.back()));
  json history = json::array();
  for (const SegmentSize& z : sizes) history.push_back({{"at", FormatTimestamp(z.at)}, {"size", z.size}});
  out["history"] = history;
  return JsonResponse(out);
}

Result<HttpResponse> UpdateSegment(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(SegmentDefinition s, SegmentOf(ctx));
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"name", "expr", "ast"}));
  std::optional<std::string> name;
  if (body.contains("name")) {
    if (!body["name"].is_string()) return InvalidArgument("name", "must be a string");
    name = body["name"].get<std::string>();
    if (auto valid = ValidateSegmentName(*name); !valid) return InvalidArgument("name", valid.error().detail());
  }
  TREU_ASSIGN_OR_RETURN(auto text, ExprOf(body));
  auto saved = segment::UpdateChecked(ctx.store, ctx.workspace(), s.id, name, text, ctx.clock.Now());
  if (!saved) {
    const Error& e = saved.error();
    if (e.code() == ErrorCode::kAlreadyExists) {
      return std::unexpected(Error(e.code(), "name", e.detail()));
    }
    return std::unexpected(AtExpr(e));
  }
  Wake(ctx);
  TREU_ASSIGN_OR_RETURN(auto size, LatestSize(ctx, saved->id, Timestamp{0}));
  return JsonResponse(SegmentJson(*saved, size));
}

Result<HttpResponse> DeleteSegment(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(SegmentDefinition s, SegmentOf(ctx));
  TREU_RETURN_IF_ERROR(segment::DeleteChecked(ctx.store, ctx.workspace(), s.name));
  HttpResponse r;
  r.status = 204;
  return r;
}

Result<HttpResponse> Preview(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(json body, BodyObject(ctx.request, {"expr", "ast", "sample"}));
  TREU_ASSIGN_OR_RETURN(auto text, ExprOf(body));
  if (!text) return InvalidArgument("expr", "is required (or ast)");
  int sample = kDefaultSample;
  if (body.contains("sample")) {
    if (!body["sample"].is_number_integer() || body["sample"].get<int>() < 0 || body["sample"].get<int>() > kMaxSample) {
      return InvalidArgument("sample", "must be a whole number from 0 to " + std::to_string(kMaxSample));
    }
    sample = body["sample"].get<int>();
  }
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  TREU_ASSIGN_OR_RETURN(segment::SegmentLibrary lib, segment::SegmentLibrary::Load(ctx.store, ws.id));
  segment::BindOptions o;
  o.lookup = lib.Lookup();
  auto bound = segment::ParseAndBind(*text, o);
  if (!bound) {
    if (bound.error().code() != ErrorCode::kInvalidArgument) return std::unexpected(bound.error());
    return JsonResponse({{"valid", false}, {"expr", *text}, {"errors", json::array({SegmentErrorJson(bound.error())})},
                 {"count", nullptr}, {"customers", nullptr}, {"sample", json::array()}});
  }
  TREU_ASSIGN_OR_RETURN(auto snap, SnapshotOf(ctx));
  TREU_ASSIGN_OR_RETURN(segment::SegmentData data,
                        segment::SegmentData::Build(ctx.store, ws, snap, ctx.clock.Now(), lib.NeedsEvents(**bound),
                                                    ctx.predictions));
  TREU_ASSIGN_OR_RETURN(std::vector<bool> members, segment::EvaluateVectorised(**bound, data.Context(lib)));
  std::size_t count = 0;
  json rows = json::array();
  const Column* email = data.table.Find("email");
  for (Snapshot::Index c = 0; c < members.size(); ++c) {
    if (!members[c]) continue;
    if (static_cast<int>(count++) >= sample) continue;
    json row = {{"customer_id", snap->external_id(c)}, {"email", nullptr}};
    if (email != nullptr && !email->IsNull(c)) row["email"] = email->dictionary[static_cast<std::size_t>(email->codes[c])];
    rows.push_back(row);
  }
  return JsonResponse({{"valid", true},
               {"expr", segment::PrintSegment(**bound)},
               {"ast", SegmentToJson(**bound)},
               {"errors", json::array()},
               {"count", count},
               {"customers", data.table.customers},
               {"sample", rows}});
}

// The type a visual builder shows for a field: enum for strings of a closed set.
std::string_view BuilderType(const segment::FieldInfo& f) {
  if (f.type == segment::Type::kString && !f.values.empty()) return "enum";
  return segment::TypeName(f.type);
}

Result<HttpResponse> Fields(RequestContext&) {
  json data = json::array();
  for (const segment::FieldInfo& f : segment::Fields()) {
    json row = {{"name", f.name}, {"kind", "field"},   {"type", BuilderType(f)},
                {"group", f.group}, {"description", f.description}, {"example", f.example}};
    if (!f.values.empty()) {
      json values = json::array();
      for (std::string_view v : f.values) values.push_back(v);
      row["values"] = values;
    }
    data.push_back(std::move(row));
  }
  for (const segment::FunctionInfo& f : segment::Functions()) {
    data.push_back({{"name", f.name}, {"kind", "function"}, {"type", segment::TypeName(f.type)},
                    {"syntax", f.syntax}, {"description", f.description}, {"example", f.example}});
  }
  return JsonResponse({{"data", data}});
}

Result<HttpResponse> Export(RequestContext& ctx) {
  std::string format = "csv";
  if (const std::string* f = ctx.request.Query("format")) format = *f;
  if (format != "csv" && format != "jsonl") return InvalidArgument("format", "must be csv or jsonl");
  TREU_ASSIGN_OR_RETURN(SegmentDefinition seg, SegmentOf(ctx));
  TREU_ASSIGN_OR_RETURN(Workspace ws, TheWorkspace(ctx));
  TREU_ASSIGN_OR_RETURN(auto snap, SnapshotOf(ctx));
  TREU_ASSIGN_OR_RETURN(segment::Membership m, EvaluateSaved(ctx.store, ws, snap, seg.name, ctx.clock.Now()));
  HttpResponse r;
  WriteSegmentExport(*snap, m, format, [&r](std::string_view line) {
    r.body.append(line);
    return true;
  });
  r.content_type = format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson";
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"" + seg.name + (format == "csv" ? ".csv" : ".jsonl") + "\"");
  return r;
}

Result<HttpResponse> Members(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(SegmentDefinition s, SegmentOf(ctx));
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t after, ParseCursor(ctx.request));
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListSegmentMembers(ctx.workspace(), s.id, after, limit + 1));
  const bool more = static_cast<int>(page.size()) > limit;
  if (more) page.resize(static_cast<std::size_t>(limit));
  json data = json::array();
  for (const SegmentMember& m : page) data.push_back({{"customer_id", m.external_id}, {"since", FormatTimestamp(m.since)}});
  return JsonResponse({{"data", data}, {"next_cursor", more ? json(CursorAfter(page.back().customer.value)) : json(nullptr)}});
}

Result<HttpResponse> Transitions(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(SegmentDefinition s, SegmentOf(ctx));
  TREU_ASSIGN_OR_RETURN(int limit, ParseLimit(ctx.request));
  TREU_ASSIGN_OR_RETURN(std::int64_t after, ParseCursor(ctx.request));
  TREU_ASSIGN_OR_RETURN(auto page, ctx.store.ListSegmentTransitions(ctx.workspace(), s.id, after, limit + 1));
  const bool more = static_cast<int>(page.size()) > limit;
  if (more) page.resize(static_cast<std::size_t>(limit));
  json data = json::array();
  for (const SegmentTransition& t : page) {
    data.push_back({{"id", t.id},
                    {"customer_id", t.external_id},
                    {"kind", t.entered ? "entered" : "left"},
                    {"at", FormatTimestamp(t.at)}});
  }
  // The cursor of the last page too, so a consumer can poll for new transitions from it.
  const std::int64_t last = page.empty() ? after : page.back().id;
  return JsonResponse({{"data", data}, {"next_cursor", more ? json(CursorAfter(last)) : json(nullptr)}, {"poll_cursor", CursorAfter(last)}});
}

}  // namespace

std::vector<Route> SegmentRoutes() {
  const std::vector<QueryParam> paging = {{"limit", "page size, 1 to 500 (default 50)"},
                                          {"cursor", "next_cursor of the previous page"}};
  return {
      {"GET", "/api/v1/segments", Access::Requires(Scope::kRead),
       "The saved segments (built-in ones included) with their newest recorded size", ListSegments, "SegmentList"},
      {"POST", "/api/v1/segments", Access::Requires(Scope::kWrite),
       "Save a segment: {\"name\", \"expr\"} (or \"ast\", the JSON form); errors point at /expr with line and "
       "column",
       CreateSegment, "Segment", {}, nullptr, 201},
      {"POST", "/api/v1/segments/preview", Access::Requires(Scope::kRead),
       "Evaluate an expression without saving it: {\"expr\"} (or \"ast\"), optional \"sample\" (0 to 100, default "
       "10); answers its count, a sample of members, and errors with positions when it is not valid",
       Preview, "SegmentPreview"},
      {"GET", "/api/v1/segments/fields", Access::Requires(Scope::kRead),
       "The segment language's fields and functions, for a visual builder: name, kind, type (number, money, "
       "time, duration, string, bool or enum with its values), description and an example condition",
       Fields, "SegmentFields"},
      {"GET", "/api/v1/segments/{id}/export", Access::Requires(Scope::kRead),
       "The segment's members now with their main fields (customer_id, email, orders_count, revenue_total, "
       "last_order_at), as treu segment export: a CSV or JSON-lines attachment",
       Export, "", {{"format", "csv (default) or jsonl"}}},
      {"GET", "/api/v1/segments/{id}", Access::Requires(Scope::kRead),
       "One saved segment with its size history over the last 90 days", GetSegment, "Segment"},
      {"PATCH", "/api/v1/segments/{id}", Access::Requires(Scope::kWrite),
       "Rename (\"name\") and/or change (\"expr\" or \"ast\") a saved segment; built-in segments can't be changed",
       UpdateSegment, "Segment"},
      {"DELETE", "/api/v1/segments/{id}", Access::Requires(Scope::kWrite),
       "Delete a saved segment and its membership log; refused while other segments refer to it", DeleteSegment},
      {"GET", "/api/v1/segments/{id}/members", Access::Requires(Scope::kRead),
       "The segment's members as of its last re-evaluation, by customer", Members, "SegmentMembers", paging},
      {"GET", "/api/v1/segments/{id}/transitions", Access::Requires(Scope::kRead),
       "Who entered and left the segment, in the order recorded; poll with poll_cursor for new ones", Transitions,
       "SegmentTransitions", paging},
  };
}

}  // namespace treu::api
