// Boost 1.74's Asio needs <utility> before its headers under C++20 and later.
#include <utility>

#include "api/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace treu::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class Loop;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Loop& loop);
  void Start() { Read(); }
  // Closes the connection if it is waiting for a request; otherwise after the response.
  void CloseWhenIdle();

 private:
  void Read();
  void OnHeader(beast::error_code ec);
  void ReadBody();
  void OnRead(beast::error_code ec);
  void Answer(HttpResponse out);
  void OnWrite(bool keep_alive, beast::error_code ec);
  void Close();

  beast::tcp_stream stream_;
  Loop& loop_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  http::response<http::empty_body> continue_;  // "100 Continue" for clients that wait for it
  std::size_t body_limit_ = 0;                  // of the request being read
  // The request being answered, for the access log.
  std::string method_, path_, remote_;
  std::string peer_;  // the client's address
  std::chrono::steady_clock::time_point started_;
  bool busy_ = false;
  bool closing_ = false;
};

// One event loop: an io_context, its acceptor, its handler and its live sessions. Everything
// here runs on the loop's own thread.
class Loop {
 public:
  Loop(const ServerOptions& options) : options_(options), acceptor_(io_) {}

  Status Bind(const tcp::endpoint& ep) {
    beast::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      const int one = 1;
      ::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      acceptor_.bind(ep, ec);
    }
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Unavailable("listen on " + ep.address().to_string() + ":" + std::to_string(ep.port()),
                         ec.message());
    }
    return Ok();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void Run(const std::function<HttpHandler()>& make_handler) {
    handler_ = make_handler();
    Accept();
    io_.run();
    handler_ = nullptr;  // release the thread's store on this thread
  }

  void Stop() {
    asio::post(io_, [this] {
      stopping_ = true;
      beast::error_code ec;
      acceptor_.close(ec);
      for (auto& weak : sessions_) {
        if (auto s = weak.lock()) s->CloseWhenIdle();
      }
    });
  }

  bool stopping() const { return stopping_; }
  asio::io_context& io() { return io_; }
  const ServerOptions& options() const { return options_; }
  HttpHandler& handler() { return handler_; }

 private:
  void Accept() {
    acceptor_.async_accept(io_, [this](beast::error_code ec, tcp::socket socket) {
      if (ec || stopping_) return;
      socket.set_option(tcp::no_delay(true), ec);
      auto s = std::make_shared<Session>(std::move(socket), *this);
      // Drop expired entries now and then so the list stays small.
      if (sessions_.size() > 1024) {
        std::erase_if(sessions_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
      }
      sessions_.push_back(s);
      s->Start();
      Accept();
    });
  }

  const ServerOptions& options_;
  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  HttpHandler handler_;
  std::vector<std::weak_ptr<Session>> sessions_;
  bool stopping_ = false;
};

Session::Session(tcp::socket socket, Loop& loop) : stream_(std::move(socket)), loop_(loop) {
  beast::error_code ec;
  const auto remote = stream_.socket().remote_endpoint(ec);
  if (!ec) peer_ = remote.address().to_string();
}

void Session::Read() {
  if (loop_.stopping()) return Close();
  parser_.emplace();
  // The limit depends on the route, known once the header is in (OnHeader); the parser would
  // check a Content-Length against its limit while parsing the header, so none applies yet.
  // (Not boost::none: Beast 1.74 compares the length with the empty optional and fails.)
  body_limit_ = loop_.options().max_body_bytes;
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  parser_->header_limit(32 * 1024);
  stream_.expires_after(std::chrono::seconds(loop_.options().idle_timeout_seconds));
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            self->OnHeader(ec);
                          });
}

void Session::OnHeader(beast::error_code ec) {
  if (ec) return OnRead(ec);
  const auto& req = parser_->get();
  const ServerOptions& o = loop_.options();
  const auto view = [](beast::string_view v) { return std::string_view(v.data(), v.size()); };
  const std::size_t limit = o.body_limit ? o.body_limit(view(req.method_string()), view(req.target()))
                                         : o.max_body_bytes;
  body_limit_ = limit;
  parser_->body_limit(limit);  // for chunked bodies
  if (const auto length = parser_->content_length(); length && *length > limit) {
    return OnRead(http::error::body_limit);  // 413 without reading (or asking for) the body
  }
  if (parser_->is_done()) return OnRead(ec);
  stream_.expires_after(std::chrono::seconds(o.body_timeout_seconds));
  if (beast::iequals(req[http::field::expect], "100-continue")) {
    continue_ = {http::status::continue_, req.version()};
    http::async_write(stream_, continue_, [self = shared_from_this()](beast::error_code e, std::size_t) {
      if (e) return self->Close();
      self->ReadBody();
    });
    return;
  }
  ReadBody();
}

void Session::ReadBody() {
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                     self->OnRead(ec);
                   });
}

