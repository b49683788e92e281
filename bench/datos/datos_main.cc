// `abierto_datos`: the datastore import and search on their own, for timing.
//
//   abierto_datos import --db URL --resource ID FILE ...   (= abierto data import)
//   abierto_datos search --db URL --resource ID [--filter COL=VALUE] [--q TEXT] [--runs N]
//
// `search` runs the same datastore_search N times (default 200, after 10 warm-up runs) with
// include_total and limit 100, and prints the p50, p90 and maximum latency in milliseconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "abierto/db.h"
#include "modules/datos/import_cli.h"
#include "modules/datos/ingest.h"

using namespace abierto;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "import") return datos::RunDataImport(args, std::cout, std::cerr);
  if (args.empty() || args[0] != "search") {
    std::cerr << "uso: abierto_datos import|search ...\n";
    return 2;
  }
  std::string url;
  datos::SearchRequest req;
  int runs = 200;
  for (size_t i = 1; i + 1 < args.size(); i += 2) {
    if (args[i] == "--db")
      url = args[i + 1];
    else if (args[i] == "--resource")
      req.resource_id = args[i + 1];
    else if (args[i] == "--q")
      req.q = args[i + 1];
    else if (args[i] == "--runs")
      runs = std::stoi(args[i + 1]);
    else if (args[i] == "--filter") {
      size_t eq = args[i + 1].find('=');
      req.filters.emplace_back(args[i + 1].substr(0, eq), args[i + 1].substr(eq + 1));
    }
  }
  auto db = db::Open(url);
  if (!db.ok()) return 1;
  auto c = (*db)->Connect();
  if (!c.ok()) return 1;
  std::vector<double> ms;
  int64_t total = 0;
  for (int i = 0; i < runs + 10; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = datos::Search(**c, req);
    auto t1 = std::chrono::steady_clock::now();
    if (!r.ok()) {
      std::cerr << r.status().ToString() << "\n";
      return 1;
    }
    total = r->total.value_or(-1);
    if (i >= 10) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("runs=%d total=%lld p50_ms=%.3f p90_ms=%.3f max_ms=%.3f\n", runs,
              static_cast<long long>(total), ms[ms.size() / 2], ms[ms.size() * 9 / 10], ms.back());
  return 0;
}
