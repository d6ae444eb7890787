#include "loyalty/writer.hpp"

#include <algorithm>
#include <optional>

namespace treu::loyalty {
namespace {

// Errors after which the batch's transaction may be half done: the group is abandoned.
bool Breaks(const Status& s) {
  return !s && (s.error().code() == ErrorCode::kInternal || s.error().code() == ErrorCode::kUnavailable);
}

}  // namespace

LoyaltyWriter::LoyaltyWriter(std::unique_ptr<Store> store, const Clock& clock, LedgerCache* cache)
    : store_(std::move(store)), clock_(clock), cache_(cache), thread_([this] { Loop(); }) {}

LoyaltyWriter::~LoyaltyWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::int64_t LoyaltyWriter::commits() const {
  std::lock_guard lock(mu_);
  return commits_;
}

void LoyaltyWriter::Submit(const Workspace& ws, Work work, Done done) {
  auto p = std::make_unique<Pending>(Pending{ws, std::move(work), std::move(done), {}});
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(p));
      cv_.notify_one();
      return;
    }
  }
  p->done(Unavailable("loyalty", "the server is shutting down"));
}

Status LoyaltyWriter::Run(const Workspace& ws, Work work) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<Status> out;
  Submit(ws, std::move(work), [&](Status s) {
    std::lock_guard lock(m);
    out = std::move(s);
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return out.has_value(); });
  return std::move(*out);
}

void LoyaltyWriter::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    std::vector<std::unique_ptr<Pending>> taken;
    for (auto& p : queue_) taken.push_back(std::move(p));
    queue_.clear();
    lock.unlock();
    std::vector<WorkspaceId> workspaces;
    for (const auto& p : taken) {
      if (std::find(workspaces.begin(), workspaces.end(), p->ws.id) == workspaces.end()) workspaces.push_back(p->ws.id);
    }
    for (WorkspaceId ws : workspaces) {
      std::vector<Pending*> group;
      for (const auto& p : taken) {
        if (p->ws.id == ws) group.push_back(p.get());
      }
      WriteGroup(group);
    }
    for (auto& p : taken) p->done(std::move(p->status));
    lock.lock();
    commits_ += static_cast<std::int64_t>(workspaces.size());
  }
}

Status LoyaltyWriter::RunAlone(Pending& p, const Program& program) {
  TREU_ASSIGN_OR_RETURN(auto batch, LoyaltyBatch::Begin(*store_, p.ws, program, clock_.Now(), cache_));
  TREU_RETURN_IF_ERROR(p.work(*batch));
  return batch->Commit();
}

Result<Program> LoyaltyWriter::ProgramFor(const Workspace& ws) {
  TREU_ASSIGN_OR_RETURN(auto record, store_->FindLoyaltyProgram(ws.id));
  if (!record) return NotFound("loyalty program", "the workspace has no loyalty program; set one first");
  auto it = programs_.find(ws.id.value);
  if (it != programs_.end() && it->second.first == record->definition) return it->second.second;
  TREU_ASSIGN_OR_RETURN(Program program, ProgramOf(*record, ws));
  programs_[ws.id.value] = {record->definition, program};
  return program;
}

void LoyaltyWriter::WriteGroup(std::vector<Pending*>& group) {
  // The workspace record as the first request saw it; the program as stored now.
  auto program = ProgramFor(group.front()->ws);
  if (!program) {
    for (Pending* p : group) p->status = std::unexpected(program.error());
    return;
  }
  if (group.size() > 1) {
    auto batch = LoyaltyBatch::Begin(*store_, group.front()->ws, *program, clock_.Now(), cache_);
    bool broken = !batch;
    for (Pending* p : group) {
      if (broken) break;
      p->status = p->work(**batch);
      broken = Breaks(p->status);
    }
    if (!broken && (*batch)->Commit()) return;
  }  // the group's transaction, if any, is rolled back here
  for (Pending* p : group) p->status = RunAlone(*p, *program);
}

}  // namespace treu::loyalty
