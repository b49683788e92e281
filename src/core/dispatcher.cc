// The dispatcher and the input validator: the single path from a request to a handler.
#include <boost/url/parse.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "abierto/json.h"
#include "abierto/registry.h"
#include "abierto/text.h"

namespace abierto {

namespace json = boost::json;

const char* RoleName(Role r) {
  switch (r) {
    case Role::kAnonymous:
      return "anonimo";
    case Role::kCiudadano:
      return "ciudadano";
    case Role::kEnlace:
      return "enlace";
    case Role::kSecretariado:
      return "secretariado";
    case Role::kAdmin:
      return "admin";
  }
  return "anonimo";
}

bool ParseRole(std::string_view name, Role* out) {
  for (Role r : kAllRoles) {
    if (name == RoleName(r)) {
      *out = r;
      return true;
    }
  }
  return false;
}

namespace {
Field Make(std::string name, FieldType t) {
  Field f;
  f.name = std::move(name);
  f.type = t;
  return f;
}
}  // namespace

Field StringField(std::string name, size_t max_length) {
  return Make(std::move(name), FieldType::kString).MaxLength(max_length);
}
Field TextField(std::string name, size_t max_length) {
  return Make(std::move(name), FieldType::kText).MaxLength(max_length);
}
Field IntField(std::string name) { return Make(std::move(name), FieldType::kInt); }
Field NumberField(std::string name) { return Make(std::move(name), FieldType::kNumber); }
Field DateField(std::string name) { return Make(std::move(name), FieldType::kDate); }
Field BoolField(std::string name) { return Make(std::move(name), FieldType::kBool); }
Field EnumField(std::string name, std::vector<std::string> choices) {
  Field f = Make(std::move(name), FieldType::kEnum);
  f.choices = std::move(choices);
  return f;
}
Field UrlField(std::string name) { return Make(std::move(name), FieldType::kUrl).MaxLength(2000); }
Field EmailField(std::string name) {
  return Make(std::move(name), FieldType::kEmail).MaxLength(254);
}
Field PasswordField(std::string name) {
  return Make(std::move(name), FieldType::kPassword).MaxLength(200);
}
Field IdField(std::string name) { return Make(std::move(name), FieldType::kId).Range(1, 9.0e15); }
Field FileField(std::string name, size_t max_bytes) {
  Field f = Make(std::move(name), FieldType::kFile);
  f.max_bytes = max_bytes;
  return f;
}

std::string GetString(const Input& in, std::string_view key, std::string fallback) {
  auto it = in.find(key);
  if (it == in.end() || !it->value().is_string()) return fallback;
  return std::string(it->value().get_string());
}
int64_t GetInt(const Input& in, std::string_view key, int64_t fallback) {
  auto it = in.find(key);
  if (it == in.end()) return fallback;
  if (it->value().is_int64()) return it->value().get_int64();
  if (it->value().is_uint64()) return static_cast<int64_t>(it->value().get_uint64());
  return fallback;
}
double GetNumber(const Input& in, std::string_view key, double fallback) {
  auto it = in.find(key);
  if (it == in.end()) return fallback;
  if (it->value().is_double()) return it->value().get_double();
  if (it->value().is_int64()) return static_cast<double>(it->value().get_int64());
  return fallback;
}
bool GetBool(const Input& in, std::string_view key) {
  auto it = in.find(key);
  return it != in.end() && it->value().is_bool() && it->value().get_bool();
}
bool Has(const Input& in, std::string_view key) {
  auto it = in.find(key);
  return it != in.end() && !it->value().is_null();
}

bool Action::Allows(Role r) const {
  for (Role x : roles)
    if (x == r) return true;
  return false;
}

std::vector<Role> Everyone() { return {std::begin(kAllRoles), std::end(kAllRoles)}; }
std::vector<Role> Staff() { return {Role::kEnlace, Role::kSecretariado, Role::kAdmin}; }

namespace {

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// The scalar as text, whether it came as a JSON string or a JSON number.
bool AsText(const json::value& v, std::string* out) {
  if (v.is_string()) {
    *out = std::string(v.get_string());
    return true;
  }
  if (v.is_int64() || v.is_uint64() || v.is_double()) {
    *out = JsonText(v);
    return true;
  }
  return false;
}

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseDouble(std::string_view s, double* out) {
  if (s.empty()) return false;
  // Forms from es-MX users may use a comma as the decimal separator when there is no dot.
  std::string t(s);
  if (t.find('.') == std::string::npos) {
    size_t c = t.find(',');
    if (c != std::string::npos && t.find(',', c + 1) == std::string::npos) t[c] = '.';
  }
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), *out);
  return ec == std::errc() && p == t.data() + t.size() && std::isfinite(*out);
}

