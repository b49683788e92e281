// The plan module's actions: each read and write of plans, axes, commitments, matrix rows and
// progress reports, with its input schema and permission rule.
#include <sodium.h>

#include "abierto/text.h"
#include "modules/plan/plan.h"
#include "modules/plan/tracking.h"

namespace abierto::plan {

namespace json = boost::json;

extern const char* kPlanSchema;
Result<db::Row> FindPlanRow(db::Connection& db, std::string_view key);

namespace {

const std::vector<Role> kEditors = {Role::kSecretariado, Role::kAdmin};

std::string Scope(int64_t commitment_id) { return "commitment:" + std::to_string(commitment_id); }

db::Value OptText(const Input& in, std::string_view key) {
  return Has(in, key) ? db::Value(GetString(in, key)) : db::Value();
}

Status DatesInOrder(const Input& in, const char* from, const char* to) {
  if (Has(in, from) && Has(in, to) && GetString(in, from) > GetString(in, to))
    return Status::InvalidArgument("Las fechas están en desorden",
                                   {{to, "Debe ser igual o posterior a la fecha de inicio"}});
  return Status::Ok();
}

Result<json::object> RowSnapshot(db::Connection& db, const char* table, int64_t id) {
  ASSIGN_OR_RETURN(db::Row r, db.QueryOne(std::string("SELECT * FROM ") + table + " WHERE id = ?",
                                          {id}, "El registro no existe"));
  json::object o = RowJson(r);
  o.erase("search_text");
  return o;
}

// --- plans ------------------------------------------------------------------------------------

std::vector<Field> PlanFields() {
  return {
      StringField("title", 200).Required(),
      StringField("slug", 80),
      TextField("description", 5000),
      DateField("period_start").Required(),
      DateField("period_end").Required(),
      EnumField("status", {"borrador", "aprobado", "en_implementacion", "concluido"}).Required(),
      StringField("approved_session", 200),
      DateField("approved_on"),
      NumberField("delay_points").Range(0, 100),
      NumberField("critical_points").Range(0, 100),
      IntField("target_citizens").Range(1, 1000000),
      IntField("target_organizations").Range(1, 100000)};
}

Status PlanCheck(const Input& in) {
  RETURN_IF_ERROR(DatesInOrder(in, "period_start", "period_end"));
  if (GetNumber(in, "critical_points", 25) < GetNumber(in, "delay_points", 10))
    return Status::InvalidArgument(
        "Umbrales en desorden",
        {{"critical_points", "El umbral crítico debe ser mayor o igual al de retraso"}});
  return Status::Ok();
}

std::vector<db::Value> PlanValues(const ActionContext& ctx, const Input& in) {
  std::string slug = Has(in, "slug") ? text::Slugify(GetString(in, "slug"))
                                     : text::Slugify(GetString(in, "title"));
  return {slug,
          GetString(in, "title"),
          GetString(in, "description"),
          GetString(in, "period_start"),
          GetString(in, "period_end"),
          GetString(in, "status"),
          GetString(in, "approved_session"),
          OptText(in, "approved_on"),
          GetNumber(in, "delay_points", 10),
          GetNumber(in, "critical_points", 25),
          GetInt(in, "target_citizens", 30),
          GetInt(in, "target_organizations", 3)};
}

Result<json::value> PlanCreate(ActionContext& ctx, const Input& in) {
  std::vector<db::Value> v = PlanValues(ctx, in);
  if (std::get<std::string>(v[0]).empty())
    return Status::InvalidArgument("Identificador vacío", {{"slug", "Escribe un identificador"}});
  v.push_back(ctx.now);
  ASSIGN_OR_RETURN(db::Rows rows,
                   ctx.db.Query("INSERT INTO plans (slug, title, description, period_start, "
                                "period_end, status, approved_session, approved_on, delay_points, "
                                "critical_points, target_citizens, target_organizations, "
                                "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                                v));
  int64_t id = rows[0].Int("id");
  ASSIGN_OR_RETURN(json::object after, RowSnapshot(ctx.db, "plans", id));
  RETURN_IF_ERROR(ctx.Audit("plan", id, "plan:" + std::to_string(id), nullptr, after));
  return json::object{{"id", id}, {"slug", after["slug"]}};
}

Result<json::value> PlanUpdate(ActionContext& ctx, const Input& in) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(json::object before, RowSnapshot(ctx.db, "plans", id));
  std::vector<db::Value> v = PlanValues(ctx, in);
  v.push_back(id);
  RETURN_IF_ERROR(ctx.db
                      .Exec("UPDATE plans SET slug = ?, title = ?, description = ?, "
                            "period_start = ?, period_end = ?, status = ?, approved_session = ?, "
                            "approved_on = ?, delay_points = ?, critical_points = ?, "
                            "target_citizens = ?, target_organizations = ? WHERE id = ?",
                            v)
                      .status());
  ASSIGN_OR_RETURN(json::object after, RowSnapshot(ctx.db, "plans", id));
  RETURN_IF_ERROR(ctx.Audit("plan", id, "plan:" + std::to_string(id), before, after));
  return json::object{{"id", id}};
}

// --- commitments ------------------------------------------------------------------------------

std::vector<Field> CommitmentFields() {
  return {IdField("axis_id").Required().Options("axis.options"),
          StringField("code", 20).Required(),
          StringField("title", 300).Required(),
          TextField("problem", 5000),
          TextField("objective", 5000),
          IdField("unit_id").Required().Options("units.list"),
          TextField("co_responsible", 2000),
          DateField("start_date").Required(),
          DateField("end_date").Required(),
          BoolField("ogp_transparencia"),
          BoolField("ogp_participacion"),
          BoolField("ogp_rendicion_de_cuentas"),
          BoolField("ogp_tecnologia_e_innovacion"),
          NumberField("weight").Range(0.01, 1000),
          IntField("citizens_involved").Range(0, 10000000),
          IntField("organizations_involved").Range(0, 1000000),
          NumberField("budget_assigned").Range(0, 1e13),
          BoolField("institutionalized"),
          BoolField("continuity"),
          BoolField("example")};
}

Status CommitmentRefs(ActionContext& ctx, const Input& in) {
  RETURN_IF_ERROR(
      ctx.db
          .QueryOne("SELECT id FROM axes WHERE id = ?", {GetInt(in, "axis_id")}, "El eje no existe")
          .status());
  auto u = ctx.db.QueryOne("SELECT id FROM units WHERE id = ?", {GetInt(in, "unit_id")}, "");
  if (!u.ok())
    return Status::InvalidArgument("La unidad responsable no existe",
                                   {{"unit_id", "Elige una unidad existente"}});
  return Status::Ok();
}

std::vector<db::Value> CommitmentValues(ActionContext& ctx, const Input& in) {
  std::string ogp;
  for (const char* v :
       {"transparencia", "participacion", "rendicion_de_cuentas", "tecnologia_e_innovacion"})
    if (GetBool(in, std::string("ogp_") + v)) ogp += (ogp.empty() ? "" : ",") + std::string(v);
  auto unit = ctx.db.QueryOne("SELECT name FROM units WHERE id = ?", {GetInt(in, "unit_id")}, "");
  std::string search =
      text::Fold(GetString(in, "code") + " " + GetString(in, "title") + " " +
                 GetString(in, "problem") + " " + GetString(in, "objective") + " " +
                 GetString(in, "co_responsible") + " " + (unit.ok() ? unit->Text("name") : ""));
  return {GetInt(in, "axis_id"),
          GetString(in, "code"),
          GetString(in, "title"),
          GetString(in, "problem"),
          GetString(in, "objective"),
          GetInt(in, "unit_id"),
          GetString(in, "co_responsible"),
          GetString(in, "start_date"),
          GetString(in, "end_date"),
          ogp,
          GetNumber(in, "weight", 1),
          GetInt(in, "citizens_involved"),
          GetInt(in, "organizations_involved"),
          GetNumber(in, "budget_assigned"),
          int64_t{GetBool(in, "institutionalized")},
          int64_t{GetBool(in, "continuity")},
          int64_t{GetBool(in, "example")},
          search};
}

Result<json::value> CommitmentCreate(ActionContext& ctx, const Input& in) {
  RETURN_IF_ERROR(CommitmentRefs(ctx, in));
  ASSIGN_OR_RETURN(db::Rows rows,
                   ctx.db.Query("INSERT INTO commitments (axis_id, code, title, problem, "
                                "objective, unit_id, co_responsible, start_date, end_date, "
                                "ogp_values, weight, citizens_involved, organizations_involved, "
                                "budget_assigned, institutionalized, continuity, is_example, "
                                "search_text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                                "RETURNING id",
                                CommitmentValues(ctx, in)));
  int64_t id = rows[0].Int("id");
  ASSIGN_OR_RETURN(json::object after, RowSnapshot(ctx.db, "commitments", id));
  RETURN_IF_ERROR(ctx.Audit("commitment", id, Scope(id), nullptr, after));
  return json::object{{"id", id}};
}

Result<json::value> CommitmentUpdate(ActionContext& ctx, const Input& in) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(json::object before, RowSnapshot(ctx.db, "commitments", id));
  RETURN_IF_ERROR(CommitmentRefs(ctx, in));
  std::vector<db::Value> v = CommitmentValues(ctx, in);
  v.push_back(id);
  RETURN_IF_ERROR(ctx.db
                      .Exec("UPDATE commitments SET axis_id = ?, code = ?, title = ?, "
                            "problem = ?, objective = ?, unit_id = ?, co_responsible = ?, "
                            "start_date = ?, end_date = ?, ogp_values = ?, weight = ?, "
                            "citizens_involved = ?, organizations_involved = ?, "
                            "budget_assigned = ?, institutionalized = ?, continuity = ?, "
                            "is_example = ?, search_text = ? WHERE id = ?",
                            v)
                      .status());
  ASSIGN_OR_RETURN(json::object after, RowSnapshot(ctx.db, "commitments", id));
  RETURN_IF_ERROR(ctx.Audit("commitment", id, Scope(id), before, after));
  return json::object{{"id", id}};
}

// --- matrix rows --------------------------------------------------------------------------------

std::vector<Field> ActionFields() {
  return {
      IdField("commitment_id").Required().Options("commitment.options"),
      IntField("position").Range(0, 1000),
      TextField("description", 2000).Required(),
      StringField("responsible", 300).Required(),
      NumberField("goal_value").Required().Range(-1e12, 1e12),
      StringField("goal_unit", 100).Required(),
      StringField("indicator_name", 300).Required(),
      TextField("indicator_method", 2000),
      NumberField("baseline").Range(-1e12, 1e12),
      NumberField("indicator_target").Required().Range(-1e12, 1e12),
      EnumField("frequency", {"mensual", "trimestral", "semestral", "anual", "unica"}).Required(),
      TextField("verification", 2000).Required(),
      DateField("start_date"),
      DateField("due_date").Required(),
      NumberField("weight").Range(0.01, 1000)};
}

Result<db::Row> CommitmentOf(db::Connection& db, int64_t commitment_id) {
  return db.QueryOne("SELECT id, unit_id, start_date, end_date FROM commitments WHERE id = ?",
                     {commitment_id}, "El compromiso no existe");
}

Status ActionDatesFit(const db::Row& c, const Input& in) {
  std::string start = Has(in, "start_date") ? GetString(in, "start_date") : c.Text("start_date");
  if (GetString(in, "due_date") < start)
    return Status::InvalidArgument(
        "Las fechas están en desorden",
        {{"due_date", "La fecha compromiso debe ser posterior al inicio (" + start + ")"}});
  return Status::Ok();
}

std::vector<db::Value> ActionValues(const Input& in) {
  return {GetInt(in, "commitment_id"),     GetInt(in, "position", 1),
          GetString(in, "description"),    GetString(in, "responsible"),
          GetNumber(in, "goal_value"),     GetString(in, "goal_unit"),
          GetString(in, "indicator_name"), GetString(in, "indicator_method"),
          GetNumber(in, "baseline"),       GetNumber(in, "indicator_target"),
          GetString(in, "frequency"),      GetString(in, "verification"),
          OptText(in, "start_date"),       GetString(in, "due_date"),
          GetNumber(in, "weight", 1)};
}

Result<json::value> ActionCreate(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row c, CommitmentOf(ctx.db, GetInt(in, "commitment_id")));
  RETURN_IF_ERROR(ActionDatesFit(c, in));
  ASSIGN_OR_RETURN(db::Rows rows,
                   ctx.db.Query("INSERT INTO plan_actions (commitment_id, position, description, "
                                "responsible, goal_value, goal_unit, indicator_name, "
                                "indicator_method, baseline, indicator_target, frequency, "
                                "verification, start_date, due_date, weight) VALUES "
                                "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                                ActionValues(in)));
  int64_t id = rows[0].Int("id");
  ASSIGN_OR_RETURN(json::object after, RowSnapshot(ctx.db, "plan_actions", id));
  RETURN_IF_ERROR(ctx.Audit("action", id, Scope(c.Int("id")), nullptr, after));
  return json::object{{"id", id}};
}

Result<json::value> ActionUpdate(ActionContext& ctx, const Input& in) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(json::object before, RowSnapshot(ctx.db, "plan_actions", id));
  ASSIGN_OR_RETURN(db::Row c, CommitmentOf(ctx.db, GetInt(in, "commitment_id")));
  RETURN_IF_ERROR(ActionDatesFit(c, in));
  std::vector<db::Value> v = ActionValues(in);
  v.push_back(id);
  RETURN_IF_ERROR(ctx.db
                      .Exec("UPDATE plan_actions SET commitment_id = ?, position = ?, "
                            "description = ?, responsible = ?, goal_value = ?, goal_unit = ?, "
                            "indicator_name = ?, indicator_method = ?, baseline = ?, "
                            "indicator_target = ?, frequency = ?, verification = ?, "
                            "start_date = ?, due_date = ?, weight = ? WHERE id = ?",
                            v)
                      .status());
  ASSIGN_OR_RETURN(json::object after, RowSnapshot(ctx.db, "plan_actions", id));
  RETURN_IF_ERROR(ctx.Audit("action", id, Scope(c.Int("id")), before, after));
  return json::object{{"id", id}};
}

// --- progress reports ---------------------------------------------------------------------------

constexpr size_t kMaxEvidenceBytes = 10 * 1024 * 1024;

// The unit responsible for the commitment a matrix row belongs to.
Result<db::Row> ActionOwner(db::Connection& db, int64_t action_id) {
  return db.QueryOne(
      "SELECT pa.id, pa.commitment_id, c.unit_id, c.start_date FROM plan_actions "
      "pa JOIN commitments c ON c.id = pa.commitment_id WHERE pa.id = ?",
      {action_id}, "La acción no existe");
}

Status ProgressAuthorize(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row owner, ActionOwner(ctx.db, GetInt(in, "action_id")));
  if (ctx.who.role == Role::kEnlace && owner.Int("unit_id") != ctx.who.unit_id)
    return Status::PermissionDenied(
        "Solo el enlace de la unidad responsable puede reportar avances de este compromiso");
  return Status::Ok();
}

Result<int64_t> StoreFile(ActionContext& ctx, const json::object& f) {
  std::string name(f.at("name").as_string());
  std::string data(f.at("data").as_string());
  std::string ctype = f.contains("content_type") ? std::string(f.at("content_type").as_string())
                                                 : "application/octet-stream";
  // Names are shown and used in downloads: keep them printable and short.
  if (!text::IsValidUtf8(name) || text::HasControlChars(name, false) || name.size() > 200 ||
      name.empty() || name == "." || name == "..")
    return Status::InvalidArgument("Nombre de archivo no válido",
                                   {{"evidence_file", "Nombre de archivo no válido"}});
  unsigned char hash[32];
  crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
  ASSIGN_OR_RETURN(
      db::Rows rows,
      ctx.db.Query(
          "INSERT INTO files (name, content_type, size, sha256, data, "
          "created_by, created_at) VALUES (?,?,?,?,?,?,?) RETURNING id",
          {name, ctype, static_cast<int64_t>(data.size()), std::string(hex), db::Blob{data},
           ctx.who.user_id ? db::Value(ctx.who.user_id) : db::Value(), ctx.now}));
  return rows[0].Int("id");
}

Result<json::value> ProgressFile(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row owner, ActionOwner(ctx.db, GetInt(in, "action_id")));
  std::string on = Has(in, "reported_on") ? GetString(in, "reported_on") : ctx.today;
  if (on > ctx.today)
    return Status::InvalidArgument("Fecha futura",
                                   {{"reported_on", "No puede ser posterior a hoy"}});
  db::Value file;
  if (Has(in, "evidence_file")) {
    ASSIGN_OR_RETURN(int64_t fid, StoreFile(ctx, in.at("evidence_file").as_object()));
    file = fid;
  }
  ASSIGN_OR_RETURN(
      db::Rows rows,
      ctx.db.Query("INSERT INTO progress_reports (action_id, value, narrative, evidence_url, "
                   "evidence_file_id, status, reported_on, filed_by, filed_at, is_example) "
                   "VALUES (?,?,?,?,?, 'pendiente', ?,?,?,?) RETURNING id",
                   {GetInt(in, "action_id"), GetNumber(in, "value"), GetString(in, "narrative"),
                    GetString(in, "evidence_url"), file, on,
                    ctx.who.user_id ? db::Value(ctx.who.user_id) : db::Value(), ctx.now,
                    int64_t{ctx.who.system && GetBool(in, "example")}}));
  int64_t id = rows[0].Int("id");
  ASSIGN_OR_RETURN(json::object after, RowSnapshot(ctx.db, "progress_reports", id));
  RETURN_IF_ERROR(ctx.Audit("progress", id, Scope(owner.Int("commitment_id")), nullptr, after));
  return json::object{{"id", id}, {"status", "pendiente"}};
}

