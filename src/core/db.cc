// Backend-independent parts of the storage layer: rows, transactions, migrations, the
// common SQL dialect and URL dispatch.
#include "abierto/db.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <set>
#include <utility>

#include "core/db_internal.h"

namespace abierto::db {

namespace {

bool ParseInt(std::string_view s, int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseDouble(std::string_view s, double* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string DoubleToText(double d) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, p);
}

int64_t TextToInt(std::string_view s) {
  int64_t i = 0;
  if (ParseInt(s, &i)) return i;
  double d = 0;
  if (ParseDouble(s, &d)) return static_cast<int64_t>(d);
  return 0;
}

double TextToDouble(std::string_view s) {
  double d = 0;
  return ParseDouble(s, &d) ? d : 0.0;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Row

const Value& Row::Get(std::string_view column) const {
  const std::vector<std::string>& names = *names_;
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == column) return values_[i];
  // Asking for a column the query does not select is a programming error; failing loudly
  // finds it in the first test run instead of returning a silent 0.
  std::fprintf(stderr, "abierto::db::Row: no column '%.*s' in result\n",
               static_cast<int>(column.size()), column.data());
  std::abort();
}

bool Row::IsNull(std::string_view column) const {
  return std::holds_alternative<std::monostate>(Get(column));
}

int64_t Row::Int(std::string_view column) const {
  const Value& v = Get(column);
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  if (auto* d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
  if (auto* s = std::get_if<std::string>(&v)) return TextToInt(*s);
  if (auto* b = std::get_if<Blob>(&v)) return TextToInt(b->bytes);
  return 0;
}

double Row::Real(std::string_view column) const {
  const Value& v = Get(column);
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (auto* s = std::get_if<std::string>(&v)) return TextToDouble(*s);
  if (auto* b = std::get_if<Blob>(&v)) return TextToDouble(b->bytes);
  return 0.0;
}

std::string Row::Text(std::string_view column) const {
  const Value& v = Get(column);
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return DoubleToText(*d);
  if (auto* b = std::get_if<Blob>(&v)) return b->bytes;
  return std::string();
}

// ---------------------------------------------------------------------------------------
// Connection, Transaction

Result<Row> Connection::QueryOne(std::string_view sql, const std::vector<Value>& params,
                                 std::string not_found_message) {
  ASSIGN_OR_RETURN(Rows rows, Query(sql, params));
  if (rows.empty()) return Status::NotFound(std::move(not_found_message));
  return std::move(rows.front());
}

Result<Transaction> Transaction::Write(Connection& c) {
  RETURN_IF_ERROR(c.BeginWrite());
  return Transaction(c);
}

Result<Transaction> Transaction::Read(Connection& c) {
  RETURN_IF_ERROR(c.BeginRead());
  return Transaction(c);
}

Transaction::~Transaction() {
  if (!done_) c_->Rollback();  // nothing useful to do with a failed rollback here
}

Status Transaction::Commit() {
  if (done_) return Status::Internal("Transaction::Commit after commit or move");
  done_ = true;
  Status s = c_->Commit();
  // A failed COMMIT (e.g. SQLite busy) can leave the transaction open; never leave a
  // connection inside a transaction nobody owns.
  if (!s.ok() && c_->InTransaction()) c_->Rollback();
  return s;
}

// ---------------------------------------------------------------------------------------
// Dialect

std::string ExpandDialect(std::string_view sql, Dialect d) {
  struct Token {
    std::string_view name, sqlite, postgres;
  };
  static constexpr Token kTokens[] = {
      {"{{ID}}", "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY"},
      {"{{BLOB}}", "BLOB", "BYTEA"},
      {"{{REAL}}", "REAL", "DOUBLE PRECISION"},
      {"{{INT}}", "INTEGER", "BIGINT"},
  };
  std::string out;
  out.reserve(sql.size() + 32);
  size_t i = 0;
  while (i < sql.size()) {
    if (sql[i] == '{' && sql.substr(i, 2) == "{{") {
      bool replaced = false;
      for (const Token& t : kTokens) {
        if (sql.substr(i, t.name.size()) == t.name) {
          out += d == Dialect::kSqlite ? t.sqlite : t.postgres;
          i += t.name.size();
          replaced = true;
          break;
        }
      }
      if (replaced) continue;
    }
    out += sql[i++];
  }
  return out;
}

namespace internal {

std::string TranslatePlaceholders(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  size_t i = 0;
  const size_t len = sql.size();
  while (i < len) {
    char ch = sql[i];
    if (ch == '\'' || ch == '"') {
      // A quoted literal or identifier; a doubled quote inside is an escaped quote, which
      // this loop handles as closing and reopening.
      size_t end = sql.find(ch, i + 1);
      if (end == std::string_view::npos) end = len - 1;
      out.append(sql.substr(i, end - i + 1));
      i = end + 1;
    } else if (ch == '-' && i + 1 < len && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      if (end == std::string_view::npos) end = len - 1;
      out.append(sql.substr(i, end - i + 1));
      i = end + 1;
    } else if (ch == '/' && i + 1 < len && sql[i + 1] == '*') {
      size_t end = sql.find("*/", i + 2);
      end = end == std::string_view::npos ? len - 1 : end + 1;
      out.append(sql.substr(i, end - i + 1));
      i = end + 1;
    } else if (ch == '?') {
      out += '$';
      out += std::to_string(++n);
      ++i;
    } else {
      out += ch;
      ++i;
    }
  }
  if (count) *count = n;
  return out;
}

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t start = scheme + 3;
    size_t end = out.find_first_of("/?#", start);
    if (end == std::string::npos) end = out.size();
    size_t at = out.rfind('@', end);
    if (at != std::string::npos && at >= start) {
      size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.erase(colon, at - colon);
    }
  }
  // password=... in the query string.
  for (size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p)) {
    if (p > 0 && out[p - 1] != '?' && out[p - 1] != '&' && out[p - 1] != ' ') {
      p += 9;
      continue;
    }
    size_t end = out.find_first_of("&# ", p);
    if (end == std::string::npos) end = out.size();
    out.replace(p, end - p, "password=***");
    p += 12;
  }
  return out;
}

Status WithMessage(const Status& s, std::string m) {
  switch (s.code()) {
    case StatusCode::kOk:
      return Status::Ok();
    case StatusCode::kInvalidArgument:
      return Status::InvalidArgument(std::move(m), s.fields());
    case StatusCode::kUnauthenticated:
      return Status::Unauthenticated(std::move(m));
    case StatusCode::kPermissionDenied:
      return Status::PermissionDenied(std::move(m));
    case StatusCode::kNotFound:
      return Status::NotFound(std::move(m));
    case StatusCode::kConflict:
      return Status::Conflict(std::move(m));
    case StatusCode::kTooLarge:
      return Status::TooLarge(std::move(m));
    case StatusCode::kTooManyRequests:
      return Status::TooManyRequests(std::move(m));
    case StatusCode::kUnavailable:
      return Status::Unavailable(std::move(m));
    case StatusCode::kInternal:
      break;
  }
  return Status::Internal(std::move(m));
}

}  // namespace internal

