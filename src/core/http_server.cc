// The HTTP server: a listener, one session per connection, a worker pool for handlers.
//
// Connections are accepted on the first io_context and handed round-robin to the io_contexts
// (one per I/O thread). Round-robin rather than one SO_REUSEPORT acceptor per context because
// the kernel spreads reuseport connections by a hash of the 4-tuple, which leaves threads idle
// when a benchmark or a load balancer opens only a few long keep-alive connections; accepting is
// rare compared to requests, so a single acceptor costs nothing measurable, and Stop() has one
// socket to close.
//
// A session reads into a flat buffer and feeds a fresh beast request_parser per request, so that
// requests pipelined in one segment are parsed without another read and the session knows when
// the first byte of a request arrived (read_timeout) versus when it is idle (idle_timeout).
// Responses wait in a queue of slots, one per request, and are written in request order; all
// ready slots at the head go out in one gather write. A single timer per session checks the
// deadline that applies to its state; it never moves earlier than the timer's expiry (each
// deadline is "event + timeout" and the timer steps by the shortest timeout), so state changes
// on the hot path only store a time point.
//
// A streamed response (Response::stream) is written in turns: its headers go out with the
// batch, then the session alternates between asking the producer for a piece on the worker pool
// and writing that piece as one chunk, so at most one piece per connection is in memory and a
// slow client slows the producer down. Responses pipelined behind it wait until it ends.

#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "abierto/http.h"

namespace abierto::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Request / Response helpers and URL decoding.

std::string_view Request::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (IEquals(n, name)) return v;
  }
  return {};
}

std::string Request::Cookie(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n != "cookie") continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view pair = Trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      size_t eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      if (Trim(pair.substr(0, eq)) != name) continue;
      std::string_view value = Trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return std::string(value);
    }
  }
  return {};
}

void Response::SetHeader(std::string name, std::string value) {
  auto it = std::find_if(headers.begin(), headers.end(),
                         [&](const auto& h) { return IEquals(h.first, name); });
  if (it == headers.end()) {
    headers.emplace_back(std::move(name), std::move(value));
    return;
  }
  it->first = std::move(name);
  it->second = std::move(value);
  // Later duplicates would contradict the replacement.
  const std::string& kept = it->first;
  headers.erase(
      std::remove_if(it + 1, headers.end(), [&](const auto& h) { return IEquals(h.first, kept); }),
      headers.end());
}

bool PercentDecode(std::string_view in, std::string* out, bool form) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && form) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> result;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string_view key = part.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    auto& [k, v] = result.emplace_back();
    if (!PercentDecode(key, &k, true)) k.assign(key);
    if (!PercentDecode(value, &v, true)) v.assign(value);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Server internals.

namespace {

constexpr size_t kReadChunk = 16 * 1024;
// Bodies up to this size are copied next to their headers, so that a batch is one buffer.
constexpr size_t kInlineBody = 32 * 1024;
// How long a closing connection keeps draining what the client still sends, so that the
// kernel does not answer unread data with a reset that destroys our last response.
constexpr std::chrono::milliseconds kMaxLinger{2000};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

void WriteStderr(std::string_view line) {
  // One write(2) per line keeps lines from several threads whole; the loop only matters if a
  // pipe is full enough to take part of it.
  while (!line.empty()) {
    ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    line.remove_prefix(static_cast<size_t>(n));
  }
}

void AppendTimestamp(std::string* out) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  char buf[40];
  int len =
      std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", t.tm_year + 1900,
                    t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000);
  out->append(buf, static_cast<size_t>(len));
}

void LogError(std::string_view message, std::string_view detail) {
  std::string line = "{\"ts\":\"";
  AppendTimestamp(&line);
  line += "\",\"level\":\"error\",\"msg\":";
  line += boost::json::serialize(boost::json::string_view(message.data(), message.size()));
  line += ",\"error\":";
  line += boost::json::serialize(boost::json::string_view(detail.data(), detail.size()));
  line += "}\n";
  WriteStderr(line);
}

// IMF-fixdate, recomputed once a second per thread.
std::string_view HttpDate() {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local time_t cached = -1;
  thread_local char buf[40];
  thread_local size_t len = 0;
  time_t now = ::time(nullptr);
  if (now != cached) {
    tm t;
    gmtime_r(&now, &t);
    len = static_cast<size_t>(std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                                            kDays[t.tm_wday], t.tm_mday, kMonths[t.tm_mon],
                                            t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec));
    cached = now;
  }
  return {buf, len};
}