Result<json::value> Review(ActionContext& ctx, const Input& in, bool accept) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(db::Row r, ctx.db.QueryOne("SELECT r.id, r.status, pa.commitment_id FROM "
                                              "progress_reports r JOIN plan_actions pa ON "
                                              "pa.id = r.action_id WHERE r.id = ?",
                                              {id}, "El reporte de avance no existe"));
  if (r.Text("status") != "pendiente")
    return Status::Conflict("Este reporte ya fue revisado (" + r.Text("status") + ")");
  ASSIGN_OR_RETURN(json::object before, RowSnapshot(ctx.db, "progress_reports", id));
  RETURN_IF_ERROR(
      ctx.db
          .Exec("UPDATE progress_reports SET status = ?, reason = ?, reviewed_by = ?, "
                "reviewed_at = ? WHERE id = ? AND status = 'pendiente'",
                {std::string(accept ? "validado" : "devuelto"), GetString(in, "reason"),
                 ctx.who.user_id ? db::Value(ctx.who.user_id) : db::Value(), ctx.now, id})
          .status());
  ASSIGN_OR_RETURN(json::object after, RowSnapshot(ctx.db, "progress_reports", id));
  RETURN_IF_ERROR(ctx.Audit("progress", id, Scope(r.Int("commitment_id")), before, after));
  return json::object{{"id", id}, {"status", after["status"]}};
}