// ---------------------------------------------------------------------------------------
// Open

namespace internal {
std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char ch : name) {
    if (ch == '"') out.push_back('"');
    out.push_back(ch);
  }
  return out + "\"";
}
}  // namespace internal

Result<std::unique_ptr<Database>> Open(const std::string& url) {
  std::string_view u = url;
  if (u.starts_with("sqlite:")) return internal::OpenSqlite(u.substr(7));
  if (u.starts_with("postgresql://") || u.starts_with("postgres://"))
    return internal::OpenPostgres(url);
  // Only the scheme is echoed: the rest may hold a password.
  std::string scheme(u.substr(0, std::min(u.find(':'), size_t{20})));
  return Status::InvalidArgument("URL de base de datos no reconocida (esquema '" + scheme +
                                 "'); use sqlite:RUTA, sqlite::memory: o postgresql://...");
}

// ---------------------------------------------------------------------------------------
// Migrate

namespace {

// pg_advisory_xact_lock key that serializes migrations across processes ("abierto" in
// ASCII); any other user of advisory locks on the same database must avoid it.
constexpr char kLockMigrations[] = "SELECT pg_advisory_xact_lock(27413055017071983)";

constexpr char kCreateMigrationsTable[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL, "
    "PRIMARY KEY (module, version))";

std::string NowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Starts a write transaction that holds the migration lock on every backend: BEGIN
// IMMEDIATE is already exclusive on SQLite; PostgreSQL needs the advisory lock.
Result<Transaction> BeginMigrationTx(Connection& c) {
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Write(c));
  if (c.dialect() == Dialect::kPostgres) RETURN_IF_ERROR(c.Query(kLockMigrations).status());
  return tx;
}

Result<bool> IsApplied(Connection& c, const Migration& m) {
  ASSIGN_OR_RETURN(Rows rows,
                   c.Query("SELECT 1 AS x FROM schema_migrations WHERE module = ? AND version = ?",
                           {m.module, int64_t{m.version}}));
  return !rows.empty();
}

}  // namespace

