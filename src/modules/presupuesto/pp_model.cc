// The participatory-budget module's storage and actions: its schema, every SQL statement it
// runs, and each read and write with its input schema and permission rule.
//
// Phases are computed from the process dates and bind people; the system principal (the demo
// loader and the command line) may record past events, so that earlier years can be loaded.
#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <regex>
#include <set>

#include "abierto/text.h"
#include "modules/presupuesto/counting.h"
#include "modules/presupuesto/presupuesto.h"

namespace abierto::presupuesto {

namespace json = boost::json;

namespace {

const char* kSchema = R"sql(
CREATE TABLE pp_processes (
  id {{ID}},
  year {{INT}} NOT NULL,
  slug TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  proposals_from TEXT NOT NULL,
  proposals_to TEXT NOT NULL,
  voting_from TEXT NOT NULL,
  voting_to TEXT NOT NULL,
  execution_from TEXT NOT NULL DEFAULT '',
  counting_rule TEXT NOT NULL CHECK (counting_rule IN ('greedy','mes')),
  results_published INTEGER NOT NULL DEFAULT 0,
  is_example INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE TABLE pp_zones (
  id {{ID}},
  process_id {{INT}} NOT NULL REFERENCES pp_processes(id),
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('delegacion','rural','colonia')),
  budget {{INT}} NOT NULL CHECK (budget > 0),
  vote_rule TEXT NOT NULL CHECK (vote_rule IN ('aprobacion','mochila','puntos')),
  max_choices {{INT}} NOT NULL DEFAULT 3,
  max_points {{INT}} NOT NULL DEFAULT 10,
  UNIQUE (process_id, name)
);
CREATE TABLE pp_categories (
  id {{ID}},
  slug TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL
);
CREATE TABLE pp_projects (
  id {{ID}},
  process_id {{INT}} NOT NULL REFERENCES pp_processes(id),
  zone_id {{INT}} NOT NULL REFERENCES pp_zones(id),
  category_id {{INT}} REFERENCES pp_categories(id),
  external_id TEXT NOT NULL DEFAULT '',
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  colonia TEXT NOT NULL DEFAULT '',
  lat {{REAL}},
  lng {{REAL}},
  estimated_cost {{INT}} NOT NULL,
  official_cost {{INT}},
  status TEXT NOT NULL CHECK (status IN ('borrador','registrado','viable','no_viable')),
  author_id {{INT}} REFERENCES users(id),
  submitted_on TEXT,
  technical_ok INTEGER,
  technical_reason TEXT NOT NULL DEFAULT '',
  legal_ok INTEGER,
  legal_reason TEXT NOT NULL DEFAULT '',
  financial_ok INTEGER,
  financial_reason TEXT NOT NULL DEFAULT '',
  reviewed_on TEXT,
  selected INTEGER NOT NULL DEFAULT 0,
  is_example INTEGER NOT NULL DEFAULT 0,
  search_text TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE INDEX pp_projects_zone ON pp_projects (zone_id, status);
CREATE TABLE pp_photos (
  id {{ID}},
  project_id {{INT}} NOT NULL REFERENCES pp_projects(id),
  file_id {{INT}} NOT NULL REFERENCES files(id),
  stage TEXT NOT NULL CHECK (stage IN ('propuesta','ejecucion')),
  caption TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE TABLE pp_execution (
  id {{ID}},
  project_id {{INT}} NOT NULL REFERENCES pp_projects(id),
  reported_on TEXT NOT NULL,
  milestone TEXT NOT NULL,
  physical_pct {{REAL}} NOT NULL,
  financial_pct {{REAL}} NOT NULL,
  contract_ref TEXT NOT NULL DEFAULT '',
  delay_reason TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE TABLE pp_secret (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  key_hex TEXT NOT NULL
);
-- Who voted: keyed hashes only, no time, no ballot reference. Apart from the ballot box.
CREATE TABLE pp_voters (
  process_id {{INT}} NOT NULL REFERENCES pp_processes(id),
  voter_hash TEXT NOT NULL,
  PRIMARY KEY (process_id, voter_hash)
);
-- The ballot box: no account, no voter hash, only the day it was cast.
CREATE TABLE pp_ballots (
  id {{ID}},
  process_id {{INT}} NOT NULL REFERENCES pp_processes(id),
  zone_id {{INT}} NOT NULL REFERENCES pp_zones(id),
  receipt_hash TEXT NOT NULL UNIQUE,
  channel TEXT NOT NULL CHECK (channel IN ('en_linea','modulo','importado')),
  cast_on TEXT NOT NULL,
  is_example INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX pp_ballots_zone ON pp_ballots (process_id, zone_id);
CREATE TABLE pp_ballot_items (
  ballot_id {{INT}} NOT NULL REFERENCES pp_ballots(id),
  project_id {{INT}} NOT NULL REFERENCES pp_projects(id),
  points {{INT}} NOT NULL DEFAULT 1,
  PRIMARY KEY (ballot_id, project_id)
);
)sql";

const std::vector<Role> kOffice = {Role::kSecretariado, Role::kAdmin};
// Photos from phones are a few megabytes; larger files are refused with the limit named.
constexpr size_t kMaxPhotoBytes = 5 * 1024 * 1024;
const std::vector<Role> kResidents = {Role::kCiudadano, Role::kEnlace, Role::kSecretariado,
                                      Role::kAdmin};

json::value Nullable(const db::Row& r, std::string_view col, bool real = false) {
  if (r.IsNull(col)) return nullptr;
  if (real) return r.Real(col);
  return r.Int(col);
}

std::string Hex(const unsigned char* p, size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), p, n);
  out.pop_back();
  return out;
}

std::string Sha256Hex(std::string_view s) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(s.data()), s.size());
  return Hex(h, sizeof h);
}

std::string Upper(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' || c == '-' || c == '\t') continue;
    out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return out;
}

// --- processes ----------------------------------------------------------------------------------

const char* kProcessCols =
    "id, year, slug, title, description, proposals_from, proposals_to, voting_from, voting_to, "
    "execution_from, counting_rule, results_published, is_example";

json::object ProcessJson(const db::Row& r, std::string_view today) {
  return {{"id", r.Int("id")},
          {"year", r.Int("year")},
          {"slug", r.Text("slug")},
          {"title", r.Text("title")},
          {"description", r.Text("description")},
          {"proposals_from", r.Text("proposals_from")},
          {"proposals_to", r.Text("proposals_to")},
          {"voting_from", r.Text("voting_from")},
          {"voting_to", r.Text("voting_to")},
          {"execution_from", r.Text("execution_from")},
          {"counting_rule", r.Text("counting_rule")},
          {"results_published", r.Int("results_published") != 0},
          {"example", r.Int("is_example") != 0},
          {"phase", PhaseOn(today, r.Text("proposals_from"), r.Text("proposals_to"),
                            r.Text("voting_from"), r.Text("voting_to"), r.Text("execution_from"))}};
}

Result<db::Row> FindProcess(db::Connection& db, std::string_view key) {
  bool numeric = !key.empty() && key.size() < 16 &&
                 std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
  return db.QueryOne(
      std::string("SELECT ") + kProcessCols + " FROM pp_processes WHERE " +
          (numeric ? "id = ?" : "slug = ?"),
      {numeric ? db::Value(std::stoll(std::string(key))) : db::Value(std::string(key))},
      "El proceso de presupuesto participativo no existe");
}

std::string PhaseOf(const db::Row& p, std::string_view today) {
  return PhaseOn(today, p.Text("proposals_from"), p.Text("proposals_to"), p.Text("voting_from"),
                 p.Text("voting_to"), p.Text("execution_from"));
}

Status DatesInOrder(const Input& in) {
  const char* order[] = {"proposals_from", "proposals_to", "voting_from", "voting_to"};
  for (int i = 1; i < 4; ++i)
    if (GetString(in, order[i - 1]) > GetString(in, order[i]))
      return Status::InvalidArgument(
          "Las fechas de las fases están en desorden",
          {{order[i], "Debe ser igual o posterior a la fecha de la fase anterior"}});
  if (Has(in, "execution_from") && GetString(in, "execution_from") <= GetString(in, "voting_to"))
    return Status::InvalidArgument(
        "Las fechas de las fases están en desorden",
        {{"execution_from", "La ejecución empieza después de la votación"}});
  return Status::Ok();
}

Result<json::value> ProcessCreate(ActionContext& ctx, const Input& in) {
  std::string slug =
      text::Slugify(Has(in, "slug") ? GetString(in, "slug")
                                    : "presupuesto-" + std::to_string(GetInt(in, "year")));
  if (slug.empty())
    return Status::InvalidArgument("Identificador vacío", {{"slug", "Escribe un identificador"}});
  auto rows = ctx.db.Query(
      "INSERT INTO pp_processes (year, slug, title, description, proposals_from, proposals_to, "
      "voting_from, voting_to, execution_from, counting_rule, is_example, created_at) VALUES "
      "(?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
      {GetInt(in, "year"), slug, GetString(in, "title"), GetString(in, "description"),
       GetString(in, "proposals_from"), GetString(in, "proposals_to"), GetString(in, "voting_from"),
       GetString(in, "voting_to"), GetString(in, "execution_from"),
       GetString(in, "counting_rule", "greedy"), int64_t{GetBool(in, "example")}, ctx.now});
  if (!rows.ok()) {
    if (rows.status().code() == StatusCode::kConflict)
      return Status::InvalidArgument("Ese identificador ya existe",
                                     {{"slug", "Ya hay un proceso con ese identificador"}});
    return rows.status();
  }
  int64_t id = (*rows)[0].Int("id");
  ASSIGN_OR_RETURN(db::Row r, FindProcess(ctx.db, std::to_string(id)));
  json::object snap = ProcessJson(r, ctx.today);
  snap.erase("phase");
  RETURN_IF_ERROR(ctx.Audit("pp_process", id, "pp_process:" + std::to_string(id), nullptr, snap));
  return json::object{{"id", id}, {"slug", slug}};
}

// Whether the process's rules are fixed: voting has started by the calendar, or ballots exist
// (a booth may have captured ballots loaded for a past process), or results were published.
Result<bool> RulesFixed(ActionContext& ctx, const db::Row& proc) {
  if (proc.Int("results_published") || ctx.today >= proc.Text("voting_from")) return true;
  ASSIGN_OR_RETURN(db::Rows n, ctx.db.Query("SELECT COUNT(*) AS n FROM pp_ballots WHERE "
                                            "process_id = ?",
                                            {proc.Int("id")}));
  return n[0].Int("n") > 0;
}

// Editing a process keeps the invariants of creating one (DatesInOrder runs as its check).
// Once its rules are fixed (RulesFixed), the terms people voted under stay as they were: the
// year, the calendar up to the end of voting and the counting rule. Moving them afterwards would
// change the meaning of ballots already cast, reopen or close voting behind the voters' backs,
// or recount published results by another rule. What describes rather than decides stays
// editable: the title, the description and the start of execution (a later date is a fact of
// the works, not of the vote). Before that, the calendar may move, but voting may not be made to
// end in the past, which would close a process nobody could vote in. The slug is not editable:
// links, downloads and Pabulib files are named by it. The system principal (loading history) is
// not bound by the calendar.
Result<json::value> ProcessUpdate(ActionContext& ctx, const Input& in) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(db::Row cur, FindProcess(ctx.db, std::to_string(id)));
  if (!ctx.who.system) {
    ASSIGN_OR_RETURN(bool fixed, RulesFixed(ctx, cur));
    if (fixed) {
      std::vector<std::string> changed;
      if (GetInt(in, "year") != cur.Int("year")) changed.push_back("year");
      for (const char* k : {"proposals_from", "proposals_to", "voting_from", "voting_to"})
        if (GetString(in, k) != cur.Text(k)) changed.push_back(k);
      if (GetString(in, "counting_rule") != cur.Text("counting_rule"))
        changed.push_back("counting_rule");
      if (!changed.empty())
        return Status::Conflict(
            "La votación de este proceso ya empezó: el año, las fechas de registro y de "
            "votación y la regla de conteo ya no se pueden cambiar (solo el título, la "
            "descripción y el inicio de la ejecución)");
    } else if (GetString(in, "voting_to") < ctx.today) {
      return Status::InvalidArgument(
          "La votación no puede terminar en el pasado",
          {{"voting_to", "Elige una fecha de hoy en adelante: nadie podría votar"}});
    }
  }
  json::object before = ProcessJson(cur, ctx.today);
  before.erase("phase");
  RETURN_IF_ERROR(
      ctx.db
          .Exec("UPDATE pp_processes SET year = ?, title = ?, description = ?, "
                "proposals_from = ?, proposals_to = ?, voting_from = ?, "
                "voting_to = ?, execution_from = ?, counting_rule = ? WHERE id = ?",
                {GetInt(in, "year"), GetString(in, "title"), GetString(in, "description"),
                 GetString(in, "proposals_from"), GetString(in, "proposals_to"),
                 GetString(in, "voting_from"), GetString(in, "voting_to"),
                 GetString(in, "execution_from"), GetString(in, "counting_rule"), id})
          .status());
  ASSIGN_OR_RETURN(db::Row r, FindProcess(ctx.db, std::to_string(id)));
  json::object after = ProcessJson(r, ctx.today);
  after.erase("phase");
  RETURN_IF_ERROR(ctx.Audit("pp_process", id, "pp_process:" + std::to_string(id), before, after));
  return json::object{{"id", id}, {"slug", r.Text("slug")}};
}

