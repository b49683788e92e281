#include "abierto/accounts.h"

#include <sodium.h>

#include <semaphore>

#include "abierto/text.h"

namespace abierto::accounts {

namespace json = boost::json;

bool InitCrypto() { return sodium_init() >= 0; }

std::string RandomToken() {
  unsigned char buf[32];
  randombytes_buf(buf, sizeof buf);
  char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, buf, sizeof buf, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

std::string HashToken(std::string_view token) {
  unsigned char h[32];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  return hex;
}

bool SafeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {
// Each argon2id computation takes 64 MiB (MEMLIMIT_INTERACTIVE). Two at a time keep a burst
// of logins from multiplying the server's memory by the size of the worker pool; the others
// wait their turn, which is the throttling a login burst deserves anyway.
std::counting_semaphore<2> hash_slots(2);
struct HashSlot {
  HashSlot() { hash_slots.acquire(); }
  ~HashSlot() { hash_slots.release(); }
};
}  // namespace

Result<std::string> HashPassword(std::string_view password) {
  HashSlot slot;
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Status::Internal("No se pudo calcular el hash de la contraseña");
  return std::string(out);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  HashSlot slot;
  std::string h(hash);
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

namespace {

Principal FromRow(const db::Row& r) {
  Principal p;
  p.user_id = r.Int("id");
  ParseRole(r.Text("role"), &p.role);
  p.email = r.Text("email");
  p.name = r.Text("name");
  p.unit_id = r.Int("unit_id");
  return p;
}

std::string PlusSeconds(std::string_view now_iso, int64_t seconds) {
  int y, m, d;
  if (now_iso.size() < 20 || !text::ParseIsoDate(now_iso.substr(0, 10), &y, &m, &d))
    return std::string(now_iso);
  int hh = std::stoi(std::string(now_iso.substr(11, 2)));
  int mm = std::stoi(std::string(now_iso.substr(14, 2)));
  int ss = std::stoi(std::string(now_iso.substr(17, 2)));
  int64_t t = text::DaysFromCivil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss + seconds;
  int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  int64_t rem = t - days * 86400;
  text::CivilFromDays(days, &y, &m, &d);
  char buf[32];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, static_cast<int>(rem / 3600),
           static_cast<int>(rem % 3600 / 60), static_cast<int>(rem % 60));
  return buf;
}

constexpr int kMaxFailuresPerEmail = 5;
constexpr int kMaxFailuresPerAddress = 20;
constexpr int kThrottleWindowSeconds = 15 * 60;

const char* kCoreSchema = R"sql(
CREATE TABLE meta_revision (id INTEGER PRIMARY KEY, rev {{INT}} NOT NULL);
INSERT INTO meta_revision (id, rev) VALUES (1, 1);
CREATE TABLE units (
  id {{ID}},
  name TEXT NOT NULL UNIQUE,
  acronym TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE TABLE users (
  id {{ID}},
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('ciudadano','enlace','secretariado','admin')),
  unit_id {{INT}} REFERENCES units(id),
  password_hash TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id {{INT}} NOT NULL REFERENCES users(id),
  csrf TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE TABLE api_tokens (
  id {{ID}},
  user_id {{INT}} NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);
CREATE TABLE login_failures (
  id {{ID}},
  email TEXT NOT NULL,
  address TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, at);
CREATE INDEX login_failures_address ON login_failures (address, at);
CREATE TABLE audit_log (
  id {{ID}},
  at TEXT NOT NULL,
  user_id {{INT}},
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  entity TEXT NOT NULL,
  entity_id {{INT}} NOT NULL,
  scope TEXT NOT NULL,
  before_json TEXT NOT NULL,
  after_json TEXT NOT NULL
);
CREATE INDEX audit_log_scope ON audit_log (scope, id);
CREATE TABLE files (
  id {{ID}},
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size {{INT}} NOT NULL,
  sha256 TEXT NOT NULL,
  data {{BLOB}} NOT NULL,
  created_by {{INT}} REFERENCES users(id),
  created_at TEXT NOT NULL
);
)sql";

json::object UnitJson(const db::Row& r) {
  return {{"id", r.Int("id")}, {"name", r.Text("name")}, {"acronym", r.Text("acronym")}};
}

Result<json::value> CreateUser(ActionContext& ctx, const Input& in) {
  Role role;
  ParseRole(GetString(in, "role"), &role);
  int64_t unit = GetInt(in, "unit_id");
  if (role == Role::kEnlace && unit == 0)
    return Status::InvalidArgument("Un enlace debe pertenecer a una unidad responsable",
                                   {{"unit_id", "Elige la unidad responsable"}});
  if (unit)
    RETURN_IF_ERROR(
        ctx.db.QueryOne("SELECT id FROM units WHERE id = ?", {unit}, "La unidad no existe")
            .status());
  ASSIGN_OR_RETURN(std::string hash, HashPassword(GetString(in, "password")));
  ASSIGN_OR_RETURN(
      db::Rows rows,
      ctx.db.Query("INSERT INTO users (email, name, role, unit_id, password_hash, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                   {GetString(in, "email"), GetString(in, "name"), GetString(in, "role"),
                    unit ? db::Value(unit) : db::Value(), hash, ctx.now}));
  int64_t id = rows[0].Int("id");
  // The audit entry leaves out the password hash: the history is public.
  json::object after{{"email", GetString(in, "email")},
                     {"name", GetString(in, "name")},
                     {"role", GetString(in, "role")},
                     {"unit_id", unit}};
  RETURN_IF_ERROR(ctx.Audit("user", id, "users", nullptr, after));
  return json::object{{"id", id}};
}

Result<json::value> Login(ActionContext& ctx, const Input& in) {
  std::string email = GetString(in, "email");
  std::string since = PlusSeconds(ctx.now, -kThrottleWindowSeconds);
  std::string address = ctx.who.client_ip;
  ASSIGN_OR_RETURN(db::Rows by_email,
                   ctx.db.Query("SELECT COUNT(*) AS n FROM login_failures WHERE email = ? "
                                "AND at > ?",
                                {email, since}));
  ASSIGN_OR_RETURN(db::Rows by_addr,
                   ctx.db.Query("SELECT COUNT(*) AS n FROM login_failures WHERE address = ? "
                                "AND at > ?",
                                {address, since}));
  if (by_email[0].Int("n") >= kMaxFailuresPerEmail ||
      (!address.empty() && by_addr[0].Int("n") >= kMaxFailuresPerAddress))
    return Status::TooManyRequests(
        "Demasiados intentos fallidos. Espera 15 minutos antes de volver a intentar.");
  ASSIGN_OR_RETURN(db::Rows users,
                   ctx.db.Query("SELECT id, email, name, role, unit_id, password_hash FROM "
                                "users WHERE email = ?",
                                {email}));
  bool ok =
      !users.empty() && VerifyPassword(users[0].Text("password_hash"), GetString(in, "password"));
  if (!ok) {
    // The failure must be kept even though the login fails, so the handler answers with a
    // value (committed) rather than an error (rolled back); the web layer turns it into 401.
    RETURN_IF_ERROR(ctx.db
                        .Exec("INSERT INTO login_failures (email, address, at) VALUES (?, ?, ?)",
                              {email, address, ctx.now})
                        .status());
    return json::object{{"ok", false}, {"error", "Correo o contraseña incorrectos"}};
  }
  std::string token = RandomToken();
  std::string csrf = RandomToken();
  RETURN_IF_ERROR(ctx.db
                      .Exec("INSERT INTO sessions (token_hash, user_id, csrf, created_at, "
                            "expires_at) VALUES (?, ?, ?, ?, ?)",
                            {HashToken(token), users[0].Int("id"), csrf, ctx.now,
                             PlusSeconds(ctx.now, kSessionDays * 86400)})
                      .status());
  RETURN_IF_ERROR(ctx.db.Exec("DELETE FROM login_failures WHERE email = ?", {email}).status());
  return json::object{{"ok", true},
                      {"token", token},
                      {"user_id", users[0].Int("id")},
                      {"role", users[0].Text("role")}};
}

}  // namespace

Result<SessionInfo> LookupSession(db::Connection& db, std::string_view token,
                                  std::string_view now) {
  ASSIGN_OR_RETURN(db::Row r, db.QueryOne("SELECT u.id, u.email, u.name, u.role, u.unit_id, "
                                          "s.csrf, s.expires_at FROM sessions s JOIN users u "
                                          "ON u.id = s.user_id WHERE s.token_hash = ?",
                                          {HashToken(token)}, "Sesión no encontrada"));
  if (r.Text("expires_at") <= now) return Status::NotFound("Sesión vencida");
  return SessionInfo{FromRow(r), r.Text("csrf")};
}

Result<Principal> LookupApiToken(db::Connection& db, std::string_view token) {
  auto r = db.QueryOne(
      "SELECT u.id, u.email, u.name, u.role, u.unit_id FROM api_tokens t "
      "JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
      {HashToken(token)}, "");
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kNotFound)
      return Status::Unauthenticated("Token de API no válido");
    return r.status();
  }
  return FromRow(r.value());
}

