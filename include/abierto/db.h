// Storage: one interface, two backends (SQLite and PostgreSQL).
//
// A Database is opened from a URL ("sqlite:var/abierto.db", "sqlite::memory:" for tests,
// "postgresql://user@host:port/db") and hands out Connections. A Connection is used by one
// thread at a time; the server keeps one per worker thread. Database itself is thread-safe.
//
// SQL is written once for both backends in a small common dialect:
//   - parameters are `?` (translated to $1, $2, ... for PostgreSQL);
//   - in migrations, {{ID}} is the auto-increment primary key column type
//     ("INTEGER PRIMARY KEY AUTOINCREMENT" / "BIGSERIAL PRIMARY KEY"), {{BLOB}} a byte string
//     (BLOB / BYTEA), {{REAL}} a double (REAL / DOUBLE PRECISION); {{INT}} a 64-bit integer
//     (INTEGER / BIGINT). Dates and timestamps are TEXT in ISO 8601 (UTC, "2025-08-29" or
//     "2025-08-29T10:00:00Z"); booleans are integers 0/1.
//   - `INSERT ... RETURNING id` works on both.
// Constraint violations come back as Status values: a unique or primary key violation is
// kConflict, a foreign key or check violation kInvalidArgument; a lost connection kUnavailable;
// anything else kInternal (the SQL text is logged, never shown to users).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "abierto/status.h"

namespace abierto::db {

// A blob is carried as a Blob so that it is bound as bytes, not text.
struct Blob {
  std::string bytes;
};

// A parameter or column value. NULL is std::monostate.
using Value = std::variant<std::monostate, int64_t, double, std::string, Blob>;

enum class Dialect { kSqlite, kPostgres };

// One result row. Columns are looked up by name (as written in the SELECT, lower case).
// Accessors convert: Int() of a text "42" is 42, Text() of 42 is "42", NULL is 0 / 0.0 / "".
class Row {
 public:
  Row(std::shared_ptr<const std::vector<std::string>> names, std::vector<Value> values)
      : names_(std::move(names)), values_(std::move(values)) {}
  bool IsNull(std::string_view column) const;
  int64_t Int(std::string_view column) const;
  double Real(std::string_view column) const;
  std::string Text(std::string_view column) const;  // for a blob, its bytes
  const Value& Get(std::string_view column) const;  // aborts on an unknown column (a bug)
  const std::vector<std::string>& names() const { return *names_; }
  const std::vector<Value>& values() const { return values_; }

 private:
  std::shared_ptr<const std::vector<std::string>> names_;
  std::vector<Value> values_;
};

using Rows = std::vector<Row>;

// A SELECT written by someone outside the platform (the datastore's SQL endpoint, CKAN's
// datastore_search_sql) and the limits it runs under; see Connection::QueryUntrusted.
struct UntrustedQuery {
  std::string sql;
  // The only tables the statement may read, each under the name the statement uses for it: a
  // double-quoted identifier equal to a name ("5f1c…", a resource id) is replaced by the
  // table before the statement is prepared. Tables may also be named directly.
  std::vector<std::pair<std::string, std::string>> tables;  // name → table
  // The SQL functions it may call, in lower case; a call of any other is refused.
  std::vector<std::string> functions;
  std::chrono::milliseconds timeout{5000};
  int64_t max_rows = 32000;
};

struct UntrustedResult {
  std::vector<std::string> columns;      // as the statement names them (case kept)
  std::vector<std::string> types;        // per column: "int", "numeric", "text", "bool" or "bytea"
  std::vector<std::vector<Value>> rows;  // at most max_rows
  bool truncated = false;                // the statement had more than max_rows rows
};

// Appends many rows to one table as fast as the backend allows: PostgreSQL's COPY FROM STDIN,
// SQLite's multi-row INSERT statements. Runs in the caller's transaction, so nothing is visible
// before it commits. While it is open the connection must not be used for anything else.
class BulkInsert {
 public:
  virtual ~BulkInsert() = default;
  // `rows` rows of values for the columns given to Connection::BulkInsertInto, row after row.
  // Values are converted by the columns' types as parameters would be (on PostgreSQL a string
  // goes through the column type's input function: a tsvector literal, say).
  virtual Status Add(const std::vector<Value>& values, size_t rows) = 0;
  // Writes what is left and ends the operation; its errors (a value the column refuses, on
  // PostgreSQL) may only show here. An operation destroyed without Finish is abandoned, and on
  // PostgreSQL the transaction with it.
  virtual Status Finish() = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;