// The edit form's current values, keyed by pp.process.update's fields.
Result<json::value> ProcessValues(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row r, FindProcess(ctx.db, std::to_string(GetInt(in, "id"))));
  json::object o{{"id", r.Int("id")}, {"year", r.Int("year")}};
  for (const char* k : {"title", "description", "proposals_from", "proposals_to", "voting_from",
                        "voting_to", "execution_from", "counting_rule"})
    if (!r.Text(k).empty()) o[k] = r.Text(k);
  return o;
}

// --- zones and categories ---------------------------------------------------------------------

json::object ZoneJson(const db::Row& r) {
  return {{"id", r.Int("id")},
          {"process_id", r.Int("process_id")},
          {"name", r.Text("name")},
          {"kind", r.Text("kind")},
          {"budget", r.Int("budget")},
          {"vote_rule", r.Text("vote_rule")},
          {"max_choices", r.Int("max_choices")},
          {"max_points", r.Int("max_points")}};
}

const char* kZoneCols = "id, process_id, name, kind, budget, vote_rule, max_choices, max_points";

Result<json::value> ZoneCreate(ActionContext& ctx, const Input& in) {
  int64_t pid = GetInt(in, "process_id");
  if (!ctx.db.QueryOne("SELECT id FROM pp_processes WHERE id = ?", {pid}, "").ok())
    return Status::InvalidArgument("El proceso no existe",
                                   {{"process_id", "Elige un proceso existente"}});
  auto rows = ctx.db.Query(
      "INSERT INTO pp_zones (process_id, name, kind, budget, vote_rule, max_choices, max_points) "
      "VALUES (?,?,?,?,?,?,?) RETURNING id",
      {pid, GetString(in, "name"), GetString(in, "kind"), GetInt(in, "budget"),
       GetString(in, "vote_rule"), GetInt(in, "max_choices", 3), GetInt(in, "max_points", 10)});
  if (!rows.ok()) {
    if (rows.status().code() == StatusCode::kConflict)
      return Status::InvalidArgument("Zona repetida",
                                     {{"name", "El proceso ya tiene una zona con ese nombre"}});
    return rows.status();
  }
  int64_t id = (*rows)[0].Int("id");
  ASSIGN_OR_RETURN(
      db::Row z, ctx.db.QueryOne(std::string("SELECT ") + kZoneCols + " FROM pp_zones WHERE id = ?",
                                 {id}, "La zona no existe"));
  RETURN_IF_ERROR(
      ctx.Audit("pp_zone", id, "pp_process:" + std::to_string(pid), nullptr, ZoneJson(z)));
  return json::object{{"id", id}};
}

std::string SearchText(db::Connection& db, const Input& in);

Result<db::Row> FindZone(db::Connection& db, int64_t id) {
  return db.QueryOne(std::string("SELECT ") + kZoneCols + " FROM pp_zones WHERE id = ?", {id},
                     "La zona no existe");
}

// A zone keeps its process (a zone is a part of one process's ballot; it is not moved to
// another). Its budget and its ballot (rule, maximum of projects, maximum of points) are fixed
// with the process's rules (RulesFixed), or as soon as the zone has a ballot: they decide how
// ballots are read and counted. Its name and kind are labels and stay editable.
Result<json::value> ZoneUpdate(ActionContext& ctx, const Input& in) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(db::Row cur, FindZone(ctx.db, id));
  int64_t pid = cur.Int("process_id");
  ASSIGN_OR_RETURN(db::Row proc, FindProcess(ctx.db, std::to_string(pid)));
  int64_t max_choices = GetInt(in, "max_choices", 3), max_points = GetInt(in, "max_points", 10);
  if (!ctx.who.system) {
    ASSIGN_OR_RETURN(bool fixed, RulesFixed(ctx, proc));
    ASSIGN_OR_RETURN(db::Rows n, ctx.db.Query("SELECT COUNT(*) AS n FROM pp_ballots WHERE "
                                              "zone_id = ?",
                                              {id}));
    if ((fixed || n[0].Int("n") > 0) &&
        (GetInt(in, "budget") != cur.Int("budget") ||
         GetString(in, "vote_rule") != cur.Text("vote_rule") ||
         max_choices != cur.Int("max_choices") || max_points != cur.Int("max_points")))
      return Status::Conflict(
          "La votación de este proceso ya empezó: el presupuesto y la forma de votar de la zona "
          "ya no se pueden cambiar (solo su nombre y su tipo)");
  }
  auto done = ctx.db.Exec(
      "UPDATE pp_zones SET name = ?, kind = ?, budget = ?, vote_rule = ?, max_choices = ?, "
      "max_points = ? WHERE id = ?",
      {GetString(in, "name"), GetString(in, "kind"), GetInt(in, "budget"),
       GetString(in, "vote_rule"), max_choices, max_points, id});
  if (!done.ok()) {
    if (done.status().code() == StatusCode::kConflict)
      return Status::InvalidArgument("Zona repetida",
                                     {{"name", "El proceso ya tiene una zona con ese nombre"}});
    return done.status();
  }
  // Project search text includes the zone's name.
  if (GetString(in, "name") != cur.Text("name")) {
    ASSIGN_OR_RETURN(db::Rows ps, ctx.db.Query("SELECT id, title, description, colonia, "
                                               "category_id FROM pp_projects WHERE zone_id = ?",
                                               {id}));
    for (const db::Row& p : ps) {
      Input fake{{"zone_id", id},
                 {"title", p.Text("title")},
                 {"description", p.Text("description")},
                 {"colonia", p.Text("colonia")}};
      if (!p.IsNull("category_id")) fake["category_id"] = p.Int("category_id");
      RETURN_IF_ERROR(ctx.db
                          .Exec("UPDATE pp_projects SET search_text = ? WHERE id = ?",
                                {SearchText(ctx.db, fake), p.Int("id")})
                          .status());
    }
  }
  ASSIGN_OR_RETURN(db::Row after, FindZone(ctx.db, id));
  RETURN_IF_ERROR(ctx.Audit("pp_zone", id, "pp_process:" + std::to_string(pid), ZoneJson(cur),
                            ZoneJson(after)));
  return json::object{{"id", id}};
}

Result<json::value> CategoryCreate(ActionContext& ctx, const Input& in) {
  std::string slug = text::Slugify(GetString(in, "name"));
  auto rows = ctx.db.Query("INSERT INTO pp_categories (slug, name) VALUES (?, ?) RETURNING id",
                           {slug, GetString(in, "name")});
  if (!rows.ok()) {
    if (rows.status().code() == StatusCode::kConflict)
      return Status::InvalidArgument("Categoría repetida", {{"name", "Esa categoría ya existe"}});
    return rows.status();
  }
  int64_t id = (*rows)[0].Int("id");
  RETURN_IF_ERROR(ctx.Audit("pp_category", id, "pp_categories", nullptr,
                            json::object{{"name", GetString(in, "name")}}));
  return json::object{{"id", id}};
}

// --- projects -----------------------------------------------------------------------------------

const char* kProjectSelect =
    "SELECT p.id, p.process_id, p.zone_id, p.category_id, p.external_id, p.title, p.description, "
    "p.colonia, p.lat, p.lng, p.estimated_cost, p.official_cost, p.status, p.author_id, "
    "p.submitted_on, p.technical_ok, p.technical_reason, p.legal_ok, p.legal_reason, "
    "p.financial_ok, p.financial_reason, p.reviewed_on, p.selected, p.is_example, p.search_text, "
    "p.created_at, z.name AS zone_name, c.name AS category_name, pr.slug AS process_slug, "
    "pr.title AS process_title, pr.year AS process_year "
    "FROM pp_projects p JOIN pp_zones z ON z.id = p.zone_id "
    "JOIN pp_processes pr ON pr.id = p.process_id "
    "LEFT JOIN pp_categories c ON c.id = p.category_id ";

json::object ProjectJson(const db::Row& r) {
  auto review = [&](const char* ok, const char* reason) {
    return json::object{{"ok", r.IsNull(ok) ? json::value(nullptr) : json::value(r.Int(ok) != 0)},
                        {"reason", r.Text(reason)}};
  };
  int64_t cost = r.IsNull("official_cost") ? r.Int("estimated_cost") : r.Int("official_cost");
  return {{"id", r.Int("id")},
          {"process",
           {{"id", r.Int("process_id")},
            {"slug", r.Text("process_slug")},
            {"title", r.Text("process_title")},
            {"year", r.Int("process_year")}}},
          {"zone", {{"id", r.Int("zone_id")}, {"name", r.Text("zone_name")}}},
          {"category", r.IsNull("category_id")
                           ? json::value(nullptr)
                           : json::value(json::object{{"id", r.Int("category_id")},
                                                      {"name", r.Text("category_name")}})},
          {"external_id", r.Text("external_id")},
          {"title", r.Text("title")},
          {"description", r.Text("description")},
          {"colonia", r.Text("colonia")},
          {"lat", Nullable(r, "lat", true)},
          {"lng", Nullable(r, "lng", true)},
          {"estimated_cost", r.Int("estimated_cost")},
          {"official_cost", Nullable(r, "official_cost")},
          {"cost", cost},
          {"status", r.Text("status")},
          {"submitted_on", r.Text("submitted_on")},
          {"review",
           {{"technical", review("technical_ok", "technical_reason")},
            {"legal", review("legal_ok", "legal_reason")},
            {"financial", review("financial_ok", "financial_reason")},
            {"reviewed_on", r.Text("reviewed_on")}}},
          {"selected", r.Int("selected") != 0},
          {"example", r.Int("is_example") != 0},
          {"search_text", r.Text("search_text")},
          {"created_at", r.Text("created_at")}};
}

