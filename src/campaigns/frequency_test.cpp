#include "campaigns/frequency.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace treu::campaigns {
namespace {

constexpr std::int64_t kHour = 3600 * kMicrosPerSecond;
constexpr std::int64_t kDay = kMicrosPerDay;
const Timestamp kNow{1'780'000'000LL * kMicrosPerSecond};

CountedMessage Sent(std::int64_t id, std::int64_t offset, Priority p = Priority::kCampaign) {
  return {id, Timestamp{kNow.micros + offset}, p, true};
}
CountedMessage Queued(std::int64_t id, std::int64_t offset, Priority p = Priority::kCampaign) {
  return {id, Timestamp{kNow.micros + offset}, p, false};
}

const FrequencyCap kThreePerWeek{3, 7 * kDay};

TEST(FrequencyCap, Checks) {
  EXPECT_TRUE(CheckFrequencyCap(kThreePerWeek).has_value());
  EXPECT_TRUE(CheckFrequencyCap({0, kHour}).has_value());
  EXPECT_EQ(CheckFrequencyCap({-1, kDay}).error().context(), "frequency_cap.max_messages");
  EXPECT_EQ(CheckFrequencyCap({3, kHour - 1}).error().context(), "frequency_cap.window");
  EXPECT_EQ(CheckFrequencyCap({3, 91 * kDay}).error().context(), "frequency_cap.window");
}

TEST(FrequencyCap, CountsEveryMarketingMessageInTheWindow) {
  std::vector<CountedMessage> h{Sent(1, -6 * kDay), Sent(2, -3 * kDay), Sent(3, -1 * kHour)};
  EXPECT_FALSE(DecideCap(kThreePerWeek, Priority::kCampaign, kNow, h).allowed);
  // A week later than the first, the window has room again.
  h[0] = Sent(1, -7 * kDay);
  EXPECT_TRUE(DecideCap(kThreePerWeek, Priority::kCampaign, kNow, h).allowed);
  h[0] = Sent(1, -7 * kDay + 1);
  EXPECT_FALSE(DecideCap(kThreePerWeek, Priority::kCampaign, kNow, h).allowed);
  // No cap, or a transactional message: always.
  EXPECT_TRUE(DecideCap({}, Priority::kCampaign, kNow, h).allowed);
  EXPECT_TRUE(DecideCap(kThreePerWeek, Priority::kTransactional, kNow, h).allowed);
}

TEST(FrequencyCap, TransactionalMessagesDoNotCount) {
  std::vector<CountedMessage> h{Sent(1, -kDay, Priority::kTransactional), Sent(2, -kDay, Priority::kTransactional),
                                Sent(3, -kDay, Priority::kTransactional), Sent(4, -kDay)};
  EXPECT_TRUE(DecideCap(kThreePerWeek, Priority::kCampaign, kNow, h).allowed);
}

TEST(FrequencyCap, QueuedMessagesAheadCount) {
  // Two already scheduled in five days and one sent yesterday: any week holding now and them
  // would have four.
  std::vector<CountedMessage> h{Sent(1, -kDay), Queued(2, 5 * kDay), Queued(3, 5 * kDay + kHour)};
  EXPECT_FALSE(DecideCap(kThreePerWeek, Priority::kCampaign, kNow, h).allowed);
  // With the sent one eight days ago, the weeks holding now hold at most now and the two ahead.
  h[0] = Sent(1, -8 * kDay);
  EXPECT_TRUE(DecideCap(kThreePerWeek, Priority::kCampaign, kNow, h).allowed);
  // A week before and a week after can each be full without now's windows being so.
  std::vector<CountedMessage> apart{Sent(1, -6 * kDay), Sent(2, -5 * kDay), Queued(3, 2 * kDay), Queued(4, 6 * kDay)};
  // [−6d, +1d) holds −6d, −5d and now; [−5d, +2d) holds −5d, now (the +2d one is at its end).
  EXPECT_TRUE(DecideCap(kThreePerWeek, Priority::kCampaign, kNow, apart).allowed);
  apart.push_back(Queued(5, kDay));
  EXPECT_FALSE(DecideCap(kThreePerWeek, Priority::kCampaign, kNow, apart).allowed);
}

TEST(FrequencyCap, JourneysComeBeforeCampaigns) {
  std::vector<CountedMessage> h{Sent(1, -2 * kDay), Sent(2, -kDay), Queued(7, kDay), Queued(8, 3 * kDay, Priority::kCampaign)};
  // Full (four in a week around now would be five): a campaign message is capped ...
  h.pop_back();
  EXPECT_FALSE(DecideCap(kThreePerWeek, Priority::kCampaign, kNow, h).allowed);
  // ... a journey message takes the waiting campaign message's place.
  CapDecision d = DecideCap(kThreePerWeek, Priority::kJourney, kNow, h);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.displaced, 7);
  // Sent messages and journey messages are never displaced.
  h[2] = Queued(7, kDay, Priority::kJourney);
  EXPECT_FALSE(DecideCap(kThreePerWeek, Priority::kJourney, kNow, h).allowed);
  h[2] = Sent(7, kDay / 2);
  EXPECT_FALSE(DecideCap(kThreePerWeek, Priority::kJourney, kNow, h).allowed);
}

TEST(FrequencyCap, JourneyDisplacesOnlyWhenThatFreesRoom) {
  // The window before now is full of sent messages; a waiting campaign message six days ahead
  // shares no window with them, so cancelling it wouldn't help.
  std::vector<CountedMessage> h{Sent(1, -3 * kDay), Sent(2, -2 * kDay), Sent(3, -kDay), Queued(4, 6 * kDay)};
  CapDecision d = DecideCap(kThreePerWeek, Priority::kJourney, kNow, h);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.displaced, 0);
}

