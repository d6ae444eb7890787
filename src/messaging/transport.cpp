#include "messaging/transport.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "messaging/mime.hpp"
#include "net/curl_support.hpp"

namespace treu::messaging {
namespace {

constexpr std::chrono::milliseconds kMaxTimeout{10 * 60 * 1000};
constexpr int kMaxConnections = 256;

using net::CurlString;
using net::EasyHandle;
using net::SList;
using net::UrlHandle;

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string UrlPart(CURLU* url, CURLUPart part) {
  char* raw = nullptr;
  if (curl_url_get(url, part, &raw, 0) != CURLUE_OK) return {};
  CurlString owned(raw);
  return raw == nullptr ? std::string() : std::string(raw);
}

SendResult MakeResult(SendOutcome outcome, int code, std::string detail) {
  return SendResult{outcome, code, std::move(detail)};
}

Status CheckEnvelope(const Envelope& envelope) {
  if (!envelope.mail_from.empty()) {
    TREU_RETURN_IF_ERROR(ValidateAddress(envelope.mail_from, "mail_from"));
  }
  return ValidateAddress(envelope.rcpt_to, "rcpt_to");
}

}  // namespace

std::string_view SendOutcomeName(SendOutcome outcome) {
  switch (outcome) {
    case SendOutcome::kSent:
      return "sent";
    case SendOutcome::kTemporaryFailure:
      return "temporary_failure";
    case SendOutcome::kPermanentFailure:
      return "permanent_failure";
  }
  return "unknown";
}

// One libcurl handle with its connection and the state of the send running on it.
struct SmtpTransport::Connection {
  EasyHandle easy;
  char error[CURL_ERROR_SIZE] = {};

  // The message being uploaded.
  std::string_view body;
  std::size_t offset = 0;

  // What the server said in this send: the latest reply (lines joined by spaces) and its
  // code, and the stage (command) it answered.
  std::string reply;
  bool reply_complete = true;
  int code = 0;
  std::string stage;       // "EHLO", "STARTTLS", "AUTH", "MAIL FROM", "RCPT TO", "DATA", ...
  std::string reply_stage;  // the stage of `reply`

  void Reset(std::string_view message) {
    body = message;
    offset = 0;
    reply.clear();
    reply_complete = true;
    code = 0;
    stage = "connect";
    reply_stage.clear();
    error[0] = '\0';
  }
};

namespace {

std::size_t ReadBody(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto& c = *static_cast<SmtpTransport::Connection*>(user);
  const std::size_t n = std::min(size * count, c.body.size() - c.offset);
  std::memcpy(buffer, c.body.data() + c.offset, n);
  c.offset += n;
  return n;
}

// Server replies (CURLINFO_HEADER_IN) give the reply and its code; commands
// (CURLINFO_HEADER_OUT) only the stage: their arguments, which include AUTH's credentials,
// are never kept.
int OnDebug(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  auto& c = *static_cast<SmtpTransport::Connection*>(user);
  const std::string_view text(data, size);
  if (type == CURLINFO_HEADER_OUT) {
    static constexpr std::string_view kStages[] = {"EHLO", "HELO",  "STARTTLS", "AUTH", "MAIL",
                                                   "RCPT", "DATA", "QUIT",     "RSET", "NOOP"};
    const std::string verb = [&] {
      std::string word;
      for (char ch : text) {
        if (ch == ' ' || ch == '\r' || ch == '\n' || word.size() > 8) break;
        word += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      }
      return word;
    }();
    if (std::find(std::begin(kStages), std::end(kStages), verb) != std::end(kStages)) {
      c.stage = verb == "MAIL" ? "MAIL FROM" : verb == "RCPT" ? "RCPT TO" : verb;
    }
    return 0;
  }
  if (type == CURLINFO_DATA_OUT) {
    c.stage = "end of DATA";
    return 0;
  }
  // The reply to QUIT, which libcurl sends when it closes a connection after a failure,
  // would hide the reply that mattered.
  if (type != CURLINFO_HEADER_IN || c.stage == "QUIT") return 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0]))) continue;
    // "250-first line" / "250 last line": the code once, then the texts.
    if (c.reply_complete) {
      c.reply = std::string(line.substr(0, 3));
      c.reply_stage = c.stage;
    }
    if (line.size() > 4) {
      c.reply += ' ';
      c.reply += line.substr(4);
    }
    c.reply_complete = line.size() == 3 || line[3] == ' ';
    c.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (c.reply.size() > 1024) c.reply.resize(1024);
  }
  return 0;
}

}  // namespace

