// Tests of the DatA-LEÓN catalog through the dispatcher, on a real SQLite database with every
// module registered as in production: publishers' permissions, drafts, uploads with their
// versions and datastore ingest (run as the queue runs them), refusals that must leave the
// catalog as it was, search with facets, and dataset requests.
#include "modules/datos/catalog.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "abierto/web.h"
#include "modules.h"

namespace abierto::datos {
namespace {

namespace json = boost::json;

json::object File(const std::string& name, const std::string& data) {
  return json::object{{"name", name}, {"content_type", "text/csv"}, {"data", data}};
}

class CatalogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("abierto-cat-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    web::Config c;
    c.db_url = "sqlite:" + (dir_ / "cat.db").string();
    auto app = web::App::Create(c, Modules());
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    app_ = std::move(app.value()).release();
    ASSERT_TRUE(app_->Migrate().ok());
    for (const char* u : {"UT", "OP"}) {
      auto r = Sys("units.create", {{"name", std::string("Unidad ") + u}, {"acronym", u}});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      units_.push_back(r->at("id").as_int64());
    }
    ut_org_ = Id(Sys(
        "datos.organization.create",
        {{"title", "Unidad de Transparencia"}, {"name", "transparencia"}, {"unit_id", units_[0]}}));
    op_org_ =
        Id(Sys("datos.organization.create",
               {{"title", "Obra Pública"}, {"name", "obra-publica"}, {"unit_id", units_[1]}}));
    ASSERT_TRUE(Sys("datos.group.create", {{"title", "Movilidad"}, {"name", "movilidad"}}).ok());
    enlace_ut_ = Principal{.user_id = 1001,
                           .role = Role::kEnlace,
                           .email = "ut@example.org",
                           .name = "Enlace UT",
                           .unit_id = units_[0]};
    enlace_op_ = Principal{.user_id = 1002,
                           .role = Role::kEnlace,
                           .email = "op@example.org",
                           .name = "Enlace OP",
                           .unit_id = units_[1]};
  }
  static void TearDownTestSuite() {
    delete app_;
    std::filesystem::remove_all(dir_);
  }

  static db::Connection& Db() { return **app_->ThreadConnection(); }
  static Result<json::value> Sys(std::string_view action, json::object in) {
    return app_->dispatcher().Run(Db(), Principal::System(), action, in);
  }
  static Result<json::value> As(const Principal& p, std::string_view action, json::object in) {
    return app_->dispatcher().Run(Db(), p, action, in);
  }
  static int64_t Id(const Result<json::value>& r) {
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->at("id").as_int64() : 0;
  }
  static int64_t Count(const std::string& table) {
    auto r = Db().Query("SELECT COUNT(*) AS n FROM " + table);
    return r.ok() ? (*r)[0].Int("n") : -1;
  }
  static json::object Dataset(const std::string& name, int64_t org) {
    return json::object{{"name", name},
                        {"title", "Conjunto " + name},
                        {"notes", "Descripción de **" + name + "**"},
                        {"organization_id", org},
                        {"license_id", "cc-by-4.0"},
                        {"tags", "alumbrado, colonias"},
                        {"groups", "movilidad"}};
  }
  // Runs the job an upload queued, as the server's queue would.
  static Result<QualityReport> RunJob(const Result<json::value>& upload) {
    EXPECT_TRUE(upload.ok()) << upload.status().ToString();
    if (!upload.ok()) return upload.status();
    EXPECT_TRUE(upload->as_object().contains("job_id"));
    return RunIngestJob(Db(), upload->at("job_id").as_int64(), "", nullptr);
  }

  static inline std::filesystem::path dir_;
  static inline web::App* app_ = nullptr;
  static inline std::vector<int64_t> units_;
  static inline int64_t ut_org_ = 0, op_org_ = 0;
  static inline Principal enlace_ut_, enlace_op_;
};

TEST_F(CatalogTest, DraftsAreStaffOnlyUntilPublished) {
  int64_t id = Id(As(enlace_ut_, "datos.package.create", Dataset("luminarias", ut_org_)));
  auto anon = As(Principal::Anonymous(), "datos.package.show", {{"id", "luminarias"}});
  EXPECT_EQ(anon.status().code(), StatusCode::kNotFound);
  auto found = As(Principal::Anonymous(), "datos.package.search", {{"q", "luminarias"}});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->at("count").as_int64(), 0);
  ASSERT_TRUE(As(enlace_ut_, "datos.package.show", {{"id", "luminarias"}}).ok());

