// Whole-platform tests: every module registered as in production, on a real SQLite database
// loaded with the demo content, driven through the dispatcher and through App::Handle.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include "abierto/web.h"
#include "modules.h"

namespace abierto {
namespace {

namespace json = boost::json;

class PlatformTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("ABIERTO_TODAY", "2026-11-21", 1);
    dir_ =
        std::filesystem::temp_directory_path() / ("abierto-platform-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    web::Config c;
    c.db_url = "sqlite:" + (dir_ / "platform.db").string();
    auto app = web::App::Create(c, Modules());
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    app_ = std::move(app.value()).release();
    ASSERT_TRUE(app_->Migrate().ok());
    Status demo = app_->LoadDemo();
    ASSERT_TRUE(demo.ok()) << demo.ToString();
  }
  static void TearDownTestSuite() {
    delete app_;
    std::filesystem::remove_all(dir_);
  }

  db::Connection& Db() { return **app_->ThreadConnection(); }

  // A principal of each role, as the web layer would build it from a session.
  Principal As(Role r) {
    Principal p;
    p.role = r;
    if (r != Role::kAnonymous) {
      p.user_id = 1;
      p.email = "prueba@example.org";
    }
    if (r == Role::kEnlace) p.unit_id = 1;
    return p;
  }

  // A fingerprint of everything a write leaves behind.
  std::string WriteTrace() {
    auto audit = Db().Query("SELECT COUNT(*) AS n FROM audit_log");
    auto rev = ReadRevision(Db());
    return std::to_string(audit.ok() ? (*audit)[0].Int("n") : -1) + "/" +
           std::to_string(rev.ok() ? *rev : -1);
  }

  http::Response Get(std::string path) {
    http::Request req;
    req.method = "GET";
    req.target = path;
    size_t q = path.find('?');
    req.path = path.substr(0, q);
    if (q != std::string::npos) req.query = path.substr(q + 1);
    req.remote_address = "127.0.0.1";
    return app_->Handle(req);
  }

