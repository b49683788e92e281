// SQLite backend.
//
// Durability: every connection runs in WAL mode with synchronous=NORMAL by default. A
// committed transaction then survives a crash or kill of the process (the WAL is in the OS
// page cache); only a power loss or OS crash can lose the last few commits. Use
// "?synchronous=full" where that matters more than write throughput.
#include <sqlite3.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/db_internal.h"

namespace abierto::db::internal {
namespace {

using Clock = std::chrono::steady_clock;

// Both SQLite's busy handler and our own retry loops give up after this long.
constexpr int kBusyTimeoutMs = 5000;

Status MapError(sqlite3* db, int rc) {
  int ext = db ? sqlite3_extended_errcode(db) : rc;
  if ((rc & 0xff) != (ext & 0xff)) ext = rc;  // the connection's code is from another call
  std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
      return Status::Conflict(kMsgUnique);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Status::InvalidArgument(kMsgForeignKey);
    case SQLITE_CONSTRAINT_CHECK:
      return Status::InvalidArgument(kMsgCheck);
    case SQLITE_CONSTRAINT_NOTNULL:
      return Status::InvalidArgument(kMsgNotNull);
    default:
      break;
  }
  switch (ext & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(kMsgBusy);
    case SQLITE_CANTOPEN:
      return Status::Unavailable("No se pudo abrir la base de datos: " + detail);
    default:
      return Status::Internal("sqlite: " + detail);
  }
}

// Worth waiting for. A stale snapshot (BUSY_SNAPSHOT) is not: only a new transaction helps.
bool IsBusy(int rc) {
  return ((rc & 0xff) == SQLITE_BUSY && rc != SQLITE_BUSY_SNAPSHOT) || (rc & 0xff) == SQLITE_LOCKED;
}

// Short randomized pause so that competing writers do not retry in lockstep.
void Backoff() {
  thread_local std::minstd_rand rng(std::random_device{}());
  std::this_thread::sleep_for(std::chrono::microseconds(200 + rng() % 2000));
}

// Waits for a lock another connection holds. SQLite's own busy handler (sqlite3_busy_timeout)
// sleeps 1, 2, 5, 10, ... up to 100 ms between attempts, so under a burst of writers in one
// process a waiter slept far longer than the lock was held for (the voting benchmark: p50 3 ms,
// p99 270 ms). This one tries again after 50-300 us, and gives up like the built-in one after
// kBusyTimeoutMs.
int BusyWait(void*, int attempts) {
  thread_local Clock::time_point since;
  thread_local std::minstd_rand rng(std::random_device{}());
  if (attempts == 0)
    since = Clock::now();
  else if (Clock::now() - since > std::chrono::milliseconds(kBusyTimeoutMs))
    return 0;
  std::this_thread::sleep_for(std::chrono::microseconds(50 + rng() % 250));
  return 1;
}

struct Options {
  std::string path;  // a file path or a shared-cache memory URI
  bool memory = false;
  bool sync_full = false;
};

Result<sqlite3*> OpenHandle(const Options& o) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (o.memory) flags |= SQLITE_OPEN_URI;
  int rc = sqlite3_open_v2(o.path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = MapError(db, rc);
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  // The busy handler first: switching to WAL needs a lock another connection may hold.
  sqlite3_busy_handler(db, BusyWait, nullptr);
  std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=";
  pragmas += o.sync_full ? "FULL;" : "NORMAL;";
  char* err = nullptr;
  rc = sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    Status s = MapError(db, rc);
    sqlite3_free(err);
    sqlite3_close_v2(db);
    return s;
  }
  return db;
}

