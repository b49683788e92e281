// Metrics for the HTTP core: request counters and a per-route latency histogram, rendered in
// the Prometheus text exposition format 0.0.4.
//
// Record() is on the hot path of every response, so the data is split in shards chosen by a
// per-thread index: a thread only ever contends with Render(), never with other I/O threads.
// Each shard keeps one hash map keyed by route (routes are patterns, so their number is small)
// and, inside a route, a short vector of (method, status) counters scanned linearly.

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "abierto/http.h"

namespace abierto::http {
namespace {

// Upper bounds in seconds; the fast path lives under a millisecond, database pages in tens.
constexpr std::array<double, 14> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,    0.25,  0.5,    1,     2.5,  5,     10};
constexpr std::array<const char*, 14> kBoundLabels = {"0.0005", "0.001", "0.0025", "0.005", "0.01",
                                                      "0.025",  "0.05",  "0.1",    "0.25",  "0.5",
                                                      "1",      "2.5",   "5",      "10"};
constexpr size_t kShards = 16;

struct Counter {
  std::string method;
  int status;
  uint64_t n;
};

struct RouteStats {
  std::array<uint64_t, kBounds.size() + 1> buckets{};  // not cumulative; last is +Inf only
  double sum = 0;
  uint64_t count = 0;
  std::vector<Counter> counters;
};

struct alignas(64) Shard {
  std::mutex mu;
  std::unordered_map<std::string, RouteStats> routes;
};

size_t ShardIndex() {
  static std::atomic<size_t> next{0};
  thread_local size_t index = next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return index;
}

void AppendEscapedLabel(std::string* out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '"') {
      out->append("\\\"");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
}

int64_t ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long size = 0, resident = 0;
  int got = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (got != 2) return 0;
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

}  // namespace

struct Metrics::Impl {
  std::array<Shard, kShards> shards;
  std::atomic<int64_t> connections_active{0};
};

std::shared_ptr<Metrics::Impl> Metrics::MakeImpl() { return std::make_shared<Impl>(); }

std::atomic<int64_t>* Metrics::connections_gauge() { return &impl_->connections_active; }

void Metrics::Record(std::string_view method, std::string_view route, int status, double seconds) {
  // Reused per thread so that a lookup of an existing route allocates nothing.
  thread_local std::string key;
  key.assign(route.data(), route.size());
  size_t bucket = 0;
  while (bucket < kBounds.size() && seconds > kBounds[bucket]) ++bucket;

  Shard& shard = impl_->shards[ShardIndex()];
  std::lock_guard lock(shard.mu);
  auto it = shard.routes.find(key);
  if (it == shard.routes.end()) it = shard.routes.emplace(key, RouteStats{}).first;
  RouteStats& stats = it->second;
  ++stats.buckets[bucket];
  stats.sum += seconds;
  ++stats.count;
  for (Counter& c : stats.counters) {
    if (c.status == status && c.method == method) {
      ++c.n;
      return;
    }
  }
  stats.counters.push_back(Counter{std::string(method), status, 1});
}

std::string Metrics::Render() const {
  struct Merged {
    std::array<uint64_t, kBounds.size() + 1> buckets{};
    double sum = 0;
    uint64_t count = 0;
    std::map<std::pair<std::string, int>, uint64_t> counters;
  };
  std::map<std::string, Merged> routes;  // sorted for a stable, diffable output
  for (Shard& shard : impl_->shards) {
    std::lock_guard lock(shard.mu);
    for (const auto& [route, stats] : shard.routes) {
      Merged& m = routes[route];
      for (size_t i = 0; i < stats.buckets.size(); ++i) m.buckets[i] += stats.buckets[i];
      m.sum += stats.sum;
      m.count += stats.count;
      for (const Counter& c : stats.counters) m.counters[{c.method, c.status}] += c.n;
    }
  }

  std::string out;
  out.reserve(256 + routes.size() * 1200);
  char num[64];
  out.append(
      "# HELP abierto_http_requests_total HTTP responses sent, by method, route and status.\n"
      "# TYPE abierto_http_requests_total counter\n");
  for (const auto& [route, m] : routes) {
    for (const auto& [ms, n] : m.counters) {
      out.append("abierto_http_requests_total{method=\"");
      AppendEscapedLabel(&out, ms.first);
      out.append("\",route=\"");
      AppendEscapedLabel(&out, route);
      std::snprintf(num, sizeof(num), "\",status=\"%d\"} %llu\n", ms.second,
                    static_cast<unsigned long long>(n));
      out.append(num);
    }
  }
  out.append(
      "# HELP abierto_http_request_duration_seconds Time from a request read to its response "
      "queued for writing.\n"
      "# TYPE abierto_http_request_duration_seconds histogram\n");
  for (const auto& [route, m] : routes) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= kBounds.size(); ++i) {
      cumulative += m.buckets[i];
      out.append("abierto_http_request_duration_seconds_bucket{route=\"");
      AppendEscapedLabel(&out, route);
      out.append("\",le=\"");
      out.append(i < kBounds.size() ? kBoundLabels[i] : "+Inf");
      std::snprintf(num, sizeof(num), "\"} %llu\n", static_cast<unsigned long long>(cumulative));
      out.append(num);
    }
    out.append("abierto_http_request_duration_seconds_sum{route=\"");
    AppendEscapedLabel(&out, route);
    std::snprintf(num, sizeof(num), "\"} %.9g\n", m.sum);
    out.append(num);
    out.append("abierto_http_request_duration_seconds_count{route=\"");
    AppendEscapedLabel(&out, route);
    std::snprintf(num, sizeof(num), "\"} %llu\n", static_cast<unsigned long long>(m.count));
    out.append(num);
  }
  std::snprintf(num, sizeof(num), "%lld\n",
                static_cast<long long>(impl_->connections_active.load(std::memory_order_relaxed)));
  out.append(
      "# HELP abierto_http_connections_active Open client connections.\n"
      "# TYPE abierto_http_connections_active gauge\n"
      "abierto_http_connections_active ");
  out.append(num);
  std::snprintf(num, sizeof(num), "%lld\n", static_cast<long long>(ResidentBytes()));
  out.append(
      "# HELP abierto_process_resident_memory_bytes Resident memory size in bytes.\n"
      "# TYPE abierto_process_resident_memory_bytes gauge\n"
      "abierto_process_resident_memory_bytes ");
  out.append(num);
  return out;
}

}  // namespace abierto::http
