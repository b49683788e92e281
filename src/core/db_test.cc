#include "abierto/db.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "core/db_internal.h"

namespace abierto::db {
namespace {

namespace fs = std::filesystem;

std::string MakeTempDir() {
  std::string tmpl = ::testing::TempDir() + "abierto_db_XXXXXX";
  char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  return tmpl;
}

// Replaces the database name in a postgresql:// URL.
std::string WithDatabase(const std::string& url, const std::string& name) {
  size_t slash = url.find('/', url.find("://") + 3);
  if (slash == std::string::npos) return url + "/" + name;
  size_t end = url.find('?', slash);
  return url.substr(0, slash + 1) + name + (end == std::string::npos ? "" : url.substr(end));
}

const char* PgUrl() {
  const char* u = std::getenv("ABIERTO_TEST_PG_URL");
  return u && *u ? u : nullptr;
}

enum class Backend { kSqliteFile, kSqliteMemory, kPostgres };

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  switch (info.param) {
    case Backend::kSqliteFile:
      return "SqliteFile";
    case Backend::kSqliteMemory:
      return "SqliteMemory";
    case Backend::kPostgres:
      return "Postgres";
  }
  return "Unknown";
}

// The schema most tests use, written once in the common dialect.
const Migration kBase{"prueba", 1, R"sql(
  CREATE TABLE colonia (
    id {{ID}},
    nombre TEXT NOT NULL UNIQUE,
    poblacion {{INT}},
    superficie {{REAL}},
    plano {{BLOB}}
  );
  CREATE TABLE propuesta (
    id {{ID}},
    colonia_id {{INT}} NOT NULL REFERENCES colonia(id),
    titulo TEXT NOT NULL,
    votos {{INT}} NOT NULL DEFAULT 0 CHECK (votos >= 0)
  );
)sql"};

class DbTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    switch (GetParam()) {
      case Backend::kSqliteFile:
        dir_ = MakeTempDir();
        url_ = "sqlite:" + dir_ + "/sub/dir/prueba.db";  // parents do not exist yet
        break;
      case Backend::kSqliteMemory:
        url_ = "sqlite::memory:";
        break;
      case Backend::kPostgres: {
        const char* base = PgUrl();
        if (!base) GTEST_SKIP() << "ABIERTO_TEST_PG_URL no está definida; se omite PostgreSQL";
        // A fresh database per test, created through the one the environment names.
        auto admin_db = Open(base);
        ASSERT_TRUE(admin_db.ok()) << admin_db.status().ToString();
        auto admin = (*admin_db)->Connect();
        ASSERT_TRUE(admin.ok()) << admin.status().ToString();
        static std::atomic<int> counter{0};
        pg_name_ = "abierto_t" + std::to_string(getpid()) + "_" + std::to_string(++counter);
        ASSERT_TRUE((*admin)->ExecScript("DROP DATABASE IF EXISTS " + pg_name_).ok());
        Status s = (*admin)->ExecScript("CREATE DATABASE " + pg_name_);
        ASSERT_TRUE(s.ok()) << s.ToString();
        admin_ = std::move(*admin);
        admin_db_ = std::move(*admin_db);
        url_ = WithDatabase(base, pg_name_);
        break;
      }
    }
    auto db = Open(url_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    c_ = Connect();
    ASSERT_NE(c_, nullptr);
  }