std::string LowerAscii(const char* s) {
  std::string out = s ? s : "";
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The state the authorizer and the progress handler of an untrusted query share.
struct UntrustedGuard {
  std::set<std::string> tables;     // lower case
  std::set<std::string> functions;  // lower case
  Clock::time_point deadline;
  bool timed_out = false;
  std::string refusal;  // why the authorizer said no, for the error message
};

// Called by SQLite for every operation while it compiles the statement: only SELECTs that
// read the given tables and call the given functions get through.
int AuthorizeUntrusted(void* p, int action, const char* a1, const char* a2, const char* db,
                       const char*) {
  auto* g = static_cast<UntrustedGuard*>(p);
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_READ:
      // A read without any column (count(*), EXISTS) names no database and cannot tell a
      // table from a CTE; the tables the compiled statement opens are checked afterwards.
      if (a2 && *a2 == '\0' && !db) return SQLITE_OK;
      if (a1 && g->tables.count(LowerAscii(a1)) && db && std::strcmp(db, "main") == 0)
        return SQLITE_OK;
      g->refusal = std::string("No se permite leer «") + (a1 ? a1 : "") +
                   "»: solo las tablas del almacén de datos publicadas";
      return SQLITE_DENY;
    case SQLITE_FUNCTION:
      if (a2 && g->functions.count(LowerAscii(a2))) return SQLITE_OK;
      g->refusal = std::string("La función «") + (a2 ? a2 : "") +
                   "» no está permitida en las consultas al almacén";
      return SQLITE_DENY;
    default:
      g->refusal = "Solo se permiten consultas de lectura (SELECT)";
      return SQLITE_DENY;
  }
}

int UntrustedProgress(void* p) {
  auto* g = static_cast<UntrustedGuard*>(p);
  if (Clock::now() < g->deadline) return 0;
  g->timed_out = true;
  return 1;  // interrupts the statement
}

