// DatA-LEÓN's pages: the catalog with its search and facets, dataset and resource pages,
// downloads of every version, organizations and themes, the policy, dataset requests and the
// progress of an ingest. Each handler runs read actions (datos.*) and decorates their CKAN-shaped
// results for the templates.
#include <cmath>
#include <cstdio>
#include <memory>

#include "abierto/json.h"
#include "abierto/markdown.h"
#include "abierto/text.h"
#include "abierto/web.h"
#include "modules/datos/catalog.h"
#include "modules/datos/preview.h"

namespace abierto::datos {

namespace json = boost::json;
using web::RequestContext;

namespace {

std::string HumanSize(int64_t bytes) {
  char buf[32];
  if (bytes >= 1 << 20)
    snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / (1 << 20));
  else if (bytes >= 1 << 10)
    snprintf(buf, sizeof buf, "%.1f kB", static_cast<double>(bytes) / (1 << 10));
  else
    snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  return buf;
}

bool IsStaff(const RequestContext& ctx) {
  return ctx.who.role == Role::kEnlace || ctx.who.role == Role::kSecretariado ||
         ctx.who.role == Role::kAdmin;
}

// Template-friendly additions to a package dict.
void Decorate(RequestContext& ctx, json::object& p) {
  p["notes_html"] = markdown::ToHtml(JsonStr(p["notes"]));
  std::string plain = markdown::ToPlainText(JsonStr(p["notes"]));
  if (plain.size() > 240) {
    size_t cut = plain.rfind(' ', 240);
    plain = plain.substr(0, cut == std::string::npos ? 240 : cut) + "…";
  }
  p["summary"] = plain;
  p["modified_label"] = text::FormatDate(JsonStr(p["metadata_modified"]).substr(0, 10), ctx.lang);
  p["created_label"] = text::FormatDate(JsonStr(p["metadata_created"]).substr(0, 10), ctx.lang);
  p["draft"] = JsonStr(p["state"]) == "draft";
  json::array formats;
  for (auto& rv : p["resources"].as_array()) {
    json::object& r = rv.as_object();
    std::string f = JsonStr(r["format"]);
    bool seen = false;
    for (auto& x : formats) seen = seen || JsonStr(x) == f;
    if (!f.empty() && !seen) formats.push_back(json::value(f));
    if (r["size"].is_int64()) r["size_label"] = HumanSize(r["size"].as_int64());
    r["is_link"] = JsonStr(r["url_type"]) != "upload";
    r["dataset_name"] = p["name"];
  }
  p["formats"] = std::move(formats);
  if (!JsonStr(p["frequency"]).empty())
    p["frequency_label"] = ctx.T("datos.freq." + JsonStr(p["frequency"]));
}

// ---- catalog ------------------------------------------------------------------------------------

constexpr int64_t kPageSize = 20;

http::Response Home(RequestContext& ctx) {
  json::object in{{"q", ctx.Query("q")}, {"rows", kPageSize}};
  // Facet filters arrive as repeated-free query parameters, one per facet.
  std::string fq;
  json::array active;
  for (const char* f : {"organization", "groups", "tags", "res_format", "license_id"}) {
    std::string v = ctx.Query(f);
    if (v.empty()) continue;
    fq += std::string(fq.empty() ? "" : " ") + f + ":\"" + v + "\"";
    active.push_back(json::object{{"field", f}, {"value", v}});
  }
  if (!fq.empty()) in["fq"] = fq;
  std::string sort = ctx.Query("orden");
  if (sort == "nombre")
    in["sort"] = "title_string asc";
  else if (sort == "vistas")
    in["sort"] = "views_recent desc";
  else if (sort == "recientes")
    in["sort"] = "metadata_created desc";
  int64_t page = 1;
  try {
    if (!ctx.Query("pagina").empty()) page = std::max<int64_t>(1, std::stoll(ctx.Query("pagina")));
  } catch (...) {
  }
  in["start"] = (page - 1) * kPageSize;
  auto r = ctx.Run("datos.package.search", in);
  if (!r.ok()) return ctx.Error(r.status());
  json::object& res = r->as_object();
  json::array results;
  for (auto& v : res["results"].as_array()) {
    json::object p = v.as_object();
    Decorate(ctx, p);
    results.push_back(std::move(p));
  }
  // Facets: each value links to the current search with that filter added (or removed).
  auto link_with = [&](const std::string& field, const std::string& value) {
    std::string url = "/datos?";
    auto add = [&](const std::string& k, const std::string& v) {
      if (v.empty()) return;
      url += k + "=" + text::UrlEncode(v) + "&";
    };
    add("q", ctx.Query("q"));
    add("orden", sort);
    for (const char* f : {"organization", "groups", "tags", "res_format", "license_id"})
      add(f, f == field ? value : ctx.Query(f));
    url.pop_back();
    return url;
  };
  json::array facets;
  for (const char* f : {"organization", "groups", "res_format", "license_id", "tags"}) {
    json::array items;
    for (auto& iv : res["search_facets"].as_object()[f].as_object()["items"].as_array()) {
      json::object it = iv.as_object();
      bool on = ctx.Query(f) == JsonStr(it["name"]);
      it["active"] = on;
      it["url"] = link_with(f, on ? "" : JsonStr(it["name"]));
      items.push_back(std::move(it));
    }
    if (!items.empty())
      facets.push_back(json::object{{"field", f},
                                    {"title", ctx.T(std::string("datos.facet.") + f)},
                                    {"items", std::move(items)}});
  }
  int64_t count = res["count"].as_int64();
  int64_t pages = (count + kPageSize - 1) / kPageSize;
  json::object view{{"q", ctx.Query("q")},
                    {"count", count},
                    {"results", std::move(results)},
                    {"facets", std::move(facets)},
                    {"sort_" + (sort.empty() ? std::string("relevancia") : sort), true},
                    {"staff", IsStaff(ctx)}};
  if (page > 1) view["prev"] = link_with("", "") + "&pagina=" + std::to_string(page - 1);
  if (page < pages) view["next"] = link_with("", "") + "&pagina=" + std::to_string(page + 1);
  if (pages > 1) view["page_label"] = std::to_string(page) + " / " + std::to_string(pages);
  ctx.cacheable = true;
  return ctx.Page("datos_home", std::move(view), "DatA-LEÓN");
}

std::string JsonLdBlock(const json::value& v) {
  // Inside <script type="application/ld+json"> only "</" could end the element early.
  std::string s = JsonText(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<') {
      out += "\\u003c";
      continue;
    }
    out += s[i];
  }
  return out;
}

