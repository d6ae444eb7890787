#include "net/http_client.hpp"

#include "net/curl_support.hpp"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

namespace treu::net {
namespace {

constexpr std::size_t kMaxUrlBytes = 8 * 1024;
constexpr int kMaxRedirects = 20;
constexpr std::chrono::milliseconds kMaxTimeout{10 * 60 * 1000};
constexpr std::size_t kMaxResponseHeaders = 100;
constexpr std::size_t kMaxResponseHeaderBytes = 16 * 1024;
constexpr const char* kProtocols = "http,https";

// Header names the client sets itself.
constexpr std::string_view kReservedHeaders[] = {"host", "content-length", "transfer-encoding",
                                                 "connection", "expect"};

using HeaderList = SList;

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

bool IsTokenChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A part of a parsed URL, or "" when it has none.
std::string UrlPart(CURLU* url, CURLUPart part) {
  char* raw = nullptr;
  if (curl_url_get(url, part, &raw, 0) != CURLUE_OK) return {};
  CurlString owned(raw);
  return raw == nullptr ? std::string() : std::string(raw);
}

struct ParsedUrl {
  UrlHandle handle;
  std::string origin;  // "https://example.com:8443", for error contexts
};

Result<ParsedUrl> ParseUrl(const std::string& text) {
  if (text.size() > kMaxUrlBytes) {
    return InvalidArgument("url", "longer than " + std::to_string(kMaxUrlBytes) + " bytes");
  }
  UrlHandle url(curl_url());
  if (!url) return Internal("url", "out of memory");
  // Any scheme parses, so that the error below can name it.
  const CURLUcode rc =
      curl_url_set(url.get(), CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc == CURLUE_BAD_SCHEME && text.find("://") == std::string::npos) {
    return InvalidArgument("url", "\"" + text +
                                      "\" is not an absolute URL; expected one such as "
                                      "https://example.com/hook");
  }
  if (rc != CURLUE_OK) {
    return InvalidArgument(
        "url", "\"" + text + "\" is not a valid URL (" + Lower(curl_url_strerror(rc)) + ")");
  }
  const std::string scheme = Lower(UrlPart(url.get(), CURLUPART_SCHEME));
  if (scheme != "http" && scheme != "https") {
    return InvalidArgument("url", "scheme \"" + scheme + "\" is not allowed; use http or https");
  }
  const std::string host = UrlPart(url.get(), CURLUPART_HOST);
  if (host.empty()) return InvalidArgument("url", "\"" + text + "\" has no host");
  std::string origin = scheme + "://" + host;
  if (const std::string port = UrlPart(url.get(), CURLUPART_PORT); !port.empty()) {
    origin += ":" + port;
  }
  return ParsedUrl{std::move(url), std::move(origin)};
}

Result<HeaderList> BuildHeaders(const HttpRequest& request) {
  HeaderList list;
  bool has_content_type = false;
  auto append = [&list](const std::string& line) -> Status {
    curl_slist* next = curl_slist_append(list.get(), line.c_str());
    if (next == nullptr) return Internal("header", "out of memory");
    static_cast<void>(list.release());
    list.reset(next);
    return Ok();
  };
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
      return InvalidArgument("header", "\"" + name + "\" is not a valid header name");
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return InvalidArgument("header", name + " has a line break or NUL in its value");
    }
    const std::string lower = Lower(name);
    if (std::find(std::begin(kReservedHeaders), std::end(kReservedHeaders), lower) !=
        std::end(kReservedHeaders)) {
      return InvalidArgument("header", name + " is set by the HTTP client");
    }
    if (lower == "content-type") has_content_type = true;
    // libcurl reads "Name:" as "remove this header" and sends "Name;" as an empty header.
    const std::string_view trimmed = Trim(value);
    TREU_RETURN_IF_ERROR(append(trimmed.empty() ? name + ";" : name + ": " + std::string(trimmed)));
  }
  if (!has_content_type) TREU_RETURN_IF_ERROR(append("Content-Type: application/octet-stream"));
  // No "Expect: 100-continue" round trip for large bodies.
  TREU_RETURN_IF_ERROR(append("Expect:"));
  return list;
}

// State of one exchange, shared with libcurl's callbacks.
struct Exchange {
  CURL* easy = nullptr;
  OutboundPolicy policy;
  std::size_t max_body_bytes = 0;