void AppendUint(std::string* out, uint64_t v) {
  char buf[24];
  char* end = buf + sizeof(buf);
  char* p = end;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out->append(p, static_cast<size_t>(end - p));
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A header the application set is written only if it cannot split the response.
bool SafeHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsTokenChar(c)) return false;
  }
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

Response ServerError(int status) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  switch (status) {
    case 400:
      r.body = "Solicitud mal formada.\n";
      break;
    case 413:
      r.body = "El cuerpo de la solicitud es demasiado grande.\n";
      break;
    case 431:
      r.body = "Los encabezados de la solicitud son demasiado grandes.\n";
      break;
    default:
      r.body = "Error interno del servidor.\n";
      break;
  }
  return r;
}

int StatusForParseError(const error_code& ec) {
  if (ec == bhttp::error::header_limit) return 431;
  if (ec == bhttp::error::body_limit) return 413;
  return 400;
}

class Session;

// Everything the sessions share. Member order matters: sessions still queued in the pool or
// in an io_context are destroyed with them and unregister themselves here, so the pool goes
// first, then the I/O objects, then the io_contexts, and the registry last.
struct Core {
  Options opt;
  FastHandler fast;
  Handler handler;
  Metrics metrics;
  std::atomic<int64_t>* connections_gauge = nullptr;
  Clock::duration timer_step{};

  std::mutex mu;  // guards the fields below
  std::condition_variable cv;
  bool stop_requested = false;
  bool stopping = false;
  bool ran = false;
  int64_t session_count = 0;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

  std::vector<std::unique_ptr<asio::io_context>> iocs;
  size_t next_ioc = 0;
  uint16_t port = 0;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> accept_retry;
  std::optional<asio::signal_set> signals;
  std::unique_ptr<asio::thread_pool> pool;

  ~Core() {
    // Requests still queued are for clients that are gone or past the grace period.
    if (pool) {
      pool->stop();
      pool->join();
    }
    pool.reset();
    signals.reset();
    accept_retry.reset();
    acceptor.reset();
  }

  void Accept();
};

Response RunHandler(Core* core, const Request& req) {
  try {
    if (core->handler) return core->handler(req);
    Response r;
    r.status = 404;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "No encontrado.\n";
    return r;
  } catch (const std::exception& e) {
    LogError("handler threw", e.what());
  } catch (...) {
    LogError("handler threw", "unknown exception");
  }
  return ServerError(500);
}

