// A one-line progress bar on a terminal's stderr; silent when stderr is not a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace treu::app {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar() { Clear(); }

  // Erases the bar so normal output can follow.
  void Clear();

  // `done` of `total` units (total 0: unknown); `rows` shown as a count with a rate.
  // Redraws at most ten times a second.
  void Update(std::int64_t done, std::int64_t total, std::int64_t rows);

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

// "1,234,567"
std::string GroupDigits(std::int64_t n);

}  // namespace treu::app
