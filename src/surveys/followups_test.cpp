#include "surveys/followups.hpp"

#include <gtest/gtest.h>

namespace treu::survey {
namespace {

TEST(FollowUpsTest, TheDetractorScoreIsTheFirstNpsAnswer) {
  Survey s;
  Question csat{"csat", QuestionKind::kCsat, {}, {}, false, std::nullopt};
  Question nps{"nps", QuestionKind::kNps, {}, {}, false, std::nullopt};
  s.questions = {csat, nps};
  EXPECT_EQ(NpsScoreOf(s, R"({"csat": 1, "nps": 4})"), 4);
  EXPECT_EQ(NpsScoreOf(s, R"({"csat": 1})"), std::nullopt);
  EXPECT_EQ(NpsScoreOf(s, R"({"nps": "4"})"), std::nullopt);
  EXPECT_EQ(NpsScoreOf(s, "not json"), std::nullopt);
}

TEST(FollowUpsTest, RetriesBackOffFromAMinuteToSixHours) {
  const Timestamp now = Timestamp::FromSeconds(1000);
  EXPECT_EQ(NextNotifyAttempt(1, now), Timestamp::FromSeconds(1000 + 60));
  EXPECT_EQ(NextNotifyAttempt(2, now), Timestamp::FromSeconds(1000 + 120));
  EXPECT_EQ(NextNotifyAttempt(5, now), Timestamp::FromSeconds(1000 + 16 * 60));
  EXPECT_EQ(NextNotifyAttempt(9, now), Timestamp::FromSeconds(1000 + 256 * 60));
  EXPECT_EQ(NextNotifyAttempt(10, now), Timestamp::FromSeconds(1000 + 6 * 3600));
  EXPECT_EQ(NextNotifyAttempt(100, now), Timestamp::FromSeconds(1000 + 6 * 3600));
}

TEST(FollowUpsTest, WebhookKeysDifferByWorkspaceAndSecret) {
  const std::vector<std::uint8_t> secret(32, 7), other(32, 8);
  const std::string key = WebhookSigningKey(secret, WorkspaceId{1});
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(key, WebhookSigningKey(secret, WorkspaceId{1}));
  EXPECT_NE(key, WebhookSigningKey(secret, WorkspaceId{2}));
  EXPECT_NE(key, WebhookSigningKey(other, WorkspaceId{1}));
}

}  // namespace
}  // namespace treu::survey