  // The first refused connection attempt, and the hop (redirects followed so far) it was on.
  std::optional<std::string> refusal;
  long refusal_hop = -1;
  long last_allowed_hop = -1;  // the latest hop a socket was opened for

  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t header_bytes = 0;
  std::string body;
  bool truncated = false;
};

long CurrentHop(CURL* easy) {
  long hop = 0;
  curl_easy_getinfo(easy, CURLINFO_REDIRECT_COUNT, &hop);
  return hop;
}

std::string RefusalDetail(Exchange& exchange, const std::string& address, AddressCategory category,
                          long hop) {
  std::string detail;
  if (hop > 0) {
    char* url = nullptr;
    curl_easy_getinfo(exchange.easy, CURLINFO_EFFECTIVE_URL, &url);
    detail = "redirect to " + std::string(url != nullptr ? url : "another URL") + " ";
  }
  detail += "resolves to " + address + ", ";
  detail += DescribeAddressCategory(category);
  if (NeverAllowed(category)) {
    detail += "; outgoing requests never go to such addresses";
  } else if (category == AddressCategory::kLoopback && exchange.policy.allow_private) {
    detail += "; outgoing requests to loopback addresses are off for this workspace";
  } else {
    detail += "; outgoing requests to private addresses are off for this workspace";
  }
  return detail;
}

// CURLOPT_OPENSOCKETFUNCTION: the one place connections start, after name resolution and
// for every hop, so the address checked is the address connected to.
curl_socket_t OpenSocket(void* data, curlsocktype purpose, curl_sockaddr* address) {
  auto& exchange = *static_cast<Exchange*>(data);
  const long hop = CurrentHop(exchange.easy);
  auto refuse = [&](std::string detail) {
    if (!exchange.refusal) {
      exchange.refusal = std::move(detail);
      exchange.refusal_hop = hop;
    }
    return CURL_SOCKET_BAD;
  };
  if (purpose != CURLSOCKTYPE_IPCXN) return refuse("opens a socket of an unexpected kind");
  const auto ip = IpAddress::FromSockaddr(&address->addr, address->addrlen);
  if (!ip) return refuse("connects to an address that is not IPv4 or IPv6");
  const AddressCategory category = Classify(*ip);
  if (!exchange.policy.Allows(category)) {
    return refuse(RefusalDetail(exchange, ip->ToString(), category, hop));
  }
  const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd < 0) return CURL_SOCKET_BAD;
  exchange.last_allowed_hop = hop;
  return fd;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    // A new response begins (after a redirect or a 1xx): keep only the final one's.
    exchange.headers.clear();
    exchange.header_bytes = 0;
    exchange.body.clear();
    exchange.truncated = false;
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0 || line.front() == ' ' ||
      line.front() == '\t') {
    return n;  // the blank line ending the headers, or an obsolete folded line
  }
  if (exchange.headers.size() >= kMaxResponseHeaders ||
      exchange.header_bytes + n > kMaxResponseHeaderBytes) {
    return n;
  }
  exchange.header_bytes += n;
  exchange.headers.emplace_back(Lower(Trim(line.substr(0, colon))),
                                std::string(Trim(line.substr(colon + 1))));
  return n;
}

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  const std::size_t n = size * count;
  const std::size_t room = exchange.max_body_bytes - exchange.body.size();
  if (n <= room) {
    exchange.body.append(data, n);
    return n;
  }
  exchange.body.append(data, room);
  exchange.truncated = true;
  return 0;  // stops the transfer with CURLE_WRITE_ERROR
}

// Sets up `easy` for `request`; the first error of an option libcurl refuses.
CURLcode Configure(CURL* easy, const HttpRequest& request, CURLU* url, curl_slist* headers,
                   Exchange& exchange, const std::string& user_agent, char* error_buffer) {
  CURLcode rc = CURLE_OK;
  auto set = [&rc, easy](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, option, value);
  };
  set(CURLOPT_ERRORBUFFER, error_buffer);
  set(CURLOPT_CURLU, url);
  set(CURLOPT_PROTOCOLS_STR, kProtocols);
  set(CURLOPT_REDIR_PROTOCOLS_STR, kProtocols);
  set(CURLOPT_FOLLOWLOCATION, request.max_redirects > 0 ? 1L : 0L);
  set(CURLOPT_MAXREDIRS, static_cast<long>(request.max_redirects));
  // An empty proxy disables proxies, including http_proxy and friends from the
  // environment: through a proxy, the address connected to would be the proxy's.
  set(CURLOPT_PROXY, "");
  set(CURLOPT_NETRC, static_cast<long>(CURL_NETRC_IGNORED));
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  set(CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
  set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(&exchange));
  set(CURLOPT_HEADERFUNCTION, &OnHeader);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&exchange));
  set(CURLOPT_WRITEFUNCTION, &OnBody);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&exchange));
  set(CURLOPT_USERAGENT, user_agent.c_str());
  set(CURLOPT_HTTPHEADER, headers);
  set(CURLOPT_POST, 1L);
  set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  set(CURLOPT_POSTFIELDS, request.body.data());
  return rc;
}

