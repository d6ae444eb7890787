#include "messaging/links.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace treu::messaging {
namespace {

const std::vector<std::uint8_t> kSecret(32, 3);
const Timestamp kNow{1'760'000'000'000'000};

LinkClaims Claims(LinkKind kind) {
  LinkClaims c;
  c.kind = kind;
  c.workspace = WorkspaceId{7};
  c.customer = CustomerId{123456};
  c.ref = 987654321;
  return c;
}

// The format's known answer (HMAC-SHA256 as Python's hmac module computes it): tokens already
// in sent messages keep verifying whichever HMAC implementation signs.
TEST(Links, KnownAnswerAndSignerAgree) {
  const LinkClaims c = Claims(LinkKind::kUnsubscribe);
  const std::string want = "AQEAAAAAAAAABwAAAAAAAeJAAAAAADreaLEAAAAAAAAAAA.CAtp3ed9ZpTxeAZMU8z_dQ";
  const std::string bound = "https://shop.example/x?y=1";
  const std::string want_bound = "AQEAAAAAAAAABwAAAAAAAeJAAAAAADreaLEAAAAAAAAAAA.1WWGuzmK-Rt8c0pQpSxqhA";
  EXPECT_EQ(SignLink(c, "", kSecret), want);
  EXPECT_EQ(SignLink(c, bound, kSecret), want_bound);
  const LinkSigner signer(kSecret);
  EXPECT_EQ(signer.Sign(c, ""), want);
  EXPECT_EQ(signer.Sign(c, bound), want_bound);
  EXPECT_EQ(signer.Sign(c, ""), want);  // the keyed state is reused, not consumed
  const LinkClaims p = Claims(LinkKind::kPreferences);
  EXPECT_EQ(signer.Sign(p, ""), SignLink(p, "", kSecret));
}

TEST(Links, RoundTripAndUrlSafe) {
  const LinkClaims c = Claims(LinkKind::kUnsubscribe);
  const std::string token = SignLink(c, "", kSecret);
  EXPECT_EQ(token.size(), 69u);
  EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
            std::string::npos);
  auto back = VerifyLink(token, LinkKind::kUnsubscribe, "", kSecret, kNow);
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(*back, c);
}

TEST(Links, OneKindIsNotAnother) {
  const std::string token = SignLink(Claims(LinkKind::kPreferences), "", kSecret);
  auto r = VerifyLink(token, LinkKind::kUnsubscribe, "", kSecret, kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
}

TEST(Links, ClickCoversItsUrl) {
  const std::string token = SignLink(Claims(LinkKind::kClick), "https://shop.example/sale", kSecret);
  EXPECT_TRUE(VerifyLink(token, LinkKind::kClick, "https://shop.example/sale", kSecret, kNow).has_value());
  auto other = VerifyLink(token, LinkKind::kClick, "https://evil.example/", kSecret, kNow);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), ErrorCode::kPermissionDenied);
}

TEST(Links, AlteredOrForeignTokensFail) {
  const std::string token = SignLink(Claims(LinkKind::kOpen), "", kSecret);
  // Another customer id in the payload, same signature.
  LinkClaims other = Claims(LinkKind::kOpen);
  other.customer = CustomerId{123457};
  const std::string forged = SignLink(other, "", kSecret).substr(0, token.find('.')) + token.substr(token.find('.'));
  EXPECT_EQ(VerifyLink(forged, LinkKind::kOpen, "", kSecret, kNow).error().code(), ErrorCode::kPermissionDenied);
  const std::vector<std::uint8_t> foreign(32, 4);
  EXPECT_EQ(VerifyLink(token, LinkKind::kOpen, "", foreign, kNow).error().code(), ErrorCode::kPermissionDenied);
  const std::string_view truncated = std::string_view(token).substr(1);
  for (std::string_view bad : {std::string_view(""), std::string_view("."), std::string_view("abc.def"), std::string_view("x"), truncated}) {
    auto r = VerifyLink(bad, LinkKind::kOpen, "", kSecret, kNow);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(Links, Expiry) {
  LinkClaims c = Claims(LinkKind::kConfirm);
  c.ref = 0;
  c.expires_at = Timestamp{kNow.micros + 1};
  const std::string token = SignLink(c, "", kSecret);
  EXPECT_TRUE(VerifyLink(token, LinkKind::kConfirm, "", kSecret, kNow).has_value());
  auto late = VerifyLink(token, LinkKind::kConfirm, "", kSecret, Timestamp{kNow.micros + 1});
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code(), ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace treu::messaging