  void TearDown() override {
    c_.reset();
    db_.reset();
    if (admin_) {
      Status s = admin_->ExecScript("DROP DATABASE IF EXISTS " + pg_name_ + " WITH (FORCE)");
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::unique_ptr<Connection> Connect() {
    auto c = db_->Connect();
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  void MigrateBase() {
    Status s = Migrate(*c_, {kBase});
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  int64_t Count(Connection& c, const std::string& table) {
    auto r = c.QueryOne("SELECT COUNT(*) AS n FROM " + table, {}, "");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->Int("n") : -1;
  }

  int64_t InsertColonia(const std::string& nombre) {
    auto r = c_->QueryOne("INSERT INTO colonia (nombre) VALUES (?) RETURNING id", {nombre}, "");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->Int("id") : -1;
  }

  bool IsPostgres() const { return GetParam() == Backend::kPostgres; }

  std::string dir_, url_, pg_name_;
  std::unique_ptr<Database> admin_db_;
  std::unique_ptr<Connection> admin_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Connection> c_;
};

TEST_P(DbTest, MigrationCreatesTablesAndInsertReturnsId) {
  MigrateBase();
  EXPECT_EQ(c_->dialect(), IsPostgres() ? Dialect::kPostgres : Dialect::kSqlite);
  EXPECT_EQ(InsertColonia("Centro"), 1);
  EXPECT_EQ(InsertColonia("San Juan de Dios"), 2);
  auto m = c_->QueryOne("SELECT module, version, applied_at FROM schema_migrations", {}, "");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->Text("module"), "prueba");
  EXPECT_EQ(m->Int("version"), 1);
  EXPECT_EQ(m->Text("applied_at").size(), 20u);  // 2025-08-29T10:00:00Z
  EXPECT_EQ(m->Text("applied_at").back(), 'Z');
}

TEST_P(DbTest, TypedValuesRoundTrip) {
  MigrateBase();
  // 2^53 + 1 cannot pass through a double unchanged.
  const int64_t big = 9007199254740993;
  const std::string text = "Zona Centro — León, Guanajuato: ñandú, acción 🌮🚲";
  const std::string bytes("\0\x01\xff\0fin\0", 8);
  auto ins =
      c_->Exec("INSERT INTO colonia (nombre, poblacion, superficie, plano) VALUES (?, ?, ?, ?)",
               {text, big, 1234.5678, Blob{bytes}});
  ASSERT_TRUE(ins.ok()) << ins.status().ToString();
  EXPECT_EQ(*ins, 1);
  ASSERT_TRUE(c_->Exec("INSERT INTO colonia (nombre, poblacion, superficie, plano) "
                       "VALUES (?, ?, ?, ?)",
                       {std::string("Vacía"), std::monostate{}, std::monostate{}, Blob{}})
                  .ok());
  ASSERT_TRUE(c_->Exec("INSERT INTO colonia (nombre, poblacion) VALUES (?, ?)",
                       {std::string("Negativa"), int64_t{-42}})
                  .ok());

  auto rows = c_->Query("SELECT nombre, poblacion, superficie, plano FROM colonia ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 3u);
  const Row& r = (*rows)[0];
  EXPECT_EQ(r.names(), (std::vector<std::string>{"nombre", "poblacion", "superficie", "plano"}));
  ASSERT_TRUE(std::holds_alternative<std::string>(r.Get("nombre")));
  EXPECT_EQ(r.Text("nombre"), text);
  ASSERT_TRUE(std::holds_alternative<int64_t>(r.Get("poblacion")));
  EXPECT_EQ(r.Int("poblacion"), big);
  ASSERT_TRUE(std::holds_alternative<double>(r.Get("superficie")));
  EXPECT_DOUBLE_EQ(r.Real("superficie"), 1234.5678);
  ASSERT_TRUE(std::holds_alternative<Blob>(r.Get("plano")));
  EXPECT_EQ(std::get<Blob>(r.Get("plano")).bytes, bytes);
  EXPECT_EQ(r.Text("plano"), bytes);

  const Row& n = (*rows)[1];
  EXPECT_TRUE(n.IsNull("poblacion"));
  EXPECT_TRUE(n.IsNull("superficie"));
  EXPECT_EQ(n.Int("poblacion"), 0);
  EXPECT_EQ(n.Real("superficie"), 0.0);
  EXPECT_EQ(n.Text("poblacion"), "");
  // An empty blob is not NULL.
  ASSERT_FALSE(n.IsNull("plano"));
  ASSERT_TRUE(std::holds_alternative<Blob>(n.Get("plano")));
  EXPECT_EQ(std::get<Blob>(n.Get("plano")).bytes, "");

  EXPECT_EQ((*rows)[2].Int("poblacion"), -42);
  EXPECT_EQ((*rows)[2].Text("poblacion"), "-42");
}

TEST_P(DbTest, ExpressionsAndBooleansHaveNumericTypes) {
  auto r =
      c_->QueryOne("SELECT 1 + 1 AS dos, 2.5 * 2 AS cinco, 1 = 1 AS verdad, 'x' AS equis", {}, "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(std::holds_alternative<int64_t>(r->Get("dos")));
  EXPECT_EQ(r->Int("dos"), 2);
  EXPECT_TRUE(std::holds_alternative<double>(r->Get("cinco")));
  EXPECT_DOUBLE_EQ(r->Real("cinco"), 5.0);
  EXPECT_TRUE(std::holds_alternative<int64_t>(r->Get("verdad")));
  EXPECT_EQ(r->Int("verdad"), 1);
  EXPECT_EQ(r->Text("equis"), "x");
}

TEST_P(DbTest, UniqueViolationIsConflict) {
  MigrateBase();
  InsertColonia("Centro");
  auto dup = c_->Exec("INSERT INTO colonia (nombre) VALUES (?)", {std::string("Centro")});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kConflict);
  EXPECT_EQ(dup.status().message(), "Ya existe un registro con esos datos");
  auto pk =
      c_->Exec("INSERT INTO colonia (id, nombre) VALUES (?, ?)", {int64_t{1}, std::string("Otra")});
  EXPECT_EQ(pk.status().code(), StatusCode::kConflict);
  EXPECT_EQ(Count(*c_, "colonia"), 1);
}

TEST_P(DbTest, ConstraintViolationsAreInvalidArgument) {
  MigrateBase();
  int64_t centro = InsertColonia("Centro");
  auto fk = c_->Exec("INSERT INTO propuesta (colonia_id, titulo) VALUES (?, ?)",
                     {int64_t{999}, std::string("Parque")});
  ASSERT_FALSE(fk.ok());
  EXPECT_EQ(fk.status().code(), StatusCode::kInvalidArgument) << fk.status().ToString();
  auto nn = c_->Exec("INSERT INTO propuesta (colonia_id, titulo) VALUES (?, ?)",
                     {centro, std::monostate{}});
  EXPECT_EQ(nn.status().code(), StatusCode::kInvalidArgument) << nn.status().ToString();
  auto check = c_->Exec("INSERT INTO propuesta (colonia_id, titulo, votos) VALUES (?, ?, ?)",
                        {centro, std::string("Parque"), int64_t{-1}});
  EXPECT_EQ(check.status().code(), StatusCode::kInvalidArgument) << check.status().ToString();
  EXPECT_EQ(Count(*c_, "propuesta"), 0);
  // Deleting a referenced row is refused as well.
  ASSERT_TRUE(c_->Exec("INSERT INTO propuesta (colonia_id, titulo) VALUES (?, ?)",
                       {centro, std::string("Parque")})
                  .ok());
  auto del = c_->Exec("DELETE FROM colonia WHERE id = ?", {centro});
  EXPECT_EQ(del.status().code(), StatusCode::kInvalidArgument) << del.status().ToString();
}

TEST_P(DbTest, SyntaxErrorIsInternal) {
  auto r = c_->Query("SELEC 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_FALSE(r.status().message().empty());
}

TEST_P(DbTest, RollbackLeavesNothing) {
  MigrateBase();
  ASSERT_TRUE(c_->BeginWrite().ok());
  EXPECT_TRUE(c_->InTransaction());
  InsertColonia("Centro");
  InsertColonia("Obregón");
  EXPECT_EQ(Count(*c_, "colonia"), 2);
  ASSERT_TRUE(c_->Rollback().ok());
  EXPECT_FALSE(c_->InTransaction());
  EXPECT_EQ(Count(*c_, "colonia"), 0);
  // A read transaction commits as well.
  ASSERT_TRUE(c_->BeginRead().ok());
  EXPECT_EQ(Count(*c_, "colonia"), 0);
  ASSERT_TRUE(c_->Commit().ok());
  EXPECT_FALSE(c_->InTransaction());
  EXPECT_FALSE(c_->Commit().ok());  // nothing to commit
}

TEST_P(DbTest, TransactionRollsBackUnlessCommitted) {
  MigrateBase();
  {
    auto tx = Transaction::Write(*c_);
    ASSERT_TRUE(tx.ok()) << tx.status().ToString();
    InsertColonia("Centro");
  }
  EXPECT_FALSE(c_->InTransaction());
  EXPECT_EQ(Count(*c_, "colonia"), 0);
  {
    auto tx = Transaction::Write(*c_);
    ASSERT_TRUE(tx.ok());
    InsertColonia("Centro");
    Status s = tx->Commit();
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_FALSE(tx->Commit().ok());
  }
  auto other = Connect();
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(Count(*other, "colonia"), 1);
  auto read = Transaction::Read(*other);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(other->InTransaction());
}

TEST_P(DbTest, NestedBeginIsRefused) {
  ASSERT_TRUE(c_->BeginWrite().ok());
  EXPECT_FALSE(c_->BeginWrite().ok());
  EXPECT_TRUE(c_->InTransaction());
  EXPECT_TRUE(c_->Rollback().ok());
}

TEST_P(DbTest, MigrateIsIdempotentAndOrdersByModuleThenVersion) {
  MigrateBase();
  MigrateBase();  // v1 again would fail on CREATE TABLE
  // Given out of order: module "plan" first as listed, then "prueba"; versions ascend.
  std::vector<Migration> all = {
      {"plan", 2, "INSERT INTO compromiso (titulo) VALUES ('Datos abiertos');"},
      kBase,
      {"prueba", 2, "ALTER TABLE colonia ADD COLUMN clave TEXT;"},
      {"plan", 1, "CREATE TABLE compromiso (id {{ID}}, titulo TEXT NOT NULL);"},
  };
  Status s = Migrate(*c_, all);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(Migrate(*c_, all).ok());
  EXPECT_EQ(Count(*c_, "compromiso"), 1);
  EXPECT_EQ(Count(*c_, "schema_migrations"), 4);
  EXPECT_TRUE(c_->Exec("INSERT INTO colonia (nombre, clave) VALUES ('A', 'a')").ok());
}

TEST_P(DbTest, FailingMigrationLeavesNoTrace) {
  MigrateBase();
  std::vector<Migration> migrations = {
      kBase,
      {"prueba", 2,
       "CREATE TABLE efimera (x {{INT}}); INSERT INTO efimera VALUES (1); "
       "INSERT INTO colonia (nombre) VALUES ('fantasma'); "
       "INSERT INTO tabla_que_no_existe VALUES (1);"},
  };
  Status s = Migrate(*c_, migrations);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("prueba v2"), std::string::npos) << s.message();
  EXPECT_FALSE(c_->InTransaction());
  EXPECT_FALSE(c_->Query("SELECT x FROM efimera").ok());
  EXPECT_EQ(Count(*c_, "colonia"), 0);
  auto rows =
      c_->Query("SELECT version FROM schema_migrations WHERE module = ?", {std::string("prueba")});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Int("version"), 1);

  // Once fixed, it applies.
  migrations[1].sql = "CREATE TABLE efimera (x {{INT}}); INSERT INTO efimera VALUES (1);";
  s = Migrate(*c_, migrations);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Count(*c_, "efimera"), 1);
}

TEST_P(DbTest, ConcurrentMigrateAppliesOnce) {
  const std::vector<Migration> migrations = {
      {"conc", 1, "CREATE TABLE contador (n {{INT}}); INSERT INTO contador VALUES (1);"},
      {"conc", 2, "INSERT INTO contador VALUES (2);"},
      {"otro", 1, "INSERT INTO contador VALUES (3);"},
  };
  constexpr int kThreads = 4;
  std::vector<std::unique_ptr<Connection>> conns;
  for (int i = 0; i < kThreads; ++i) conns.push_back(Connect());
  std::vector<Status> results(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = Migrate(*conns[i], migrations);
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Count(*c_, "contador"), 3);
  EXPECT_EQ(Count(*c_, "schema_migrations"), 3);
}

TEST_P(DbTest, QuestionMarksInLiteralsIdentifiersAndCommentsAreNotParameters) {
  auto r = c_->QueryOne("SELECT '¿Cuándo? ¿Dónde?' AS pregunta, ? AS respuesta -- ¿y esto?\n",
                        {std::string("aquí")}, "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Text("pregunta"), "¿Cuándo? ¿Dónde?");
  EXPECT_EQ(r->Text("respuesta"), "aquí");

  ASSERT_TRUE(c_->ExecScript("CREATE TABLE \"raro?\" (\"col?\" TEXT, otra TEXT)").ok());
  auto ins = c_->Exec("INSERT INTO \"raro?\" (\"col?\", otra) VALUES (?, 'it''s ?')",
                      {std::string("valor")});
  ASSERT_TRUE(ins.ok()) << ins.status().ToString();
  auto got =
      c_->QueryOne("SELECT \"col?\" AS c, otra FROM \"raro?\" WHERE otra = 'it''s ?'", {}, "");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->Text("c"), "valor");
  EXPECT_EQ(got->Text("otra"), "it's ?");
}

TEST_P(DbTest, InjectionAttemptIsStoredLiterally) {
  MigrateBase();
  const std::string evil = "x'); DROP TABLE colonia; --";
  InsertColonia(evil);
  auto none = c_->Query("SELECT id FROM colonia WHERE nombre = ?", {std::string("' OR '1'='1")});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto r = c_->QueryOne("SELECT nombre FROM colonia WHERE nombre = ?", {evil}, "no");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Text("nombre"), evil);
  EXPECT_EQ(Count(*c_, "colonia"), 1);
}

TEST_P(DbTest, BulkInsertKeepsEveryValueExactly) {
  ASSERT_TRUE(c_->ExecScript(ExpandDialect("CREATE TABLE bulk (id {{INT}} PRIMARY KEY, "
                                           "n {{INT}}, x {{REAL}}, s TEXT, b {{BLOB}})",
                                           c_->dialect()))
                  .ok());
  // Values that need escaping in COPY's text format, the extremes, NULLs, every byte.
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  const std::vector<std::string> texts = {"",
                                          "tab\there",
                                          "line\nbreak",
                                          "cr\rhere",
                                          "back\\slash",
                                          "\\N",
                                          "\\.",
                                          "comillas \"dobles\" y 'simples'",
                                          "León ñandú 😀",
                                          "a\t\n\r\\b"};
  // (Not -0.0: SQLite keeps an integral REAL as an integer, and its sign with it.)
  const std::vector<double> doubles = {0.0, 0.1, 1e21, -1.5e-300, 228306.53, 1e308, -3.0};
  std::vector<Value> values;
  const size_t rows = 1234;  // more than one INSERT group, and a partial one
  for (size_t k = 0; k < rows; ++k) {
    values.push_back(static_cast<int64_t>(k + 1));
    values.push_back(k % 7 == 0 ? Value{} : Value{int64_t{-9000000000000000000} + int64_t(k)});
    values.push_back(k % 5 == 0 ? Value{} : Value{doubles[k % doubles.size()]});
    values.push_back(k % 11 == 0 ? Value{} : Value{texts[k % texts.size()]});
    values.push_back(k % 3 == 0 ? Value{} : Value{Blob{bytes.substr(k % 256)}});
  }
  {
    auto tx = Transaction::Write(*c_);
    ASSERT_TRUE(tx.ok());
    auto bulk = c_->BulkInsertInto("bulk", {"id", "n", "x", "s", "b"});
    ASSERT_TRUE(bulk.ok()) << bulk.status().ToString();
    // In two calls of different sizes.
    std::vector<Value> first(values.begin(), values.begin() + 5 * 1000);
    std::vector<Value> second(values.begin() + 5 * 1000, values.end());
    ASSERT_TRUE((*bulk)->Add(first, 1000).ok());
    ASSERT_TRUE((*bulk)->Add(second, rows - 1000).ok());
    Status done = (*bulk)->Finish();
    ASSERT_TRUE(done.ok()) << done.ToString();
    bulk->reset();
    ASSERT_TRUE(tx->Commit().ok());
  }
  auto back = c_->Query("SELECT id, n, x, s, b FROM bulk ORDER BY id");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), rows);
  for (size_t k = 0; k < rows; ++k) {
    const auto& got = (*back)[k].values();
    for (size_t i = 0; i < 5; ++i) {
      const Value& want = values[k * 5 + i];
      if (const auto* d = std::get_if<double>(&want)) {
        ASSERT_TRUE(std::holds_alternative<double>(got[i])) << k;
        EXPECT_EQ(std::get<double>(got[i]), *d) << k;
      } else if (const auto* b = std::get_if<Blob>(&want)) {
        ASSERT_TRUE(std::holds_alternative<Blob>(got[i])) << "row " << k;
        EXPECT_EQ(std::get<Blob>(got[i]).bytes, b->bytes) << "row " << k;
      } else {
        ASSERT_EQ(got[i].index(), want.index()) << "row " << k << " column " << i;
        if (const auto* n = std::get_if<int64_t>(&want)) EXPECT_EQ(std::get<int64_t>(got[i]), *n);
        if (const auto* t = std::get_if<std::string>(&want))
          EXPECT_EQ(std::get<std::string>(got[i]), *t) << "row " << k;
      }
    }
  }
}