const char* UntrustedType(const char* decltype_name, const Value& sample) {
  std::string d = LowerAscii(decltype_name);
  if (!d.empty()) {
    if (d.find("int") != std::string::npos) return "int";
    if (d.find("real") != std::string::npos || d.find("floa") != std::string::npos ||
        d.find("doub") != std::string::npos || d.find("num") != std::string::npos ||
        d.find("dec") != std::string::npos)
      return "numeric";
    if (d.find("blob") != std::string::npos) return "bytea";
    return "text";
  }
  if (std::holds_alternative<int64_t>(sample)) return "int";
  if (std::holds_alternative<double>(sample)) return "numeric";
  if (std::holds_alternative<Blob>(sample)) return "bytea";
  return "text";
}

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db), cache_(kStatementCacheCapacity) {}
  ~SqliteConnection() override {
    cache_.ForEach([](sqlite3_stmt* s) { sqlite3_finalize(s); });
    if (InTransaction()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close_v2(db_);
  }

  Dialect dialect() const override { return Dialect::kSqlite; }

  Result<Rows> Query(std::string_view sql, const std::vector<Value>& params) override {
    Rows rows;
    RETURN_IF_ERROR(Run(sql, params, &rows));
    return rows;
  }

  Result<int64_t> Exec(std::string_view sql, const std::vector<Value>& params) override {
    int64_t before = sqlite3_total_changes64(db_);
    RETURN_IF_ERROR(Run(sql, params, nullptr));
    // sqlite3_changes keeps the count of the last DML statement, so a DDL statement would
    // report a stale number; total_changes tells whether this statement changed anything.
    return sqlite3_total_changes64(db_) == before ? 0 : sqlite3_changes64(db_);
  }

  Status ExecScript(std::string_view sql) override {
    std::string s(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
    return rc == SQLITE_OK ? Status::Ok() : MapError(db_, rc);
  }

  Status BeginRead() override { return Begin("BEGIN DEFERRED"); }
  Status BeginWrite() override { return Begin("BEGIN IMMEDIATE"); }

  Status Commit() override {
    if (!InTransaction()) return Status::Internal("Commit outside a transaction");
    return ExecScript("COMMIT");
  }

  Status Rollback() override {
    // SQLite rolls back by itself on some errors; then there is nothing left to undo.
    if (!InTransaction()) return Status::Ok();
    return ExecScript("ROLLBACK");
  }

  bool InTransaction() const override { return sqlite3_get_autocommit(db_) == 0; }

  Result<std::unique_ptr<BulkInsert>> BulkInsertInto(
      const std::string& table, const std::vector<std::string>& columns) override;

  Result<UntrustedResult> QueryUntrusted(const UntrustedQuery& q) override {
    ASSIGN_OR_RETURN(PreparedUntrusted p, PrepareUntrusted(q, Dialect::kSqlite));
    UntrustedGuard guard;
    for (const auto& [name, table] : q.tables) guard.tables.insert(LowerAscii(table.c_str()));
    // The b-trees (root pages) of the readable tables and their indexes, and every page's
    // owner for messages.
    std::set<int64_t> readable_roots;
    std::map<int64_t, std::string> owner;
    {
      ASSIGN_OR_RETURN(Rows roots, Query("SELECT rootpage, tbl_name FROM sqlite_master WHERE "
                                         "rootpage > 0",
                                         {}));
      for (const Row& r : roots) {
        owner[r.Int("rootpage")] = r.Text("tbl_name");
        if (guard.tables.count(LowerAscii(r.Text("tbl_name").c_str())))
          readable_roots.insert(r.Int("rootpage"));
      }
    }
    for (const std::string& f : q.functions) guard.functions.insert(LowerAscii(f.c_str()));
    guard.deadline = Clock::now() + q.timeout;

    // Belt and braces around the authorizer: the connection refuses writes, and no value may
    // grow past 16 MiB (zeroblob, printf and string concatenation included).
    RETURN_IF_ERROR(ExecScript("PRAGMA query_only = 1"));
    const int old_length = sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, 16 << 20);
    sqlite3_set_authorizer(db_, AuthorizeUntrusted, &guard);
    sqlite3_progress_handler(db_, 1000, UntrustedProgress, &guard);
    sqlite3_stmt* stmt = nullptr;
    struct Restore {
      SqliteConnection* c;
      sqlite3_stmt** stmt;
      int old_length;
      ~Restore() {
        sqlite3_finalize(*stmt);
        sqlite3_progress_handler(c->db_, 0, nullptr, nullptr);
        sqlite3_set_authorizer(c->db_, nullptr, nullptr);
        sqlite3_limit(c->db_, SQLITE_LIMIT_LENGTH, old_length);
        (void)c->ExecScript("PRAGMA query_only = 0");
      }
    } restore{this, &stmt, old_length};

    auto fail = [&](int rc) -> Status {
      if (guard.timed_out)
        return Status::InvalidArgument(
            "La consulta excedió el tiempo máximo de " + std::to_string(q.timeout.count()) + " ms",
            {{"sql", "Consulta demasiado lenta"}});
      if (!guard.refusal.empty()) return Status::PermissionDenied(guard.refusal);
      if ((rc & 0xff) == SQLITE_AUTH || (rc & 0xff) == SQLITE_READONLY)
        return Status::PermissionDenied(guard.refusal.empty()
                                            ? "Solo se permiten consultas de lectura (SELECT)"
                                            : guard.refusal);
      std::string message = sqlite3_errmsg(db_);
      if ((rc & 0xff) == SQLITE_ERROR || (rc & 0xff) == SQLITE_TOOBIG ||
          (rc & 0xff) == SQLITE_MISMATCH || (rc & 0xff) == SQLITE_RANGE)
        return Status::InvalidArgument("Consulta no válida: " + message, {{"sql", message}});
      return MapError(db_, rc);
    };

    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_, p.sql.data(), static_cast<int>(p.sql.size()), 0, &stmt, &tail);
    if (rc != SQLITE_OK) return fail(rc);
    if (stmt == nullptr) return Status::InvalidArgument("La consulta está vacía");
    for (const char* c = tail; c < p.sql.data() + p.sql.size(); ++c)
      if (!std::isspace(static_cast<unsigned char>(*c)))
        return Status::InvalidArgument("Se admite una sola sentencia SQL por consulta",
                                       {{"sql", "Una sola sentencia"}});
    if (!sqlite3_stmt_readonly(stmt) || sqlite3_stmt_isexplain(stmt))
      return Status::PermissionDenied("Solo se permiten consultas de lectura (SELECT)");
    // What the compiled program opens: only the readable tables' b-trees, in the main
    // database; no writes and no virtual tables (CTEs and sorters use ephemeral tables).
    {
      sqlite3_stmt* plan = nullptr;
      std::string explain = "EXPLAIN " + p.sql;
      int prc = sqlite3_prepare_v3(db_, explain.data(), static_cast<int>(explain.size()), 0, &plan,
                                   nullptr);
      struct Finalize {
        sqlite3_stmt* s;
        ~Finalize() { sqlite3_finalize(s); }
      } finalize{plan};
      if (prc != SQLITE_OK || plan == nullptr) return fail(prc);
      while ((prc = sqlite3_step(plan)) == SQLITE_ROW) {
        const char* op = reinterpret_cast<const char*>(sqlite3_column_text(plan, 1));
        std::string_view opcode = op ? op : "";
        int64_t p2 = sqlite3_column_int64(plan, 3), p3 = sqlite3_column_int64(plan, 4);
        if (opcode == "OpenRead" || opcode == "ReopenIdx") {
          if (p3 == 0 && readable_roots.count(p2)) continue;
          auto it = owner.find(p2);
          std::string name = p3 == 0 && it != owner.end() ? it->second : "otra base de datos";
          if (p3 == 0 && p2 == 1) name = "sqlite_master";
          return Status::PermissionDenied("No se permite leer «" + name +
                                          "»: solo las tablas del almacén de datos publicadas");
        }
        if (opcode == "OpenWrite" || opcode == "VOpen" || opcode == "VCreate" ||
            opcode == "VDestroy" || opcode == "VUpdate")
          return Status::PermissionDenied(
              "Solo se permiten consultas de lectura sobre las tablas del almacén de datos");
      }
      if (prc != SQLITE_DONE) return fail(prc);
    }

    UntrustedResult out;
    const int ncols = sqlite3_column_count(stmt);
    for (int i = 0; i < ncols; ++i) out.columns.emplace_back(sqlite3_column_name(stmt, i));
    std::vector<const char*> decl(ncols);
    for (int i = 0; i < ncols; ++i) decl[i] = sqlite3_column_decltype(stmt, i);
    for (;;) {
      rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return fail(rc);
      if (static_cast<int64_t>(out.rows.size()) == q.max_rows) {
        out.truncated = true;
        break;
      }
      std::vector<Value> values;
      values.reserve(ncols);
      for (int i = 0; i < ncols; ++i) values.push_back(ColumnValue(stmt, i));
      out.rows.push_back(std::move(values));
    }
    for (int i = 0; i < ncols; ++i) {
      Value sample;
      for (const auto& r : out.rows)
        if (!std::holds_alternative<std::monostate>(r[i])) {
          sample = r[i];
          break;
        }
      out.types.emplace_back(UntrustedType(decl[i], sample));
    }
    return out;
  }

 private:
  Status Begin(const char* sql) {
    if (InTransaction()) return Status::Internal("Nested transactions are not supported");
    // The busy handler already waits for the write lock; this loop covers the cases where
    // SQLite reports busy without calling it (WAL recovery, shared-cache table locks).
    auto deadline = Clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
    for (;;) {
      int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) return Status::Ok();
      if (!IsBusy(rc) || Clock::now() >= deadline) return MapError(db_, rc);
      Backoff();
    }
  }

  Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    if (sqlite3_stmt** cached = cache_.Find(sql)) return *cached;
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) return MapError(db_, rc);
    if (stmt == nullptr) return Status::Internal("sqlite: empty statement");
    // One statement per call: a second one would be silently ignored.
    for (const char* p = tail; p < sql.data() + sql.size(); ++p) {
      if (!std::isspace(static_cast<unsigned char>(*p)) && *p != ';') {
        sqlite3_finalize(stmt);
        return Status::Internal("Query/Exec take one statement; use ExecScript for several");
      }
    }
    return *cache_.Insert(sql, stmt, [](sqlite3_stmt* old) { sqlite3_finalize(old); });
  }

  Status Bind(sqlite3_stmt* stmt, const std::vector<Value>& params) {
    int expected = sqlite3_bind_parameter_count(stmt);
    if (expected != static_cast<int>(params.size()))
      return Status::Internal("SQL expects " + std::to_string(expected) + " parameters, got " +
                              std::to_string(params.size()));
    for (int i = 0; i < expected; ++i) {
      const Value& v = params[i];
      int rc = SQLITE_OK;
      // SQLITE_STATIC: params outlive the step, and bindings are cleared before returning.
      if (auto* n = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, i + 1, *n);
      } else if (auto* d = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, i + 1, *d);
      } else if (auto* s = std::get_if<std::string>(&v)) {
        rc = sqlite3_bind_text64(stmt, i + 1, s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else if (auto* b = std::get_if<Blob>(&v)) {
        rc = sqlite3_bind_blob64(stmt, i + 1, b->bytes.data(), b->bytes.size(), SQLITE_STATIC);
      } else {
        rc = sqlite3_bind_null(stmt, i + 1);
      }
      if (rc != SQLITE_OK) return MapError(db_, rc);
    }
    return Status::Ok();
  }

  static Value ColumnValue(sqlite3_stmt* stmt, int i) {
    switch (sqlite3_column_type(stmt, i)) {
      case SQLITE_INTEGER:
        return int64_t{sqlite3_column_int64(stmt, i)};
      case SQLITE_FLOAT:
        return sqlite3_column_double(stmt, i);
      case SQLITE_TEXT: {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
        return std::string(p, sqlite3_column_bytes(stmt, i));
      }
      case SQLITE_BLOB: {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, i));
        int n = sqlite3_column_bytes(stmt, i);
        return Blob{n > 0 ? std::string(p, n) : std::string()};
      }
      default:
        return std::monostate{};
    }
  }

  // Runs one statement; collects rows into *rows when given.
  Status Run(std::string_view sql, const std::vector<Value>& params, Rows* rows) {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
    // Whatever happens, the cached statement goes back clean.
    struct Cleanup {
      sqlite3_stmt* s;
      ~Cleanup() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } cleanup{stmt};
    RETURN_IF_ERROR(Bind(stmt, params));

    std::shared_ptr<std::vector<std::string>> names;
    int ncols = 0;
    auto deadline = Clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
    bool first = true;
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc == SQLITE_ROW) {
        first = false;
        if (!rows) continue;
        if (!names) {
          // Counted after the first step: a schema change re-prepares the statement there
          // and `SELECT *` may then have more columns.
          ncols = sqlite3_column_count(stmt);
          names = std::make_shared<std::vector<std::string>>();
          names->reserve(ncols);
          for (int i = 0; i < ncols; ++i) {
            std::string n = sqlite3_column_name(stmt, i);
            for (char& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            names->push_back(std::move(n));
          }
        }
        std::vector<Value> values;
        values.reserve(ncols);
        for (int i = 0; i < ncols; ++i) values.push_back(ColumnValue(stmt, i));
        rows->emplace_back(names, std::move(values));
        continue;
      }
      // Shared-cache (memory) databases report table locks as SQLITE_LOCKED without calling
      // the busy handler. Before the first row nothing has been done, so retrying is safe.
      if (first && (rc & 0xff) == SQLITE_LOCKED && Clock::now() < deadline) {
        sqlite3_reset(stmt);
        Backoff();
        continue;
      }
      return MapError(db_, rc);
    }
    return Status::Ok();
  }

  sqlite3* db_;
  StatementCache<sqlite3_stmt*> cache_;
};

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(Options o, std::string describe, sqlite3* keeper)
      : options_(std::move(o)), describe_(std::move(describe)), keeper_(keeper) {}
  ~SqliteDatabase() override {
    if (keeper_) sqlite3_close_v2(keeper_);
  }

  Dialect dialect() const override { return Dialect::kSqlite; }

  Result<std::unique_ptr<Connection>> Connect() override {
    ASSIGN_OR_RETURN(sqlite3 * db, OpenHandle(options_));
    return std::unique_ptr<Connection>(new SqliteConnection(db));
  }

  std::string Describe() const override { return describe_; }

 private:
  Options options_;
  std::string describe_;
  // A memory database lives while some connection to it is open; this one keeps it alive
  // for the Database's lifetime.
  sqlite3* keeper_;
};

