#include "ingest/import_jobs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

namespace treu {
namespace {

// The first kMaxIssues issues as ImportJob::issues lines (tabs and line breaks in a message
// become spaces).
std::string IssuesText(const std::vector<ImportIssue>& issues) {
  std::string out;
  for (std::size_t i = 0; i < issues.size() && i < ImportJobs::kMaxIssues; ++i) {
    std::string message = issues[i].message;
    for (char& c : message) {
      if (c == '\t' || c == '\n' || c == '\r') c = ' ';
    }
    out += std::to_string(issues[i].line) + '\t' + std::to_string(issues[i].column) + '\t' + message + '\n';
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<ImportJobs>> ImportJobs::Start(std::unique_ptr<Store> store,
                                                      const Clock& clock,
                                                      std::filesystem::path spool_dir) {
  std::error_code ec;
  std::filesystem::create_directories(spool_dir, ec);
  if (ec || ::chmod(spool_dir.c_str(), 0700) != 0) {
    return Unavailable(spool_dir.string(), "can't create the import spool directory");
  }
  TREU_RETURN_IF_ERROR(store->FailUnfinishedImportJobs(
      "the server stopped during this import; nothing of it was stored", clock.Now()));
  return std::unique_ptr<ImportJobs>(new ImportJobs(std::move(store), clock, std::move(spool_dir)));
}

ImportJobs::ImportJobs(std::unique_ptr<Store> store, const Clock& clock,
                       std::filesystem::path spool_dir)
    : store_(std::move(store)),
      clock_(clock),
      spool_dir_(std::move(spool_dir)),
      thread_([this] { Run(); }) {}

ImportJobs::~ImportJobs() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Result<ImportJob> ImportJobs::Submit(Store& store, WorkspaceId ws, const ImportJobRequest& request,
                                     std::string_view csv) {
  std::int64_t n = 0;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Unavailable("imports", "the server is shutting down");
    n = ++spooled_;
  }
  // Spool first: a job is recorded only when its data is safely on disk.
  const auto path = spool_dir_ / ("import-" + std::to_string(::getpid()) + "-" + std::to_string(n) + ".csv");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(csv.data(), static_cast<std::streamsize>(csv.size()));
    out.close();
    if (!out) {
      std::filesystem::remove(path);
      return Unavailable("imports", "can't spool the upload to " + spool_dir_.string());
    }
  }
  ImportJob job;
  job.workspace = ws;
  job.kind = std::string(ImportKindName(request.kind));
  job.file_name = request.file_name;
  job.bytes_total = static_cast<std::int64_t>(csv.size());
  job.issues = "";
  job.created_at = clock_.Now();
  auto created = store.CreateImportJob(job);
  if (!created) {
    std::filesystem::remove(path);
    return std::unexpected(created.error());
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      std::filesystem::remove(path);
      return Unavailable("imports", "the server is shutting down");
    }
    queue_.push_back({*created, request, path});
  }
  cv_.notify_all();
  return *created;
}

Result<std::optional<ImportJob>> ImportJobs::Find(Store& store, WorkspaceId ws, std::int64_t id) {
  TREU_ASSIGN_OR_RETURN(std::optional<ImportJob> stored, store.FindImportJob(ws, id));
  if (!stored) return stored;
  std::lock_guard lock(mu_);
  if (running_ && running_->id == id && stored->status != JobStatus::kSucceeded &&
      stored->status != JobStatus::kFailed) {
    return running_;
  }
  return stored;
}

void ImportJobs::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) break;
    Queued q = std::move(queue_.front());
    queue_.pop_front();
    running_ = q.job;
    running_->status = JobStatus::kRunning;
    lock.unlock();
    RunOne(q);
    std::filesystem::remove(q.path);
    lock.lock();
    running_.reset();
  }
  // Stopping: what is still queued never ran.
  std::deque<Queued> left;
  left.swap(queue_);
  lock.unlock();
  for (Queued& q : left) {
    q.job.status = JobStatus::kFailed;
    q.job.error = "the server stopped before this import ran; nothing of it was stored";
    q.job.finished_at = clock_.Now();
    (void)store_->UpdateImportJob(q.job);
    std::filesystem::remove(q.path);
  }
}

void ImportJobs::RunOne(Queued& q) {
  ImportJob job = q.job;
  job.status = JobStatus::kRunning;
  auto finish = [&](ImportJob& j) {
    j.finished_at = clock_.Now();
    (void)store_->UpdateImportJob(j);  // a failure here leaves it "running": failed at restart
  };
  if (auto s = store_->UpdateImportJob(job); !s) {
    job.status = JobStatus::kFailed;
    job.error = s.error().ToString();
    return finish(job);
  }
  auto workspace = [&]() -> Result<Workspace> {
    TREU_ASSIGN_OR_RETURN(auto all, store_->ListWorkspaces());
    for (auto& w : all) {
      if (w.id == job.workspace) return w;
    }
    return NotFound("workspace", "no longer exists");
  }();
  if (!workspace) {
    job.status = JobStatus::kFailed;
    job.error = workspace.error().ToString();
    return finish(job);
  }
  ImportOptions options;
  options.column_map = q.request.column_map;
  options.skip_invalid = q.request.skip_invalid;
  options.progress = [&](const ImportProgress& p) {
    std::lock_guard lock(mu_);
    if (!running_) return;
    running_->bytes_read = p.bytes_read;
    running_->rows = p.rows;
  };
  options.cancelled = [&] {
    std::lock_guard lock(mu_);
    return stopping_;
  };
  auto report = ImportCsvFile(*store_, *workspace, q.request.kind, q.path.string(), options, clock_);
  if (!report) {
    job.status = JobStatus::kFailed;
    job.error = report.error().detail() == "cancelled"
                    ? "the server stopped during this import; nothing of it was stored"
                    : report.error().ToString();
    return finish(job);
  }
  job.bytes_read = job.bytes_total;
  job.rows = report->rows;
  job.rows_rejected = report->rows_rejected;
  job.inserted = report->written.inserted;
  job.updated = report->written.updated;
  job.unchanged = report->written.unchanged;
  job.issues = IssuesText(report->issues);
  if (report->committed) {
    job.status = JobStatus::kSucceeded;
  } else {
    job.status = JobStatus::kFailed;
    job.error = report->issues.empty()
                    ? "nothing was imported"
                    : std::to_string(report->issues.size()) +
                          " problems in the file (see issues); nothing was imported";
  }
  finish(job);
}

}  // namespace treu
