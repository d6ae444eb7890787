#include "ingest/import_jobs.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "storage/sqlite/sqlite_store.hpp"

namespace treu {
namespace {

class ImportJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("treu-import-jobs-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::create_directories(dir_);
    store_ = Open();
    Workspace w;
    w.name = "shop";
    w.time_zone = "Europe/Berlin";
    ws_ = store_->CreateWorkspace(w).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> Open() { return OpenSqliteStore((dir_ / "t.db").string(), clock_).value(); }

  std::unique_ptr<ImportJobs> Jobs() {
    auto jobs = ImportJobs::Start(Open(), clock_, dir_ / "spool");
    EXPECT_TRUE(jobs.has_value()) << jobs.error().ToString();
    return std::move(jobs.value());
  }

  // Polls until the job has finished (at most ~10 s).
  ImportJob Wait(ImportJobs& jobs, std::int64_t id) {
    for (int i = 0; i < 1000; ++i) {
      auto j = jobs.Find(*store_, ws_.id, id).value();
      EXPECT_TRUE(j.has_value());
      if (!j) return {};
      if (j->status == JobStatus::kSucceeded || j->status == JobStatus::kFailed) return *j;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "job " << id << " did not finish";
    return {};
  }

  ManualClock clock_{Timestamp::FromSeconds(1'700'000'000)};
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  Workspace ws_;
};

TEST_F(ImportJobsTest, ImportsInTheBackgroundAndRecordsTheOutcome) {
  auto jobs = Jobs();
  ImportJobRequest req;
  req.kind = ImportKind::kOrders;
  req.file_name = "orders.csv";
  req.column_map["Kunde"] = "customer_id";
  const std::string csv =
      "order_id,Kunde,placed_at,total,currency\n"
      "o1,c1,2024-01-05,19.99,EUR\n"
      "o2,c2,2024-01-06,5.00,EUR\n";
  const ImportJob queued = jobs->Submit(*store_, ws_.id, req, csv).value();
  EXPECT_EQ(queued.status, JobStatus::kQueued);
  EXPECT_EQ(queued.bytes_total, static_cast<std::int64_t>(csv.size()));
  const ImportJob done = Wait(*jobs, queued.id);
  EXPECT_EQ(done.status, JobStatus::kSucceeded) << done.error;
  EXPECT_EQ(done.rows, 2);
  EXPECT_EQ(done.inserted, 2);
  EXPECT_EQ(done.issues, "");
  EXPECT_TRUE(done.finished_at.has_value());
  EXPECT_EQ(store_->Counts(ws_.id).value().orders, 2);
  // Another workspace doesn't see the job; the spooled file is gone.
  EXPECT_FALSE(jobs->Find(*store_, WorkspaceId{ws_.id.value + 1}, queued.id).value().has_value());
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "spool"));
}

TEST_F(ImportJobsTest, ABadFileFailsWithItsIssuesAndWritesNothing) {
  auto jobs = Jobs();
  ImportJobRequest req;
  req.kind = ImportKind::kOrders;
  const std::string csv =
      "order_id,customer_id,placed_at,total,currency\n"
      "o1,c1,2024-01-05,19.99,EUR\n"
      "o2,c2,yesterday,5.00,EUR\n";
  const ImportJob done = Wait(*jobs, jobs->Submit(*store_, ws_.id, req, csv).value().id);
  EXPECT_EQ(done.status, JobStatus::kFailed);
  EXPECT_EQ(done.rows_rejected, 1);
  EXPECT_NE(done.error.find("nothing was imported"), std::string::npos) << done.error;
  EXPECT_TRUE(done.issues.starts_with("3\t3\t")) << done.issues;  // line 3, field 3
  EXPECT_EQ(store_->Counts(ws_.id).value().orders, 0);
  // With skip_invalid the good row goes in.
  req.skip_invalid = true;
  const ImportJob skipped = Wait(*jobs, jobs->Submit(*store_, ws_.id, req, csv).value().id);
  EXPECT_EQ(skipped.status, JobStatus::kSucceeded);
  EXPECT_EQ(skipped.inserted, 1);
  EXPECT_EQ(skipped.rows_rejected, 1);
  EXPECT_EQ(store_->Counts(ws_.id).value().orders, 1);
}

TEST_F(ImportJobsTest, StoppingLeavesNoJobUnfinished) {
  std::vector<std::int64_t> ids;
  {
    auto jobs = Jobs();
    ImportJobRequest req;
    req.kind = ImportKind::kCustomers;
    std::string csv = "customer_id,email\n";
    for (int i = 0; i < 20000; ++i) csv += "c" + std::to_string(i) + ",c" + std::to_string(i) + "@x.example\n";
    for (int i = 0; i < 3; ++i) ids.push_back(jobs->Submit(*store_, ws_.id, req, csv).value().id);
  }  // stops at once: the running job is cancelled, queued ones fail
  for (std::int64_t id : ids) {
    const auto j = store_->FindImportJob(ws_.id, id).value().value();
    EXPECT_TRUE(j.status == JobStatus::kSucceeded || j.status == JobStatus::kFailed)
        << JobStatusName(j.status);
    if (j.status == JobStatus::kFailed) {
      EXPECT_NE(j.error.find("server stopped"), std::string::npos) << j.error;
    }
  }
  // A job left running by a crash is failed by the next start.
  ImportJob crashed;
  crashed.workspace = ws_.id;
  crashed.kind = "orders";
  crashed.status = JobStatus::kRunning;
  crashed.issues = "";
  crashed.created_at = clock_.Now();
  const auto c = store_->CreateImportJob(crashed).value();
  auto jobs = Jobs();
  EXPECT_EQ(store_->FindImportJob(ws_.id, c.id).value()->status, JobStatus::kFailed);
}

}  // namespace
}  // namespace treu
