#include "modules/datos/import_cli.h"

#include <boost/json.hpp>
#include <chrono>
#include <cmath>

#include "abierto/db.h"
#include "abierto/json.h"
#include "abierto/web.h"
#include "modules.h"
#include "modules/datos/catalog.h"
#include "modules/datos/ingest.h"

namespace abierto::datos {
namespace {

namespace json = boost::json;

constexpr char kUsage[] =
    "Uso: abierto data import ARCHIVO --dataset NOMBRE [--db URL] [--org ORGANIZACION]\n"
    "       [--title TITULO] [--resource-name NOMBRE]\n"
    "   o: abierto data import --db URL --resource ID ARCHIVO [--sheet HOJA]\n"
    "       [--delimiter ,|;|tab||] [--encoding auto|utf-8|windows-1252] [--index COL]... "
    "[--no-auto-index]\n"
    "       [--json] [--quiet] [--timings]\n";

struct DatasetImport {
  std::string name, org, title, resource_name, db_url;
};

Result<json::value> Run(web::App& app, db::Connection& c, std::string_view action,
                        json::object in) {
  return app.dispatcher().Run(c, Principal::System(), action, in);
}

// The organization a new dataset goes to: the one named, else the only one there is, else a
// new "Datos abiertos" organization in an empty catalog.
Result<int64_t> OrganizationFor(web::App& app, db::Connection& c, const std::string& org) {
  if (!org.empty()) {
    auto shown = Run(app, c, "datos.organization.show", {{"id", org}});
    if (shown.ok()) {
      ASSIGN_OR_RETURN(db::Row r, c.QueryOne("SELECT id FROM datos_orgs WHERE uid = ?",
                                             {std::string(shown->at("id").as_string())},
                                             "La organización no existe"));
      return r.Int("id");
    }
    if (shown.status().code() != StatusCode::kNotFound) return shown.status();
    return Status::NotFound("No existe la organización «" + org + "»");
  }
  ASSIGN_OR_RETURN(db::Rows orgs, c.Query("SELECT id FROM datos_orgs ORDER BY id"));
  if (orgs.size() == 1) return orgs[0].Int("id");
  if (orgs.size() > 1)
    return Status::InvalidArgument("Hay varias organizaciones: indique una con --org NOMBRE");
  ASSIGN_OR_RETURN(json::value created,
                   Run(app, c, "datos.organization.create",
                       {{"name", "datos-abiertos"}, {"title", "Datos abiertos"}}));
  return created.at("id").as_int64();
}

// What an upload does, from the command line: the dataset (created as a draft when missing),
// a new version of its resource (created when missing) and the datastore ingest, whose job this
// process runs itself with the original file.
Result<std::optional<QualityReport>> ImportIntoDataset(const DatasetImport& d,
                                                       const IngestRequest& req,
                                                       const ProgressCallback& progress,
                                                       std::ostream& out) {
  web::Config config;
  if (!d.db_url.empty()) config.db_url = d.db_url;
  ASSIGN_OR_RETURN(std::unique_ptr<web::App> app, web::App::Create(config, Modules()));
  RETURN_IF_ERROR(app->Migrate());
  ASSIGN_OR_RETURN(db::Connection * c, app->ThreadConnection());
  // SQLite: storing the file must not checkpoint the WAL (copying every page of it into the
  // database) inside its commit; the ingest checkpoints once at its end, after publication.
  if (c->dialect() == db::Dialect::kSqlite)
    RETURN_IF_ERROR(c->ExecScript("PRAGMA wal_autocheckpoint = 0"));
  auto shown = Run(*app, *c, "datos.package.show", {{"id", d.name}});
  if (!shown.ok() && shown.status().code() != StatusCode::kNotFound) return shown.status();
  if (!shown.ok()) {
    ASSIGN_OR_RETURN(int64_t org, OrganizationFor(*app, *c, d.org));
    RETURN_IF_ERROR(Run(*app, *c, "datos.package.create",
                        {{"name", d.name},
                         {"title", d.title.empty() ? d.name : d.title},
                         {"organization_id", org},
                         {"license_id", "cc-by-4.0"}})
                        .status());
    out << "Conjunto «" << d.name << "» creado como borrador.\n";
    shown = Run(*app, *c, "datos.package.show", {{"id", d.name}});
    if (!shown.ok()) return shown.status();
  }
  ASSIGN_OR_RETURN(std::string filename, SafeFileName(req.path));
  std::string resource_name = d.resource_name.empty() ? filename : d.resource_name;
  std::string resource_uid;
  for (const auto& r : shown->at("resources").as_array())
    if (r.at("name").as_string() == resource_name && r.at("url_type").is_string())
      resource_uid = std::string(r.at("id").as_string());
  json::object in{{"source_path", req.path}};
  if (!req.sheet.empty()) in["sheet"] = req.sheet;
  Result<json::value> up = Status::Internal("");
  if (resource_uid.empty()) {
    in["dataset_id"] = shown->at("_id");
    in["name"] = resource_name;
    up = Run(*app, *c, "datos.resource.create", in);
  } else {
    in["id"] = resource_uid;
    up = Run(*app, *c, "datos.resource.upload", in);
  }
  if (!up.ok()) return up.status();
  if (!up->as_object().contains("job_id")) {
    out << "Versión " << JsonText(up->at("version")) << " publicada (" << JsonText(up->at("format"))
        << "); no es tabular, así que no pasa por el almacén de datos.\n";
    return std::optional<QualityReport>();
  }
  ASSIGN_OR_RETURN(QualityReport rep,
                   RunIngestJob(*c, up->at("job_id").as_int64(), req.path, progress));
  return std::optional<QualityReport>(std::move(rep));
}

}  // namespace

int RunDataImport(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] != "import") {
    err << kUsage;
    return 2;
  }
  IngestRequest req;
  std::string db_url, dataset, org, title, resource_name;
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
    } else if (a == "--dataset") {
      if (!value(&dataset)) break;
    } else if (a == "--org") {
      if (!value(&org)) break;
    } else if (a == "--title") {
      if (!value(&title)) break;
    } else if (a == "--resource-name") {
      if (!value(&resource_name)) break;
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
  if (req.path.empty() || (dataset.empty() == req.resource_id.empty()) ||
      (dataset.empty() && db_url.empty())) {
    err << kUsage;
    return 2;
  }
  int last_percent = -1;
  // --timings: the seconds each phase took, for the benchmark's breakdown.
  const auto start = std::chrono::steady_clock::now();
  auto phase_start = start;
  int last_phase = 0;
  ProgressCallback progress = [&](const Progress& p) {
    if (timings && static_cast<int>(p.phase) != last_phase) {
      static const char* kNames[] = {"análisis", "carga", "índice de texto y publicación",
                                     "índices de filtros y checkpoint", "fin"};
      auto now = std::chrono::steady_clock::now();
      err << "fase " << kNames[last_phase] << ": "
          << std::chrono::duration<double>(now - phase_start).count() << " s\n";
      if (p.phase == Progress::Phase::kPublished)
        err << "publicado a los " << std::chrono::duration<double>(now - start).count() << " s\n";
      phase_start = now;
      last_phase = static_cast<int>(p.phase);
    }
    if (quiet) return true;
    int percent = static_cast<int>(std::floor(p.fraction * 100));
    if (percent == last_percent) return true;
    last_percent = percent;
    static const char* kPhase[] = {"analizando", "cargando", "indexando", "publicado; indexando",
                                   "listo"};
    int filled = percent / 5;
    err << "\r[" << std::string(filled, '#') << std::string(20 - filled, '.') << "] " << percent
        << "% " << kPhase[static_cast<int>(p.phase)] << "   " << std::flush;
    if (p.phase == Progress::Phase::kDone) err << "\n";
    return true;
  };
  Result<QualityReport> report = Status::Internal("sin cargar");
  if (!dataset.empty()) {
    DatasetImport d{dataset, org, title, resource_name, db_url};
    auto done = ImportIntoDataset(d, req, progress, out);
    if (done.ok() && !done->has_value()) return 0;
    report =
        done.ok() ? Result<QualityReport>(std::move(**done)) : Result<QualityReport>(done.status());
  } else {
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
    report = Ingest(**conn, req, progress);
  }
  if (!report.ok()) {
    if (!quiet && last_percent >= 0) err << "\n";
    err << "Error: " << report.status().message() << "\n";
    return 1;
  }
  if (as_json)
    out << JsonText(report->ToJson()) << "\n";
  else
    out << report->ToText();
  return 0;
}

}  // namespace abierto::datos