bool LooksLikeEmail(std::string_view s) {
  size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size()) return false;
  if (s.find('@', at + 1) != std::string_view::npos) return false;
  std::string_view domain = s.substr(at + 1);
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.')
    return false;
  for (char c : s)
    if (c == ' ' || c == '<' || c == '>' || c == '"' || c == ',' || c == ';') return false;
  return true;
}

// Validates one field value; on success stores the typed value in *out.
std::string ValidateOne(const Field& f, const json::value& raw, json::value* out) {
  if (f.type == FieldType::kFile) {
    if (!raw.is_object()) return "Archivo no válido";
    const json::object& o = raw.get_object();
    const json::value* data = o.if_contains("data");
    const json::value* name = o.if_contains("name");
    if (!data || !data->is_string() || !name || !name->is_string()) return "Archivo no válido";
    if (data->get_string().size() > f.max_bytes) {
      // The limit in the message, so the person knows how far to shrink the file.
      char limit[32];
      if (f.max_bytes % (1024 * 1024) == 0)
        snprintf(limit, sizeof limit, "%zu MB", f.max_bytes / (1024 * 1024));
      else
        snprintf(limit, sizeof limit, "%zu KB", (f.max_bytes + 1023) / 1024);
      return std::string("El archivo excede el tamaño máximo de ") + limit;
    }
    if (data->get_string().empty()) return "El archivo está vacío";
    *out = raw;
    return "";
  }
  if (f.type == FieldType::kBool) {
    if (raw.is_bool()) {
      *out = raw.get_bool();
      return "";
    }
    std::string t;
    if (!AsText(raw, &t)) return "Valor no válido";
    if (t == "1" || t == "true" || t == "on" || t == "si" || t == "sí")
      *out = true;
    else if (t == "0" || t == "false" || t == "off" || t == "no")
      *out = false;
    else
      return "Debe ser sí o no";
    return "";
  }
  std::string t;
  if (!AsText(raw, &t)) return "Valor no válido";
  if (!text::IsValidUtf8(t)) return "El texto no es UTF-8 válido";
  bool multiline = f.type == FieldType::kText;
  if (text::HasControlChars(t, multiline)) return "El texto contiene caracteres de control";
  std::string_view v = f.type == FieldType::kPassword ? std::string_view(t) : Trim(t);
  switch (f.type) {
    case FieldType::kString:
    case FieldType::kText:
    case FieldType::kPassword:
      if (CodePoints(v) > f.max_length)
        return "Máximo " + std::to_string(f.max_length) + " caracteres";
      *out = json::string(v);
      return "";
    case FieldType::kInt:
    case FieldType::kId: {
      int64_t n;
      if (!ParseInt64(v, &n)) return "Debe ser un número entero";
      if (n < f.min || n > f.max) {
        if (f.type == FieldType::kId) return "Identificador no válido";
        return "Fuera de rango";
      }
      *out = n;
      return "";
    }
    case FieldType::kNumber: {
      double d;
      if (!ParseDouble(v, &d)) return "Debe ser un número";
      if (d < f.min || d > f.max) return "Fuera de rango";
      *out = d;
      return "";
    }
    case FieldType::kDate: {
      int y, m, d;
      if (!text::ParseIsoDate(v, &y, &m, &d)) return "Fecha no válida (AAAA-MM-DD)";
      *out = json::string(v);
      return "";
    }
    case FieldType::kEnum:
      for (const std::string& c : f.choices) {
        if (v == c) {
          *out = json::string(v);
          return "";
        }
      }
      return "Opción no válida";
    case FieldType::kUrl: {
      if (CodePoints(v) > f.max_length) return "Dirección demasiado larga";
      auto u = boost::urls::parse_absolute_uri(v);
      if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty())
        return "Debe ser una dirección http:// o https://";
      *out = json::string(v);
      return "";
    }
    case FieldType::kEmail: {
      if (CodePoints(v) > f.max_length || !LooksLikeEmail(v)) return "Correo no válido";
      std::string lower(v);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      *out = json::string(lower);
      return "";
    }
    default:
      return "Tipo no soportado";
  }
}

bool IsEmpty(const json::value& v) {
  if (v.is_null()) return true;
  if (v.is_string()) return Trim(v.get_string()).empty();
  return false;
}

}  // namespace

Result<Input> Dispatcher::Validate(const Action& action, const json::object& raw) const {
  Input in;
  std::vector<FieldError> errors;
  for (const Field& f : action.input) {
    const json::value* v = raw.if_contains(f.name);
    if (!v || IsEmpty(*v)) {
      if (f.type == FieldType::kBool && !f.required) {
        in[f.name] = false;
      } else if (f.required) {
        errors.push_back({f.name, "Este campo es obligatorio"});
      }
      continue;
    }
    json::value typed;
    std::string err = ValidateOne(f, *v, &typed);
    if (!err.empty()) {
      errors.push_back({f.name, std::move(err)});
      continue;
    }
    in[f.name] = std::move(typed);
  }
  if (!errors.empty())
    return Status::InvalidArgument("Revisa los datos marcados", std::move(errors));
  if (action.check) RETURN_IF_ERROR(action.check(in));
  return in;
}