SmtpTransport::SmtpTransport(SmtpSettings settings) : settings_(std::move(settings)) {}

SmtpTransport::~SmtpTransport() {
  std::lock_guard lock(mu_);
  idle_.clear();  // curl_easy_cleanup sends QUIT on open connections
}

Result<std::unique_ptr<SmtpTransport>> SmtpTransport::Create(SmtpSettings settings) {
  TREU_RETURN_IF_ERROR(net::InitCurl("smtp transport"));
  const std::string context = "smtp settings";
  if (settings.timeout < std::chrono::milliseconds(1) || settings.timeout > kMaxTimeout) {
    return InvalidArgument(context, "timeout must be between 1 ms and 10 minutes");
  }
  if (settings.max_connections < 1 || settings.max_connections > kMaxConnections) {
    return InvalidArgument(context, "max_connections must be between 1 and " +
                                        std::to_string(kMaxConnections));
  }
  for (const auto& [name, value] :
       {std::pair<std::string_view, const std::string*>{"url", &settings.url},
        {"username", &settings.username},
        {"password", &settings.password},
        {"ca_file", &settings.ca_file},
        {"ehlo_name", &settings.ehlo_name}}) {
    if (value->find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return InvalidArgument(context, std::string(name) + " contains a line break or NUL");
    }
  }
  UrlHandle url(curl_url());
  if (!url) return Internal(context, "out of memory");
  if (curl_url_set(url.get(), CURLUPART_URL, settings.url.c_str(), CURLU_NON_SUPPORT_SCHEME) !=
      CURLUE_OK) {
    return InvalidArgument(context, "url \"" + settings.url +
                                        "\" is not a URL such as smtp://mail.example.com:587");
  }
  const std::string scheme = Lower(UrlPart(url.get(), CURLUPART_SCHEME));
  const std::string host = UrlPart(url.get(), CURLUPART_HOST);
  const std::string path = UrlPart(url.get(), CURLUPART_PATH);
  if (scheme != "smtp" && scheme != "smtps") {
    return InvalidArgument(context, "url scheme \"" + scheme + "\" is not smtp or smtps");
  }
  if (host.empty()) return InvalidArgument(context, "url \"" + settings.url + "\" has no host");
  if (!UrlPart(url.get(), CURLUPART_USER).empty() ||
      !UrlPart(url.get(), CURLUPART_PASSWORD).empty()) {
    return InvalidArgument(context, "the url must not carry credentials; set username and password");
  }
  if (!path.empty() && path != "/") {
    return InvalidArgument(context, "the url must not have a path; set ehlo_name instead");
  }
  if (!UrlPart(url.get(), CURLUPART_QUERY).empty()) {
    return InvalidArgument(context, "the url must not have a query");
  }
  if (settings.tls == SmtpTls::kImplicit && scheme != "smtps") {
    return InvalidArgument(context, "implicit TLS needs an smtps:// url");
  }
  if (settings.tls != SmtpTls::kImplicit && scheme == "smtps") {
    return InvalidArgument(context, "an smtps:// url needs tls = implicit");
  }
  if (!settings.username.empty() && settings.tls == SmtpTls::kNone) {
    return InvalidArgument(context,
                           "credentials would be sent in clear text; use STARTTLS or implicit TLS");
  }
  if (!settings.ehlo_name.empty() && !IsValidDomainName(settings.ehlo_name)) {
    return InvalidArgument(context, "ehlo_name \"" + settings.ehlo_name + "\" is not a host name");
  }
  std::unique_ptr<SmtpTransport> transport(new SmtpTransport(settings));
  std::string origin = scheme + "://" + host;
  if (const std::string port = UrlPart(url.get(), CURLUPART_PORT); !port.empty()) {
    origin += ":" + port;
  }
  transport->origin_ = origin;
  transport->url_ = origin + "/" + settings.ehlo_name;
  return transport;
}