TEST_P(DbTest, BulkInsertLeavesNothingWhenAbandonedOrRefused) {
  ASSERT_TRUE(c_->ExecScript(ExpandDialect("CREATE TABLE bulk (id {{INT}} PRIMARY KEY, n {{INT}})",
                                           c_->dialect()))
                  .ok());
  {  // abandoned without Finish: the transaction rolls back
    auto tx = Transaction::Write(*c_);
    ASSERT_TRUE(tx.ok());
    auto bulk = c_->BulkInsertInto("bulk", {"id", "n"});
    ASSERT_TRUE(bulk.ok());
    ASSERT_TRUE((*bulk)->Add({int64_t{1}, int64_t{10}, int64_t{2}, int64_t{20}}, 2).ok());
  }
  {  // a duplicate key: an error (at Add or at Finish), and nothing after the rollback
    auto tx = Transaction::Write(*c_);
    ASSERT_TRUE(tx.ok());
    auto bulk = c_->BulkInsertInto("bulk", {"id", "n"});
    ASSERT_TRUE(bulk.ok());
    Status s = (*bulk)->Add({int64_t{1}, int64_t{10}, int64_t{1}, int64_t{20}}, 2);
    if (s.ok()) s = (*bulk)->Finish();
    EXPECT_FALSE(s.ok());
  }
  // Outside a transaction it refuses to start.
  EXPECT_FALSE(c_->BulkInsertInto("bulk", {"id", "n"}).ok());
  auto n = c_->QueryOne("SELECT COUNT(*) AS n FROM bulk", {}, "");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->Int("n"), 0);
  // And the connection works as before.
  EXPECT_TRUE(c_->Exec("INSERT INTO bulk VALUES (?, ?)", {int64_t{5}, int64_t{50}}).ok());
}