// --- reads
// ----------------------------------------------------------------------------------------

Result<json::value> PlanList(ActionContext& ctx, const Input&) {
  ASSIGN_OR_RETURN(db::Rows rows,
                   ctx.db.Query("SELECT slug FROM plans ORDER BY period_start DESC, id"));
  json::array out;
  for (const db::Row& r : rows) {
    ASSIGN_OR_RETURN(json::object p, LoadPlan(ctx.db, r.Text("slug"), ctx.today));
    out.push_back(json::object{{"id", p["id"]},
                               {"slug", p["slug"]},
                               {"title", p["title"]},
                               {"period_start", p["period_start"]},
                               {"period_end", p["period_end"]},
                               {"status", p["status"]},
                               {"approved_session", p["approved_session"]},
                               {"progress", p["progress"]},
                               {"expected", p["expected"]},
                               {"state", p["state"]},
                               {"counters", p["counters"]},
                               {"url", "/api/v1/plans/" + std::string(p["slug"].as_string())}});
  }
  return out;
}

Result<json::value> PlanShow(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(json::object p, LoadPlan(ctx.db, GetString(in, "plan"), ctx.today));
  return p;
}

// Fields of a history entry that the public never sees: who exactly acted (the role is shown
// instead) and, until the secretariat validates a report, what the report says.
constexpr const char* kPrivateFields[] = {"filed_by", "reviewed_by", "created_by", "user_id"};
constexpr const char* kUnvalidatedFields[] = {"value", "narrative", "evidence_url",
                                              "evidence_file_id", "reason"};

