// Operational metrics in the Prometheus text format: requests by route and status, request
// latency histograms, and tracking ingest counts. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace treu::api {

class Metrics {
 public:
  // Records one answered request. `route` is the matched pattern ("" when none matched).
  void ObserveRequest(std::string_view route, int status, double seconds);
  // Records a tracking request's outcome: events stored and duplicates skipped.
  void ObserveTracking(std::int64_t stored, std::int64_t duplicates);
  // Records one group commit of the tracking writer and the requests (calls) it carried.
  void ObserveCommit(std::int64_t calls);

  // The Prometheus exposition text.
  std::string Render() const;

 private:
  static constexpr std::array<double, 10> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                      0.025,  0.05,  0.1,    0.5,   1.0};
  struct Latency {
    std::array<std::int64_t, kBuckets.size()> buckets{};
    std::int64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, std::int64_t> requests_;  // guarded by mu_
  std::map<std::string, Latency> latency_;                         // guarded by mu_
  std::int64_t events_stored_ = 0;                                 // guarded by mu_
  std::int64_t events_duplicate_ = 0;                              // guarded by mu_
  std::int64_t tracking_commits_ = 0;                              // guarded by mu_
  std::int64_t tracking_calls_ = 0;                                // guarded by mu_
};

}  // namespace treu::api
