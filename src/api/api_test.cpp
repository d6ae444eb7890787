#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <nlohmann/json.hpp>

#include "access/keys.hpp"
#include "api/problem.hpp"
#include "api/router.hpp"
#include "api/routes.hpp"
#include "api/server.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace treu::api {
namespace {

using nlohmann::json;

TEST(HttpTest, ParsesTargets) {
  std::string path;
  std::vector<std::pair<std::string, std::string>> q;
  ASSERT_TRUE(ParseTarget("/api/v1/customers/a%20b?email=x%40y.de&limit=5&flag&x=a+b", path, q));
  EXPECT_EQ(path, "/api/v1/customers/a b");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"email", "x@y.de"}));
  EXPECT_EQ(q[2].first, "flag");
  EXPECT_EQ(q[3].second, "a b");
  EXPECT_FALSE(ParseTarget("/a%2", path, q));
  EXPECT_FALSE(ParseTarget("/a%zz", path, q));
}

TEST(RouterTest, MatchesPatterns) {
  std::map<std::string, std::string> p;
  EXPECT_TRUE(MatchPattern("/api/v1/customers/{id}", "/api/v1/customers/c1", p));
  EXPECT_EQ(p.at("id"), "c1");
  EXPECT_FALSE(MatchPattern("/api/v1/customers/{id}", "/api/v1/customers/", p));
  EXPECT_FALSE(MatchPattern("/api/v1/customers/{id}", "/api/v1/customers/c1/x", p));
  EXPECT_FALSE(MatchPattern("/api/v1/customers", "/api/v1/customer", p));
  EXPECT_TRUE(MatchPattern("/healthz", "/healthz", p));
}

TEST(RouterTest, ReadsCookiesAndComparesOrigins) {
  HttpRequest r;
  r.headers["cookie"] = "a=1; treu_session=tok; b=2";
  EXPECT_EQ(CookieValue(r, "treu_session"), "tok");
  EXPECT_EQ(CookieValue(r, "b"), "2");
  EXPECT_EQ(CookieValue(r, "treu"), "");
  r.headers["host"] = "127.0.0.1:8080";
  EXPECT_TRUE(SameOrigin(r));
  r.headers["origin"] = "http://127.0.0.1:8080";
  EXPECT_TRUE(SameOrigin(r));
  r.headers["origin"] = "https://127.0.0.1:8080";
  EXPECT_TRUE(SameOrigin(r));
  r.headers["origin"] = "http://127.0.0.1:8081";
  EXPECT_FALSE(SameOrigin(r));
  r.headers["origin"] = "null";
  EXPECT_FALSE(SameOrigin(r));
  r.headers["origin"] = "http://evil.example";
  EXPECT_FALSE(SameOrigin(r));
}

TEST(ProblemTest, MapsErrorsAndNamesFields) {
  const HttpResponse r = ProblemResponse(Error(ErrorCode::kInvalidArgument, "email", "is not an email"), "/x");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/problem+json");
  const json j = json::parse(r.body);
  EXPECT_EQ(j["type"], "urn:treu:problem:invalid-argument");
  EXPECT_EQ(j["status"], 400);
  EXPECT_EQ(j["instance"], "/x");
  EXPECT_EQ(j["errors"][0]["pointer"], "/email");
  EXPECT_EQ(j["errors"][0]["detail"], "is not an email");
  const json internal = json::parse(ProblemResponse(Error(ErrorCode::kInternal, "sqlite", "disk I/O error at 0x12"), "/y").body);
  EXPECT_EQ(internal["status"], 500);
  EXPECT_EQ(internal["detail"].get<std::string>().find("disk"), std::string::npos);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kNotFound), 404);
}

TEST(ProblemTest, FieldErrorsPointAtTheMember) {
  auto pointer = [](std::string context) {
    auto f = FieldErrorOf(Error(ErrorCode::kInvalidArgument, std::move(context), "bad"));
    return f ? f->pointer : std::string("none");
  };
  EXPECT_EQ(pointer("steps.3.next"), "/steps/3/next");
  EXPECT_EQ(pointer("email"), "/email");
  EXPECT_EQ(pointer("/batch/3/userId"), "/batch/3/userId");
  EXPECT_EQ(pointer(""), "none");
  EXPECT_EQ(pointer("customer c1"), "none");
  EXPECT_EQ(FieldErrorOf(Error(ErrorCode::kInvalidArgument, "name", "is required"))->detail, "is required");
}

class RouterDispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() / ("treu-api-test-" + std::to_string(::getpid()) + ".db");
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + s);
    store_ = OpenSqliteStore(path_.string(), clock_).value();
    for (const char* name : {"a", "b"}) {
      Workspace w;
      w.name = name;
      ws_.push_back(store_->CreateWorkspace(w).value());
      auto tx = store_->BeginWrite(ws_.back().id).value();
      Customer c;
      c.external_id = std::string("only-in-") + name;
      c.email = std::string(name) + "@example.com";
      ASSERT_TRUE(tx->UpsertCustomers(std::span(&c, 1), clock_.Now()));
      ASSERT_TRUE(tx->Commit());
    }
    read_a_ = CreateApiKey(*store_, ws_[0].id, Scope::kRead, "", clock_).value().secret;
    tracking_a_ = CreateApiKey(*store_, ws_[0].id, Scope::kTracking, "", clock_).value().secret;
  }
  void TearDown() override {
    store_.reset();
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + s);
  }

  HttpResponse Get(const std::string& target, const std::string& key = "") {
    HttpRequest req;
    req.method = "GET";
    req.target = target;
    EXPECT_TRUE(ParseTarget(target, req.path, req.query));
    if (!key.empty()) req.headers["authorization"] = "Bearer " + key;
    return router_.Dispatch(req, *store_, clock_);
  }

  ManualClock clock_{Timestamp::FromSeconds(1'700'000'000)};
  std::filesystem::path path_;
  std::unique_ptr<Store> store_;
  std::vector<Workspace> ws_;
  std::string read_a_, tracking_a_;
  Router router_{ApiRoutes()};
};

TEST_F(RouterDispatchTest, AuthenticatesAndConfinesToTheWorkspace) {
  EXPECT_EQ(Get("/healthz").status, 200);
  EXPECT_EQ(Get("/api/v1/customers").status, 401);
  EXPECT_EQ(Get("/api/v1/customers", "treu_sk_nonsense").status, 401);
  EXPECT_EQ(Get("/api/v1/customers", tracking_a_).status, 403);
  const HttpResponse ok = Get("/api/v1/customers", read_a_);
  ASSERT_EQ(ok.status, 200) << ok.body;
  const json list = json::parse(ok.body);
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0]["id"], "only-in-a");
  EXPECT_EQ(Get("/api/v1/customers/only-in-a", read_a_).status, 200);
  EXPECT_EQ(Get("/api/v1/customers/only-in-b", read_a_).status, 404);
  EXPECT_EQ(json::parse(Get("/api/v1/workspace", read_a_).body)["name"], "a");
}

TEST_F(RouterDispatchTest, PagesWithCursorsAndRejectsBadParameters) {
  {
    auto tx = store_->BeginWrite(ws_[0].id).value();
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) ids.push_back("p" + std::to_string(i));
    ASSERT_TRUE(tx->ResolveCustomers(ids, clock_.Now()));
    ASSERT_TRUE(tx->Commit());
  }
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    const auto r = Get("/api/v1/customers?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor), read_a_);
    ASSERT_EQ(r.status, 200);
    const json j = json::parse(r.body);
    for (const auto& c : j["data"]) seen.push_back(c["id"]);
    if (j["next_cursor"].is_null()) break;
    cursor = j["next_cursor"];
  }
  EXPECT_EQ(seen.size(), 6u);
  const json bad = json::parse(Get("/api/v1/customers?limit=0", read_a_).body);
  EXPECT_EQ(bad["status"], 400);
  EXPECT_EQ(bad["errors"][0]["pointer"], "/limit");
  EXPECT_EQ(Get("/api/v1/customers?cursor=zzz", read_a_).status, 400);
  EXPECT_EQ(Get("/api/v1/customers?email=a@example.com", read_a_).status, 200);
}

