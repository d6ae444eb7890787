#include "net/http_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/webhook_signature.hpp"

namespace treu::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A canned HTTP/1.1 response that closes the connection.
std::string Response(int status, std::string_view reason, std::string_view body,
                     std::vector<std::string> extra_headers = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  for (const std::string& header : extra_headers) out += header + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n";
  out += body;
  return out;
}

std::string Redirect(int status, std::string_view location) {
  return Response(status, "Redirect", "", {"Location: " + std::string(location)});
}

// An HTTP receiver on 127.0.0.1 at an ephemeral port, served by one thread. For each
// connection it reads one request (headers and a Content-Length body), records it and
// writes what `respond` returns for it, then closes; an empty answer keeps the connection
// open without answering until Stop.
class Receiver {
 public:
  using Responder = std::function<std::string(const std::string& request)>;

  explicit Receiver(Responder respond) : respond_(std::move(respond)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    EXPECT_GE(listen_fd_, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listen_fd_, 16), 0);
    socklen_t length = sizeof address;
    EXPECT_EQ(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }

  ~Receiver() { Stop(); }

  int port() const { return port_; }
  std::string Url(std::string_view path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

  // Stops serving, counts connections still queued, closes everything. Idempotent.
  void Stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    while (true) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) break;
      ++connections_;
      ::close(fd);
    }
    for (int fd : held_) ::close(fd);
    held_.clear();
    ::close(listen_fd_);
  }

  // Connections accepted so far; complete only after Stop.
  int connections() const { return connections_; }
  std::vector<std::string> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      const std::string request = ReadRequest(fd);
      {
        std::lock_guard lock(mu_);
        requests_.push_back(request);
      }
      const std::string answer = respond_(request);
      if (answer.empty()) {
        held_.push_back(fd);
        continue;
      }
      std::size_t sent = 0;
      while (sent < answer.size()) {
        const ssize_t n = ::send(fd, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::shutdown(fd, SHUT_WR);
      ::close(fd);
    }
  }

  // Reads headers and a Content-Length body, giving up after two seconds.
  std::string ReadRequest(int fd) {
    std::string data;
    const auto deadline = steady_clock::now() + milliseconds(2000);
    while (steady_clock::now() < deadline && !stop_) {
      const auto end = data.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t body_bytes = 0;
        const auto at = data.find("Content-Length: ");
        if (at != std::string::npos && at < end) body_bytes = std::stoul(data.substr(at + 16));
        if (data.size() >= end + 4 + body_bytes) break;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      data.append(buffer, static_cast<std::size_t>(n));
    }
    return data;
  }

  Responder respond_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_ = false;
  std::atomic<int> connections_ = 0;
  std::vector<int> held_;  // used by the serving thread, then by Stop
  mutable std::mutex mu_;
  std::vector<std::string> requests_;  // guarded by mu_
  std::thread thread_;
};

// The value of `name` in a raw request ("" if absent); `name` as sent.
std::string RequestHeader(const std::string& request, std::string_view name) {
  const std::string key = "\r\n" + std::string(name) + ":";
  const auto at = request.find(key);
  if (at == std::string::npos) return {};
  auto start = at + key.size();
  if (start < request.size() && request[start] == ' ') ++start;
  return request.substr(start, request.find("\r\n", start) - start);
}

std::string RequestBody(const std::string& request) {
  const auto end = request.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : request.substr(end + 4);
}

std::string RequestLine(const std::string& request) {
  return request.substr(0, request.find("\r\n"));
}

OutboundPolicy LoopbackOnly() {
  OutboundPolicy policy;
  policy.allow_loopback = true;
  return policy;
}

HttpRequest Request(std::string url) {
  HttpRequest request;
  request.url = std::move(url);
  request.timeout = milliseconds(5000);
  return request;
}