  // Nothing to download yet: publishing is refused.
  auto early = As(enlace_ut_, "datos.package.publish", {{"id", id}});
  EXPECT_EQ(early.status().code(), StatusCode::kConflict);
  ASSERT_TRUE(As(enlace_ut_, "datos.resource.create",
                 {{"dataset_id", id}, {"name", "Portal"}, {"link", "https://leon.gob.mx/x"}})
                  .ok());
  ASSERT_TRUE(As(enlace_ut_, "datos.package.publish", {{"id", id}}).ok());
  auto shown = As(Principal::Anonymous(), "datos.package.show", {{"id", "luminarias"}});
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  const json::object& p = shown->as_object();
  EXPECT_EQ(p.at("state").as_string(), "active");
  EXPECT_EQ(p.at("organization").at("name").as_string(), "transparencia");
  EXPECT_EQ(p.at("num_tags").as_int64(), 2);
  EXPECT_EQ(p.at("groups").as_array()[0].at("name").as_string(), "movilidad");
  EXPECT_EQ(p.at("resources").as_array()[0].at("url").as_string(), "https://leon.gob.mx/x");
  EXPECT_EQ(p.at("license_url").as_string(), "https://creativecommons.org/licenses/by/4.0/");
}

TEST_F(CatalogTest, EnlacePublishesOnlyForTheirUnit) {
  int64_t before = Count("datos_datasets");
  auto r = As(enlace_op_, "datos.package.create", Dataset("ajeno", ut_org_));
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("datos_datasets"), before);
  int64_t id = Id(As(enlace_ut_, "datos.package.create", Dataset("propio", ut_org_)));
  json::object upd = Dataset("propio", op_org_);
  upd["id"] = id;
  // Moving it to another unit's organization needs the right to publish there too.
  EXPECT_EQ(As(enlace_ut_, "datos.package.update", upd).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(As(enlace_op_, "datos.package.publish", {{"id", id}}).status().code(),
            StatusCode::kPermissionDenied);
  Principal citizen{.user_id = 1003, .role = Role::kCiudadano, .email = "c@example.org"};
  EXPECT_EQ(As(citizen, "datos.package.create", Dataset("ciudadano", ut_org_)).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(CatalogTest, UploadsAreVersionedAndIngested) {
  int64_t id = Id(As(enlace_ut_, "datos.package.create", Dataset("presupuesto", ut_org_)));
  auto up = As(enlace_ut_, "datos.resource.create",
               {{"dataset_id", id},
                {"name", "Montos"},
                {"file", File("montos.csv", "colonia,monto\nCentro,100\nBarrio Arriba,250\n")}});
  auto rep = RunJob(up);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(rep->rows, 2);
  std::string uid(up->at("uid").as_string());
  auto shown = As(enlace_ut_, "datos.resource.show", {{"id", uid}});
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->at("version").as_int64(), 1);
  EXPECT_TRUE(shown->at("datastore_active").as_bool());
  EXPECT_EQ(shown->at("format").as_string(), "CSV");
  std::string hash1(shown->at("hash").as_string());
  EXPECT_EQ(hash1.size(), 64u);

  auto v2 = As(enlace_ut_, "datos.resource.upload",
               {{"id", uid}, {"file", File("montos-2026.csv", "colonia,monto\nCentro,120\n")}});
  ASSERT_TRUE(RunJob(v2).ok());
  shown = As(enlace_ut_, "datos.resource.show", {{"id", uid}});
  EXPECT_EQ(shown->at("version").as_int64(), 2);
  EXPECT_NE(shown->at("hash").as_string(), hash1);
  EXPECT_EQ(shown->at("versions").as_array().size(), 2u);
  // The previous version stays downloadable, byte for byte.
  auto old = As(enlace_ut_, "datos.resource.file", {{"id", uid}, {"version", 1}});
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(*ReadBlob(Db(), old->at("sha256").as_string()),
            "colonia,monto\nCentro,100\nBarrio Arriba,250\n");
  EXPECT_EQ(old->at("size").as_int64(), 43);
  EXPECT_EQ(old->at("filename").as_string(), "montos.csv");
  auto cur = As(enlace_ut_, "datos.resource.file", {{"id", uid}});
  EXPECT_EQ(*ReadBlob(Db(), cur->at("sha256").as_string()), "colonia,monto\nCentro,120\n");
  // The datastore serves the new version.
  auto s = Search(Db(), {.resource_id = uid});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s->total, 1);
}

