// Connection::QueryUntrusted, the guard of the datastore's SQL endpoint, on both backends: what
// it runs, everything it must refuse, and that a refusal leaves the database as it was.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "abierto/db.h"
#include "core/db_internal.h"

namespace abierto::db {
namespace {

const char* PgUrl() {
  const char* u = std::getenv("ABIERTO_TEST_PG_URL");
  return u && *u ? u : nullptr;
}

std::string WithDatabase(const std::string& url, const std::string& name) {
  size_t slash = url.find('/', url.find("://") + 3);
  if (slash == std::string::npos) return url + "/" + name;
  size_t end = url.find('?', slash);
  return url.substr(0, slash + 1) + name + (end == std::string::npos ? "" : url.substr(end));
}

constexpr char kResource[] = "0b7c4a1e-6d2f-4c55-9a8e-1f2d3c4b5a69";
constexpr char kTable[] = "ds_0b7c4a1e_6d2f_4c55_9a8e_1f2d_1234abcd_v1";

// A datastore table (readable under its resource id) and the tables it must never reach.
const Migration kSchema{"untrusted", 1, R"sql(
  CREATE TABLE ds_0b7c4a1e_6d2f_4c55_9a8e_1f2d_1234abcd_v1 (
    _id {{INT}} PRIMARY KEY, colonia TEXT, votos {{INT}}, monto {{REAL}});
  INSERT INTO ds_0b7c4a1e_6d2f_4c55_9a8e_1f2d_1234abcd_v1 VALUES
    (1, 'Centro', 120, 1500.5), (2, 'Las Joyas', 80, 900.25), (3, 'Coecillo', 45, NULL),
    (4, 'San Miguel', 300, 2200), (5, 'Del Carmen', 10, 99.5);
  CREATE TABLE ds_otro_recurso_v1 (_id {{INT}} PRIMARY KEY, x TEXT);
  INSERT INTO ds_otro_recurso_v1 VALUES (1, 'borrador');
  CREATE TABLE users (id {{INT}} PRIMARY KEY, email TEXT, password_hash TEXT);
  INSERT INTO users VALUES (1, 'admin@example.mx', 'secreto');
)sql"};

enum class Backend { kSqlite, kPostgres };

// A number whichever type the backend gives it (PostgreSQL sums integers as numeric).
double Num(const Value& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (auto* d = std::get_if<double>(&v)) return *d;
  ADD_FAILURE() << "not a number";
  return -1;
}

class UntrustedTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      const char* base = PgUrl();
      if (!base) GTEST_SKIP() << "ABIERTO_TEST_PG_URL no está definida; se omite PostgreSQL";
      auto admin_db = Open(base);
      ASSERT_TRUE(admin_db.ok()) << admin_db.status().ToString();
      auto admin = (*admin_db)->Connect();
      ASSERT_TRUE(admin.ok()) << admin.status().ToString();
      static std::atomic<int> counter{0};
      pg_name_ = "abierto_u" + std::to_string(getpid()) + "_" + std::to_string(++counter);
      ASSERT_TRUE((*admin)->ExecScript("DROP DATABASE IF EXISTS " + pg_name_).ok());
      ASSERT_TRUE((*admin)->ExecScript("CREATE DATABASE " + pg_name_).ok());
      admin_ = std::move(*admin);
      admin_db_ = std::move(*admin_db);
      url_ = WithDatabase(base, pg_name_);
    } else {
      char tmpl[] = "/tmp/abierto_untrusted_XXXXXX";
      ASSERT_NE(mkdtemp(tmpl), nullptr);
      dir_ = tmpl;
      url_ = "sqlite:" + dir_ + "/u.db";
    }
    auto db = Open(url_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto c = db_->Connect();
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    c_ = std::move(*c);
    Status m = Migrate(*c_, {kSchema});
    ASSERT_TRUE(m.ok()) << m.ToString();
  }

