#include "api/import_routes.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "api/problem.hpp"

namespace treu::api {
namespace {

using nlohmann::json;

json JobToJson(const ImportJob& j) {
  // ImportJob::issues: one "<line>\t<column>\t<message>" per line.
  json issues = json::array();
  std::string_view rest = j.issues;
  while (!rest.empty()) {
    const std::string_view row = rest.substr(0, rest.find('\n'));
    rest.remove_prefix(std::min(rest.size(), row.size() + 1));
    const auto t1 = row.find('\t');
    const auto t2 = t1 == std::string_view::npos ? t1 : row.find('\t', t1 + 1);
    if (t2 == std::string_view::npos) continue;
    std::int64_t line = 0, column = 0;
    std::from_chars(row.data(), row.data() + t1, line);
    std::from_chars(row.data() + t1 + 1, row.data() + t2, column);
    issues.push_back({{"line", line}, {"column", column}, {"message", std::string(row.substr(t2 + 1))}});
  }
  const double progress =
      j.status == JobStatus::kSucceeded ? 1.0
      : j.bytes_total > 0 ? static_cast<double>(j.bytes_read) / static_cast<double>(j.bytes_total)
                          : 0.0;
  return {{"id", j.id},
          {"kind", j.kind},
          {"status", JobStatusName(j.status)},
          {"file_name", j.file_name},
          {"bytes_total", j.bytes_total},
          {"bytes_read", j.bytes_read},
          {"progress", static_cast<double>(static_cast<long>(progress * 1000)) / 1000},
          {"rows", j.rows},
          {"rows_rejected", j.rows_rejected},
          {"inserted", j.inserted},
          {"updated", j.updated},
          {"unchanged", j.unchanged},
          {"error", j.error.empty() ? json(nullptr) : json(j.error)},
          {"issues", issues},
          {"created_at", FormatTimestamp(j.created_at)},
          {"finished_at", j.finished_at ? json(FormatTimestamp(*j.finished_at)) : json(nullptr)}};
}

HttpResponse JobResponse(const ImportJob& j, int status) {
  HttpResponse r;
  r.status = status;
  r.body = JobToJson(j).dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

Result<ImportJobs*> Jobs(const RequestContext& ctx) {
  if (ctx.imports == nullptr) return Unavailable("imports", "this server doesn't run imports");
  return ctx.imports;
}

Result<HttpResponse> StartImport(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(ImportJobs * jobs, Jobs(ctx));
  const std::string* kind_text = ctx.request.Query("kind");
  if (kind_text == nullptr) return InvalidArgument("kind", "is required: customers, orders or subscriptions");
  auto kind = ParseImportKind(*kind_text);
  if (!kind) return InvalidArgument("kind", "must be customers, orders or subscriptions");
  ImportJobRequest req;
  req.kind = *kind;
  if (const std::string* name = ctx.request.Query("file_name")) req.file_name = *name;
  if (const std::string* skip = ctx.request.Query("skip_invalid")) {
    if (*skip != "true" && *skip != "false") return InvalidArgument("skip_invalid", "must be true or false");
    req.skip_invalid = *skip == "true";
  }
  for (const auto& [name, value] : ctx.request.query) {
    if (name != "map") continue;
    const auto eq = value.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == value.size()) {
      return InvalidArgument("map", "'" + value + "' is not SOURCE=COLUMN");
    }
    req.column_map[value.substr(0, eq)] = value.substr(eq + 1);
  }
  if (ctx.request.Header("content-type").starts_with("multipart/")) {
    return InvalidArgument("body", "send the CSV file itself as the body (Content-Type: text/csv), "
                                   "e.g. curl --data-binary @orders.csv");
  }
  if (ctx.request.body.empty()) return InvalidArgument("body", "is empty; send the CSV file as the body");
  TREU_ASSIGN_OR_RETURN(ImportJob job, jobs->Submit(ctx.store, ctx.workspace(), req, ctx.request.body));
  HttpResponse r = JobResponse(job, 202);
  r.headers.emplace_back("Location", "/api/v1/imports/" + std::to_string(job.id));
  return r;
}

Result<HttpResponse> GetImport(RequestContext& ctx) {
  TREU_ASSIGN_OR_RETURN(ImportJobs * jobs, Jobs(ctx));
  const std::string& text = ctx.params.at("id");
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  std::optional<ImportJob> job;
  if (ec == std::errc() && p == text.data() + text.size()) {
    TREU_ASSIGN_OR_RETURN(job, jobs->Find(ctx.store, ctx.workspace(), id));
  }
  if (!job) return NotFound("import " + text, "no such import in this workspace");
  return JobResponse(*job, 200);
}

}  // namespace

std::vector<Route> ImportRoutes() {
  return {
      {"POST", "/api/v1/imports", Access::Requires(Scope::kWrite),
       "Start a CSV import (the body is the file, up to 64 MiB); answers 202 with the job",
       StartImport, "ImportJob",
       {{"kind", "customers, orders or subscriptions (required)"},
        {"map", "SOURCE=COLUMN: the file's column SOURCE holds COLUMN (repeatable)"},
        {"skip_invalid", "true: import the valid rows and list the others (default false: all or nothing)"},
        {"file_name", "a name to show for the upload"}},
       nullptr,
       202},
      {"GET", "/api/v1/imports/{id}", Access::Requires(Scope::kRead),
       "An import job's progress and outcome", GetImport, "ImportJob"},
  };
}

}  // namespace treu::api
