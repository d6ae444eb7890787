#include "surveys/tokens.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace treu::survey {
namespace {

std::vector<std::uint8_t> Secret(std::uint8_t first = 0) {
  std::vector<std::uint8_t> s;
  for (int i = 0; i < 32; ++i) s.push_back(static_cast<std::uint8_t>(first + i));
  return s;
}

std::vector<std::uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

constexpr Timestamp kNow = Timestamp::FromSeconds(1'699'000'000);

Invitation Sample() {
  Invitation inv;
  inv.workspace = WorkspaceId{7};
  inv.survey_id = 42;
  inv.customer = CustomerId{1001};
  inv.nonce = 5;
  inv.expires_at = Timestamp::FromSeconds(1'700'000'000);
  return inv;
}

TEST(NonceForKeyTest, IsTheLabelledHmacOfWorkspaceSurveyAndKey) {
  // Python: int.from_bytes(hmac.new(bytes(range(32)), b"treu survey invitation nonce\0" +
  //   struct.pack(">qq", 7, 42) + b"journey:winback:1001:5:3", "sha256").digest()[:8], "big") & (2**63 - 1)
  EXPECT_EQ(NonceForKey(WorkspaceId{7}, 42, "journey:winback:1001:5:3", Secret()), 5778152663831139863);
  const std::int64_t n = NonceForKey(WorkspaceId{7}, 42, "k", Secret());
  EXPECT_EQ(NonceForKey(WorkspaceId{7}, 42, "k", Secret()), n);
  EXPECT_NE(NonceForKey(WorkspaceId{8}, 42, "k", Secret()), n);
  EXPECT_NE(NonceForKey(WorkspaceId{7}, 43, "k", Secret()), n);
  EXPECT_NE(NonceForKey(WorkspaceId{7}, 42, "k2", Secret()), n);
  EXPECT_NE(NonceForKey(WorkspaceId{7}, 42, "k", Secret(1)), n);
  EXPECT_GE(n, 0);
}

TEST(Base64UrlTest, Rfc4648Vectors) {
  EXPECT_EQ(Base64UrlEncode(Bytes("")), "");
  EXPECT_EQ(Base64UrlEncode(Bytes("f")), "Zg");
  EXPECT_EQ(Base64UrlEncode(Bytes("fo")), "Zm8");
  EXPECT_EQ(Base64UrlEncode(Bytes("foo")), "Zm9v");
  EXPECT_EQ(Base64UrlEncode(Bytes("foob")), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode(Bytes("fooba")), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode(Bytes("foobar")), "Zm9vYmFy");
  const std::vector<std::uint8_t> url_chars = {0xfb, 0xff};
  EXPECT_EQ(Base64UrlEncode(url_chars), "-_8");
  for (std::string_view s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(Bytes(s))).value(), Bytes(s)) << s;
  }
  EXPECT_EQ(Base64UrlDecode("-_8").value(), url_chars);
}

TEST(Base64UrlTest, RoundTripsEveryLengthAndByte) {
  std::vector<std::uint8_t> data;
  for (int n = 0; n < 300; ++n) {
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(data)).value(), data) << n;
    data.push_back(static_cast<std::uint8_t>(n * 37 + 11));
  }
}

TEST(Base64UrlTest, RejectsNonCanonicalText) {
  EXPECT_FALSE(Base64UrlDecode("Zg=="));    // padding
  EXPECT_FALSE(Base64UrlDecode("Zm9v+/"));  // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("Z"));       // 6 bits can't be a byte
  EXPECT_FALSE(Base64UrlDecode("Zh"));      // "f" with non-zero unused bits
  EXPECT_FALSE(Base64UrlDecode("Zm9"));     // "fo" with non-zero unused bits
  EXPECT_FALSE(Base64UrlDecode("Zm 9v"));
  EXPECT_EQ(Base64UrlDecode("Zh").error().context(), "base64url");
}

TEST(InvitationTokenTest, KnownToken) {
  // Computed independently (Python hmac/base64) from the documented format.
  EXPECT_EQ(SignInvitation(Sample(), Secret()),
            "AQAAAAAAAAAHAAAAAAAAACoAAAAAAAAD6QAAAAAAAAAFAAYKJBgeQAA."
            "9TGg4i-GQPmWyoIPTeurV_F9suspKmbhyHI3qcfSyKM");
}

TEST(InvitationTokenTest, RoundTrip) {
  const std::string token = SignInvitation(Sample(), Secret());
  EXPECT_EQ(VerifyInvitation(token, Secret(), kNow).value(), Sample());

  Invitation extreme;
  extreme.workspace = WorkspaceId{INT64_MAX};
  extreme.survey_id = -1;
  extreme.customer = CustomerId{INT64_MIN};
  extreme.nonce = 0x0123456789abcdef;
  extreme.expires_at = Timestamp{INT64_MAX};
  EXPECT_EQ(VerifyInvitation(SignInvitation(extreme, Secret()), Secret(), kNow).value(), extreme);
}

