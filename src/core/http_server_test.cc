#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <future>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "abierto/http.h"

namespace abierto::http {
namespace {

using namespace std::chrono_literals;
// Upper bound for anything the tests wait for; never an expectation of speed.
constexpr auto kWait = 10s;

struct RawResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  int chunks = 0;  // of a chunked body, not counting the last (empty) one

  std::string Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "";
  }
  bool HasHeader(std::string_view name) const {
    for (const auto& h : headers) {
      if (h.first == name) return true;
    }
    return false;
  }
};

// A deliberately dumb blocking client on POSIX sockets, with poll() so that no read in a test
// can hang forever.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }

  void Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  // Reads one response: Content-Length framed, chunked (the body decoded), or — with neither —
  // up to the end of the connection. False on EOF, error, timeout or an incomplete body.
  bool Read(RawResponse* r, bool head = false) {
    auto deadline = std::chrono::steady_clock::now() + kWait;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (Fill(deadline) != kData) return false;
    }
    std::istringstream lines(buf_.substr(0, end));
    buf_.erase(0, end + 4);
    std::string line;
    std::getline(lines, line);
    if (line.size() < 12) return false;
    *r = RawResponse();
    r->status = std::stoi(line.substr(9, 3));
    size_t length = 0;
    bool has_length = false, chunked = false;
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t colon = line.find(':');
      if (colon == std::string::npos) return false;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (name == "content-length") {
        length = std::stoul(value);
        has_length = true;
      }
      if (name == "transfer-encoding") chunked = value == "chunked";
      r->headers.emplace_back(name, value);
    }
    if (head || r->status < 200) return true;
    if (chunked) return ReadChunks(r, deadline);
    if (!has_length) {
      for (;;) {
        FillResult f = Fill(deadline);
        if (f == kTimeout) return false;
        if (f == kClosed) break;
      }
      r->body = std::move(buf_);
      buf_.clear();
      return true;
    }
    while (buf_.size() < length) {
      if (Fill(deadline) != kData) return false;
    }
    r->body = buf_.substr(0, length);
    buf_.erase(0, length);
    return true;
  }

  // Decodes a chunked body into r->body; false if the connection ends before the last chunk.
  bool ReadChunks(RawResponse* r, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      size_t eol;
      while ((eol = buf_.find("\r\n")) == std::string::npos) {
        if (Fill(deadline) != kData) return false;
      }
      size_t size = std::stoul(buf_.substr(0, eol), nullptr, 16);
      buf_.erase(0, eol + 2);
      while (buf_.size() < size + 2) {
        if (Fill(deadline) != kData) return false;
      }
      if (buf_.compare(size, 2, "\r\n") != 0) return false;
      r->body.append(buf_, 0, size);
      r->chunks += size > 0;
      buf_.erase(0, size + 2);
      if (size == 0) return true;
    }
  }

  // True if the server ends the connection (EOF or reset) within kWait; data is discarded.
  bool WaitClosed() {
    auto deadline = std::chrono::steady_clock::now() + kWait;
    for (;;) {
      switch (Fill(deadline)) {
        case kData:
          continue;
        case kClosed:
          return true;
        case kTimeout:
          return false;
      }
    }
  }

 private:
  enum FillResult { kData, kClosed, kTimeout };

  FillResult Fill(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return kTimeout;
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready == 0) return kTimeout;
    if (ready < 0) return kClosed;
    char tmp[8192];
    ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) return kClosed;
    buf_.append(tmp, static_cast<size_t>(n));
    return kData;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::string Get(std::string_view target, std::string_view extra = "") {
  std::string r = "GET ";
  r.append(target);
  r.append(" HTTP/1.1\r\nHost: prueba\r\n");
  r.append(extra);
  r.append("\r\n");
  return r;
}

