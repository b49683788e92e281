// PostgreSQL backend over libpq.
//
// Statements are prepared once per connection (named by a counter, keyed by SQL text) and run
// with text parameters, except blobs which go as binary; results come back as text and are
// converted by column type. Unlike SQLite, an error inside a transaction aborts it on
// PostgreSQL: after a failed statement the only thing left to do is Rollback(), and Commit()
// reports an error instead of silently rolling back.
#include <libpq-fe.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cstring>

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

 private:
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
