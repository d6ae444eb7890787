#include "api/metrics.hpp"

#include <cstdio>

namespace treu::api {
namespace {

std::string Label(std::string_view route) {
  std::string out;
  for (char c : route.empty() ? std::string_view("unmatched") : route) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

void Metrics::ObserveRequest(std::string_view route, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{std::string(route), status}];
  Latency& l = latency_[std::string(route)];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++l.buckets[i];
  }
  ++l.count;
  l.sum += seconds;
}

void Metrics::ObserveTracking(std::int64_t stored, std::int64_t duplicates) {
  std::lock_guard lock(mu_);
  events_stored_ += stored;
  events_duplicate_ += duplicates;
}

void Metrics::ObserveCommit(std::int64_t calls) {
  std::lock_guard lock(mu_);
  ++tracking_commits_;
  tracking_calls_ += calls;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP treu_http_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE treu_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out += "treu_http_requests_total{route=\"" + Label(key.first) + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP treu_http_request_duration_seconds Time to answer a request, by route.\n";
  out += "# TYPE treu_http_request_duration_seconds histogram\n";
  for (const auto& [route, l] : latency_) {
    const std::string r = Label(route);
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      out += "treu_http_request_duration_seconds_bucket{route=\"" + r + "\",le=\"" +
             Number(kBuckets[i]) + "\"} " + std::to_string(l.buckets[i]) + "\n";
    }
    out += "treu_http_request_duration_seconds_bucket{route=\"" + r + "\",le=\"+Inf\"} " +
           std::to_string(l.count) + "\n";
    out += "treu_http_request_duration_seconds_sum{route=\"" + r + "\"} " + Number(l.sum) + "\n";
    out += "treu_http_request_duration_seconds_count{route=\"" + r + "\"} " +
           std::to_string(l.count) + "\n";
  }
  out += "# HELP treu_tracking_events_total Tracked events, by outcome.\n";
  out += "# TYPE treu_tracking_events_total counter\n";
  out += "treu_tracking_events_total{outcome=\"stored\"} " + std::to_string(events_stored_) + "\n";
  out += "treu_tracking_events_total{outcome=\"duplicate\"} " + std::to_string(events_duplicate_) + "\n";
  out += "# HELP treu_tracking_commits_total Group commits of the tracking writer.\n";
  out += "# TYPE treu_tracking_commits_total counter\n";
  out += "treu_tracking_commits_total " + std::to_string(tracking_commits_) + "\n";
  out += "# HELP treu_tracking_calls_per_commit_sum Requests carried by those commits (sum; "
         "divided by the commits, the mean group size).\n";
  out += "# TYPE treu_tracking_calls_per_commit_sum counter\n";
  out += "treu_tracking_calls_per_commit_sum " + std::to_string(tracking_calls_) + "\n";
  return out;
}

}  // namespace treu::api
