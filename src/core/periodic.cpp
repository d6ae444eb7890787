#include "core/periodic.hpp"

#include <chrono>

namespace treu {

Periodic::Periodic(std::function<void()> pass, int poll_seconds)
    : pass_(std::move(pass)), poll_seconds_(poll_seconds < 1 ? 1 : poll_seconds) {
  thread_ = std::thread([this] { Run(); });
}

Periodic::~Periodic() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Periodic::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Periodic::Run() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      woken_ = false;
    }
    pass_();
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(poll_seconds_), [this] { return stopping_ || woken_; });
    if (stopping_) return;
  }
}

}  // namespace treu
