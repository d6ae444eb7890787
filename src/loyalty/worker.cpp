#include "loyalty/worker.hpp"

#include <chrono>
#include <cstdio>

namespace treu::loyalty {

void RunLoyaltyPass(Store& store, const Clock& clock, LedgerCache* cache, SurpriseMemo* memo) {
  auto workspaces = store.ListWorkspaces();
  if (!workspaces) {
    std::fprintf(stderr, "treu: loyalty: %s\n", workspaces.error().ToString().c_str());
    return;
  }
  for (const Workspace& ws : *workspaces) {
    auto program = store.FindLoyaltyProgram(ws.id);
    if (!program || !*program) continue;
    if (auto s = ProcessChanges(store, ws, clock, cache); !s) {
      std::fprintf(stderr, "treu: loyalty (%s): %s\n", ws.name.c_str(), s.error().ToString().c_str());
    }
    if (auto s = RunDueWork(store, ws, clock, cache); !s) {
      std::fprintf(stderr, "treu: loyalty (%s): %s\n", ws.name.c_str(), s.error().ToString().c_str());
    }
    if (auto s = RunSurprises(store, ws, clock, cache, memo); !s) {
      std::fprintf(stderr, "treu: loyalty surprises (%s): %s\n", ws.name.c_str(), s.error().ToString().c_str());
    }
  }
}

LoyaltyWorker::LoyaltyWorker(std::unique_ptr<Store> store, const Clock& clock, LedgerCache* cache, int poll_seconds)
    : store_(std::move(store)),
      clock_(clock),
      cache_(cache),
      poll_seconds_(poll_seconds),
      thread_([this] { Run(); }) {}

LoyaltyWorker::~LoyaltyWorker() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void LoyaltyWorker::Run() {
  while (true) {
    RunLoyaltyPass(*store_, clock_, cache_, &memo_);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(poll_seconds_), [this] { return stopping_; });
    if (stopping_) return;
  }
}

}  // namespace treu::loyalty
