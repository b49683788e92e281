// PostgreSQL backend over libpq.
//
// Statements are prepared once per connection (named by a counter, keyed by SQL text) and run
// with text parameters, except blobs which go as binary; results come back as text and are
// converted by column type. Unlike SQLite, an error inside a transaction aborts it on
// PostgreSQL: after a failed statement the only thing left to do is Rollback(), and Commit()
// reports an error instead of silently rolling back.
#include <libpq-fe.h>

#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cstring>
#include <set>

#include "core/db_internal.h"

namespace abierto::db::internal {
namespace {

// Type OIDs from pg_type.h (stable across PostgreSQL versions).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

// The column type names of UntrustedResult.
const char* UntrustedType(Oid type) {
  switch (type) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
      return "int";
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid:
      return "numeric";
    case kBoolOid:
      return "bool";
    case kByteaOid:
      return "bytea";
    default:
      return "text";
  }
}

// What an EXPLAIN (VERBOSE, FORMAT JSON) plan touches.
struct PlanUse {
  std::vector<std::pair<std::string, std::string>> relations;  // schema, name
  std::vector<std::string> functions;                          // function scans
  bool writes = false;                                         // ModifyTable or LockRows
};

void WalkPlan(const boost::json::value& v, PlanUse* use) {
  if (const boost::json::object* o = v.if_object()) {
    auto str = [&](std::string_view key) {
      const boost::json::value* x = o->if_contains(key);
      return x && x->is_string() ? std::string(x->get_string()) : std::string();
    };
    std::string node = str("Node Type");
    if (node == "ModifyTable" || node == "LockRows") use->writes = true;
    if (o->contains("Relation Name"))
      use->relations.emplace_back(str("Schema"), str("Relation Name"));
    if (o->contains("Function Name")) use->functions.push_back(str("Function Name"));
    for (const auto& kv : *o) WalkPlan(kv.value(), use);
  } else if (const boost::json::array* a = v.if_array()) {
    for (const auto& x : *a) WalkPlan(x, use);
  }
}

constexpr char kMsgBadData[] = "Un dato tiene un formato o un valor no válido";
constexpr char kMsgTxAborted[] =
    "La transacción se anuló por un error anterior y no se guardó ningún cambio";
constexpr char kMsgRetry[] = "La operación coincidió con otra simultánea; intente de nuevo";

// Owns a PGresult.
struct ResultPtr {
  PGresult* r = nullptr;
  explicit ResultPtr(PGresult* p) : r(p) {}
  ResultPtr(const ResultPtr&) = delete;
  ResultPtr& operator=(const ResultPtr&) = delete;
  ~ResultPtr() { PQclear(r); }
};

bool IsOk(const PGresult* r) {
  ExecStatusType s = PQresultStatus(r);
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY;
}

std::string_view SqlState(const PGresult* r) {
  const char* s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return s ? std::string_view(s) : std::string_view();
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string DecodeBytea(const char* text, int len) {
  if (len >= 2 && text[0] == '\\' && text[1] == 'x') {
    std::string out;
    out.reserve((len - 2) / 2);
    for (int i = 2; i + 1 < len; i += 2) {
      int hi = HexDigit(text[i]), lo = HexDigit(text[i + 1]);
      if (hi < 0 || lo < 0) break;
      out += static_cast<char>(hi * 16 + lo);
    }
    return out;
  }
  // The old "escape" output format, in case the server overrides bytea_output.
  size_t n = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &n);
  if (!raw) return std::string();
  std::string out(reinterpret_cast<char*>(raw), n);
  PQfreemem(raw);
  return out;
}

Value ConvertValue(Oid type, const char* text, int len) {
  switch (type) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid: {
      int64_t v = 0;
      std::from_chars(text, text + len, v);
      return v;
    }
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid: {
      double v = 0;
      std::from_chars(text, text + len, v);  // accepts PostgreSQL's NaN and Infinity
      return v;
    }
    case kBoolOid:
      return int64_t{len > 0 && text[0] == 't'};
    case kByteaOid:
      return Blob{DecodeBytea(text, len)};
    default:
      return std::string(text, len);
  }
}

struct PgStatement {
  std::string name;
  int nparams = 0;
};