Result<std::unique_ptr<SmtpTransport::Connection>> SmtpTransport::Acquire() {
  std::unique_lock lock(mu_);
  const bool available = released_.wait_for(lock, settings_.timeout, [this] {
    return !idle_.empty() || handles_ < settings_.max_connections;
  });
  if (!available) {
    return Unavailable(origin_, "all " + std::to_string(settings_.max_connections) +
                                    " connections stayed busy for " +
                                    std::to_string(settings_.timeout.count()) + " ms");
  }
  if (!idle_.empty()) {
    // The most recently used connection: the likeliest to be open still.
    std::unique_ptr<Connection> connection = std::move(idle_.back());
    idle_.pop_back();
    return connection;
  }
  ++handles_;
  lock.unlock();

  auto connection = std::make_unique<Connection>();
  connection->easy.reset(curl_easy_init());
  CURLcode rc = connection->easy ? CURLE_OK : CURLE_OUT_OF_MEMORY;
  CURL* easy = connection->easy.get();
  auto set = [&rc, easy](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, option, value);
  };
  set(CURLOPT_URL, url_.c_str());
  set(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  set(CURLOPT_USE_SSL, static_cast<long>(settings_.tls == SmtpTls::kNone ? CURLUSESSL_NONE
                                                                         : CURLUSESSL_ALL));
  if (!settings_.ca_file.empty()) set(CURLOPT_CAINFO, settings_.ca_file.c_str());
  if (!settings_.username.empty()) {
    set(CURLOPT_USERNAME, settings_.username.c_str());
    set(CURLOPT_PASSWORD, settings_.password.c_str());
  }
  set(CURLOPT_PROXY, "");
  set(CURLOPT_NETRC, static_cast<long>(CURL_NETRC_IGNORED));
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.timeout.count()));
  set(CURLOPT_MAXCONNECTS, 1L);
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_UPLOAD, 1L);
  set(CURLOPT_READFUNCTION, &ReadBody);
  set(CURLOPT_READDATA, static_cast<void*>(connection.get()));
  // The debug callback sees the server's replies; VERBOSE makes libcurl call it (nothing
  // is printed while a callback is set).
  set(CURLOPT_DEBUGFUNCTION, &OnDebug);
  set(CURLOPT_DEBUGDATA, static_cast<void*>(connection.get()));
  set(CURLOPT_VERBOSE, 1L);
  set(CURLOPT_ERRORBUFFER, connection->error);
  if (rc != CURLE_OK) {
    std::lock_guard relock(mu_);
    --handles_;
    released_.notify_one();
    return Internal(origin_, std::string("libcurl refused an option: ") + curl_easy_strerror(rc));
  }
  return connection;
}

void SmtpTransport::Release(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(connection));
  released_.notify_one();
}

SendResult SmtpTransport::Send(const Envelope& envelope, std::string_view mime) {
  if (auto status = CheckEnvelope(envelope); !status) {
    return MakeResult(SendOutcome::kPermanentFailure, 0, status.error().ToString());
  }
  auto connection = Acquire();
  if (!connection) {
    return MakeResult(SendOutcome::kTemporaryFailure, 0, connection.error().ToString());
  }
  SendResult result = SendOn(**connection, envelope, mime);
  Release(std::move(*connection));
  return result;
}