Result<db::Row> FindProject(db::Connection& db, int64_t id) {
  return db.QueryOne(std::string(kProjectSelect) + "WHERE p.id = ?", {id}, "El proyecto no existe");
}

// The zone, checked to belong to the process: a proposal or a ballot naming a zone of another
// process is bad input, not a missing page.
Result<db::Row> ZoneOfProcess(db::Connection& db, int64_t process_id, int64_t zone_id) {
  auto z = db.QueryOne(std::string("SELECT ") + kZoneCols + " FROM pp_zones WHERE id = ?",
                       {zone_id}, "");
  if (!z.ok() || z->Int("process_id") != process_id)
    return Status::InvalidArgument("La zona no pertenece a este proceso",
                                   {{"zone_id", "Elige una zona del proceso"}});
  return z;
}

std::vector<Field> ProposalFields() {
  return {IdField("process_id").Required().Options("pp.process.options"),
          IdField("zone_id").Required().Options("pp.zone.options"),
          IdField("category_id").Options("pp.category.options"),
          StringField("title", 200).Required(),
          TextField("description", 5000).Required(),
          StringField("colonia", 200),
          NumberField("lat").Range(-90, 90),
          NumberField("lng").Range(-180, 180),
          IntField("estimated_cost").Required().Range(1, 1e12),
          FileField("photo", kMaxPhotoBytes),
          BoolField("example").NotInForms()};
}

Status ProposalCheck(const Input& in) {
  if (Has(in, "lat") != Has(in, "lng"))
    return Status::InvalidArgument("Ubicación incompleta",
                                   {{Has(in, "lat") ? "lng" : "lat", "Indica latitud y longitud"}});
  return Status::Ok();
}

// The image type of `data` by its signature (magic bytes), or nullptr when it is not a JPEG,
// PNG or WebP file.
const char* ImageType(std::string_view data) {
  if (data.size() >= 3 && data.substr(0, 3) == "\xFF\xD8\xFF") return "image/jpeg";
  if (data.size() >= 8 && data.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8))
    return "image/png";
  if (data.size() >= 12 && data.substr(0, 4) == "RIFF" && data.substr(8, 4) == "WEBP")
    return "image/webp";
  return nullptr;
}

Result<int64_t> StorePhoto(ActionContext& ctx, int64_t project_id, const json::object& f,
                           const std::string& stage, const std::string& caption,
                           const char* field) {
  std::string name(f.at("name").as_string());
  std::string data(f.at("data").as_string());
  // Photos are shown inline on public pages, so only image types browsers render inertly, and
  // the type is read from the file's first bytes: the name and the declared type are whatever
  // the sender says (an HTML page called foto.jpg is refused, a JPEG sent as
  // application/octet-stream is accepted and served as image/jpeg).
  const char* ctype = ImageType(data);
  if (!ctype)
    return Status::InvalidArgument(
        "El archivo no es una foto JPEG, PNG o WebP",
        {{field,
          "Sube una foto JPEG, PNG o WebP (se revisa el contenido del archivo, no su "
          "nombre)"}});
  if (!text::IsValidUtf8(name) || text::HasControlChars(name, false) || name.size() > 200 ||
      name.empty())
    return Status::InvalidArgument("Nombre de archivo no válido",
                                   {{field, "Nombre de archivo no válido"}});
  ASSIGN_OR_RETURN(
      db::Rows rows,
      ctx.db.Query(
          "INSERT INTO files (name, content_type, size, sha256, data, "
          "created_by, created_at) VALUES (?,?,?,?,?,?,?) RETURNING id",
          {name, std::string(ctype), static_cast<int64_t>(data.size()), Sha256Hex(data),
           db::Blob{data}, ctx.who.user_id ? db::Value(ctx.who.user_id) : db::Value(), ctx.now}));
  int64_t fid = rows[0].Int("id");
  RETURN_IF_ERROR(ctx.db
                      .Exec("INSERT INTO pp_photos (project_id, file_id, stage, caption, "
                            "created_at) VALUES (?,?,?,?,?)",
                            {project_id, fid, stage, caption, ctx.now})
                      .status());
  return fid;
}

std::string SearchText(db::Connection& db, const Input& in) {
  auto z = db.QueryOne("SELECT name FROM pp_zones WHERE id = ?", {GetInt(in, "zone_id")}, "");
  auto c =
      db.QueryOne("SELECT name FROM pp_categories WHERE id = ?", {GetInt(in, "category_id")}, "");
  return text::Fold(GetString(in, "title") + " " + GetString(in, "description") + " " +
                    GetString(in, "colonia") + " " + (z.ok() ? z->Text("name") : "") + " " +
                    (c.ok() ? c->Text("name") : ""));
}

json::object ProjectSnapshot(const db::Row& r) {
  json::object o = ProjectJson(r);
  o.erase("search_text");
  o.erase("process");
  o.erase("created_at");
  return o;
}

Status CategoryExists(ActionContext& ctx, const Input& in) {
  if (Has(in, "category_id") &&
      !ctx.db.QueryOne("SELECT id FROM pp_categories WHERE id = ?", {GetInt(in, "category_id")}, "")
           .ok())
    return Status::InvalidArgument("La categoría no existe",
                                   {{"category_id", "Elige una categoría existente"}});
  return Status::Ok();
}

Result<json::value> ProposalCreate(ActionContext& ctx, const Input& in) {
  int64_t pid = GetInt(in, "process_id");
  auto proc = FindProcess(ctx.db, std::to_string(pid));
  if (!proc.ok())
    return Status::InvalidArgument("El proceso no existe",
                                   {{"process_id", "Elige un proceso existente"}});
  RETURN_IF_ERROR(ZoneOfProcess(ctx.db, pid, GetInt(in, "zone_id")).status());
  RETURN_IF_ERROR(CategoryExists(ctx, in));
  if (!ctx.who.system && PhaseOf(*proc, ctx.today) != "registro")
    return Status::Conflict("El registro de propuestas de este proceso no está abierto");
  auto num = [&](const char* k) { return Has(in, k) ? db::Value(GetNumber(in, k)) : db::Value(); };
  ASSIGN_OR_RETURN(
      db::Rows rows,
      ctx.db.Query("INSERT INTO pp_projects (process_id, zone_id, category_id, title, description, "
                   "colonia, lat, lng, estimated_cost, status, author_id, is_example, "
                   "search_text, created_at) VALUES (?,?,?,?,?,?,?,?,?,'borrador',?,?,?,?) "
                   "RETURNING id",
                   {pid, GetInt(in, "zone_id"),
                    Has(in, "category_id") ? db::Value(GetInt(in, "category_id")) : db::Value(),
                    GetString(in, "title"), GetString(in, "description"), GetString(in, "colonia"),
                    num("lat"), num("lng"), GetInt(in, "estimated_cost"),
                    ctx.who.user_id ? db::Value(ctx.who.user_id) : db::Value(),
                    int64_t{GetBool(in, "example")}, SearchText(ctx.db, in), ctx.now}));
  int64_t id = rows[0].Int("id");
  if (Has(in, "photo"))
    RETURN_IF_ERROR(
        StorePhoto(ctx, id, in.at("photo").as_object(), "propuesta", "", "photo").status());
  // Drafts are private to their author; the public history starts when it is submitted.
  return json::object{{"id", id}, {"status", "borrador"}};
}

// Only the author edits or submits their own draft.
Status AuthorOfDraft(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row p, FindProject(ctx.db, GetInt(in, "id")));
  if (ctx.who.system) return Status::Ok();
  if (p.Int("author_id") != ctx.who.user_id)
    return Status::PermissionDenied("Solo quien registró la propuesta puede modificarla");
  if (p.Text("status") != "borrador")
    return Status::Conflict("La propuesta ya fue enviada y no se puede modificar");
  return Status::Ok();
}

Result<json::value> ProposalSubmit(ActionContext& ctx, const Input& in) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(db::Row p, FindProject(ctx.db, id));
  if (p.Text("status") != "borrador") return Status::Conflict("La propuesta ya fue enviada");
  ASSIGN_OR_RETURN(db::Row proc, FindProcess(ctx.db, std::to_string(p.Int("process_id"))));
  if (!ctx.who.system && PhaseOf(proc, ctx.today) != "registro")
    return Status::Conflict("El registro de propuestas de este proceso ya cerró");
  std::string on =
      Has(in, "submitted_on") && ctx.who.system ? GetString(in, "submitted_on") : ctx.today;
  RETURN_IF_ERROR(ctx.db
                      .Exec("UPDATE pp_projects SET status = 'registrado', submitted_on = ? "
                            "WHERE id = ?",
                            {on, id})
                      .status());
  ASSIGN_OR_RETURN(db::Row after, FindProject(ctx.db, id));
  RETURN_IF_ERROR(ctx.Audit("pp_project", id, "pp_project:" + std::to_string(id), nullptr,
                            ProjectSnapshot(after)));
  return json::object{{"id", id}, {"status", "registrado"}};
}

Status ReviewCheck(const Input& in) {
  std::vector<FieldError> errs;
  bool all = true;
  for (const char* k : {"technical", "legal", "financial"}) {
    bool ok = GetBool(in, std::string(k) + "_ok");
    all = all && ok;
    if (!ok && GetString(in, std::string(k) + "_reason").empty())
      errs.push_back({std::string(k) + "_reason", "Explica por qué no es viable en este aspecto"});
  }
  if (all && !Has(in, "official_cost"))
    errs.push_back({"official_cost", "Un proyecto viable necesita su costo oficial"});
  if (!errs.empty()) return Status::InvalidArgument("Revisa el dictamen", std::move(errs));
  return Status::Ok();
}

Result<json::value> ProposalReview(ActionContext& ctx, const Input& in) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(db::Row p, FindProject(ctx.db, id));
  if (p.Text("status") == "borrador")
    return Status::Conflict("La propuesta aún es un borrador: su autor no la ha enviado");
  ASSIGN_OR_RETURN(db::Row proc, FindProcess(ctx.db, std::to_string(p.Int("process_id"))));
  std::string phase = PhaseOf(proc, ctx.today);
  if (!ctx.who.system && phase != "registro" && phase != "revision")
    return Status::Conflict("El dictamen solo se emite antes de la votación");
  bool viable =
      GetBool(in, "technical_ok") && GetBool(in, "legal_ok") && GetBool(in, "financial_ok");
  json::object before = ProjectSnapshot(p);
  RETURN_IF_ERROR(
      ctx.db
          .Exec(
              "UPDATE pp_projects SET status = ?, technical_ok = ?, technical_reason = ?, "
              "legal_ok = ?, legal_reason = ?, financial_ok = ?, financial_reason = ?, "
              "official_cost = ?, reviewed_on = ? WHERE id = ?",
              {viable ? "viable" : "no_viable", int64_t{GetBool(in, "technical_ok")},
               GetString(in, "technical_reason"), int64_t{GetBool(in, "legal_ok")},
               GetString(in, "legal_reason"), int64_t{GetBool(in, "financial_ok")},
               GetString(in, "financial_reason"),
               Has(in, "official_cost") ? db::Value(GetInt(in, "official_cost")) : db::Value(),
               Has(in, "reviewed_on") && ctx.who.system ? GetString(in, "reviewed_on") : ctx.today,
               id})
          .status());
  ASSIGN_OR_RETURN(db::Row after, FindProject(ctx.db, id));
  RETURN_IF_ERROR(ctx.Audit("pp_project", id, "pp_project:" + std::to_string(id), before,
                            ProjectSnapshot(after)));
  return json::object{{"id", id}, {"status", viable ? "viable" : "no_viable"}};
}