Response Text(std::string body, std::string route) {
  Response r;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  r.route = std::move(route);
  return r;
}

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() {
    options_.host = "127.0.0.1";
    options_.port = 0;
    options_.io_threads = 2;
    options_.worker_threads = 4;
    options_.access_log = false;
  }

  void TearDown() override { StopServer(); }

  void StartServer() {
    FastHandler fast = [this](const Request& req) -> std::optional<Response> {
      if (req.path == "/rapido") return Text("rapido", "/rapido");
      if (req.path == "/orden/2") return Text("2", "/orden/{n}");
      if (req.path == "/falla-rapido") throw std::runtime_error("falla en la ruta rápida");
      return std::nullopt;
    };
    Handler handler = [this](const Request& req) -> Response {
      ++handler_calls_;
      if (req.path.starts_with("/eco")) {
        std::string body = req.method + "|" + req.path + "|" + req.query + "|" +
                           std::string(req.Header("x-prueba")) + "|" + req.body + "|" +
                           req.remote_address;
        return Text(body, "/eco");
      }
      if (req.path == "/falla") throw std::runtime_error("falla de prueba");
      if (req.path == "/orden/1") {
        std::this_thread::sleep_for(100ms);
        return Text("1", "/orden/{n}");
      }
      if (req.path == "/orden/3") return Text("3", "/orden/{n}");
      if (req.path == "/cuenta") {
        int now = ++concurrent_;
        int seen = max_concurrent_.load();
        while (now > seen && !max_concurrent_.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(30ms);
        --concurrent_;
        return Text("ok", "/cuenta");
      }
      if (req.path == "/lento") {
        entered_slow_.set_value();
        std::this_thread::sleep_for(300ms);
        return Text("lento", "/lento");
      }
      if (req.path == "/grande") return Text(std::string(100000, 'x'), "/grande");
      if (req.path.starts_with("/flujo")) {
        // Pieces "0,1,...": /flujo gives three and ends, /flujo-falla fails after two.
        Response r = Text("", "/flujo");
        bool fail = req.path == "/flujo-falla";
        auto calls = std::make_shared<int>(0);
        r.stream = [this, calls, fail](std::string* out) {
          ++stream_calls_;
          int n = (*calls)++;
          if (fail && n == 2) return StreamStep::kFailed;
          out->append(std::to_string(n) + ",");
          if (n == 1) out->append(std::string(100000, 'x') + ",");
          return n == 2 ? StreamStep::kDone : StreamStep::kMore;
        };
        return r;
      }
      Response r = Text("no existe", "");
      r.status = 404;
      return r;
    };
    server_ = std::make_unique<Server>(options_, fast, handler);
    std::string error;
    ASSERT_TRUE(server_->Listen(&error)) << error;
    port_ = server_->port();
    ASSERT_NE(port_, 0);
    run_ = std::async(std::launch::async, [this] { server_->Run(false); });
  }

  // Stops the server and checks that Run() returned.
  void StopServer() {
    if (!server_) return;
    server_->Stop();
    EXPECT_EQ(run_.wait_for(3 * kWait), std::future_status::ready);
    server_.reset();
  }

  RawResponse Fetch(std::string_view request) {
    Client c(port_);
    EXPECT_TRUE(c.connected());
    c.Send(request);
    RawResponse r;
    EXPECT_TRUE(c.Read(&r));
    return r;
  }

  Options options_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
  std::future<void> run_;
  std::atomic<int> handler_calls_{0};
  std::atomic<int> concurrent_{0};
  std::atomic<int> max_concurrent_{0};
  std::promise<void> entered_slow_;
  std::atomic<int> stream_calls_{0};
};