class PgConnection final : public Connection {
 public:
  explicit PgConnection(PGconn* conn) : conn_(conn), cache_(kStatementCacheCapacity) {}
  ~PgConnection() override { PQfinish(conn_); }

  Dialect dialect() const override { return Dialect::kPostgres; }

  Result<Rows> Query(std::string_view sql, const std::vector<Value>& params) override {
    Rows rows;
    RETURN_IF_ERROR(Run(sql, params, &rows, nullptr));
    return rows;
  }

  Result<int64_t> Exec(std::string_view sql, const std::vector<Value>& params) override {
    int64_t changed = 0;
    RETURN_IF_ERROR(Run(sql, params, nullptr, &changed));
    return changed;
  }

  Status ExecScript(std::string_view sql) override {
    RETURN_IF_ERROR(EnsureConnected());
    // PQexec runs several statements in one round trip (simple query protocol).
    ResultPtr res(PQexec(conn_, std::string(sql).c_str()));
    return IsOk(res.r) ? Status::Ok() : MapError(res.r);
  }

  Status BeginRead() override { return Begin(); }
  Status BeginWrite() override { return Begin(); }

  Status Commit() override {
    if (!in_tx_) return Status::Internal("Commit outside a transaction");
    in_tx_ = false;
    if (PQstatus(conn_) == CONNECTION_BAD) return Status::Unavailable(kMsgUnavailable);
    if (PQtransactionStatus(conn_) == PQTRANS_INERROR) {
      ResultPtr res(PQexec(conn_, "ROLLBACK"));
      return Status::Internal(kMsgTxAborted);
    }
    ResultPtr res(PQexec(conn_, "COMMIT"));
    if (!IsOk(res.r)) return MapError(res.r);
    // The server answers COMMIT of an aborted transaction with "ROLLBACK".
    if (std::strcmp(PQcmdStatus(res.r), "ROLLBACK") == 0) return Status::Internal(kMsgTxAborted);
    return Status::Ok();
  }

  Status Rollback() override {
    if (!in_tx_) return Status::Ok();
    in_tx_ = false;
    // A dropped connection has already lost (rolled back) its transaction.
    if (PQstatus(conn_) == CONNECTION_BAD) return Status::Ok();
    ResultPtr res(PQexec(conn_, "ROLLBACK"));
    return IsOk(res.r) ? Status::Ok() : MapError(res.r);
  }

  bool InTransaction() const override { return in_tx_; }

  Result<std::unique_ptr<BulkInsert>> BulkInsertInto(
      const std::string& table, const std::vector<std::string>& columns) override;

  Result<UntrustedResult> QueryUntrusted(const UntrustedQuery& q) override {
    ASSIGN_OR_RETURN(PreparedUntrusted p, PrepareUntrusted(q, Dialect::kPostgres));
    const std::set<std::string> functions(q.functions.begin(), q.functions.end());
    for (const std::string& f : p.calls)
      if (!functions.count(f))
        return Status::PermissionDenied("La función «" + f +
                                        "» no está permitida en las consultas al almacén");
    RETURN_IF_ERROR(EnsureConnected());
    // A transaction of its own, or a subtransaction of the caller's: either way read-only and
    // undone at the end, together with the settings made for the statement.
    const bool outer = in_tx_;
    RETURN_IF_ERROR(Simple(outer
                               ? "SAVEPOINT abierto_untrusted; SET LOCAL transaction_read_only = on"
                               : "BEGIN READ ONLY"));
    UntrustedResult out;
    Status s = RunUntrusted(q, p.sql, functions, &out);
    Status undone = Simple(outer ? "ROLLBACK TO SAVEPOINT abierto_untrusted; RELEASE SAVEPOINT "
                                   "abierto_untrusted"
                                 : "ROLLBACK");
    if (!s.ok()) return s;
    if (!undone.ok()) return undone;
    return out;
  }

 private:
  // Runs fixed SQL of ours (several statements allowed) in the simple protocol.
  Status Simple(const std::string& sql) {
    ResultPtr res(PQexec(conn_, sql.c_str()));
    return IsOk(res.r) ? Status::Ok() : MapError(res.r);
  }

