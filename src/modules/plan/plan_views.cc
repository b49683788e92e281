// The plan module's pages, exports, feed and read-only API. Each handler runs one read action
// (plan.show, commitment.show, ...) and turns its JSON into a view, a file or a response; the
// dashboard, the API and the exports therefore always agree.
#include <algorithm>
#include <map>

#include "abierto/export.h"
#include "abierto/json.h"
#include "abierto/svg.h"
#include "abierto/text.h"
#include "abierto/web.h"
#include "modules/plan/plan.h"

namespace abierto::plan {

namespace json = boost::json;
using web::RequestContext;

namespace {

std::string Str(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return "";
}

std::string Pct(const json::value& v) { return text::FormatPercent(JsonNum(v), 1); }

// Adds human-formatted copies of a progress/expected pair for templates.
void DecorateProgress(json::object& o) {
  o["progress_label"] = Pct(o["progress"]);
  o["expected_label"] = Pct(o["expected"]);
  o["progress_width"] = std::to_string(static_cast<int>(std::round(JsonNum(o["progress"]))));
}

json::array IndicatorCards(const json::object& ind, std::string_view lang) {
  json::array out;
  for (const char* k : {"participacion", "transparencia", "ambicion", "sostenibilidad"}) {
    const json::object& i = ind.at(k).as_object();
    bool rated = !i.at("value").is_null();
    out.push_back(
        json::object{{"key", k},
                     {"name", lang == "en" ? i.at("name_en") : i.at("name")},
                     {"formula", lang == "en" ? i.at("formula_en") : i.at("formula")},
                     {"value", rated ? json::value(text::FormatNumber(JsonNum(i.at("value")), 1))
                                     : json::value("—")},
                     {"rated", rated}});
  }
  return out;
}

http::Response PlanOr404(RequestContext& ctx, Result<json::value>& r) {
  return ctx.Error(r.status());
}

// --- dashboard ----------------------------------------------------------------------------------

http::Response Dashboard(RequestContext& ctx) {
  auto r = ctx.Run("plan.show", json::object{{"plan", ctx.Param("plan")}});
  if (!r.ok()) return PlanOr404(ctx, r);
  json::object& p = r->as_object();
  std::string lang = ctx.lang;
  std::string f_axis = ctx.Query("eje"), f_state = ctx.Query("estado"),
              f_unit = ctx.Query("unidad"), f_q = ctx.Query("q");
  std::string q = text::Fold(f_q);

  json::array list, axis_opts, bars;
  std::map<int64_t, std::string> units;
  for (auto& axv : p["axes"].as_array()) {
    json::object& ax = axv.as_object();
    DecorateProgress(ax);
    axis_opts.push_back(json::object{{"value", std::to_string(ax["id"].as_int64())},
                                     {"label", ax["title"]},
                                     {"selected", std::to_string(ax["id"].as_int64()) == f_axis}});
    const json::object& st = ax["state"].as_object();
    bars.push_back(
        json::object{{"label", ax["title"]}, {"value", ax["progress"]}, {"fill", st.at("color")}});
    for (auto& cv : ax["commitments"].as_array()) {
      json::object& c = cv.as_object();
      units[c["unit"].as_object()["id"].as_int64()] = Str(c["unit"].as_object()["name"]);
      if (!f_axis.empty() && std::to_string(ax["id"].as_int64()) != f_axis) continue;
      if (!f_state.empty() && Str(c["state"].as_object()["key"]) != f_state) continue;
      if (!f_unit.empty() && std::to_string(c["unit"].as_object()["id"].as_int64()) != f_unit)
        continue;
      if (!q.empty() && Str(c["search_text"]).find(q) == std::string::npos) continue;
      DecorateProgress(c);
      list.push_back(json::object{{"id", c["id"]},
                                  {"code", c["code"]},
                                  {"title", c["title"]},
                                  {"axis", ax["title"]},
                                  {"unit", c["unit"].as_object()["name"]},
                                  {"state", c["state"]},
                                  {"progress_label", c["progress_label"]},
                                  {"expected_label", c["expected_label"]},
                                  {"progress_width", c["progress_width"]},
                                  {"example", c["example"]},
                                  {"end_date", text::FormatDate(Str(c["end_date"]), lang)}});
    }
  }
  json::array unit_opts, state_opts, segments_json;
  for (auto& [id, name] : units)
    unit_opts.push_back(json::object{{"value", std::to_string(id)},
                                     {"label", name},
                                     {"selected", std::to_string(id) == f_unit}});
  std::vector<svg::Segment> segs;
  for (auto& dv : p["distribution"].as_array()) {
    const json::object& d = dv.as_object();
    std::string label = lang == "en" ? ctx.T("state." + Str(d.at("key"))) : Str(d.at("label"));
    state_opts.push_back(json::object{
        {"value", d.at("key")}, {"label", label}, {"selected", Str(d.at("key")) == f_state}});
    segs.push_back({label, d.at("count").as_int64(), Str(d.at("color"))});
  }
  std::vector<svg::BarItem> bar_items;
  for (auto& b : bars)
    bar_items.push_back({Str(b.at("label")), JsonNum(b.at("value")), Str(b.at("fill")), ""});
  svg::ChartOptions opt;
  opt.lang = lang;
  json::array milestones;
  for (auto& mv : p["milestones"].as_array()) {
    json::object m = mv.as_object();
    m["date_label"] = text::FormatDate(Str(m["date"]), lang);
    if (!Str(m["end_date"]).empty()) m["end_label"] = text::FormatDate(Str(m["end_date"]), lang);
    milestones.push_back(std::move(m));
  }
  DecorateProgress(p);
  json::object view{
      {"plan", p},
      {"status_label", ctx.T("status." + Str(p["status"]))},
      {"period", text::FormatDate(Str(p["period_start"]), lang) + " – " +
                     text::FormatDate(Str(p["period_end"]), lang)},
      {"as_of", text::FormatDate(Str(p["as_of"]), lang)},
      {"approved_on", text::FormatDate(Str(p["approved_on"]), lang)},
      {"chart_states",
       svg::StackedBar(ctx.T("dash.states_chart"), ctx.T("dash.states_chart_desc"), segs, opt)},
      {"chart_axes", svg::HorizontalBars(ctx.T("dash.axes_chart"), ctx.T("dash.axes_chart_desc"),
                                         bar_items, opt)},
      {"indicators", IndicatorCards(p["indicators"].as_object(), lang)},
      {"rule", lang == "en" ? p["rule_en"] : p["rule"]},
      {"commitments", list},
      {"shown", list.size()},
      {"axis_options", axis_opts},
      {"state_options", state_opts},
      {"unit_options", unit_opts},
      {"q", f_q},
      {"filtered", !(f_axis.empty() && f_state.empty() && f_unit.empty() && f_q.empty())},
      {"milestones", milestones}};
  ctx.cacheable = true;
  return ctx.Page("plan", std::move(view), Str(p["title"]));
}

// --- commitment page
// ------------------------------------------------------------------------------

// A value of the change history as a person reads it: dates as dates, yes/no, plain text.
std::string HistoryValue(const json::value& v, std::string_view lang) {
  if (v.is_null()) return "—";
  if (v.is_bool()) return v.get_bool() ? (lang == "en" ? "yes" : "sí") : "no";
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_double()) return text::FormatNumber(v.get_double(), 2);
  if (v.is_string()) {
    std::string s(v.get_string());
    int y, m, d;
    if (s.size() >= 10 && text::ParseIsoDate(s.substr(0, 10), &y, &m, &d))
      return text::FormatDate(s, lang);
    return s;
  }
  return JsonText(v);
}

http::Response CommitmentPage(RequestContext& ctx) {
  std::string id = ctx.Param("id");
  auto r = ctx.Run("commitment.show", json::object{{"id", id}});
  if (!r.ok()) return ctx.Error(r.status());
  json::object& c = r->as_object();
  std::string lang = ctx.lang;
  DecorateProgress(c);
  json::array evidence;
  for (auto& av : c["actions"].as_array()) {
    json::object& a = av.as_object();
    DecorateProgress(a);
    a["due_label"] = text::FormatDate(Str(a["due_date"]), lang);
    json::object& ind = a["indicator"].as_object();
    a["baseline_label"] = text::FormatNumber(JsonNum(ind["baseline"]), 2);
    a["target_label"] = text::FormatNumber(JsonNum(ind["target"]), 2);
    a["goal_label"] = text::FormatNumber(JsonNum(a["goal"].as_object()["value"]), 2) + " " +
                      Str(a["goal"].as_object()["unit"]);
    a["frequency_label"] = ctx.T("choice." + Str(ind["frequency"]));
    for (auto& rv : a["reports"].as_array()) {
      json::object rep = rv.as_object();
      rep["date_label"] = text::FormatDate(Str(rep["reported_on"]), lang);
      rep["action"] = a["action"];
      rep["value_label"] = text::FormatNumber(JsonNum(rep["value"]), 2);
      evidence.push_back(std::move(rep));
    }
  }
  std::sort(evidence.begin(), evidence.end(), [](const json::value& x, const json::value& y) {
    return Str(x.at("reported_on")) > Str(y.at("reported_on"));
  });
  std::vector<std::string> xs;
  svg::Series expected{ctx.T("chart.expected"), "#595959", {}, false};
  svg::Series validated{ctx.T("chart.validated"), "#0b5394", {}, true};
  for (auto& pv : c["timeline"].as_array()) {
    const json::object& pt = pv.as_object();
    xs.push_back(Str(pt.at("date")));
    expected.points.push_back({Str(pt.at("date")), JsonNum(pt.at("expected"))});
    validated.points.push_back({Str(pt.at("date")), JsonNum(pt.at("progress"))});
  }
  svg::ChartOptions opt;
  opt.lang = lang;
  json::array history;
  for (auto& hv : c["history"].as_array()) {
    json::object h = hv.as_object();
    h["at_label"] = text::FormatDate(Str(h["at"]), lang);
    h["action_label"] = ctx.T("action." + Str(h["action"]));
    h["role_label"] = ctx.T("role." + Str(h["role"]));
    json::array changes;
    static const json::object kEmpty;
    const json::object& before = h["before"].is_object() ? h["before"].as_object() : kEmpty;
    if (h["after"].is_object()) {
      for (auto& kv : h["after"].as_object()) {
        std::string_view key = kv.key();
        // Row ids and the search index are bookkeeping, not part of the public record.
        if (key == "id" || key == "search_text" || key.ends_with("_id")) continue;
        const json::value* b = before.if_contains(key);
        if (b && *b == kv.value()) continue;
        changes.push_back(json::object{{"field", ctx.T("field." + std::string(key))},
                                       {"before", b ? HistoryValue(*b, lang) : ""},
                                       {"after", HistoryValue(kv.value(), lang)}});
      }
    }
    h["changes"] = std::move(changes);
    history.push_back(std::move(h));
  }
  json::array ogp;
  for (auto& v : c["ogp_values"].as_array()) ogp.push_back(json::string(ctx.T("ogp." + Str(v))));
  const json::object& sus = c["sustainability"].as_object();
  json::object view{{"c", c},
                    {"ogp", ogp},
                    {"period", text::FormatDate(Str(c["start_date"]), lang) + " – " +
                                   text::FormatDate(Str(c["end_date"]), lang)},
                    {"budget", text::FormatMxn(JsonNum(sus.at("budget_assigned")), lang)},
                    {"ambition_label", ctx.T("choice." + Str(c["ambition"].as_object()["rating"]))},
                    {"indicators", IndicatorCards(c["indicators"].as_object(), lang)},
                    {"chart", svg::LineChart(ctx.T("chart.timeline"), ctx.T("chart.timeline_desc"),
                                             xs, {expected, validated}, opt)},
                    {"evidence", evidence},
                    {"history", history},
                    {"rule", c["plan"].as_object()["rule"]}};
  ctx.cacheable = true;
  return ctx.Page("commitment", std::move(view), Str(c["code"]) + " " + Str(c["title"]));
}

// --- exports
// ---------------------------------------------------------------------------------------

exporter::Table MatrixTable(const json::object& p) {
  exporter::Table t;
  t.headers = {"eje",
               "compromiso_codigo",
               "compromiso",
               "unidad_responsable",
               "objetivo",
               "accion",
               "responsable",
               "meta_valor",
               "meta_unidad",
               "indicador",
               "metodo",
               "linea_base",
               "valor_meta",
               "frecuencia",
               "medio_verificacion",
               "fecha_compromiso",
               "ponderacion",
               "avance_validado",
               "avance_esperado",
               "semaforo",
               "ejemplo"};
  for (const auto& axv : p.at("axes").as_array()) {
    const json::object& ax = axv.as_object();
    for (const auto& cv : ax.at("commitments").as_array()) {
      const json::object& c = cv.as_object();
      for (const auto& av : c.at("actions").as_array()) {
        const json::object& a = av.as_object();
        const json::object& ind = a.at("indicator").as_object();
        t.rows.push_back({Str(ax.at("title")),
                          Str(c.at("code")),
                          Str(c.at("title")),
                          Str(c.at("unit").as_object().at("name")),
                          Str(c.at("objective")),
                          Str(a.at("action")),
                          Str(a.at("responsible")),
                          JsonNum(a.at("goal").as_object().at("value")),
                          Str(a.at("goal").as_object().at("unit")),
                          Str(ind.at("name")),
                          Str(ind.at("method")),
                          JsonNum(ind.at("baseline")),
                          JsonNum(ind.at("target")),
                          Str(ind.at("frequency")),
                          Str(a.at("verification")),
                          Str(a.at("due_date")),
                          JsonNum(a.at("weight")),
                          JsonNum(a.at("progress")),
                          JsonNum(a.at("expected")),
                          Str(a.at("state").as_object().at("key")),
                          c.at("example").as_bool() ? "si" : "no"});
      }
    }
  }
  return t;
}

exporter::Table ProgressTable(const json::object& p, const std::string& site) {
  exporter::Table t;
  t.headers = {"reporte_id", "fecha",     "compromiso_codigo", "compromiso",  "accion",
               "valor",      "narrativa", "evidencia",         "validado_en", "ejemplo"};
  for (const auto& axv : p.at("axes").as_array())
    for (const auto& cv : axv.at("commitments").as_array())
      for (const auto& av : cv.at("actions").as_array())
        for (const auto& rv : av.at("reports").as_array()) {
          const json::object& r = rv.as_object();
          std::string ev = Str(r.at("evidence_url"));
          if (const json::value* f = r.if_contains("evidence_file")) ev = site + Str(f->at("url"));
          t.rows.push_back({r.at("id").as_int64(), Str(r.at("reported_on")), Str(cv.at("code")),
                            Str(cv.at("title")), Str(av.at("action")), JsonNum(r.at("value")),
                            Str(r.at("narrative")), ev, Str(r.at("validated_at")),
                            r.at("example").as_bool() ? "si" : "no"});
        }
  return t;
}

http::Response Export(RequestContext& ctx) {
  std::string file = ctx.Param("file");
  auto r = ctx.Run("plan.show", json::object{{"plan", ctx.Param("plan")}});
  if (!r.ok()) return ctx.Error(r.status());
  const json::object& p = r->as_object();
  std::string slug = Str(p.at("slug"));
  ctx.cacheable = true;
  if (file == "avances.atom") {
    std::vector<exporter::AtomEntry> entries;
    exporter::Table t = ProgressTable(p, ctx.app.config().site_url);
    for (const auto& axv : p.at("axes").as_array())
      for (const auto& cv : axv.at("commitments").as_array())
        for (const auto& av : cv.at("actions").as_array())
          for (const auto& rv : av.at("reports").as_array()) {
            const json::object& rep = rv.as_object();
            std::string url = ctx.app.config().site_url + "/compromisos/" +
                              std::to_string(cv.at("id").as_int64());
            entries.push_back({"tag:abierto,2025:avance/" + std::to_string(rep.at("id").as_int64()),
                               Str(cv.at("code")) + " · " + Str(av.at("action")),
                               Str(rep.at("validated_at")).empty() ? Str(rep.at("reported_on"))
                                                                   : Str(rep.at("validated_at")),
                               url, Str(rep.at("narrative")), ""});
          }
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.updated > b.updated; });
    http::Response resp;
    resp.content_type = "application/atom+xml; charset=utf-8";
    resp.body = exporter::RenderAtom(
        "tag:abierto,2025:plan/" + slug, Str(p.at("title")) + " — avances validados",
        ctx.app.config().site_url + "/planes/" + slug + "/avances.atom",
        ctx.app.config().site_url + "/planes/" + slug,
        entries.empty() ? Str(p.at("as_of")) : entries.front().updated, entries,
        "Gobierno Abierto León");
    return resp;
  }
  size_t dot = file.rfind('.');
  if (dot == std::string::npos) return ctx.Error(Status::NotFound("Formato no disponible"));
  std::string what = file.substr(0, dot), ext = file.substr(dot + 1);
  exporter::Table t;
  if (what == "matriz")
    t = MatrixTable(p);
  else if (what == "avances")
    t = ProgressTable(p, ctx.app.config().site_url);
  else
    return ctx.Error(Status::NotFound("Exportación no disponible"));
  std::string name = slug + "-" + what + "." + ext;
  if (ext == "csv") return ctx.Download(exporter::ToCsv(t), "text/csv; charset=utf-8", name);
  if (ext == "json") return ctx.Download(exporter::ToJsonArray(t), "application/json", name);
  if (ext == "xlsx") {
    auto x = exporter::ToXlsx(t, what);
    if (!x.ok()) return ctx.Error(x.status());
    return ctx.Download(std::move(*x),
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name);
  }
  return ctx.Error(Status::NotFound("Formato no disponible"));
}

