// The HTTP/1.1 server: keep-alive, one event loop per thread (each with its own listening
// socket on the port, SO_REUSEPORT), graceful shutdown. Boost.Beast stays inside server.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/http.hpp"
#include "core/status.hpp"

namespace treu::api {

// One answered request, for the access log.
struct AccessRecord {
  std::string_view method;
  std::string_view path;
  std::string_view remote;
  int status = 0;
  double milliseconds = 0;  // from the request read to the answer handed to the socket
};

// Every response carries X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer,
// X-Frame-Options: DENY and this Content-Security-Policy; a response's own headers of the same
// names replace them (the survey pages set their own policy).
inline constexpr const char* kDefaultSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;   // 0: any free port (see HttpServer::port())
  int threads = 2;             // event loops, each with its own handler
  std::size_t max_body_bytes = 512 * 1024;
  int idle_timeout_seconds = 30;  // keep-alive connections idle longer are closed
  int body_timeout_seconds = 300;  // for reading a request's body once its header is in
  // The body limit of a request, from its method and target; max_body_bytes when unset.
  std::function<std::size_t(std::string_view method, std::string_view target)> body_limit;
  // Called on the event loop's thread for every answer, if set.
  std::function<void(const AccessRecord&)> access_log;
};

// Receives the response to one request; callable from any thread, exactly once.
using HttpRespond = std::function<void(HttpResponse)>;

// Handles one request. Called on the thread of the event loop that owns the connection; it
// may answer before it returns or later from another thread. The connection reads its next
// request only after the answer is written.
using HttpHandler = std::function<void(HttpRequest&, HttpRespond)>;

class HttpServer {
 public:
  // `make_handler` is called once per event-loop thread, on that thread, so each thread can
  // own a store connection.
  HttpServer(ServerOptions options, std::function<HttpHandler()> make_handler);
  ~HttpServer();  // stops and joins
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the threads. Unavailable when the address can't be bound.
  Status Start();
  // The bound port (after Start).
  std::uint16_t port() const;
  // Stops accepting, closes idle connections, lets requests in flight finish and be
  // answered, then joins the threads. Idempotent; thread-safe.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace treu::api