TEST(InvitationTokenTest, TokensAreUrlSafe) {
  std::set<std::string> seen;
  for (std::int64_t i = 0; i < 500; ++i) {
    Invitation inv = Sample();
    inv.nonce = i * 7919;
    inv.customer = CustomerId{i * 104729 + 3};
    const std::string token = SignInvitation(inv, Secret());
    EXPECT_EQ(token.find_first_of("+/="), std::string::npos) << token;
    EXPECT_EQ(token.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
              std::string::npos)
        << token;
    EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 1);
    EXPECT_EQ(token.size(), 99u);
    seen.insert(token);
  }
  EXPECT_EQ(seen.size(), 500u);
}

TEST(InvitationTokenTest, EverySingleBitFlipIsRejected) {
  const std::string token = SignInvitation(Sample(), Secret());
  int flips = 0;
  for (std::size_t i = 0; i < token.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string t = token;
      t[i] = static_cast<char>(static_cast<unsigned char>(t[i]) ^ (1u << bit));
      auto r = VerifyInvitation(t, Secret(), kNow);
      ASSERT_FALSE(r) << "byte " << i << " bit " << bit << ": " << t;
      EXPECT_TRUE(r.error().code() == ErrorCode::kInvalidArgument ||
                  r.error().code() == ErrorCode::kPermissionDenied)
          << r.error().ToString();
      ++flips;
    }
  }
  EXPECT_EQ(flips, 99 * 8);
}

TEST(InvitationTokenTest, AlteredPayloadWithValidEncodingIsPermissionDenied) {
  const std::string token = SignInvitation(Sample(), Secret());
  Invitation other = Sample();
  other.customer = CustomerId{1002};
  const std::string forged_payload = SignInvitation(other, Secret(9)).substr(0, token.find('.'));
  const std::string forged = forged_payload + token.substr(token.find('.'));
  auto r = VerifyInvitation(forged, Secret(), kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(r.error().ToString(), "invitation token: signature mismatch");
}

TEST(InvitationTokenTest, AnotherSecretIsRejected) {
  const std::string token = SignInvitation(Sample(), Secret());
  auto r = VerifyInvitation(token, Secret(1), kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  std::vector<std::uint8_t> longer = Secret();
  longer.push_back(0xAA);
  auto l = VerifyInvitation(token, longer, kNow);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code(), ErrorCode::kPermissionDenied);
}

TEST(InvitationTokenTest, ExpiryBoundary) {
  const Invitation inv = Sample();
  const std::string token = SignInvitation(inv, Secret());
  EXPECT_TRUE(VerifyInvitation(token, Secret(), Timestamp{inv.expires_at.micros - 1}));
  auto at = VerifyInvitation(token, Secret(), inv.expires_at);
  ASSERT_FALSE(at);
  EXPECT_EQ(at.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(at.error().ToString(), "invitation: expired");
  auto after = VerifyInvitation(token, Secret(), Timestamp{inv.expires_at.micros + kMicrosPerDay});
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code(), ErrorCode::kFailedPrecondition);
}

TEST(InvitationTokenTest, BadSignatureWinsOverExpiry) {
  const Invitation inv = Sample();
  const std::string token = SignInvitation(inv, Secret());
  auto r = VerifyInvitation(token, Secret(2), Timestamp{inv.expires_at.micros + 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
}

TEST(InvitationTokenTest, MalformedTokensAreInvalidArgument) {
  const std::string token = SignInvitation(Sample(), Secret());
  const std::size_t dot = token.find('.');
  std::vector<std::string> bad = {
      "",
      ".",
      "abc",
      "garbage.garbage",
      "!!!!.????",
      token.substr(0, dot),
      token.substr(0, dot + 1),
      token.substr(dot),
      token.substr(0, token.size() - 1),
      token.substr(0, token.size() - 4),
      token.substr(1),
      token + ".",
      token + "A",
      token + "AA",
      token + "=",
      std::string(token).replace(dot, 1, ".."),
      std::string(10'000, 'A') + "." + token.substr(dot + 1),
      std::string(token).insert(10, " "),
  };
  for (std::size_t n = 0; n < token.size(); ++n) bad.push_back(token.substr(0, n));
  for (const std::string& t : bad) {
    auto r = VerifyInvitation(t, Secret(), kNow);
    ASSERT_FALSE(r) << t;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << t << " → " << r.error().ToString();
    EXPECT_EQ(r.error().context(), "invitation token") << t;
  }
}

TEST(InvitationTokenTest, ShortSecretIsRefused) {
  const std::string token = SignInvitation(Sample(), Secret());
  std::vector<std::uint8_t> short_secret(kMinSecretBytes - 1, 1);
  auto r = VerifyInvitation(token, short_secret, kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(r.error().context(), "invitation secret");
  EXPECT_EQ(VerifyInvitation(token, {}, kNow).error().code(), ErrorCode::kFailedPrecondition);
}

TEST(InvitationTokenTest, NewSecretsAreRandomAndWork) {
  const std::vector<std::uint8_t> a = NewSecret().value();
  const std::vector<std::uint8_t> b = NewSecret().value();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  const std::string token = SignInvitation(Sample(), a);
  EXPECT_EQ(VerifyInvitation(token, a, kNow).value(), Sample());
  EXPECT_EQ(VerifyInvitation(token, b, kNow).error().code(), ErrorCode::kPermissionDenied);
}

}  // namespace
}  // namespace treu::survey
