// Outgoing HTTP requests to URLs that workspaces enter (webhooks), safe against server-side
// request forgery: every address a request connects to — the first one and those of
// redirects — is checked against an OutboundPolicy at the moment the socket is opened, so
// host names resolving to forbidden addresses, DNS rebinding, numeric host forms
// ("http://2130706433/", "http://0x7f.1/", "http://[::ffff:127.0.0.1]/") and redirects to
// forbidden addresses are all refused before anything is sent. Only http and https are
// spoken, proxies from the environment are ignored, response bodies are kept up to a bound
// and every exchange has a deadline.
//
// HttpClient is the interface the rest of the server sees; CurlHttpClient implements it with
// libcurl.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"
#include "net/address_policy.hpp"

namespace treu::net {

struct HttpRequest {
  // Absolute http or https URL, e.g. "https://example.com/hooks/treu".
  std::string url;
  // Extra request headers in order, e.g. {"Content-Type", "application/json"}. Names are
  // HTTP tokens; values have no CR, LF or NUL. Host, Content-Length, Transfer-Encoding and
  // Connection are set by the client and refused here. Without a Content-Type the body is
  // sent as application/octet-stream.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Deadline for the whole exchange: name resolution, connecting, TLS, sending, receiving
  // and every redirect. Between 1 ms and 10 minutes.
  std::chrono::milliseconds timeout{10'000};
  // Response body bytes kept; the rest is not read (HttpResponse::body_truncated).
  std::size_t max_response_bytes = 64 * 1024;
  // Redirects followed, each to an http or https URL whose address is checked like the
  // first. 0 returns the 3xx response itself (with its Location header). At most 20. Like
  // browsers, a 301, 302 or 303 turns the POST into a GET without body; 307 and 308 repeat
  // the POST. The request's headers go along to every hop.
  int max_redirects = 0;
};

struct HttpResponse {
  int status = 0;  // e.g. 200
  // Headers of the final response in order, names in lower case, values without
  // surrounding white space. At most 100 headers and 16 KiB; later ones are dropped.
  std::vector<std::pair<std::string, std::string>> headers;
  // The first max_response_bytes bytes of the final response's body, as received (no
  // content decoding is asked for).
  std::string body;
  bool body_truncated = false;  // the body was longer than max_response_bytes
  // The address connected to for the final response, e.g. "203.0.113.7" or "2001:db8::1".
  std::string remote_ip;
  // The URL of the final response (differs from the request's after redirects).
  std::string url;

  // The value of the first header named `name` (case-insensitive), if any.
  std::optional<std::string_view> Header(std::string_view name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Sends `request` as a POST and returns the response, whatever its status code (a 500 is
  // a response, not an error). Errors:
  //   - InvalidArgument (context "url") when the URL doesn't parse, isn't absolute, has a
  //     scheme other than http or https or is longer than 8 KiB; (context "header") for a
  //     header that is malformed or set by the client; (context "request") for a timeout or
  //     max_redirects out of range. Nothing is sent.
  //   - PermissionDenied (context "url") when the host, or the host of a redirect, resolves
  //     only to addresses `policy` doesn't allow, e.g. "resolves to 127.0.0.1, a loopback
  //     address; outgoing requests to private addresses are off for this workspace", or
  //     when a redirect leads to a scheme other than http or https. No connection is made
  //     to the refused address.
  //   - Unavailable (context "POST <scheme>://<host>[:port]", without path or credentials)
  //     for everything else that stops the exchange: unknown host, connection refused, TLS
  //     failure, timeout ("timed out after 10000 ms"), more redirects than max_redirects,
  //     broken responses. The detail is libcurl's message.
  // Thread-safe: concurrent calls share nothing.
  virtual Result<HttpResponse> Post(const HttpRequest& request, const OutboundPolicy& policy) = 0;
};

struct CurlHttpClientOptions {
  std::string user_agent = "treu";
};

// HttpClient over libcurl, one connection per call (no connection reuse, no cookies, no
// proxy, no .netrc). Initialises libcurl once per process on first construction.
class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(CurlHttpClientOptions options = {});

  Result<HttpResponse> Post(const HttpRequest& request, const OutboundPolicy& policy) override;

 private:
  const CurlHttpClientOptions options_;
};

}  // namespace treu::net