TEST(HttpClientTest, PostReachesTheReceiverWithBodyAndHeadersIntact) {
  Receiver receiver([](const std::string&) {
    return Response(201, "Created", "thanks", {"Content-Type: text/plain", "X-Reply:  yes "});
  });
  const std::string body = R"({"event":"survey.completed","survey_id":42,"text":"Grüße"})";
  HttpRequest request = Request(receiver.Url("/hooks/treu?x=1"));
  request.body = body;
  request.headers = {
      {"Content-Type", "application/json"},
      {std::string(kWebhookSignatureHeader), SignWebhook("secret", 1700000000, body)},
      {"X-Empty", ""}};
  CurlHttpClient client;
  auto response = client.Post(request, LoopbackOnly());
  ASSERT_TRUE(response) << response.error().ToString();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "thanks");
  EXPECT_FALSE(response->body_truncated);
  EXPECT_EQ(response->remote_ip, "127.0.0.1");
  EXPECT_EQ(response->url, receiver.Url("/hooks/treu?x=1"));
  EXPECT_EQ(response->Header("x-reply"), "yes");
  EXPECT_EQ(response->Header("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(response->Header("x-missing"), std::nullopt);

  receiver.Stop();
  EXPECT_EQ(receiver.connections(), 1);
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string& seen = requests[0];
  EXPECT_EQ(RequestLine(seen), "POST /hooks/treu?x=1 HTTP/1.1");
  EXPECT_EQ(RequestHeader(seen, "Content-Type"), "application/json");
  EXPECT_EQ(RequestHeader(seen, "Treu-Signature"), SignWebhook("secret", 1700000000, body));
  EXPECT_EQ(RequestHeader(seen, "Content-Length"), std::to_string(body.size()));
  EXPECT_EQ(RequestHeader(seen, "User-Agent"), "treu");
  EXPECT_EQ(RequestHeader(seen, "Host"), "127.0.0.1:" + std::to_string(receiver.port()));
  EXPECT_NE(seen.find("\r\nX-Empty:"), std::string::npos);
  EXPECT_EQ(seen.find("Expect:"), std::string::npos);
  EXPECT_EQ(RequestBody(seen), body);
}

TEST(HttpClientTest, BodyWithoutContentTypeIsOctetStreamAndErrorStatusesAreResponses) {
  Receiver receiver([](const std::string&) { return Response(500, "Oops", "broken"); });
  HttpRequest request = Request(receiver.Url());
  request.body = std::string("a\0b", 3);
  CurlHttpClientOptions options;
  options.user_agent = "treu-test/1";
  CurlHttpClient client(options);
  auto response = client.Post(request, LoopbackOnly());
  ASSERT_TRUE(response) << response.error().ToString();
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(response->body, "broken");
  receiver.Stop();
  ASSERT_EQ(receiver.requests().size(), 1u);
  const std::string seen = receiver.requests()[0];
  EXPECT_EQ(RequestHeader(seen, "Content-Type"), "application/octet-stream");
  EXPECT_EQ(RequestHeader(seen, "User-Agent"), "treu-test/1");
  EXPECT_EQ(RequestBody(seen), std::string("a\0b", 3));
}

TEST(HttpClientTest, EmptyBody) {
  Receiver receiver([](const std::string&) { return Response(204, "No Content", ""); });
  CurlHttpClient client;
  auto response = client.Post(Request(receiver.Url()), LoopbackOnly());
  ASSERT_TRUE(response) << response.error().ToString();
  EXPECT_EQ(response->status, 204);
  EXPECT_EQ(response->body, "");
  receiver.Stop();
  ASSERT_EQ(receiver.requests().size(), 1u);
  EXPECT_EQ(RequestHeader(receiver.requests()[0], "Content-Length"), "0");
}

TEST(HttpClientTest, DefaultPolicyRefusesEveryLoopbackFormWithoutConnecting) {
  Receiver receiver([](const std::string&) { return Response(200, "OK", "reached"); });
  const std::string port = std::to_string(receiver.port());
  CurlHttpClient client;
  for (const std::string& url : {
           "http://127.0.0.1:" + port + "/",
           "http://2130706433:" + port + "/",
           "http://0177.0.0.1:" + port + "/",
           "http://0x7f.1:" + port + "/",
           "http://0x7f000001:" + port + "/",
           "http://127.1:" + port + "/",
           "http://127.0.1:" + port + "/",
           "http://[::ffff:127.0.0.1]:" + port + "/",
           "http://[::ffff:7f00:1]:" + port + "/",
           "http://[::1]:" + port + "/",
           "http://localhost:" + port + "/",
           "http://LOCALHOST:" + port + "/",
           "https://127.0.0.1:" + port + "/",
       }) {
    auto response = client.Post(Request(url), OutboundPolicy{});
    ASSERT_FALSE(response) << url;
    EXPECT_EQ(response.error().code(), ErrorCode::kPermissionDenied) << url;
    EXPECT_EQ(response.error().context(), "url") << url;
    EXPECT_NE(response.error().detail().find(", a loopback address; outgoing requests to private "
                                             "addresses are off for this workspace"),
              std::string::npos)
        << url << ": " << response.error().ToString();
  }
  receiver.Stop();
  EXPECT_EQ(receiver.connections(), 0);
}

TEST(HttpClientTest, RefusalNamesTheAddressAndItsCategory) {
  CurlHttpClient client;
  auto response = client.Post(Request("http://2130706433:9/"), OutboundPolicy{});
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().ToString(),
            "url: resolves to 127.0.0.1, a loopback address; outgoing requests to private "
            "addresses are off for this workspace");

  auto mapped = client.Post(Request("http://[::ffff:127.0.0.1]:9/"), OutboundPolicy{});
  ASSERT_FALSE(mapped);
  EXPECT_EQ(mapped.error().detail(),
            "resolves to ::ffff:127.0.0.1, a loopback address; outgoing requests to private "
            "addresses are off for this workspace");

  auto metadata = client.Post(Request("http://169.254.169.254/latest/meta-data/"), LoopbackOnly());
  ASSERT_FALSE(metadata);
  EXPECT_EQ(metadata.error().ToString(),
            "url: resolves to 169.254.169.254, a link-local address; outgoing requests to "
            "private addresses are off for this workspace");
}