  // One statement in the extended protocol, which refuses to run several at once.
  Status Single(const std::string& sql, const UntrustedQuery& q, ResultPtr* res) {
    res->r = PQexecParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0);
    if (IsOk(res->r)) return Status::Ok();
    std::string_view state = SqlState(res->r);
    const char* primary = PQresultErrorField(res->r, PG_DIAG_MESSAGE_PRIMARY);
    std::string message = primary ? primary : "consulta no válida";
    if (state == "57014")
      return Status::InvalidArgument(
          "La consulta excedió el tiempo máximo de " + std::to_string(q.timeout.count()) + " ms",
          {{"sql", "Consulta demasiado lenta"}});
    if (state == "25006" || state == "42501")
      return Status::PermissionDenied("Solo se permiten consultas de lectura: " + message);
    if (state.starts_with("42") || state.starts_with("22") || state.starts_with("0A") ||
        state.starts_with("21") || state.starts_with("2B") || state.starts_with("54"))
      return Status::InvalidArgument("Consulta no válida: " + message, {{"sql", message}});
    return MapError(res->r);
  }

  Status RunUntrusted(const UntrustedQuery& q, const std::string& sql,
                      const std::set<std::string>& functions, UntrustedResult* out) {
    // With standard_conforming_strings the server reads backslashes in '...' as the lexer of
    // PrepareUntrusted did.
    RETURN_IF_ERROR(Simple("SET LOCAL statement_timeout = " + std::to_string(q.timeout.count()) +
                           "; SET LOCAL standard_conforming_strings = on"));
    ResultPtr schema(PQexec(conn_, "SELECT current_schema()"));
    if (!IsOk(schema.r) || PQntuples(schema.r) != 1) return MapError(schema.r);
    const std::string current = PQgetvalue(schema.r, 0, 0);

    // Everything the plan reads must be one of the given tables, and the plan may not write.
    ResultPtr plan(nullptr);
    RETURN_IF_ERROR(Single("EXPLAIN (VERBOSE, FORMAT JSON) " + sql, q, &plan));
    if (PQntuples(plan.r) < 1) return Status::Internal("EXPLAIN sin resultado");
    std::string text;
    for (int r = 0; r < PQntuples(plan.r); ++r) text += PQgetvalue(plan.r, r, 0);
    boost::system::error_code ec;
    boost::json::value tree = boost::json::parse(text, ec);
    if (ec) return Status::Internal("EXPLAIN no devolvió JSON");
    PlanUse use;
    WalkPlan(tree, &use);
    if (use.writes)
      return Status::PermissionDenied(
          "Solo se permiten consultas de lectura, sin escrituras ni "
          "bloqueos de filas");
    std::set<std::string> allowed;
    for (const auto& [name, table] : q.tables) allowed.insert(table);
    for (const auto& [schema_name, name] : use.relations)
      if (schema_name != current || !allowed.count(name))
        return Status::PermissionDenied("No se permite leer «" +
                                        (schema_name == current ? name : schema_name + "." + name) +
                                        "»: solo las tablas del almacén de datos publicadas");
    for (const std::string& f : use.functions)
      if (!functions.count(f))
        return Status::PermissionDenied("La función «" + f +
                                        "» no está permitida en las consultas al almacén");

    ResultPtr declared(nullptr);
    RETURN_IF_ERROR(Single("DECLARE abierto_untrusted NO SCROLL CURSOR FOR " + sql, q, &declared));
    ResultPtr rows(nullptr);
    RETURN_IF_ERROR(Single(
        "FETCH FORWARD " + std::to_string(q.max_rows + 1) + " FROM abierto_untrusted", q, &rows));
    const int nrows = PQntuples(rows.r), ncols = PQnfields(rows.r);
    for (int c = 0; c < ncols; ++c) {
      out->columns.emplace_back(PQfname(rows.r, c));
      out->types.emplace_back(UntrustedType(PQftype(rows.r, c)));
    }
    for (int r = 0; r < nrows; ++r) {
      if (r == q.max_rows) {
        out->truncated = true;
        break;
      }
      std::vector<Value> vals;
      vals.reserve(ncols);
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(rows.r, r, c))
          vals.emplace_back(std::monostate{});
        else
          vals.push_back(ConvertValue(PQftype(rows.r, c), PQgetvalue(rows.r, r, c),
                                      PQgetlength(rows.r, r, c)));
      }
      out->rows.push_back(std::move(vals));
    }
    return Status::Ok();
  }

  Status Begin() {
    if (in_tx_) return Status::Internal("Nested transactions are not supported");
    RETURN_IF_ERROR(EnsureConnected());
    ResultPtr res(PQexec(conn_, "BEGIN"));
    if (!IsOk(res.r)) return MapError(res.r);
    in_tx_ = true;
    return Status::Ok();
  }

  // A broken connection is re-established once, but never in the middle of a transaction:
  // its earlier statements are gone and the caller must know.
  Status EnsureConnected() {
    if (PQstatus(conn_) != CONNECTION_BAD) return Status::Ok();
    if (in_tx_) return Status::Unavailable(kMsgUnavailable);
    PQreset(conn_);
    cache_.Clear();  // prepared statements died with the old session
    if (PQstatus(conn_) != CONNECTION_OK) return Status::Unavailable(kMsgUnavailable);
    return Status::Ok();
  }

  friend class PgBulkInsert;

  Status MapError(const PGresult* r) {
    std::string_view state = SqlState(r);
    if (state.empty()) {
      // Client-side failure: no result, lost connection, out of memory.
      if (PQstatus(conn_) == CONNECTION_BAD) return Status::Unavailable(kMsgUnavailable);
      const char* m = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
      return Status::Internal(std::string("postgresql: ") + m);
    }
    if (state == "23505" || state == "23P01") return Status::Conflict(kMsgUnique);
    if (state == "23503") return Status::InvalidArgument(kMsgForeignKey);
    if (state == "23502") return Status::InvalidArgument(kMsgNotNull);
    if (state.starts_with("23")) return Status::InvalidArgument(kMsgCheck);
    if (state.starts_with("22")) return Status::InvalidArgument(kMsgBadData);
    if (state.starts_with("08") || state.starts_with("57P") || state == "53300" ||
        PQstatus(conn_) == CONNECTION_BAD)
      return Status::Unavailable(kMsgUnavailable);
    if (state == "40001" || state == "40P01") return Status::Conflict(kMsgRetry);
    const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    return Status::Internal("postgresql " + std::string(state) + ": " + (primary ? primary : ""));
  }

  Result<const PgStatement*> Prepare(std::string_view sql) {
    if (const PgStatement* s = cache_.Find(sql)) return s;
    PgStatement stmt;
    std::string translated = TranslatePlaceholders(sql, &stmt.nparams);
    stmt.name = "abierto_" + std::to_string(++statement_counter_);
    ResultPtr res(PQprepare(conn_, stmt.name.c_str(), translated.c_str(), stmt.nparams, nullptr));
    if (!IsOk(res.r)) return MapError(res.r);
    return cache_.Insert(sql, std::move(stmt), [this](const PgStatement& old) { Deallocate(old); });
  }

  void Deallocate(const PgStatement& s) {
    // Fails harmlessly inside an aborted transaction; the server then keeps the plan until
    // the session ends.
    ResultPtr res(PQexec(conn_, ("DEALLOCATE " + s.name).c_str()));
  }

  Status Run(std::string_view sql, const std::vector<Value>& params, Rows* rows, int64_t* changed) {
    RETURN_IF_ERROR(EnsureConnected());
    ASSIGN_OR_RETURN(const PgStatement* stmt, Prepare(sql));
    if (stmt->nparams != static_cast<int>(params.size()))
      return Status::Internal("SQL expects " + std::to_string(stmt->nparams) + " parameters, got " +
                              std::to_string(params.size()));
    const int n = static_cast<int>(params.size());
    std::vector<std::string> numbers(n);  // pre-sized: pointers into it stay valid
    std::vector<const char*> values(n);
    std::vector<int> lengths(n), formats(n);
    for (int i = 0; i < n; ++i) {
      const Value& v = params[i];
      if (auto* x = std::get_if<int64_t>(&v)) {
        numbers[i] = std::to_string(*x);
        values[i] = numbers[i].c_str();
      } else if (auto* d = std::get_if<double>(&v)) {
        char buf[64];
        auto [p, ec] = std::to_chars(buf, buf + sizeof buf, *d);
        numbers[i].assign(buf, p);
        values[i] = numbers[i].c_str();
      } else if (auto* s = std::get_if<std::string>(&v)) {
        values[i] = s->c_str();
      } else if (auto* b = std::get_if<Blob>(&v)) {
        values[i] = b->bytes.data();
        lengths[i] = static_cast<int>(b->bytes.size());
        formats[i] = 1;
      } else {
        values[i] = nullptr;
      }
    }
    ResultPtr res(PQexecPrepared(conn_, stmt->name.c_str(), n, values.data(), lengths.data(),
                                 formats.data(), 0));
    if (!IsOk(res.r)) {
      std::string_view state = SqlState(res.r);
      // "cached plan must not change result type" after a schema change, or a statement
      // the server no longer knows: forget it so the next call prepares it again, and when
      // no transaction was aborted by the failure, retry once now.
      if (state == "0A000" || state == "26000") {
        Status original = MapError(res.r);
        if (!in_tx_) Deallocate(*stmt);
        cache_.Erase(sql);
        if (!in_tx_ && !retrying_) {
          retrying_ = true;
          Status again = Run(sql, params, rows, changed);
          retrying_ = false;
          return again;
        }
        return original;
      }
      return MapError(res.r);
    }
    if (changed) {
      const char* tuples = PQcmdTuples(res.r);
      *changed = *tuples ? std::atoll(tuples) : 0;
    }
    if (rows) {
      const int nrows = PQntuples(res.r), ncols = PQnfields(res.r);
      auto names = std::make_shared<std::vector<std::string>>();
      std::vector<Oid> types(ncols);
      names->reserve(ncols);
      for (int c = 0; c < ncols; ++c) {
        std::string name = PQfname(res.r, c);
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        names->push_back(std::move(name));
        types[c] = PQftype(res.r, c);
      }
      rows->reserve(nrows);
      for (int r = 0; r < nrows; ++r) {
        std::vector<Value> vals;
        vals.reserve(ncols);
        for (int c = 0; c < ncols; ++c) {
          if (PQgetisnull(res.r, r, c)) {
            vals.emplace_back(std::monostate{});
          } else {
            vals.push_back(
                ConvertValue(types[c], PQgetvalue(res.r, r, c), PQgetlength(res.r, r, c)));
          }
        }
        rows->emplace_back(names, std::move(vals));
      }
    }
    return Status::Ok();
  }

  PGconn* conn_;
  bool in_tx_ = false;
  bool retrying_ = false;
  uint64_t statement_counter_ = 0;
  StatementCache<PgStatement> cache_;
};