// --- editing proposals and adding photos ------------------------------------------------------

bool IsStaff(const Principal& who) { return who.role >= Role::kEnlace; }

// Who may change a proposal, and when:
//  - its author, while it is a draft: until it is submitted the text is theirs alone (and
//    private: draft edits are not in the public history, as drafts are not);
//  - staff (enlace, secretariado, admin, the roles that review proposals) once it is submitted
//    and until the feasibility decision, during registration or review: residents often pick the
//    wrong zone or category or misplace the point on the map, and staff correct it rather than
//    reject the proposal. Each such change is in the project's public history, before and after.
// Not anyone else's draft (private until submitted), not by its author after submission (staff
// review exactly what was submitted), and by nobody after the decision, which was made about
// what the proposal said then and is shown next to it.
Status ProposalEditor(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row p, FindProject(ctx.db, GetInt(in, "id")));
  if (ctx.who.system) return Status::Ok();
  std::string status = p.Text("status");
  bool author = ctx.who.user_id && p.Int("author_id") == ctx.who.user_id;
  if (status == "borrador") {
    if (author) return Status::Ok();
    return Status::PermissionDenied("Un borrador solo lo puede modificar quien lo registró");
  }
  if (!IsStaff(ctx.who)) {
    if (author)
      return Status::Conflict(
          "La propuesta ya fue enviada y no se puede modificar; si hay un error, avisa al "
          "personal de Presupuesto Participativo");
    return Status::PermissionDenied("Solo quien registró la propuesta puede modificarla");
  }
  if (status != "registrado")
    return Status::Conflict("La propuesta ya tiene dictamen de viabilidad y no se puede modificar");
  ASSIGN_OR_RETURN(db::Row proc, FindProcess(ctx.db, std::to_string(p.Int("process_id"))));
  std::string phase = PhaseOf(proc, ctx.today);
  if (phase != "registro" && phase != "revision")
    return Status::Conflict("Las propuestas solo se corrigen antes de la votación");
  return Status::Ok();
}

// The same invariants as creating one: the zone belongs to the proposal's process (a proposal
// is not moved to another process), the category exists, the location is whole (ProposalCheck)
// and the cost positive (the schema).
Result<json::value> ProposalUpdate(ActionContext& ctx, const Input& in) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(db::Row p, FindProject(ctx.db, id));
  RETURN_IF_ERROR(ZoneOfProcess(ctx.db, p.Int("process_id"), GetInt(in, "zone_id")).status());
  RETURN_IF_ERROR(CategoryExists(ctx, in));
  auto num = [&](const char* k) { return Has(in, k) ? db::Value(GetNumber(in, k)) : db::Value(); };
  RETURN_IF_ERROR(
      ctx.db
          .Exec("UPDATE pp_projects SET zone_id = ?, category_id = ?, title = ?, description = ?, "
                "colonia = ?, lat = ?, lng = ?, estimated_cost = ?, search_text = ? WHERE id = ?",
                {GetInt(in, "zone_id"),
                 Has(in, "category_id") ? db::Value(GetInt(in, "category_id")) : db::Value(),
                 GetString(in, "title"), GetString(in, "description"), GetString(in, "colonia"),
                 num("lat"), num("lng"), GetInt(in, "estimated_cost"), SearchText(ctx.db, in), id})
          .status());
  if (p.Text("status") != "borrador") {
    ASSIGN_OR_RETURN(db::Row after, FindProject(ctx.db, id));
    RETURN_IF_ERROR(ctx.Audit("pp_project", id, "pp_project:" + std::to_string(id),
                              ProjectSnapshot(p), ProjectSnapshot(after)));
  }
  return json::object{{"id", id}, {"status", p.Text("status")}};
}

// The edit form's current values, keyed by pp.proposal.update's fields.
Result<json::value> ProposalValues(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row r, FindProject(ctx.db, GetInt(in, "id")));
  json::object o{{"id", r.Int("id")},
                 {"zone_id", r.Int("zone_id")},
                 {"title", r.Text("title")},
                 {"description", r.Text("description")},
                 {"estimated_cost", r.Int("estimated_cost")}};
  if (!r.IsNull("category_id")) o["category_id"] = r.Int("category_id");
  if (!r.Text("colonia").empty()) o["colonia"] = r.Text("colonia");
  if (!r.IsNull("lat")) o["lat"] = r.Real("lat");
  if (!r.IsNull("lng")) o["lng"] = r.Real("lng");
  return o;
}

// A draft is seen only by its author and by staff.
Status ProjectVisible(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row p, FindProject(ctx.db, GetInt(in, "id")));
  if (p.Text("status") != "borrador" || ctx.who.system || IsStaff(ctx.who) ||
      (ctx.who.user_id && p.Int("author_id") == ctx.who.user_id))
    return Status::Ok();
  return Status::NotFound("El proyecto no existe");
}

// Photos of a project: its author adds them while it is a draft (with the proposal); staff add
// them once it is submitted, at any stage (the site before the works, each execution
// milestone). A gallery of a few dozen pictures is enough for any project and keeps its page
// light on a phone.
constexpr int64_t kMaxPhotosPerProject = 24;

Status PhotoAdder(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row p, FindProject(ctx.db, GetInt(in, "project_id")));
  if (ctx.who.system) return Status::Ok();
  bool author = ctx.who.user_id && p.Int("author_id") == ctx.who.user_id;
  if (p.Text("status") == "borrador") {
    if (author) return Status::Ok();
    return Status::PermissionDenied(
        "Solo quien registró la propuesta puede agregar fotos a su borrador");
  }
  if (IsStaff(ctx.who)) return Status::Ok();
  if (author)
    return Status::Conflict(
        "La propuesta ya fue enviada: las fotos nuevas las agrega el personal de Presupuesto "
        "Participativo");
  return Status::PermissionDenied("Solo quien registró la propuesta puede agregarle fotos");
}

Result<json::value> PhotoAdd(ActionContext& ctx, const Input& in) {
  int64_t id = GetInt(in, "project_id");
  ASSIGN_OR_RETURN(db::Row p, FindProject(ctx.db, id));
  ASSIGN_OR_RETURN(db::Rows n, ctx.db.Query("SELECT COUNT(*) AS n FROM pp_photos WHERE "
                                            "project_id = ?",
                                            {id}));
  if (n[0].Int("n") >= kMaxPhotosPerProject)
    return Status::Conflict("El proyecto ya tiene " + std::to_string(kMaxPhotosPerProject) +
                            " fotos, el máximo");
  std::string stage = p.Int("selected") ? "ejecucion" : "propuesta";
  std::string caption = GetString(in, "caption");
  ASSIGN_OR_RETURN(int64_t fid,
                   StorePhoto(ctx, id, in.at("photo").as_object(), stage, caption, "photo"));
  // Known by its file id, as its address is (/presupuesto/fotos/{id}). A draft's photos are
  // private with the draft; they enter the history when it is submitted.
  if (p.Text("status") != "borrador")
    RETURN_IF_ERROR(ctx.Audit("pp_photo", fid, "pp_project:" + std::to_string(id), nullptr,
                              json::object{{"file_id", fid},
                                           {"stage", stage},
                                           {"caption", caption},
                                           {"url", "/presupuesto/fotos/" + std::to_string(fid)}}));
  return json::object{{"id", fid},
                      {"project_id", id},
                      {"stage", stage},
                      {"url", "/presupuesto/fotos/" + std::to_string(fid)}};
}

// --- voting -----------------------------------------------------------------------------------

struct BallotItem {
  int64_t project_id;
  int64_t points;
};

// "12,15,18" (approval, knapsack) or "12:3,15:2" (points).
Result<std::vector<BallotItem>> ParseItems(std::string_view s) {
  std::vector<BallotItem> out;
  auto bad = [] {
    return Status::InvalidArgument(
        "La boleta no se entiende",
        {{"projects",
          "Escribe los números de proyecto separados por comas (con :puntos si "
          "la zona vota por puntos)"}});
  };
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string_view::npos) j = s.size();
    std::string_view part = s.substr(i, j - i);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) {
      size_t colon = part.find(':');
      std::string_view id = part.substr(0, colon);
      std::string_view pts = colon == std::string_view::npos ? "1" : part.substr(colon + 1);
      auto num = [](std::string_view d, int64_t* v) {
        if (d.empty() || d.size() > 12) return false;
        *v = 0;
        for (char c : d) {
          if (c < '0' || c > '9') return false;
          *v = *v * 10 + (c - '0');
        }
        return true;
      };
      BallotItem it{};
      if (!num(id, &it.project_id) || !num(pts, &it.points) || it.project_id == 0) return bad();
      out.push_back(it);
    }
    i = j + 1;
  }
  return out;
}

Result<std::string> VoterKey(db::Connection& db) {
  // The production key is the same on every server and lives outside the database, so that a
  // copy of the database alone does not allow testing CURPs against pp_voters.
  if (const char* env = std::getenv("ABIERTO_VOTER_KEY"); env && *env) {
    unsigned char key[32];
    size_t len = 0;
    if (sodium_hex2bin(key, sizeof key, env, std::strlen(env), nullptr, &len, nullptr) != 0 ||
        len != sizeof key)
      return Status::Internal("ABIERTO_VOTER_KEY debe tener 64 dígitos hexadecimales");
    return std::string(reinterpret_cast<char*>(key), sizeof key);
  }
  // Weaker fallback for single-box installs: the key sits beside the hashes it protects, so
  // anyone holding a copy of the database could hash candidate CURPs. Set ABIERTO_VOTER_KEY.
  ASSIGN_OR_RETURN(db::Rows rows, db.Query("SELECT key_hex FROM pp_secret WHERE id = 1"));
  std::string hex;
  if (rows.empty()) {
    unsigned char key[32];
    randombytes_buf(key, sizeof key);
    hex = Hex(key, sizeof key);
    RETURN_IF_ERROR(db.Exec("INSERT INTO pp_secret (id, key_hex) VALUES (1, ?) "
                            "ON CONFLICT (id) DO NOTHING",
                            {hex})
                        .status());
    ASSIGN_OR_RETURN(rows, db.Query("SELECT key_hex FROM pp_secret WHERE id = 1"));
    if (rows.empty()) return Status::Internal("pp_secret vacío");
  }
  hex = rows[0].Text("key_hex");
  unsigned char key[32];
  size_t len = 0;
  if (sodium_hex2bin(key, sizeof key, hex.data(), hex.size(), nullptr, &len, nullptr) != 0 ||
      len != sizeof key)
    return Status::Internal("pp_secret dañado");
  return std::string(reinterpret_cast<char*>(key), sizeof key);
}

std::string NewReceipt() {
  // 10 symbols of 32 (no 0/O, 1/I): 50 bits, read aloud at a booth without confusion.
  static const char kAlphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string code;
  for (int i = 0; i < 10; ++i) {
    if (i == 5) code += '-';
    code += kAlphabet[randombytes_uniform(32)];
  }
  return code;
}

std::string ReceiptHash(std::string_view code) { return Sha256Hex("recibo:" + Upper(code)); }

