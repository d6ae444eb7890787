#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "messaging/transport.hpp"

namespace treu::messaging {
namespace {

namespace fs = std::filesystem;

class FileTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "treu-files-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string Read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
  }

  std::vector<std::string> Names(const fs::path& dir) const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
  ManualClock clock_{Timestamp{1'709'296'200'250'000}};  // 2024-03-01 12:30:00.25 UTC
  const Envelope envelope_{"bounces@shop.example", "ada@example.com"};
};

const std::string kMime =
    "From: <news@shop.example>\r\nMessage-ID: <ab12/x@shop.example>\r\n\r\nbody\r\n";

TEST_F(FileTransportTest, WritesOneCompleteFilePerMessage) {
  auto transport = FileTransport::Create(dir_ / "a" / "b", clock_);
  ASSERT_TRUE(transport) << transport.error().ToString();
  const SendResult result = (*transport)->Send(envelope_, kMime);
  EXPECT_EQ(result.outcome, SendOutcome::kSent);
  const fs::path expected = dir_ / "a" / "b" / "20240301T123000.250000Z-ab12_x@shop.example.eml";
  EXPECT_EQ(result.detail, "written to " + expected.string());
  EXPECT_EQ(Read(expected), kMime);
  // The same name again gets a suffix, never overwriting.
  EXPECT_EQ((*transport)->Send(envelope_, kMime + "again").outcome, SendOutcome::kSent);
  EXPECT_EQ(Names(dir_ / "a" / "b"),
            (std::vector<std::string>{"20240301T123000.250000Z-ab12_x@shop.example-1.eml",
                                      "20240301T123000.250000Z-ab12_x@shop.example.eml"}));
  EXPECT_EQ(Read(expected), kMime);
}

TEST_F(FileTransportTest, MessageWithoutIdAndBadEnvelope) {
  auto transport = FileTransport::Create(dir_, clock_);
  ASSERT_TRUE(transport);
  EXPECT_EQ((*transport)->Send(envelope_, "Subject: x\r\n\r\nbody").outcome, SendOutcome::kSent);
  EXPECT_EQ(Names(dir_), std::vector<std::string>{"20240301T123000.250000Z-no-message-id.eml"});
  const SendResult bad = (*transport)->Send({"bounces@shop.example", "not an address"}, kMime);
  EXPECT_EQ(bad.outcome, SendOutcome::kPermanentFailure);
  EXPECT_EQ(bad.detail, "rcpt_to: \"not an address\" has no '@'");
}

TEST_F(FileTransportTest, FailedWritesLeaveNothingBehind) {
  auto transport = FileTransport::Create(dir_ / "out", clock_);
  ASSERT_TRUE(transport);
  fs::remove(dir_ / "out");
  std::ofstream(dir_ / "out") << "a file where the directory was";
  const SendResult result = (*transport)->Send(envelope_, kMime);
  EXPECT_EQ(result.outcome, SendOutcome::kTemporaryFailure);
  EXPECT_NE(result.detail.find("create failed: Not a directory"), std::string::npos) << result.detail;
  EXPECT_EQ(Names(dir_), std::vector<std::string>{"out"});
}

TEST_F(FileTransportTest, RefusesAFileAsDirectory) {
  std::ofstream(dir_ / "file") << "x";
  auto transport = FileTransport::Create(dir_ / "file", clock_);
  ASSERT_FALSE(transport);
}

TEST(SendOutcomeNameTest, Names) {
  EXPECT_EQ(SendOutcomeName(SendOutcome::kSent), "sent");
  EXPECT_EQ(SendOutcomeName(SendOutcome::kTemporaryFailure), "temporary_failure");
  EXPECT_EQ(SendOutcomeName(SendOutcome::kPermanentFailure), "permanent_failure");
}

TEST(SmtpSettingsTest, InvalidSettingsAreRefused) {
  auto error = [](SmtpSettings s) {
    auto transport = SmtpTransport::Create(std::move(s));
    return transport ? std::string("ok") : transport.error().ToString();
  };
  SmtpSettings base;
  base.url = "smtp://mail.example.com:587";
  EXPECT_EQ(error(base), "ok");
  SmtpSettings s = base;
  s.url = "http://mail.example.com";
  EXPECT_EQ(error(s), "smtp settings: url scheme \"http\" is not smtp or smtps");
  s = base;
  s.url = "smtps://mail.example.com";
  EXPECT_EQ(error(s), "smtp settings: an smtps:// url needs tls = implicit");
  s.tls = SmtpTls::kImplicit;
  EXPECT_EQ(error(s), "ok");
  s = base;
  s.tls = SmtpTls::kImplicit;
  EXPECT_EQ(error(s), "smtp settings: implicit TLS needs an smtps:// url");
  s = base;
  s.tls = SmtpTls::kNone;
  s.username = "u";
  EXPECT_EQ(error(s),
            "smtp settings: credentials would be sent in clear text; use STARTTLS or implicit TLS");
  s = base;
  s.url = "smtp://user:pw@mail.example.com";
  EXPECT_EQ(error(s), "smtp settings: the url must not carry credentials; set username and password");
  s = base;
  s.url = "smtp://mail.example.com/helo.example";
  EXPECT_EQ(error(s), "smtp settings: the url must not have a path; set ehlo_name instead");
  s = base;
  s.max_connections = 0;
  EXPECT_EQ(error(s), "smtp settings: max_connections must be between 1 and 256");
  s = base;
  s.timeout = std::chrono::milliseconds(0);
  EXPECT_EQ(error(s), "smtp settings: timeout must be between 1 ms and 10 minutes");
  s = base;
  s.password = "pw\r\nRCPT TO:<x@y.example>";
  EXPECT_EQ(error(s), "smtp settings: password contains a line break or NUL");
  s = base;
  s.ehlo_name = "bad name";
  EXPECT_EQ(error(s), "smtp settings: ehlo_name \"bad name\" is not a host name");
}

}  // namespace
}  // namespace treu::messaging