void Redact(json::value& v, bool unvalidated) {
  if (!v.is_object()) return;
  json::object& o = v.as_object();
  for (const char* k : kPrivateFields) o.erase(k);
  if (unvalidated)
    for (const char* k : kUnvalidatedFields) o.erase(k);
}

Result<json::value> History(db::Connection& db, const std::string& scope) {
  ASSIGN_OR_RETURN(db::Rows rows,
                   db.Query("SELECT l.id, l.at, l.role, l.action, l.entity, l.entity_id, "
                            "l.before_json, l.after_json, r.status AS report_status FROM "
                            "audit_log l LEFT JOIN progress_reports r ON l.entity = 'progress' "
                            "AND r.id = l.entity_id WHERE l.scope = ? ORDER BY l.id DESC",
                            {scope}));
  json::array out;
  for (const db::Row& r : rows) {
    bool unvalidated = r.Text("entity") == "progress" && r.Text("report_status") != "validado";
    json::value before = json::parse(r.Text("before_json"));
    json::value after = json::parse(r.Text("after_json"));
    Redact(before, unvalidated);
    Redact(after, unvalidated);
    // Residents see who acted by role, not by e-mail: the address is personal data.
    out.push_back(json::object{{"id", r.Int("id")},
                               {"at", r.Text("at")},
                               {"role", r.Text("role")},
                               {"action", r.Text("action")},
                               {"entity", r.Text("entity")},
                               {"entity_id", r.Int("entity_id")},
                               {"before", std::move(before)},
                               {"after", std::move(after)}});
  }
  return out;
}