std::vector<Field> VoteFields(bool booth) {
  std::vector<Field> f = {IdField("process_id").Required().Options("pp.process.options"),
                          IdField("zone_id").Required().Options("pp.zone.options"),
                          StringField("projects", 2000).Required(),
                          EnumField("voter_id_type", {"curp", "clave_elector"}).Required(),
                          StringField("voter_id", 40).Required(),
                          BoolField("privacy_accepted").Required()};
  if (booth) f.push_back(DateField("cast_on").NotInForms());
  f.push_back(BoolField("example").NotInForms());
  return f;
}

Status VoteCheck(const Input& in) {
  std::string id = Upper(GetString(in, "voter_id"));
  bool curp = GetString(in, "voter_id_type") == "curp";
  if (curp ? !IsCurp(id) : !IsElectorKey(id))
    return Status::InvalidArgument(
        "Identificación no válida",
        {{"voter_id", curp ? "La CURP tiene 18 caracteres, por ejemplo GOMA850101HGTRRN09"
                           : "La clave de elector tiene 18 letras y números"}});
  if (!GetBool(in, "privacy_accepted"))
    return Status::InvalidArgument(
        "Falta aceptar el aviso de privacidad",
        {{"privacy_accepted", "Lee y acepta el aviso de privacidad para votar"}});
  return Status::Ok();
}

// A vote is stored whole or not at all: every check runs before the first write, and the
// dispatcher's transaction is committed before the answer is sent (SQLite in WAL mode keeps a
// committed transaction through a process kill), so an acknowledged vote is never lost.
// Ballots are deliberately NOT audited: the audit log is public history and records who acted,
// which would link a person to a ballot.
Result<json::value> CastBallot(ActionContext& ctx, const Input& in, const char* channel) {
  int64_t pid = GetInt(in, "process_id");
  auto proc = FindProcess(ctx.db, std::to_string(pid));
  if (!proc.ok())
    return Status::InvalidArgument("El proceso no existe",
                                   {{"process_id", "Elige un proceso existente"}});
  ASSIGN_OR_RETURN(db::Row zone, ZoneOfProcess(ctx.db, pid, GetInt(in, "zone_id")));
  if (!ctx.who.system && PhaseOf(*proc, ctx.today) != "votacion")
    return Status::Conflict("La votación de este proceso no está abierta (del " +
                            text::FormatDate(proc->Text("voting_from"), "es") + " al " +
                            text::FormatDate(proc->Text("voting_to"), "es") + ")");
  ASSIGN_OR_RETURN(std::vector<BallotItem> items, ParseItems(GetString(in, "projects")));
  if (items.empty())
    return Status::InvalidArgument("Boleta vacía", {{"projects", "Elige al menos un proyecto"}});
  ASSIGN_OR_RETURN(db::Rows ballot_projects,
                   ctx.db.Query("SELECT id, official_cost FROM pp_projects WHERE zone_id = ? AND "
                                "status = 'viable'",
                                {zone.Int("id")}));
  std::map<int64_t, int64_t> cost;
  for (const db::Row& r : ballot_projects) cost[r.Int("id")] = r.Int("official_cost");
  std::set<int64_t> seen;
  int64_t total_cost = 0, total_points = 0;
  for (const BallotItem& it : items) {
    auto c = cost.find(it.project_id);
    if (c == cost.end())
      return Status::InvalidArgument("Proyecto desconocido",
                                     {{"projects", "El proyecto " + std::to_string(it.project_id) +
                                                       " no está en la boleta de esta zona"}});
    if (!seen.insert(it.project_id).second)
      return Status::InvalidArgument(
          "Proyecto repetido",
          {{"projects", "El proyecto " + std::to_string(it.project_id) + " aparece dos veces"}});
    total_cost += c->second;
    total_points += it.points;
  }
  std::string rule = zone.Text("vote_rule");
  if (rule == "aprobacion" && static_cast<int64_t>(items.size()) > zone.Int("max_choices"))
    return Status::InvalidArgument(
        "Demasiados proyectos",
        {{"projects", "En esta zona puedes elegir hasta " +
                          std::to_string(zone.Int("max_choices")) + " proyectos"}});
  if (rule == "mochila" && total_cost > zone.Int("budget"))
    return Status::InvalidArgument(
        "La boleta excede el presupuesto de la zona",
        {{"projects", "Los proyectos elegidos suman " + text::FormatMxn(total_cost, "es") +
                          " y el presupuesto de la zona es " +
                          text::FormatMxn(zone.Int("budget"), "es")}});
  if (rule == "puntos") {
    for (const BallotItem& it : items)
      if (it.points == 0)
        return Status::InvalidArgument(
            "Puntos no válidos", {{"projects", "Cada proyecto elegido lleva al menos 1 punto"}});
    if (total_points > zone.Int("max_points"))
      return Status::InvalidArgument(
          "Demasiados puntos",
          {{"projects", "Repartiste " + std::to_string(total_points) + " puntos y el máximo es " +
                            std::to_string(zone.Int("max_points"))}});
  } else {
    for (const BallotItem& it : items)
      if (it.points != 1)
        return Status::InvalidArgument(
            "Esta zona no vota por puntos",
            {{"projects", "Escribe solo los números de proyecto, sin puntos"}});
  }
  // The register of who voted: the document's keyed hash, and for online votes also the
  // account's, so that neither a second document from one account nor a booth vote after an
  // online one gets through. A duplicate primary key comes back as kConflict.
  std::vector<std::string> hashes;
  ASSIGN_OR_RETURN(std::string doc, VoterHash(ctx.db, GetString(in, "voter_id_type"),
                                              Upper(GetString(in, "voter_id"))));
  hashes.push_back(doc);
  if (ctx.who.user_id && std::string(channel) == "en_linea") {
    ASSIGN_OR_RETURN(std::string acc, VoterHash(ctx.db, "cuenta", std::to_string(ctx.who.user_id)));
    hashes.push_back(acc);
  }
  for (const std::string& h : hashes) {
    auto r = ctx.db.Exec("INSERT INTO pp_voters (process_id, voter_hash) VALUES (?, ?)", {pid, h});
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kConflict)
        return Status::Conflict(
            "Ya se registró un voto con esta identificación o esta cuenta en este proceso; "
            "solo se admite una boleta por persona");
      return r.status();
    }
  }
  std::string receipt = NewReceipt();
  std::string on = Has(in, "cast_on") && ctx.who.system ? GetString(in, "cast_on") : ctx.today;
  ASSIGN_OR_RETURN(
      db::Rows b, ctx.db.Query("INSERT INTO pp_ballots (process_id, zone_id, "
                               "receipt_hash, channel, cast_on, is_example) VALUES "
                               "(?,?,?,?,?,?) RETURNING id",
                               {pid, zone.Int("id"), ReceiptHash(receipt), std::string(channel), on,
                                int64_t{GetBool(in, "example")}}));
  int64_t bid = b[0].Int("id");
  for (const BallotItem& it : items)
    RETURN_IF_ERROR(ctx.db
                        .Exec("INSERT INTO pp_ballot_items (ballot_id, project_id, points) "
                              "VALUES (?,?,?)",
                              {bid, it.project_id, it.points})
                        .status());
  // The ballot id is not returned: the receipt is the only handle the voter keeps.
  return json::object{{"receipt", receipt},
                      {"zone", zone.Text("name")},
                      {"projects", static_cast<int64_t>(items.size())},
                      {"cast_on", on}};
}

Result<json::value> ReceiptCheck(ActionContext& ctx, const Input& in) {
  auto r = ctx.db.QueryOne(
      "SELECT b.cast_on, b.channel, z.name AS zone_name, p.title, p.slug FROM pp_ballots b "
      "JOIN pp_zones z ON z.id = b.zone_id JOIN pp_processes p ON p.id = b.process_id "
      "WHERE b.receipt_hash = ?",
      {ReceiptHash(GetString(in, "code"))}, "No hay ninguna boleta con ese código de recibo");
  if (!r.ok()) return r.status();
  // The receipt confirms that the ballot is in the box and counted, not what it says: showing
  // its choices would let someone prove to a third party how they voted (vote buying).
  return json::object{{"process", r->Text("title")},
                      {"process_slug", r->Text("slug")},
                      {"zone", r->Text("zone_name")},
                      {"cast_on", r->Text("cast_on")},
                      {"channel", r->Text("channel")}};
}

// --- counting -----------------------------------------------------------------------------------

// The count of one zone, shared by the public results page and the publication of winners.
// MES is defined for approval-like ballots; zones voting by points are counted greedily.
// A project nobody voted for does not win even when money is left: greedy would fund it last
// with the remainder, which residents rightly read as a project imposed without support.
// Dropping it changes nobody else's result, since zero-score projects come after every
// project with votes in the greedy order (and MES never selects them).
Result<Outcome> CountZone(const db::Row& proc, const PbInstance& inst) {
  std::string rule = proc.Text("counting_rule");
  if (inst.vote_type == VoteType::kCumulative) rule = "greedy";
  ASSIGN_OR_RETURN(Outcome o, rule == "mes" ? CountMes(inst) : CountGreedy(inst));
  std::set<std::string> unsupported;
  for (ProjectResult& p : o.projects) {
    if (p.decision == Decision::kSelected && p.score == 0) {
      p.decision = Decision::kNoSupporters;
      p.position = 0;
      o.total_cost -= p.cost;
      unsupported.insert(p.id);
    }
  }
  std::erase_if(o.selected, [&](const std::string& id) { return unsupported.count(id) > 0; });
  return o;
}

Result<json::value> Results(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row proc, FindProcess(ctx.db, GetString(in, "process")));
  int64_t pid = proc.Int("id");
  auto zone = ctx.db.QueryOne(std::string("SELECT ") + kZoneCols + " FROM pp_zones WHERE id = ?",
                              {GetInt(in, "zone_id")}, "La zona no existe");
  if (!zone.ok() || zone->Int("process_id") != pid)
    return Status::NotFound("La zona no existe en este proceso");
  std::string phase = PhaseOf(proc, ctx.today);
  json::object out{{"process", ProcessJson(proc, ctx.today)}, {"zone", ZoneJson(*zone)}};
  // Partial counts are not shown while people are still voting.
  if (phase == "proximamente" || phase == "registro" || phase == "revision" ||
      phase == "votacion") {
    out["available"] = false;
    return out;
  }
  ASSIGN_OR_RETURN(PbInstance inst, ZoneInstance(ctx.db, pid, zone->Int("id")));
  Result<Outcome> o = CountZone(proc, inst);
  if (!o.ok()) return o.status();
  ASSIGN_OR_RETURN(db::Rows titles,
                   ctx.db.Query("SELECT id, title, category_id FROM pp_projects WHERE zone_id = ?",
                                {zone->Int("id")}));
  std::map<std::string, std::string> title;
  for (const db::Row& r : titles) title[std::to_string(r.Int("id"))] = r.Text("title");
  json::array projects;
  for (const ProjectResult& p : o->projects)
    projects.push_back(json::object{{"id", std::stoll(p.id)},
                                    {"title", title[p.id]},
                                    {"cost", p.cost},
                                    {"votes", p.approvals},
                                    {"score", p.score},
                                    {"selected", p.decision == Decision::kSelected},
                                    {"decision", DecisionText(p.decision)},
                                    {"position", p.position},
                                    {"budget_left", p.budget_left},
                                    {"payers", p.payers},
                                    {"max_payment", p.max_payment},
                                    {"supporters_money", p.supporters_money}});
  std::sort(projects.begin(), projects.end(), [](const json::value& a, const json::value& b) {
    auto pa = a.at("position").as_int64(), pb = b.at("position").as_int64();
    if ((pa == 0) != (pb == 0)) return pb == 0;
    if (pa != pb) return pa < pb;
    return a.at("votes").as_int64() > b.at("votes").as_int64();
  });
  out["available"] = true;
  out["rule"] = o->rule;
  out["budget"] = o->budget;
  out["total_cost"] = o->total_cost;
  out["ballots"] = static_cast<int64_t>(inst.votes.size());
  out["endowment"] = o->endowment;
  out["projects"] = std::move(projects);
  return out;
}

