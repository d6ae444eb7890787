#include "net/webhook_signature.hpp"

#include <gtest/gtest.h>

#include <string>

namespace treu::net {
namespace {

// Expected values computed independently with the OpenSSL command line, e.g.
//   printf '%s' '1700000000.{"event":"survey.completed","survey_id":42}' |
//     openssl dgst -sha256 -hmac 'whsec_5f2a9c1e7b3d4a6f'
TEST(SignWebhookTest, MatchesHmacSha256OfTimestampDotBody) {
  EXPECT_EQ(SignWebhook("whsec_5f2a9c1e7b3d4a6f", 1700000000,
                        R"({"event":"survey.completed","survey_id":42})"),
            "t=1700000000,v1=832be273f597839e50b0a55959bf52c9ea7302f2d2ead55d94ded225c89dae80");
  // printf '%s' '0.' | openssl dgst -sha256 -hmac 'k'
  EXPECT_EQ(SignWebhook("k", 0, ""),
            "t=0,v1=6b4a4b8b3c40f1e8f53a3d36682e5f99f7ad2ac1df1c93dfe336f329167641e7");
}

// A binary key (RFC 4231 test case 1's twenty 0x0b bytes) on another message:
//   printf '%s' '1700000000.' |
//     openssl dgst -sha256 -mac HMAC -macopt hexkey:0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b
TEST(SignWebhookTest, BinarySecret) {
  EXPECT_EQ(SignWebhook(std::string(20, '\x0b'), 1700000000, ""),
            "t=1700000000,v1=c48cfc0fe3586d4e4a341401af26bf0370bd53a738b23e33b4e9965cdb461df8");
}

TEST(SignWebhookTest, EveryInputChangesTheSignature) {
  const std::string base = SignWebhook("secret", 1700000000, "body");
  EXPECT_NE(SignWebhook("secreT", 1700000000, "body"), base);
  EXPECT_NE(SignWebhook("secret", 1700000001, "body"), base);
  EXPECT_NE(SignWebhook("secret", 1700000000, "body "), base);
  // The timestamp and body are separated, so moving a digit across changes the result.
  EXPECT_NE(SignWebhook("secret", 170000000, "0body"), base);
  EXPECT_EQ(SignWebhook("secret", 1700000000, "body"), base);
}

TEST(SignWebhookTest, FormatAndEdgeInputs) {
  const std::string empty_secret = SignWebhook("", -5, std::string("a\0b", 3));
  EXPECT_TRUE(empty_secret.starts_with("t=-5,v1="));
  EXPECT_EQ(empty_secret.size(), std::string("t=-5,v1=").size() + 64);
  EXPECT_EQ(empty_secret.find_first_not_of("0123456789abcdef", 8), std::string::npos);
  EXPECT_EQ(kWebhookSignatureHeader, "Treu-Signature");
}

}  // namespace
}  // namespace treu::net