void RegisterAccounts(Registry& reg) {
  reg.AddMigration({"core", 1, kCoreSchema});

  reg.AddAction(
      {.name = "users.create",
       .mutating = true,
       .roles = {Role::kAdmin},
       .input = {EmailField("email").Required(), StringField("name", 120).Required(),
                 EnumField("role", {"ciudadano", "enlace", "secretariado", "admin"}).Required(),
                 IdField("unit_id").Options("units.list"), PasswordField("password").Required()},
       .check =
           [](const Input& in) {
             if (GetString(in, "password").size() < 10)
               return Status::InvalidArgument("Contraseña demasiado corta",
                                              {{"password", "Usa al menos 10 caracteres"}});
             return Status::Ok();
           },
       .handle = CreateUser});

  reg.AddAction({.name = "session.login",
                 .mutating = true,
                 .roles = Everyone(),
                 .input = {EmailField("email").Required(), PasswordField("password").Required()},
                 .handle = Login});

  reg.AddAction({.name = "session.logout",
                 .mutating = true,
                 .roles = {Role::kCiudadano, Role::kEnlace, Role::kSecretariado, Role::kAdmin},
                 .input = {StringField("token", 100).Required()},
                 .handle = [](ActionContext& ctx, const Input& in) -> Result<json::value> {
                   RETURN_IF_ERROR(ctx.db
                                       .Exec("DELETE FROM sessions WHERE token_hash = ? AND "
                                             "user_id = ?",
                                             {HashToken(GetString(in, "token")), ctx.who.user_id})
                                       .status());
                   return json::object{{"ok", true}};
                 }});

  reg.AddAction({.name = "tokens.create",
                 .mutating = true,
                 .roles = {Role::kCiudadano, Role::kEnlace, Role::kSecretariado, Role::kAdmin},
                 .input = {StringField("name", 80).Required()},
                 .handle = [](ActionContext& ctx, const Input& in) -> Result<json::value> {
                   if (ctx.who.system)
                     return Status::InvalidArgument("El sistema no puede tener tokens");
                   std::string token = "ab_" + RandomToken();
                   ASSIGN_OR_RETURN(db::Rows rows,
                                    ctx.db.Query("INSERT INTO api_tokens (user_id, name, "
                                                 "token_hash, created_at) VALUES (?, ?, ?, ?) "
                                                 "RETURNING id",
                                                 {ctx.who.user_id, GetString(in, "name"),
                                                  HashToken(token), ctx.now}));
                   RETURN_IF_ERROR(ctx.Audit("api_token", rows[0].Int("id"), "users", nullptr,
                                             json::object{{"name", GetString(in, "name")}}));
                   return json::object{{"id", rows[0].Int("id")}, {"token", token}};
                 }});

  reg.AddAction({.name = "units.list",
                 .roles = Everyone(),
                 .handle = [](ActionContext& ctx, const Input&) -> Result<json::value> {
                   ASSIGN_OR_RETURN(db::Rows rows,
                                    ctx.db.Query("SELECT id, name, acronym FROM units ORDER BY "
                                                 "name"));
                   json::array out;
                   for (const db::Row& r : rows) out.push_back(UnitJson(r));
                   return out;
                 }});

  reg.AddAction(
      {.name = "units.create",
       .mutating = true,
       .roles = {Role::kAdmin},
       .input = {StringField("name", 160).Required(), StringField("acronym", 20)},
       .handle = [](ActionContext& ctx, const Input& in) -> Result<json::value> {
         ASSIGN_OR_RETURN(db::Rows rows,
                          ctx.db.Query("INSERT INTO units (name, acronym, created_at) "
                                       "VALUES (?, ?, ?) RETURNING id",
                                       {GetString(in, "name"), GetString(in, "acronym"), ctx.now}));
         json::object after{{"name", GetString(in, "name")}, {"acronym", GetString(in, "acronym")}};
         RETURN_IF_ERROR(ctx.Audit("unit", rows[0].Int("id"), "units", nullptr, after));
         return json::object{{"id", rows[0].Int("id")}};
       }});
}

}  // namespace abierto::accounts