Status ValidateLimits(const HttpRequest& request) {
  if (request.timeout < std::chrono::milliseconds(1) || request.timeout > kMaxTimeout) {
    return InvalidArgument("request", "timeout must be between 1 ms and 10 minutes");
  }
  if (request.max_redirects < 0 || request.max_redirects > kMaxRedirects) {
    return InvalidArgument("request",
                           "max_redirects must be between 0 and " + std::to_string(kMaxRedirects));
  }
  return Ok();
}

}  // namespace

std::optional<std::string_view> HttpResponse::Header(std::string_view name) const {
  const std::string lower = Lower(name);
  for (const auto& [key, value] : headers) {
    if (key == lower) return std::string_view(value);
  }
  return std::nullopt;
}

CurlHttpClient::CurlHttpClient(CurlHttpClientOptions options) : options_(std::move(options)) {
  (void)InitCurl("http client");  // the result is checked by every Post
}

Result<HttpResponse> CurlHttpClient::Post(const HttpRequest& request,
                                          const OutboundPolicy& policy) {
  TREU_RETURN_IF_ERROR(InitCurl("http client"));
  TREU_RETURN_IF_ERROR(ValidateLimits(request));
  TREU_ASSIGN_OR_RETURN(ParsedUrl url, ParseUrl(request.url));
  TREU_ASSIGN_OR_RETURN(HeaderList headers, BuildHeaders(request));
  const std::string context = "POST " + url.origin;

  EasyHandle easy(curl_easy_init());
  if (!easy) return Internal(context, "libcurl could not create a handle");
  Exchange exchange;
  exchange.easy = easy.get();
  exchange.policy = policy;
  exchange.max_body_bytes = request.max_response_bytes;
  char error_buffer[CURL_ERROR_SIZE] = {};
  if (const CURLcode rc = Configure(easy.get(), request, url.handle.get(), headers.get(), exchange,
                                    options_.user_agent, error_buffer);
      rc != CURLE_OK) {
    return Internal(context, std::string("libcurl refused an option: ") + curl_easy_strerror(rc));
  }

  const CURLcode rc = curl_easy_perform(easy.get());
  const bool stopped_at_limit = rc == CURLE_WRITE_ERROR && exchange.truncated;
  if (rc != CURLE_OK && !stopped_at_limit) {
    if (exchange.refusal && rc == CURLE_COULDNT_CONNECT &&
        exchange.last_allowed_hop != exchange.refusal_hop) {
      return MakeError(ErrorCode::kPermissionDenied, "url", *exchange.refusal);
    }
    switch (rc) {
      case CURLE_UNSUPPORTED_PROTOCOL:
        // The request's own scheme was checked above, so this is a redirect's.
        return MakeError(ErrorCode::kPermissionDenied, "url",
                         "redirects to a URL whose scheme is not http or https");
      case CURLE_OPERATION_TIMEDOUT:
        return Unavailable(context,
                           "timed out after " + std::to_string(request.timeout.count()) + " ms");
      case CURLE_TOO_MANY_REDIRECTS:
        return Unavailable(context,
                           "more than " + std::to_string(request.max_redirects) + " redirects");
      default:
        return Unavailable(context, error_buffer[0] != '\0' ? std::string(error_buffer)
                                                            : std::string(curl_easy_strerror(rc)));
    }
  }

  HttpResponse response;
  long status = 0;
  curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  char* ip = nullptr;
  if (curl_easy_getinfo(easy.get(), CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != nullptr) {
    response.remote_ip = ip;
  }
  char* effective_url = nullptr;
  if (curl_easy_getinfo(easy.get(), CURLINFO_EFFECTIVE_URL, &effective_url) == CURLE_OK &&
      effective_url != nullptr) {
    response.url = effective_url;
  }
  response.headers = std::move(exchange.headers);
  response.body = std::move(exchange.body);
  response.body_truncated = exchange.truncated;
  return response;
}

}  // namespace treu::net
