#include "core/periodic.hpp"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace treu {
namespace {

// Polls `done` for up to 10 s (a real thread: no sleeps that assert timing).
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 1000 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return done();
}

TEST(PeriodicTest, RunsAtOnceAndWhenWoken) {
  std::atomic<int> passes{0};
  {
    Periodic p([&] { ++passes; }, /*poll_seconds=*/3600);
    ASSERT_TRUE(Eventually([&] { return passes.load() == 1; }));
    p.Wake();
    ASSERT_TRUE(Eventually([&] { return passes.load() == 2; }));
    p.Wake();
    ASSERT_TRUE(Eventually([&] { return passes.load() == 3; }));
  }  // the destructor stops it without waiting for the hour
  EXPECT_EQ(passes.load(), 3);
}

TEST(PeriodicTest, TheDestructorLetsThePassUnderWayFinish) {
  std::atomic<bool> started{false}, finished{false};
  {
    Periodic p(
        [&] {
          started = true;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          finished = true;
        },
        3600);
    ASSERT_TRUE(Eventually([&] { return started.load(); }));
  }
  EXPECT_TRUE(finished.load());
}

}  // namespace
}  // namespace treu