TEST_P(DbTest, ConcurrentWritersAllSucceed) {
  ASSERT_TRUE(Migrate(*c_, {{"conc", 1,
                             "CREATE TABLE contador (id {{INT}} PRIMARY KEY, n {{INT}} NOT NULL);"
                             "CREATE TABLE bitacora (id {{ID}}, hilo {{INT}}, visto {{INT}});"
                             "INSERT INTO contador VALUES (1, 0);"}})
                  .ok());
  constexpr int kThreads = 4, kIterations = 25;
  std::atomic<int> failures{0};
  std::string first_failure;
  std::mutex mu;
  auto fail = [&](const Status& s) {
    std::lock_guard<std::mutex> lock(mu);
    if (failures++ == 0) first_failure = s.ToString();
  };
  std::vector<std::unique_ptr<Connection>> conns;
  for (int i = 0; i < kThreads; ++i) conns.push_back(Connect());
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Connection& c = *conns[t];
      start.arrive_and_wait();
      for (int i = 0; i < kIterations; ++i) {
        // Read, then write, in one transaction: with a deferred BEGIN on SQLite the lock
        // upgrade would fail under contention.
        auto tx = Transaction::Write(c);
        if (!tx.ok()) {
          fail(tx.status());
          continue;
        }
        auto seen = c.QueryOne("SELECT COUNT(*) AS n FROM bitacora", {}, "");
        if (!seen.ok()) {
          fail(seen.status());
          continue;
        }
        auto ins = c.Exec("INSERT INTO bitacora (hilo, visto) VALUES (?, ?)",
                          {int64_t{t}, seen->Int("n")});
        if (!ins.ok()) {
          fail(ins.status());
          continue;
        }
        auto up = c.Exec("UPDATE contador SET n = n + 1 WHERE id = 1");
        if (!up.ok()) {
          fail(up.status());
          continue;
        }
        Status s = tx->Commit();
        if (!s.ok()) fail(s);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_EQ(Count(*c_, "bitacora"), kThreads * kIterations);
  auto n = c_->QueryOne("SELECT n FROM contador WHERE id = 1", {}, "");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->Int("n"), kThreads * kIterations);
}

