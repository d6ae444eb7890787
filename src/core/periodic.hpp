// A background thread that does one piece of work every few seconds, and at once when woken:
// the shape of treu serve's schedulers (campaigns, journeys). The destructor lets the pass
// under way finish and stops the thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace treu {

class Periodic {
 public:
  // Starts the thread; `pass` runs at once, then every `poll_seconds` (>= 1) or when woken.
  Periodic(std::function<void()> pass, int poll_seconds);
  ~Periodic();
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  // Asks for a pass now (after the one under way, if any).
  void Wake();

 private:
  void Run();

  std::function<void()> pass_;
  int poll_seconds_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool woken_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace treu