// --- home, panel, files, API --------------------------------------------------------------------

http::Response Home(RequestContext& ctx) {
  auto r = ctx.Run("plan.list", json::object{});
  if (!r.ok()) return ctx.Error(r.status());
  json::array plans;
  for (auto& pv : r->as_array()) {
    json::object p = pv.as_object();
    DecorateProgress(p);
    p["status_label"] = ctx.T("status." + Str(p["status"]));
    p["period"] = text::FormatDate(Str(p["period_start"]), ctx.lang) + " – " +
                  text::FormatDate(Str(p["period_end"]), ctx.lang);
    plans.push_back(std::move(p));
  }
  ctx.cacheable = true;
  return ctx.Page("home", json::object{{"plans", plans}}, ctx.T("home.title"));
}

http::Response Panel(RequestContext& ctx) {
  if (!ctx.who.authenticated()) return ctx.Redirect("/entrar?next=/panel");
  auto r = ctx.Run("panel.summary", json::object{});
  if (!r.ok()) return ctx.Error(r.status());
  json::object view = r->as_object();
  if (view.contains("pending"))
    for (auto& pv : view["pending"].as_array()) {
      json::object& p = pv.as_object();
      p["date_label"] = text::FormatDate(Str(p["reported_on"]), ctx.lang);
      p["value_label"] = text::FormatNumber(JsonNum(p["value"]), 2);
    }
  if (view.contains("my_actions"))
    for (auto& av : view["my_actions"].as_array()) {
      json::object& a = av.as_object();
      a["due_label"] = text::FormatDate(Str(a["due_date"]), ctx.lang);
      if (!Str(a["last_status"]).empty())
        a["status_label"] = ctx.T("report." + Str(a["last_status"]));
    }
  view["done"] = ctx.Query("hecho").empty() ? "" : ctx.T("done." + ctx.Query("hecho"));
  view["csrf"] = ctx.FormToken();
  view["is_admin"] = ctx.who.role == Role::kAdmin;
  view["is_editor"] = ctx.who.role == Role::kAdmin || ctx.who.role == Role::kSecretariado;
  return ctx.Page("panel", std::move(view), ctx.T("panel.title"));
}

