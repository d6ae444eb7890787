// Group commit of loyalty writes. REST handlers hand their work to one writer thread, which runs
// everything waiting for a workspace in one LoyaltyBatch and commits it with one fsync; each
// caller is answered once its work is durable. Work that fails (not enough points, out of
// stock, ...) changes nothing and is answered with its error; the others still commit. When a
// group can't commit, every work of it is run again alone, so one bad request never fails the
// others.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "loyalty/service.hpp"

namespace treu::loyalty {

class LoyaltyWriter {
 public:
  // `store` is used by the writer thread only; `clock` and `cache` (may be null) must outlive
  // the writer.
  LoyaltyWriter(std::unique_ptr<Store> store, const Clock& clock, LedgerCache* cache);
  ~LoyaltyWriter();  // runs what is queued, then joins
  LoyaltyWriter(const LoyaltyWriter&) = delete;
  LoyaltyWriter& operator=(const LoyaltyWriter&) = delete;

  // Runs in a batch of the workspace's program; it may run twice (alone after a failed group),
  // so it must keep its outcome in what it captures, overwriting any earlier one.
  using Work = std::function<Status(LoyaltyBatch&)>;
  // Gets the work's status once it is durable (or failed), on the writer thread; must not
  // block for long.
  using Done = std::function<void(Status)>;

  // Queues `work`; `done` runs exactly once (Unavailable, on the calling thread, when the
  // writer is stopping). Thread-safe.
  void Submit(const Workspace& ws, Work work, Done done);
  // Submit and wait. Thread-safe.
  Status Run(const Workspace& ws, Work work);

  std::int64_t commits() const;

 private:
  struct Pending {
    Workspace ws;
    Work work;
    Done done;
    Status status;
  };
  void Loop();
  void WriteGroup(std::vector<Pending*>& group);
  Status RunAlone(Pending& p, const Program& program);

  // The program a workspace's group runs under, parsed again only when its text changed.
  Result<Program> ProgramFor(const Workspace& ws);

  std::unique_ptr<Store> store_;
  const Clock& clock_;
  LedgerCache* cache_;
  std::map<std::int64_t, std::pair<std::string, Program>> programs_;  // writer thread only
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Pending>> queue_;  // guarded by mu_
  bool stopping_ = false;                       // guarded by mu_
  std::int64_t commits_ = 0;                    // guarded by mu_
  std::thread thread_;
};

}  // namespace treu::loyalty