TEST(HttpClientTest, UnspecifiedAddressIsRefusedEvenWithThePrivateSetting) {
  // On Linux, connecting to 0.0.0.0 or :: reaches the local host.
  Receiver receiver([](const std::string&) { return Response(200, "OK", "reached"); });
  const std::string port = std::to_string(receiver.port());
  CurlHttpClient client;
  for (const std::string& url :
       {"http://0.0.0.0:" + port + "/", "http://0:" + port + "/", "http://[::]:" + port + "/",
        "http://[::ffff:0.0.0.0]:" + port + "/"}) {
    auto response = client.Post(Request(url), OutboundPolicy::ForWorkspace(true));
    ASSERT_FALSE(response) << url;
    EXPECT_EQ(response.error().code(), ErrorCode::kPermissionDenied) << url;
    EXPECT_NE(response.error().detail().find(
                  "an unspecified address; outgoing requests never go to such addresses"),
              std::string::npos)
        << response.error().ToString();
  }
  receiver.Stop();
  EXPECT_EQ(receiver.connections(), 0);
}

TEST(HttpClientTest, PrivateSettingAllowsLoopback) {
  Receiver receiver([](const std::string&) { return Response(200, "OK", "reached"); });
  CurlHttpClient client;
  auto response = client.Post(Request("http://localhost:" + std::to_string(receiver.port()) + "/"),
                              OutboundPolicy::ForWorkspace(true));
  ASSERT_TRUE(response) << response.error().ToString();
  EXPECT_EQ(response->body, "reached");
  EXPECT_EQ(response->remote_ip, "127.0.0.1");
}

TEST(HttpClientTest, RedirectsToForbiddenAddressesAreRefusedWithoutConnecting) {
  // The receiver is on loopback, which the policy allows; the redirect targets are
  // link-local, private, carrier-grade NAT and never-allowed addresses, which it doesn't.
  struct Case {
    std::string location;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"http://169.254.169.254/latest/meta-data/",
       "redirect to http://169.254.169.254/latest/meta-data/ resolves to 169.254.169.254, a "
       "link-local address; outgoing requests to private addresses are off for this workspace"},
      {"http://10.255.255.1/", "resolves to 10.255.255.1, a private address"},
      {"https://10.255.255.1/", "resolves to 10.255.255.1, a private address"},
      {"http://0xa9.0xfe.0xa9.0xfe/", "resolves to 169.254.169.254, a link-local address"},
      {"http://[::ffff:a9fe:a9fe]/", "resolves to ::ffff:169.254.169.254, a link-local address"},
      {"http://[fd00:ec2::254]/", "resolves to fd00:ec2::254, a private address"},
      {"http://100.100.100.200/", "a carrier-grade NAT address"},
      {"http://224.0.0.1/", "a multicast address; outgoing requests never go to such addresses"},
  };
  for (const Case& c : cases) {
    for (int status : {301, 302, 303, 307, 308}) {
      Receiver receiver([&](const std::string&) { return Redirect(status, c.location); });
      HttpRequest request = Request(receiver.Url());
      request.max_redirects = 3;
      CurlHttpClient client;
      auto response = client.Post(request, LoopbackOnly());
      ASSERT_FALSE(response) << c.location << " " << status;
      EXPECT_EQ(response.error().code(), ErrorCode::kPermissionDenied) << c.location;
      EXPECT_EQ(response.error().context(), "url");
      EXPECT_NE(response.error().detail().find(c.expected), std::string::npos)
          << response.error().ToString();
      EXPECT_TRUE(response.error().detail().starts_with("redirect to "))
          << response.error().ToString();
      receiver.Stop();
      EXPECT_EQ(receiver.connections(), 1);
    }
  }
}