TEST_F(HttpServerTest, FastPathAnswersWithStandardHeaders) {
  StartServer();
  RawResponse r = Fetch(Get("/rapido"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "rapido");
  EXPECT_EQ(r.Header("content-length"), "6");
  EXPECT_EQ(r.Header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r.Header("server"), "abierto");
  EXPECT_TRUE(r.Header("date").ends_with(" GMT")) << r.Header("date");
  EXPECT_FALSE(r.HasHeader("connection"));
  EXPECT_EQ(handler_calls_.load(), 0);
}

TEST_F(HttpServerTest, HandlerPathFillsTheRequest) {
  StartServer();
  RawResponse r = Fetch(Get("/eco/a%20b%2Fc?x=1&y=%20", "X-Prueba: hola\r\n"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "GET|/eco/a b/c|x=1&y=%20|hola||127.0.0.1");

  r = Fetch("POST /eco HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\ndatos");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "POST|/eco|||datos|127.0.0.1");
  EXPECT_EQ(handler_calls_.load(), 2);
}

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  StartServer();
  Client c(port_);
  ASSERT_TRUE(c.connected());
  RawResponse r;
  c.Send(Get("/rapido"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.body, "rapido");
  c.Send(Get("/eco"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.starts_with("GET|/eco|"));
  EXPECT_FALSE(r.HasHeader("connection"));
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAliveIsAsked) {
  StartServer();
  {
    Client c(port_);
    c.Send("GET /rapido HTTP/1.0\r\n\r\n");
    RawResponse r;
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(r.body, "rapido");
    EXPECT_EQ(r.Header("connection"), "close");
    EXPECT_TRUE(c.WaitClosed());
  }
  Client c(port_);
  RawResponse r;
  c.Send("GET /rapido HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.Header("connection"), "keep-alive");
  c.Send("GET /rapido HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.body, "rapido");
}

TEST_F(HttpServerTest, PipelinedResponsesKeepRequestOrder) {
  StartServer();
  Client c(port_);
  // The first is slow on the worker pool, the second is answered at once by the fast path.
  c.Send(Get("/orden/1") + Get("/orden/2") + Get("/orden/3"));
  for (const char* expected : {"1", "2", "3"}) {
    RawResponse r;
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, expected);
  }
}

TEST_F(HttpServerTest, PipeliningIsCappedPerConnection) {
  options_.max_pipelined = 2;
  StartServer();
  Client c(port_);
  std::string batch;
  for (int i = 0; i < 6; ++i) batch += Get("/cuenta");
  c.Send(batch);
  for (int i = 0; i < 6; ++i) {
    RawResponse r;
    ASSERT_TRUE(c.Read(&r)) << i;
    EXPECT_EQ(r.body, "ok");
  }
  EXPECT_LE(max_concurrent_.load(), 2);
  EXPECT_EQ(handler_calls_.load(), 6);
}

TEST_F(HttpServerTest, LargeBodyAndFollowingResponseArriveWhole) {
  StartServer();
  Client c(port_);
  c.Send(Get("/grande") + Get("/rapido"));
  RawResponse r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.body, std::string(100000, 'x'));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.body, "rapido");
}

TEST_F(HttpServerTest, DeclaredBodyOverTheLimitIsRefusedBeforeReadingIt) {
  options_.max_body_bytes = 1024;
  StartServer();
  Client c(port_);
  c.Send("POST /eco HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\nabc");
  RawResponse r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.Header("connection"), "close");
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_EQ(handler_calls_.load(), 0);
}

TEST_F(HttpServerTest, ChunkedBodyOverTheLimitIs413) {
  options_.max_body_bytes = 1024;
  StartServer();
  Client c(port_);
  std::string chunk(800, 'a');
  c.Send("POST /eco HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n" + chunk +
         "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
  RawResponse r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(handler_calls_.load(), 0);
}

TEST_F(HttpServerTest, HeadersOverTheLimitAre431) {
  options_.max_header_bytes = 1024;
  StartServer();
  RawResponse r = Fetch(Get("/rapido", "X-Grande: " + std::string(4000, 'a') + "\r\n"));
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.Header("connection"), "close");
}