TEST_P(DbTest, QueryOneReportsNotFoundWithMessage) {
  MigrateBase();
  auto r =
      c_->QueryOne("SELECT id FROM colonia WHERE id = ?", {int64_t{7}}, "La colonia no existe");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "La colonia no existe");
}

TEST_P(DbTest, ExecReturnsChangedRows) {
  MigrateBase();
  for (const char* n : {"A", "B", "C"}) InsertColonia(n);
  auto up = c_->Exec("UPDATE colonia SET poblacion = ?", {int64_t{10}});
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(*up, 3);
  auto del = c_->Exec("DELETE FROM colonia WHERE nombre = ?", {std::string("B")});
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(*del, 1);
  auto ddl = c_->Exec("CREATE TABLE otra (x TEXT)");
  ASSERT_TRUE(ddl.ok()) << ddl.status().ToString();
  EXPECT_EQ(*ddl, 0);
}

TEST_P(DbTest, WrongParameterCountIsAnError) {
  auto r = c_->Query("SELECT ? AS a, ? AS b", {std::string("solo uno")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  // The connection is still usable.
  EXPECT_TRUE(c_->Query("SELECT 1 AS x").ok());
}

TEST_P(DbTest, ManyDistinctStatementsOutgrowTheCache) {
  // More distinct statements than the cache holds, then the first ones again (evicted and
  // prepared anew), then one statement many times.
  const int kDistinct = static_cast<int>(internal::kStatementCacheCapacity) + 50;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kDistinct; ++i) {
      auto r = c_->QueryOne("SELECT ? + " + std::to_string(i) + " AS v", {int64_t{1000}}, "");
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(r->Int("v"), 1000 + i);
    }
  }
  for (int i = 0; i < 2000; ++i) {
    auto r = c_->QueryOne("SELECT ? * 2 AS v", {int64_t{i}}, "");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->Int("v"), 2 * i);
  }
}