TEST(HttpClientTest, LoopbackIsRefusedWhenOnlyPrivateAddressesAreAllowed) {
  Receiver receiver([](const std::string&) { return Response(200, "OK", "reached"); });
  OutboundPolicy private_only;
  private_only.allow_private = true;
  CurlHttpClient client;
  auto response = client.Post(Request(receiver.Url()), private_only);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().detail(),
            "resolves to 127.0.0.1, a loopback address; outgoing requests to loopback "
            "addresses are off for this workspace");
  receiver.Stop();
  EXPECT_EQ(receiver.connections(), 0);
}

TEST(HttpClientTest, RedirectsAreNotFollowedByDefault) {
  Receiver receiver(
      [](const std::string&) { return Redirect(302, "http://169.254.169.254/latest/"); });
  CurlHttpClient client;
  auto response = client.Post(Request(receiver.Url()), LoopbackOnly());
  ASSERT_TRUE(response) << response.error().ToString();
  EXPECT_EQ(response->status, 302);
  EXPECT_EQ(response->Header("location"), "http://169.254.169.254/latest/");
  EXPECT_EQ(response->url, receiver.Url());
  receiver.Stop();
  EXPECT_EQ(receiver.connections(), 1);
}

TEST(HttpClientTest, AllowedRedirectsAreFollowed) {
  std::string final_url;
  Receiver receiver([&](const std::string& request) {
    if (RequestLine(request).find(" /final ") != std::string::npos) {
      return Response(200, "OK", "final:" + RequestLine(request) + ":" + RequestBody(request));
    }
    if (RequestLine(request).find(" /keep ") != std::string::npos) {
      return Redirect(307, "/final");
    }
    return Redirect(302, "/final");
  });
  CurlHttpClient client;

  HttpRequest request = Request(receiver.Url("/start"));
  request.body = "payload";
  request.max_redirects = 1;
  auto response = client.Post(request, LoopbackOnly());
  ASSERT_TRUE(response) << response.error().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "final:GET /final HTTP/1.1:");  // 302 turns POST into GET
  EXPECT_EQ(response->url, receiver.Url("/final"));
  EXPECT_EQ(response->Header("location"), std::nullopt);

  request.url = receiver.Url("/keep");
  auto kept = client.Post(request, LoopbackOnly());
  ASSERT_TRUE(kept) << kept.error().ToString();
  EXPECT_EQ(kept->body, "final:POST /final HTTP/1.1:payload");  // 307 repeats the POST
  receiver.Stop();
  EXPECT_EQ(receiver.connections(), 4);
}

TEST(HttpClientTest, TooManyRedirects) {
  Receiver receiver([](const std::string&) { return Redirect(302, "/again"); });
  HttpRequest request = Request(receiver.Url());
  request.max_redirects = 2;
  CurlHttpClient client;
  auto response = client.Post(request, LoopbackOnly());
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(response.error().ToString(),
            "POST http://127.0.0.1:" + std::to_string(receiver.port()) + ": more than 2 redirects");
  receiver.Stop();
  EXPECT_EQ(receiver.connections(), 3);
}