class PgDatabase final : public Database {
 public:
  explicit PgDatabase(std::string url) : url_(std::move(url)) {}

  Dialect dialect() const override { return Dialect::kPostgres; }

  Result<std::unique_ptr<Connection>> Connect() override {
    // Session settings go in the connection parameters, not in SET statements, so that
    // PQreset restores them. Later entries override the URL's own.
    const char* keys[] = {"connect_timeout", "dbname", "client_encoding", "options", nullptr};
    const char* vals[] = {"10", url_.c_str(), "UTF8", "-c TimeZone=UTC -c bytea_output=hex",
                          nullptr};
    PGconn* conn = PQconnectdbParams(keys, vals, /*expand_dbname=*/1);
    if (conn == nullptr) return Status::Unavailable(kMsgUnavailable);
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string detail = PQerrorMessage(conn);
      PQfinish(conn);
      while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
      return Status::Unavailable(std::string(kMsgUnavailable) + " (" + Describe() + "): " + detail);
    }
    // libpq prints server notices ("already exists, skipping") to stderr by default; they
    // are expected noise for migrations and must not clutter the server's log.
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    return std::unique_ptr<Connection>(new PgConnection(conn));
  }

  std::string Describe() const override { return RedactUrl(url_); }

 private:
  std::string url_;
};

