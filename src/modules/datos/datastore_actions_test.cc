// The datastore's read actions through the dispatcher, with every module registered and the demo
// loaded, on SQLite and (when ABIERTO_TEST_PG_URL is set) PostgreSQL: input validation, who may
// read the rows of a draft dataset, the chart data and the map points.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "abierto/web.h"
#include "modules.h"
#include "modules/datos/preview.h"

namespace abierto::datos {
namespace {

namespace json = boost::json;

constexpr char kDataset[] = "proyectos-presupuesto-participativo-2025";

enum class Backend { kSqlite, kPostgres };

std::string WithDatabase(const std::string& url, const std::string& name) {
  size_t slash = url.find('/', url.find("://") + 3);
  if (slash == std::string::npos) return url + "/" + name;
  size_t end = url.find('?', slash);
  return url.substr(0, slash + 1) + name + (end == std::string::npos ? "" : url.substr(end));
}

// One app with the demo per backend, shared by the tests of the suite (loading the demo is
// the slow part); a test that changes the demo puts it back.
class DatastoreActionsTest : public ::testing::TestWithParam<Backend> {
 protected:
  struct Fixture {
    std::filesystem::path dir;
    std::string pg_name;
    std::unique_ptr<db::Database> admin_db;
    std::unique_ptr<db::Connection> admin;
    std::unique_ptr<web::App> app;
    int64_t dataset_id = 0;
    std::string resource;
  };
  static inline std::map<Backend, std::unique_ptr<Fixture>> fixtures_;

  static void TearDownTestSuite() {
    for (auto& [backend, f] : fixtures_) {
      f->app.reset();
      if (f->admin)
        (void)f->admin->ExecScript("DROP DATABASE IF EXISTS " + f->pg_name + " WITH (FORCE)");
      if (!f->dir.empty()) std::filesystem::remove_all(f->dir);
    }
    fixtures_.clear();
  }

  void SetUp() override {
    setenv("ABIERTO_TODAY", "2026-11-21", 1);
    if (GetParam() == Backend::kPostgres) {
      const char* base = std::getenv("ABIERTO_TEST_PG_URL");
      if (!base || !*base) GTEST_SKIP() << "ABIERTO_TEST_PG_URL no está definida";
    }
    auto& slot = fixtures_[GetParam()];
    if (!slot) slot = MakeFixture(GetParam());
    f_ = slot.get();
    ASSERT_NE(f_->app, nullptr) << "the fixture could not be built";
  }

  static std::unique_ptr<Fixture> MakeFixture(Backend backend) {
    auto f = std::make_unique<Fixture>();
    web::Config config;
    if (backend == Backend::kSqlite) {
      f->dir =
          std::filesystem::temp_directory_path() / ("abierto-dsa-" + std::to_string(::getpid()));
      std::filesystem::create_directories(f->dir);
      config.db_url = "sqlite:" + (f->dir / "d.db").string();
    } else {
      const char* base = std::getenv("ABIERTO_TEST_PG_URL");
      auto admin_db = db::Open(base);
      if (!admin_db.ok()) return f;
      auto admin = (*admin_db)->Connect();
      if (!admin.ok()) return f;
      f->pg_name = "abierto_dsa" + std::to_string(getpid());
      EXPECT_TRUE((*admin)->ExecScript("DROP DATABASE IF EXISTS " + f->pg_name).ok());
      EXPECT_TRUE((*admin)->ExecScript("CREATE DATABASE " + f->pg_name).ok());
      f->admin = std::move(*admin);
      f->admin_db = std::move(*admin_db);
      config.db_url = WithDatabase(base, f->pg_name);
    }
    auto app = web::App::Create(config, Modules());
    EXPECT_TRUE(app.ok()) << app.status().ToString();
    if (!app.ok()) return f;
    Status migrated = (*app)->Migrate();
    Status demo = migrated.ok() ? (*app)->LoadDemo() : migrated;
    EXPECT_TRUE(demo.ok()) << demo.ToString();
    if (!demo.ok()) return f;
    auto p = (*app)->dispatcher().Run(**(*app)->ThreadConnection(), Principal::System(),
                                      "datos.package.show", {{"id", kDataset}});
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) return f;
    f->dataset_id = p->at("_id").as_int64();
    f->resource = std::string(p->at("resources").at(0).at("id").as_string());
    f->app = std::move(*app);
    return f;
  }