SendResult SmtpTransport::SendOn(Connection& c, const Envelope& envelope, std::string_view mime) {
  CURL* easy = c.easy.get();
  SList recipients(curl_slist_append(nullptr, ("<" + envelope.rcpt_to + ">").c_str()));
  if (!recipients) return MakeResult(SendOutcome::kTemporaryFailure, 0, "out of memory");
  const std::string from = "<" + envelope.mail_from + ">";
  curl_easy_setopt(easy, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(mime.size()));

  CURLcode rc = CURLE_OK;
  for (int attempt = 0; attempt < 2; ++attempt) {
    c.Reset(mime);
    rc = curl_easy_perform(easy);
    long connects = 0;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    connections_opened_ += connects;
    // A reused connection the server had closed while idle fails before it accepted
    // anything: no reply at all, or 421 (closing). Once more on a new connection.
    const bool stale = connects == 0 && rc != CURLE_OK && (c.code == 0 || c.code == 421) &&
                       c.stage != "end of DATA";
    if (!stale) break;
  }
  curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, static_cast<curl_slist*>(nullptr));

  const int code = c.code;
  const std::string reply = c.reply.empty() ? std::string() : c.reply;
  if (rc == CURLE_OK) return MakeResult(SendOutcome::kSent, code, reply);

  const std::string what = c.error[0] != '\0' ? std::string(c.error) : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_LOGIN_DENIED:
      return MakeResult(SendOutcome::kTemporaryFailure, code,
                    origin_ + ": authentication failed (" + reply +
                        "); check the username and password");
    case CURLE_USE_SSL_FAILED:
      return MakeResult(SendOutcome::kTemporaryFailure, code,
                    origin_ + ": the server does not offer STARTTLS, which the settings require");
    case CURLE_OPERATION_TIMEDOUT:
      return MakeResult(SendOutcome::kTemporaryFailure, code,
                    origin_ + ": timed out after " + std::to_string(settings_.timeout.count()) +
                        " ms (" + c.stage + ")");
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return MakeResult(SendOutcome::kTemporaryFailure, 0,
                    origin_ + ": cannot connect: " + what);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return MakeResult(SendOutcome::kTemporaryFailure, code, origin_ + ": TLS failed: " + what);
    default:
      break;
  }
  if (code >= 400 && code < 600 && !reply.empty()) {
    const std::string stage = c.reply_stage.empty() ? c.stage : c.reply_stage;
    const bool transaction =
        stage == "MAIL FROM" || stage == "RCPT TO" || stage == "DATA" || stage == "end of DATA";
    // 530 (authentication or STARTTLS required), 534 and 535 speak of this sender's
    // settings, not of the recipient, even when they answer MAIL FROM.
    const bool settings_problem = code == 530 || code == 534 || code == 535;
    if (settings_problem) {
      return MakeResult(SendOutcome::kTemporaryFailure, code,
                        stage + ": " + reply +
                            " (the server wants authentication or TLS; check the SMTP settings)");
    }
    const SendOutcome outcome = code >= 500 && transaction ? SendOutcome::kPermanentFailure
                                                           : SendOutcome::kTemporaryFailure;
    return MakeResult(outcome, code, stage + ": " + reply);
  }
  return MakeResult(SendOutcome::kTemporaryFailure, code,
                origin_ + ": " + what + (c.stage.empty() ? "" : " (" + c.stage + ")"));
}

// FileTransport ---------------------------------------------------------------------------

namespace {

std::string SystemError(int error) { return std::strerror(error); }

// The Message-ID of `mime` without angle brackets, or "" when it has none.
std::string FindMessageId(std::string_view mime) {
  std::size_t start = 0;
  while (start < mime.size()) {
    std::size_t end = mime.find("\r\n", start);
    if (end == std::string_view::npos) end = mime.size();
    const std::string_view line = mime.substr(start, end - start);
    if (line.empty()) break;  // end of the headers
    if (line.size() > 11 && Lower(line.substr(0, 11)) == "message-id:") {
      std::string_view value = line.substr(11);
      while (!value.empty() && (value.front() == ' ' || value.front() == '<')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '>')) value.remove_suffix(1);
      return std::string(value);
    }
    start = end + 2;
  }
  return {};
}