Result<json::value> ResultsPublish(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row proc, FindProcess(ctx.db, std::to_string(GetInt(in, "process_id"))));
  int64_t pid = proc.Int("id");
  std::string phase = PhaseOf(proc, ctx.today);
  if (!ctx.who.system && phase != "resultados" && phase != "ejecucion")
    return Status::Conflict("Los resultados se publican cuando termina la votación");
  if (proc.Int("results_published"))
    return Status::Conflict("Los resultados de este proceso ya se publicaron");
  ASSIGN_OR_RETURN(db::Rows zones,
                   ctx.db.Query("SELECT id FROM pp_zones WHERE process_id = ?", {pid}));
  json::array winners;
  for (const db::Row& z : zones) {
    // The same count as the public results page (ZoneInstance, then the process's rule).
    ASSIGN_OR_RETURN(PbInstance inst, ZoneInstance(ctx.db, pid, z.Int("id")));
    ASSIGN_OR_RETURN(Outcome o, CountZone(proc, inst));
    for (const std::string& id : o.selected) {
      RETURN_IF_ERROR(
          ctx.db.Exec("UPDATE pp_projects SET selected = 1 WHERE id = ?", {std::stoll(id)})
              .status());
      winners.push_back(std::stoll(id));
    }
  }
  RETURN_IF_ERROR(
      ctx.db.Exec("UPDATE pp_processes SET results_published = 1 WHERE id = ?", {pid}).status());
  RETURN_IF_ERROR(ctx.Audit("pp_process", pid, "pp_process:" + std::to_string(pid),
                            json::object{{"results_published", false}},
                            json::object{{"results_published", true}, {"winners", winners}}));
  return json::object{{"id", pid}, {"winners", winners}};
}

// --- execution ----------------------------------------------------------------------------------

Result<json::value> ExecutionReport(ActionContext& ctx, const Input& in) {
  int64_t id = GetInt(in, "project_id");
  ASSIGN_OR_RETURN(db::Row p, FindProject(ctx.db, id));
  if (!p.Int("selected"))
    return Status::Conflict("Solo los proyectos ganadores tienen seguimiento de ejecución");
  std::string on = Has(in, "reported_on") ? GetString(in, "reported_on") : ctx.today;
  if (on > ctx.today)
    return Status::InvalidArgument("Fecha futura",
                                   {{"reported_on", "No puede ser posterior a hoy"}});
  ASSIGN_OR_RETURN(
      db::Rows rows,
      ctx.db.Query("INSERT INTO pp_execution (project_id, reported_on, milestone, physical_pct, "
                   "financial_pct, contract_ref, delay_reason, created_at) VALUES "
                   "(?,?,?,?,?,?,?,?) RETURNING id",
                   {id, on, GetString(in, "milestone"), GetNumber(in, "physical_pct"),
                    GetNumber(in, "financial_pct"), GetString(in, "contract_ref"),
                    GetString(in, "delay_reason"), ctx.now}));
  int64_t eid = rows[0].Int("id");
  if (Has(in, "photo"))
    RETURN_IF_ERROR(StorePhoto(ctx, id, in.at("photo").as_object(), "ejecucion",
                               GetString(in, "milestone"), "photo")
                        .status());
  RETURN_IF_ERROR(ctx.Audit("pp_execution", eid, "pp_project:" + std::to_string(id), nullptr,
                            json::object{{"reported_on", on},
                                         {"milestone", GetString(in, "milestone")},
                                         {"physical_pct", GetNumber(in, "physical_pct")},
                                         {"financial_pct", GetNumber(in, "financial_pct")},
                                         {"contract_ref", GetString(in, "contract_ref")},
                                         {"delay_reason", GetString(in, "delay_reason")}}));
  return json::object{{"id", eid}};
}

// --- reads --------------------------------------------------------------------------------------

Result<json::value> ProcessList(ActionContext& ctx, const Input&) {
  ASSIGN_OR_RETURN(db::Rows rows, ctx.db.Query(std::string("SELECT ") + kProcessCols +
                                               " FROM pp_processes ORDER BY year DESC, id DESC"));
  json::array out;
  for (const db::Row& r : rows) {
    json::object p = ProcessJson(r, ctx.today);
    ASSIGN_OR_RETURN(db::Rows n,
                     ctx.db.Query("SELECT (SELECT COUNT(*) FROM pp_projects WHERE process_id = ? "
                                  "AND status <> 'borrador') AS projects, (SELECT COUNT(*) FROM "
                                  "pp_ballots WHERE process_id = ?) AS ballots, (SELECT "
                                  "COALESCE(SUM(budget), 0) FROM pp_zones WHERE process_id = ?) "
                                  "AS budget",
                                  {r.Int("id"), r.Int("id"), r.Int("id")}));
    p["projects"] = n[0].Int("projects");
    p["ballots"] = n[0].Int("ballots");
    p["budget"] = n[0].Int("budget");
    out.push_back(std::move(p));
  }
  return out;
}

Result<json::value> ProcessShow(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row r, FindProcess(ctx.db, GetString(in, "process")));
  json::object p = ProcessJson(r, ctx.today);
  ASSIGN_OR_RETURN(db::Rows zones,
                   ctx.db.Query(std::string("SELECT ") + kZoneCols +
                                    " FROM pp_zones WHERE process_id = ? ORDER BY kind, name",
                                {r.Int("id")}));
  json::array zs;
  int64_t budget = 0;
  for (const db::Row& z : zones) {
    json::object zo = ZoneJson(z);
    ASSIGN_OR_RETURN(db::Rows n, ctx.db.Query("SELECT COUNT(*) AS n FROM pp_ballots WHERE "
                                              "zone_id = ?",
                                              {z.Int("id")}));
    zo["ballots"] = n[0].Int("n");
    budget += z.Int("budget");
    zs.push_back(std::move(zo));
  }
  p["zones"] = std::move(zs);
  p["budget"] = budget;
  ASSIGN_OR_RETURN(db::Rows cats, ctx.db.Query("SELECT id, name FROM pp_categories ORDER BY name"));
  json::array cs;
  for (const db::Row& c : cats)
    cs.push_back(json::object{{"id", c.Int("id")}, {"name", c.Text("name")}});
  p["categories"] = std::move(cs);
  return p;
}

// Public list: submitted proposals only (drafts belong to their authors).
Result<json::value> ProjectList(ActionContext& ctx, const Input& in) {
  std::string sql = std::string(kProjectSelect) + "WHERE p.status <> 'borrador'";
  std::vector<db::Value> params;
  if (Has(in, "process")) {
    ASSIGN_OR_RETURN(db::Row proc, FindProcess(ctx.db, GetString(in, "process")));
    sql += " AND p.process_id = ?";
    params.emplace_back(proc.Int("id"));
  }
  if (Has(in, "zone_id")) {
    sql += " AND p.zone_id = ?";
    params.push_back(GetInt(in, "zone_id"));
  }
  if (Has(in, "category_id")) {
    sql += " AND p.category_id = ?";
    params.push_back(GetInt(in, "category_id"));
  }
  std::string status = GetString(in, "status");
  if (status == "ganador") {
    sql += " AND p.selected = 1";
  } else if (!status.empty()) {
    sql += " AND p.status = ?";
    params.push_back(status);
  }
  if (Has(in, "min_cost")) {
    sql += " AND COALESCE(p.official_cost, p.estimated_cost) >= ?";
    params.push_back(GetInt(in, "min_cost"));
  }
  if (Has(in, "max_cost")) {
    sql += " AND COALESCE(p.official_cost, p.estimated_cost) <= ?";
    params.push_back(GetInt(in, "max_cost"));
  }
  sql += " ORDER BY pr.year DESC, z.name, p.title, p.id";
  ASSIGN_OR_RETURN(db::Rows rows, ctx.db.Query(sql, params));
  // Accent- and case-insensitive: the folded query against the folded index text.
  std::string q = text::Fold(GetString(in, "q"));
  json::array out;
  for (const db::Row& r : rows) {
    if (!q.empty() && r.Text("search_text").find(q) == std::string::npos) continue;
    json::object o = ProjectJson(r);
    o.erase("search_text");
    out.push_back(std::move(o));
  }
  return out;
}

Result<json::value> ProjectShow(ActionContext& ctx, const Input& in) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(db::Row r, FindProject(ctx.db, id));
  json::object p = ProjectJson(r);
  p.erase("search_text");
  ASSIGN_OR_RETURN(db::Row proc, FindProcess(ctx.db, std::to_string(r.Int("process_id"))));
  p["phase"] = PhaseOf(proc, ctx.today);
  p["voting_from"] = proc.Text("voting_from");
  p["voting_to"] = proc.Text("voting_to");
  p["results_published"] = proc.Int("results_published") != 0;
  // Whether the caller proposed it (pages offer its author the draft's edit links); the author's
  // account itself is never shown.
  p["mine"] =
      ctx.who.user_id != 0 && !r.IsNull("author_id") && r.Int("author_id") == ctx.who.user_id;
  ASSIGN_OR_RETURN(db::Rows ph, ctx.db.Query("SELECT file_id, stage, caption, created_at FROM "
                                             "pp_photos WHERE project_id = ? ORDER BY id",
                                             {id}));
  json::array photos;
  for (const db::Row& f : ph)
    photos.push_back(json::object{{"id", f.Int("file_id")},
                                  {"url", "/presupuesto/fotos/" + std::to_string(f.Int("file_id"))},
                                  {"stage", f.Text("stage")},
                                  {"caption", f.Text("caption")},
                                  {"added_on", f.Text("created_at").substr(0, 10)}});
  p["photos"] = std::move(photos);
  ASSIGN_OR_RETURN(db::Rows ex, ctx.db.Query("SELECT id, reported_on, milestone, physical_pct, "
                                             "financial_pct, contract_ref, delay_reason FROM "
                                             "pp_execution WHERE project_id = ? ORDER BY "
                                             "reported_on, id",
                                             {id}));
  json::array execution;
  for (const db::Row& e : ex)
    execution.push_back(json::object{{"reported_on", e.Text("reported_on")},
                                     {"milestone", e.Text("milestone")},
                                     {"physical_pct", e.Real("physical_pct")},
                                     {"financial_pct", e.Real("financial_pct")},
                                     {"contract_ref", e.Text("contract_ref")},
                                     {"delay_reason", e.Text("delay_reason")}});
  p["execution"] = std::move(execution);
  ASSIGN_OR_RETURN(db::Rows votes,
                   ctx.db.Query("SELECT COUNT(*) AS n, COALESCE(SUM(points), 0) AS pts FROM "
                                "pp_ballot_items WHERE project_id = ?",
                                {id}));
  // Support is only shown once voting is over, as on the results page.
  std::string phase = PhaseOf(proc, ctx.today);
  if (phase == "resultados" || phase == "ejecucion") {
    p["votes"] = votes[0].Int("n");
    p["points"] = votes[0].Int("pts");
  }
  return p;
}

