// SmtpTransport against a real SMTP server: test/messaging/smtp_sink.py (aiosmtpd on
// Debian's Python), which parses every message it accepts with Python's email package and
// verifies DKIM signatures with dkimpy. Each test starts its own server on a free loopback
// port with its own directory.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "messaging/dkim.hpp"
#include "messaging/mime.hpp"
#include "messaging/smtp_sink_testing.hpp"
#include "messaging/transport.hpp"

namespace treu::messaging {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using smtp_testing::ReadFile;
using smtp_testing::Sink;
using smtp_testing::TempDir;
using smtp_testing::UnusedPort;
using smtp_testing::WriteFile;

const Timestamp kDate = Timestamp::FromSeconds(1'709'296'200);  // 2024-03-01 12:30 UTC

// A self-signed certificate for 127.0.0.1 and localhost, made with the openssl command.
struct TestCertificate {
  TempDir dir;
  fs::path cert = dir.path() / "cert.pem";
  fs::path key = dir.path() / "key.pem";
  TestCertificate() {
    const std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
        key.string() + " -out " + cert.string() + " 2>/dev/null";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
  }
};


EmailMessage SampleMessage(std::string to = "ada@example.com") {
  EmailMessage m;
  m.from = {"Jürgen vom Laden", "news@shop.example"};
  m.to = {"Ada Lovelace", std::move(to)};
  m.reply_to = Mailbox{"", "help@shop.example"};
  m.subject = "Grüße aus Köln 🎉 — dein Gutschein über 10 € wartet, nur noch bis Sonntag 🕒";
  m.text = "Hallo Ada,\n\ndein Gutschein: KÖLN10 🎁\n\nBis bald!\n";
  m.html = "<p>Hallo Ada,</p><p>dein Gutschein: <b>KÖLN10</b> 🎁</p><p>Bis bald!</p>\n";
  m.extra_headers = {{"List-Unsubscribe", "<https://shop.example/u/abc>, <mailto:u@shop.example>"},
                     {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}};
  return m;
}

std::string WithoutCr(std::string text) {
  std::erase(text, '\r');
  return text;
}

std::unique_ptr<SmtpTransport> Transport(SmtpSettings settings) {
  auto transport = SmtpTransport::Create(std::move(settings));
  EXPECT_TRUE(transport.has_value()) << transport.error().ToString();
  return transport ? std::move(*transport) : nullptr;
}

SmtpSettings Plain(const Sink& sink) {
  SmtpSettings settings;
  settings.url = sink.Url();
  settings.tls = SmtpTls::kNone;
  settings.timeout = milliseconds(10'000);
  settings.max_connections = 1;
  return settings;
}

const Envelope kEnvelope{"bounces@shop.example", "ada@example.com"};

TEST(SmtpTransportTest, DeliversAMultipartMessageThatPythonParses) {
  Sink sink({});
  auto transport = Transport(Plain(sink));
  const EmailMessage message = SampleMessage();
  auto built = BuildMime(message, kDate);
  ASSERT_TRUE(built) << built.error().ToString();

  const SendResult result = transport->Send(kEnvelope, built->mime);
  EXPECT_EQ(result.outcome, SendOutcome::kSent) << result.detail;
  EXPECT_EQ(result.smtp_code, 250);
  EXPECT_NE(result.detail.find("queued"), std::string::npos) << result.detail;

  const json m = sink.Message(1);
  EXPECT_EQ(m["envelope"]["mail_from"], "bounces@shop.example");
  EXPECT_EQ(m["envelope"]["rcpt_tos"], json::array({"ada@example.com"}));
  EXPECT_EQ(m["headers"]["Subject"], message.subject);
  EXPECT_EQ(m["addresses"]["From"][0]["display_name"], "Jürgen vom Laden");
  EXPECT_EQ(m["addresses"]["From"][0]["addr_spec"], "news@shop.example");
  EXPECT_EQ(m["addresses"]["To"][0]["display_name"], "Ada Lovelace");
  EXPECT_EQ(m["addresses"]["Reply-To"][0]["addr_spec"], "help@shop.example");
  EXPECT_EQ(m["headers"]["Message-ID"], "<" + built->message_id + ">");
  EXPECT_EQ(m["headers"]["Date"], "Fri, 01 Mar 2024 12:30:00 +0000");
  EXPECT_EQ(m["headers"]["MIME-Version"], "1.0");
  EXPECT_EQ(m["headers"]["List-Unsubscribe"], message.extra_headers[0].second);
  EXPECT_EQ(m["headers"]["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
  EXPECT_EQ(m["content_type"], "multipart/alternative");
  ASSERT_EQ(m["parts"].size(), 2u);
  EXPECT_EQ(m["parts"][0]["content_type"], "text/plain");
  EXPECT_EQ(m["parts"][0]["charset"], "utf-8");
  EXPECT_EQ(m["parts"][0]["transfer_encoding"], "quoted-printable");
  EXPECT_EQ(WithoutCr(m["parts"][0]["text"]), message.text);
  EXPECT_EQ(m["parts"][1]["content_type"], "text/html");
  EXPECT_EQ(m["parts"][1]["charset"], "utf-8");
  EXPECT_EQ(WithoutCr(m["parts"][1]["text"]), message.html);
  EXPECT_EQ(m["defects"], json::array());
  EXPECT_LE(m["max_line_length"].get<int>(), 78);
  EXPECT_FALSE(m["bare_lf"].get<bool>());
  EXPECT_FALSE(m["dkim_signature_present"].get<bool>());
  EXPECT_EQ(sink.Raw(1), built->mime);
}

TEST(SmtpTransportTest, HtmlOnlyMessageGetsADerivedTextPart) {
  Sink sink({});
  auto transport = Transport(Plain(sink));
  EmailMessage message = SampleMessage();
  message.text.clear();
  message.html = "<h1>Willkommen</h1><p>Schön, dass du da bist. <a href=\"https://shop.example/start\">Los geht's</a></p>";
  auto built = BuildMime(message, kDate);
  ASSERT_TRUE(built);
  ASSERT_EQ(transport->Send(kEnvelope, built->mime).outcome, SendOutcome::kSent);
  const json m = sink.Message(1);
  ASSERT_EQ(m["parts"].size(), 2u);
  EXPECT_EQ(WithoutCr(m["parts"][0]["text"]),
            "Willkommen\n\nSchön, dass du da bist. Los geht's (https://shop.example/start)");
}

TEST(SmtpTransportTest, StartTlsWithAuthentication) {
  TestCertificate certificate;
  Sink sink({"--tls-cert", certificate.cert.string(), "--tls-key", certificate.key.string(),
             "--auth", "treu:s3cret pass"});
  SmtpSettings settings = Plain(sink);
  settings.tls = SmtpTls::kStartTls;
  settings.ca_file = certificate.cert.string();
  settings.username = "treu";
  settings.password = "s3cret pass";
  settings.ehlo_name = "mail.shop.example";
  auto transport = Transport(settings);
  auto built = BuildMime(SampleMessage(), kDate);
  ASSERT_TRUE(built);
  for (int i = 0; i < 3; ++i) {
    const SendResult result = transport->Send(kEnvelope, built->mime);
    EXPECT_EQ(result.outcome, SendOutcome::kSent) << result.detail;
  }
  EXPECT_EQ(sink.Message(3)["headers"]["Subject"], SampleMessage().subject);
  EXPECT_EQ(sink.Stats()["connections"], 1);
  EXPECT_EQ(transport->connections_opened(), 1);
}

TEST(SmtpTransportTest, ImplicitTls) {
  TestCertificate certificate;
  Sink sink({"--tls-cert", certificate.cert.string(), "--tls-key", certificate.key.string(),
             "--implicit-tls", "--auth", "treu:pw"});
  SmtpSettings settings = Plain(sink);
  settings.url = sink.Url("smtps");
  settings.tls = SmtpTls::kImplicit;
  settings.ca_file = certificate.cert.string();
  settings.username = "treu";
  settings.password = "pw";
  auto transport = Transport(settings);
  auto built = BuildMime(SampleMessage(), kDate);
  ASSERT_TRUE(built);
  const SendResult result = transport->Send(kEnvelope, built->mime);
  EXPECT_EQ(result.outcome, SendOutcome::kSent) << result.detail;
  EXPECT_EQ(sink.Message(1)["envelope"]["rcpt_tos"][0], "ada@example.com");
}

TEST(SmtpTransportTest, WrongPasswordIsATemporaryFailureThatSaysSo) {
  TestCertificate certificate;
  Sink sink({"--tls-cert", certificate.cert.string(), "--tls-key", certificate.key.string(),
             "--auth", "treu:right"});
  SmtpSettings settings = Plain(sink);
  settings.tls = SmtpTls::kStartTls;
  settings.ca_file = certificate.cert.string();
  settings.username = "treu";
  settings.password = "wrong-password-xyz";
  auto transport = Transport(settings);
  auto built = BuildMime(SampleMessage(), kDate);
  ASSERT_TRUE(built);
  const SendResult result = transport->Send(kEnvelope, built->mime);
  EXPECT_EQ(result.outcome, SendOutcome::kTemporaryFailure);
  EXPECT_EQ(result.smtp_code, 535);
  EXPECT_NE(result.detail.find("authentication failed"), std::string::npos) << result.detail;
  EXPECT_NE(result.detail.find("check the username and password"), std::string::npos);
  EXPECT_EQ(result.detail.find("wrong-password-xyz"), std::string::npos) << result.detail;
  EXPECT_EQ(sink.Stats()["messages"], 0);
}

TEST(SmtpTransportTest, UntrustedCertificateFailsTemporarily) {
  TestCertificate certificate;
  Sink sink({"--tls-cert", certificate.cert.string(), "--tls-key", certificate.key.string()});
  SmtpSettings settings = Plain(sink);
  settings.tls = SmtpTls::kStartTls;  // no ca_file: the system's authorities don't know it
  auto transport = Transport(settings);
  auto built = BuildMime(SampleMessage(), kDate);
  ASSERT_TRUE(built);
  const SendResult result = transport->Send(kEnvelope, built->mime);
  EXPECT_EQ(result.outcome, SendOutcome::kTemporaryFailure);
  EXPECT_NE(result.detail.find("TLS failed"), std::string::npos) << result.detail;
}

TEST(SmtpTransportTest, RequiredStartTlsMissingOnTheServer) {
  Sink sink({});
  SmtpSettings settings = Plain(sink);
  settings.tls = SmtpTls::kStartTls;
  auto transport = Transport(settings);
  auto built = BuildMime(SampleMessage(), kDate);
  ASSERT_TRUE(built);
  const SendResult result = transport->Send(kEnvelope, built->mime);
  EXPECT_EQ(result.outcome, SendOutcome::kTemporaryFailure);
  EXPECT_NE(result.detail.find("does not offer STARTTLS"), std::string::npos) << result.detail;
  EXPECT_EQ(sink.Stats()["messages"], 0);
}

TEST(SmtpTransportTest, PlainClientAtATlsOnlyServerIsNotABounce) {
  TestCertificate certificate;
  Sink sink({"--tls-cert", certificate.cert.string(), "--tls-key", certificate.key.string()});
  auto transport = Transport(Plain(sink));
  auto built = BuildMime(SampleMessage(), kDate);
  ASSERT_TRUE(built);
  const SendResult result = transport->Send(kEnvelope, built->mime);
  EXPECT_EQ(result.outcome, SendOutcome::kTemporaryFailure) << result.detail;
  EXPECT_EQ(result.smtp_code, 530);
  EXPECT_NE(result.detail.find("check the SMTP settings"), std::string::npos) << result.detail;
}

TEST(SmtpTransportTest, RejectedRecipientIsAPermanentFailure) {
  Sink sink({"--reject", "bounce@*=550"});
  auto transport = Transport(Plain(sink));
  auto built = BuildMime(SampleMessage("bounce@example.com"), kDate);
  ASSERT_TRUE(built);
  const SendResult result = transport->Send({"bounces@shop.example", "bounce@example.com"}, built->mime);
  EXPECT_EQ(result.outcome, SendOutcome::kPermanentFailure);
  EXPECT_EQ(result.smtp_code, 550);
  EXPECT_EQ(result.detail,
            "RCPT TO: 550 5.1.1 <bounce@example.com>: mailbox unavailable (test rule)");
  // The connection serves the next message.
  const SendResult next = transport->Send(kEnvelope, built->mime);
  EXPECT_EQ(next.outcome, SendOutcome::kSent) << next.detail;
  EXPECT_EQ(sink.Stats()["messages"], 1);
}

TEST(SmtpTransportTest, DeferredRecipientIsATemporaryFailure) {
  Sink sink({"--defer", "later@*=451"});
  auto transport = Transport(Plain(sink));
  auto built = BuildMime(SampleMessage("later@example.com"), kDate);
  ASSERT_TRUE(built);
  const SendResult result = transport->Send({"bounces@shop.example", "later@example.com"}, built->mime);
  EXPECT_EQ(result.outcome, SendOutcome::kTemporaryFailure);
  EXPECT_EQ(result.smtp_code, 451);
  EXPECT_EQ(result.detail, "RCPT TO: 451 4.2.1 <later@example.com>: try again later (test rule)");
}

TEST(SmtpTransportTest, MessageRefusedAfterDataIsAPermanentFailure) {
  Sink sink({"--reject-data", "spam@*=554"});
  auto transport = Transport(Plain(sink));
  auto built = BuildMime(SampleMessage("spam@example.com"), kDate);
  ASSERT_TRUE(built);
  const SendResult result = transport->Send({"bounces@shop.example", "spam@example.com"}, built->mime);
  EXPECT_EQ(result.outcome, SendOutcome::kPermanentFailure);
  EXPECT_EQ(result.smtp_code, 554);
  EXPECT_EQ(result.detail, "end of DATA: 554 5.7.1 message refused (test rule)");
}

TEST(SmtpTransportTest, ServerDownIsATemporaryFailure) {
  SmtpSettings settings;
  settings.url = "smtp://127.0.0.1:" + std::to_string(UnusedPort());
  settings.tls = SmtpTls::kNone;
  auto transport = Transport(settings);
  auto built = BuildMime(SampleMessage(), kDate);
  ASSERT_TRUE(built);
  const SendResult result = transport->Send(kEnvelope, built->mime);
  EXPECT_EQ(result.outcome, SendOutcome::kTemporaryFailure);
  EXPECT_EQ(result.smtp_code, 0);
  EXPECT_NE(result.detail.find("cannot connect"), std::string::npos) << result.detail;
  EXPECT_NE(result.detail.find(settings.url), std::string::npos) << result.detail;
}

TEST(SmtpTransportTest, FiftyMessagesOverOneConnection) {
  Sink sink({});
  auto transport = Transport(Plain(sink));
  auto built = BuildMime(SampleMessage(), kDate);
  ASSERT_TRUE(built);
  for (int i = 0; i < 50; ++i) {
    const SendResult result = transport->Send(kEnvelope, built->mime);
    ASSERT_EQ(result.outcome, SendOutcome::kSent) << i << ": " << result.detail;
  }
  EXPECT_EQ(sink.Stats()["messages"], 50);
  EXPECT_EQ(sink.Stats()["connections"], 1);
  EXPECT_EQ(sink.Message(50)["connection"], 1);
  EXPECT_EQ(transport->connections_opened(), 1);
}

TEST(SmtpTransportTest, ManyThreadsShareABoundedPool) {
  Sink sink({});
  SmtpSettings settings = Plain(sink);
  settings.max_connections = 3;
  auto transport = Transport(settings);
  auto built = BuildMime(SampleMessage(), kDate);
  ASSERT_TRUE(built);
  std::atomic<int> sent{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 15; ++i) {
        if (transport->Send(kEnvelope, built->mime).outcome == SendOutcome::kSent) ++sent;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(sent.load(), 120);
  EXPECT_EQ(sink.Stats()["messages"], 120);
  EXPECT_LE(sink.Stats()["connections"].get<int>(), 3);
  EXPECT_LE(transport->connections_opened(), 3);
}

TEST(SmtpTransportTest, ReconnectsWhenTheServerDroppedAnIdleConnection) {
  auto sink = std::make_unique<Sink>(std::vector<std::string>{});
  const int port = sink->port();
  auto transport = Transport(Plain(*sink));
  auto built = BuildMime(SampleMessage(), kDate);
  ASSERT_TRUE(built);
  ASSERT_EQ(transport->Send(kEnvelope, built->mime).outcome, SendOutcome::kSent);
  sink.reset();  // the server goes away with the connection open
  Sink restarted({}, port);
  const SendResult result = transport->Send(kEnvelope, built->mime);
  EXPECT_EQ(result.outcome, SendOutcome::kSent) << result.detail;
  EXPECT_EQ(restarted.Stats()["messages"], 1);
  EXPECT_EQ(transport->connections_opened(), 2);
}

TEST(SmtpTransportTest, MalformedEnvelopeIsRefusedBeforeConnecting) {
  SmtpSettings settings;
  settings.url = "smtp://127.0.0.1:" + std::to_string(UnusedPort());
  settings.tls = SmtpTls::kNone;
  auto transport = Transport(settings);
  const SendResult result =
      transport->Send({"bounces@shop.example", "ada@example.com>\r\nRCPT TO:<x@evil.example"}, "x");
  EXPECT_EQ(result.outcome, SendOutcome::kPermanentFailure);
  EXPECT_EQ(result.detail, "rcpt_to: contains a line break or NUL");
  EXPECT_EQ(transport->connections_opened(), 0);
}

class DkimDeliveryTest : public ::testing::TestWithParam<bool> {};

TEST_P(DkimDeliveryTest, DkimpyVerifiesTheSignature) {
  const bool ed25519 = GetParam();
  auto signer = DkimSigner::Create("shop.example", "treu2024", GenerateDkimKey(ed25519 ? DkimKeyType::kEd25519 : DkimKeyType::kRsa2048).value());
  ASSERT_TRUE(signer) << signer.error().ToString();
  TempDir keys;
  WriteFile(keys.path() / "record.txt", signer->DnsRecord());
  Sink sink({"--dkim-public-key", (keys.path() / "record.txt").string()});
  auto transport = Transport(Plain(sink));
  auto built = BuildMime(SampleMessage(), kDate);
  ASSERT_TRUE(built);
  auto signed_mime = signer->Sign(built->mime);
  ASSERT_TRUE(signed_mime) << signed_mime.error().ToString();
  ASSERT_EQ(transport->Send(kEnvelope, *signed_mime).outcome, SendOutcome::kSent);

  // The same message with its body altered after signing.
  std::string tampered = *signed_mime;
  const std::size_t pos = tampered.find("KÖLN10") != std::string::npos
                              ? tampered.find("KÖLN10")
                              : tampered.find("K=C3=96LN10");
  ASSERT_NE(pos, std::string::npos);
  tampered[pos] = 'X';
  ASSERT_EQ(transport->Send(kEnvelope, tampered).outcome, SendOutcome::kSent);

  const json good = sink.Message(1);
  EXPECT_TRUE(good["dkim_signature_present"].get<bool>());
  EXPECT_TRUE(good["dkim"]["verified"].get<bool>()) << good["dkim"].dump();
  EXPECT_EQ(good["dkim"]["dns_names"], json::array({"treu2024._domainkey.shop.example."}));
  EXPECT_EQ(good["defects"], json::array());
  EXPECT_LE(good["max_line_length"].get<int>(), 78);
  EXPECT_FALSE(sink.Message(2)["dkim"]["verified"].get<bool>());
}

INSTANTIATE_TEST_SUITE_P(Algorithms, DkimDeliveryTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Ed25519" : "Rsa"; });

TEST(FileTransportDeliveryTest, FilesParseWithPythonsEmailPackage) {
  TempDir dir;
  ManualClock clock(Timestamp{kDate.micros + 250'000});
  auto transport = FileTransport::Create(dir.path() / "outbox", clock);
  ASSERT_TRUE(transport);
  auto built = BuildMime(SampleMessage(), kDate);
  ASSERT_TRUE(built);
  const SendResult result = (*transport)->Send(kEnvelope, built->mime);
  ASSERT_EQ(result.outcome, SendOutcome::kSent) << result.detail;
  const fs::path file =
      dir.path() / "outbox" / ("20240301T123000.250000Z-" + built->message_id + ".eml");
  ASSERT_TRUE(fs::exists(file)) << result.detail;
  const std::string script =
      "import email, email.policy, sys\n"
      "m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)\n"
      "parts = [p.get_content_type() + ';' + p.get_content_charset() for p in m.walk() if not p.is_multipart()]\n"
      "print(str(m['Subject']) + '|' + ','.join(parts) + '|' + str(len(m.defects)))\n";
  WriteFile(dir.path() / "parse.py", script);
  const std::string command = std::string(TREU_PYTHON) + " " + (dir.path() / "parse.py").string() +
                              " " + file.string() + " > " + (dir.path() / "parsed.txt").string();
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_EQ(ReadFile(dir.path() / "parsed.txt"),
            SampleMessage().subject + "|text/plain;utf-8,text/html;utf-8|0\n");
}

}  // namespace
}  // namespace treu::messaging
