#include "access/keys.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "storage/sqlite/sqlite_store.hpp"

namespace treu {
namespace {

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("treu-keys-test-" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(path_);
    store_ = OpenSqliteStore(path_.string(), clock_).value();
    Workspace w;
    w.name = "shop";
    ws_ = store_->CreateWorkspace(w).value();
  }
  void TearDown() override {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }

  ManualClock clock_{Timestamp::FromSeconds(1'700'000'000)};
  std::filesystem::path path_;
  std::unique_ptr<Store> store_;
  Workspace ws_;
};

TEST_F(KeysTest, HashIsSha256) {
  EXPECT_EQ(HashApiKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(KeysTest, CreatedKeyAuthenticatesAndOnlyItsHashIsStored) {
  const CreatedKey k = CreateApiKey(*store_, ws_.id, Scope::kWrite, "backend", clock_).value();
  EXPECT_TRUE(k.secret.starts_with("treu_sk_"));
  EXPECT_EQ(k.secret.size(), 40u);
  EXPECT_EQ(k.record.hash_hex, HashApiKey(k.secret));
  EXPECT_EQ(k.record.prefix, k.secret.substr(0, 12));
  const ApiKey auth = AuthenticateApiKey(*store_, k.secret).value();
  EXPECT_EQ(auth.workspace, ws_.id);
  EXPECT_EQ(auth.scope, Scope::kWrite);
  const auto listed_keys = store_->ListApiKeys(ws_.id).value();
  for (const auto& listed : listed_keys) {
    EXPECT_EQ(listed.hash_hex.find(k.secret.substr(12)), std::string::npos);
  }
  const CreatedKey t = CreateApiKey(*store_, ws_.id, Scope::kTracking, "", clock_).value();
  EXPECT_TRUE(t.secret.starts_with("treu_pk_"));
}

TEST_F(KeysTest, BadKeysAreUnauthenticatedAlike) {
  const CreatedKey k = CreateApiKey(*store_, ws_.id, Scope::kRead, "", clock_).value();
  std::string tampered = k.secret;
  tampered.back() = tampered.back() == 'a' ? 'b' : 'a';
  for (const std::string& bad : {std::string(), std::string("treu_sk_short"), tampered,
                                 std::string("Bearer ") + k.secret}) {
    auto r = AuthenticateApiKey(*store_, bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
    EXPECT_EQ(r.error().ToString(), "api key: missing, unknown or revoked");
  }
}

TEST_F(KeysTest, RevokedKeysStopWorkingAndTheCacheForgetsThemWithinItsTtl) {
  const CreatedKey k = CreateApiKey(*store_, ws_.id, Scope::kWrite, "", clock_).value();
  ApiKeyCache cache(5 * kMicrosPerSecond);
  EXPECT_EQ(cache.Authenticate(*store_, k.secret, clock_.Now()).value().id, k.record.id);
  ASSERT_TRUE(store_->RevokeApiKey(ws_.id, k.record.id, clock_.Now()));
  EXPECT_FALSE(AuthenticateApiKey(*store_, k.secret).has_value());
  // Still remembered within the ttl, gone after it.
  EXPECT_TRUE(cache.Authenticate(*store_, k.secret, clock_.Now()).has_value());
  clock_.Advance(5 * kMicrosPerSecond);
  auto after = cache.Authenticate(*store_, k.secret, clock_.Now());
  ASSERT_FALSE(after.has_value());
  EXPECT_EQ(after.error().code(), ErrorCode::kUnauthenticated);
  // Unknown keys are rejected every time and never cached.
  std::string unknown = k.secret;
  unknown.back() = unknown.back() == 'a' ? 'b' : 'a';
  EXPECT_FALSE(cache.Authenticate(*store_, unknown, clock_.Now()).has_value());
}

TEST_F(KeysTest, KeysAreRandom) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    seen.insert(CreateApiKey(*store_, ws_.id, Scope::kRead, "", clock_).value().secret);
  }
  EXPECT_EQ(seen.size(), 50u);
}

}  // namespace
}  // namespace treu