// Multi-row INSERT statements of up to kMaxRows rows, within SQLite's 32,766 parameters; the
// statement for a full group is prepared once (the connection's statement cache keeps it).
class SqliteBulkInsert final : public BulkInsert {
 public:
  static constexpr size_t kMaxRows = 500;
  static constexpr size_t kMaxParams = 32000;

  SqliteBulkInsert(Connection* c, std::string prefix, size_t columns)
      : c_(c),
        prefix_(std::move(prefix)),
        columns_(columns),
        group_(std::max<size_t>(1, std::min(kMaxRows, kMaxParams / columns))),
        full_sql_(Sql(group_)) {}

  Status Add(const std::vector<Value>& values, size_t rows) override {
    if (values.size() < rows * columns_) return Status::Internal("BulkInsert: too few values");
    if (rows == group_ && values.size() == rows * columns_)  // the usual case: no copy
      return c_->Exec(full_sql_, values).status();
    for (size_t k = 0; k < rows; k += group_) {
      const size_t n = std::min(group_, rows - k);
      std::vector<Value> part(values.begin() + k * columns_, values.begin() + (k + n) * columns_);
      RETURN_IF_ERROR(c_->Exec(n == group_ ? full_sql_ : Sql(n), part).status());
    }
    return Status::Ok();
  }