http::Response FileDownload(RequestContext& ctx) {
  auto r = ctx.Run("files.show", json::object{{"id", ctx.Param("id")}});
  if (!r.ok()) return ctx.Error(r.status());
  const json::object& f = r->as_object();
  std::string ct = Str(f.at("content_type"));
  // Only inert types are served as themselves; anything else (HTML, SVG, scripts) is a download
  // of opaque bytes, so an uploaded file can never run in the site's origin.
  bool inert = ct == "application/pdf" || ct == "image/png" || ct == "image/jpeg" ||
               ct == "image/webp" || ct == "text/csv";
  http::Response resp =
      ctx.Download(Str(f.at("data")), inert ? ct : "application/octet-stream", Str(f.at("name")));
  resp.SetHeader("ETag", "\"" + Str(f.at("sha256")) + "\"");
  return resp;
}

http::Response ApiPlans(RequestContext& ctx) {
  auto r = ctx.Run("plan.list", json::object{});
  if (!r.ok()) return ctx.Error(r.status());
  ctx.cacheable = true;
  return ctx.Json(json::object{{"plans", *r}});
}

http::Response ApiPlan(RequestContext& ctx) {
  auto r = ctx.Run("plan.show", json::object{{"plan", ctx.Param("id")}});
  if (!r.ok()) return ctx.Error(r.status());
  json::object& p = r->as_object();
  for (auto& axv : p["axes"].as_array())
    for (auto& cv : axv.as_object()["commitments"].as_array()) cv.as_object().erase("search_text");
  ctx.cacheable = true;
  return ctx.Json(p);
}