TEST_F(CatalogTest, RefusedFileLeavesTheCatalogAsItWas) {
  int64_t id = Id(As(enlace_ut_, "datos.package.create", Dataset("estable", ut_org_)));
  auto up = As(enlace_ut_, "datos.resource.create",
               {{"dataset_id", id}, {"name", "Tabla"}, {"file", File("t.csv", "a,b\n1,2\n")}});
  ASSERT_TRUE(RunJob(up).ok());
  std::string uid(up->at("uid").as_string());
  int64_t versions = Count("datos_versions"), blobs = Count("datos_blobs");

  // A header without rows and an unbalanced quote: the datastore refuses both.
  for (std::string bad : {std::string("a,b\n"), std::string("a,b\n\"1,2\n")}) {
    auto v = As(enlace_ut_, "datos.resource.upload", {{"id", uid}, {"file", File("t2.csv", bad)}});
    auto r = RunJob(v);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    auto job = As(enlace_ut_, "datos.job.show", {{"id", v->at("job_id").as_int64()}});
    ASSERT_TRUE(job.ok());
    EXPECT_EQ(job->at("status").as_string(), "rechazada");
    EXPECT_FALSE(job->at("message").as_string().empty());
    EXPECT_EQ(Count("datos_versions"), versions);
    EXPECT_EQ(Count("datos_blobs"), blobs);
    auto shown = As(enlace_ut_, "datos.resource.show", {{"id", uid}});
    EXPECT_EQ(shown->at("version").as_int64(), 1);
    auto s = Search(Db(), {.resource_id = uid});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(*s->total, 1);
  }
  // A new resource whose only file is refused disappears with it.
  int64_t resources = Count("datos_resources");
  auto fresh = As(enlace_ut_, "datos.resource.create",
                  {{"dataset_id", id}, {"name", "Vacía"}, {"file", File("v.csv", "solo\n")}});
  EXPECT_FALSE(RunJob(fresh).ok());
  EXPECT_EQ(Count("datos_resources"), resources);
}

TEST_F(CatalogTest, FileNamesAndFormatsAreChecked) {
  int64_t id = Id(As(enlace_ut_, "datos.package.create", Dataset("archivos", ut_org_)));
  // Directories in a name are dropped: files are addressed by hash, the name is only shown.
  auto up = As(enlace_ut_, "datos.resource.create",
               {{"dataset_id", id},
                {"name", "Traversal"},
                {"file", File("../../etc/passwd.json", "{\"a\": 1}")}});
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  auto f = As(enlace_ut_, "datos.resource.file", {{"id", up->at("uid")}});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->at("filename").as_string(), "passwd.json");

  int64_t before = Count("datos_resources");
  for (auto [name, data] : std::vector<std::pair<std::string, std::string>>{
           {"libro.xlsx", "a,b\n1,2\n"},                   // not a ZIP
           {"programa.exe", "MZ\x90\x00"},                 // not an accepted format
           {"datos.csv", std::string("PK\x03\x04zz", 6)},  // a ZIP pretending to be CSV
           {"..", "x"}}) {
    auto r = As(enlace_ut_, "datos.resource.create",
                {{"dataset_id", id}, {"name", "Malo"}, {"file", File(name, data)}});
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << name;
  }
  EXPECT_EQ(Count("datos_resources"), before);
  // A file and a link at once, or neither.
  EXPECT_EQ(As(enlace_ut_, "datos.resource.create",
               {{"dataset_id", id},
                {"name", "Ambos"},
                {"link", "https://x.mx"},
                {"file", File("a.csv", "a\n1\n")}})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  // The server path source is for the command line only.
  EXPECT_EQ(As(enlace_ut_, "datos.resource.create",
               {{"dataset_id", id}, {"name", "Ruta"}, {"source_path", "/etc/passwd"}})
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("datos_resources"), before);
}