TEST_F(RouterDispatchTest, MetricsCountRequestsByRouteAndAreOffByDefault) {
  EXPECT_EQ(Get("/metrics").status, 404);
  Metrics metrics;
  HttpRequest req;
  req.method = "GET";
  req.path = "/api/v1/customers/only-in-a";
  req.headers["authorization"] = "Bearer " + read_a_;
  EXPECT_EQ(router_.Dispatch(req, *store_, clock_, {&metrics}).status, 200);
  req.path = "/metrics";
  const HttpResponse r = router_.Dispatch(req, *store_, clock_, {&metrics});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4");
  EXPECT_NE(r.body.find("treu_http_requests_total{route=\"/api/v1/customers/{id}\",status=\"200\"} 1"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("treu_http_request_duration_seconds_count{route=\"/api/v1/customers/{id}\"} 1"),
            std::string::npos);
}

TEST_F(RouterDispatchTest, KeysWithARateAreLimited) {
  // A key with a known secret and a rate of 3 per minute.
  ApiKey k;
  k.workspace = ws_[0].id;
  k.scope = Scope::kRead;
  k.prefix = "treu_sk_rate";
  const std::string secret = "treu_sk_" + std::string(32, 'R');
  k.hash_hex = HashApiKey(secret);
  k.rate_per_minute = 3;
  k.created_at = clock_.Now();
  ASSERT_TRUE(store_->CreateApiKey(k));
  RateLimiter limiter;
  ServerServices services;
  services.rate_limiter = &limiter;
  HttpRequest req;
  req.method = "GET";
  req.path = "/api/v1/workspace";
  req.headers["authorization"] = "Bearer " + secret;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(router_.Dispatch(req, *store_, clock_, services).status, 200);
  const HttpResponse r = router_.Dispatch(req, *store_, clock_, services);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"RateLimit-Limit", "3"}));
  EXPECT_EQ(r.headers[1], (std::pair<std::string, std::string>{"RateLimit-Remaining", "0"}));
  // 20 s later one token (3 per minute) has come back.
  clock_.Advance(20 * kMicrosPerSecond);
  EXPECT_EQ(router_.Dispatch(req, *store_, clock_, services).status, 200);
  // Keys without a rate are not limited.
  req.headers["authorization"] = "Bearer " + read_a_;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(router_.Dispatch(req, *store_, clock_, services).status, 200);
}

TEST_F(RouterDispatchTest, UnknownRoutesAndMethods) {
  EXPECT_EQ(Get("/nope").status, 404);
  HttpRequest del;
  del.method = "DELETE";
  del.path = "/healthz";
  const HttpResponse r = router_.Dispatch(del, *store_, clock_);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Allow", "GET"}));
}

// The value of response header `name`, or nullopt.
std::optional<std::string> HeaderOf(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

TEST_F(RouterDispatchTest, CorsOnlyForTheTrackingRoutes) {
  HttpRequest req;
  req.method = "OPTIONS";
  req.path = "/v1/track";
  req.headers["origin"] = "https://shop.example";
  req.headers["access-control-request-method"] = "POST";
  req.headers["access-control-request-headers"] = "authorization, content-type";
  // A preflight needs no key (browsers send none) and allows what the SDK sends.
  HttpResponse r = router_.Dispatch(req, *store_, clock_);
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Methods"), "GET, POST");
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Headers"),
            "Authorization, Content-Type, Treu-User-Id, Treu-User-Hash");
  EXPECT_EQ(HeaderOf(r, "Access-Control-Max-Age"), "86400");
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Credentials"), std::nullopt);
  // Errors of /v1/ paths are readable cross-origin too: no key, a bad call, no such route.
  req.method = "POST";
  req.body = R"({"event": "Viewed"})";
  r = router_.Dispatch(req, *store_, clock_);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Origin"), "*");
  req.headers["authorization"] = "Bearer " + tracking_a_;
  req.body = R"({"userId": "u1"})";
  r = router_.Dispatch(req, *store_, clock_);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Origin"), "*");
  req.body = R"({"userId": "u1", "event": "Viewed"})";
  r = router_.Dispatch(req, *store_, clock_);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Credentials"), std::nullopt);
  req.path = "/v1/nope";
  r = router_.Dispatch(req, *store_, clock_);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Origin"), "*");
  req.method = "OPTIONS";
  EXPECT_EQ(router_.Dispatch(req, *store_, clock_).status, 404);
  // Everything else stays same-origin: no CORS headers, and OPTIONS is a method not allowed.
  for (const char* path : {"/api/v1/customers", "/healthz", "/api/v1/session"}) {
    req.path = path;
    req.method = "OPTIONS";
    r = router_.Dispatch(req, *store_, clock_);
    EXPECT_EQ(r.status, 405) << path;
    EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Origin"), std::nullopt) << path;
    EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Methods"), std::nullopt) << path;
  }
  r = Get("/api/v1/customers", read_a_);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Origin"), std::nullopt);
}