TEST_P(DbTest, CachedStatementSeesSchemaChange) {
  MigrateBase();
  InsertColonia("Centro");
  auto before = c_->Query("SELECT * FROM colonia");
  ASSERT_TRUE(before.ok());
  ASSERT_EQ((*before)[0].names().size(), 5u);
  ASSERT_TRUE(c_->ExecScript("ALTER TABLE colonia ADD COLUMN clave TEXT").ok());
  auto after = c_->Query("SELECT * FROM colonia");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ASSERT_EQ((*after)[0].names().size(), 6u);
  EXPECT_TRUE((*after)[0].IsNull("clave"));
}

TEST_P(DbTest, PostgresFailedStatementMakesCommitFail) {
  if (!IsPostgres()) GTEST_SKIP() << "solo PostgreSQL aborta la transacción tras un error";
  MigrateBase();
  InsertColonia("Centro");
  ASSERT_TRUE(c_->BeginWrite().ok());
  InsertColonia("Obregón");
  EXPECT_EQ(c_->Exec("INSERT INTO colonia (nombre) VALUES ('Centro')").status().code(),
            StatusCode::kConflict);
  Status s = c_->Commit();
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(c_->InTransaction());
  EXPECT_EQ(Count(*c_, "colonia"), 1);
}

TEST_P(DbTest, PostgresReconnectsAfterLostConnection) {
  if (!IsPostgres()) GTEST_SKIP() << "prueba de reconexión de PostgreSQL";
  auto other = Connect();
  ASSERT_NE(other, nullptr);
  auto kill = [&] {
    auto pid = c_->QueryOne("SELECT pg_backend_pid() AS pid", {}, "");
    ASSERT_TRUE(pid.ok());
    // With a timeout, pg_terminate_backend waits until the backend has exited.
    auto killed = other->QueryOne("SELECT pg_terminate_backend(CAST(? AS INTEGER), 10000) AS ok",
                                  {pid->Int("pid")}, "");
    ASSERT_TRUE(killed.ok()) << killed.status().ToString();
    ASSERT_EQ(killed->Int("ok"), 1);
  };

  kill();
  auto lost = c_->Query("SELECT 1 AS x");
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), StatusCode::kUnavailable) << lost.status().ToString();
  auto back = c_->QueryOne("SHOW TimeZone", {}, "");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->values().size(), 1u);
  EXPECT_EQ(back->Text("timezone"), "UTC");
  auto enc = c_->QueryOne("SHOW client_encoding", {}, "");
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(enc->Text("client_encoding"), "UTF8");

  // Inside a transaction the loss is reported, not papered over, until Rollback.
  ASSERT_TRUE(c_->BeginWrite().ok());
  kill();
  EXPECT_EQ(c_->Query("SELECT 1 AS x").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(c_->Query("SELECT 1 AS x").status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(c_->InTransaction());
  EXPECT_TRUE(c_->Rollback().ok());
  EXPECT_TRUE(c_->Query("SELECT 1 AS x").ok());
}

INSTANTIATE_TEST_SUITE_P(DbBackends, DbTest,
                         ::testing::Values(Backend::kSqliteFile, Backend::kSqliteMemory,
                                           Backend::kPostgres),
                         BackendName);

// ---------------------------------------------------------------------------------------

TEST(DbSqlite, MemoryDatabaseIsSharedByItsConnectionsOnly) {
  auto db = Open("sqlite::memory:");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto a = (*db)->Connect();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->ExecScript("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('hola');").ok());
  auto b = (*db)->Connect();
  ASSERT_TRUE(b.ok());
  auto seen = (*b)->QueryOne("SELECT x FROM t", {}, "");
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ(seen->Text("x"), "hola");
  // With every connection closed the data is still there while the Database lives.
  a->reset();
  b->reset();
  auto c = (*db)->Connect();
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE((*c)->Query("SELECT x FROM t").ok());

  auto other = Open("sqlite::memory:");
  ASSERT_TRUE(other.ok());
  auto d = (*other)->Connect();
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE((*d)->Query("SELECT x FROM t").ok());
}