// One per request read, in request order; a response waits here until the ones before it
// are written.
struct Slot {
  std::optional<Response> resp;
  Clock::time_point start;
  std::string_view method = "OTHER";  // static storage: a known verb or "OTHER"
  std::string log_path;               // raw path, only with the access log
  std::string log_ua;
  unsigned version = 11;
  bool ready = false;
  bool head = false;
  bool keep_alive = true;
  bool interim = false;       // a "100 Continue", not a response
  bool server_error = false;  // the server refused the request itself (route "-")
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Core* core, tcp::socket socket)
      : core_(core),
        executor_(socket.get_executor()),
        socket_(std::move(socket)),
        timer_(executor_),
        max_inflight_(static_cast<size_t>(std::max(1, core->opt.max_pipelined))) {
    core_->connections_gauge->fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(core_->mu);
      ++core_->session_count;
    }
    error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
  }

  ~Session() {
    core_->connections_gauge->fetch_sub(1, std::memory_order_relaxed);
    std::lock_guard lock(core_->mu);
    core_->sessions.erase(this);
    if (--core_->session_count == 0) core_->cv.notify_all();
  }

  const asio::any_io_executor& executor() const { return executor_; }

  void Start() {
    bool refuse;
    {
      std::lock_guard lock(core_->mu);
      refuse = core_->stopping;
      if (!refuse) core_->sessions.emplace(this, weak_from_this());
    }
    if (refuse) {
      Close();
      return;
    }
    idle_start_ = Clock::now();
    ArmTimer(idle_start_ + core_->timer_step);
    Pump();
  }

  // Graceful stop: nothing more is read; what was read is answered, the last answer with
  // "Connection: close", then the connection closes.
  void Shutdown() {
    if (closed_) return;
    stopping_ = true;
    read_closed_ = true;
    parser_.reset();
    // A 100 Continue for a request we will not read any further is pointless.
    while (!slots_.empty() && slots_.back().interim && slots_.back().ready) slots_.pop_back();
    if (!writing_ && !streaming_ && slots_.empty()) {
      Close();
      return;
    }
    MaybeWrite();
  }

  void OnHandlerDone(uint64_t seq, Response response) {
    if (closed_ || seq < first_seq_ || seq - first_seq_ >= slots_.size()) return;
    Slot& slot = slots_[seq - first_seq_];
    slot.resp = std::move(response);
    slot.ready = true;
    Pump();
  }

 private:
  size_t InFlight() const { return slots_.size() + batch_count_; }

  void ArmTimer(Clock::time_point at) {
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this()](error_code ec) { self->OnTimer(ec); });
  }

  Clock::time_point Deadline() const {
    if (lingering_) return linger_deadline_;
    Clock::time_point d = Clock::time_point::max();
    if (writing_) d = std::min(d, write_start_ + core_->opt.read_timeout);
    if (parser_) d = std::min(d, request_start_ + core_->opt.read_timeout);
    // While a streamed body's next piece is being produced nothing is due from the client.
    if (!writing_ && !parser_ && slots_.empty() && !streaming_) {
      d = std::min(d, idle_start_ + core_->opt.idle_timeout);
    }
    return d;
  }

  void OnTimer(error_code ec) {
    if (ec == asio::error::operation_aborted || closed_) return;
    Clock::time_point now = Clock::now();
    Clock::time_point d = Deadline();
    if (now >= d) {
      // Idle, slow (slowloris) or stuck client: there is nobody to answer.
      Close();
      return;
    }
    ArmTimer(std::min(d, now + core_->timer_step));
  }

  // Parses what is buffered, writes what is ready, reads more if allowed.
  void Pump() {
    while (!read_closed_ && !closed_ && buffer_.size() > 0 && InFlight() < max_inflight_) {
      if (!parser_) StartParser();
      error_code ec;
      size_t n = parser_->put(buffer_.data(), ec);
      buffer_.consume(n);
      if (ec == bhttp::error::need_more) ec = {};
      if (ec) {
        FailRequest(StatusForParseError(ec));
        break;
      }
      if (parser_->is_done()) {
        OnRequest();
        continue;
      }
      MaybeContinue();
      if (n == 0) break;
    }
    MaybeWrite();
    DoRead();
    if (read_closed_ && !writing_ && !streaming_ && slots_.empty() && !closed_) FinishConnection();
  }

  void StartParser() {
    parser_.emplace();
    parser_->header_limit(
        static_cast<std::uint32_t>(std::min<size_t>(core_->opt.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(core_->opt.max_body_bytes);
    parser_->eager(true);
    request_start_ = Clock::now();
    continue_checked_ = false;
  }

  void DoRead() {
    if (reading_ || read_closed_ || closed_ || InFlight() >= max_inflight_) return;
    reading_ = true;
    socket_.async_read_some(
        buffer_.prepare(kReadChunk),
        [self = shared_from_this()](error_code ec, size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(error_code ec, size_t n) {
    reading_ = false;
    if (closed_) return;
    if (lingering_) {
      if (ec) {
        Close();
      } else {
        LingerRead();
      }
      return;
    }
    if (ec) {
      if (ec != asio::error::eof) {
        Close();
        return;
      }
      // The client will send nothing more but may still wait for answers to what it sent.
      eof_seen_ = true;
      read_closed_ = true;
      parser_.reset();
      Pump();
      return;
    }
    if (read_closed_) return;  // stopping: what arrives now is not served
    buffer_.commit(n);
    Pump();
  }

  void MaybeContinue() {
    if (continue_checked_ || !parser_->is_header_done() || parser_->is_done()) return;
    continue_checked_ = true;
    const auto& msg = parser_->get();
    if (msg.version() < 11) return;
    auto it = msg.find(bhttp::field::expect);
    if (it == msg.end() || !IEquals(it->value(), "100-continue")) return;
    Slot& slot = slots_.emplace_back();
    slot.interim = true;
    slot.ready = true;
  }

  void FailRequest(int status) {
    Slot& slot = slots_.emplace_back();
    slot.start = Clock::now();
    slot.ready = true;
    slot.keep_alive = false;
    slot.server_error = true;
    slot.resp = ServerError(status);
    if (parser_->is_header_done()) {
      const auto& msg = parser_->get();
      slot.version = msg.version() == 10 ? 10 : 11;
      if (msg.method() != bhttp::verb::unknown) slot.method = bhttp::to_string(msg.method());
      if (core_->opt.access_log) {
        std::string_view target = msg.target();
        slot.log_path.assign(target.substr(0, target.find('?')));
      }
    }
    read_closed_ = true;
    parser_.reset();
  }

  void OnRequest() {
    auto& msg = parser_->get();
    Slot& slot = slots_.emplace_back();
    uint64_t seq = first_seq_ + slots_.size() - 1;
    slot.start = Clock::now();
    slot.version = msg.version() == 10 ? 10 : 11;
    slot.keep_alive = msg.keep_alive() && !stopping_;
    slot.head = msg.method() == bhttp::verb::head;
    if (msg.method() != bhttp::verb::unknown) slot.method = bhttp::to_string(msg.method());
    if (!slot.keep_alive) read_closed_ = true;

    std::string_view target = msg.target();
    size_t qmark = target.find('?');
    std::string_view raw_path = target.substr(0, qmark);
    if (core_->opt.access_log) {
      slot.log_path.assign(raw_path);
      slot.log_ua.assign(msg[bhttp::field::user_agent]);
    }
    if (raw_path.starts_with("http://") || raw_path.starts_with("https://")) {
      // absolute-form (RFC 9112 3.2.2): the path starts after the authority.
      size_t slash = raw_path.find('/', raw_path.find("//") + 2);
      raw_path = slash == std::string_view::npos ? std::string_view("/") : raw_path.substr(slash);
    }
    Request& req = req_;
    bool bad = raw_path.empty() || (raw_path[0] != '/' && raw_path != "*") ||
               !PercentDecode(raw_path, &req.path, false) ||
               req.path.find('\0') != std::string::npos;
    if (bad) {
      slot.ready = true;
      slot.keep_alive = false;
      slot.server_error = true;
      slot.resp = ServerError(400);
      read_closed_ = true;
      parser_.reset();
      return;
    }
    req.method.assign(msg.method_string());
    req.target.assign(target);
    if (qmark == std::string_view::npos) {
      req.query.clear();
    } else {
      req.query.assign(target.substr(qmark + 1));
    }
    req.headers.clear();
    for (const auto& field : msg) {
      auto& [name, value] = req.headers.emplace_back();
      std::string_view n = field.name_string();
      name.resize(n.size());
      std::transform(n.begin(), n.end(), name.begin(), AsciiLower);
      value.assign(field.value());
    }
    req.body = std::move(msg.body());
    req.remote_address = remote_;
    parser_.reset();

    std::optional<Response> fast;
    if (core_->fast) {
      try {
        fast = core_->fast(req);
      } catch (const std::exception& e) {
        LogError("fast handler threw", e.what());
        fast = ServerError(500);
      } catch (...) {
        LogError("fast handler threw", "unknown exception");
        fast = ServerError(500);
      }
    }
    if (fast) {
      slot.resp = std::move(fast);
      slot.ready = true;
      return;
    }
    asio::post(*core_->pool, [self = shared_from_this(), seq, req = std::move(req_)]() mutable {
      Response response = RunHandler(self->core_, req);
      const asio::any_io_executor& ex = self->executor();
      asio::post(ex, [self = std::move(self), seq, response = std::move(response)]() mutable {
        self->OnHandlerDone(seq, std::move(response));
      });
    });
  }

  void MaybeWrite() {
    if (writing_ || closed_ || streaming_) return;
    size_t count = 0;
    bool close = false;
    pieces_.clear();
    size_t out_mark = 0;
    while (!slots_.empty() && slots_.front().ready) {
      Slot& slot = slots_.front();
      if (slot.interim) {
        out_.append(kContinue);
      } else {
        bool last = read_closed_ && slots_.size() == 1;
        bool streamed = Streamed(slot);
        // An HTTP/1.0 client learns where an unframed body ends when the connection closes.
        bool close_this = !slot.keep_alive || last || (streamed && slot.version == 10);
        size_t body_bytes = Serialize(slot, close_this, &out_mark);
        if (streamed) {
          // Its body follows the headers piece by piece; see OnWrite.
          streaming_ = true;
          stream_done_ = false;
          stream_chunked_ = slot.version != 10;
          stream_bytes_ = 0;
          stream_ = std::make_shared<std::function<StreamStep(std::string*)>>(
              std::move(slot.resp->stream));
          stream_slot_ = std::move(slot);
        } else {
          Record(slot, body_bytes);
        }
        if (close_this) close = true;
      }
      slots_.pop_front();
      ++first_seq_;
      ++count;
      if (close || streaming_) break;
    }
    if (count == 0) return;
    if (out_mark < out_.size()) pieces_.push_back({-1, out_mark, out_.size()});
    buffers_.clear();
    for (const Piece& p : pieces_) {
      if (p.body < 0) {
        buffers_.emplace_back(out_.data() + p.begin, p.end - p.begin);
      } else {
        const std::string& b = *bodies_[static_cast<size_t>(p.body)];
        buffers_.emplace_back(b.data(), b.size());
      }
    }
    writing_ = true;
    batch_count_ = count;
    close_after_write_ = close;
    write_start_ = Clock::now();
    asio::async_write(socket_, buffers_,
                      [self = shared_from_this()](error_code ec, size_t) { self->OnWrite(ec); });
  }

  static bool Bodiless(int status) { return status < 200 || status == 204 || status == 304; }

  // True when the slot's body is produced by Response::stream rather than held whole.
  static bool Streamed(const Slot& slot) {
    return slot.resp && slot.resp->stream && !slot.head && !Bodiless(slot.resp->status);
  }

  // Appends the response to out_ (or, for a large body, records it as its own buffer) and
  // returns the body bytes sent. A streamed body is not written here, only its headers.
  size_t Serialize(Slot& slot, bool close, size_t* out_mark) {
    Response& r = *slot.resp;
    int status = (r.status >= 100 && r.status <= 999) ? r.status : 500;
    out_.append(slot.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    AppendUint(&out_, static_cast<uint64_t>(status));
    out_.push_back(' ');
    std::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
    if (reason.starts_with("<")) reason = "Unknown";
    out_.append(reason);
    out_.append("\r\nServer: abierto\r\nDate: ");
    out_.append(HttpDate());
    out_.append("\r\n");
    if (!r.content_type.empty() && SafeHeader("Content-Type", r.content_type)) {
      out_.append("Content-Type: ");
      out_.append(r.content_type);
      out_.append("\r\n");
    }
    bool bodiless = Bodiless(status);
    bool streamed = r.stream && !bodiless;
    if (streamed) {
      // HEAD gets the headers a GET would; HTTP/1.0 has no chunked coding.
      if (slot.version != 10) out_.append("Transfer-Encoding: chunked\r\n");
    } else if (!bodiless) {
      out_.append("Content-Length: ");
      AppendUint(&out_, r.BodySize());
      out_.append("\r\n");
    }
    for (const auto& [name, value] : r.headers) {
      if (IEquals(name, "content-length") || IEquals(name, "transfer-encoding") ||
          IEquals(name, "connection") || IEquals(name, "content-type")) {
        continue;
      }
      if (!SafeHeader(name, value)) {
        LogError("unsafe response header dropped", name);
        continue;
      }
      out_.append(name);
      out_.append(": ");
      out_.append(value);
      out_.append("\r\n");
    }
    // Defaults cover responses the application never saw (400, 413, 431, a handler that threw).
    for (const auto& [name, value] : core_->opt.default_headers) {
      bool set = false;
      for (const auto& h : r.headers) set = set || IEquals(h.first, name);
      if (set) continue;
      out_.append(name);
      out_.append(": ");
      out_.append(value);
      out_.append("\r\n");
    }
    if (close) {
      out_.append("Connection: close\r\n");
    } else if (slot.version == 10) {
      out_.append("Connection: keep-alive\r\n");
    }
    out_.append("\r\n");
    if (slot.head || bodiless || streamed) return 0;
    size_t size = r.BodySize();
    if (r.shared_body) {
      // A shared body (a cached page) goes out as its own buffer: no copy per request.
      pieces_.push_back({-1, *out_mark, out_.size()});
      *out_mark = out_.size();
      bodies_.push_back(r.shared_body);
      pieces_.push_back({static_cast<int>(bodies_.size() - 1), 0, 0});
    } else if (size <= kInlineBody) {
      out_.append(r.body);
    } else {
      pieces_.push_back({-1, *out_mark, out_.size()});
      *out_mark = out_.size();
      bodies_.push_back(std::make_shared<const std::string>(std::move(r.body)));
      pieces_.push_back({static_cast<int>(bodies_.size() - 1), 0, 0});
    }
    return size;
  }

  void Record(const Slot& slot, size_t body_bytes) {
    double seconds = std::chrono::duration<double>(Clock::now() - slot.start).count();
    const Response& r = *slot.resp;
    std::string_view route = r.route;
    if (slot.server_error) {
      route = "-";
    } else if (route.empty()) {
      route = "other";
    }
    core_->metrics.Record(slot.method, route, r.status, seconds);
    if (core_->opt.access_log) AccessLog(slot, route, r.status, body_bytes, seconds);
  }

  void AccessLog(const Slot& slot, std::string_view route, int status, size_t bytes,
                 double seconds) {
    namespace json = boost::json;
    auto quoted = [](std::string_view s) {
      return json::serialize(json::string_view(s.data(), s.size()));
    };
    // User agents are ASCII by the grammar; anything else is replaced so that the line stays
    // valid UTF-8 for log collectors.
    std::string ua = slot.log_ua;
    for (char& c : ua) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
    thread_local std::string line;
    line.clear();
    line.append("{\"ts\":\"");
    AppendTimestamp(&line);
    line.append("\",\"method\":");
    line.append(quoted(slot.method));
    line.append(",\"path\":");
    line.append(quoted(slot.log_path));
    line.append(",\"status\":");
    AppendUint(&line, static_cast<uint64_t>(std::max(status, 0)));
    line.append(",\"bytes\":");
    AppendUint(&line, bytes);
    char ms[32];
    int len = std::snprintf(ms, sizeof(ms), ",\"ms\":%.3f", seconds * 1000.0);
    line.append(ms, static_cast<size_t>(len));
    line.append(",\"route\":");
    line.append(quoted(route));
    line.append(",\"ip\":");
    line.append(quoted(remote_));
    line.append(",\"ua\":");
    line.append(quoted(ua));
    line.append("}\n");
    WriteStderr(line);
  }

  void OnWrite(error_code ec) {
    writing_ = false;
    batch_count_ = 0;
    bodies_.clear();
    // Keep the buffer for the next batch unless one large response inflated it.
    if (out_.capacity() > 1024 * 1024) {
      std::string().swap(out_);
    } else {
      out_.clear();
    }
    stream_piece_.clear();
    if (closed_) return;
    if (ec) {
      Close();
      return;
    }
    if (streaming_) {
      if (!stream_done_) {
        Produce();
        return;
      }
      EndStream();
    }
    if (close_after_write_) {
      FinishConnection();
      return;
    }
    if (slots_.empty()) idle_start_ = Clock::now();
    Pump();
  }

  // Asks the producer of the streamed body for its next piece, on the worker pool.
  void Produce() {
    producing_ = true;
    asio::post(*core_->pool, [self = shared_from_this(), producer = stream_]() mutable {
      std::string piece;
      StreamStep step = StreamStep::kFailed;
      try {
        step = (*producer)(&piece);
      } catch (const std::exception& e) {
        LogError("stream producer threw", e.what());
      } catch (...) {
        LogError("stream producer threw", "unknown exception");
      }
      const asio::any_io_executor& ex = self->executor();
      asio::post(ex, [self = std::move(self), step, piece = std::move(piece)]() mutable {
        self->OnProduced(step, std::move(piece));
      });
    });
  }

  void OnProduced(StreamStep step, std::string piece) {
    producing_ = false;
    if (closed_) {
      EndStream();
      return;
    }
    if (step == StreamStep::kFailed) {
      // The status line promised a whole body; leaving out the last chunk tells the client.
      EndStream();
      Close();
      return;
    }
    stream_done_ = step == StreamStep::kDone;
    stream_bytes_ += piece.size();
    stream_piece_ = std::move(piece);
    out_.clear();
    buffers_.clear();
    if (stream_chunked_ && !stream_piece_.empty()) {
      char size[20];
      int n = std::snprintf(size, sizeof size, "%zx\r\n", stream_piece_.size());
      out_.append(size, static_cast<size_t>(n));
    }
    size_t head_end = out_.size();
    if (stream_chunked_ && !stream_piece_.empty()) out_.append("\r\n");
    if (stream_chunked_ && stream_done_) out_.append("0\r\n\r\n");
    if (out_.empty() && stream_piece_.empty()) {
      // Nothing to send: ask again, or end an unframed body.
      if (!stream_done_) {
        Produce();
        return;
      }
      OnWrite({});
      return;
    }
    buffers_.emplace_back(out_.data(), head_end);
    buffers_.emplace_back(stream_piece_.data(), stream_piece_.size());
    buffers_.emplace_back(out_.data() + head_end, out_.size() - head_end);
    writing_ = true;
    write_start_ = Clock::now();
    asio::async_write(socket_, buffers_,
                      [self = shared_from_this()](error_code ec, size_t) { self->OnWrite(ec); });
  }

  // The streamed response is over, whole or not: it is counted and its producer released.
  void EndStream() {
    if (!streaming_) return;
    streaming_ = false;
    if (stream_slot_.resp) Record(stream_slot_, stream_bytes_);
    stream_slot_ = Slot();
    stream_.reset();  // a producer still running on the pool keeps its own reference
  }

  void FinishConnection() {
    error_code ec;
    // While stopping, a client that sent nothing more gets its FIN at once instead of a
    // lingering read that would hold up Run(); unread data would turn the close into a reset.
    bool nothing_unread = stopping_ && socket_.available(ec) == 0 && !ec;
    if (eof_seen_ || closed_ || nothing_unread) {
      Close();
    } else {
      LingerClose();
    }
  }

  void LingerClose() {
    if (closed_ || lingering_) return;
    lingering_ = true;
    read_closed_ = true;
    parser_.reset();
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      Close();
      return;
    }
    linger_deadline_ =
        Clock::now() + std::min<Clock::duration>(kMaxLinger, core_->opt.read_timeout);
    ArmTimer(linger_deadline_);
    if (!reading_) LingerRead();
  }

  void LingerRead() {
    reading_ = true;
    buffer_.clear();
    socket_.async_read_some(
        buffer_.prepare(kReadChunk),
        [self = shared_from_this()](error_code ec, size_t n) { self->OnRead(ec, n); });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    timer_.cancel();
    slots_.clear();
    parser_.reset();
    if (!producing_) EndStream();
  }

  struct Piece {
    int body;  // index in bodies_, or -1 for out_[begin, end)
    size_t begin, end;
  };

  Core* core_;
  asio::any_io_executor executor_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  const size_t max_inflight_;
  std::string remote_;

  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request req_;  // reused so that the fast path keeps its capacity
  std::deque<Slot> slots_;
  uint64_t first_seq_ = 0;  // sequence number of slots_.front()

  std::string out_;
  std::vector<std::shared_ptr<const std::string>> bodies_;
  std::vector<Piece> pieces_;
  std::vector<asio::const_buffer> buffers_;
  size_t batch_count_ = 0;

  // The streamed response being written (see Produce / OnProduced).
  std::shared_ptr<std::function<StreamStep(std::string*)>> stream_;
  Slot stream_slot_;
  std::string stream_piece_;
  size_t stream_bytes_ = 0;
  bool streaming_ = false;
  bool producing_ = false;
  bool stream_done_ = false;
  bool stream_chunked_ = true;

  Clock::time_point idle_start_, request_start_, write_start_, linger_deadline_;
  bool reading_ = false;
  bool writing_ = false;
  bool read_closed_ = false;  // no more requests will be read
  bool close_after_write_ = false;
  bool continue_checked_ = false;
  bool stopping_ = false;
  bool eof_seen_ = false;
  bool lingering_ = false;
  bool closed_ = false;
};

void Core::Accept() {
  asio::io_context& target = *iocs[next_ioc];
  next_ioc = (next_ioc + 1) % iocs.size();
  acceptor->async_accept(target, [this](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (ec) {
      // Out of descriptors, most likely: back off instead of spinning on the error.
      LogError("accept failed", ec.message());
      accept_retry->expires_after(std::chrono::milliseconds(50));
      accept_retry->async_wait([this](error_code ec) {
        if (!ec && acceptor->is_open()) Accept();
      });
      return;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<Session>(this, std::move(socket));
    asio::post(session->executor(), [session] { session->Start(); });
    Accept();
  });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Server.

struct Server::Impl {
  Core core;
};

Server::Server(Options options, FastHandler fast, Handler handler)
    : impl_(std::make_unique<Impl>()) {
  Core& c = impl_->core;
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (options.io_threads <= 0) options.io_threads = cores;
  if (options.worker_threads <= 0) options.worker_threads = std::max(4, 2 * cores);
  if (options.read_timeout.count() <= 0) options.read_timeout = std::chrono::milliseconds(1);
  if (options.idle_timeout.count() <= 0) options.idle_timeout = std::chrono::milliseconds(1);
  c.timer_step = std::min(options.read_timeout, options.idle_timeout);
  c.opt = std::move(options);
  c.fast = std::move(fast);
  c.handler = std::move(handler);
  c.connections_gauge = c.metrics.connections_gauge();
  for (int i = 0; i < c.opt.io_threads; ++i) {
    // Hint 1: each context is run by one thread, which lets Asio skip some locking.
    c.iocs.push_back(std::make_unique<asio::io_context>(1));
  }
  c.pool = std::make_unique<asio::thread_pool>(static_cast<size_t>(c.opt.worker_threads));
}

Server::~Server() = default;

bool Server::Listen(std::string* error) {
  Core& c = impl_->core;
  auto fail = [&](const std::string& why) {
    if (error) {
      *error =
          "no se pudo escuchar en " + c.opt.host + ":" + std::to_string(c.opt.port) + ": " + why;
    }
    return false;
  };
  if (c.acceptor && c.acceptor->is_open()) return fail("el servidor ya está escuchando");
  error_code ec;
  tcp::endpoint endpoint;
  auto address = asio::ip::make_address(c.opt.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, c.opt.port);
  } else {
    tcp::resolver resolver(*c.iocs[0]);
    auto results = resolver.resolve(c.opt.host, std::to_string(c.opt.port), ec);
    if (ec || results.empty()) return fail(ec ? ec.message() : "dirección desconocida");
    endpoint = results.begin()->endpoint();
  }
  c.acceptor.emplace(*c.iocs[0]);
  c.acceptor->open(endpoint.protocol(), ec);
  if (!ec) c.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) c.acceptor->bind(endpoint, ec);
  if (!ec) c.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) c.port = c.acceptor->local_endpoint(ec).port();
  if (ec) {
    error_code ignored;
    c.acceptor->close(ignored);
    return fail(ec.message());
  }
  return true;
}

uint16_t Server::port() const { return impl_->core.port; }

Metrics& Server::metrics() { return impl_->core.metrics; }

void Server::Stop() {
  Core& c = impl_->core;
  std::lock_guard lock(c.mu);
  c.stop_requested = true;
  c.cv.notify_all();
}

void Server::Run(bool handle_signals) {
  Core& c = impl_->core;
  {
    std::lock_guard lock(c.mu);
    if (c.ran) return;  // the io_contexts are stopped for good after one run
    c.ran = true;
  }
  if (!c.acceptor || !c.acceptor->is_open()) {
    std::string error;
    if (!Listen(&error)) {
      LogError("listen failed", error);
      return;
    }
  }
  asio::io_context& first = *c.iocs[0];
  c.accept_retry.emplace(first);
  c.Accept();
  if (handle_signals) {
    c.signals.emplace(first, SIGINT, SIGTERM);
    c.signals->async_wait([this](error_code ec, int) {
      if (!ec) Stop();
    });
  }

  using Guard = asio::executor_work_guard<asio::io_context::executor_type>;
  std::vector<Guard> guards;
  std::vector<std::thread> threads;
  for (auto& ioc : c.iocs) {
    guards.push_back(asio::make_work_guard(*ioc));
    threads.emplace_back([ioc = ioc.get()] {
      try {
        ioc->run();
      } catch (const std::exception& e) {
        // Handlers catch their own errors; reaching here is a bug, and the thread is lost.
        LogError("I/O thread stopped by an exception", e.what());
      }
    });
  }

  std::vector<std::weak_ptr<Session>> open;
  {
    std::unique_lock lock(c.mu);
    c.cv.wait(lock, [&] { return c.stop_requested; });
    c.stopping = true;
    open.reserve(c.sessions.size());
    for (auto& [ptr, weak] : c.sessions) open.push_back(weak);
  }
  asio::post(first, [&c] {
    error_code ignored;
    c.acceptor->close(ignored);
    c.accept_retry->cancel();
    if (c.signals) c.signals->cancel(ignored);
  });
  for (auto& weak : open) {
    if (auto session = weak.lock()) {
      const asio::any_io_executor& ex = session->executor();
      asio::post(ex, [session = std::move(session)] { session->Shutdown(); });
    }
  }
  open.clear();
  {
    std::unique_lock lock(c.mu);
    c.cv.wait_for(lock, c.opt.shutdown_grace, [&] { return c.session_count == 0; });
  }
  guards.clear();
  for (auto& ioc : c.iocs) ioc->stop();
  for (auto& t : threads) t.join();
  // Gives SIGINT/SIGTERM back their default action now that nobody waits for them.
  c.signals.reset();
}

}  // namespace abierto::http