TEST(HttpClientTest, RedirectsToOtherSchemesAreRefused) {
  for (std::string location : {"file:///etc/passwd", "gopher://127.0.0.1:70/_x", "ftp://127.0.0.1/",
                               "dict://127.0.0.1:11211/stats"}) {
    Receiver receiver([&](const std::string&) { return Redirect(302, location); });
    HttpRequest request = Request(receiver.Url());
    request.max_redirects = 3;
    CurlHttpClient client;
    auto response = client.Post(request, OutboundPolicy::ForWorkspace(true));
    ASSERT_FALSE(response) << location;
    EXPECT_EQ(response.error().code(), ErrorCode::kPermissionDenied) << location;
    EXPECT_EQ(response.error().ToString(),
              "url: redirects to a URL whose scheme is not http or https");
    receiver.Stop();
    EXPECT_EQ(receiver.connections(), 1);
  }
}

TEST(HttpClientTest, OtherSchemesAreRefused) {
  Receiver receiver([](const std::string&) { return Response(200, "OK", ""); });
  const std::string port = std::to_string(receiver.port());
  CurlHttpClient client;
  for (const std::string& url :
       {std::string("file:///etc/passwd"), "gopher://127.0.0.1:" + port + "/_x",
        "ftp://127.0.0.1:" + port + "/", "dict://127.0.0.1:" + port + "/",
        "ldap://127.0.0.1:" + port + "/", "telnet://127.0.0.1:" + port,
        "ws://127.0.0.1:" + port + "/", "smtp://127.0.0.1:" + port}) {
    auto response = client.Post(Request(url), OutboundPolicy::ForWorkspace(true));
    ASSERT_FALSE(response) << url;
    EXPECT_EQ(response.error().code(), ErrorCode::kInvalidArgument) << url;
    EXPECT_EQ(response.error().context(), "url");
    EXPECT_TRUE(response.error().detail().starts_with("scheme \"")) << response.error().ToString();
    EXPECT_TRUE(response.error().detail().ends_with("\" is not allowed; use http or https"))
        << response.error().ToString();
  }
  EXPECT_EQ(client.Post(Request("gopher://x/"), OutboundPolicy{}).error().ToString(),
            "url: scheme \"gopher\" is not allowed; use http or https");
  receiver.Stop();
  EXPECT_EQ(receiver.connections(), 0);
}

TEST(HttpClientTest, UpperCaseSchemeIsHttp) {
  Receiver receiver([](const std::string&) { return Response(200, "OK", "ok"); });
  CurlHttpClient client;
  auto response = client.Post(Request("HTTP://127.0.0.1:" + std::to_string(receiver.port()) + "/"),
                              LoopbackOnly());
  ASSERT_TRUE(response) << response.error().ToString();
  EXPECT_EQ(response->body, "ok");
}

TEST(HttpClientTest, MalformedUrlsAreInvalidArguments) {
  CurlHttpClient client;
  for (const std::string& url :
       {std::string(""), std::string("not a url"), std::string("http://"),
        std::string("http://exa mple.com/"), std::string("//example.com/hook"),
        std::string("example.com/hook"), std::string("http://example.com:99999/"),
        std::string("http://example.com/a b"), std::string("http://[::1/"),
        "http://example.com/" + std::string(9000, 'a')}) {
    auto response = client.Post(Request(url), OutboundPolicy{});
    ASSERT_FALSE(response) << url;
    EXPECT_EQ(response.error().code(), ErrorCode::kInvalidArgument) << url;
    EXPECT_EQ(response.error().context(), "url") << url;
  }
  EXPECT_EQ(client.Post(Request("not a url"), OutboundPolicy{}).error().ToString(),
            "url: \"not a url\" is not an absolute URL; expected one such as "
            "https://example.com/hook");
  EXPECT_EQ(client.Post(Request("http://exa mple.com/"), OutboundPolicy{}).error().ToString(),
            "url: \"http://exa mple.com/\" is not a valid URL (bad hostname)");
}