  void TearDown() override {
    c_.reset();
    db_.reset();
    if (admin_) (void)admin_->ExecScript("DROP DATABASE IF EXISTS " + pg_name_ + " WITH (FORCE)");
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  UntrustedQuery Q(std::string sql) {
    UntrustedQuery q;
    q.sql = std::move(sql);
    q.tables = {{kResource, kTable}};
    q.functions = {"count", "sum",   "avg",      "max",    "min",  "lower",
                   "upper", "round", "coalesce", "length", "like", "cast"};
    q.timeout = std::chrono::milliseconds(300);
    return q;
  }

  // Every row of every table, to prove that nothing changed.
  std::string Snapshot() {
    std::string out;
    for (const char* t : {kTable, "ds_otro_recurso_v1", "users"}) {
      auto rows = c_->Query(std::string("SELECT * FROM ") + t + " ORDER BY 1");
      EXPECT_TRUE(rows.ok()) << rows.status().ToString();
      if (!rows.ok()) continue;
      for (const Row& r : *rows)
        for (size_t i = 0; i < r.values().size(); ++i) out += r.Text(r.names()[i]) + "|";
      out += "\n";
    }
    auto tables = c_->Query(GetParam() == Backend::kPostgres
                                ? "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'"
                                : "SELECT count(*) AS n FROM sqlite_master");
    if (tables.ok()) out += "tables:" + (*tables)[0].Text("n");
    return out;
  }

  void ExpectRefused(const std::string& sql, StatusCode code) {
    std::string before = Snapshot();
    auto r = c_->QueryUntrusted(Q(sql));
    ASSERT_FALSE(r.ok()) << "ran: " << sql;
    EXPECT_EQ(r.status().code(), code) << sql << " → " << r.status().ToString();
    EXPECT_EQ(Snapshot(), before) << sql;
    // The connection is still usable, with writes allowed again for trusted code.
    EXPECT_TRUE(c_->Exec("UPDATE users SET email = email WHERE id = 1").ok()) << sql;
  }

  std::string url_, dir_, pg_name_;
  std::unique_ptr<Connection> admin_;
  std::unique_ptr<Database> admin_db_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Connection> c_;
};

TEST_P(UntrustedTest, SelectsByResourceIdWithColumnsTypesAndRows) {
  auto r = c_->QueryUntrusted(Q(std::string("SELECT colonia, votos, monto FROM \"") + kResource +
                                "\" WHERE votos > 50 ORDER BY votos DESC;"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->columns, (std::vector<std::string>{"colonia", "votos", "monto"}));
  EXPECT_EQ(r->types, (std::vector<std::string>{"text", "int", "numeric"}));
  ASSERT_EQ(r->rows.size(), 3u);
  EXPECT_EQ(std::get<std::string>(r->rows[0][0]), "San Miguel");
  EXPECT_EQ(std::get<int64_t>(r->rows[0][1]), 300);
  EXPECT_FALSE(r->truncated);

  auto agg = c_->QueryUntrusted(Q(std::string("SELECT count(*) AS n, sum(votos) AS \"Total\" "
                                              "FROM \"") +
                                  kResource + "\" -- comentario final"));
  ASSERT_TRUE(agg.ok()) << agg.status().ToString();
  EXPECT_EQ(agg->columns, (std::vector<std::string>{"n", "Total"}));
  EXPECT_EQ(std::get<int64_t>(agg->rows[0][0]), 5);
  EXPECT_EQ(Num(agg->rows[0][1]), 555);

  // A quoted name inside a string is text, not a table.
  auto lit = c_->QueryUntrusted(Q(std::string("SELECT '\"") + kResource + "\"' AS s"));
  ASSERT_TRUE(lit.ok()) << lit.status().ToString();
  EXPECT_EQ(std::get<std::string>(lit->rows[0][0]), std::string("\"") + kResource + "\"");

  // CTEs, subqueries and VALUES are SELECTs too.
  auto cte = c_->QueryUntrusted(
      Q(std::string("WITH grandes AS (SELECT * FROM \"") + kResource +
        "\" WHERE votos >= 100) SELECT lower(colonia) AS c FROM grandes ORDER BY c"));
  ASSERT_TRUE(cte.ok()) << cte.status().ToString();
  EXPECT_EQ(cte->rows.size(), 2u);
  EXPECT_TRUE(c_->QueryUntrusted(Q("VALUES (1), (2)")).ok());
}

TEST_P(UntrustedTest, RowLimitTruncates) {
  UntrustedQuery q = Q(std::string("SELECT _id FROM \"") + kResource + "\" ORDER BY _id");
  q.max_rows = 3;
  auto r = c_->QueryUntrusted(q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows.size(), 3u);
  EXPECT_TRUE(r->truncated);
  q.max_rows = 5;
  r = c_->QueryUntrusted(q);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rows.size(), 5u);
  EXPECT_FALSE(r->truncated);
}

TEST_P(UntrustedTest, WritesAndOtherStatementsAreRefused) {
  const std::string t = std::string("\"") + kResource + "\"";
  for (const std::string& sql : std::vector<std::string>{
           "INSERT INTO " + t + " VALUES (9, 'x', 1, 1)", "UPDATE " + t + " SET votos = 0",
           "DELETE FROM " + t, "DROP TABLE " + t, "CREATE TABLE x (a INT)",
           "ATTACH DATABASE '/tmp/x.db' AS x", "PRAGMA writable_schema = 1", "SET search_path = x",
           "COPY users TO '/tmp/x'", "BEGIN", "ALTER TABLE users ADD COLUMN x INT", "VACUUM",
           "GRANT ALL ON users TO public", "EXPLAIN SELECT 1",
           "  /* comentario */ delete from " + t})
    ExpectRefused(sql, StatusCode::kPermissionDenied);
  // A write hidden in a CTE starts like a SELECT: the engine itself refuses it (SQLite has no
  // such CTEs and reads it as a syntax error).
  ExpectRefused("WITH x AS (DELETE FROM " + t + " RETURNING *) SELECT * FROM x",
                GetParam() == Backend::kPostgres ? StatusCode::kPermissionDenied
                                                 : StatusCode::kInvalidArgument);
  ExpectRefused("WITH x AS (SELECT 1) DELETE FROM " + t, StatusCode::kPermissionDenied);
  if (GetParam() == Backend::kPostgres)
    ExpectRefused("SELECT * FROM " + t + " FOR UPDATE", StatusCode::kPermissionDenied);
}

TEST_P(UntrustedTest, SeveralStatementsAreRefused) {
  const std::string t = std::string("\"") + kResource + "\"";
  ExpectRefused("SELECT 1; DROP TABLE users", StatusCode::kInvalidArgument);
  ExpectRefused("SELECT * FROM " + t + ";DELETE FROM " + t, StatusCode::kInvalidArgument);
  ExpectRefused("SELECT 1; SELECT 2", StatusCode::kInvalidArgument);
  // Semicolons inside strings, names and comments do not end the statement.
  auto r = c_->QueryUntrusted(Q("SELECT 'a;b' AS \"c;d\" /* ; */ ;"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::get<std::string>(r->rows[0][0]), "a;b");
}

TEST_P(UntrustedTest, OnlyTheGivenTablesAreReadable) {
  const std::string t = std::string("\"") + kResource + "\"";
  for (const std::string& sql : std::vector<std::string>{
           std::string("SELECT * FROM users"), std::string("SELECT count(*) FROM users"),
           std::string("SELECT * FROM ds_otro_recurso_v1"),
           "SELECT * FROM " + t + " WHERE colonia IN (SELECT email FROM users)",
           "SELECT * FROM " + t + " JOIN users ON users.id = " + t + "._id",
           "WITH u AS (SELECT * FROM users) SELECT * FROM u",
           std::string("SELECT (SELECT password_hash FROM users LIMIT 1) AS h")})
    ExpectRefused(sql, StatusCode::kPermissionDenied);
  if (GetParam() == Backend::kSqlite) {
    ExpectRefused("SELECT * FROM sqlite_master", StatusCode::kPermissionDenied);
    ExpectRefused("SELECT * FROM sqlite_schema", StatusCode::kPermissionDenied);
    ExpectRefused("SELECT name FROM pragma_table_info('users')", StatusCode::kPermissionDenied);
  } else {
    ExpectRefused("SELECT * FROM pg_catalog.pg_class", StatusCode::kPermissionDenied);
    ExpectRefused("SELECT * FROM pg_shadow", StatusCode::kPermissionDenied);
    ExpectRefused("SELECT table_name FROM information_schema.tables",
                  StatusCode::kPermissionDenied);
    ExpectRefused("SELECT * FROM pg_stat_activity", StatusCode::kPermissionDenied);
  }
  // A table that does not exist is a bad query, not a permission question.
  ExpectRefused("SELECT * FROM \"no-existe\"", StatusCode::kInvalidArgument);
}

TEST_P(UntrustedTest, OnlyTheGivenFunctionsAreCallable) {
  const std::string t = std::string("\"") + kResource + "\"";
  if (GetParam() == Backend::kSqlite) {
    for (const char* sql :
         {"SELECT sqlite_version()", "SELECT load_extension('x')", "SELECT zeroblob(1000)",
          "SELECT randomblob(10)", "SELECT printf('%s', 'x')"})
      ExpectRefused(sql, StatusCode::kPermissionDenied);
  } else {
    for (const char* sql : {
             "SELECT pg_read_file('/etc/passwd')",
             "SELECT pg_sleep(10)",
             "SELECT current_setting('data_directory')",
             "SELECT set_config('statement_timeout', '0', true)",
             "SELECT query_to_xml('select * from users', true, true, '')",
             "SELECT * FROM pg_ls_dir('.')",
             "SELECT pg_catalog.pg_read_file('/etc/passwd')",
             "SELECT pg_catalog.lower('X')",
             "SELECT \"pg_read_file\"('/etc/passwd')",
             "SELECT pg_read_file /* hola */ ('/etc/passwd')",
             "SELECT 1pg_read_file('/etc/passwd')",
             // Backslashes escape nothing in a standard string, and a doubled one in E''.
             "SELECT 'a\\' , pg_read_file('/etc/passwd') --'",
             "SELECT E'\\\\', pg_sleep(1)",
             "SELECT $a$ x $a$, pg_sleep(1)",
             "SELECT abc$x$ FROM (SELECT 1 AS abc$x$) s WHERE pg_sleep(1) IS NULL",
             "SELECT pg_advisory_lock(1)",
         })
      ExpectRefused(sql, StatusCode::kPermissionDenied);
    ExpectRefused("SELECT U&\"\\0070g_sleep\"(1)", StatusCode::kPermissionDenied);
    // Strings that only look like calls are text.
    auto r = c_->QueryUntrusted(Q("SELECT 'pg_sleep(1)' AS a, $$pg_read_file('x')$$ AS b"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // Allowed functions, casts with type modifiers and CTE column lists work.
  auto r =
      c_->QueryUntrusted(Q("WITH c(x) AS (SELECT round(monto) FROM " + t +
                           ") SELECT CAST(max(x) AS numeric(12, 2)) AS m, upper('a') AS u FROM c"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST_P(UntrustedTest, SlowQueriesStopAtTheTimeLimit) {
  std::string before = Snapshot();
  auto t0 = std::chrono::steady_clock::now();
  auto r = c_->QueryUntrusted(
      Q("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2000000000) "
        "SELECT count(*) FROM n"));
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_NE(r.status().message().find("tiempo"), std::string::npos) << r.status().message();
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(Snapshot(), before);
}

TEST_P(UntrustedTest, InsideTheCallersTransactionNothingLeaks) {
  ASSERT_TRUE(c_->BeginRead().ok());
  ASSERT_TRUE(c_->Query("SELECT count(*) AS n FROM users").ok());
  auto bad = c_->QueryUntrusted(Q("SELECT * FROM users"));
  EXPECT_FALSE(bad.ok());
  auto good = c_->QueryUntrusted(Q(std::string("SELECT count(*) AS n FROM \"") + kResource + "\""));
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_TRUE(c_->InTransaction());
  // The caller's transaction goes on as it was, and may still be committed.
  EXPECT_TRUE(c_->Query("SELECT count(*) AS n FROM users").ok());
  EXPECT_TRUE(c_->Commit().ok());
  // Trusted writes work again afterwards.
  auto w = c_->Exec("UPDATE users SET email = 'otro@example.mx' WHERE id = 1");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(*w, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, UntrustedTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& i) {
                           return i.param == Backend::kSqlite ? std::string("Sqlite")
                                                              : std::string("Postgres");
                         });

TEST(UntrustedLexer, ListsCallsAndRewritesOnlyQuotedResourceNames) {
  UntrustedQuery q;
  q.sql =
      "SELECT lower(\"a\".x), count(*) FROM \"r-1\" AS \"a\" WHERE x IN (1) AND y::numeric(3) "
      "> 0 AND z = 'r-1' AND w = \"r-1\".v ORDER BY coalesce (x, 1);";
  q.tables = {{"r-1", "ds_r_1_v2"}};
  auto p = internal::PrepareUntrusted(q, Dialect::kPostgres);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->calls, (std::vector<std::string>{"lower", "count", "coalesce"}));
  EXPECT_EQ(p->sql,
            "SELECT lower(\"a\".x), count(*) FROM \"ds_r_1_v2\" AS \"a\" WHERE x IN (1) AND "
            "y::numeric(3) > 0 AND z = 'r-1' AND w = \"ds_r_1_v2\".v ORDER BY coalesce (x, 1)");
  q.sql = "SELECT [r-1] FROM `r-1`";  // SQLite's other quotes are not resource names
  p = internal::PrepareUntrusted(q, Dialect::kSqlite);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->sql, q.sql);
  for (const char* bad : {"SELECT 'abierta", "SELECT \"abierto", "SELECT /* abierto", "", " ; "}) {
    q.sql = bad;
    EXPECT_EQ(internal::PrepareUntrusted(q, Dialect::kPostgres).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace abierto::db