  Result<json::value> Run(const Principal& who, std::string_view action, json::object in) {
    return f_->app->dispatcher().Run(**f_->app->ThreadConnection(), who, action, in);
  }
  Result<json::value> Anon(std::string_view action, json::object in) {
    in["resource_id"] = f_->resource;
    return Run(Principal::Anonymous(), action, in);
  }
  // The field an invalid input is refused for ("" when it was not refused as invalid).
  std::string RefusedField(std::string_view action, json::object in) {
    auto r = Anon(action, std::move(in));
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    return r.status().fields().empty() ? "" : r.status().fields()[0].field;
  }
  static Principal Enlace() {
    Principal p;
    p.user_id = 1;
    p.role = Role::kEnlace;
    p.unit_id = 1;
    return p;
  }

  Fixture* f_ = nullptr;
};

TEST_P(DatastoreActionsTest, SearchFiltersSortsPagesAndDescribesColumns) {
  auto all = Anon("datos.preview.search", {});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->at("total").as_int64(), 7);
  EXPECT_EQ(all->at("limit").as_int64(), 25);
  EXPECT_EQ(all->at("records").as_array().size(), 7u);
  EXPECT_EQ(json::serialize(all->at("fields").at(3)),
            R"({"id":"votos","type":"int","info":{"label":"votos"}})");
  EXPECT_EQ(json::serialize(all->at("geo")),
            R"({"lat_column":"latitud","lon_column":"longitud","label_column":"delegacion"})");

  auto page = Anon("datos.preview.search",
                   {{"sort", "votos"}, {"order", "desc"}, {"limit", 2}, {"offset", 1}});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->at("records").at(0).at("delegacion").as_string(), "Del Carmen");
  EXPECT_EQ(page->at("records").at(1).at("delegacion").as_string(), "San Miguel");

  auto filtered =
      Anon("datos.preview.search", {{"filters", R"({"delegacion": "Coecillo", "votos": 7450})"}});
  ASSERT_TRUE(filtered.ok()) << filtered.status().ToString();
  EXPECT_EQ(filtered->at("total").as_int64(), 1);
  auto words = Anon("datos.preview.search", {{"q", "JÉREZ"}});
  ASSERT_TRUE(words.ok());
  EXPECT_EQ(words->at("records").at(0).at("delegacion").as_string(), "Cerrito de Jerez");
}