TEST(HttpClientTest, BadHeadersAndLimitsAreInvalidArguments) {
  CurlHttpClient client;
  auto with_header = [&](std::string name, std::string value) {
    HttpRequest request = Request("http://127.0.0.1:9/");
    request.headers = {{std::move(name), std::move(value)}};
    return client.Post(request, LoopbackOnly());
  };
  EXPECT_EQ(with_header("Bad Name", "x").error().ToString(),
            "header: \"Bad Name\" is not a valid header name");
  EXPECT_EQ(with_header("", "x").error().context(), "header");
  EXPECT_EQ(with_header("X-Inject", "a\r\nHost: evil").error().ToString(),
            "header: X-Inject has a line break or NUL in its value");
  EXPECT_EQ(with_header("X-Nul", std::string("a\0b", 3)).error().context(), "header");
  EXPECT_EQ(with_header("content-length", "5").error().ToString(),
            "header: content-length is set by the HTTP client");
  EXPECT_EQ(with_header("Host", "example.com").error().context(), "header");
  EXPECT_EQ(with_header("Transfer-Encoding", "chunked").error().context(), "header");

  HttpRequest request = Request("http://127.0.0.1:9/");
  request.timeout = milliseconds(0);
  EXPECT_EQ(client.Post(request, LoopbackOnly()).error().ToString(),
            "request: timeout must be between 1 ms and 10 minutes");
  request.timeout = milliseconds(1000);
  request.max_redirects = 21;
  EXPECT_EQ(client.Post(request, LoopbackOnly()).error().ToString(),
            "request: max_redirects must be between 0 and 20");
  request.max_redirects = -1;
  EXPECT_EQ(client.Post(request, LoopbackOnly()).error().context(), "request");
}

TEST(HttpClientTest, TimesOutWhenTheReceiverNeverAnswers) {
  Receiver receiver([](const std::string&) { return std::string(); });
  HttpRequest request = Request(receiver.Url());
  request.timeout = milliseconds(300);
  CurlHttpClient client;
  const auto start = steady_clock::now();
  auto response = client.Post(request, LoopbackOnly());
  const auto elapsed = steady_clock::now() - start;
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(
      response.error().ToString(),
      "POST http://127.0.0.1:" + std::to_string(receiver.port()) + ": timed out after 300 ms");
  EXPECT_GE(elapsed, milliseconds(250));
  EXPECT_LT(elapsed, milliseconds(5000));
  receiver.Stop();
  EXPECT_EQ(receiver.connections(), 1);
}

TEST(HttpClientTest, LongBodiesAreTruncated) {
  const std::string long_body(100'000, 'x');
  Receiver receiver([&](const std::string&) { return Response(200, "OK", long_body); });
  HttpRequest request = Request(receiver.Url());
  request.max_response_bytes = 1000;
  CurlHttpClient client;
  auto response = client.Post(request, LoopbackOnly());
  ASSERT_TRUE(response) << response.error().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, std::string(1000, 'x'));
  EXPECT_TRUE(response->body_truncated);

  request.max_response_bytes = long_body.size();
  auto exact = client.Post(request, LoopbackOnly());
  ASSERT_TRUE(exact) << exact.error().ToString();
  EXPECT_EQ(exact->body, long_body);
  EXPECT_FALSE(exact->body_truncated);

  request.max_response_bytes = 0;
  auto none = client.Post(request, LoopbackOnly());
  ASSERT_TRUE(none) << none.error().ToString();
  EXPECT_EQ(none->body, "");
  EXPECT_TRUE(none->body_truncated);
  EXPECT_EQ(none->Header("content-length"), "100000");
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  // A port that was just free: bound, then closed without listening.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string port = std::to_string(ntohs(address.sin_port));
  ::close(fd);

  CurlHttpClient client;
  auto response = client.Post(Request("http://user:password@127.0.0.1:" + port + "/secret/path"),
                              LoopbackOnly());
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(response.error().context(), "POST http://127.0.0.1:" + port);
  EXPECT_FALSE(response.error().detail().empty());
}

TEST(HttpClientTest, UnknownHostIsUnavailable) {
  HttpRequest request = Request("http://treu-test.invalid/");
  request.timeout = milliseconds(3000);
  CurlHttpClient client;
  auto response = client.Post(request, OutboundPolicy{});
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(response.error().context(), "POST http://treu-test.invalid");
}

TEST(HttpClientTest, ConcurrentPostsShareNothing) {
  Receiver receiver(
      [](const std::string& request) { return Response(200, "OK", RequestBody(request)); });
  CurlHttpClient client;
  std::vector<std::thread> threads;
  std::atomic<int> matched = 0;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      HttpRequest request = Request(receiver.Url());
      request.body = "body " + std::to_string(i);
      auto response = client.Post(request, LoopbackOnly());
      if (response && response->body == request.body) ++matched;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(matched, 4);
}

}  // namespace
}  // namespace treu::net
