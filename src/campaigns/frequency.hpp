// Frequency caps across every channel (email, push, in-app, webhook): at most N marketing
// messages per customer in any window of a given length, with priority classes. Transactional
// messages are never capped and never counted. Journey messages come before campaign ones: a
// journey message that finds the budget used up by campaign messages still waiting to go out
// takes the place of the latest of them (which is then capped), while a campaign message never
// displaces anything.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "core/time.hpp"

namespace treu::campaigns {

enum class Priority : std::uint8_t { kTransactional, kJourney, kCampaign };

struct FrequencyCap {
  int max_messages = 0;             // 0: no cap
  std::int64_t window_micros = 7 * kMicrosPerDay;
  bool enabled() const { return max_messages > 0; }
};

// The outbox `campaign` of a journey step's messages, "journey:<journey>:<step id>" (campaign
// names have no ':'), and the priority class of a marketing message by its `campaign`.
std::string JourneyMessageTag(std::string_view journey, std::string_view step);
Priority PriorityOfMessage(std::string_view campaign);

// The idempotency keys of what campaigns and journeys do: a campaign's messages are keyed
// CampaignKey(id) + ":<customer>", and a journey action (its message, survey invitation, points…)
// JourneyActionKey("<run>:<entry>:<step count>"). The messages keyed so are the ones under the
// delivery rules (UnderDeliveryRules); a one-off send's are not.
std::string CampaignKey(std::int64_t campaign_id);
std::string JourneyActionKey(std::string_view run_sequence);
bool UnderDeliveryRules(std::string_view idempotency_key);

// InvalidArgument ("frequency_cap.max_messages", "frequency_cap.window") or OK: 0..1000
// messages in a window of 1 hour to 90 days.
Status CheckFrequencyCap(const FrequencyCap& cap);

// A customer's message that counts: sent, or queued to go out at `at`.
struct CountedMessage {
  std::int64_t id = 0;
  Timestamp at;
  Priority priority = Priority::kCampaign;
  bool sent = false;
};

struct CapDecision {
  bool allowed = true;
  std::int64_t displaced = 0;  // a queued campaign message to cancel in its favour, or 0
};

// Whether a message of `priority` going out at `at` fits: with it, no window of the cap's
// length may hold more than max_messages of the customer's marketing messages (`history`:
// sent and queued ones of any channel, in any order; transactional entries are ignored).
CapDecision DecideCap(const FrequencyCap& cap, Priority priority, Timestamp at, std::span<const CountedMessage> history);

}  // namespace treu::campaigns
