// Delivery of built messages: to an SMTP server (SmtpTransport, through libcurl's SMTP
// client, with reused connections) or into a directory of .eml files (FileTransport, the
// default for demos and tests, so that nobody is mailed by accident).
//
// Outcomes are classes a sender acts on:
//   kSent              the server took responsibility for the message (250 after DATA);
//   kTemporaryFailure  try again later with backoff: 4xx replies, the server unreachable,
//                      timeouts, TLS failures, failed authentication and other problems of
//                      the connection or configuration rather than of the recipient;
//   kPermanentFailure  do not retry this message to this recipient: a 5xx reply to MAIL FROM,
//                      RCPT TO or DATA (e.g. "550 5.1.1 user unknown"), or an envelope that no
//                      server could accept (a malformed address). A hard bounce.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "core/time.hpp"

namespace treu::messaging {

// The SMTP envelope: where bounces go and who receives the message.
struct Envelope {
  std::string mail_from;  // ASCII address; empty for the null reverse-path "<>"
  std::string rcpt_to;    // ASCII address
};

enum class SendOutcome { kSent, kTemporaryFailure, kPermanentFailure };

// "sent", "temporary_failure", "permanent_failure".
std::string_view SendOutcomeName(SendOutcome outcome);

struct SendResult {
  SendOutcome outcome = SendOutcome::kTemporaryFailure;
  // The server's last reply code (250, 451, 550, ...); 0 when there was none (no
  // connection, a timeout before a reply, FileTransport).
  int smtp_code = 0;
  // What happened, for logs and the message's delivery record: the command and the server's
  // reply ("RCPT TO: 550 5.1.1 <bob@example.com>: user unknown") or the connection problem.
  // Never contains the password.
  std::string detail;
};

class EmailTransport {
 public:
  virtual ~EmailTransport() = default;

  // Delivers `mime` (RFC 5322 bytes, CRLF line endings, e.g. BuiltEmail::mime or a
  // DkimSigner's output) to `envelope.rcpt_to`. Never throws; every failure is a
  // SendResult. Thread-safe.
  virtual SendResult Send(const Envelope& envelope, std::string_view mime) = 0;
};

enum class SmtpTls {
  kNone,       // plain SMTP; no credentials allowed
  kStartTls,   // smtp:// then STARTTLS, required: a server without it fails the send
  kImplicit,   // smtps://, TLS from the first byte (port 465)
};

struct SmtpSettings {
  // "smtp://host:port" (kNone, kStartTls) or "smtps://host:port" (kImplicit), without user,
  // password or path. The port defaults to 25 and 465.
  std::string url;
  // AUTH credentials; empty username: no AUTH. Sent only over TLS.
  std::string username;
  std::string password;
  SmtpTls tls = SmtpTls::kStartTls;
  // PEM file of the certificate authorities to trust instead of the system's (a private
  // relay's or a test server's self-signed certificate). The server's name (or IP address)
  // is always verified.
  std::string ca_file;
  // The name this host gives in EHLO, e.g. "mail.shop.example"; empty: libcurl's default.
  std::string ehlo_name;
  // Deadline of one send: connecting, TLS, AUTH and the whole transaction. 1 ms..10 min.
  std::chrono::milliseconds timeout{30'000};
  // Connections kept open and used at once (1..256). Sends beyond that wait for a free
  // connection (up to `timeout`).
  int max_connections = 4;
};

// EmailTransport over libcurl's SMTP client. Each of up to max_connections libcurl handles
// keeps its connection open between sends (after EHLO, STARTTLS and AUTH), so that a batch
// of messages costs one transaction each, not one connection each. A connection found dead
// on reuse (the server closed it while idle) is replaced and the message sent again, which
// is safe because the server had not accepted it. Proxies from the environment and .netrc
// are ignored.
class SmtpTransport final : public EmailTransport {
 public:
  // InvalidArgument (context "smtp settings") for a URL that is not smtp:// or smtps://
  // with a host, a scheme that does not match `tls`, credentials with SmtpTls::kNone, or a
  // timeout or max_connections out of range. Connects to nothing yet.
  static Result<std::unique_ptr<SmtpTransport>> Create(SmtpSettings settings);

  // Closes the open connections (QUIT). REQUIRES: no Send is running.
  ~SmtpTransport() override;

  SendResult Send(const Envelope& envelope, std::string_view mime) override;

  // Connections opened so far (including reconnects), for metrics and tests.
  std::int64_t connections_opened() const { return connections_opened_.load(); }

  struct Connection;

 private:
  explicit SmtpTransport(SmtpSettings settings);
  Result<std::unique_ptr<Connection>> Acquire();
  void Release(std::unique_ptr<Connection> connection);
  SendResult SendOn(Connection& connection, const Envelope& envelope, std::string_view mime);

  // Constant after construction.
  const SmtpSettings settings_;
  std::string url_;     // the URL given to libcurl (with the EHLO name as its path)
  std::string origin_;  // "smtp://host:port", for messages

  std::mutex mu_;
  std::condition_variable released_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  int handles_ = 0;                                // guarded by mu_: idle and in use

  std::atomic<std::int64_t> connections_opened_{0};
};

// EmailTransport that writes each message to `<dir>/<time>-<message id>.eml`, e.g.
// "20240301T123000.250000Z-3f2a9c@shop.example.eml" (time from `clock`, the Message-ID
// header with characters other than letters, digits and ".@_+-" replaced by '_'). Each file
// is written to a temporary name, synced, renamed into place and the directory synced, so a
// file that exists is complete. Files are never overwritten; a name taken gets "-1", "-2", ...
// Results: kSent; kPermanentFailure for a malformed envelope; kTemporaryFailure when writing
// fails (the detail names the path and the system error).
class FileTransport final : public EmailTransport {
 public:
  // Creates `dir` (and its parents) when missing. InvalidArgument when it is not a
  // directory; Unavailable when it cannot be created.
  // REQUIRES: `clock` outlives the transport.
  static Result<std::unique_ptr<FileTransport>> Create(std::filesystem::path dir, const Clock& clock);

  SendResult Send(const Envelope& envelope, std::string_view mime) override;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  FileTransport(std::filesystem::path dir, const Clock& clock) : dir_(std::move(dir)), clock_(clock) {}

  const std::filesystem::path dir_;
  const Clock& clock_;
};

}  // namespace treu::messaging