// Against a brute force over whole hours: every window start from now − w + 1 h to now.
TEST(FrequencyCap, AgreesWithBruteForce) {
  std::mt19937_64 rng(12345);
  const FrequencyCap cap{4, 5 * kDay};
  for (int round = 0; round < 2000; ++round) {
    std::vector<CountedMessage> h;
    const int n = static_cast<int>(rng() % 9);
    for (int i = 0; i < n; ++i)
      h.push_back({i + 1, Timestamp{kNow.micros + (static_cast<std::int64_t>(rng() % 241) - 120) * kHour},
                   rng() % 5 == 0 ? Priority::kTransactional : Priority::kCampaign, true});
    bool fits = true;
    for (std::int64_t s = kNow.micros - cap.window_micros + kHour; s <= kNow.micros; s += kHour) {
      int count = 1;  // the new message
      for (const auto& m : h)
        count += m.priority != Priority::kTransactional && m.at.micros >= s && m.at.micros < s + cap.window_micros;
      fits = fits && count <= cap.max_messages;
    }
    EXPECT_EQ(DecideCap(cap, Priority::kCampaign, kNow, h).allowed, fits) << "round " << round;
  }
}

TEST(DeliveryRuleKeys, CampaignAndJourneyMessagesAreUnderTheRulesAndOneOffSendsAreNot) {
  EXPECT_EQ(CampaignKey(12), "campaign:12");
  EXPECT_TRUE(UnderDeliveryRules(CampaignKey(12) + ":c0001"));
  EXPECT_TRUE(UnderDeliveryRules(JourneyActionKey("7.2:1:3")));
  EXPECT_FALSE(UnderDeliveryRules("send:4:evening:c0001"));
  EXPECT_FALSE(UnderDeliveryRules("campaigns-old:1"));
  EXPECT_EQ(PriorityOfMessage(JourneyMessageTag("win-back", "offer")), Priority::kJourney);
  EXPECT_EQ(PriorityOfMessage("spring-sale"), Priority::kCampaign);
}

}  // namespace
}  // namespace treu::campaigns