void Session::OnRead(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    response_ = {};
    response_.result(http::status::payload_too_large);
    response_.set(http::field::content_type, "application/problem+json");
    // Shops' pages read the tracking routes' answers cross-origin (see the router), this too.
    if (parser_->get().target().starts_with("/v1/")) response_.set("Access-Control-Allow-Origin", "*");
    response_.body() =
        R"({"type":"urn:treu:problem:payload-too-large","title":"Payload Too Large","status":413,)"
        R"("detail":"the request body is larger than )" +
        std::to_string(body_limit_) + R"( bytes"})";
    response_.keep_alive(false);
    response_.prepare_payload();
    busy_ = true;
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code e, std::size_t) {
      self->OnWrite(false, e);
    });
    return;
  }
  if (ec) return Close();
  busy_ = true;
  auto& req = parser_->get();
  HttpRequest in;
  in.method = std::string(req.method_string());
  in.target = std::string(req.target());
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    in.headers[name] = std::string(field.value());
  }
  in.body = std::move(req.body());
  in.remote = peer_;
  const bool target_ok = ParseTarget(in.target, in.path, in.query);
  if (loop_.options().access_log) {
    started_ = std::chrono::steady_clock::now();
    method_ = in.method;
    path_ = target_ok ? in.path : in.target;
    remote_ = in.remote;
  }
  if (!target_ok) {
    HttpResponse out;
    out.status = 400;
    out.content_type = "application/problem+json";
    out.body = R"({"type":"urn:treu:problem:invalid-argument","title":"Bad Request","status":400,)"
               R"("detail":"the request target has malformed percent-encoding"})";
    return Answer(std::move(out));
  }
  // The answer may come from another thread: it is carried back to this loop, and the work
  // guard keeps the loop running (even while stopping) until it has been written.
  auto work = std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(
      loop_.io().get_executor());
  loop_.handler()(in, [self = shared_from_this(), work](HttpResponse out) {
    asio::dispatch(self->loop_.io(), [self, work, out = std::move(out)]() mutable {
      self->Answer(std::move(out));
      work->reset();
    });
  });
}

void Session::Answer(HttpResponse out) {
  const auto& req = parser_->get();
  const bool keep_alive = req.keep_alive() && !loop_.stopping() && !closing_;
  response_ = {};
  response_.version(req.version());
  response_.result(static_cast<unsigned>(out.status));
  response_.set(http::field::content_type, out.content_type);
  response_.set("X-Content-Type-Options", "nosniff");
  response_.set("Referrer-Policy", "no-referrer");
  response_.set("X-Frame-Options", "DENY");
  response_.set("Content-Security-Policy", kDefaultSecurityPolicy);
  for (const auto& [k, v] : out.headers) response_.set(k, v);
  response_.body() = std::move(out.body);
  response_.keep_alive(keep_alive);
  response_.prepare_payload();
  if (const auto& log = loop_.options().access_log) {
    log(AccessRecord{method_, path_, remote_, out.status,
                     std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                               started_).count()});
  }
  http::async_write(stream_, response_,
                    [self = shared_from_this(), keep_alive](beast::error_code e, std::size_t) {
                      self->OnWrite(keep_alive, e);
                    });
}

void Session::OnWrite(bool keep_alive, beast::error_code ec) {
  busy_ = false;
  if (ec || !keep_alive || closing_) return Close();
  Read();
}

void Session::CloseWhenIdle() {
  closing_ = true;
  if (!busy_) Close();
}

void Session::Close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.socket().close(ec);
}

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  std::function<HttpHandler()> make_handler;
  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<std::thread> threads;
  std::once_flag stop_once;
  std::uint16_t port = 0;
};

HttpServer::HttpServer(ServerOptions options, std::function<HttpHandler()> make_handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->make_handler = std::move(make_handler);
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  beast::error_code ec;
  const auto address = asio::ip::make_address(impl_->options.host, ec);
  if (ec) return InvalidArgument("--listen", "'" + impl_->options.host + "' is not an IP address");
  std::uint16_t port = impl_->options.port;
  const int n = std::max(1, impl_->options.threads);
  for (int i = 0; i < n; ++i) {
    auto loop = std::make_unique<Loop>(impl_->options);
    // With port 0 the first loop picks a port and the others share it.
    TREU_RETURN_IF_ERROR(loop->Bind(tcp::endpoint(address, port)));
    port = loop->port();
    impl_->loops.push_back(std::move(loop));
  }
  impl_->port = port;
  for (auto& loop : impl_->loops) {
    impl_->threads.emplace_back([this, l = loop.get()] { l->Run(impl_->make_handler); });
  }
  return Ok();
}

std::uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::Stop() {
  std::call_once(impl_->stop_once, [this] {
    for (auto& loop : impl_->loops) loop->Stop();
    for (auto& t : impl_->threads) {
      if (t.joinable()) t.join();
    }
  });
}

}  // namespace treu::api