  static web::App* app_;
  static std::filesystem::path dir_;
};

web::App* PlatformTest::app_ = nullptr;
std::filesystem::path PlatformTest::dir_;

// The guarantee the action registry exists for: every write, enumerated from the registry,
// is refused to anonymous callers and to every role it does not list — and the refusal
// writes nothing.
TEST_F(PlatformTest, EveryWriteIsRefusedToEveryRoleNotAllowed) {
  int writes = 0, refusals = 0;
  for (const Action& a : app_->registry().actions()) {
    if (!a.mutating) continue;
    ++writes;
    for (Role r : kAllRoles) {
      if (a.Allows(r)) continue;
      std::string before = WriteTrace();
      auto out = app_->dispatcher().Run(Db(), As(r), a.name, json::object{});
      ASSERT_FALSE(out.ok()) << a.name << " ran for " << RoleName(r);
      StatusCode want =
          r == Role::kAnonymous ? StatusCode::kUnauthenticated : StatusCode::kPermissionDenied;
      EXPECT_EQ(out.status().code(), want)
          << a.name << " as " << RoleName(r) << ": " << out.status().ToString();
      EXPECT_EQ(WriteTrace(), before) << a.name << " as " << RoleName(r) << " left a trace";
      ++refusals;
    }
  }
  EXPECT_GT(writes, 10);
  EXPECT_GT(refusals, writes);
}

// No write is open to anonymous visitors except logging in and asking for a dataset (DatA-LEÓN
// takes requests from anyone, as its requests page says), and every action says who may call
// it: an empty role list would be a write nobody can call, or a mistake.
TEST_F(PlatformTest, OnlyLoginIsOpenToAnonymousWriters) {
  const std::set<std::string> open = {"session.login", "datos.request.create"};
  for (const Action& a : app_->registry().actions()) {
    EXPECT_FALSE(a.roles.empty()) << a.name;
    if (a.mutating && !open.count(a.name)) {
      EXPECT_FALSE(a.Allows(Role::kAnonymous)) << a.name;
    }
  }
}

TEST_F(PlatformTest, ActionNamesAreUnique) {
  std::set<std::string> seen;
  for (const Action& a : app_->registry().actions())
    EXPECT_TRUE(seen.insert(a.name).second) << "duplicate action " << a.name;
}

TEST_F(PlatformTest, AnEnlaceCannotReportOnAnotherUnitsCommitment) {
  // The demo's first enlace belongs to the Unidad de Transparencia (unit 1); action rows of
  // the participatory-budget commitment belong to unit 2.
  auto rows = Db().Query(
      "SELECT pa.id FROM plan_actions pa JOIN commitments c ON c.id = pa.commitment_id WHERE "
      "c.unit_id <> 1 LIMIT 1");
  ASSERT_TRUE(rows.ok() && !rows->empty());
  std::string before = WriteTrace();
  auto out = app_->dispatcher().Run(
      Db(), As(Role::kEnlace), "progress.file",
      json::object{{"action_id", (*rows)[0].Int("id")}, {"value", 1}, {"narrative", "x"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(WriteTrace(), before);
}

TEST_F(PlatformTest, BadInputIsRefusedWithFieldErrorsAndWritesNothing) {
  Principal admin = As(Role::kAdmin);
  struct Case {
    const char* action;
    json::object input;
    const char* field;
  };
  std::vector<Case> cases = {
      {"plan.create",
       {{"title", "X"},
        {"period_start", "2025-12-01"},
        {"period_end", "2025-01-01"},
        {"status", "borrador"}},
       "period_end"},
      {"plan.create",
       {{"title", "X"},
        {"period_start", "2025-01-01"},
        {"period_end", "2025-12-01"},
        {"status", "borrador"},
        {"delay_points", "150"}},
       "delay_points"},
      {"plan.create",
       {{"title", "X"},
        {"period_start", "2025-02-30"},
        {"period_end", "2025-12-01"},
        {"status", "borrador"}},
       "period_start"},
      {"plan.create",
       {{"title", "X\xff\xfe"},
        {"period_start", "2025-01-01"},
        {"period_end", "2025-12-01"},
        {"status", "borrador"}},
       "title"},
      {"plan.create",
       {{"title", std::string(201, 'a')},
        {"period_start", "2025-01-01"},
        {"period_end", "2025-12-01"},
        {"status", "borrador"}},
       "title"},
      {"plan.create",
       {{"title", "X"},
        {"period_start", "2025-01-01"},
        {"period_end", "2025-12-01"},
        {"status", "abierto"}},
       "status"},
      {"commitment.create",
       {{"axis_id", 1},
        {"code", "Z"},
        {"title", "t"},
        {"unit_id", 1},
        {"start_date", "2026-01-01"},
        {"end_date", "2025-01-01"}},
       "end_date"},
      {"commitment.create",
       {{"axis_id", 1},
        {"code", "Z"},
        {"title", "t"},
        {"unit_id", 1},
        {"start_date", "2025-01-01"},
        {"end_date", "2026-01-01"},
        {"weight", 0}},
       "weight"},
      {"commitment.create",
       {{"axis_id", 1},
        {"code", "Z"},
        {"title", "t"},
        {"unit_id", 999999},
        {"start_date", "2025-01-01"},
        {"end_date", "2026-01-01"}},
       "unit_id"},
      {"progress.file", {{"action_id", "abc"}, {"value", 1}, {"narrative", "x"}}, "action_id"},
      {"progress.file", {{"action_id", 1}, {"value", "NaN"}, {"narrative", "x"}}, "value"},
      {"progress.file",
       {{"action_id", 1},
        {"value", 1},
        {"narrative", "x"},
        {"evidence_url", "javascript:alert(1)"}},
       "evidence_url"},
      {"progress.file",
       {{"action_id", 1}, {"value", 1}, {"narrative", "x"}, {"reported_on", "2099-01-01"}},
       "reported_on"},
      {"users.create",
       {{"email", "no-es-correo"}, {"name", "n"}, {"role", "admin"}, {"password", "0123456789"}},
       "email"},
      {"users.create",
       {{"email", "a@b.mx"}, {"name", "n"}, {"role", "enlace"}, {"password", "0123456789"}},
       "unit_id"},
  };
  for (const Case& c : cases) {
    std::string before = WriteTrace();
    auto out = app_->dispatcher().Run(Db(), admin, c.action, c.input);
    ASSERT_FALSE(out.ok()) << c.action << " accepted " << json::serialize(c.input);
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << out.status().ToString();
    bool named = false;
    for (const FieldError& f : out.status().fields()) named |= f.field == c.field;
    EXPECT_TRUE(named) << c.action << ": expected an error on " << c.field << ", got "
                       << out.status().ToString();
    EXPECT_EQ(WriteTrace(), before) << c.action;
  }
}

TEST_F(PlatformTest, UnknownIdsAreNotFound) {
  for (auto [action, input] :
       std::vector<std::pair<const char*, json::object>>{{"commitment.show", {{"id", 999999}}},
                                                         {"plan.show", {{"plan", "no-existe"}}},
                                                         {"progress.validate", {{"id", 999999}}},
                                                         {"files.show", {{"id", 999999}}}}) {
    auto out = app_->dispatcher().Run(Db(), As(Role::kAdmin), action, input);
    ASSERT_FALSE(out.ok()) << action;
    EXPECT_EQ(out.status().code(), StatusCode::kNotFound) << action << out.status().ToString();
  }
}

TEST_F(PlatformTest, ValidatingTwiceIsAConflict) {
  auto rows = Db().Query("SELECT id FROM progress_reports WHERE status = 'validado' LIMIT 1");
  ASSERT_TRUE(rows.ok() && !rows->empty());
  auto out = app_->dispatcher().Run(Db(), As(Role::kSecretariado), "progress.validate",
                                    json::object{{"id", (*rows)[0].Int("id")}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kConflict);
}

TEST_F(PlatformTest, PagesCarrySecurityHeadersAndEscapeUserText) {
  // Text with markup, stored through the normal action, must come out escaped.
  auto made = app_->dispatcher().Run(Db(), As(Role::kAdmin), "commitment.create",
                                     json::object{{"axis_id", 1},
                                                  {"code", "XSS"},
                                                  {"title", "<script>alert(1)</script>"},
                                                  {"problem", "'; DROP TABLE plans; --"},
                                                  {"unit_id", 1},
                                                  {"start_date", "2025-01-01"},
                                                  {"end_date", "2026-01-01"}});
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  int64_t id = made->as_object().at("id").as_int64();
  http::Response r = Get("/compromisos/" + std::to_string(id));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("<script>alert(1)"), std::string::npos);
  EXPECT_NE(r.body.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(r.body.find("&#39;; DROP TABLE plans; --"), std::string::npos);
  bool csp = false, nosniff = false;
  for (const auto& [k, v] : r.headers) {
    if (k == "Content-Security-Policy") {
      csp = true;
      EXPECT_EQ(v.find("unsafe-inline"), std::string::npos);
      EXPECT_NE(v.find("frame-ancestors 'none'"), std::string::npos);
    }
    nosniff |= k == "X-Content-Type-Options" && v == "nosniff";
  }
  EXPECT_TRUE(csp);
  EXPECT_TRUE(nosniff);
  EXPECT_TRUE(Db().Query("SELECT COUNT(*) AS n FROM plans").ok());
}

TEST_F(PlatformTest, DashboardAndApiAgree) {
  http::Response page = Get("/planes/pamga-2025-2027");
  ASSERT_EQ(page.status, 200);
  http::Response api = Get("/api/v1/plans/pamga-2025-2027");
  ASSERT_EQ(api.status, 200);
  json::object p = json::parse(api.body).as_object();
  EXPECT_EQ(p.at("axes").as_array().size(), 4u);
  for (const char* axis : {"Datos Abiertos", "Presupuesto Participativo", "Mi Barrio Habla",
                           "Cabildo Abierto Juvenil"})
    EXPECT_NE(page.body.find(axis), std::string::npos) << axis;
  // The plan's headline figure is printed on the page as the API reports it.
  double progress = p.at("progress").as_double();
  char label[32];
  snprintf(label, sizeof label, "%.1f%%", progress);
  EXPECT_NE(page.body.find(label), std::string::npos) << label;
  EXPECT_NE(page.body.find("29 de agosto de 2025"), std::string::npos);
}

TEST_F(PlatformTest, UnknownPathsAndMethodsAreClientErrors) {
  EXPECT_EQ(Get("/no/existe").status, 404);
  EXPECT_EQ(Get("/compromisos/abc").status, 400);
  EXPECT_EQ(Get("/compromisos/99999999999999999999999").status, 400);
  EXPECT_EQ(Get("/planes/pamga-2025-2027/matriz.exe").status, 404);
  http::Request post;
  post.method = "POST";
  post.target = post.path = "/planes/pamga-2025-2027";
  EXPECT_EQ(app_->Handle(post).status, 405);
}

}  // namespace
}  // namespace abierto
