// The participatory-budget pages, downloads and JSON API. Each handler runs read actions through
// the dispatcher and turns their JSON into a view; the vote form posts to the voting actions.
// Every page works without JavaScript: the project list is the primary view on a phone, and
// each project with a location links to OpenStreetMap. Where tiles are configured, a map
// (assets/static/mapa.js, Leaflet with clustering) sits next to the list as an aid; it is
// drawn from the same filtered projects (as GeoJSON) and the page loses nothing without it.
#include <algorithm>
#include <cstdio>

#include "abierto/export.h"
#include "abierto/json.h"
#include "abierto/text.h"
#include "abierto/web.h"
#include "modules/presupuesto/presupuesto.h"

namespace abierto::presupuesto {

namespace json = boost::json;
using web::RequestContext;

namespace {

const char* kPhases[] = {"registro", "revision", "votacion", "resultados", "ejecucion"};

// The phases as a timeline: done, current or upcoming.
json::array PhaseSteps(RequestContext& ctx, const json::object& p) {
  std::string phase = JsonStr(p.at("phase"));
  int current = -1;
  for (int i = 0; i < 5; ++i)
    if (phase == kPhases[i]) current = i;
  std::string l = ctx.lang;
  std::string dates[] = {text::FormatDate(JsonStr(p.at("proposals_from")), l) + " – " +
                             text::FormatDate(JsonStr(p.at("proposals_to")), l),
                         text::FormatDate(JsonStr(p.at("proposals_to")), l) + " – " +
                             text::FormatDate(JsonStr(p.at("voting_from")), l),
                         text::FormatDate(JsonStr(p.at("voting_from")), l) + " – " +
                             text::FormatDate(JsonStr(p.at("voting_to")), l),
                         text::FormatDate(JsonStr(p.at("voting_to")), l),
                         JsonStr(p.at("execution_from")).empty()
                             ? ""
                             : text::FormatDate(JsonStr(p.at("execution_from")), l)};
  json::array out;
  for (int i = 0; i < 5; ++i)
    out.push_back(json::object{{"label", ctx.T(std::string("pp.phase.") + kPhases[i])},
                               {"dates", dates[i]},
                               {"current", i == current},
                               {"done", current > i}});
  return out;
}

void DecorateProject(RequestContext& ctx, json::object& p) {
  p["cost_label"] = text::FormatMxn(JsonNum(p["cost"]), ctx.lang);
  std::string status = JsonStr(p["status"]);
  if (p["selected"].is_bool() && p["selected"].as_bool()) status = "ganador";
  p["status_key"] = status;
  p["status_label"] = ctx.T("pp.status." + status);
  if (!p["lat"].is_null()) {
    char buf[160];
    snprintf(buf, sizeof buf, "https://www.openstreetmap.org/?mlat=%.6f&mlon=%.6f#map=17/%.6f/%.6f",
             JsonNum(p["lat"]), JsonNum(p["lng"]), JsonNum(p["lat"]), JsonNum(p["lng"]));
    p["map_url"] = buf;
  }
}

bool IsOffice(const RequestContext& ctx) {
  return ctx.who.role == Role::kSecretariado || ctx.who.role == Role::kAdmin;
}
bool IsStaff(const RequestContext& ctx) { return ctx.who.role >= Role::kEnlace; }

// The note after a form sent from these pages came back here (?hecho=action), when the catalogue
// has one for that action.
std::string DoneMessage(RequestContext& ctx) {
  std::string action = ctx.Query("hecho");
  if (action.empty()) return "";
  std::string key = "done." + action;
  std::string msg = ctx.T(key);
  return msg == key ? "" : msg;
}

// A link to the generic form of `action`, coming back to `back` afterwards.
std::string FormLink(std::string_view action, std::string query, std::string_view back) {
  return "/panel/accion/" + std::string(action) + "?" + query + "&next=" + std::string(back);
}

// --- processes -------------------------------------------------------------------------------

http::Response Home(RequestContext& ctx) {
  auto r = ctx.Run("pp.process.list", json::object{});
  if (!r.ok()) return ctx.Error(r.status());
  json::array list;
  for (auto& v : r->as_array()) {
    json::object p = v.as_object();
    p["phase_label"] = ctx.T("pp.phase." + JsonStr(p["phase"]));
    p["budget_label"] = text::FormatMxn(JsonNum(p["budget"]), ctx.lang);
    p["voting"] = JsonStr(p["phase"]) == "votacion";
    if (JsonStr(p["phase"]) == "registro")
      p["propose_url"] =
          FormLink("pp.proposal.create", "process_id=" + JsonStr(p["id"]), "/presupuesto");
    list.push_back(std::move(p));
  }
  json::object view{{"processes", list}, {"done", DoneMessage(ctx)}};
  // A resident's own proposals, drafts included: where they come back to edit and submit them.
  if (ctx.who.authenticated() && !ctx.who.system) {
    auto mine = ctx.Run("pp.project.mine", json::object{});
    if (!mine.ok()) return ctx.Error(mine.status());
    json::array projects;
    for (auto& v : mine->as_array()) {
      json::object o = v.as_object();
      DecorateProject(ctx, o);
      projects.push_back(std::move(o));
    }
    view["mine"] = std::move(projects);
    view["logged_in"] = true;
  }
  ctx.cacheable = true;
  return ctx.Page("pp_home", std::move(view), ctx.T("pp_title"));
}

// The projects of a process filtered by the page's query string (validated by the list action).
Result<json::value> FilteredProjects(RequestContext& ctx, const std::string& process) {
  json::object filter{{"process", process}};
  for (auto [q, f] : std::vector<std::pair<const char*, const char*>>{{"zona", "zone_id"},
                                                                      {"categoria", "category_id"},
                                                                      {"estado", "status"},
                                                                      {"costo_min", "min_cost"},
                                                                      {"costo_max", "max_cost"},
                                                                      {"q", "q"}})
    if (!ctx.Query(q).empty()) filter[f] = ctx.Query(q);
  return ctx.Run("pp.project.list", filter);
}

// A line under the title in a map popup: zone, status and cost.
std::string PopupDetail(const json::object& p) {
  return JsonStr(p.at("zone").at("name")) + " · " + JsonStr(p.at("status_label")) + " · " +
         JsonStr(p.at("cost_label"));
}

http::Response ProcessPage(RequestContext& ctx) {
  std::string key = ctx.Param("proceso");
  auto r = ctx.Run("pp.process.show", json::object{{"process", key}});
  if (!r.ok()) return ctx.Error(r.status());
  json::object& p = r->as_object();
  auto list = FilteredProjects(ctx, key);
  if (!list.ok()) return ctx.Error(list.status());
  json::array projects;
  bool located = false;
  for (auto& v : list->as_array()) {
    json::object o = v.as_object();
    DecorateProject(ctx, o);
    located = located || o.contains("map_url");
    projects.push_back(std::move(o));
  }
  bool results = JsonStr(p["phase"]) == "resultados" || JsonStr(p["phase"]) == "ejecucion";
  json::array zone_opts, cat_opts, status_opts;
  std::string back = "/presupuesto/" + JsonStr(p["slug"]);
  bool office = IsOffice(ctx);
  for (auto& zv : p["zones"].as_array()) {
    json::object& z = zv.as_object();
    z["budget_label"] = text::FormatMxn(JsonNum(z["budget"]), ctx.lang);
    z["rule_label"] = ctx.T("pp.rule." + JsonStr(z["vote_rule"]));
    z["results"] = results;
    if (office) z["edit_url"] = FormLink("pp.zone.update", "id=" + JsonStr(z["id"]), back);
    zone_opts.push_back(json::object{{"value", JsonStr(z["id"])},
                                     {"label", z["name"]},
                                     {"selected", JsonStr(z["id"]) == ctx.Query("zona")}});
  }
  for (auto& cv : p["categories"].as_array())
    cat_opts.push_back(json::object{{"value", JsonStr(cv.at("id"))},
                                    {"label", cv.at("name")},
                                    {"selected", JsonStr(cv.at("id")) == ctx.Query("categoria")}});
  for (const char* s : {"registrado", "viable", "no_viable", "ganador"})
    status_opts.push_back(json::object{{"value", s},
                                       {"label", ctx.T(std::string("pp.status.") + s)},
                                       {"selected", ctx.Query("estado") == s}});
  json::object view{{"p", p},
                    {"phase_label", ctx.T("pp.phase." + JsonStr(p["phase"]))},
                    {"budget_label", text::FormatMxn(JsonNum(p["budget"]), ctx.lang)},
                    {"steps", PhaseSteps(ctx, p)},
                    {"voting", JsonStr(p["phase"]) == "votacion"},
                    {"results", results},
                    {"projects", projects},
                    {"shown", projects.size()},
                    {"zone_options", zone_opts},
                    {"category_options", cat_opts},
                    {"status_options", status_opts},
                    {"q", ctx.Query("q")},
                    {"costo_min", ctx.Query("costo_min")},
                    {"costo_max", ctx.Query("costo_max")},
                    {"office", office},
                    {"done", DoneMessage(ctx)}};
  if (office) {
    view["edit_url"] = FormLink("pp.process.update", "id=" + JsonStr(p["id"]), back);
    view["add_zone_url"] = FormLink("pp.zone.create", "process_id=" + JsonStr(p["id"]), back);
  }
  if (JsonStr(p["phase"]) == "registro")
    view["propose_url"] = FormLink("pp.proposal.create", "process_id=" + JsonStr(p["id"]), back);
  if (located) {
    // The same filters, as GeoJSON: the map shows what the list shows.
    json::object map = web::MapView("mapa-proyectos", ctx.T("pp_map_label"));
    map["src"] = "/presupuesto/" + JsonStr(p["slug"]) + "/proyectos.geojson" +
                 (ctx.req.query.empty() ? "" : "?" + ctx.req.query);
    map["cluster_label"] = ctx.T("pp_projects_word");
    view["map"] = std::move(map);
    view["uses_map"] = true;
  }
  ctx.cacheable = true;
  return ctx.Page("pp_process", std::move(view), JsonStr(p["title"]));
}

http::Response ProjectPage(RequestContext& ctx) {
  auto r = ctx.Run("pp.project.show", json::object{{"id", ctx.Param("id")}});
  if (!r.ok()) return ctx.Error(r.status());
  json::object& p = r->as_object();
  DecorateProject(ctx, p);
  std::string l = ctx.lang;
  // The status timeline, from registration to execution.
  json::array timeline;
  auto add = [&](std::string date, std::string label, std::string detail) {
    timeline.push_back(json::object{{"date", text::FormatDate(date, l)},
                                    {"label", std::move(label)},
                                    {"detail", std::move(detail)}});
  };
  if (!JsonStr(p["submitted_on"]).empty())
    add(JsonStr(p["submitted_on"]), ctx.T("pp.tl.submitted"), "");
  const json::object& rev = p["review"].as_object();
  if (!JsonStr(rev.at("reviewed_on")).empty())
    add(JsonStr(rev.at("reviewed_on")), ctx.T("pp.status." + JsonStr(p["status"])),
        p["official_cost"].is_null()
            ? ""
            : ctx.T("pp_official_cost") + ": " + text::FormatMxn(JsonNum(p["official_cost"]), l));
  std::string phase = JsonStr(p["phase"]);
  if (JsonStr(p["status"]) == "viable") {
    add(JsonStr(p["voting_from"]), ctx.T("pp.phase.votacion"),
        text::FormatDate(JsonStr(p["voting_from"]), l) + " – " +
            text::FormatDate(JsonStr(p["voting_to"]), l));
    if (p["results_published"].as_bool())
      add(JsonStr(p["voting_to"]), ctx.T(p["selected"].as_bool() ? "pp.tl.won" : "pp.tl.lost"), "");
  }
  json::array execution;
  for (auto& ev : p["execution"].as_array()) {
    json::object e = ev.as_object();
    e["date"] = text::FormatDate(JsonStr(e["reported_on"]), l);
    e["physical_label"] = text::FormatPercent(JsonNum(e["physical_pct"]), 0);
    e["financial_label"] = text::FormatPercent(JsonNum(e["financial_pct"]), 0);
    e["physical_width"] = static_cast<int64_t>(JsonNum(e["physical_pct"]));
    e["financial_width"] = static_cast<int64_t>(JsonNum(e["financial_pct"]));
    add(JsonStr(e["reported_on"]), JsonStr(e["milestone"]),
        ctx.T("pp_physical") + " " + JsonStr(e["physical_label"]));
    execution.push_back(std::move(e));
  }
  json::array review;
  for (const char* k : {"technical", "legal", "financial"}) {
    const json::object& x = rev.at(k).as_object();
    if (x.at("ok").is_null()) continue;
    review.push_back(json::object{{"aspect", ctx.T(std::string("pp.review.") + k)},
                                  {"ok", x.at("ok").as_bool()},
                                  {"reason", x.at("reason")}});
  }
  // What the caller may do here, as the actions decide it (ProposalEditor, PhotoAdder in
  // pp_model.cc); the links only spare people a refusal.
  std::string status = JsonStr(p["status"]);
  bool mine = p["mine"].is_bool() && p["mine"].as_bool();
  bool staff = IsStaff(ctx);
  bool before_voting = phase == "registro" || phase == "revision";
  std::string id = JsonStr(p["id"]);
  std::string back = "/presupuesto/proyectos/" + id;
  json::array actions;
  auto link = [&](const char* label, std::string url) {
    actions.push_back(json::object{{"label", ctx.T(label)}, {"url", std::move(url)}});
  };
  if ((mine && status == "borrador") || (staff && status == "registrado" && before_voting))
    link("pp_edit_proposal", FormLink("pp.proposal.update", "id=" + id, back));
  if ((mine && status == "borrador") || (staff && status != "borrador"))
    link("pp_add_photo", FormLink("pp.photo.add", "project_id=" + id, back));
  if (staff && status == "registrado" && before_voting)
    link("action.pp.proposal.review", FormLink("pp.proposal.review", "id=" + id, back));
  if (staff && p["selected"].is_bool() && p["selected"].as_bool())
    link("action.pp.execution.report", FormLink("pp.execution.report", "project_id=" + id, back));
  json::array gallery;
  for (auto& fv : p["photos"].as_array()) {
    json::object f = fv.as_object();
    f["stage_label"] = ctx.T("pp.photo_stage." + JsonStr(f["stage"]));
    f["date"] = text::FormatDate(JsonStr(f["added_on"]), l);
    // Photos sent with a proposal before captions were asked for have none.
    if (JsonStr(f["caption"]).empty())
      f["caption"] = ctx.T("pp_photo_of") + " " + JsonStr(p["title"]);
    gallery.push_back(std::move(f));
  }
  bool can_submit = mine && status == "borrador" && phase == "registro";
  json::object view{{"p", p},
                    {"actions", actions},
                    {"can_submit", can_submit},
                    {"submit_label", ctx.T("action.pp.proposal.submit")},
                    {"has_actions", can_submit || !actions.empty()},
                    {"draft", status == "borrador"},
                    {"has_gallery", !gallery.empty()},
                    {"gallery", gallery},
                    {"done", DoneMessage(ctx)},
                    {"timeline", timeline},
                    {"has_review", !review.empty()},
                    {"review", review},
                    {"execution", execution},
                    {"latest", execution.empty() ? json::value(nullptr) : execution.back()},
                    {"has_votes", p.contains("votes")},
                    {"estimated_label", text::FormatMxn(JsonNum(p["estimated_cost"]), l)}};
  if (p.contains("map_url")) {
    // One point, embedded in the page: no second request for a single marker.
    json::object map = web::MapView("mapa-proyecto", ctx.T("pp_map_project_label"));
    map["data_id"] = "mapa-proyecto-datos";
    map["json"] = web::JsonForScript(json::array{json::object{
        {"lat", p["lat"]}, {"lng", p["lng"]}, {"title", p["title"]}, {"detail", PopupDetail(p)}}});
    map["zoom"] = "16";
    view["map"] = std::move(map);
    view["uses_map"] = true;
  }
  ctx.cacheable = true;
  return ctx.Page("pp_project", std::move(view), JsonStr(p["title"]));
}

// --- voting ------------------------------------------------------------------------------------

http::Response VotePage(RequestContext& ctx, const json::object& posted, const Status& error) {
  std::string key = ctx.Param("proceso");
  auto r = ctx.Run("pp.process.show", json::object{{"process", key}});
  if (!r.ok()) return ctx.Error(r.status());
  json::object& p = r->as_object();
  std::string zone = ctx.Query("zona");
  if (const json::value* z = posted.if_contains("zone_id")) zone = JsonStr(*z);
  json::array zones;
  json::object chosen;
  for (auto& zv : p["zones"].as_array()) {
    json::object z = zv.as_object();
    z["selected"] = JsonStr(z["id"]) == zone;
    z["budget_label"] = text::FormatMxn(JsonNum(z["budget"]), ctx.lang);
    z["rule_label"] = ctx.T("pp.rule." + JsonStr(z["vote_rule"]));
    if (z["selected"].as_bool()) chosen = z;
    zones.push_back(std::move(z));
  }
  json::array ballot;
  if (!chosen.empty()) {
    auto list = ctx.Run(
        "pp.project.list",
        json::object{{"process", key}, {"zone_id", JsonStr(chosen["id"])}, {"status", "viable"}});
    if (!list.ok()) return ctx.Error(list.status());
    for (auto& v : list->as_array()) {
      json::object o = v.as_object();
      DecorateProject(ctx, o);
      o["points"] = JsonStr(chosen["vote_rule"]) == "puntos";
      std::string field = "p_" + JsonStr(o["id"]);
      if (const json::value* pv = posted.if_contains(field)) o["value"] = JsonStr(*pv);
      ballot.push_back(std::move(o));
    }
  }
  json::array errors;
  for (const FieldError& f : error.fields()) errors.push_back(json::string(f.message));
  bool staff = ctx.who.role == Role::kEnlace || ctx.who.role == Role::kSecretariado ||
               ctx.who.role == Role::kAdmin;
  json::object view{{"p", p},
                    {"zones", zones},
                    {"zone", chosen.empty() ? json::value(nullptr) : json::value(chosen)},
                    {"ballot", ballot},
                    {"open", JsonStr(p["phase"]) == "votacion"},
                    {"logged_in", ctx.who.authenticated()},
                    {"booth", staff},
                    {"csrf", ctx.FormToken()},
                    {"error", error.ok() ? "" : error.message()},
                    {"errors", errors},
                    {"rule_points", JsonStr(chosen["vote_rule"]) == "puntos"},
                    {"rule_knapsack", JsonStr(chosen["vote_rule"]) == "mochila"},
                    {"rule_approval", JsonStr(chosen["vote_rule"]) == "aprobacion"}};
  return ctx.Page("pp_vote", std::move(view), ctx.T("pp_vote_title") + " · " + JsonStr(p["title"]),
                  error.ok() ? 200 : error.HttpStatus());
}

http::Response VoteForm(RequestContext& ctx) { return VotePage(ctx, {}, Status::Ok()); }

// The form names each project p_<id> (a checkbox, or a number of points); the action takes the
// ballot as "id,id" or "id:points,id:points".
http::Response VotePost(RequestContext& ctx) {
  auto in = ctx.ReadInput();
  if (!in.ok()) return ctx.Error(in.status());
  json::object& form = *in;
  auto proc = ctx.Run("pp.process.show", json::object{{"process", ctx.Param("proceso")}});
  if (!proc.ok()) return ctx.Error(proc.status());
  std::string projects;
  if (const json::value* direct = form.if_contains("projects")) projects = JsonStr(*direct);
  for (auto& kv : form) {
    std::string_view k = kv.key();
    if (!k.starts_with("p_")) continue;
    std::string v = JsonStr(kv.value());
    if (v.empty() || v == "0") continue;
    std::string id(k.substr(2));
    projects += (projects.empty() ? "" : ",") + id + (v == "on" || v == "1" ? "" : ":" + v);
  }
  json::object ballot{{"process_id", proc->at("id")},
                      {"zone_id", JsonStr(form["zone_id"])},
                      {"projects", projects},
                      {"voter_id_type", JsonStr(form["voter_id_type"])},
                      {"voter_id", JsonStr(form["voter_id"])},
                      {"privacy_accepted", JsonStr(form["privacy_accepted"])}};
  bool staff = ctx.who.role == Role::kEnlace || ctx.who.role == Role::kSecretariado ||
               ctx.who.role == Role::kAdmin;
  auto r = ctx.Run(staff ? "pp.vote.booth" : "pp.vote.cast", ballot);
  if (!r.ok()) {
    if (ctx.IsApi()) return ctx.Error(r.status());
    if (r.status().code() == StatusCode::kUnauthenticated)
      return ctx.Redirect("/entrar?next=/presupuesto/" + ctx.Param("proceso") + "/votar");
    return VotePage(ctx, form, r.status());
  }
  json::object view = r->as_object();
  view["process"] = proc->at("title");
  view["slug"] = proc->at("slug");
  view["booth"] = staff;
  return ctx.Page("pp_receipt", std::move(view), ctx.T("pp_receipt_title"));
}

http::Response ReceiptPage(RequestContext& ctx) {
  std::string code = ctx.Query("codigo");
  json::object view{{"code", code}};
  if (!code.empty()) {
    auto r = ctx.Run("pp.receipt.check", json::object{{"code", code}});
    if (r.ok()) {
      json::object f = r->as_object();
      f["date"] = text::FormatDate(JsonStr(f["cast_on"]), ctx.lang);
      f["channel_label"] = ctx.T("pp.channel." + JsonStr(f["channel"]));
      view["found"] = std::move(f);
    } else {
      view["not_found"] = r.status().message();
    }
  }
  return ctx.Page("pp_check", std::move(view), ctx.T("pp_check_title"));
}

// --- results and downloads -----------------------------------------------------------------------

http::Response ResultsPage(RequestContext& ctx) {
  auto r = ctx.Run("pp.results",
                   json::object{{"process", ctx.Param("proceso")}, {"zone_id", ctx.Param("zona")}});
  if (!r.ok()) return ctx.Error(r.status());
  json::object& res = r->as_object();
  std::string l = ctx.lang;
  bool mes = JsonStr(res["rule"]) == "mes";
  if (res["available"].as_bool()) {
    for (auto& pv : res["projects"].as_array()) {
      json::object& p = pv.as_object();
      p["cost_label"] = text::FormatMxn(JsonNum(p["cost"]), l);
      p["left_label"] = text::FormatMxn(JsonNum(p["budget_left"]), l);
      p["payment_label"] = text::FormatMxn(JsonNum(p["max_payment"]), l);
      p["money_label"] = text::FormatMxn(JsonNum(p["supporters_money"]), l);
      p["mes"] = mes;
      int64_t pos = p["position"].as_int64();
      p["position_label"] = pos ? std::to_string(pos) : "";
    }
    res["budget_label"] = text::FormatMxn(JsonNum(res["budget"]), l);
    res["total_label"] = text::FormatMxn(JsonNum(res["total_cost"]), l);
  }
  res["mes"] = mes;
  res["rule_label"] = ctx.T(mes ? "pp.counting.mes" : "pp.counting.greedy");
  ctx.cacheable = true;
  return ctx.Page("pp_results", std::move(res),
                  ctx.T("pp_results_title") + " · " + JsonStr(res["zone"].at("name")));
}

http::Response ZoneFile(RequestContext& ctx) {
  std::string file = ctx.Param("file");
  size_t dot = file.rfind('.');
  if (dot == std::string::npos) return ctx.Error(Status::NotFound("Archivo no disponible"));
  std::string zone = file.substr(0, dot), ext = file.substr(dot + 1);
  if (ext != "pb" && ext != "csv") return ctx.Error(Status::NotFound("Formato no disponible"));
  auto r = ctx.Run("pp.ballots.export",
                   json::object{{"process", ctx.Param("proceso")}, {"zone_id", zone}});
  if (!r.ok()) return ctx.Error(r.status());
  std::string pb = JsonStr(r->at("pb"));
  std::string name = JsonStr(r->at("slug")) + "-zona-" + zone + "." + ext;
  ctx.cacheable = true;
  if (ext == "pb") return ctx.Download(pb, "text/plain; charset=utf-8", name);
  // CSV: one row per ballot and project (boleta, proyecto, puntos).
  auto inst = ParsePb(pb);
  if (!inst.ok()) return ctx.Error(Status::Internal(inst.status().message()));
  exporter::Table t;
  t.headers = {"boleta", "proyecto", "costo", "puntos"};
  for (const PbVote& v : inst->votes)
    for (size_t i = 0; i < v.projects.size(); ++i) {
      const PbProject& p = inst->projects[v.projects[i]];
      t.rows.push_back({std::stoll(v.voter_id), std::stoll(p.id), static_cast<double>(p.cost),
                        v.points.empty() ? 1.0 : static_cast<double>(v.points[i])});
    }
  return ctx.Download(exporter::ToCsv(t), "text/csv; charset=utf-8", name);
}

// The process's projects with a location as a GeoJSON FeatureCollection (RFC 7946), filtered
// like the page: open data for anyone, and what the page's map draws.
http::Response ProjectsGeoJson(RequestContext& ctx) {
  std::string key = ctx.Param("proceso");
  auto list = FilteredProjects(ctx, key);
  if (!list.ok()) return ctx.Error(list.status());
  json::array features;
  for (auto& v : list->as_array()) {
    json::object o = v.as_object();
    if (o["lat"].is_null() || o["lng"].is_null()) continue;
    DecorateProject(ctx, o);
    int64_t id = o["id"].as_int64();
    features.push_back(json::object{
        {"type", "Feature"},
        {"id", id},
        {"geometry",
         {{"type", "Point"}, {"coordinates", json::array{JsonNum(o["lng"]), JsonNum(o["lat"])}}}},
        {"properties",
         {{"id", id},
          {"title", o["title"]},
          // Relative, so the link works behind any proxy; readers resolve it against this URL.
          {"url", "/presupuesto/proyectos/" + std::to_string(id)},
          {"zone", o["zone"].at("name")},
          {"category", o["category"].is_null() ? json::value(nullptr) : o["category"].at("name")},
          {"status", o["status_key"]},
          {"cost", o["cost"]},
          {"detail", PopupDetail(o)}}}});
  }
  http::Response r =
      ctx.Json(json::object{{"type", "FeatureCollection"}, {"features", std::move(features)}});
  r.content_type = "application/geo+json";
  ctx.cacheable = true;
  return r;
}

http::Response Photo(RequestContext& ctx) {
  auto r = ctx.Run("pp.photo.show", json::object{{"id", ctx.Param("id")}});
  if (!r.ok()) return ctx.Error(r.status());
  const json::object& f = r->as_object();
  http::Response resp =
      ctx.Download(JsonStr(f.at("data")), JsonStr(f.at("content_type")), JsonStr(f.at("name")));
  // Photos are shown inline on the project page; only image types were accepted on upload.
  for (auto& [k, v] : resp.headers)
    if (k == "Content-Disposition") v = "inline";
  resp.SetHeader("ETag", "\"" + JsonStr(f.at("sha256")) + "\"");
  return resp;
}

// --- JSON API -----------------------------------------------------------------------------------

http::Response ApiProcesses(RequestContext& ctx) {
  auto r = ctx.Run("pp.process.list", json::object{});
  if (!r.ok()) return ctx.Error(r.status());
  ctx.cacheable = true;
  return ctx.Json(json::object{{"processes", *r}});
}

http::Response ApiProcess(RequestContext& ctx) {
  auto r = ctx.Run("pp.process.show", json::object{{"process", ctx.Param("proceso")}});
  if (!r.ok()) return ctx.Error(r.status());
  auto list = ctx.Run("pp.project.list", json::object{{"process", ctx.Param("proceso")}});
  if (!list.ok()) return ctx.Error(list.status());
  r->as_object()["projects"] = *list;
  ctx.cacheable = true;
  return ctx.Json(*r);
}

http::Response ApiProject(RequestContext& ctx) {
  auto r = ctx.Run("pp.project.show", json::object{{"id", ctx.Param("id")}});
  if (!r.ok()) return ctx.Error(r.status());
  ctx.cacheable = true;
  return ctx.Json(*r);
}

http::Response ApiResults(RequestContext& ctx) {
  auto r = ctx.Run("pp.results",
                   json::object{{"process", ctx.Param("proceso")}, {"zone_id", ctx.Param("zona")}});
  if (!r.ok()) return ctx.Error(r.status());
  ctx.cacheable = true;
  return ctx.Json(*r);
}

}  // namespace

// Open by default: every process's submitted projects, with the feasibility decision, the
// official cost and whether they won, as a DatA-LEÓN dataset per process.
Result<std::vector<OpenDataset>> ProjectsOpenData(db::Connection& db, const Dispatcher& d) {
  ASSIGN_OR_RETURN(json::value processes, d.Run(db, Principal::System(), "pp.process.list", {}));
  std::vector<OpenDataset> out;
  for (const auto& pv : processes.as_array()) {
    std::string slug = JsonStr(pv.at("slug"));
    ASSIGN_OR_RETURN(json::value list,
                     d.Run(db, Principal::System(), "pp.project.list", {{"process", slug}}));
    exporter::Table t;
    t.headers = {"proyecto_id", "zona",           "categoria",      "titulo",
                 "colonia",     "estado",         "costo_estimado", "costo_oficial",
                 "ganador",     "viable_tecnico", "viable_legal",   "viable_financiero",
                 "latitud",     "longitud",       "ejemplo"};
    for (const auto& v : list.as_array()) {
      const json::object& p = v.as_object();
      auto ok = [&](const char* k) -> exporter::Cell {
        const json::value& x = p.at("review").at(k).at("ok");
        if (x.is_null()) return {};
        return x.as_bool() ? "si" : "no";
      };
      auto num = [&](const char* k) -> exporter::Cell {
        const json::value& x = p.at(k);
        if (x.is_null()) return {};
        return JsonNum(x);
      };
      t.rows.push_back({p.at("id").as_int64(), JsonStr(p.at("zone").at("name")),
                        p.at("category").is_object() ? JsonStr(p.at("category").at("name")) : "",
                        JsonStr(p.at("title")), JsonStr(p.at("colonia")), JsonStr(p.at("status")),
                        num("estimated_cost"), num("official_cost"),
                        p.at("selected").as_bool() ? "si" : "no", ok("technical"), ok("legal"),
                        ok("financial"), num("lat"), num("lng"),
                        p.at("example").as_bool() ? "si" : "no"});
    }
    OpenDataset ds;
    ds.name = "presupuesto-participativo-" + slug;
    ds.title = "Presupuesto participativo: proyectos de " + JsonStr(pv.at("title"));
    ds.notes = "Proyectos registrados por la ciudadanía en " + JsonStr(pv.at("title")) +
               ", con el dictamen de viabilidad, el costo oficial y los ganadores. Las boletas "
               "anónimas para recontar están en [/presupuesto/" +
               slug + "](/presupuesto/" + slug + "). Publicado y actualizado por Abierto.";
    ds.organization = "presupuesto-participativo";
    ds.organization_title = "Dirección de Presupuesto Participativo y Delegaciones";
    ds.tags = {"presupuesto participativo", "proyectos", "delegaciones"};
    ds.groups = {"participacion-ciudadana", "finanzas-publicas"};
    ds.frequency = "continua";
    ds.resources.push_back({"Proyectos",
                            "Una fila por proyecto registrado (no incluye borradores).",
                            slug + "-proyectos.csv", exporter::ToCsv(t)});
    out.push_back(std::move(ds));
  }
  return out;
}

void RegisterViews(Registry& reg) {
  reg.AddOpenData(ProjectsOpenData);
  // Fixed paths first: routes match in registration order.
  reg.AddRoute({"GET", "/presupuesto", Home});
  reg.AddRoute({"GET", "/presupuesto/recibo", ReceiptPage});
  reg.AddRoute({"GET", "/presupuesto/proyectos/{id}", ProjectPage});
  reg.AddRoute({"GET", "/presupuesto/fotos/{id}", Photo});
  reg.AddRoute({"GET", "/presupuesto/{proceso}", ProcessPage});
  reg.AddRoute({"GET", "/presupuesto/{proceso}/proyectos.geojson", ProjectsGeoJson});
  reg.AddRoute({"GET", "/presupuesto/{proceso}/votar", VoteForm});
  reg.AddRoute({"POST", "/presupuesto/{proceso}/votar", VotePost});
  reg.AddRoute({"GET", "/presupuesto/{proceso}/resultados/{zona}", ResultsPage});
  reg.AddRoute({"GET", "/presupuesto/{proceso}/{file}", ZoneFile});
  reg.AddRoute({"GET", "/api/v1/presupuesto", ApiProcesses});
  reg.AddRoute({"GET", "/api/v1/presupuesto/proyectos/{id}", ApiProject});
  reg.AddRoute({"GET", "/api/v1/presupuesto/{proceso}", ApiProcess});
  reg.AddRoute({"GET", "/api/v1/presupuesto/{proceso}/resultados/{zona}", ApiResults});
}

}  // namespace abierto::presupuesto