Result<json::value> ZoneBallots(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row proc, FindProcess(ctx.db, GetString(in, "process")));
  std::string phase = PhaseOf(proc, ctx.today);
  if (phase != "resultados" && phase != "ejecucion")
    return Status::NotFound("Las boletas se publican al terminar la votación");
  auto zone = ctx.db.QueryOne("SELECT id, process_id FROM pp_zones WHERE id = ?",
                              {GetInt(in, "zone_id")}, "La zona no existe");
  if (!zone.ok() || zone->Int("process_id") != proc.Int("id"))
    return Status::NotFound("La zona no existe en este proceso");
  ASSIGN_OR_RETURN(PbInstance inst, ZoneInstance(ctx.db, proc.Int("id"), zone->Int("id")));
  return json::object{{"pb", WritePb(inst)}, {"slug", proc.Text("slug")}};
}

Result<json::value> Options(ActionContext& ctx, const std::string& sql) {
  ASSIGN_OR_RETURN(db::Rows rows, ctx.db.Query(sql));
  json::array out;
  for (const db::Row& r : rows)
    out.push_back(json::object{{"id", r.Int("id")}, {"name", r.Text("name")}});
  return out;
}

// --- Pabulib import -----------------------------------------------------------------------------

Result<json::value> PbImport(ActionContext& ctx, const Input& in) {
  std::string text(in.at("file").as_object().at("data").as_string());
  auto parsed = ParsePb(text);
  if (!parsed.ok())
    return Status::InvalidArgument("El archivo .pb no es válido",
                                   {{"file", parsed.status().message()}});
  const PbInstance& inst = *parsed;
  if (inst.vote_type != VoteType::kApproval && inst.vote_type != VoteType::kCumulative &&
      inst.vote_type != VoteType::kChoose1)
    return Status::InvalidArgument("Tipo de voto no admitido",
                                   {{"file", "Se importan boletas de aprobación o de puntos"}});
  int64_t year = GetInt(in, "year");
  std::string y = std::to_string(year);
  // A past process: every phase before today, so its results and ballots are public at once.
  Input pin{{"year", year},
            {"title", GetString(in, "title")},
            {"slug", Has(in, "slug") ? GetString(in, "slug") : ""},
            {"description", "Importado de un archivo Pabulib"},
            {"proposals_from", y + "-01-01"},
            {"proposals_to", y + "-01-01"},
            {"voting_from", y + "-01-01"},
            {"voting_to", y + "-01-01"},
            {"execution_from", ""},
            {"counting_rule", GetString(in, "counting_rule", "greedy")},
            {"example", false}};
  if (!Has(in, "slug")) pin.erase("slug");
  if (y + "-01-01" >= ctx.today)
    return Status::InvalidArgument("Año no válido", {{"year", "Solo se importan años pasados"}});
  ASSIGN_OR_RETURN(json::value made, ProcessCreate(ctx, pin));
  int64_t pid = made.at("id").as_int64();
  std::string rule = inst.vote_type == VoteType::kCumulative ? "puntos" : "aprobacion";
  int64_t max_choices = 1, max_points = 1;
  for (const PbVote& v : inst.votes) {
    max_choices = std::max<int64_t>(max_choices, v.projects.size());
    int64_t s = 0;
    for (int64_t p : v.points) s += p;
    max_points = std::max(max_points, s);
  }
  ASSIGN_OR_RETURN(
      db::Rows z, ctx.db.Query("INSERT INTO pp_zones (process_id, name, kind, budget, "
                               "vote_rule, max_choices, max_points) VALUES "
                               "(?,?,?,?,?,?,?) RETURNING id",
                               {pid, GetString(in, "zone_name"), "colonia",
                                std::max<int64_t>(1, inst.budget), rule, max_choices, max_points}));
  int64_t zid = z[0].Int("id");
  int name_col = -1;
  for (size_t i = 0, k = 0; i < inst.project_columns.size(); ++i) {
    const std::string& c = inst.project_columns[i];
    if (c == "project_id" || c == "cost") continue;
    if (c == "name") name_col = static_cast<int>(k);
    ++k;
  }
  std::vector<int64_t> ids;
  for (const PbProject& p : inst.projects) {
    std::string title =
        name_col >= 0 && !p.extra[name_col].empty() ? p.extra[name_col] : "Proyecto " + p.id;
    ASSIGN_OR_RETURN(
        db::Rows r,
        ctx.db.Query("INSERT INTO pp_projects (process_id, zone_id, external_id, title, "
                     "estimated_cost, official_cost, status, submitted_on, reviewed_on, "
                     "technical_ok, legal_ok, financial_ok, search_text, created_at) VALUES "
                     "(?,?,?,?,?,?,'viable',?,?,1,1,1,?,?) RETURNING id",
                     {pid, zid, p.id, title.substr(0, 200), p.cost, p.cost, y + "-01-01",
                      y + "-01-01", text::Fold(title), ctx.now}));
    ids.push_back(r[0].Int("id"));
  }
  for (const PbVote& v : inst.votes) {
    unsigned char rnd[16];
    randombytes_buf(rnd, sizeof rnd);
    ASSIGN_OR_RETURN(db::Rows b, ctx.db.Query("INSERT INTO pp_ballots (process_id, zone_id, "
                                              "receipt_hash, channel, cast_on) VALUES "
                                              "(?,?,?,'importado',?) RETURNING id",
                                              {pid, zid, Hex(rnd, sizeof rnd), y + "-01-01"}));
    int64_t bid = b[0].Int("id");
    for (size_t i = 0; i < v.projects.size(); ++i)
      RETURN_IF_ERROR(ctx.db
                          .Exec("INSERT INTO pp_ballot_items (ballot_id, project_id, points) "
                                "VALUES (?,?,?)",
                                {bid, ids[v.projects[i]], v.points.empty() ? 1 : v.points[i]})
                          .status());
  }
  RETURN_IF_ERROR(
      ctx.Audit("pp_import", pid, "pp_process:" + std::to_string(pid), nullptr,
                json::object{{"projects", ids.size()}, {"ballots", inst.votes.size()}}));
  return json::object{{"id", pid},
                      {"slug", made.at("slug")},
                      {"zone_id", zid},
                      {"projects", ids.size()},
                      {"ballots", inst.votes.size()}};
}

}  // namespace

std::string PhaseOn(std::string_view today, std::string_view proposals_from,
                    std::string_view proposals_to, std::string_view voting_from,
                    std::string_view voting_to, std::string_view execution_from) {
  if (today < proposals_from) return "proximamente";
  if (today <= proposals_to) return "registro";
  if (today < voting_from) return "revision";
  if (today <= voting_to) return "votacion";
  if (!execution_from.empty() && today >= execution_from) return "ejecucion";
  return "resultados";
}

bool IsCurp(std::string_view id) {
  // RENAPO's shape: AAAA YYMMDD [HMX] EE CCC [A-Z0-9] D (X: the non-binary marker since 2023).
  static const std::regex kCurp(
      "^[A-Z][AEIOUX][A-Z]{2}[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[HMX]"
      "(AS|BC|BS|CC|CL|CM|CS|CH|DF|DG|GT|GR|HG|JC|MC|MN|MS|NT|NL|OC|PL|QT|QR|SP|SL|SR|TC|TS|TL|"
      "VZ|YN|ZS|NE)[B-DF-HJ-NP-TV-Z]{3}[A-Z0-9][0-9]$");
  return id.size() == 18 && std::regex_match(id.begin(), id.end(), kCurp);
}

bool IsElectorKey(std::string_view id) {
  return id.size() == 18 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
         });
}

Result<std::string> VoterHash(db::Connection& db, std::string_view kind, std::string_view id) {
  ASSIGN_OR_RETURN(std::string key, VoterKey(db));
  // The document kind is part of the message so that a CURP and an elector key never collide;
  // one person with both documents is still one vote online (the account is registered too),
  // which is the best a booth without a document registry can do.
  std::string msg = std::string(kind) + ":" + std::string(id);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(msg.data()),
                                msg.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return Hex(mac, sizeof mac);
}

Result<PbInstance> ZoneInstance(db::Connection& db, int64_t process_id, int64_t zone_id) {
  ASSIGN_OR_RETURN(db::Row proc, FindProcess(db, std::to_string(process_id)));
  ASSIGN_OR_RETURN(db::Row zone, ZoneOfProcess(db, process_id, zone_id));
  PbInstance inst;
  bool points = zone.Text("vote_rule") == "puntos";
  inst.vote_type = points ? VoteType::kCumulative : VoteType::kApproval;
  inst.budget = zone.Int("budget");
  ASSIGN_OR_RETURN(db::Rows projects,
                   db.Query("SELECT id, title, official_cost FROM pp_projects WHERE zone_id = ? "
                            "AND status = 'viable' ORDER BY id",
                            {zone_id}));
  ASSIGN_OR_RETURN(db::Rows items,
                   db.Query("SELECT b.receipt_hash, i.project_id, i.points FROM pp_ballots b JOIN "
                            "pp_ballot_items i ON i.ballot_id = b.id WHERE b.zone_id = ? "
                            "ORDER BY b.receipt_hash, i.project_id",
                            {zone_id}));
  std::map<int64_t, int32_t> index;
  for (const db::Row& p : projects) {
    index[p.Int("id")] = static_cast<int32_t>(inst.projects.size());
    inst.projects.push_back(
        {std::to_string(p.Int("id")), p.Int("official_cost"), {p.Text("title")}});
  }
  std::string last;
  for (const db::Row& it : items) {
    auto ix = index.find(it.Int("project_id"));
    if (ix == index.end()) continue;  // a project withdrawn after voting is not counted
    if (inst.votes.empty() || it.Text("receipt_hash") != last) {
      last = it.Text("receipt_hash");
      inst.votes.push_back({std::to_string(inst.votes.size() + 1), {}, {}, {}});
    }
    inst.votes.back().projects.push_back(ix->second);
    if (points) inst.votes.back().points.push_back(it.Int("points"));
  }
  // Ballots whose every project was withdrawn hold no choice; drop them rather than write an
  // empty vote that readers would reject.
  std::erase_if(inst.votes, [](const PbVote& v) { return v.projects.empty(); });
  for (size_t i = 0; i < inst.votes.size(); ++i) inst.votes[i].voter_id = std::to_string(i + 1);
  inst.meta = {
      {"description", proc.Text("title") + " — " + zone.Text("name")},
      {"country", "Mexico"},
      {"unit", "León, Guanajuato"},
      {"subunit", zone.Text("name")},
      {"instance", std::to_string(proc.Int("year"))},
      {"num_projects", std::to_string(inst.projects.size())},
      {"num_votes", std::to_string(inst.votes.size())},
      {"budget", std::to_string(inst.budget)},
      {"vote_type", points ? "cumulative" : "approval"},
      {"rule", proc.Text("counting_rule") == "mes" && !points ? "equalshares/add1" : "greedy"},
      {"currency", "MXN"}};
  if (points) inst.meta.push_back({"max_sum_points", std::to_string(zone.Int("max_points"))});
  if (zone.Text("vote_rule") == "aprobacion")
    inst.meta.push_back({"max_length", std::to_string(zone.Int("max_choices"))});
  inst.project_columns = {"project_id", "cost", "name"};
  inst.vote_columns = points ? std::vector<std::string>{"voter_id", "vote", "points"}
                             : std::vector<std::string>{"voter_id", "vote"};
  return inst;
}