  Status Finish() override { return Status::Ok(); }

 private:
  std::string Sql(size_t rows) const {
    std::string row = "(?";
    for (size_t i = 1; i < columns_; ++i) row += ",?";
    row += ")";
    std::string sql = prefix_;
    sql.reserve(sql.size() + rows * (row.size() + 1));
    for (size_t k = 0; k < rows; ++k) sql += (k ? "," : "") + row;
    return sql;
  }

  Connection* c_;
  std::string prefix_;
  size_t columns_, group_;
  std::string full_sql_;
};

Result<std::unique_ptr<BulkInsert>> SqliteConnection::BulkInsertInto(
    const std::string& table, const std::vector<std::string>& columns) {
  if (!InTransaction()) return Status::Internal("BulkInsert needs a transaction");
  if (columns.empty()) return Status::Internal("BulkInsert needs columns");
  std::string prefix = "INSERT INTO " + QuoteIdentifier(table) + " (";
  for (size_t i = 0; i < columns.size(); ++i)
    prefix += (i ? ", " : "") + QuoteIdentifier(columns[i]);
  prefix += ") VALUES ";
  return std::unique_ptr<BulkInsert>(new SqliteBulkInsert(this, std::move(prefix), columns.size()));
}

}  // namespace

Result<std::unique_ptr<Database>> OpenSqlite(std::string_view rest) {
  Options o;
  std::string_view path = rest;
  size_t q = rest.find('?');
  if (q != std::string_view::npos) {
    path = rest.substr(0, q);
    std::string_view query = rest.substr(q + 1);
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string_view kv = query.substr(0, amp);
      if (kv == "synchronous=full") {
        o.sync_full = true;
      } else if (kv == "synchronous=normal") {
        o.sync_full = false;
      } else if (!kv.empty()) {
        return Status::InvalidArgument("Opción de SQLite no reconocida: " + std::string(kv) +
                                       " (se admite synchronous=full|normal)");
      }
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
  }
  if (path.empty()) return Status::InvalidArgument("Falta la ruta de la base de datos SQLite");

  sqlite3* keeper = nullptr;
  if (path == ":memory:") {
    // Each plain ":memory:" connection would be a separate database; a named shared-cache
    // memory database is one per Database object, visible to all its connections.
    static std::atomic<uint64_t> next_id{0};
    o.memory = true;
    o.path = "file:abierto_mem" + std::to_string(++next_id) + "?mode=memory&cache=shared";
    ASSIGN_OR_RETURN(keeper, OpenHandle(o));
  } else {
    o.path = std::string(path);
    std::error_code ec;
    std::filesystem::path parent = std::filesystem::path(o.path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec)
      return Status::Unavailable("No se pudo crear el directorio de la base de datos: " +
                                 ec.message());
    // Fail at startup, not at the first request, when the file cannot be opened; this also
    // switches a new file to WAL before any concurrent use.
    ASSIGN_OR_RETURN(sqlite3 * probe, OpenHandle(o));
    sqlite3_close_v2(probe);
  }
  return std::unique_ptr<Database>(new SqliteDatabase(o, "sqlite:" + std::string(rest), keeper));
}

}  // namespace abierto::db::internal
