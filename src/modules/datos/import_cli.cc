#include "modules/datos/import_cli.h"

#include <boost/json.hpp>
#include <chrono>
#include <cmath>

#include "abierto/db.h"
#include "modules/datos/ingest.h"

namespace abierto::datos {
namespace {

constexpr char kUsage[] =
    "Uso: abierto data import --db URL --resource ID ARCHIVO [--sheet HOJA]\n"
    "       [--delimiter ,|;|tab||] [--encoding auto|utf-8|windows-1252] [--index COL]... "
    "[--no-auto-index]\n"
    "       [--json] [--quiet] [--timings]\n";

}  // namespace

int RunDataImport(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] != "import") {
    err << kUsage;
    return 2;
  }
  IngestRequest req;
  std::string db_url;
  bool as_json = false, quiet = false, timings = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* dst) {
      if (i + 1 >= args.size()) return false;
      *dst = args[++i];
      return true;
    };
    std::string v;
    if (a == "--db") {
      if (!value(&db_url)) break;
    } else if (a == "--resource") {
      if (!value(&req.resource_id)) break;
    } else if (a == "--sheet") {
      if (!value(&req.sheet)) break;
    } else if (a == "--delimiter") {
      if (!value(&v)) break;
      if (v == "tab" || v == "\\t") v = "\t";
      if (v.size() != 1 || std::string_view(",;\t|").find(v[0]) == std::string_view::npos) {
        err << "Delimitador no válido: use , ; tab o |\n";
        return 2;
      }
      req.delimiter = v[0];
    } else if (a == "--encoding") {
      if (!value(&v)) break;
      if (v == "auto")
        req.encoding = IngestRequest::EncodingChoice::kAuto;
      else if (v == "utf-8" || v == "utf8")
        req.encoding = IngestRequest::EncodingChoice::kUtf8;
      else if (v == "windows-1252" || v == "latin1" || v == "latin-1")
        req.encoding = IngestRequest::EncodingChoice::kWindows1252;
      else {
        err << "Codificación no válida: use auto, utf-8 o windows-1252\n";
        return 2;
      }
    } else if (a == "--json") {
      as_json = true;
    } else if (a == "--index") {
      if (!value(&v)) break;
      req.indexes.push_back(v);
    } else if (a == "--no-auto-index") {
      req.auto_indexes = false;
    } else if (a == "--timings") {
      timings = true;
    } else if (a == "--quiet") {
      quiet = true;
    } else if (!a.empty() && a[0] == '-') {
      err << "Opción desconocida: " << a << "\n" << kUsage;
      return 2;
    } else if (req.path.empty()) {
      req.path = a;
    } else {
      err << "Sobra el argumento: " << a << "\n" << kUsage;
      return 2;
    }
  }
  if (db_url.empty() || req.resource_id.empty() || req.path.empty()) {
    err << kUsage;
    return 2;
  }
  auto db = db::Open(db_url);
  if (!db.ok()) {
    err << "Error: " << db.status().message() << "\n";
    return 1;
  }
  auto conn = (*db)->Connect();
  if (!conn.ok()) {
    err << "Error: " << conn.status().message() << "\n";
    return 1;
  }
  int last_percent = -1;
  // --timings: the seconds each phase took, for the benchmark's breakdown.
  const auto start = std::chrono::steady_clock::now();
  auto phase_start = start;
  int last_phase = 0;
  ProgressCallback progress = [&](const Progress& p) {
    if (timings && static_cast<int>(p.phase) != last_phase) {
      static const char* kNames[] = {"análisis", "carga", "índices", "fin"};
      auto now = std::chrono::steady_clock::now();
      err << "fase " << kNames[last_phase] << ": "
          << std::chrono::duration<double>(now - phase_start).count() << " s\n";
      phase_start = now;
      last_phase = static_cast<int>(p.phase);
    }
    if (quiet) return true;
    int percent = static_cast<int>(std::floor(p.fraction * 100));
    if (percent == last_percent) return true;
    last_percent = percent;
    static const char* kPhase[] = {"analizando", "cargando", "indexando", "listo"};
    int filled = percent / 5;
    err << "\r[" << std::string(filled, '#') << std::string(20 - filled, '.') << "] " << percent
        << "% " << kPhase[static_cast<int>(p.phase)] << "   " << std::flush;
    if (p.phase == Progress::Phase::kDone) err << "\n";
    return true;
  };
  auto report = Ingest(**conn, req, progress);
  if (!report.ok()) {
    if (!quiet && last_percent >= 0) err << "\n";
    err << "Error: " << report.status().message() << "\n";
    return 1;
  }
  if (as_json)
    out << boost::json::serialize(report->ToJson()) << "\n";
  else
    out << report->ToText();
  return 0;
}

}  // namespace abierto::datos
