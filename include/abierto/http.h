// The HTTP core: plain request/response values and an asynchronous server.
//
// Request and Response are Abierto's own value types so that modules and tests never see
// Boost.Beast. The Server (Boost.Beast/Asio) runs one io_context per I/O thread; each
// connection has a session with a read timeout, an idle (keep-alive) timeout, header and body
// size limits and a cap on pipelined requests. Requests are answered in two stages:
//   1. `fast` runs on the I/O thread and must not block (it serves cached pages and static
//      files); if it returns a response, that is sent.
//   2. otherwise `handler` runs on the worker pool (it may block on the database), and its
//      response is written back on the connection's I/O thread.
// On Stop() (or SIGTERM/SIGINT when Run() installed the handlers) the listener closes, requests
// already read finish and are written whole with "Connection: close", then Run() returns.
//
// The server records metrics (requests by route and status, a latency histogram) and writes a
// structured access log line (JSON) per request. Security headers are added by the
// application, not here, so that the server stays generic.
//
// Thread-safety: Server is created and Run() from one thread; Stop() may be called from any
// thread. Handlers are called concurrently from several threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace abierto::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw target, "/planes/pamga?eje=2"
  std::string path;    // decoded path without query, "/planes/pamga"
  std::string query;   // raw query string without '?'
  // Header names are lower case. Repeated headers appear repeatedly.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;

  // The first header with this (lower-case) name, or empty.
  std::string_view Header(std::string_view name) const;
  // A cookie's value, or empty.
  std::string Cookie(std::string_view name) const;
};

// What a streamed body's producer reports after each call (see Response::stream).
enum class StreamStep {
  kMore,    // more follows: call again once this piece is written
  kDone,    // this piece was the last
  kFailed,  // give up: the response is cut short and the connection closed
};

struct Response {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type/Length
  std::string body;
  // When set, the body is this shared, immutable string instead of `body`: cached pages are
  // sent to many clients without being copied for each.
  std::shared_ptr<const std::string> shared_body;
  // The route pattern that answered ("/planes/{slug}"), the label in metrics. Empty: "other".
  std::string route;
  // When set, the body is produced piece by piece instead of `body` (a large export), so that
  // it never has to be held whole in memory. The server calls it on the worker pool; each call
  // appends the next piece to *out, and the next call comes only after that piece is written to
  // the client, so a slow reader holds back the producer instead of filling memory. It is not
  // called for HEAD or for a status without a body. The body goes out with chunked transfer
  // encoding (to an HTTP/1.0 client: unframed, and the connection is closed at its end). The
  // status and headers are already sent when it runs, so a failure cannot become an error page:
  // kFailed closes the connection without the final chunk, and the client sees an incomplete
  // transfer rather than a file that looks complete. The function owns what it reads from and
  // must not use the database connection of the request that built it (it may run on another
  // worker thread). Responses with a stream are never cached.
  std::function<StreamStep(std::string* out)> stream;

  void SetHeader(std::string name, std::string value);
  size_t BodySize() const { return shared_body ? shared_body->size() : body.size(); }
  std::string_view BodyView() const { return shared_body ? *shared_body : body; }
};

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;    // 0: pick a free port (see Server::port())
  int io_threads = 0;      // 0: one per core
  int worker_threads = 0;  // 0: 2 per core, at least 4
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 16 * 1024 * 1024;
  std::chrono::milliseconds read_timeout{15000};    // to read one whole request once started
  std::chrono::milliseconds idle_timeout{30000};    // between keep-alive requests
  std::chrono::milliseconds shutdown_grace{10000};  // for in-flight requests on Stop()
  int max_pipelined = 16;  // requests read ahead of their responses on one connection
  bool access_log = true;  // JSON lines on stderr
  // Headers added to every response that does not set them itself, including the error
  // responses the server makes on its own (security headers, for instance).
  std::vector<std::pair<std::string, std::string>> default_headers;
};

using FastHandler = std::function<std::optional<Response>(const Request&)>;
using Handler = std::function<Response(const Request&)>;

class Server;

// Counters and histogram for /metrics; thread-safe.
class Metrics {
 public:
  void Record(std::string_view method, std::string_view route, int status, double seconds);
  // Prometheus text exposition format, version 0.0.4.
  std::string Render() const;

 private:
  friend class Server;  // feeds the active-connections gauge
  struct Impl;
  std::shared_ptr<Impl> impl_ = MakeImpl();
  static std::shared_ptr<Impl> MakeImpl();
  // The open-connections gauge the server keeps up to date; lives as long as *this.
  std::atomic<int64_t>* connections_gauge();
};

class Server {
 public:
  Server(Options options, FastHandler fast, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket. Returns false and fills *error on failure.
  bool Listen(std::string* error);
  // The bound port (useful with port 0). Valid after Listen().
  uint16_t port() const;
  // Serves until Stop() or, if handle_signals, SIGINT/SIGTERM. Blocks; after a stop it waits
  // for open connections up to Options::shutdown_grace. Listens first if Listen() was not
  // called. Serves once: a second call returns at once.
  void Run(bool handle_signals = true);
  // Begins a graceful stop; thread-safe, idempotent.
  void Stop();

  Metrics& metrics();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-decodes a URL component ("+" is a space when form is true). Returns false on a
// malformed escape.
bool PercentDecode(std::string_view in, std::string* out, bool form);

// Parses "a=1&b=x%20y" into ordered pairs (form decoding). Malformed escapes are kept as is.
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query);

}  // namespace abierto::http