Result<json::value> CommitmentShow(ActionContext& ctx, const Input& in) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(db::Row r, ctx.db.QueryOne("SELECT a.plan_id FROM commitments c JOIN axes a "
                                              "ON a.id = c.axis_id WHERE c.id = ?",
                                              {id}, "El compromiso no existe"));
  ASSIGN_OR_RETURN(json::object p, LoadPlan(ctx.db, std::to_string(r.Int("plan_id")), ctx.today));
  for (auto& axv : p["axes"].as_array()) {
    json::object& ax = axv.as_object();
    for (auto& cv : ax["commitments"].as_array()) {
      json::object& c = cv.as_object();
      if (c["id"].as_int64() != id) continue;
      json::object out = c;
      out["axis"] = json::object{{"id", ax["id"]}, {"title", ax["title"]}};
      out["plan"] = json::object{{"id", p["id"]},
                                 {"slug", p["slug"]},
                                 {"title", p["title"]},
                                 {"thresholds", p["thresholds"]},
                                 {"rule", p["rule"]}};
      ASSIGN_OR_RETURN(out["history"], History(ctx.db, Scope(id)));
      return out;
    }
  }
  return Status::NotFound("El compromiso no existe");
}

Result<json::value> PanelSummary(ActionContext& ctx, const Input&) {
  json::object out;
  if (ctx.who.role == Role::kEnlace || ctx.who.role == Role::kAdmin) {
    std::string where = ctx.who.role == Role::kEnlace ? "WHERE c.unit_id = ?" : "";
    std::vector<db::Value> params;
    if (ctx.who.role == Role::kEnlace) params.push_back(ctx.who.unit_id);
    ASSIGN_OR_RETURN(
        db::Rows rows,
        ctx.db.Query("SELECT pa.id, pa.description, pa.indicator_name, pa.due_date, c.id AS "
                     "commitment_id, c.code, c.title AS commitment_title, (SELECT r.status FROM "
                     "progress_reports r WHERE r.action_id = pa.id ORDER BY r.id DESC LIMIT 1) "
                     "AS last_status, (SELECT r.reason FROM progress_reports r WHERE "
                     "r.action_id = pa.id ORDER BY r.id DESC LIMIT 1) AS last_reason FROM "
                     "plan_actions pa JOIN commitments c ON c.id = pa.commitment_id " +
                         where + " ORDER BY c.code, pa.position, pa.id",
                     params));
    json::array mine;
    for (const db::Row& r : rows)
      mine.push_back(json::object{{"id", r.Int("id")},
                                  {"description", r.Text("description")},
                                  {"indicator", r.Text("indicator_name")},
                                  {"due_date", r.Text("due_date")},
                                  {"commitment_id", r.Int("commitment_id")},
                                  {"code", r.Text("code")},
                                  {"commitment_title", r.Text("commitment_title")},
                                  {"last_status", r.Text("last_status")},
                                  {"last_reason", r.Text("last_reason")}});
    out["my_actions"] = std::move(mine);
  }
  if (ctx.who.role == Role::kSecretariado || ctx.who.role == Role::kAdmin) {
    ASSIGN_OR_RETURN(
        db::Rows rows,
        ctx.db.Query("SELECT r.id, r.value, r.narrative, r.evidence_url, r.evidence_file_id, "
                     "r.reported_on, pa.description, pa.indicator_name, pa.baseline, "
                     "pa.indicator_target, c.id AS commitment_id, c.code, u.name AS unit_name "
                     "FROM progress_reports r JOIN plan_actions pa ON pa.id = r.action_id JOIN "
                     "commitments c ON c.id = pa.commitment_id JOIN units u ON u.id = c.unit_id "
                     "WHERE r.status = 'pendiente' ORDER BY r.id"));
    json::array pending;
    for (const db::Row& r : rows)
      pending.push_back(json::object{{"id", r.Int("id")},
                                     {"value", r.Real("value")},
                                     {"narrative", r.Text("narrative")},
                                     {"evidence_url", r.Text("evidence_url")},
                                     {"evidence_file_id", r.Int("evidence_file_id")},
                                     {"reported_on", r.Text("reported_on")},
                                     {"action", r.Text("description")},
                                     {"indicator", r.Text("indicator_name")},
                                     {"baseline", r.Real("baseline")},
                                     {"target", r.Real("indicator_target")},
                                     {"commitment_id", r.Int("commitment_id")},
                                     {"code", r.Text("code")},
                                     {"unit", r.Text("unit_name")}});
    out["pending"] = std::move(pending);
  }
  return out;
}

