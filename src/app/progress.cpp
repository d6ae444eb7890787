#include "app/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace treu::app {

std::string GroupDigits(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)),
      enabled_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void ProgressBar::Clear() {
  if (drawn_) std::fprintf(stderr, "\r\033[2K");
  drawn_ = false;
}

void ProgressBar::Update(std::int64_t done, std::int64_t total, std::int64_t rows) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  drawn_ = true;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const auto rate = secs > 0 ? static_cast<std::int64_t>(static_cast<double>(rows) / secs) : 0;
  constexpr int kWidth = 30;
  std::string bar;
  if (total > 0) {
    const double frac = static_cast<double>(done) / static_cast<double>(total);
    const int filled = static_cast<int>(frac * kWidth);
    bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
          std::string(static_cast<std::size_t>(kWidth - filled), ' ') + "] " +
          std::to_string(static_cast<int>(frac * 100)) + "% ";
  }
  std::fprintf(stderr, "\r\033[2K%s %s%s rows, %s rows/s", label_.c_str(), bar.c_str(),
               GroupDigits(rows).c_str(), GroupDigits(rate).c_str());
  std::fflush(stderr);
}

}  // namespace treu::app