http::Response DatasetPage(RequestContext& ctx) {
  auto r = ctx.Run("datos.package.show", json::object{{"id", ctx.Param("name")}});
  if (!r.ok()) return ctx.Error(r.status());
  json::object p = r->as_object();
  // Counted on every view of the page, so the page is not cached (it is cheap to build).
  CountView(ctx.db, JsonStr(p["id"]));
  json::object jsonld = SchemaOrgDataset(p, ctx.app.config().site_url);
  Decorate(ctx, p);
  json::object view{{"p", p},
                    {"jsonld", JsonLdBlock(jsonld)},
                    {"views", p["tracking_summary"].as_object()["total"].as_int64() + 1},
                    {"downloads", p["downloads"]},
                    {"staff", IsStaff(ctx) && !p["managed"].as_bool()},
                    {"csrf", ctx.FormToken()}};
  return ctx.Page("datos_dataset", std::move(view), JsonStr(p["title"]));
}

http::Response ResourcePage(RequestContext& ctx) {
  auto r = ctx.Run("datos.resource.show", json::object{{"id", ctx.Param("rid")}});
  if (!r.ok()) return ctx.Error(r.status());
  json::object o = r->as_object();
  if (JsonStr(o["package_name"]) != ctx.Param("name"))
    return ctx.Error(Status::NotFound("El recurso no existe"));
  auto p = ctx.Run("datos.package.show", json::object{{"id", ctx.Param("name")}});
  if (!p.ok()) return ctx.Error(p.status());
  for (auto& vv : o["versions"].as_array()) {
    json::object& v = vv.as_object();
    v["size_label"] = HumanSize(v["size"].as_int64());
    v["created_label"] = text::FormatDate(JsonStr(v["created"]).substr(0, 10), ctx.lang);
    v["processing"] = JsonStr(v["status"]) == "procesando";
  }
  if (o["size"].is_int64()) o["size_label"] = HumanSize(o["size"].as_int64());
  const bool staff = IsStaff(ctx) && !p->as_object()["managed"].as_bool();
  // Only staff get a form (a new version); a token for everyone would set a cookie on a page
  // that is cached for everyone.
  json::object view{{"r", o},
                    {"dataset", p->as_object()},
                    {"staff", staff},
                    {"csrf", staff ? ctx.FormToken() : std::string()}};
  // The current version's quality report, when it went through the datastore.
  for (auto& vv : o["versions"].as_array())
    if (JsonStr(vv.as_object()["status"]) == "activa" && vv.as_object().contains("quality")) {
      json::object q = vv.as_object()["quality"].as_object();
      q["column_count"] = static_cast<int64_t>(q["columns"].as_array().size());
      q["has_warnings"] = !q["warnings"].as_array().empty();
      for (auto& cv : q["columns"].as_array()) {  // the type in the page's language
        json::object& col = cv.as_object();
        col["type_label"] = ctx.T(std::string("datos_pv_type_") + CkanType(JsonStr(col["type"])));
      }
      view["quality"] = std::move(q);
      break;
    }
  view["is_link"] = JsonStr(o["url_type"]) != "upload";
  // A GeoJSON file is drawn on a map straight from its download address.
  if (JsonStr(o["format"]) == "GeoJSON" && !JsonStr(o["url"]).empty()) {
    json::object map = web::MapView("mapa-recurso", ctx.T("datos_map_label"));
    map["src"] = o["url"];
    view["map"] = std::move(map);
    view["uses_map"] = true;
  }
  int status = 200;
  if (o["datastore_active"].is_bool() && o["datastore_active"].as_bool())
    status = AddDatastorePreview(ctx, o, view);
  ctx.cacheable = true;
  return ctx.Page("datos_resource", std::move(view), JsonStr(o["name"]), status);
}

