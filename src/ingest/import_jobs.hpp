// CSV imports sent over HTTP, run as background jobs one at a time.
//
// Submit records a queued job (Store::CreateImportJob), spools the CSV to a private
// directory and returns at once; a runner thread with its own store connection imports the
// file with ImportCsvFile (all-or-nothing unless skip_invalid) and records the outcome. While
// a job runs, its progress is kept in memory (the import's write transaction is open, so it
// can't be written to the store meanwhile) and Find merges it into the stored row. A job that
// was queued or running when the server stopped is marked failed at the next start: its
// import wrote nothing.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/time.hpp"
#include "ingest/csv_import.hpp"
#include "storage/store.hpp"

namespace treu {

struct ImportJobRequest {
  ImportKind kind = ImportKind::kOrders;
  std::string file_name;                          // for display; may be empty
  std::map<std::string, std::string> column_map;  // source column → canonical name
  bool skip_invalid = false;                      // import the valid rows, list the others
};

class ImportJobs {
 public:
  // At most this many rejected rows are listed in a job's issues.
  static constexpr std::size_t kMaxIssues = 1000;

  // `store` is the runner thread's own connection. Marks jobs left unfinished by an earlier
  // process failed. `spool_dir` is created (mode 0700) if missing.
  static Result<std::unique_ptr<ImportJobs>> Start(std::unique_ptr<Store> store,
                                                   const Clock& clock,
                                                   std::filesystem::path spool_dir);
  ~ImportJobs();  // cancels the running job (it writes nothing), fails queued ones, joins
  ImportJobs(const ImportJobs&) = delete;
  ImportJobs& operator=(const ImportJobs&) = delete;

  // Queues an import of `csv` into workspace `ws`, recorded through the caller's `store`.
  // InvalidArgument for an unknown column in the map; Unavailable when stopping.
  Result<ImportJob> Submit(Store& store, WorkspaceId ws, const ImportJobRequest& request,
                           std::string_view csv);

  // The job with this id in workspace `ws`, with live progress while it runs.
  Result<std::optional<ImportJob>> Find(Store& store, WorkspaceId ws, std::int64_t id);

 private:
  struct Queued {
    ImportJob job;
    ImportJobRequest request;
    std::filesystem::path path;
  };

  ImportJobs(std::unique_ptr<Store> store, const Clock& clock, std::filesystem::path spool_dir);
  void Run();
  void RunOne(Queued& q);

  std::unique_ptr<Store> store_;  // the runner thread's
  const Clock& clock_;
  const std::filesystem::path spool_dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Queued> queue_;                 // guarded by mu_
  std::optional<ImportJob> running_;         // live progress; guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::int64_t spooled_ = 0;                 // guarded by mu_
  std::thread thread_;
};

}  // namespace treu