TEST(DbSqlite, FileSettingsAndPersistence) {
  const std::string dir = MakeTempDir();
  const std::string path = dir + "/a/b/abierto.db";
  {
    auto db = Open("sqlite:" + path);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    EXPECT_EQ((*db)->Describe(), "sqlite:" + path);
    auto c = (*db)->Connect();
    ASSERT_TRUE(c.ok());
    auto q = [&](const char* pragma) {
      auto r = (*c)->Query(pragma);
      EXPECT_TRUE(r.ok() && r->size() == 1) << pragma;
      return r.ok() && !r->empty() ? (*r)[0].values()[0] : Value{};
    };
    EXPECT_EQ(std::get<std::string>(q("PRAGMA journal_mode")), "wal");
    EXPECT_EQ(std::get<int64_t>(q("PRAGMA foreign_keys")), 1);
    EXPECT_EQ(std::get<int64_t>(q("PRAGMA synchronous")), 1);  // NORMAL
    ASSERT_TRUE((*c)->ExecScript("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('sigue');").ok());
    // A writer waits (in short steps, see BusyWait) for another connection's write lock
    // instead of failing, and goes on once it is released.
    auto other = (*db)->Connect();
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE((*other)->BeginWrite().ok());
    ASSERT_TRUE((*other)->Exec("INSERT INTO t VALUES ('primero')").ok());
    std::thread holder([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      EXPECT_TRUE((*other)->Commit().ok());
    });
    Status waited = (*c)->Exec("INSERT INTO t VALUES ('después')").status();
    holder.join();
    EXPECT_TRUE(waited.ok()) << waited.ToString();
    auto n = (*c)->Query("SELECT x FROM t ORDER BY rowid");
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(n->size(), 3u);
    EXPECT_EQ((*n)[2].Text("x"), "después");
    ASSERT_TRUE((*c)->ExecScript("DELETE FROM t WHERE x <> 'sigue'").ok());
  }
  EXPECT_TRUE(fs::exists(path));
  {
    auto db = Open("sqlite:" + path + "?synchronous=full");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto c = (*db)->Connect();
    ASSERT_TRUE(c.ok());
    auto r = (*c)->QueryOne("SELECT x FROM t", {}, "");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->Text("x"), "sigue");
    auto sync = (*c)->Query("PRAGMA synchronous");
    ASSERT_TRUE(sync.ok());
    EXPECT_EQ(std::get<int64_t>((*sync)[0].values()[0]), 2);  // FULL
  }
  fs::remove_all(dir);
}

