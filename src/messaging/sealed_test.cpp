#include "messaging/sealed.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace treu::messaging {
namespace {

const std::vector<std::uint8_t> kSecret(32, 7);
const std::vector<std::uint8_t> kOther(32, 8);

TEST(Sealed, RoundTripsAndHidesThePlainText) {
  const std::string plain = "s3cr3t pässwörd";
  const std::string sealed = Seal(plain, kSecret);
  EXPECT_TRUE(sealed.starts_with("v1."));
  EXPECT_EQ(sealed.find("s3cr3t"), std::string::npos);
  auto back = Unseal(sealed, kSecret);
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(*back, plain);
}

TEST(Sealed, EverySealDiffers) { EXPECT_NE(Seal("x", kSecret), Seal("x", kSecret)); }

TEST(Sealed, EmptyMeansNothingStored) {
  auto back = Unseal("", kSecret);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, "");
  auto empty_plain = Unseal(Seal("", kSecret), kSecret);
  ASSERT_TRUE(empty_plain.has_value());
  EXPECT_EQ(*empty_plain, "");
}

TEST(Sealed, AnotherSecretOrAnAlterationDoesNotOpen) {
  const std::string sealed = Seal("password", kSecret);
  auto other = Unseal(sealed, kOther);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), ErrorCode::kPermissionDenied);

  std::string altered = sealed;
  altered[altered.size() / 2] = altered[altered.size() / 2] == 'A' ? 'B' : 'A';
  auto bad = Unseal(altered, kSecret);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().code(), ErrorCode::kInternal);
}

TEST(Sealed, MalformedIsInvalidArgument) {
  for (std::string_view s : {"password", "v1.", "v1.!!!!", "v2.AAAA", "v1.AAAA"}) {
    auto r = Unseal(s, kSecret);
    ASSERT_FALSE(r.has_value()) << s;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << s;
  }
}

}  // namespace
}  // namespace treu::messaging