Result<json::value> FileShow(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row f, ctx.db.QueryOne("SELECT id, name, content_type, size, sha256, data "
                                              "FROM files WHERE id = ?",
                                              {GetInt(in, "id")}, "El archivo no existe"));
  // Evidence is public once the secretariat validated the report it supports; before that only
  // staff may see it.
  ASSIGN_OR_RETURN(db::Rows pub, ctx.db.Query("SELECT id FROM progress_reports WHERE "
                                              "evidence_file_id = ? AND status = 'validado'",
                                              {f.Int("id")}));
  bool staff = ctx.who.role == Role::kSecretariado || ctx.who.role == Role::kAdmin ||
               ctx.who.role == Role::kEnlace;
  if (pub.empty() && !staff) return Status::NotFound("El archivo no existe");
  return json::object{{"id", f.Int("id")},
                      {"name", f.Text("name")},
                      {"content_type", f.Text("content_type")},
                      {"sha256", f.Text("sha256")},
                      {"data", f.Text("data")}};
}

}  // namespace

void RegisterActions(Registry& reg) {
  reg.AddMigration({"plan", 1, kPlanSchema});

  reg.AddAction({.name = "plan.list", .roles = Everyone(), .handle = PlanList});
  reg.AddAction({.name = "plan.show",
                 .roles = Everyone(),
                 .input = {StringField("plan", 80).Required()},
                 .handle = PlanShow});
  reg.AddAction({.name = "commitment.show",
                 .roles = Everyone(),
                 .input = {IdField("id").Required()},
                 .handle = CommitmentShow});
  // Choices for forms: short lists of {id, label}.
  auto options = [&reg](std::string name, std::string sql) {
    reg.AddAction({.name = std::move(name),
                   .roles = Everyone(),
                   .handle = [sql](ActionContext& ctx, const Input&) -> Result<json::value> {
                     ASSIGN_OR_RETURN(db::Rows rows, ctx.db.Query(sql));
                     json::array out;
                     for (const db::Row& r : rows)
                       out.push_back(json::object{{"id", r.Int("id")}, {"label", r.Text("label")}});
                     return out;
                   }});
  };
  options("plan.options", "SELECT id, title AS label FROM plans ORDER BY period_start DESC, id");
  options("axis.options",
          "SELECT a.id, p.title || ' · ' || a.title AS label FROM axes a JOIN plans p ON p.id = "
          "a.plan_id ORDER BY p.period_start DESC, a.position, a.id");
  options("commitment.options",
          "SELECT c.id, c.code || ' · ' || c.title AS label FROM commitments c JOIN axes a ON "
          "a.id = c.axis_id ORDER BY a.plan_id DESC, c.code, c.id");
  options("action.options",
          "SELECT pa.id, c.code || ' · ' || pa.description AS label FROM plan_actions pa JOIN "
          "commitments c ON c.id = pa.commitment_id ORDER BY c.code, pa.position, pa.id");
  // Current values of a row keyed by the input fields of its update action (edit forms).
  auto values = [&reg](std::string name, const char* table, std::vector<Role> roles) {
    reg.AddAction({.name = std::move(name),
                   .roles = std::move(roles),
                   .input = {IdField("id").Required()},
                   .handle = [table](ActionContext& ctx, const Input& in) -> Result<json::value> {
                     ASSIGN_OR_RETURN(json::object o, RowSnapshot(ctx.db, table, GetInt(in, "id")));
                     o.erase("created_at");
                     if (const json::value* ogp = o.if_contains("ogp_values")) {
                       std::string list = "," + std::string(ogp->as_string()) + ",";
                       for (const char* v : {"transparencia", "participacion",
                                             "rendicion_de_cuentas", "tecnologia_e_innovacion"})
                         o[std::string("ogp_") + v] =
                             list.find("," + std::string(v) + ",") != std::string::npos;
                       o.erase("ogp_values");
                     }
                     for (const char* flag : {"institutionalized", "continuity", "is_example"})
                       if (const json::value* f = o.if_contains(flag); f && f->is_int64())
                         o[flag == std::string("is_example") ? "example" : flag] =
                             f->as_int64() != 0;
                     return o;
                   }});
  };
  values("plan.values", "plans", kEditors);
  values("commitment.values", "commitments", kEditors);
  values("action.values", "plan_actions", kEditors);
  reg.AddAction({.name = "panel.summary", .roles = Staff(), .handle = PanelSummary});
  reg.AddAction({.name = "files.show",
                 .roles = Everyone(),
                 .input = {IdField("id").Required()},
                 .handle = FileShow});

  reg.AddAction({.name = "plan.create",
                 .mutating = true,
                 .roles = kEditors,
                 .input = PlanFields(),
                 .check = PlanCheck,
                 .handle = PlanCreate});
  std::vector<Field> upd = PlanFields();
  upd.insert(upd.begin(), IdField("id").Required().Options("plan.options"));
  reg.AddAction({.name = "plan.update",
                 .mutating = true,
                 .roles = kEditors,
                 .input = upd,
                 .check = PlanCheck,
                 .handle = PlanUpdate,
                 .prefill = "plan.values"});

  reg.AddAction(
      {.name = "plan.milestone.create",
       .mutating = true,
       .roles = kEditors,
       .input = {IdField("plan_id").Required().Options("plan.options"),
                 DateField("date").Required(), DateField("end_date"),
                 StringField("title", 300).Required(), TextField("description", 5000)},
       .check = [](const Input& in) { return DatesInOrder(in, "date", "end_date"); },
       .handle = [](ActionContext& ctx, const Input& in) -> Result<json::value> {
         int64_t plan = GetInt(in, "plan_id");
         RETURN_IF_ERROR(
             ctx.db.QueryOne("SELECT id FROM plans WHERE id = ?", {plan}, "El plan no existe")
                 .status());
         ASSIGN_OR_RETURN(db::Rows rows,
                          ctx.db.Query("INSERT INTO plan_milestones (plan_id, date, "
                                       "end_date, title, description) VALUES "
                                       "(?,?,?,?,?) RETURNING id",
                                       {plan, GetString(in, "date"), OptText(in, "end_date"),
                                        GetString(in, "title"), GetString(in, "description")}));
         int64_t id = rows[0].Int("id");
         ASSIGN_OR_RETURN(json::object after, RowSnapshot(ctx.db, "plan_milestones", id));
         RETURN_IF_ERROR(
             ctx.Audit("milestone", id, "plan:" + std::to_string(plan), nullptr, after));
         return json::object{{"id", id}};
       }});

  reg.AddAction(
      {.name = "axis.create",
       .mutating = true,
       .roles = kEditors,
       .input = {IdField("plan_id").Required().Options("plan.options"),
                 IntField("position").Range(0, 1000), StringField("title", 200).Required(),
                 TextField("description", 5000)},
       .handle = [](ActionContext& ctx, const Input& in) -> Result<json::value> {
         int64_t plan = GetInt(in, "plan_id");
         RETURN_IF_ERROR(
             ctx.db.QueryOne("SELECT id FROM plans WHERE id = ?", {plan}, "El plan no existe")
                 .status());
         ASSIGN_OR_RETURN(db::Rows rows,
                          ctx.db.Query("INSERT INTO axes (plan_id, position, title, "
                                       "description) VALUES (?,?,?,?) RETURNING id",
                                       {plan, GetInt(in, "position", 1), GetString(in, "title"),
                                        GetString(in, "description")}));
         int64_t id = rows[0].Int("id");
         ASSIGN_OR_RETURN(json::object after, RowSnapshot(ctx.db, "axes", id));
         RETURN_IF_ERROR(ctx.Audit("axis", id, "plan:" + std::to_string(plan), nullptr, after));
         return json::object{{"id", id}};
       }});

  reg.AddAction(
      {.name = "commitment.create",
       .mutating = true,
       .roles = kEditors,
       .input = CommitmentFields(),
       .check = [](const Input& in) { return DatesInOrder(in, "start_date", "end_date"); },
       .handle = CommitmentCreate});
  std::vector<Field> cupd = CommitmentFields();
  cupd.insert(cupd.begin(), IdField("id").Required().Options("commitment.options"));
  reg.AddAction(
      {.name = "commitment.update",
       .mutating = true,
       .roles = kEditors,
       .input = cupd,
       .check = [](const Input& in) { return DatesInOrder(in, "start_date", "end_date"); },
       .handle = CommitmentUpdate,
       .prefill = "commitment.values"});

  reg.AddAction({.name = "commitment.rate",
                 .mutating = true,
                 .roles = kEditors,
                 .input = {IdField("id").Required().Options("commitment.options"),
                           EnumField("ambition", {"ninguna", "menor", "moderada", "transformadora"})
                               .Required(),
                           TextField("ambition_reason", 3000).Required()},
                 .handle = [](ActionContext& ctx, const Input& in) -> Result<json::value> {
                   int64_t id = GetInt(in, "id");
                   ASSIGN_OR_RETURN(json::object before, RowSnapshot(ctx.db, "commitments", id));
                   RETURN_IF_ERROR(
                       ctx.db
                           .Exec("UPDATE commitments SET ambition = ?, "
                                 "ambition_reason = ? WHERE id = ?",
                                 {GetString(in, "ambition"), GetString(in, "ambition_reason"), id})
                           .status());
                   ASSIGN_OR_RETURN(json::object after, RowSnapshot(ctx.db, "commitments", id));
                   RETURN_IF_ERROR(ctx.Audit("commitment", id, Scope(id), before, after));
                   return json::object{{"id", id}};
                 }});

  reg.AddAction({.name = "action.create",
                 .mutating = true,
                 .roles = kEditors,
                 .input = ActionFields(),
                 .handle = ActionCreate});
  std::vector<Field> aupd = ActionFields();
  aupd.insert(aupd.begin(), IdField("id").Required().Options("action.options"));
  reg.AddAction({.name = "action.update",
                 .mutating = true,
                 .roles = kEditors,
                 .input = aupd,
                 .handle = ActionUpdate,
                 .prefill = "action.values"});

  reg.AddAction({.name = "progress.file",
                 .mutating = true,
                 .roles = {Role::kEnlace, Role::kAdmin},
                 .input = {IdField("action_id").Required().Options("action.options"),
                           NumberField("value").Required().Range(-1e12, 1e12),
                           TextField("narrative", 5000).Required(), DateField("reported_on"),
                           UrlField("evidence_url"), FileField("evidence_file", kMaxEvidenceBytes),
                           BoolField("example").NotInForms()},
                 .authorize = ProgressAuthorize,
                 .handle = ProgressFile});
  reg.AddAction(
      {.name = "progress.validate",
       .mutating = true,
       .roles = kEditors,
       .input = {IdField("id").Required()},
       .handle = [](ActionContext& ctx, const Input& in) { return Review(ctx, in, true); }});
  reg.AddAction(
      {.name = "progress.return",
       .mutating = true,
       .roles = kEditors,
       .input = {IdField("id").Required(), TextField("reason", 3000).Required()},
       .handle = [](ActionContext& ctx, const Input& in) { return Review(ctx, in, false); }});
}

void Register(Registry& reg) {
  RegisterActions(reg);
  RegisterViews(reg);
  RegisterDemo(reg);
}

}  // namespace abierto::plan