http::Response ApiCommitment(RequestContext& ctx) {
  auto r = ctx.Run("commitment.show", json::object{{"id", ctx.Param("id")}});
  if (!r.ok()) return ctx.Error(r.status());
  r->as_object().erase("search_text");
  ctx.cacheable = true;
  return ctx.Json(*r);
}

}  // namespace

// Open by default: each plan's matrix and validated progress, as DatA-LEÓN datasets.
Result<std::vector<OpenDataset>> PlanOpenData(db::Connection& db, const Dispatcher& d) {
  ASSIGN_OR_RETURN(json::value plans, d.Run(db, Principal::System(), "plan.list", {}));
  std::vector<OpenDataset> out;
  for (const auto& pv : plans.as_array()) {
    std::string slug = Str(pv.at("slug"));
    ASSIGN_OR_RETURN(json::value full,
                     d.Run(db, Principal::System(), "plan.show", {{"plan", slug}}));
    const json::object& p = full.as_object();
    OpenDataset ds;
    ds.name = "plan-" + slug;
    ds.title = Str(p.at("title")) + ": matriz y avances";
    ds.notes = "Compromisos, acciones, metas, indicadores y reportes de avance validados del " +
               Str(p.at("title")) +
               ", publicados y actualizados por Abierto cada vez que cambian. El tablero "
               "está en [/planes/" +
               slug + "](/planes/" + slug + ").";
    ds.organization = "secretariado-tecnico";
    ds.organization_title = "Secretariado Técnico de Gobierno Abierto";
    ds.tags = {"gobierno abierto", "plan de acción", "compromisos"};
    ds.groups = {"gobierno-abierto"};
    ds.frequency = "continua";
    ds.resources.push_back(
        {"Matriz del plan",
         "Una fila por acción de cada compromiso, con su meta, indicador, avance y semáforo.",
         slug + "-matriz.csv", exporter::ToCsv(MatrixTable(p))});
    ds.resources.push_back({"Reportes de avance validados",
                            "Una fila por reporte validado por el Secretariado.",
                            slug + "-avances.csv", exporter::ToCsv(ProgressTable(p, ""))});
    out.push_back(std::move(ds));
  }
  return out;
}

void RegisterViews(Registry& reg) {
  reg.AddOpenData(PlanOpenData);
  reg.AddRoute({"GET", "/", Home});
  reg.AddRoute({"GET", "/planes/{plan}", Dashboard});
  reg.AddRoute({"GET", "/planes/{plan}/{file}", Export});
  reg.AddRoute({"GET", "/compromisos/{id}", CommitmentPage});
  reg.AddRoute({"GET", "/panel", Panel});
  reg.AddRoute({"GET", "/archivos/{id}", FileDownload});
  reg.AddRoute({"GET", "/api/v1/plans", ApiPlans});
  reg.AddRoute({"GET", "/api/v1/plans/{id}", ApiPlan});
  reg.AddRoute({"GET", "/api/v1/commitments/{id}", ApiCommitment});
}

}  // namespace abierto::plan