TEST_F(RouterDispatchTest, ServesTheBrowserSdkToAnyOrigin) {
  for (const char* path : {"/sdk/treu.js", "/sdk/treu-sw.js"}) {
    const HttpResponse r = Get(path);
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(HeaderOf(r, "Cache-Control"), "public, max-age=3600");
    EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Origin"), "*");
    EXPECT_FALSE(r.body.empty());
    HttpRequest again;
    again.method = "GET";
    again.path = path;
    again.headers["if-none-match"] = HeaderOf(r, "ETag").value_or("none");
    EXPECT_EQ(router_.Dispatch(again, *store_, clock_).status, 304);
  }
  EXPECT_NE(Get("/sdk/treu.js").body.find("window.treu"), std::string::npos);
  EXPECT_NE(Get("/sdk/treu-sw.js").body.find("notificationclick"), std::string::npos);
  EXPECT_EQ(Get("/sdk/other.js").status, 404);
}

TEST(OpenApiTest, DocumentCoversEveryRoute) {
  const json doc = json::parse(OpenApiJson(ApiRoutes()));
  EXPECT_EQ(doc["openapi"], "3.1.0");
  for (const Route& r : ApiRoutes()) {
    std::string m(r.method);
    for (auto& c : m) c = static_cast<char>(std::tolower(c));
    ASSERT_TRUE(doc["paths"][std::string(r.pattern)].contains(m)) << r.pattern;
    EXPECT_EQ(doc["paths"][std::string(r.pattern)][m]["security"].empty(), r.access.is_public);
  }
}

// The schemas are JSON files (src/api/openapi/): every "$ref" in the document, a route's
// response or one schema naming another, must name a schema that is there.
TEST(OpenApiTest, EveryReferenceNamesASchema) {
  const json doc = json::parse(OpenApiJson(ApiRoutes()));
  const json& schemas = doc["components"]["schemas"];
  const std::string prefix = "#/components/schemas/";
  int refs = 0;
  std::function<void(const json&)> visit = [&](const json& j) {
    if (j.is_object() && j.contains("$ref")) {
      const std::string ref = j["$ref"];
      ++refs;
      ASSERT_TRUE(ref.starts_with(prefix)) << ref;
      EXPECT_TRUE(schemas.contains(ref.substr(prefix.size()))) << ref;
    }
    if (j.is_structured()) {
      for (const json& child : j) visit(child);
    }
  };
  visit(doc);
  EXPECT_GT(refs, 0);
}