TEST_F(HttpServerTest, MalformedRequestIs400AndCloses) {
  StartServer();
  Client c(port_);
  c.Send("ESTO NO ES HTTP\r\n\r\n");
  RawResponse r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Header("connection"), "close");
  EXPECT_FALSE(r.body.empty());
  EXPECT_TRUE(c.WaitClosed());
}

TEST_F(HttpServerTest, BadPercentEscapeInPathIs400) {
  StartServer();
  EXPECT_EQ(Fetch(Get("/eco/a%zz")).status, 400);
  EXPECT_EQ(Fetch(Get("/eco/a%2")).status, 400);
  EXPECT_EQ(Fetch(Get("/eco/a%00b")).status, 400);
  // A bad escape in the query is the application's business.
  EXPECT_EQ(Fetch(Get("/eco?q=%zz")).status, 200);
  EXPECT_EQ(handler_calls_.load(), 1);
}

TEST_F(HttpServerTest, HeadAnswersLikeGetWithoutBody) {
  StartServer();
  Client c(port_);
  c.Send("HEAD /rapido HTTP/1.1\r\nHost: x\r\n\r\n");
  RawResponse r;
  ASSERT_TRUE(c.Read(&r, /*head=*/true));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-length"), "6");
  // Had the body been sent, this response would start with "rapido".
  c.Send(Get("/eco"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.starts_with("GET|/eco|")) << r.body;
}

TEST_F(HttpServerTest, StreamedBodyGoesOutInChunksAndTheConnectionStaysUsable) {
  StartServer();
  Client c(port_);
  // The second request is pipelined behind the stream and must come after all of it.
  c.Send(Get("/flujo") + Get("/eco"));
  RawResponse r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("transfer-encoding"), "chunked");
  EXPECT_FALSE(r.HasHeader("content-length"));
  EXPECT_EQ(r.body, "0,1," + std::string(100000, 'x') + ",2,");
  EXPECT_EQ(r.chunks, 3);
  ASSERT_TRUE(c.Read(&r));
  EXPECT_TRUE(r.body.starts_with("GET|/eco|")) << r.body;
  EXPECT_EQ(stream_calls_.load(), 3);
}

TEST_F(HttpServerTest, StreamedBodyToHeadIsNotProducedAndHttp10GetsItUnframed) {
  StartServer();
  {
    Client c(port_);
    c.Send("HEAD /flujo HTTP/1.1\r\nHost: x\r\n\r\n");
    RawResponse r;
    ASSERT_TRUE(c.Read(&r, /*head=*/true));
    EXPECT_EQ(r.Header("transfer-encoding"), "chunked");
    c.Send(Get("/eco"));
    ASSERT_TRUE(c.Read(&r));
    EXPECT_TRUE(r.body.starts_with("GET|/eco|")) << r.body;
    EXPECT_EQ(stream_calls_.load(), 0);
  }
  Client c(port_);
  c.Send("GET /flujo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  RawResponse r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_FALSE(r.HasHeader("transfer-encoding"));
  EXPECT_EQ(r.Header("connection"), "close");
  EXPECT_EQ(r.body, "0,1," + std::string(100000, 'x') + ",2,");
}

TEST_F(HttpServerTest, AFailingStreamCutsTheResponseShort) {
  StartServer();
  Client c(port_);
  c.Send(Get("/flujo-falla"));
  RawResponse r;
  // The chunks already sent arrive, the last (empty) chunk never does, the connection closes.
  EXPECT_FALSE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.starts_with("0,1,")) << r.body.substr(0, 20);
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_EQ(Fetch(Get("/eco")).status, 200);
}