namespace {
Status Gate(const Action& a, const Principal& who) {
  if (a.Allows(who.role) || who.system) return Status::Ok();
  if (!who.authenticated()) return Status::Unauthenticated("Inicia sesión para continuar");
  return Status::PermissionDenied("Tu cuenta no tiene permiso para esta operación");
}
}  // namespace

Result<json::value> Dispatcher::Run(db::Connection& db, const Principal& who, std::string_view name,
                                    const json::object& raw) const {
  const Action* a = registry_.FindAction(name);
  if (!a) return Status::NotFound("La operación no existe");
  RETURN_IF_ERROR(Gate(*a, who));
  ASSIGN_OR_RETURN(Input in, Validate(*a, raw));
  ActionContext ctx{db, who, a->name, text::TodayIso(), text::NowIso()};
  if (!a->mutating) {
    // A read runs in one read transaction so that a page sees one consistent snapshot;
    // nested calls (an action reading through another) reuse the outer transaction.
    if (db.InTransaction()) {
      if (a->authorize) RETURN_IF_ERROR(a->authorize(ctx, in));
      return a->handle(ctx, in);
    }
    ASSIGN_OR_RETURN(auto tx, db::Transaction::Read(db));
    if (a->authorize) RETURN_IF_ERROR(a->authorize(ctx, in));
    return a->handle(ctx, in);
  }
  if (db.InTransaction()) return Status::Internal("Escritura anidada en otra transacción");
  ASSIGN_OR_RETURN(auto tx, db::Transaction::Write(db));
  if (a->authorize) RETURN_IF_ERROR(a->authorize(ctx, in));
  ASSIGN_OR_RETURN(json::value out, a->handle(ctx, in));
  ASSIGN_OR_RETURN(db::Rows rev, db.Query("UPDATE meta_revision SET rev = rev + 1 WHERE id = 1 "
                                          "RETURNING rev"));
  RETURN_IF_ERROR(tx.Commit());
  if (registry_.revision_listener() && !rev.empty())
    registry_.revision_listener()(rev[0].Int("rev"));
  return out;
}

json::object RowJson(const db::Row& r) {
  json::object o;
  const auto& names = r.names();
  for (size_t i = 0; i < names.size(); ++i) {
    const db::Value& v = r.values()[i];
    if (std::holds_alternative<int64_t>(v))
      o[names[i]] = std::get<int64_t>(v);
    else if (std::holds_alternative<double>(v))
      o[names[i]] = std::get<double>(v);
    else if (std::holds_alternative<std::string>(v))
      o[names[i]] = std::get<std::string>(v);
    else if (std::holds_alternative<db::Blob>(v))
      o[names[i]] = std::get<db::Blob>(v).bytes;
    else
      o[names[i]] = nullptr;
  }
  return o;
}

Status ActionContext::Audit(std::string_view entity, int64_t entity_id, std::string_view scope,
                            const json::value& before, const json::value& after) {
  std::string actor = who.system ? "sistema" : (who.user_id ? who.email : "anonimo");
  auto r = db.Exec(
      "INSERT INTO audit_log (at, user_id, actor, role, action, entity, entity_id, scope, "
      "before_json, after_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {now, who.user_id ? db::Value(who.user_id) : db::Value(), actor,
       std::string(RoleName(who.role)), std::string(action), std::string(entity), entity_id,
       std::string(scope), JsonText(before), JsonText(after)});
  return r.ok() ? Status::Ok() : r.status();
}

Result<json::value> DemoContext::Run(std::string_view action, json::object input) const {
  return dispatcher.Run(db, Principal::System(), action, input);
}
Result<json::value> DemoContext::RunAs(const Principal& who, std::string_view action,
                                       json::object input) const {
  return dispatcher.Run(db, who, action, input);
}

void Registry::AddRoute(Route route) { routes_.push_back(std::move(route)); }
void Registry::AddAction(Action action) { actions_.push_back(std::move(action)); }
void Registry::AddMigration(db::Migration m) { migrations_.push_back(std::move(m)); }
void Registry::AddDemo(std::string module, std::function<Status(DemoContext&)> load) {
  demos_.push_back({std::move(module), std::move(load)});
}
const Action* Registry::FindAction(std::string_view name) const {
  for (const Action& a : actions_)
    if (a.name == name) return &a;
  return nullptr;
}

Result<int64_t> ReadRevision(db::Connection& db) {
  ASSIGN_OR_RETURN(db::Rows rows, db.Query("SELECT rev FROM meta_revision WHERE id = 1"));
  if (rows.empty()) return Status::Internal("meta_revision vacía");
  return rows[0].Int("rev");
}

}  // namespace abierto