  // Runs a statement that returns rows.
  virtual Result<Rows> Query(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  // Runs a statement; returns the number of rows changed.
  virtual Result<int64_t> Exec(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  // Runs several statements without parameters (migrations).
  virtual Status ExecScript(std::string_view sql) = 0;

  // Transactions. BeginWrite takes the write lock up front (SQLite BEGIN IMMEDIATE) so that
  // two writers never deadlock on a lock upgrade; on PostgreSQL both are BEGIN.
  virtual Status BeginRead() = 0;
  virtual Status BeginWrite() = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;
  virtual bool InTransaction() const = 0;

  // Runs one read-only SELECT from an untrusted source within the limits of `q`: it can change
  // nothing and read nothing but q.tables. Both backends first accept only one statement (a
  // trailing ";" aside) that begins with SELECT, WITH, VALUES or "(", then:
  //   - SQLite: an authorizer lets the engine compile only SELECTs that read q.tables and call
  //     q.functions; PRAGMA query_only is on, values are capped at 16 MiB and a progress handler
  //     stops the statement at the deadline;
  //   - PostgreSQL: in a READ ONLY transaction (a subtransaction when the caller has one open)
  //     with statement_timeout; every function written as a call must be in q.functions, every
  //     relation of the plan (EXPLAIN) in q.tables, the plan must not write or lock rows, and
  //     the rows come from a cursor (DECLARE ... CURSOR FOR takes only SELECT and VALUES).
  // Errors: PermissionDenied for writes, other tables and functions not allowed;
  // InvalidArgument for several statements, syntax errors, unknown tables or columns and a
  // statement over the time limit. Afterwards the connection is as before (still inside the
  // caller's transaction, if any), with nothing written.
  virtual Result<UntrustedResult> QueryUntrusted(const UntrustedQuery& q) = 0;

  // Starts a BulkInsert into `table` (a name of ours, quoted as given) for `columns`. Must run
  // inside a transaction.
  virtual Result<std::unique_ptr<BulkInsert>> BulkInsertInto(
      const std::string& table, const std::vector<std::string>& columns) = 0;

  // Convenience: the first row, or NotFound(message) when there is none.
  Result<Row> QueryOne(std::string_view sql, const std::vector<Value>& params,
                       std::string not_found_message);
};

class Database {
 public:
  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;
  // A new connection, owned by the caller.
  virtual Result<std::unique_ptr<Connection>> Connect() = 0;
  // The URL with any password removed, for logs.
  virtual std::string Describe() const = 0;
};

// Opens "sqlite:PATH" (parent directory created, WAL, foreign keys on, busy timeout) or
// "postgresql://..." / "postgres://...". Fails with InvalidArgument on an unknown scheme.
Result<std::unique_ptr<Database>> Open(const std::string& url);

// Rolls back on destruction unless Commit() was called.
class Transaction {
 public:
  static Result<Transaction> Write(Connection& c);
  static Result<Transaction> Read(Connection& c);
  Transaction(Transaction&& o) noexcept : c_(o.c_), done_(o.done_) { o.done_ = true; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status Commit();

 private:
  explicit Transaction(Connection& c) : c_(&c) {}
  Connection* c_;
  bool done_ = false;
};

// A schema migration of one module. Versions are per module and applied in order, each in
// its own transaction, and recorded in schema_migrations(module, version, applied_at).
struct Migration {
  std::string module;
  int version;
  std::string sql;  // the common dialect above; several statements allowed
};

// Applies the migrations not yet applied. Safe to run from several processes at once: on
// PostgreSQL it takes an advisory lock, on SQLite the write lock.
Status Migrate(Connection& c, const std::vector<Migration>& migrations);

// Expands {{ID}}, {{BLOB}}, {{REAL}}, {{INT}} for the dialect.
std::string ExpandDialect(std::string_view sql, Dialect d);

}  // namespace abierto::db