TEST_F(HttpServerTest, ThrowingHandlersGive500AndTheServerGoesOn) {
  StartServer();
  Client c(port_);
  RawResponse r;
  c.Send(Get("/falla"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 500);
  EXPECT_FALSE(r.body.empty());
  c.Send(Get("/falla-rapido"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 500);
  c.Send(Get("/rapido"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Fetch(Get("/eco")).status, 200);
}

TEST_F(HttpServerTest, ExpectContinueGetsInterimResponse) {
  StartServer();
  Client c(port_);
  c.Send("POST /eco HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  RawResponse r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 100);
  c.Send("datos");
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "POST|/eco|||datos|127.0.0.1");
}

TEST_F(HttpServerTest, IdleConnectionIsClosedAfterIdleTimeout) {
  options_.idle_timeout = 200ms;
  StartServer();
  Client silent(port_);
  ASSERT_TRUE(silent.connected());
  EXPECT_TRUE(silent.WaitClosed());

  Client used(port_);
  used.Send(Get("/rapido"));
  RawResponse r;
  ASSERT_TRUE(used.Read(&r));
  EXPECT_TRUE(used.WaitClosed());
}

TEST_F(HttpServerTest, SlowHeadersAreCutByReadTimeout) {
  options_.idle_timeout = 60s;  // longer than kWait: only read_timeout can close it
  options_.read_timeout = 300ms;
  StartServer();
  Client c(port_);
  c.Send("GET /rapido HTTP/1.1\r\nHost: x\r\n");
  EXPECT_TRUE(c.WaitClosed());
}

TEST_F(HttpServerTest, StopFinishesInFlightRequestsAndClosesIdleOnes) {
  options_.idle_timeout = 60s;
  StartServer();
  Client idle(port_);
  RawResponse r;
  idle.Send(Get("/rapido"));
  ASSERT_TRUE(idle.Read(&r));

  Client busy(port_);
  busy.Send(Get("/lento"));
  ASSERT_EQ(entered_slow_.get_future().wait_for(kWait), std::future_status::ready);
  server_->Stop();
  ASSERT_TRUE(busy.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "lento");
  EXPECT_EQ(r.Header("connection"), "close");
  EXPECT_TRUE(idle.WaitClosed());
  EXPECT_EQ(run_.wait_for(kWait), std::future_status::ready);
  server_->Stop();  // idempotent
}

TEST_F(HttpServerTest, StopBeforeAnyConnectionReturns) {
  StartServer();
  server_->Stop();
  EXPECT_EQ(run_.wait_for(kWait), std::future_status::ready);
}

TEST_F(HttpServerTest, SigtermStopsRunWhenSignalsAreHandled) {
  server_ = std::make_unique<Server>(
      options_, [](const Request&) -> std::optional<Response> { return Text("si", "/"); }, nullptr);
  std::string error;
  ASSERT_TRUE(server_->Listen(&error)) << error;
  port_ = server_->port();
  run_ = std::async(std::launch::async, [this] { server_->Run(true); });
  // An answer proves the I/O threads run, and Run() installs the handlers before them.
  EXPECT_EQ(Fetch(Get("/")).body, "si");
  std::raise(SIGTERM);
  EXPECT_EQ(run_.wait_for(kWait), std::future_status::ready);
}

TEST_F(HttpServerTest, MetricsCountResponses) {
  StartServer();
  Client c(port_);
  RawResponse r;
  for (int i = 0; i < 2; ++i) {
    c.Send(Get("/rapido"));
    ASSERT_TRUE(c.Read(&r));
  }
  c.Send(Get("/eco"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(Fetch(Get("/eco/%zz")).status, 400);
  EXPECT_EQ(Fetch(Get("/nada")).status, 404);

  std::string text = server_->metrics().Render();
  EXPECT_NE(text.find("# TYPE abierto_http_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("abierto_http_requests_total{method=\"GET\",route=\"/rapido\","
                      "status=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("abierto_http_requests_total{method=\"GET\",route=\"/eco\",status=\"200\"} 1"),
      std::string::npos);
  EXPECT_NE(text.find("abierto_http_requests_total{method=\"GET\",route=\"-\",status=\"400\"} 1"),
            std::string::npos);
  EXPECT_NE(
      text.find("abierto_http_requests_total{method=\"GET\",route=\"other\",status=\"404\"} 1"),
      std::string::npos);
  EXPECT_NE(text.find("# TYPE abierto_http_request_duration_seconds histogram\n"),
            std::string::npos);
  EXPECT_NE(
      text.find("abierto_http_request_duration_seconds_bucket{route=\"/rapido\",le=\"+Inf\"} 2"),
      std::string::npos);
  EXPECT_NE(text.find("abierto_http_request_duration_seconds_count{route=\"/rapido\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("abierto_http_request_duration_seconds_sum{route=\"/rapido\"} "),
            std::string::npos);
  // The connection `c` is still open.
  EXPECT_NE(text.find("# TYPE abierto_http_connections_active gauge\n"), std::string::npos);
  EXPECT_EQ(text.find("abierto_http_connections_active 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("abierto_process_resident_memory_bytes "), std::string::npos);
  EXPECT_EQ(text.find("abierto_process_resident_memory_bytes 0\n"), std::string::npos);
}

TEST_F(HttpServerTest, AccessLogWritesOneJsonLinePerRequest) {
  options_.access_log = true;
  testing::internal::CaptureStderr();
  StartServer();
  RawResponse r = Fetch(Get("/rapido?secreto=1", "User-Agent: prueba \"comillas\"\\\r\n"));
  EXPECT_EQ(r.status, 200);
  StopServer();
  std::string captured = testing::internal::GetCapturedStderr();

  std::istringstream lines(captured);
  std::string line;
  int found = 0;
  while (std::getline(lines, line)) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << line;
    const auto& o = v.as_object();
    if (!o.contains("path") || o.at("path").as_string() != "/rapido") continue;
    ++found;
    EXPECT_EQ(o.at("method").as_string(), "GET");
    EXPECT_EQ(o.at("status").as_int64(), 200);
    EXPECT_EQ(o.at("bytes").as_int64(), 6);
    EXPECT_EQ(o.at("route").as_string(), "/rapido");
    EXPECT_EQ(o.at("ip").as_string(), "127.0.0.1");
    EXPECT_EQ(o.at("ua").as_string(), "prueba \"comillas\"\\");
    EXPECT_TRUE(o.at("ms").is_double() || o.at("ms").is_int64());
    std::string ts(o.at("ts").as_string());
    EXPECT_EQ(ts.size(), 24u) << ts;
    EXPECT_EQ(ts.back(), 'Z');
  }
  EXPECT_EQ(found, 1) << captured;
}

TEST(HttpMetricsTest, RendersCountersHistogramAndEscapes) {
  Metrics m;
  m.Record("GET", "/x", 200, 0.0001);
  m.Record("GET", "/x", 200, 0.002);
  m.Record("POST", "/x", 303, 20.0);
  m.Record("GET", "/a\"b\\c\nd", 404, 0.0);
  std::string t = m.Render();
  EXPECT_NE(t.find("# HELP abierto_http_requests_total "), std::string::npos);
  EXPECT_NE(t.find("abierto_http_requests_total{method=\"GET\",route=\"/x\",status=\"200\"} 2\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("abierto_http_requests_total{method=\"POST\",route=\"/x\",status=\"303\"} 1\n"),
            std::string::npos);
  EXPECT_NE(t.find("route=\"/a\\\"b\\\\c\\nd\""), std::string::npos) << t;
  EXPECT_NE(t.find("_bucket{route=\"/x\",le=\"0.0005\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("_bucket{route=\"/x\",le=\"0.001\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("_bucket{route=\"/x\",le=\"0.0025\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("_bucket{route=\"/x\",le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("_bucket{route=\"/x\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("abierto_http_request_duration_seconds_count{route=\"/x\"} 3\n"),
            std::string::npos);
  EXPECT_NE(t.find("abierto_http_connections_active 0\n"), std::string::npos);
}

TEST(HttpMetricsTest, RecordIsThreadSafe) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&m] {
      for (int j = 0; j < 20000; ++j) m.Record("GET", j % 2 ? "/a" : "/b", 200, 0.001);
    });
  }
  for (auto& t : threads) t.join();
  std::string t = m.Render();
  EXPECT_NE(t.find("abierto_http_request_duration_seconds_count{route=\"/a\"} 40000\n"),
            std::string::npos);
  EXPECT_NE(
      t.find("abierto_http_requests_total{method=\"GET\",route=\"/b\",status=\"200\"} 40000\n"),
      std::string::npos);
}

TEST(HttpUtilTest, PercentDecode) {
  std::string out;
  EXPECT_TRUE(PercentDecode("/a%20b%2fC", &out, false));
  EXPECT_EQ(out, "/a b/C");
  EXPECT_TRUE(PercentDecode("a+b", &out, false));
  EXPECT_EQ(out, "a+b");
  EXPECT_TRUE(PercentDecode("a+b", &out, true));
  EXPECT_EQ(out, "a b");
  EXPECT_TRUE(PercentDecode("%C3%B1and%c3%BA", &out, true));
  EXPECT_EQ(out,
            "\xC3\xB1"
            "and\xC3\xBA");
  EXPECT_TRUE(PercentDecode("", &out, false));
  EXPECT_EQ(out, "");
  EXPECT_FALSE(PercentDecode("%", &out, false));
  EXPECT_FALSE(PercentDecode("a%2", &out, false));
  EXPECT_FALSE(PercentDecode("a%g0", &out, false));
  EXPECT_FALSE(PercentDecode("%0z", &out, false));
}

TEST(HttpUtilTest, ParseQuery) {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(ParseQuery("a=1&b=x%20y"), (Pairs{{"a", "1"}, {"b", "x y"}}));
  EXPECT_EQ(ParseQuery(""), Pairs{});
  EXPECT_EQ(ParseQuery("&&a&b=&=c"), (Pairs{{"a", ""}, {"b", ""}, {"", "c"}}));
  EXPECT_EQ(ParseQuery("q=le%C3%B3n+centro&q=2"), (Pairs{{"q", "le\xC3\xB3n centro"}, {"q", "2"}}));
  EXPECT_EQ(ParseQuery("x=%zz&y=a=b"), (Pairs{{"x", "%zz"}, {"y", "a=b"}}));
}

TEST(HttpUtilTest, HeadersAndCookies) {
  Request req;
  req.headers = {{"host", "ejemplo"},
                 {"cookie", "a=1; sesion=abc=def;  b = \"dos\" ;vacia="},
                 {"cookie", "c=3"},
                 {"x-rep", "uno"},
                 {"x-rep", "dos"}};
  EXPECT_EQ(req.Header("host"), "ejemplo");
  EXPECT_EQ(req.Header("Host"), "ejemplo");
  EXPECT_EQ(req.Header("x-rep"), "uno");
  EXPECT_EQ(req.Header("falta"), "");
  EXPECT_EQ(req.Cookie("a"), "1");
  EXPECT_EQ(req.Cookie("sesion"), "abc=def");
  EXPECT_EQ(req.Cookie("b"), "dos");
  EXPECT_EQ(req.Cookie("c"), "3");
  EXPECT_EQ(req.Cookie("vacia"), "");
  EXPECT_EQ(req.Cookie("falta"), "");
  EXPECT_EQ(req.Cookie("sesio"), "");
}

TEST(HttpUtilTest, SetHeaderReplacesCaseInsensitively) {
  Response r;
  r.headers = {{"Cache-Control", "no-store"}, {"X-A", "1"}, {"cache-control", "x"}};
  r.SetHeader("cache-control", "public");
  r.SetHeader("X-B", "2");
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(r.headers, (Pairs{{"cache-control", "public"}, {"X-A", "1"}, {"X-B", "2"}}));
}

}  // namespace
}  // namespace abierto::http