std::string RoundTrip(std::uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

TEST(HttpServerTest, ServesKeepAliveRequestsAndStopsGracefully) {
  ServerOptions opts;
  opts.port = 0;
  opts.threads = 2;
  opts.max_body_bytes = 64;
  std::atomic<int> handled{0};
  HttpServer server(opts, [&] {
    return [&](HttpRequest& req, HttpRespond respond) {
      ++handled;
      HttpResponse r;
      r.body = R"({"path":")" + req.path + R"("})";
      respond(std::move(r));
    };
  });
  ASSERT_TRUE(server.Start());
  ASSERT_NE(server.port(), 0);
  const std::string two =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const std::string out = RoundTrip(server.port(), two);
  EXPECT_NE(out.find(R"({"path":"/a"})"), std::string::npos) << out;
  EXPECT_NE(out.find(R"({"path":"/b"})"), std::string::npos) << out;
  EXPECT_EQ(handled.load(), 2);
  const std::string big = "POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x');
  EXPECT_NE(RoundTrip(server.port(), big).find("413"), std::string::npos);
  server.Stop();
  server.Stop();
}

TEST(HttpServerTest, SecurityHeadersUnlessTheResponseSetsItsOwn) {
  ServerOptions opts;
  opts.port = 0;
  opts.threads = 1;
  HttpServer server(opts, [&] {
    return [&](HttpRequest& req, HttpRespond respond) {
      HttpResponse r;
      if (req.path == "/own") r.headers.emplace_back("Content-Security-Policy", "default-src 'none'");
      respond(std::move(r));
    };
  });
  ASSERT_TRUE(server.Start());
  const std::string out = RoundTrip(server.port(), "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("X-Frame-Options: DENY\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Referrer-Policy: no-referrer\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Content-Type-Options: nosniff\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find(std::string("Content-Security-Policy: ") + kDefaultSecurityPolicy + "\r\n"), std::string::npos)
      << out;
  const std::string own = RoundTrip(server.port(), "GET /own HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(own.find("Content-Security-Policy: default-src 'none'\r\n"), std::string::npos) << own;
  EXPECT_EQ(own.find("script-src"), std::string::npos) << own;
  server.Stop();
}

TEST(HttpServerTest, BodyLimitsPerRouteAndExpectContinue) {
  ServerOptions opts;
  opts.port = 0;
  opts.threads = 1;
  opts.max_body_bytes = 64;
  opts.body_limit = [](std::string_view method, std::string_view target) -> std::size_t {
    return method == "POST" && target.starts_with("/upload") ? 1000 : 64;
  };
  HttpServer server(opts, [] {
    return [](HttpRequest& req, HttpRespond respond) {
      HttpResponse r;
      r.body = std::to_string(req.body.size());
      respond(std::move(r));
    };
  });
  ASSERT_TRUE(server.Start());
  const std::string body(500, 'x');
  const std::string upload = "POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 500\r\n\r\n" + body;
  EXPECT_NE(RoundTrip(server.port(), upload).find("\r\n\r\n500"), std::string::npos);
  const std::string other = "POST /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 500\r\n\r\n" + body;
  EXPECT_NE(RoundTrip(server.port(), other).find("413"), std::string::npos);
  // A client that waits for "100 Continue" gets it before it sends the body...
  const std::string expect = "POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\n"
                             "Content-Length: 500\r\n\r\n" + body;
  const std::string out = RoundTrip(server.port(), expect);
  EXPECT_TRUE(out.starts_with("HTTP/1.1 100 Continue\r\n")) << out;
  EXPECT_NE(out.find("\r\n\r\n500"), std::string::npos) << out;
  // ...unless the body is too large anyway: then 413 at once.
  const std::string huge = "POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                           "Content-Length: 5000\r\n\r\n";
  const std::string refused = RoundTrip(server.port(), huge);
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 413")) << refused;
  EXPECT_NE(refused.find("1000 bytes"), std::string::npos) << refused;
}

TEST(HttpServerTest, AnswersFromAnotherThreadAndStopWaitsForTheAnswer) {
  ServerOptions opts;
  opts.port = 0;
  opts.threads = 1;
  std::atomic<bool> started{false};
  std::mutex mu;
  std::vector<std::thread> answerers;
  HttpServer server(opts, [&] {
    return [&](HttpRequest& req, HttpRespond respond) {
      std::lock_guard lock(mu);
      answerers.emplace_back([path = req.path, respond = std::move(respond), &started] {
        started = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        HttpResponse r;
        r.body = R"({"late":")" + path + R"("})";
        respond(std::move(r));
      });
    };
  });
  ASSERT_TRUE(server.Start());
  std::string out;
  std::thread client([&] { out = RoundTrip(server.port(), "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"); });
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server.Stop();  // the request is in flight: Stop returns only after it is answered
  client.join();
  EXPECT_NE(out.find(R"({"late":"/slow"})"), std::string::npos) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
  for (auto& t : answerers) t.join();
}

}  // namespace
}  // namespace treu::api
