// Internals shared by the storage backends (src/core/db*.cc). Not part of the public API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "abierto/db.h"
#include "abierto/status.h"

namespace abierto::db::internal {

// "sqlite:PATH[?synchronous=full|normal]" with the "sqlite:" prefix already removed.
Result<std::unique_ptr<Database>> OpenSqlite(std::string_view rest);
// A full "postgresql://" or "postgres://" URL.
Result<std::unique_ptr<Database>> OpenPostgres(const std::string& url);

// "name" with any " doubled: an identifier both dialects read as written.
std::string QuoteIdentifier(std::string_view name);

// Rewrites `?` parameters as $1, $2, ... leaving those inside single-quoted literals,
// double-quoted identifiers and comments alone. Sets *count to the number of parameters.
std::string TranslatePlaceholders(std::string_view sql, int* count = nullptr);

// An untrusted SELECT (Connection::QueryUntrusted) after the checks both backends share: one
// statement starting with SELECT, WITH, VALUES or "(", cut before its trailing ";", with the
// quoted names of q.tables replaced by their tables. The lexer follows the dialect (nested
// comments, E'' and dollar-quoted strings on PostgreSQL; [] and `` identifiers on SQLite).
struct PreparedUntrusted {
  std::string sql;
  // Names written as function calls (a name followed by "("), lower case unless quoted, that
  // are not SQL syntax (IN (...), OVER (...), AS t(a, b), x::numeric(10, 2)...). A call with a
  // schema ("pg_catalog.f(") is listed with it, so that an allow-list of bare names refuses it.
  std::vector<std::string> calls;
};
Result<PreparedUntrusted> PrepareUntrusted(const UntrustedQuery& q, Dialect dialect);

// The URL without its password, for logs.
std::string RedactUrl(std::string_view url);

// Shared Spanish messages, so both backends say the same thing for the same violation.
inline constexpr char kMsgUnique[] = "Ya existe un registro con esos datos";
inline constexpr char kMsgForeignKey[] =
    "El registro hace referencia a datos que no existen o que todavía están en uso";
inline constexpr char kMsgCheck[] = "Los datos no cumplen las reglas de validación";
inline constexpr char kMsgNotNull[] = "Falta un dato obligatorio";
inline constexpr char kMsgUnavailable[] = "No hay conexión con la base de datos";
inline constexpr char kMsgBusy[] = "La base de datos está ocupada; intente de nuevo";

// A status with the same code as `s` and a new message (Status has only named constructors).
Status WithMessage(const Status& s, std::string message);

// Prepared statements keyed by SQL text, evicting the least recently used beyond a capacity.
// Heterogeneous lookup so the hot path never copies the SQL string.
template <class Stmt>
class StatementCache {
 public:
  explicit StatementCache(size_t capacity) : capacity_(capacity) {}

  Stmt* Find(std::string_view sql) {
    auto it = map_.find(sql);
    if (it == map_.end()) return nullptr;
    it->second.last_used = ++tick_;
    return &it->second.stmt;
  }

  // Inserts and returns the entry; `evict` is called on the one pushed out, if any.
  template <class Evict>
  Stmt* Insert(std::string_view sql, Stmt stmt, Evict&& evict) {
    if (map_.size() >= capacity_) {
      // A linear scan is fine: it only runs when a new statement arrives at a full cache.
      auto oldest = map_.begin();
      for (auto it = map_.begin(); it != map_.end(); ++it)
        if (it->second.last_used < oldest->second.last_used) oldest = it;
      evict(oldest->second.stmt);
      map_.erase(oldest);
    }
    auto [it, inserted] = map_.emplace(std::string(sql), Entry{std::move(stmt), ++tick_});
    return &it->second.stmt;
  }

  // Removes one entry without calling anything on it; the caller disposes of it.
  void Erase(std::string_view sql) {
    auto it = map_.find(sql);
    if (it != map_.end()) map_.erase(it);
  }

  template <class F>
  void ForEach(F&& f) {
    for (auto& [sql, e] : map_) f(e.stmt);
  }
  void Clear() { map_.clear(); }
  size_t size() const { return map_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Entry {
    Stmt stmt;
    uint64_t last_used;
  };
  size_t capacity_;
  uint64_t tick_ = 0;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> map_;
};

// How many prepared statements each connection keeps. The modules have a few hundred
// distinct queries at most; the hot ones stay.
inline constexpr size_t kStatementCacheCapacity = 256;

}  // namespace abierto::db::internal
