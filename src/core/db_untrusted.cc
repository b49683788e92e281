// The checks both backends apply to an untrusted SELECT before their own (see
// Connection::QueryUntrusted): a lexer that follows the dialect closely enough never to read a
// call or a statement boundary where the server would read a string, and the rewriting of
// quoted resource names into tables.
//
// The lexer errs on the side of refusing: anything it cannot classify (an unterminated quote
// or comment, a Unicode-escaped identifier on PostgreSQL) is an error, and a name followed by
// "(" counts as a call unless the syntax before it says otherwise.
#include <algorithm>
#include <cctype>
#include <set>

#include "core/db_internal.h"

namespace abierto::db::internal {
namespace {

enum class Kind { kSpace, kComment, kWord, kQuoted, kString, kNumber, kParam, kPunct };

struct Token {
  Kind kind;
  size_t begin, end;  // bytes of the source
  std::string value;  // words: lower case; quoted identifiers: unescaped; punctuation: itself
};

bool IdentStart(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool IdentChar(unsigned char c) { return IdentStart(c) || std::isdigit(c) || c == '$'; }
bool TagChar(unsigned char c) { return IdentStart(c) || std::isdigit(c); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status Refuse(std::string message) {
  return Status::InvalidArgument(std::move(message), {{"sql", "Consulta no válida"}});
}

Result<std::vector<Token>> Lex(std::string_view s, Dialect d) {
  const bool pg = d == Dialect::kPostgres;
  std::vector<Token> out;
  size_t i = 0;
  const size_t n = s.size();
  auto at = [&](size_t k) -> unsigned char { return k < n ? static_cast<unsigned char>(s[k]) : 0; };
  while (i < n) {
    const size_t b = i;
    const unsigned char c = at(i);
    if (std::isspace(c)) {
      while (i < n && std::isspace(at(i))) ++i;
      out.push_back({Kind::kSpace, b, i, ""});
    } else if (c == '-' && at(i + 1) == '-') {
      while (i < n && s[i] != '\n') ++i;
      out.push_back({Kind::kComment, b, i, ""});
    } else if (c == '/' && at(i + 1) == '*') {
      // PostgreSQL nests block comments; SQLite ends at the first "*/".
      int depth = 0;
      do {
        if (at(i) == '/' && at(i + 1) == '*') {
          ++depth;
          i += 2;
        } else if (at(i) == '*' && at(i + 1) == '/') {
          --depth;
          i += 2;
        } else {
          ++i;
        }
        if (!pg && depth > 1) depth = 1;
      } while (depth > 0 && i < n);
      if (depth > 0) return Refuse("Un comentario /* no está cerrado");
      out.push_back({Kind::kComment, b, i, ""});
    } else if (c == '\'') {
      // E'...' (PostgreSQL, the E right before the quote) takes backslash escapes; every other
      // string doubles its quotes. standard_conforming_strings is set on for the statement, so
      // the server agrees with this reading of backslashes.
      bool escapes = pg && !out.empty() && out.back().kind == Kind::kWord && out.back().end == b &&
                     out.back().value == "e";
      ++i;
      for (;;) {
        if (i >= n) return Refuse("Una cadena entre comillas simples no está cerrada");
        if (escapes && s[i] == '\\') {
          i += 2;
          continue;
        }
        if (s[i] == '\'') {
          if (at(i + 1) == '\'') {
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        ++i;
      }
      out.push_back({Kind::kString, b, i, ""});
    } else if (c == '"' || (!pg && (c == '`' || c == '['))) {
      const char close = c == '[' ? ']' : static_cast<char>(c);
      std::string value;
      ++i;
      for (;;) {
        if (i >= n) return Refuse("Un nombre entre comillas no está cerrado");
        if (s[i] == close) {
          if (close != ']' && at(i + 1) == static_cast<unsigned char>(close)) {
            value += close;
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        value += s[i++];
      }
      out.push_back({Kind::kQuoted, b, i, std::move(value)});
    } else if (c == '$' && pg && std::isdigit(at(i + 1))) {
      ++i;
      while (std::isdigit(at(i))) ++i;
      out.push_back({Kind::kParam, b, i, ""});
    } else if (c == '$' && pg && (at(i + 1) == '$' || IdentStart(at(i + 1)))) {
      // $tag$ ... $tag$; "$" followed by anything else is an operator character.
      size_t k = i + 1;
      while (k < n && TagChar(at(k))) ++k;
      if (at(k) != '$') {
        ++i;
        out.push_back({Kind::kPunct, b, i, "$"});
        continue;
      }
      std::string_view tag = s.substr(i, k + 1 - i);
      size_t close = s.find(tag, k + 1);
      if (close == std::string_view::npos) return Refuse("Una cadena $...$ no está cerrada");
      i = close + tag.size();
      out.push_back({Kind::kString, b, i, ""});
    } else if (!pg && (c == '$' || c == ':' || c == '@') && IdentStart(at(i + 1))) {
      ++i;
      while (i < n && IdentChar(at(i))) ++i;
      out.push_back({Kind::kParam, b, i, ""});
    } else if (IdentStart(c)) {
      while (i < n && IdentChar(at(i))) ++i;
      out.push_back({Kind::kWord, b, i, Lower(s.substr(b, i - b))});
      // U&"..." names a function or table through escapes this lexer does not decode.
      if (pg && out.back().value == "u" && at(i) == '&' && at(i + 1) == '"')
        return Status::PermissionDenied("No se aceptan nombres con escapes Unicode (U&\"...\")");
    } else if (std::isdigit(c) || (c == '.' && std::isdigit(at(i + 1)))) {
      // Digits, a decimal point and an exponent only: letters right after a number start a
      // new word, as PostgreSQL 15 reads "1abc" as "1 abc".
      while (std::isdigit(at(i)) || at(i) == '.') ++i;
      if ((at(i) == 'e' || at(i) == 'E') &&
          (std::isdigit(at(i + 1)) ||
           ((at(i + 1) == '+' || at(i + 1) == '-') && std::isdigit(at(i + 2))))) {
        i += 2;
        while (std::isdigit(at(i))) ++i;
      }
      out.push_back({Kind::kNumber, b, i, ""});
    } else if (c == ':' && at(i + 1) == ':') {
      i += 2;
      out.push_back({Kind::kPunct, b, i, "::"});
    } else {
      ++i;
      out.push_back({Kind::kPunct, b, i, std::string(1, static_cast<char>(c))});
    }
  }
  return out;
}

// Words that may stand right before "(" without being a function call.
const std::set<std::string>& SyntaxBeforeParen() {
  static const std::set<std::string> k = {
      "all",          "and",       "any",       "array",   "as",        "between",   "by",
      "case",         "cube",      "distinct",  "else",    "except",    "exists",    "fetch",
      "filter",       "first",     "from",      "group",   "groups",    "having",    "ilike",
      "in",           "intersect", "is",        "join",    "lateral",   "like",      "limit",
      "materialized", "next",      "not",       "offset",  "on",        "only",      "or",
      "order",        "over",      "partition", "range",   "recursive", "rollup",    "row",
      "rows",         "select",    "sets",      "similar", "some",      "symmetric", "then",
      "to",           "union",     "using",     "values",  "when",      "where",     "window",
      "with",         "within"};
  return k;
}

}  // namespace

Result<PreparedUntrusted> PrepareUntrusted(const UntrustedQuery& q, Dialect dialect) {
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(q.sql, dialect));
  std::vector<size_t> sig;  // indexes of the significant tokens
  for (size_t k = 0; k < tokens.size(); ++k)
    if (tokens[k].kind != Kind::kSpace && tokens[k].kind != Kind::kComment) sig.push_back(k);
  if (sig.empty()) return Refuse("La consulta está vacía");

  // One statement: after the first ";" only more ";" may follow.
  size_t end = tokens.size();
  for (size_t j = 0; j < sig.size(); ++j) {
    if (tokens[sig[j]].kind != Kind::kPunct || tokens[sig[j]].value != ";") continue;
    for (size_t r = j + 1; r < sig.size(); ++r)
      if (tokens[sig[r]].kind != Kind::kPunct || tokens[sig[r]].value != ";")
        return Refuse("Se admite una sola sentencia SQL por consulta");
    end = sig[j];
    sig.resize(j);
    break;
  }
  if (sig.empty()) return Refuse("La consulta está vacía");
  const Token& first = tokens[sig[0]];
  bool select = (first.kind == Kind::kWord &&
                 (first.value == "select" || first.value == "with" || first.value == "values")) ||
                (first.kind == Kind::kPunct && first.value == "(");
  if (!select)
    return Status::PermissionDenied(
        "Solo se permiten consultas de lectura (SELECT); la consulta empieza con «" +
        std::string(q.sql.substr(first.begin, first.end - first.begin)) + "»");

  PreparedUntrusted out;
  for (size_t j = 0; j < sig.size(); ++j) {
    const Token& t = tokens[sig[j]];
    if (t.kind != Kind::kWord && t.kind != Kind::kQuoted) continue;
    if (j + 1 >= sig.size()) continue;
    const Token& next = tokens[sig[j + 1]];
    if (next.kind != Kind::kPunct || next.value != "(") continue;
    const Token* prev = j > 0 ? &tokens[sig[j - 1]] : nullptr;
    if (t.kind == Kind::kWord && SyntaxBeforeParen().count(t.value)) continue;
    if (prev && prev->kind == Kind::kPunct && prev->value == "::") continue;  // numeric(10, 2)
    // AS t(a, b), CAST(x AS numeric(10, 2)), WITH [RECURSIVE] c(x) AS (...).
    if (prev && prev->kind == Kind::kWord &&
        (prev->value == "as" || prev->value == "with" || prev->value == "recursive"))
      continue;
    std::string name = t.value;
    if (prev && prev->kind == Kind::kPunct && prev->value == "." && j >= 2) {
      const Token& schema = tokens[sig[j - 2]];
      name = schema.value + "." + name;
    }
    out.calls.push_back(std::move(name));
  }

  out.sql.reserve(q.sql.size());
  for (size_t k = 0; k < end; ++k) {
    const Token& t = tokens[k];
    if (t.kind == Kind::kQuoted && q.sql[t.begin] == '"') {
      auto it = std::find_if(q.tables.begin(), q.tables.end(),
                             [&](const auto& p) { return p.first == t.value; });
      if (it != q.tables.end()) {
        out.sql += "\"" + it->second + "\"";
        continue;
      }
    }
    out.sql.append(q.sql, t.begin, t.end - t.begin);
  }
  return out;
}

}  // namespace abierto::db::internal