http::Response Download(RequestContext& ctx, int64_t version) {
  auto r =
      ctx.Run("datos.resource.file", json::object{{"id", ctx.Param("rid")}, {"version", version}});
  if (!r.ok()) return ctx.Error(r.status());
  json::object& f = r->as_object();
  const std::string sha = JsonStr(f["sha256"]);
  auto chunks = BlobChunks(ctx.db, sha);
  if (!chunks.ok()) return ctx.Error(chunks.status());
  if (*chunks == 0) return ctx.Error(Status::NotFound("El archivo no existe"));
  CountDownload(ctx.db, JsonStr(f["dataset_uid"]));
  if (*chunks == 1) {  // up to 1 MiB: one body, with its Content-Length
    auto data = ReadBlobChunk(ctx.db, sha, 0);
    if (!data.ok()) return ctx.Error(data.status());
    return ctx.Download(std::move(*data), JsonStr(f["mimetype"]), JsonStr(f["filename"]));
  }
  // Larger files go out one stored chunk at a time, read on the worker that sends it: a file of
  // hundreds of MB loaded from the command line costs 1 MiB per download, not its size. Stored
  // files never change (they are addressed by their hash), so the pieces belong together.
  http::Response resp = ctx.Download("", JsonStr(f["mimetype"]), JsonStr(f["filename"]));
  resp.stream = [app = &ctx.app, sha, n = *chunks,
                 next = std::make_shared<int64_t>(0)](std::string* out) {
    auto conn = app->ThreadConnection();
    if (!conn.ok()) return http::StreamStep::kFailed;
    auto part = ReadBlobChunk(**conn, sha, (*next)++);
    if (!part.ok()) {
      fprintf(stderr, "download %s: %s\n", sha.c_str(), part.status().ToString().c_str());
      return http::StreamStep::kFailed;
    }
    *out = std::move(*part);
    return *next < n ? http::StreamStep::kMore : http::StreamStep::kDone;
  };
  return resp;
}

http::Response CurrentFile(RequestContext& ctx) { return Download(ctx, 0); }

http::Response VersionFile(RequestContext& ctx) {
  int64_t v = 0;
  try {
    v = std::stoll(ctx.Param("version"));
  } catch (...) {
  }
  if (v <= 0) return ctx.Error(Status::NotFound("Esa versión no existe"));
  return Download(ctx, v);
}

// ---- publishing ----------------------------------------------------------------------------