// COPY ... FROM STDIN in the text format: one line per row, values separated by tabs, \\N for
// NULL, and backslash, newline, carriage return and tab escaped inside values. Rows are sent
// in pieces of about kPiece bytes.
class PgBulkInsert final : public BulkInsert {
 public:
  static constexpr size_t kPiece = 1 << 20;

  PgBulkInsert(PgConnection* c, size_t columns) : c_(c), columns_(columns) {}
  ~PgBulkInsert() override {
    if (!open_) return;
    // Abandoned: the server fails the COPY, and with it the transaction.
    PQputCopyEnd(c_->conn_, "abandonada");
    while (PGresult* r = PQgetResult(c_->conn_)) PQclear(r);
  }

  Status Add(const std::vector<Value>& values, size_t rows) override {
    if (!open_) return Status::Internal("BulkInsert already finished");
    if (values.size() < rows * columns_) return Status::Internal("BulkInsert: too few values");
    for (size_t k = 0; k < rows; ++k) {
      for (size_t i = 0; i < columns_; ++i) {
        if (i) buf_.push_back('\t');
        Append(values[k * columns_ + i]);
      }
      buf_.push_back('\n');
    }
    return buf_.size() >= kPiece ? Send() : Status::Ok();
  }

  Status Finish() override {
    if (!open_) return Status::Internal("BulkInsert already finished");
    RETURN_IF_ERROR(Send());
    open_ = false;
    if (PQputCopyEnd(c_->conn_, nullptr) != 1) return Lost();
    Status out = Status::Ok();
    while (PGresult* r = PQgetResult(c_->conn_)) {
      ResultPtr res(r);
      if (out.ok() && !IsOk(r)) out = c_->MapError(r);
    }
    return out;
  }