Status Migrate(Connection& c, const std::vector<Migration>& migrations) {
  if (c.InTransaction())
    return Status::Internal("Migrate must run outside a transaction: each migration has its own");

  // Modules keep the order they are given in; versions ascend within each module.
  std::map<std::string, size_t> module_order;
  for (const Migration& m : migrations) module_order.emplace(m.module, module_order.size());
  std::vector<const Migration*> ordered;
  for (const Migration& m : migrations) ordered.push_back(&m);
  std::stable_sort(ordered.begin(), ordered.end(), [&](const Migration* a, const Migration* b) {
    size_t oa = module_order[a->module], ob = module_order[b->module];
    return oa != ob ? oa < ob : a->version < b->version;
  });
  for (size_t i = 1; i < ordered.size(); ++i) {
    if (ordered[i]->module == ordered[i - 1]->module &&
        ordered[i]->version == ordered[i - 1]->version)
      return Status::Internal("Duplicate migration " + ordered[i]->module + " v" +
                              std::to_string(ordered[i]->version));
  }

  // The table is created under the lock too: concurrent CREATE TABLE IF NOT EXISTS can
  // still collide on PostgreSQL.
  std::set<std::pair<std::string, int64_t>> applied;
  {
    ASSIGN_OR_RETURN(Transaction tx, BeginMigrationTx(c));
    RETURN_IF_ERROR(c.ExecScript(kCreateMigrationsTable));
    ASSIGN_OR_RETURN(Rows rows, c.Query("SELECT module, version FROM schema_migrations"));
    for (const Row& r : rows) applied.emplace(r.Text("module"), r.Int("version"));
    RETURN_IF_ERROR(tx.Commit());
  }

  for (const Migration* m : ordered) {
    if (applied.count({m->module, m->version})) continue;
    const std::string name = m->module + " v" + std::to_string(m->version);
    ASSIGN_OR_RETURN(Transaction tx, BeginMigrationTx(c));
    // Another process may have applied it since the snapshot above.
    ASSIGN_OR_RETURN(bool done, IsApplied(c, *m));
    if (done) {
      RETURN_IF_ERROR(tx.Commit());
      continue;
    }
    Status s = c.ExecScript(ExpandDialect(m->sql, c.dialect()));
    if (s.ok()) {
      s = c.Exec("INSERT INTO schema_migrations (module, version, applied_at) VALUES (?, ?, ?)",
                 {m->module, int64_t{m->version}, NowUtc()})
              .status();
    }
    if (s.ok()) s = tx.Commit();
    // tx rolls back on return when anything failed.
    if (!s.ok()) return internal::WithMessage(s, "La migración " + name + " falló: " + s.message());
  }
  return Status::Ok();
}

}  // namespace abierto::db