// Adds a resource (file or link) from the dataset page's form; a tabular file goes on to the
// progress page of its ingest.
http::Response AddResource(RequestContext& ctx) {
  auto in = ctx.ReadInput();
  if (!in.ok()) return ctx.Error(in.status());
  auto p = ctx.Run("datos.package.show", json::object{{"id", ctx.Param("name")}});
  if (!p.ok()) return ctx.Error(p.status());
  (*in)["dataset_id"] = p->as_object()["_id"];
  auto r = ctx.Run("datos.resource.create", *in);
  if (!r.ok()) return ctx.Error(r.status());
  if (r->as_object().contains("job_id"))
    return ctx.Redirect("/datos/trabajos/" + JsonStr(r->as_object()["job_id"]));
  return ctx.Redirect("/datos/conjunto/" + ctx.Param("name"));
}

http::Response NewVersion(RequestContext& ctx) {
  auto in = ctx.ReadInput();
  if (!in.ok()) return ctx.Error(in.status());
  (*in)["id"] = ctx.Param("rid");
  auto r = ctx.Run("datos.resource.upload", *in);
  if (!r.ok()) return ctx.Error(r.status());
  if (r->as_object().contains("job_id"))
    return ctx.Redirect("/datos/trabajos/" + JsonStr(r->as_object()["job_id"]));
  return ctx.Redirect("/datos/conjunto/" + ctx.Param("name") + "/recurso/" + ctx.Param("rid"));
}

http::Response JobPage(RequestContext& ctx) {
  auto r = ctx.Run("datos.job.show", json::object{{"id", ctx.Param("id")}});
  if (!r.ok()) return ctx.Error(r.status());
  json::object j = r->as_object();
  if (ctx.IsApi() || ctx.Query("formato") == "json") return ctx.Json(j);
  std::string st = JsonStr(j["status"]);
  bool running = st == "pendiente" || st == "ejecutando";
  double progress = j.contains("progress") ? j["progress"].as_double() : 0;
  json::object view{{"j", j},
                    {"running", running},
                    {"done", st == "lista"},
                    {"refused", st == "rechazada"},
                    {"percent", static_cast<int64_t>(std::lround(progress * 100))},
                    {"status_label", ctx.T("datos.job." + st)}};
  http::Response resp = ctx.Page("datos_job", std::move(view), ctx.T("datos_job_title"));
  // Without JavaScript the page reloads itself until the ingest ends; with it, the bar is
  // updated from the JSON form of this page.
  if (running) resp.SetHeader("Refresh", "3");
  return resp;
}

// ---- organizations and themes ------------------------------------------------------------

http::Response NamedList(RequestContext& ctx, bool org) {
  auto r = ctx.Run(org ? "datos.organization.list" : "datos.group.list",
                   json::object{{"all_fields", true}});
  if (!r.ok()) return ctx.Error(r.status());
  json::object view{{"items", *r},
                    {"org", org},
                    {"base", org ? "/datos/organizaciones/" : "/datos/temas/"},
                    {"heading", ctx.T(org ? "datos_orgs" : "datos_groups")}};
  ctx.cacheable = true;
  return ctx.Page("datos_list", std::move(view), ctx.T(org ? "datos_orgs" : "datos_groups"));
}

http::Response NamedPage(RequestContext& ctx, bool org) {
  auto r = ctx.Run(org ? "datos.organization.show" : "datos.group.show",
                   json::object{{"id", ctx.Param("name")}, {"include_datasets", true}});
  if (!r.ok()) return ctx.Error(r.status());
  json::object o = r->as_object();
  o["description_html"] = markdown::ToHtml(JsonStr(o["description"]));
  json::array ds;
  for (auto& v : o["packages"].as_array()) {
    json::object p = v.as_object();
    Decorate(ctx, p);
    ds.push_back(std::move(p));
  }
  o["packages"] = std::move(ds);
  json::object view{{"o", o},
                    {"org", org},
                    {"base", org ? "/datos/organizaciones" : "/datos/temas"},
                    {"heading", ctx.T(org ? "datos_orgs" : "datos_groups")}};
  ctx.cacheable = true;
  return ctx.Page("datos_named", std::move(view), JsonStr(o["title"]));
}

// ---- policy and requests --------------------------------------------------------------------