 private:
  void Append(const Value& v) {
    char num[32];
    if (std::holds_alternative<std::monostate>(v)) {
      buf_.append("\\N");
    } else if (const auto* n = std::get_if<int64_t>(&v)) {
      auto [end, ec] = std::to_chars(num, num + sizeof num, *n);
      buf_.append(num, end);
    } else if (const auto* d = std::get_if<double>(&v)) {
      // The shortest digits that read back exactly (float8in reads 1e+21 and the like).
      auto [end, ec] = std::to_chars(num, num + sizeof num, *d);
      buf_.append(num, end);
    } else if (const auto* str = std::get_if<std::string>(&v)) {
      for (char ch : *str) {
        switch (ch) {
          case '\\':
            buf_.append("\\\\");
            break;
          case '\n':
            buf_.append("\\n");
            break;
          case '\r':
            buf_.append("\\r");
            break;
          case '\t':
            buf_.append("\\t");
            break;
          default:
            buf_.push_back(ch);
        }
      }
    } else if (const auto* b = std::get_if<Blob>(&v)) {
      static const char kHex[] = "0123456789abcdef";
      buf_.append("\\\\x");  // bytea's hex format, its backslash escaped for COPY
      for (unsigned char ch : b->bytes) {
        buf_.push_back(kHex[ch >> 4]);
        buf_.push_back(kHex[ch & 15]);
      }
    }
  }

  Status Send() {
    if (buf_.empty()) return Status::Ok();
    if (PQputCopyData(c_->conn_, buf_.data(), static_cast<int>(buf_.size())) != 1) return Lost();
    buf_.clear();
    return Status::Ok();
  }

  Status Lost() {
    open_ = false;
    return Status::Unavailable(kMsgUnavailable);
  }

  PgConnection* c_;
  size_t columns_;
  std::string buf_;
  bool open_ = true;
};

Result<std::unique_ptr<BulkInsert>> PgConnection::BulkInsertInto(
    const std::string& table, const std::vector<std::string>& columns) {
  if (!in_tx_) return Status::Internal("BulkInsert needs a transaction");
  if (columns.empty()) return Status::Internal("BulkInsert needs columns");
  std::string sql = "COPY " + QuoteIdentifier(table) + " (";
  for (size_t i = 0; i < columns.size(); ++i) sql += (i ? ", " : "") + QuoteIdentifier(columns[i]);
  sql += ") FROM STDIN";
  ResultPtr res(PQexec(conn_, sql.c_str()));
  if (PQresultStatus(res.r) != PGRES_COPY_IN) return MapError(res.r);
  return std::unique_ptr<BulkInsert>(new PgBulkInsert(this, columns.size()));
}

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgres(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (opts == nullptr) {
    std::string detail = err ? err : "";
    PQfreemem(err);
    return Status::InvalidArgument("URL de PostgreSQL no válida: " + detail);
  }
  PQconninfoFree(opts);
  return std::unique_ptr<Database>(new PgDatabase(url));
}

}  // namespace abierto::db::internal
