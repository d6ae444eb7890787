// Keeps the loyalty program of every workspace current in the background: orders and events
// written since the last run earn points (ProcessChanges), and what is due runs (RunDueWork):
// pending points settle, points expire, lapsed holds are released, tiers are reviewed; and
// today's surprises are granted (RunSurprises).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "loyalty/service.hpp"
#include "loyalty/surprises.hpp"

namespace treu::loyalty {

// One pass over every workspace with a program; errors of one workspace are reported on
// stderr and don't stop the others.
void RunLoyaltyPass(Store& store, const Clock& clock, LedgerCache* cache, SurpriseMemo* memo);

class LoyaltyWorker {
 public:
  // Runs RunLoyaltyPass every `poll_seconds` on its own thread and store connection.
  LoyaltyWorker(std::unique_ptr<Store> store, const Clock& clock, LedgerCache* cache, int poll_seconds = 2);
  ~LoyaltyWorker();  // finishes the pass under way
  LoyaltyWorker(const LoyaltyWorker&) = delete;
  LoyaltyWorker& operator=(const LoyaltyWorker&) = delete;

 private:
  void Run();

  std::unique_ptr<Store> store_;
  const Clock& clock_;
  LedgerCache* cache_;
  SurpriseMemo memo_;  // used by the worker's thread only
  int poll_seconds_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace treu::loyalty
