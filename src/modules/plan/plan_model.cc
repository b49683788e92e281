// The plan module's storage: its schema and every SQL statement it runs, and LoadPlan, the one
// read that the dashboard, the API and the exports share.
#include <map>

#include "abierto/text.h"
#include "modules/plan/plan.h"
#include "modules/plan/tracking.h"

namespace abierto::plan {

namespace json = boost::json;

const char* kPlanSchema = R"sql(
CREATE TABLE plans (
  id {{ID}},
  slug TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  period_start TEXT NOT NULL,
  period_end TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('borrador','aprobado','en_implementacion','concluido')),
  approved_session TEXT NOT NULL DEFAULT '',
  approved_on TEXT,
  delay_points {{REAL}} NOT NULL DEFAULT 10,
  critical_points {{REAL}} NOT NULL DEFAULT 25,
  target_citizens {{INT}} NOT NULL DEFAULT 30,
  target_organizations {{INT}} NOT NULL DEFAULT 3,
  created_at TEXT NOT NULL
);
CREATE TABLE plan_milestones (
  id {{ID}},
  plan_id {{INT}} NOT NULL REFERENCES plans(id),
  date TEXT NOT NULL,
  end_date TEXT,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE axes (
  id {{ID}},
  plan_id {{INT}} NOT NULL REFERENCES plans(id),
  position {{INT}} NOT NULL,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE commitments (
  id {{ID}},
  axis_id {{INT}} NOT NULL REFERENCES axes(id),
  code TEXT NOT NULL,
  title TEXT NOT NULL,
  problem TEXT NOT NULL DEFAULT '',
  objective TEXT NOT NULL DEFAULT '',
  unit_id {{INT}} NOT NULL REFERENCES units(id),
  co_responsible TEXT NOT NULL DEFAULT '',
  start_date TEXT NOT NULL,
  end_date TEXT NOT NULL,
  ogp_values TEXT NOT NULL DEFAULT '',
  weight {{REAL}} NOT NULL DEFAULT 1,
  citizens_involved {{INT}} NOT NULL DEFAULT 0,
  organizations_involved {{INT}} NOT NULL DEFAULT 0,
  ambition TEXT NOT NULL DEFAULT 'sin_calificar',
  ambition_reason TEXT NOT NULL DEFAULT '',
  budget_assigned {{REAL}} NOT NULL DEFAULT 0,
  institutionalized INTEGER NOT NULL DEFAULT 0,
  continuity INTEGER NOT NULL DEFAULT 0,
  is_example INTEGER NOT NULL DEFAULT 0,
  search_text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX commitments_axis ON commitments (axis_id);
CREATE TABLE plan_actions (
  id {{ID}},
  commitment_id {{INT}} NOT NULL REFERENCES commitments(id),
  position {{INT}} NOT NULL,
  description TEXT NOT NULL,
  responsible TEXT NOT NULL,
  goal_value {{REAL}} NOT NULL,
  goal_unit TEXT NOT NULL,
  indicator_name TEXT NOT NULL,
  indicator_method TEXT NOT NULL DEFAULT '',
  baseline {{REAL}} NOT NULL DEFAULT 0,
  indicator_target {{REAL}} NOT NULL,
  frequency TEXT NOT NULL,
  verification TEXT NOT NULL,
  start_date TEXT,
  due_date TEXT NOT NULL,
  weight {{REAL}} NOT NULL DEFAULT 1
);
CREATE INDEX plan_actions_commitment ON plan_actions (commitment_id);
CREATE TABLE progress_reports (
  id {{ID}},
  action_id {{INT}} NOT NULL REFERENCES plan_actions(id),
  value {{REAL}} NOT NULL,
  narrative TEXT NOT NULL,
  evidence_url TEXT NOT NULL DEFAULT '',
  evidence_file_id {{INT}} REFERENCES files(id),
  status TEXT NOT NULL CHECK (status IN ('pendiente','validado','devuelto')),
  reason TEXT NOT NULL DEFAULT '',
  reported_on TEXT NOT NULL,
  filed_by {{INT}} REFERENCES users(id),
  filed_at TEXT NOT NULL,
  reviewed_by {{INT}} REFERENCES users(id),
  reviewed_at TEXT,
  is_example INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX progress_reports_action ON progress_reports (action_id, status);
)sql";

namespace {

Ambition ParseAmbition(std::string_view s) {
  if (s == "ninguna") return Ambition::kNone;
  if (s == "menor") return Ambition::kMinor;
  if (s == "moderada") return Ambition::kModerate;
  if (s == "transformadora") return Ambition::kTransformative;
  return Ambition::kUnrated;
}

json::value Round1(double v) { return std::round(v * 10) / 10; }

json::object StateJson(State s, std::string_view lang = "es") {
  return {{"key", StateKey(s)},
          {"label", StateLabel(s, lang)},
          {"color", StateColor(s)},
          {"text_color", StateTextColor(s)}};
}

json::object IndicatorsJson(const Indicators& ind, const ParticipationTargets& t) {
  json::object out;
  auto put = [&](Indicator which, const char* key, std::optional<double> v) {
    json::object o{{"name", IndicatorName(which)},
                   {"name_en", IndicatorName(which, "en")},
                   {"formula", IndicatorFormula(which, t)},
                   {"formula_en", IndicatorFormula(which, t, "en")}};
    if (v)
      o["value"] = Round1(*v);
    else
      o["value"] = nullptr;
    out[key] = std::move(o);
  };
  put(Indicator::kParticipacion, "participacion", ind.participacion);
  put(Indicator::kTransparencia, "transparencia", ind.transparencia);
  put(Indicator::kAmbicion, "ambicion", ind.ambicion);
  put(Indicator::kSostenibilidad, "sostenibilidad", ind.sostenibilidad);
  return out;
}

json::array DistributionJson(const Distribution& d) {
  json::array out;
  for (State s : kAllStates) {
    json::object o = StateJson(s);
    o["count"] = d.Count(s);
    out.push_back(std::move(o));
  }
  return out;
}

json::object PlanHeader(const db::Row& r) {
  return {
      {"id", r.Int("id")},
      {"slug", r.Text("slug")},
      {"title", r.Text("title")},
      {"description", r.Text("description")},
      {"period_start", r.Text("period_start")},
      {"period_end", r.Text("period_end")},
      {"status", r.Text("status")},
      {"approved_session", r.Text("approved_session")},
      {"approved_on",
       r.IsNull("approved_on") ? json::value(nullptr) : json::value(r.Text("approved_on"))},
      {"thresholds",
       {{"delay_points", r.Real("delay_points")}, {"critical_points", r.Real("critical_points")}}},
      {"participation_targets",
       {{"citizens", r.Int("target_citizens")}, {"organizations", r.Int("target_organizations")}}}};
}

}  // namespace

Result<db::Row> FindPlanRow(db::Connection& db, std::string_view key) {
  int64_t id = 0;
  bool numeric = !key.empty() && key.size() < 16 &&
                 std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (numeric) id = std::stoll(std::string(key));
  return db.QueryOne(
      "SELECT id, slug, title, description, period_start, period_end, status, approved_session, "
      "approved_on, delay_points, critical_points, target_citizens, target_organizations "
      "FROM plans WHERE " +
          std::string(numeric ? "id = ?" : "slug = ?"),
      {numeric ? db::Value(id) : db::Value(std::string(key))}, "El plan no existe");
}

Result<json::object> LoadPlan(db::Connection& db, std::string_view key, std::string_view today) {
  ASSIGN_OR_RETURN(db::Row prow, FindPlanRow(db, key));
  int64_t plan_id = prow.Int("id");
  json::object plan = PlanHeader(prow);

  ASSIGN_OR_RETURN(db::Rows axes, db.Query("SELECT id, position, title, description FROM axes "
                                           "WHERE plan_id = ? ORDER BY position, id",
                                           {plan_id}));
  ASSIGN_OR_RETURN(
      db::Rows commitments,
      db.Query("SELECT c.id, c.axis_id, c.code, c.title, c.problem, c.objective, c.unit_id, "
               "u.name AS unit_name, c.co_responsible, c.start_date, c.end_date, c.ogp_values, "
               "c.weight, c.citizens_involved, c.organizations_involved, c.ambition, "
               "c.ambition_reason, c.budget_assigned, c.institutionalized, c.continuity, "
               "c.is_example, c.search_text FROM commitments c JOIN axes a ON a.id = c.axis_id "
               "JOIN units u ON u.id = c.unit_id WHERE a.plan_id = ? ORDER BY a.position, "
               "c.code, c.id",
               {plan_id}));
  ASSIGN_OR_RETURN(
      db::Rows actions,
      db.Query("SELECT pa.id, pa.commitment_id, pa.position, pa.description, pa.responsible, "
               "pa.goal_value, pa.goal_unit, pa.indicator_name, pa.indicator_method, "
               "pa.baseline, pa.indicator_target, pa.frequency, pa.verification, pa.start_date, "
               "pa.due_date, pa.weight FROM plan_actions pa JOIN commitments c ON c.id = "
               "pa.commitment_id JOIN axes a ON a.id = c.axis_id WHERE a.plan_id = ? ORDER BY "
               "pa.commitment_id, pa.position, pa.id",
               {plan_id}));
  ASSIGN_OR_RETURN(
      db::Rows reports,
      db.Query("SELECT r.id, r.action_id, r.value, r.narrative, r.evidence_url, "
               "r.evidence_file_id, f.name AS file_name, r.reported_on, r.reviewed_at, "
               "r.is_example FROM progress_reports r JOIN plan_actions pa ON pa.id = r.action_id "
               "JOIN commitments c ON c.id = pa.commitment_id JOIN axes a ON a.id = c.axis_id "
               "LEFT JOIN files f ON f.id = r.evidence_file_id WHERE a.plan_id = ? AND "
               "r.status = 'validado' ORDER BY r.reported_on, r.id",
               {plan_id}));
  ASSIGN_OR_RETURN(db::Rows milestones,
                   db.Query("SELECT id, date, end_date, title, description FROM plan_milestones "
                            "WHERE plan_id = ? ORDER BY date, id",
                            {plan_id}));

  // Reports by action, then actions by commitment, then commitments by axis.
  std::map<int64_t, std::vector<const db::Row*>> reports_of;
  for (const db::Row& r : reports) reports_of[r.Int("action_id")].push_back(&r);
  std::map<int64_t, std::vector<const db::Row*>> actions_of;
  for (const db::Row& a : actions) actions_of[a.Int("commitment_id")].push_back(&a);
  std::map<int64_t, std::vector<const db::Row*>> commitments_of;
  for (const db::Row& c : commitments) commitments_of[c.Int("axis_id")].push_back(&c);

  PlanInput input;
  input.thresholds = {prow.Real("delay_points"), prow.Real("critical_points")};
  input.participation = {prow.Int("target_citizens"), prow.Int("target_organizations")};
  for (const db::Row& a : axes) {
    AxisInput ai{a.Int("id"), {}};
    for (const db::Row* c : commitments_of[a.Int("id")]) {
      CommitmentInput ci;
      ci.id = c->Int("id");
      ci.weight = c->Real("weight");
      ci.start_date = c->Text("start_date");
      ci.end_date = c->Text("end_date");
      ci.citizens_involved = c->Int("citizens_involved");
      ci.organizations_involved = c->Int("organizations_involved");
      ci.ambition = ParseAmbition(c->Text("ambition"));
      ci.budget_assigned = c->Real("budget_assigned");
      ci.institutionalized = c->Int("institutionalized") != 0;
      ci.continuity = c->Int("continuity") != 0;
      for (const db::Row* x : actions_of[ci.id]) {
        ActionInput xi;
        xi.id = x->Int("id");
        xi.weight = x->Real("weight");
        xi.start_date = x->Text("start_date");
        xi.due_date = x->Text("due_date");
        xi.baseline = x->Real("baseline");
        xi.target = x->Real("indicator_target");
        for (const db::Row* r : reports_of[xi.id])
          xi.reports.push_back(
              {r->Text("reported_on"), r->Real("value"),
               !r->Text("evidence_url").empty() || !r->IsNull("evidence_file_id")});
        ci.actions.push_back(std::move(xi));
      }
      ai.commitments.push_back(std::move(ci));
    }
    input.axes.push_back(std::move(ai));
  }
  ASSIGN_OR_RETURN(PlanTracking t, ComputeTracking(input, today));

  std::map<int64_t, const CommitmentTracking*> ctrack;
  std::map<int64_t, const ActionTracking*> atrack;
  for (const AxisTracking& ax : t.axes)
    for (const CommitmentTracking& c : ax.commitments) {
      ctrack[c.id] = &c;
      for (const ActionTracking& a : c.actions) atrack[a.id] = &a;
    }

  json::array axes_json;
  for (size_t i = 0; i < axes.size(); ++i) {
    const db::Row& a = axes[i];
    const AxisTracking& at = t.axes[i];
    json::array cs;
    for (const db::Row* c : commitments_of[a.Int("id")]) {
      const CommitmentTracking& ct = *ctrack[c->Int("id")];
      json::array rows;
      for (const db::Row* x : actions_of[c->Int("id")]) {
        const ActionTracking& xt = *atrack[x->Int("id")];
        json::array reps;
        for (const db::Row* r : reports_of[x->Int("id")]) {
          json::object rep{{"id", r->Int("id")},
                           {"value", r->Real("value")},
                           {"narrative", r->Text("narrative")},
                           {"reported_on", r->Text("reported_on")},
                           {"validated_at", r->Text("reviewed_at")},
                           {"evidence_url", r->Text("evidence_url")},
                           {"example", r->Int("is_example") != 0}};
          if (!r->IsNull("evidence_file_id"))
            rep["evidence_file"] =
                json::object{{"id", r->Int("evidence_file_id")},
                             {"name", r->Text("file_name")},
                             {"url", "/archivos/" + std::to_string(r->Int("evidence_file_id"))}};
          reps.push_back(std::move(rep));
        }
        rows.push_back(json::object{
            {"id", x->Int("id")},
            {"position", x->Int("position")},
            {"action", x->Text("description")},
            {"responsible", x->Text("responsible")},
            {"goal", {{"value", x->Real("goal_value")}, {"unit", x->Text("goal_unit")}}},
            {"indicator",
             {{"name", x->Text("indicator_name")},
              {"method", x->Text("indicator_method")},
              {"baseline", x->Real("baseline")},
              {"target", x->Real("indicator_target")},
              {"frequency", x->Text("frequency")}}},
            {"verification", x->Text("verification")},
            {"start_date", x->IsNull("start_date") ? c->Text("start_date") : x->Text("start_date")},
            {"due_date", x->Text("due_date")},
            {"weight", x->Real("weight")},
            {"progress", Round1(xt.progress)},
            {"expected", Round1(xt.expected)},
            {"state", StateJson(xt.state)},
            {"has_evidence", xt.has_evidence},
            {"reports", std::move(reps)}});
      }
      json::array timeline;
      for (const TimelinePoint& p : ct.timeline)
        timeline.push_back(json::object{
            {"date", p.date}, {"progress", Round1(p.progress)}, {"expected", Round1(p.expected)}});
      json::array ogp;
      for (std::string_view v :
           {"transparencia", "participacion", "rendicion_de_cuentas", "tecnologia_e_innovacion"})
        if (("," + c->Text("ogp_values") + ",").find("," + std::string(v) + ",") !=
            std::string::npos)
          ogp.push_back(json::string(v));
      cs.push_back(json::object{
          {"id", c->Int("id")},
          {"code", c->Text("code")},
          {"title", c->Text("title")},
          {"problem", c->Text("problem")},
          {"objective", c->Text("objective")},
          {"unit", {{"id", c->Int("unit_id")}, {"name", c->Text("unit_name")}}},
          {"co_responsible", c->Text("co_responsible")},
          {"start_date", c->Text("start_date")},
          {"end_date", c->Text("end_date")},
          {"ogp_values", std::move(ogp)},
          {"weight", c->Real("weight")},
          {"example", c->Int("is_example") != 0},
          {"participation",
           {{"citizens", c->Int("citizens_involved")},
            {"organizations", c->Int("organizations_involved")}}},
          {"ambition", {{"rating", c->Text("ambition")}, {"reason", c->Text("ambition_reason")}}},
          {"sustainability",
           {{"budget_assigned", c->Real("budget_assigned")},
            {"institutionalized", c->Int("institutionalized") != 0},
            {"continuity", c->Int("continuity") != 0}}},
          {"progress", Round1(ct.progress)},
          {"expected", Round1(ct.expected)},
          {"state", StateJson(ct.state)},
          {"indicators", IndicatorsJson(ct.indicators, input.participation)},
          {"timeline", std::move(timeline)},
          {"actions", std::move(rows)},
          {"search_text", c->Text("search_text")}});
    }
    axes_json.push_back(json::object{{"id", a.Int("id")},
                                     {"position", a.Int("position")},
                                     {"title", a.Text("title")},
                                     {"description", a.Text("description")},
                                     {"progress", Round1(at.progress)},
                                     {"expected", Round1(at.expected)},
                                     {"state", StateJson(at.state)},
                                     {"distribution", DistributionJson(at.distribution)},
                                     {"commitments", std::move(cs)}});
  }
  json::array ms;
  for (const db::Row& m : milestones)
    ms.push_back(json::object{{"id", m.Int("id")},
                              {"date", m.Text("date")},
                              {"end_date", m.Text("end_date")},
                              {"title", m.Text("title")},
                              {"description", m.Text("description")}});
  plan["as_of"] = today;
  plan["progress"] = Round1(t.progress);
  plan["expected"] = Round1(t.expected);
  plan["state"] = StateJson(t.state);
  plan["distribution"] = DistributionJson(t.distribution);
  plan["indicators"] = IndicatorsJson(t.indicators, input.participation);
  plan["counters"] = {{"axes", axes.size()},
                      {"commitments", t.commitments},
                      {"actions", t.actions},
                      {"actions_with_evidence", t.actions_with_evidence},
                      {"validated_reports", reports.size()}};
  plan["rule"] = TrafficLightRuleText(input.thresholds);
  plan["rule_en"] = TrafficLightRuleText(input.thresholds, "en");
  plan["milestones"] = std::move(ms);
  plan["axes"] = std::move(axes_json);
  return plan;
}

}  // namespace abierto::plan
