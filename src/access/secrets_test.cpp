#include "access/secrets.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <gtest/gtest.h>

namespace treu {
namespace {

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("treu-secrets-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(SecretsTest, IsCreatedPrivateOnceAndReadBack) {
  const auto path = dir_ / "treu.secret";
  const auto first = LoadOrCreateSecret(path).value();
  EXPECT_EQ(first.size(), kSecretBytes);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(LoadOrCreateSecret(path).value(), first);
  EXPECT_NE(LoadOrCreateSecret(dir_ / "other.secret").value(), first);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), std::filesystem::directory_iterator()), 2);
}

TEST_F(SecretsTest, RefusesFilesOthersCanReadAndGarbage) {
  const auto path = dir_ / "treu.secret";
  ASSERT_TRUE(LoadOrCreateSecret(path));
  ::chmod(path.c_str(), 0644);
  EXPECT_EQ(LoadOrCreateSecret(path).error().ToString(),
            path.string() + ": the signing secret may be read by others; run chmod 600 " + path.string());
  const auto bad = dir_ / "bad.secret";
  std::ofstream(bad) << "not hex\n";
  ::chmod(bad.c_str(), 0600);
  EXPECT_EQ(LoadOrCreateSecret(bad).error().code(), ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace treu