TEST_F(CatalogTest, SearchIsAccentInsensitiveWithFacets) {
  for (auto [name, title, org] : std::vector<std::tuple<const char*, const char*, int64_t>>{
           {"camiones-urbanos", "Rutas de camión urbano en León", ut_org_},
           {"obras-2026", "Obras públicas por delegación", op_org_}}) {
    json::object in = Dataset(name, org);
    in["title"] = title;
    int64_t id = Id(Sys("datos.package.create", in));
    ASSERT_TRUE(Sys("datos.resource.create",
                    {{"dataset_id", id}, {"name", "CSV"}, {"file", File("x.csv", "a\n1\n")}})
                    .ok());
    ASSERT_TRUE(Sys("datos.package.publish", {{"id", id}}).status().code() ==
                    StatusCode::kConflict ||
                true);
  }
  // Resources still queued count as not yet downloadable; run the queue, then publish.
  auto jobs = Db().Query("SELECT id FROM datos_jobs WHERE status = 'pendiente'");
  ASSERT_TRUE(jobs.ok());
  for (const db::Row& j : *jobs) ASSERT_TRUE(RunIngestJob(Db(), j.Int("id"), "", nullptr).ok());
  for (const char* n : {"camiones-urbanos", "obras-2026"}) {
    auto d = Sys("datos.package.show", {{"id", n}});
    ASSERT_TRUE(Sys("datos.package.publish", {{"id", d->at("_id")}}).ok());
  }
  auto r = As(Principal::Anonymous(), "datos.package.search", {{"q", "CAMION leon"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->at("count").as_int64(), 1);
  EXPECT_EQ(r->at("results").as_array()[0].at("name").as_string(), "camiones-urbanos");
  r = As(Principal::Anonymous(), "datos.package.search", {{"q", "delegacion"}});
  EXPECT_EQ(r->at("count").as_int64(), 1);

  r = As(
      Principal::Anonymous(), "datos.package.search",
      {{"fq", "organization:obra-publica"}, {"facet_field", "[\"organization\",\"res_format\"]"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at("count").as_int64(), 1);
  EXPECT_EQ(r->at("facets").at("organization").at("obra-publica").as_int64(), 1);
  EXPECT_EQ(r->at("facets").at("res_format").at("CSV").as_int64(), 1);
  EXPECT_EQ(r->at("search_facets")
                .at("organization")
                .at("items")
                .as_array()[0]
                .at("display_name")
                .as_string(),
            "Obra Pública");

  r = As(Principal::Anonymous(), "datos.package.search",
         {{"sort", "title_string asc"}, {"rows", 1}, {"start", 1}});
  ASSERT_TRUE(r.ok());
  EXPECT_GE(r->at("count").as_int64(), 2);
  EXPECT_EQ(r->at("results").as_array().size(), 1u);

  EXPECT_EQ(As(Principal::Anonymous(), "datos.package.search", {{"sort", "password asc"}})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      As(Principal::Anonymous(), "datos.package.search", {{"fq", "users:admin"}}).status().code(),
      StatusCode::kInvalidArgument);
}

TEST_F(CatalogTest, RequestsHaveAPublicStatusAndPrivateEmail) {
  EXPECT_EQ(As(Principal::Anonymous(), "datos.request.create", {{"title", "Algo"}}).status().code(),
            StatusCode::kUnauthenticated);
  Principal vecina{
      .user_id = 1004, .role = Role::kCiudadano, .email = "vecina@example.org", .name = "Vecina"};
  int64_t id = Id(As(vecina, "datos.request.create", {{"title", "Horarios de camiones"}}));
  auto bad = Sys("datos.request.update", {{"id", id}, {"status", "no_disponible"}});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(Sys("datos.request.update",
                  {{"id", id}, {"status", "no_disponible"}, {"reason", "Lo publica el estado"}})
                  .ok());
  auto list = As(Principal::Anonymous(), "datos.request.list", {});
  ASSERT_TRUE(list.ok());
  std::string all = json::serialize(*list);
  EXPECT_NE(all.find("Lo publica el estado"), std::string::npos);
  EXPECT_EQ(all.find("vecina@example.org"), std::string::npos);
  auto hist = Db().Query("SELECT after_json FROM audit_log WHERE scope = ?",
                         {"dataset_request:" + std::to_string(id)});
  ASSERT_TRUE(hist.ok());
  for (const db::Row& h : *hist) EXPECT_EQ(h.Text("after_json").find("vecina@"), std::string::npos);
}

TEST(CatalogNames, UuidsAndNames) {
  std::string u = NewUuid();
  EXPECT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  EXPECT_NE(NewUuid(), u);
  EXPECT_TRUE(IsValidName("solicitudes-2025"));
  EXPECT_FALSE(IsValidName("Solicitudes"));
  EXPECT_FALSE(IsValidName("a"));
  EXPECT_FALSE(IsValidName("../x"));
  EXPECT_EQ(*SafeFileName("C:\\datos\\tabla.csv"), "tabla.csv");
  EXPECT_FALSE(SafeFileName("dir/").ok());
  EXPECT_EQ(*DetectFormat("mapa.geojson", "{"), "GeoJSON");
  EXPECT_EQ(*DetectFormat("informe.PDF", "%PDF-1.7"), "PDF");
  EXPECT_FALSE(DetectFormat("informe.pdf", "hola").ok());
}

}  // namespace
}  // namespace abierto::datos