TEST_P(DatastoreActionsTest, BadInputIsRefusedNamingTheField) {
  EXPECT_EQ(RefusedField("datos.preview.search", {{"limit", 101}}), "limit");
  EXPECT_EQ(RefusedField("datos.preview.search", {{"offset", -1}}), "offset");
  EXPECT_EQ(RefusedField("datos.preview.search", {{"order", "arriba"}}), "order");
  EXPECT_EQ(RefusedField("datos.preview.search", {{"sort", "nope"}}), "sort");
  EXPECT_EQ(RefusedField("datos.preview.search", {{"sort", "votos, delegacion"}}), "sort");
  EXPECT_EQ(RefusedField("datos.preview.search", {{"filters", "delegacion=Coecillo"}}), "filters");
  EXPECT_EQ(RefusedField("datos.preview.search", {{"filters", R"({"votos": "muchos"})"}}),
            "filters");
  EXPECT_EQ(RefusedField("datos.preview.search", {{"filters", R"({"nope": "1"})"}}), "filters");
  EXPECT_EQ(RefusedField("datos.preview.search", {{"filters", R"({"votos": [1, 2]})"}}), "filters");
  auto missing = Run(Principal::Anonymous(), "datos.preview.search", {});
  EXPECT_EQ(missing.status().fields().at(0).field, "resource_id");
  EXPECT_EQ(Run(Principal::Anonymous(), "datos.preview.search", {{"resource_id", "no-existe"}})
                .status()
                .code(),
            StatusCode::kNotFound);
  EXPECT_EQ(RefusedField("datos.datastore.chart", {{"x", "delegacion"}, {"limit", 51}}), "limit");
  EXPECT_EQ(RefusedField("datos.datastore.chart", {{"x", "delegacion"}, {"aggregation", "max"}}),
            "aggregation");
  EXPECT_EQ(RefusedField("datos.datastore.chart",
                         {{"x", "delegacion"}, {"y", "delegacion"}, {"aggregation", "suma"}}),
            "y");
  EXPECT_EQ(RefusedField("datos.datastore.chart", {{"aggregation", "conteo"}}), "x");
  EXPECT_EQ(RefusedField("datos.datastore.points", {{"limit", 5001}}), "limit");

  auto parsed = ParseDatastoreFilters(R"({"a": "x", "b": 2.5, "c": -3})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->size(), 3u);
  EXPECT_EQ((*parsed)[1].second, "2.5");
  EXPECT_EQ((*parsed)[2].second, "-3");
  EXPECT_TRUE(ParseDatastoreFilters("").ok());
  for (const char* bad : {"[]", "{\"a\": null}", "{\"a\": {}}", "{\"a\": true}", "{"})
    EXPECT_EQ(ParseDatastoreFilters(bad).status().code(), StatusCode::kInvalidArgument) << bad;
}

TEST_P(DatastoreActionsTest, RowsOfADraftDatasetAreForStaffOnly) {
  ASSERT_TRUE(Run(Principal::System(), "datos.package.unpublish", {{"id", f_->dataset_id}}).ok());
  for (const char* action : {"datos.preview.search", "datos.datastore.points"})
    EXPECT_EQ(Anon(action, {}).status().code(), StatusCode::kNotFound) << action;
  EXPECT_EQ(Anon("datos.datastore.chart", {{"x", "delegacion"}}).status().code(),
            StatusCode::kNotFound);
  Principal citizen;
  citizen.user_id = 2;
  citizen.role = Role::kCiudadano;
  EXPECT_EQ(Run(citizen, "datos.preview.search", {{"resource_id", f_->resource}}).status().code(),
            StatusCode::kNotFound);
  auto staff = Run(Enlace(), "datos.preview.search", {{"resource_id", f_->resource}});
  ASSERT_TRUE(staff.ok()) << staff.status().ToString();
  EXPECT_EQ(staff->at("total").as_int64(), 7);
  ASSERT_TRUE(Run(Principal::System(), "datos.package.publish", {{"id", f_->dataset_id}}).ok());
  EXPECT_TRUE(Anon("datos.preview.search", {}).ok());
}

TEST_P(DatastoreActionsTest, ChartAggregatesTheFilteredRowsInSql) {
  auto sum =
      Anon("datos.datastore.chart", {{"x", "delegacion"}, {"y", "votos"}, {"aggregation", "suma"}});
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  EXPECT_EQ(sum->at("total").as_int64(), 7);
  EXPECT_FALSE(sum->at("truncated").as_bool());
  const auto& points = sum->at("points").as_array();
  ASSERT_EQ(points.size(), 7u);
  EXPECT_EQ(points[0].at("x").as_string(), "Cerrito de Jerez");
  EXPECT_DOUBLE_EQ(points[0].at("y").as_double(), 7420);

  auto avg = Anon("datos.datastore.chart", {{"x", "proyectos_registrados"},
                                            {"y", "votos"},
                                            {"aggregation", "promedio"},
                                            {"filters", R"({"proyectos_registrados": 38})"}});
  ASSERT_TRUE(avg.ok()) << avg.status().ToString();
  ASSERT_EQ(avg->at("points").as_array().size(), 1u);
  EXPECT_EQ(avg->at("points").at(0).at("x").as_int64(), 38);
  EXPECT_DOUBLE_EQ(avg->at("points").at(0).at("y").as_double(), (7450 + 7420) / 2.0);

  auto count = Anon("datos.datastore.chart",
                    {{"x", "proyectos_registrados"}, {"aggregation", "conteo"}, {"limit", 3}});
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(count->at("total").as_int64(), 6);  // 36, 38, 40, 41, 44, 47
  EXPECT_TRUE(count->at("truncated").as_bool());
  EXPECT_EQ(json::serialize(count->at("points")),
            R"([{"x":36,"y":1E0},{"x":38,"y":2E0},{"x":40,"y":1E0}])");
}

TEST_P(DatastoreActionsTest, PointsOfTheFilteredRows) {
  auto all = Anon("datos.datastore.points", {});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->at("count").as_int64(), 7);
  EXPECT_EQ(all->at("label_column").as_string(), "delegacion");
  const auto& first = all->at("points").at(0).as_object();
  EXPECT_EQ(first.at("label").as_string(), "Cerro Gordo");
  EXPECT_DOUBLE_EQ(first.at("lat").as_double(), 21.1617);
  EXPECT_DOUBLE_EQ(first.at("lon").as_double(), -101.652);
  auto some = Anon("datos.datastore.points", {{"q", "san"}, {"limit", 1}});
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->at("total").as_int64(), 2);
  EXPECT_EQ(some->at("count").as_int64(), 1);
  EXPECT_TRUE(some->at("truncated").as_bool());
  // A table without coordinates has no points.
  auto other = Run(Principal::Anonymous(), "datos.package.show",
                   {{"id", "solicitudes-de-informacion-2025"}});
  ASSERT_TRUE(other.ok());
  auto none = Run(Principal::Anonymous(), "datos.datastore.points",
                  {{"resource_id", other->at("resources").at(0).at("id")}});
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Datastore, DatastoreActionsTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) {
                           return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
                         });

}  // namespace
}  // namespace abierto::datos
