#include "campaigns/frequency.hpp"

#include <algorithm>
#include <vector>

namespace treu::campaigns {

namespace {

constexpr std::string_view kJourneyTag = "journey:";       // an outbox `campaign` of a journey step
constexpr std::string_view kCampaignKey = "campaign:";     // idempotency keys
constexpr std::string_view kJourneyKey = "journey:";

}  // namespace

std::string JourneyMessageTag(std::string_view journey, std::string_view step) {
  return std::string(kJourneyTag) + std::string(journey) + ":" + std::string(step);
}

Priority PriorityOfMessage(std::string_view campaign) {
  return campaign.starts_with(kJourneyTag) ? Priority::kJourney : Priority::kCampaign;
}

std::string CampaignKey(std::int64_t campaign_id) { return std::string(kCampaignKey) + std::to_string(campaign_id); }

std::string JourneyActionKey(std::string_view run_sequence) { return std::string(kJourneyKey) + std::string(run_sequence); }

bool UnderDeliveryRules(std::string_view idempotency_key) {
  return idempotency_key.starts_with(kCampaignKey) || idempotency_key.starts_with(kJourneyKey);
}
namespace {

// The most messages of `times` (sorted) in one window [s, s + w) that contains `at`.
int FullestWindow(const std::vector<Timestamp>& times, Timestamp at, std::int64_t w) {
  // Windows containing `at` start in (at − w, at]; message t is in the window starting at s
  // when s is in (t − w, t]. Sliding the start right keeps every message it holds until the
  // start passes one of them, so the fullest window starts at a message or at `at` itself.
  auto count_from = [&](std::int64_t start) {
    auto lo = std::lower_bound(times.begin(), times.end(), Timestamp{start});
    auto hi = std::lower_bound(times.begin(), times.end(), Timestamp{start + w});
    return static_cast<int>(hi - lo);
  };
  int best = count_from(at.micros);
  for (const Timestamp& t : times)
    if (t.micros > at.micros - w && t <= at) best = std::max(best, count_from(t.micros));
  return best;
}

}  // namespace

Status CheckFrequencyCap(const FrequencyCap& cap) {
  if (cap.max_messages < 0 || cap.max_messages > 1000)
    return InvalidArgument("frequency_cap.max_messages", "must be between 0 (no cap) and 1000");
  if (cap.window_micros < 3600 * kMicrosPerSecond || cap.window_micros > 90 * kMicrosPerDay)
    return InvalidArgument("frequency_cap.window", "must be between 1 hour and 90 days");
  return Ok();
}

CapDecision DecideCap(const FrequencyCap& cap, Priority priority, Timestamp at, std::span<const CountedMessage> history) {
  if (priority == Priority::kTransactional || !cap.enabled()) return {true, 0};
  std::vector<Timestamp> times;
  times.reserve(history.size());
  for (const CountedMessage& m : history)
    if (m.priority != Priority::kTransactional) times.push_back(m.at);
  std::sort(times.begin(), times.end());
  if (FullestWindow(times, at, cap.window_micros) < cap.max_messages) return {true, 0};
  if (priority != Priority::kJourney) return {false, 0};
  // A journey message may take the place of a waiting campaign message in its reach, the
  // latest first (it has waited least); whether that frees room is checked, not assumed.
  const CountedMessage* victim = nullptr;
  for (const CountedMessage& m : history)
    if (m.priority == Priority::kCampaign && !m.sent && m.at.micros > at.micros - cap.window_micros &&
        m.at.micros < at.micros + cap.window_micros && (victim == nullptr || m.at > victim->at))
      victim = &m;
  if (victim == nullptr) return {false, 0};
  times.erase(std::find(times.begin(), times.end(), victim->at));
  if (FullestWindow(times, at, cap.window_micros) < cap.max_messages) return {true, victim->id};
  return {false, 0};
}

}  // namespace treu::campaigns