http::Response PolicyPage(RequestContext& ctx) {
  auto r = ctx.Run("datos.policy.show", json::object{});
  if (!r.ok()) return ctx.Error(r.status());
  json::object& p = r->as_object();
  json::object view{
      {"title", p["title"]},
      {"body_html", markdown::ToHtml(JsonStr(p["body"]))},
      {"updated", text::FormatDate(JsonStr(p["updated_at"]).substr(0, 10), ctx.lang)},
      {"editor", ctx.who.role == Role::kSecretariado || ctx.who.role == Role::kAdmin}};
  ctx.cacheable = true;
  return ctx.Page("datos_policy", std::move(view), JsonStr(p["title"]));
}

http::Response RequestsPage(RequestContext& ctx, const Status& error = Status::Ok(),
                            json::object values = {}) {
  auto r = ctx.Run("datos.request.list", json::object{});
  if (!r.ok()) return ctx.Error(r.status());
  json::array items;
  for (auto& v : r->as_array()) {
    json::object o = v.as_object();
    o["status_label"] = ctx.T("datos.request." + JsonStr(o["status"]));
    o["created_label"] = text::FormatDate(JsonStr(o["created_at"]).substr(0, 10), ctx.lang);
    items.push_back(std::move(o));
  }
  json::object view{{"items", std::move(items)},
                    {"csrf", ctx.who.authenticated() ? ctx.FormToken() : std::string()},
                    {"values", std::move(values)},
                    {"staff", IsStaff(ctx)},
                    {"sent", ctx.Query("enviada") == "1"}};
  if (!error.ok()) {
    view["error"] = error.message();
    json::object fe;
    for (const auto& f : error.fields()) fe[f.field] = f.message;
    view["field_errors"] = std::move(fe);
  }
  // Anonymous visitors get the list and a link to log in: the same page for all of them.
  if (error.ok() && !ctx.who.authenticated() && ctx.Query("enviada").empty()) ctx.cacheable = true;
  return ctx.Page("datos_requests", std::move(view), ctx.T("datos_requests"),
                  error.ok() ? 200 : error.HttpStatus());
}

http::Response RequestsGet(RequestContext& ctx) { return RequestsPage(ctx); }

http::Response RequestsPost(RequestContext& ctx) {
  auto in = ctx.ReadInput();
  if (!in.ok()) return ctx.Error(in.status());
  auto r = ctx.Run("datos.request.create", *in);
  if (!r.ok()) return RequestsPage(ctx, r.status(), *in);
  return ctx.Redirect("/datos/solicitudes?enviada=1");
}

}  // namespace

void RegisterCatalogViews(Registry& reg) {
  reg.AddRoute({"GET", "/datos", Home});
  reg.AddRoute({"GET", "/datos/politica", PolicyPage});
  reg.AddRoute({"GET", "/datos/solicitudes", RequestsGet});
  reg.AddRoute({"POST", "/datos/solicitudes", RequestsPost});
  reg.AddRoute(
      {"GET", "/datos/organizaciones", [](RequestContext& c) { return NamedList(c, true); }});
  reg.AddRoute({"GET", "/datos/organizaciones/{name}",
                [](RequestContext& c) { return NamedPage(c, true); }});
  reg.AddRoute({"GET", "/datos/temas", [](RequestContext& c) { return NamedList(c, false); }});
  reg.AddRoute(
      {"GET", "/datos/temas/{name}", [](RequestContext& c) { return NamedPage(c, false); }});
  reg.AddRoute({"GET", "/datos/trabajos/{id}", JobPage});
  reg.AddRoute({"GET", "/datos/conjunto/{name}", DatasetPage});
  reg.AddRoute({"POST", "/datos/conjunto/{name}/recursos", AddResource});
  reg.AddRoute({"GET", "/datos/conjunto/{name}/recurso/{rid}", ResourcePage});
  reg.AddRoute({"POST", "/datos/conjunto/{name}/recurso/{rid}/version", NewVersion});
  reg.AddRoute({"GET", "/datos/conjunto/{name}/recurso/{rid}/descarga/{file}", CurrentFile});
  reg.AddRoute(
      {"GET", "/datos/conjunto/{name}/recurso/{rid}/version/{version}/{file}", VersionFile});
}

void Register(Registry& reg) {
  RegisterCatalogActions(reg);
  RegisterCatalogViews(reg);
  RegisterDatastoreActions(reg);
  RegisterDatastoreViews(reg);
  RegisterCkanApi(reg);
  RegisterDcat(reg);
  RegisterCatalogDemo(reg);
}

}  // namespace abierto::datos
