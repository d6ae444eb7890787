// Announces detractors' follow-up items to the webhook their survey names: a JSON POST signed
// with the workspace's webhook key (Treu-Signature, net/webhook_signature.hpp), sent through
// the SSRF-safe client under the workspace's outbound policy. Delivery is at least once: a
// notification stays pending in storage until a 2xx answer, is retried with backoff
// (NextNotifyAttempt) and given up as "failed" after kMaxNotifyAttempts attempts or at once
// when the URL is refused (bad, or a private address the workspace doesn't allow). Receivers
// tell repeats apart by the follow-up id.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/time.hpp"
#include "net/http_client.hpp"
#include "storage/store.hpp"
#include "surveys/answers.hpp"

namespace treu::survey {

// The JSON body announcing `item` of survey `s` to customer `customer` (external id) with
// `email`: {"type": "followup.created", "followup": {...}, "survey": {...}, "customer": {...},
// "score", "category", "answers"}.
std::string FollowUpPayload(const FollowUpItem& item, const Survey& s, const std::string& customer,
                            const std::string& email, const std::string& answers_json);

// Sends the notifications due at `now` (at most `limit`) and records each outcome. Returns how
// many were delivered. Errors only for storage failures.
Result<int> DeliverFollowUpNotifications(Store& store, net::HttpClient& http, std::span<const std::uint8_t> secret,
                                         const SurveyReader& read, Timestamp now, int limit);

// Runs DeliverFollowUpNotifications every `poll_seconds` on its own thread and store connection.
class FollowUpNotifier {
 public:
  struct Options {
    int poll_seconds = 5;
  };
  static Result<std::unique_ptr<FollowUpNotifier>> Start(std::unique_ptr<Store> store, const Clock& clock,
                                                         std::span<const std::uint8_t> secret, SurveyReader read,
                                                         Options options);
  ~FollowUpNotifier();  // finishes the delivery under way
  FollowUpNotifier(const FollowUpNotifier&) = delete;
  FollowUpNotifier& operator=(const FollowUpNotifier&) = delete;

 private:
  FollowUpNotifier(std::unique_ptr<Store> store, const Clock& clock, std::span<const std::uint8_t> secret,
                   SurveyReader read, Options options);
  void Run();

  std::unique_ptr<Store> store_;
  const Clock& clock_;
  std::vector<std::uint8_t> secret_;
  SurveyReader read_;
  Options options_;
  net::CurlHttpClient http_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace treu::survey