TEST(DbSqlite, SeveralStatementsInQueryAreRefused) {
  auto db = Open("sqlite::memory:");
  ASSERT_TRUE(db.ok());
  auto c = (*db)->Connect();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->ExecScript("CREATE TABLE t (x TEXT)").ok());
  EXPECT_FALSE((*c)->Exec("INSERT INTO t VALUES ('a'); DROP TABLE t").ok());
  EXPECT_TRUE((*c)->Exec("INSERT INTO t VALUES ('a');  ").ok());
  EXPECT_TRUE((*c)->Query("SELECT x FROM t").ok());
}

TEST(DbOpen, RejectsUnknownSchemesAndOptions) {
  auto r = Open("mysql://root:secreto@localhost/abierto");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().find("secreto"), std::string::npos);
  EXPECT_EQ(Open("sqlite:/tmp/x.db?synchronous=quizas").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Open("sqlite:").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Open("postgresql://host/db?opcion_inventada=1").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(DbOpen, PostgresDescribeHidesPasswordAndUnreachableIsUnavailable) {
  auto db = Open("postgresql://abierto:secreto@127.0.0.1:1/abierto?sslmode=disable");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ((*db)->dialect(), Dialect::kPostgres);
  EXPECT_EQ((*db)->Describe(), "postgresql://abierto@127.0.0.1:1/abierto?sslmode=disable");
  auto c = (*db)->Connect();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(c.status().message().find("secreto"), std::string::npos);
  EXPECT_EQ(internal::RedactUrl("postgres://u@h/db?password=x&sslmode=disable"),
            "postgres://u@h/db?password=***&sslmode=disable");
}

TEST(DbDialect, ExpandsPlaceholders) {
  const std::string sql = "CREATE TABLE t (id {{ID}}, b {{BLOB}}, r {{REAL}}, i {{INT}}, s TEXT)";
  EXPECT_EQ(ExpandDialect(sql, Dialect::kSqlite),
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, b BLOB, r REAL, i INTEGER, "
            "s TEXT)");
  EXPECT_EQ(ExpandDialect(sql, Dialect::kPostgres),
            "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, b BYTEA, r DOUBLE PRECISION, i BIGINT, "
            "s TEXT)");
  EXPECT_EQ(ExpandDialect("{{OTRO}} {", Dialect::kSqlite), "{{OTRO}} {");
}

TEST(DbDialect, TranslatesPlaceholders) {
  int n = -1;
  EXPECT_EQ(internal::TranslatePlaceholders("SELECT ? , ?", &n), "SELECT $1 , $2");
  EXPECT_EQ(n, 2);
  EXPECT_EQ(internal::TranslatePlaceholders("WHERE a = '?' AND \"b?\" = ? AND c = 'it''s ?' ", &n),
            "WHERE a = '?' AND \"b?\" = $1 AND c = 'it''s ?' ");
  EXPECT_EQ(n, 1);
  EXPECT_EQ(internal::TranslatePlaceholders("? -- ¿?\n/* ? */ ?", &n), "$1 -- ¿?\n/* ? */ $2");
  EXPECT_EQ(n, 2);
  EXPECT_EQ(internal::TranslatePlaceholders("'sin cerrar ?", &n), "'sin cerrar ?");
  EXPECT_EQ(n, 0);
}

TEST(DbRow, AccessorsConvert) {
  auto names = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"i", "d", "t", "n", "b", "f"});
  Row r(names,
        {int64_t{42}, 2.5, std::string("17"), std::monostate{}, Blob{"ab"}, std::string("3.75")});
  EXPECT_EQ(r.Int("i"), 42);
  EXPECT_EQ(r.Text("i"), "42");
  EXPECT_EQ(r.Real("i"), 42.0);
  EXPECT_EQ(r.Int("d"), 2);
  EXPECT_EQ(r.Text("d"), "2.5");
  EXPECT_EQ(r.Int("t"), 17);
  EXPECT_EQ(r.Real("f"), 3.75);
  EXPECT_EQ(r.Int("f"), 3);
  EXPECT_TRUE(r.IsNull("n"));
  EXPECT_EQ(r.Int("n"), 0);
  EXPECT_EQ(r.Real("n"), 0.0);
  EXPECT_EQ(r.Text("n"), "");
  EXPECT_EQ(r.Text("b"), "ab");
  EXPECT_FALSE(r.IsNull("b"));
}

TEST(DbRowDeathTest, UnknownColumnAborts) {
  auto names = std::make_shared<const std::vector<std::string>>(std::vector<std::string>{"a"});
  Row r(names, {int64_t{1}});
  EXPECT_DEATH(r.Int("b"), "no column 'b'");
}

}  // namespace
}  // namespace abierto::db