void RegisterActions(Registry& reg) {
  reg.AddMigration({"presupuesto", 1, kSchema});

  reg.AddAction(
      {.name = "pp.process.create",
       .mutating = true,
       .roles = kOffice,
       .input = {IntField("year").Required().Range(2000, 2100),
                 StringField("title", 200).Required(), StringField("slug", 80),
                 TextField("description", 5000), DateField("proposals_from").Required(),
                 DateField("proposals_to").Required(), DateField("voting_from").Required(),
                 DateField("voting_to").Required(), DateField("execution_from"),
                 EnumField("counting_rule", {"greedy", "mes"}).Required(),
                 BoolField("example").NotInForms()},
       .check = DatesInOrder,
       .handle = ProcessCreate});
  reg.AddAction(
      {.name = "pp.process.update",
       .mutating = true,
       .roles = kOffice,
       .input = {IdField("id").Required().Options("pp.process.options"),
                 IntField("year").Required().Range(2000, 2100),
                 StringField("title", 200).Required(), TextField("description", 5000),
                 DateField("proposals_from").Required(), DateField("proposals_to").Required(),
                 DateField("voting_from").Required(), DateField("voting_to").Required(),
                 DateField("execution_from"),
                 EnumField("counting_rule", {"greedy", "mes"}).Required()},
       .check = DatesInOrder,
       .handle = ProcessUpdate,
       .prefill = "pp.process.values"});
  reg.AddAction({.name = "pp.process.values",
                 .roles = kOffice,
                 .input = {IdField("id").Required()},
                 .handle = ProcessValues});
  reg.AddAction(
      {.name = "pp.zone.create",
       .mutating = true,
       .roles = kOffice,
       .input = {IdField("process_id").Required().Options("pp.process.options"),
                 StringField("name", 120).Required(),
                 EnumField("kind", {"delegacion", "rural", "colonia"}).Required(),
                 IntField("budget").Required().Range(1, 1e12),
                 EnumField("vote_rule", {"aprobacion", "mochila", "puntos"}).Required(),
                 IntField("max_choices").Range(1, 50), IntField("max_points").Range(1, 1000)},
       .handle = ZoneCreate});
  reg.AddAction(
      {.name = "pp.zone.update",
       .mutating = true,
       .roles = kOffice,
       .input = {IdField("id").Required().Options("pp.zone.options"),
                 StringField("name", 120).Required(),
                 EnumField("kind", {"delegacion", "rural", "colonia"}).Required(),
                 IntField("budget").Required().Range(1, 1e12),
                 EnumField("vote_rule", {"aprobacion", "mochila", "puntos"}).Required(),
                 IntField("max_choices").Range(1, 50), IntField("max_points").Range(1, 1000)},
       .handle = ZoneUpdate,
       .prefill = "pp.zone.values"});
  reg.AddAction({.name = "pp.zone.values",
                 .roles = kOffice,
                 .input = {IdField("id").Required()},
                 .handle = [](ActionContext& ctx, const Input& in) -> Result<json::value> {
                   ASSIGN_OR_RETURN(db::Row z, FindZone(ctx.db, GetInt(in, "id")));
                   json::object o = ZoneJson(z);
                   o.erase("process_id");
                   return o;
                 }});
  reg.AddAction({.name = "pp.category.create",
                 .mutating = true,
                 .roles = kOffice,
                 .input = {StringField("name", 80).Required()},
                 .handle = CategoryCreate});
  reg.AddAction({.name = "pp.proposal.create",
                 .mutating = true,
                 .roles = kResidents,
                 .input = ProposalFields(),
                 .check = ProposalCheck,
                 .handle = ProposalCreate});
  reg.AddAction({.name = "pp.proposal.submit",
                 .mutating = true,
                 .roles = kResidents,
                 .input = {IdField("id").Required(), DateField("submitted_on").NotInForms()},
                 .authorize = AuthorOfDraft,
                 .handle = ProposalSubmit});
  std::vector<Field> proposal_update = {IdField("id").Required()};
  for (const Field& f : ProposalFields())
    if (f.name != "process_id" && f.name != "photo" && f.name != "example")
      proposal_update.push_back(f);
  reg.AddAction({.name = "pp.proposal.update",
                 .mutating = true,
                 .roles = kResidents,
                 .input = proposal_update,
                 .check = ProposalCheck,
                 .authorize = ProposalEditor,
                 .handle = ProposalUpdate,
                 .prefill = "pp.proposal.values"});
  reg.AddAction({.name = "pp.proposal.values",
                 .roles = kResidents,
                 .input = {IdField("id").Required()},
                 .authorize = ProjectVisible,
                 .handle = ProposalValues});
  reg.AddAction(
      {.name = "pp.photo.add",
       .mutating = true,
       .roles = kResidents,
       .input = {IdField("project_id").Required(), FileField("photo", kMaxPhotoBytes).Required(),
                 StringField("caption", 300).Required()},
       .authorize = PhotoAdder,
       .handle = PhotoAdd});
  reg.AddAction(
      {.name = "pp.proposal.review",
       .mutating = true,
       .roles = Staff(),
       .input = {IdField("id").Required(), BoolField("technical_ok"),
                 TextField("technical_reason", 2000), BoolField("legal_ok"),
                 TextField("legal_reason", 2000), BoolField("financial_ok"),
                 TextField("financial_reason", 2000), IntField("official_cost").Range(1, 1e12),
                 DateField("reviewed_on").NotInForms()},
       .check = ReviewCheck,
       .handle = ProposalReview});
  reg.AddAction({.name = "pp.vote.cast",
                 .mutating = true,
                 .roles = {Role::kCiudadano},
                 .input = VoteFields(false),
                 .check = VoteCheck,
                 .handle = [](ActionContext& ctx, const Input& in) {
                   return CastBallot(ctx, in, "en_linea");
                 }});
  reg.AddAction({.name = "pp.vote.booth",
                 .mutating = true,
                 .roles = Staff(),
                 .input = VoteFields(true),
                 .check = VoteCheck,
                 .handle = [](ActionContext& ctx, const Input& in) {
                   return CastBallot(ctx, in, "modulo");
                 }});
  reg.AddAction({.name = "pp.results.publish",
                 .mutating = true,
                 .roles = kOffice,
                 .input = {IdField("process_id").Required().Options("pp.process.options")},
                 .handle = ResultsPublish});
  reg.AddAction({.name = "pp.execution.report",
                 .mutating = true,
                 .roles = Staff(),
                 .input = {IdField("project_id").Required(), DateField("reported_on"),
                           StringField("milestone", 300).Required(),
                           NumberField("physical_pct").Required().Range(0, 100),
                           NumberField("financial_pct").Required().Range(0, 100),
                           StringField("contract_ref", 120), TextField("delay_reason", 2000),
                           FileField("photo", kMaxPhotoBytes)},
                 .handle = ExecutionReport});
  reg.AddAction({.name = "pp.pb.import",
                 .mutating = true,
                 .roles = {Role::kAdmin},
                 .input = {FileField("file", 16 * 1024 * 1024).Required(),
                           StringField("title", 200).Required(), StringField("slug", 80),
                           IntField("year").Required().Range(2000, 2100),
                           StringField("zone_name", 120).Required(),
                           EnumField("counting_rule", {"greedy", "mes"}).Required()},
                 .handle = PbImport});

  // Reads, open to everyone.
  reg.AddAction({.name = "pp.process.list", .roles = Everyone(), .handle = ProcessList});
  reg.AddAction({.name = "pp.process.show",
                 .roles = Everyone(),
                 .input = {StringField("process", 80).Required()},
                 .handle = ProcessShow});
  reg.AddAction({.name = "pp.project.list",
                 .roles = Everyone(),
                 .input = {StringField("process", 80), IdField("zone_id"), IdField("category_id"),
                           EnumField("status", {"registrado", "viable", "no_viable", "ganador"}),
                           IntField("min_cost").Range(0, 1e12), IntField("max_cost").Range(0, 1e12),
                           StringField("q", 200)},
                 .handle = ProjectList});
  reg.AddAction({.name = "pp.project.show",
                 .roles = Everyone(),
                 .input = {IdField("id").Required()},
                 .authorize = ProjectVisible,
                 .handle = ProjectShow});
  reg.AddAction({.name = "pp.project.mine",
                 .roles = kResidents,
                 .handle = [](ActionContext& ctx, const Input&) -> Result<json::value> {
                   ASSIGN_OR_RETURN(db::Rows rows,
                                    ctx.db.Query(std::string(kProjectSelect) +
                                                     "WHERE p.author_id = ? ORDER BY p.id DESC",
                                                 {ctx.who.user_id}));
                   json::array out;
                   for (const db::Row& r : rows) {
                     json::object o = ProjectJson(r);
                     o.erase("search_text");
                     out.push_back(std::move(o));
                   }
                   return out;
                 }});
  reg.AddAction({.name = "pp.receipt.check",
                 .roles = Everyone(),
                 .input = {StringField("code", 20).Required()},
                 .handle = ReceiptCheck});
  reg.AddAction({.name = "pp.results",
                 .roles = Everyone(),
                 .input = {StringField("process", 80).Required(), IdField("zone_id").Required()},
                 .handle = Results});
  reg.AddAction({.name = "pp.ballots.export",
                 .roles = Everyone(),
                 .input = {StringField("process", 80).Required(), IdField("zone_id").Required()},
                 .handle = ZoneBallots});
  reg.AddAction({.name = "pp.photo.show",
                 .roles = Everyone(),
                 .input = {IdField("id").Required()},
                 .handle = [](ActionContext& ctx, const Input& in) -> Result<json::value> {
                   // Photos of submitted proposals are public; a draft's, like the draft, are
                   // seen by its author and by staff.
                   ASSIGN_OR_RETURN(
                       db::Row f,
                       ctx.db.QueryOne("SELECT f.name, f.content_type, f.data, f.sha256, "
                                       "p.status, p.author_id FROM pp_photos ph JOIN files f ON "
                                       "f.id = ph.file_id JOIN pp_projects p ON p.id = "
                                       "ph.project_id WHERE f.id = ?",
                                       {GetInt(in, "id")}, "La foto no existe"));
                   if (f.Text("status") == "borrador" && !ctx.who.system && !IsStaff(ctx.who) &&
                       !(ctx.who.user_id && f.Int("author_id") == ctx.who.user_id))
                     return Status::NotFound("La foto no existe");
                   return json::object{{"name", f.Text("name")},
                                       {"content_type", f.Text("content_type")},
                                       {"data", f.Text("data")},
                                       {"sha256", f.Text("sha256")}};
                 }});
  reg.AddAction({.name = "pp.process.options",
                 .roles = Everyone(),
                 .handle = [](ActionContext& ctx, const Input&) {
                   return Options(ctx,
                                  "SELECT id, title AS name FROM pp_processes ORDER BY "
                                  "year DESC, id DESC");
                 }});
  reg.AddAction({.name = "pp.zone.options",
                 .roles = Everyone(),
                 .handle = [](ActionContext& ctx, const Input&) {
                   return Options(ctx,
                                  // The process's title, not only its year: two processes
                                  // of one year (an extraordinary one) may share zone names.
                                  "SELECT z.id, p.title || ' · ' || z.name AS name FROM "
                                  "pp_zones z JOIN pp_processes p ON p.id = z.process_id "
                                  "ORDER BY p.year DESC, z.name");
                 }});
  reg.AddAction({.name = "pp.category.options",
                 .roles = Everyone(),
                 .handle = [](ActionContext& ctx, const Input&) {
                   return Options(ctx, "SELECT id, name FROM pp_categories ORDER BY name");
                 }});
}

void Register(Registry& reg) {
  RegisterActions(reg);
  RegisterViews(reg);
  RegisterDemo(reg);
}

}  // namespace abierto::presupuesto