std::string SafeName(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 120)) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) ||
                      std::string_view(".@_+-").find(c) != std::string_view::npos;
    out += keep ? c : '_';
  }
  if (out.empty() || out.front() == '.') out.insert(out.begin(), '_');
  return out;
}

std::string FileTime(Timestamp t) {
  const std::string rfc3339 = FormatTimestamp(Timestamp{t.micros - t.micros % kMicrosPerSecond});
  // "2024-03-01T12:30:00Z" -> "20240301T123000.250000Z"
  std::string compact;
  for (char c : rfc3339) {
    if (c != '-' && c != ':' && c != 'Z') compact += c;
  }
  char micros[16];
  std::snprintf(micros, sizeof micros, ".%06lldZ",
                static_cast<long long>(((t.micros % kMicrosPerSecond) + kMicrosPerSecond) %
                                       kMicrosPerSecond));
  return compact + micros;
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Unavailable(path, "write failed: " + SystemError(errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Ok();
}

Status SyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Unavailable(dir.string(), "open failed: " + SystemError(errno));
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) return Unavailable(dir.string(), "fsync failed: " + SystemError(error));
  return Ok();
}

// Writes `data` to `<dir>/<name>.eml` (or `<name>-<n>.eml` when taken); the path written.
treu::Result<std::filesystem::path> WriteDurably(const std::filesystem::path& dir,
                                                 const std::string& name, std::string_view data) {
  unsigned char random[8];
  RAND_bytes(random, sizeof random);
  std::string suffix;
  for (unsigned char b : random) {
    suffix += "0123456789abcdef"[b >> 4];
    suffix += "0123456789abcdef"[b & 0xf];
  }
  const std::filesystem::path temp = dir / (".tmp-" + suffix);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return Unavailable(temp.string(), "create failed: " + SystemError(errno));
  Status written = WriteAll(fd, data, temp.string());
  if (written && ::fsync(fd) != 0) {
    written = Unavailable(temp.string(), "fsync failed: " + SystemError(errno));
  }
  if (::close(fd) != 0 && written) {
    written = Unavailable(temp.string(), "close failed: " + SystemError(errno));
  }
  if (!written) {
    ::unlink(temp.c_str());
    return std::unexpected(written.error());
  }
  for (int n = 0; n < 1000; ++n) {
    const std::filesystem::path target =
        dir / (n == 0 ? name + ".eml" : name + "-" + std::to_string(n) + ".eml");
    if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0) {
      TREU_RETURN_IF_ERROR(SyncDirectory(dir));
      return target;
    }
    if (errno != EEXIST) {
      const int error = errno;
      ::unlink(temp.c_str());
      return Unavailable(target.string(), "rename failed: " + SystemError(error));
    }
  }
  ::unlink(temp.c_str());
  return Unavailable((dir / name).string(), "too many files of this name");
}

}  // namespace

Result<std::unique_ptr<FileTransport>> FileTransport::Create(std::filesystem::path dir,
                                                             const Clock& clock) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return Unavailable(dir.string(), "cannot create the directory: " + error.message());
  if (!std::filesystem::is_directory(dir, error)) {
    return InvalidArgument(dir.string(), "is not a directory");
  }
  return std::unique_ptr<FileTransport>(new FileTransport(std::move(dir), clock));
}

SendResult FileTransport::Send(const Envelope& envelope, std::string_view mime) {
  if (auto status = CheckEnvelope(envelope); !status) {
    return MakeResult(SendOutcome::kPermanentFailure, 0, status.error().ToString());
  }
  std::string id = FindMessageId(mime);
  if (id.empty()) id = "no-message-id";
  const std::string name = FileTime(clock_.Now()) + "-" + SafeName(id);
  auto path = WriteDurably(dir_, name, mime);
  if (!path) return MakeResult(SendOutcome::kTemporaryFailure, 0, path.error().ToString());
  return MakeResult(SendOutcome::kSent, 0, "written to " + path->string());
}

}  // namespace treu::messaging
