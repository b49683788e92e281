// The CKAN Action API v3 at /api/3/action/{name} (and CKAN's unversioned /api/action/{name}),
// so that CKAN clients — ckanapi, harvesters, frictionless, ckanr — read and publish DatA-LEÓN
// unchanged.
//
// Every CKAN action here is a thin mapping: it reads the parameters as CKAN does (the query
// string of a GET, or a JSON object, form or multipart body of a POST), turns them into the
// input of datos.* actions run through the dispatcher as the caller, and wraps the result in
// CKAN's envelope {"help", "success", "result"}. Permissions, validation and the audit log are
// therefore the actions' own; nothing here touches the database.
//
// Behaviour copied from CKAN 2.10 (ckan/views/api.py):
//   - an unknown action is 400 with the JSON string "Bad request - Action name not known: x";
//     a GET of an action with side effects is 400 "Bad request - JSON Error: ...";
//   - errors are {"help", "success": false, "error": {"__type", "message", ...}}: "Not Found
//     Error" 404, "Authorization Error" 403 (also for a missing or bad token), "Validation
//     Error" 409 with each field's messages as a list (field names as CKAN calls them);
//   - the token goes in "Authorization: <token>" (CKAN), "X-CKAN-API-Key: <token>" (older CKAN
//     clients) or "Authorization: Bearer <token>";
//     a token request needs no CSRF token, a browser session's write does (X-CSRF-Token);
//   - package_search rows above 1000 and datastore_search limits above 32000 are lowered to
//     the maximum, as CKAN does with ckan.search.rows_max / ckan.datastore.search.rows_max.
// Resource URLs are made absolute with the configured site URL, and the internal "_id" of the
// datos.* results is removed, in one place (Clean).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "abierto/accounts.h"
#include "abierto/json.h"
#include "abierto/text.h"
#include "abierto/web.h"
#include "modules/datos/catalog.h"

namespace abierto::datos {

namespace json = boost::json;
using web::RequestContext;

namespace {

// ---- parameters ---------------------------------------------------------------------------------

// A CKAN parameter as the text an action field takes: strings as they are, numbers and
// booleans written out, lists and objects as JSON. nullopt when absent or null.
std::optional<std::string> Text(const json::object& p, std::string_view key) {
  const json::value* v = p.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_bool()) return std::string(v->get_bool() ? "true" : "false");
  return JsonText(*v);
}

// CKAN's booleans: true/false in any case, 1/0, yes/no; `fallback` when absent.
bool Bool(const json::object& p, std::string_view key, bool fallback) {
  const json::value* v = p.if_contains(key);
  if (!v || v->is_null()) return fallback;
  if (v->is_bool()) return v->get_bool();
  std::string t = text::Fold(Text(p, key).value_or(""));
  if (t == "true" || t == "1" || t == "yes" || t == "on" || t == "si") return true;
  if (t == "false" || t == "0" || t == "no" || t == "off") return false;
  return fallback;
}

void Copy(const json::object& p, std::string_view from, json::object& in, std::string_view to) {
  if (auto t = Text(p, from)) in[to] = *t;
}

// An integer parameter lowered to `max` when it is larger (CKAN's rows_max); other values,
// valid or not, go to the action's validation as they are.
void CopyCapped(const json::object& p, std::string_view from, json::object& in, std::string_view to,
                int64_t max) {
  auto t = Text(p, from);
  if (!t) return;
  char* end = nullptr;
  long long n = std::strtoll(t->c_str(), &end, 10);
  if (end && *end == '\0' && !t->empty() && n > max)
    in[to] = max;
  else
    in[to] = *t;
}

// Names of a list of CKAN dicts ([{"name": ...}] or plain strings) or a comma-separated string.
std::string Names(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  std::string out;
  if (!v.is_array()) return out;
  for (const json::value& x : v.get_array()) {
    std::string name;
    if (x.is_string()) {
      name = std::string(x.get_string());
    } else if (x.is_object()) {
      for (const char* k : {"name", "id", "title"})
        if (const json::value* n = x.get_object().if_contains(k); n && n->is_string()) {
          name = std::string(n->get_string());
          break;
        }
    }
    if (!name.empty()) out += (out.empty() ? "" : ", ") + name;
  }
  return out;
}

// Our field names as CKAN clients know them, for validation errors.
std::string CkanField(const std::string& f) {
  static const std::map<std::string, std::string> k = {{"organization_id", "owner_org"},
                                                       {"link", "url"},
                                                       {"file", "upload"},
                                                       {"contact_name", "maintainer"},
                                                       {"contact_email", "maintainer_email"},
                                                       {"dataset_id", "package_id"},
                                                       {"spatial", "spatial_coverage"},
                                                       {"facet_field", "facet.field"},
                                                       {"facet_limit", "facet.limit"}};
  auto it = k.find(f);
  return it == k.end() ? f : it->second;
}

// ---- responses ----------------------------------------------------------------------------------

std::string SiteUrl(const RequestContext& ctx) {
  std::string base = ctx.app.config().site_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

std::string HelpUrl(const RequestContext& ctx, std::string_view action) {
  return SiteUrl(ctx) + "/api/3/action/help_show?name=" + text::UrlEncode(action);
}

http::Response JsonResponse(int status, const json::value& v) {
  http::Response r;
  r.status = status;
  r.content_type = "application/json;charset=utf-8";
  r.body = JsonText(v);
  return r;
}

// CKAN's 400: the body is a bare JSON string.
http::Response BadRequest(std::string message) {
  return JsonResponse(400, json::value("Bad request - " + message));
}

http::Response Failure(RequestContext& ctx, std::string_view action, const Status& s) {
  json::object err;
  int status = 500;
  switch (s.code()) {
    case StatusCode::kNotFound:
      status = 404;
      err["__type"] = "Not Found Error";
      err["message"] = "Not found: " + s.message();
      break;
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
      status = 403;
      err["__type"] = "Authorization Error";
      err["message"] = "Access denied: " + s.message();
      break;
    case StatusCode::kInvalidArgument:
    case StatusCode::kConflict:
    case StatusCode::kTooLarge:
      status = s.code() == StatusCode::kTooLarge ? 413 : 409;
      err["__type"] = "Validation Error";
      err["message"] = s.message();
      for (const FieldError& f : s.fields()) {
        json::value& list = err[CkanField(f.field)];
        if (!list.is_array()) list = json::array();
        list.as_array().push_back(json::value(f.message));
      }
      break;
    case StatusCode::kTooManyRequests:
      status = 429;
      err["__type"] = "Too Many Requests";
      err["message"] = s.message();
      break;
    case StatusCode::kUnavailable:
      status = 503;
      err["__type"] = "Service Unavailable";
      err["message"] = s.message();
      break;
    default:
      fprintf(stderr, "internal (CKAN API %.*s): %s\n", static_cast<int>(action.size()),
              action.data(), s.ToString().c_str());
      err["__type"] = "Internal Server Error";
      err["message"] = "Internal Server Error";
      break;
  }
  return JsonResponse(
      status,
      json::object{{"help", HelpUrl(ctx, action)}, {"success", false}, {"error", std::move(err)}});
}

// The one place where datos.* results become CKAN results: URLs under "url" keys become
// absolute, and the "_id" (the internal row id some actions add for the panel) goes.
void Clean(json::value& v, const std::string& site) {
  if (json::object* o = v.if_object()) {
    o->erase("_id");
    for (auto& kv : *o) {
      if (kv.key() == "url" && kv.value().is_string()) {
        std::string_view u = kv.value().get_string();
        if (u.size() > 1 && u[0] == '/' && u[1] != '/')
          kv.value() = json::value(site + std::string(u));
      } else if (kv.key() != "records") {  // datastore rows keep their own "_id"
        Clean(kv.value(), site);
      }
    }
  } else if (json::array* a = v.if_array()) {
    for (json::value& x : *a) Clean(x, site);
  }
}

// ---- one call
// -------------------------------------------------------------------------------------

struct Call {
  RequestContext& ctx;
  std::string action;  // the CKAN name
  json::object p;      // its parameters

  Result<json::value> Run(std::string_view name, const json::object& in) {
    return ctx.Run(name, in);
  }
};

// ---- reads ------------------------------------------------------------------------------------

Result<json::value> PackageShowDict(Call& c, const std::string& id) {
  ASSIGN_OR_RETURN(json::value p, c.Run("datos.package.show", {{"id", id}}));
  return p;
}

Result<json::value> PackageList(Call& c) {
  json::object in;
  Copy(c.p, "limit", in, "limit");
  Copy(c.p, "offset", in, "offset");
  return c.Run("datos.package.list", in);
}

Result<json::value> PackageShow(Call& c) {
  json::object in;
  Copy(c.p, "id", in, "id");
  if (!in.contains("id")) Copy(c.p, "name", in, "id");
  return c.Run("datos.package.show", in);
}

Result<json::value> PackageSearch(Call& c) {
  json::object in;
  for (const char* k : {"q", "fq", "sort"}) Copy(c.p, k, in, k);
  CopyCapped(c.p, "rows", in, "rows", 1000);
  Copy(c.p, "start", in, "start");
  // CKAN computes facets only for the fields asked for in facet.field.
  if (Bool(c.p, "facet", true) && c.p.contains("facet.field"))
    Copy(c.p, "facet.field", in, "facet_field");
  else
    in["facet_field"] = "[]";
  Copy(c.p, "facet.limit", in, "facet_limit");
  in["include_drafts"] = Bool(c.p, "include_drafts", false);
  return c.Run("datos.package.search", in);
}

// organization_show and group_show answer with CKAN's whole group dict.
void CompleteGroupDict(json::value& v) {
  if (!v.is_object()) return;
  json::object& o = v.as_object();
  for (const char* k : {"users", "extras", "groups", "tags"})
    if (!o.contains(k)) o[k] = json::array();
  if (!o.contains("num_followers")) o["num_followers"] = 0;
}

Result<json::value> NamedList(Call& c, bool org) {
  json::object in;
  in["all_fields"] = Bool(c.p, "all_fields", false);
  for (const char* k : {"sort", "limit", "offset"}) Copy(c.p, k, in, k);
  return c.Run(org ? "datos.organization.list" : "datos.group.list", in);
}

Result<json::value> NamedShow(Call& c, bool org) {
  json::object in;
  Copy(c.p, "id", in, "id");
  in["include_datasets"] = Bool(c.p, "include_datasets", false);
  ASSIGN_OR_RETURN(json::value o, c.Run(org ? "datos.organization.show" : "datos.group.show", in));
  CompleteGroupDict(o);
  return o;
}

Result<json::value> TagList(Call& c) {
  json::object in;
  Copy(c.p, "query", in, "query");
  in["all_fields"] = Bool(c.p, "all_fields", false);
  return c.Run("datos.tag.list", in);
}

Result<json::value> ResourceShow(Call& c) {
  json::object in;
  Copy(c.p, "id", in, "id");
  return c.Run("datos.resource.show", in);
}

Result<json::value> StatusShow(Call& c) {
  return json::object{{"site_title", "DatA-LEÓN"},
                      {"site_description",
                       "Datos abiertos del Municipio de León, Guanajuato (Abierto " ABIERTO_VERSION
                       ", compatible con la API de acciones de CKAN)"},
                      {"site_url", SiteUrl(c.ctx)},
                      {"ckan_version", "2.10.0"},
                      {"error_emails_to", nullptr},
                      {"locale_default", "es_MX"},
                      {"extensions", json::array{"datastore"}}};
}

Result<json::value> LicenseList(Call& c) {
  ASSIGN_OR_RETURN(json::value list, c.Run("datos.license.list", json::object{}));
  json::array out;
  for (const json::value& v : list.as_array()) {
    const json::object& l = v.as_object();
    bool open = l.at("is_open").as_bool();
    out.push_back(json::object{{"id", l.at("id")},
                               {"title", l.at("title")},
                               {"url", l.at("url")},
                               {"status", "active"},
                               {"maintainer", ""},
                               {"family", ""},
                               {"domain_content", true},
                               {"domain_data", true},
                               {"domain_software", false},
                               {"is_generic", false},
                               {"od_conformance", open ? "approved" : "not reviewed"},
                               {"osd_conformance", "not reviewed"},
                               {"is_okd_compliant", open},
                               {"is_osi_compliant", false}});
  }
  return out;
}

// The URL of this request with another offset, as CKAN's _links (path and query only).
std::string LinkWithOffset(const RequestContext& ctx, std::optional<int64_t> offset) {
  std::string q;
  bool replaced = false;
  for (const auto& [k, v] : ctx.query) {
    std::string value = v;
    if (k == "offset") {
      if (!offset) continue;
      value = std::to_string(*offset);
      replaced = true;
    }
    q += (q.empty() ? "" : "&") + text::UrlEncode(k) + "=" + text::UrlEncode(value);
  }
  if (offset && !replaced)
    q += (q.empty() ? "" : "&") + std::string("offset=") + std::to_string(*offset);
  return ctx.req.path + (q.empty() ? "" : "?" + q);
}

Result<json::value> DatastoreSearch(Call& c) {
  json::object in;
  Copy(c.p, "resource_id", in, "resource_id");
  if (!in.contains("resource_id")) Copy(c.p, "id", in, "resource_id");
  Copy(c.p, "filters", in, "filters");
  if (const json::value* q = c.p.if_contains("q"); q && q->is_object())
    return Status::InvalidArgument("q por columna no está disponible",
                                   {{"q", "Use un texto: busca en todas las columnas de texto"}});
  Copy(c.p, "q", in, "q");
  Copy(c.p, "fields", in, "fields");
  if (const json::value* s = c.p.if_contains("sort"); s && s->is_array()) {
    std::string sort;
    for (const json::value& x : s->get_array())
      if (x.is_string()) sort += (sort.empty() ? "" : ", ") + std::string(x.get_string());
    in["sort"] = sort;
  } else {
    Copy(c.p, "sort", in, "sort");
  }
  CopyCapped(c.p, "limit", in, "limit", 32000);
  if (!in.contains("limit")) in["limit"] = 100;
  Copy(c.p, "offset", in, "offset");
  in["include_total"] = Bool(c.p, "include_total", true);
  if (auto f = Text(c.p, "records_format"); f && *f != "objects")
    return Status::InvalidArgument("records_format no disponible",
                                   {{"records_format", "Solo se ofrece «objects»"}});
  ASSIGN_OR_RETURN(json::value r, c.Run("datos.datastore.search", in));
  json::object& o = r.as_object();
  for (const char* k : {"q", "sort"})
    if (c.p.contains(k)) o[k] = c.p.at(k);
  if (const json::value* f = c.p.if_contains("filters")) {
    boost::system::error_code ec;
    json::value parsed = f->is_string() ? json::parse(f->get_string(), ec) : *f;
    if (!ec) o["filters"] = parsed;
  }
  int64_t offset = o.at("offset").as_int64(), limit = o.at("limit").as_int64();
  o["_links"] = json::object{{"start", LinkWithOffset(c.ctx, std::nullopt)},
                             {"next", LinkWithOffset(c.ctx, offset + limit)}};
  return r;
}

Result<json::value> DatastoreSearchSql(Call& c) {
  json::object in;
  Copy(c.p, "sql", in, "sql");
  return c.Run("datos.datastore.sql", in);
}

// ---- writes -----------------------------------------------------------------------------------

// The internal id of an organization given by name or UUID (CKAN's owner_org).
Result<int64_t> OrganizationId(Call& c, const std::string& key) {
  auto o = c.Run("datos.organization.show", {{"id", key}});
  if (!o.ok() && o.status().code() == StatusCode::kNotFound)
    return Status::InvalidArgument("La organización no existe",
                                   {{"owner_org", "La organización «" + key + "» no existe"}});
  if (!o.ok()) return o.status();
  return o->at("_id").as_int64();
}

// Extras DatA-LEÓN keeps (as extras or, ckanext-scheming style, top-level keys) and the
// dataset field of each; other extras are not stored.
const std::vector<std::pair<const char*, const char*>> kExtras = {
    {"frequency", "frequency"},
    {"temporal_start", "temporal_start"},
    {"temporal_end", "temporal_end"},
    {"spatial_coverage", "spatial"}};

// A CKAN package dict as the input of datos.package.create / update.
Result<json::object> DatasetInput(Call& c, const json::object& d) {
  json::object in;
  Copy(d, "name", in, "name");
  Copy(d, "title", in, "title");
  if (!in.contains("title")) Copy(d, "name", in, "title");
  Copy(d, "notes", in, "notes");
  if (auto org = Text(d, "owner_org")) {
    ASSIGN_OR_RETURN(int64_t id, OrganizationId(c, *org));
    in["organization_id"] = id;
  }
  Copy(d, "license_id", in, "license_id");
  if (const json::value* t = d.if_contains("tags")) in["tags"] = Names(*t);
  if (const json::value* g = d.if_contains("groups")) in["groups"] = Names(*g);
  for (auto [ckan, ours] : kExtras) Copy(d, ckan, in, ours);
  if (const json::value* ex = d.if_contains("extras"); ex && ex->is_array())
    for (const json::value& e : ex->get_array()) {
      if (!e.is_object()) continue;
      auto key = Text(e.get_object(), "key");
      for (auto [ckan, ours] : kExtras)
        if (key == ckan) Copy(e.get_object(), "value", in, ours);
    }
  Copy(d, "maintainer", in, "contact_name");
  if (!in.contains("contact_name")) Copy(d, "author", in, "contact_name");
  Copy(d, "maintainer_email", in, "contact_email");
  if (!in.contains("contact_email")) Copy(d, "author_email", in, "contact_email");
  return in;
}

// A resource dict of package_create/update as the input of datos.resource.create.
json::object ResourceInput(const json::object& r, int64_t dataset_id) {
  json::object in{{"dataset_id", dataset_id}};
  Copy(r, "name", in, "name");
  Copy(r, "description", in, "description");
  Copy(r, "format", in, "format");
  if (const json::value* up = r.if_contains("upload"); up && up->is_object()) {
    in["file"] = *up;
  } else {
    Copy(r, "url", in, "link");
  }
  if (!in.contains("name")) {
    // CKAN names an unnamed resource after its file or the last part of its URL.
    std::string from;
    if (in.contains("file")) from = Text(in.at("file").as_object(), "name").value_or("");
    if (from.empty()) from = Text(in, "link").value_or("");
    while (!from.empty() && from.back() == '/') from.pop_back();
    from =
        from.substr(from.find_last_of('/') == std::string::npos ? 0 : from.find_last_of('/') + 1);
    in["name"] = from.empty() ? "Recurso" : from;
  }
  return in;
}

// What a package dict's "resources" will do, worked out and validated before anything is
// written, so that a bad resource refuses the whole package_create / package_update: new
// resources (links) are created, listed existing ones updated where they changed, others kept.
struct ResourceStep {
  std::string action;  // datos.resource.create or datos.resource.update
  json::object input;  // for a creation, without dataset_id yet
};

Result<std::vector<ResourceStep>> PlanResources(Call& c, const json::array& resources,
                                                const json::object& current) {
  std::map<std::string, const json::object*> existing;
  if (const json::value* rs = current.if_contains("resources"))
    for (const json::value& r : rs->as_array())
      existing[std::string(r.at("id").as_string())] = &r.as_object();
  std::vector<ResourceStep> steps;
  for (size_t i = 0; i < resources.size(); ++i) {
    const std::string which = "Recurso " + std::to_string(i + 1);
    if (!resources[i].is_object())
      return Status::InvalidArgument("Recurso no válido",
                                     {{"resources", which + ": debe ser un objeto JSON"}});
    const json::object& r = resources[i].get_object();
    ResourceStep step;
    if (auto id = Text(r, "id")) {
      auto it = existing.find(*id);
      if (it == existing.end())
        return Status::InvalidArgument(
            "Recurso desconocido",
            {{"resources", which + ": «" + *id + "» no es un recurso de este conjunto"}});
      const json::object& old = *it->second;
      step.action = "datos.resource.update";
      step.input["id"] = *id;
      bool changed = false;
      for (const char* k : {"name", "description", "format"}) {
        auto now = Text(r, k), before = Text(old, k);
        step.input[k] = now ? *now : before.value_or("");
        changed = changed || (now && now != before);
      }
      // Only a link's URL changes here; a file changes with a new version (resource_create
      // with an upload, or the resource page).
      bool link = !old.at("url_type").is_string();
      if (auto url = Text(r, "url"); link && url && url != Text(old, "url")) {
        step.input["link"] = *url;
        changed = true;
      }
      if (!changed) continue;
    } else {
      step.action = "datos.resource.create";
      step.input = ResourceInput(r, 1);  // a placeholder dataset id, for validation
    }
    const Action* a = c.ctx.app.registry().FindAction(step.action);
    if (!a) return Status::Internal(step.action + " no está registrada");
    auto v = c.ctx.app.dispatcher().Validate(*a, step.input);
    if (!v.ok()) {
      std::vector<FieldError> fields;
      for (const FieldError& f : v.status().fields())
        fields.push_back({"resources", which + ", " + CkanField(f.field) + ": " + f.message});
      if (fields.empty()) fields.push_back({"resources", which + ": " + v.status().message()});
      return Status::InvalidArgument(v.status().message(), std::move(fields));
    }
    step.input.erase("dataset_id");
    steps.push_back(std::move(step));
  }
  return steps;
}

Status RunResources(Call& c, std::vector<ResourceStep> steps, int64_t dataset_id) {
  for (ResourceStep& s : steps) {
    if (s.action == "datos.resource.create") s.input["dataset_id"] = dataset_id;
    RETURN_IF_ERROR(c.Run(s.action, s.input).status());
  }
  return Status::Ok();
}

// The state the dict asks for ("state", or "private" for a draft), `fallback` without either;
// refused before anything is written when it is not a state, or when publishing would find
// nothing to download (DatA-LEÓN publishes only datasets with a link or a file).
Result<std::string> WantedState(const json::object& d, const std::string& fallback,
                                const std::string& current, bool has_download) {
  std::string state = Text(d, "state").value_or(fallback);
  if (Bool(d, "private", false)) state = "draft";
  if (state != "active" && state != "draft")
    return Status::InvalidArgument("Estado no válido", {{"state", "Use active o draft"}});
  if (state == "active" && current != "active" && !has_download)
    return Status::InvalidArgument(
        "Un conjunto sin recursos no se publica",
        {{"state", "Agregue al menos un recurso (archivo o enlace) antes de publicarlo"}});
  return state;
}

Status ApplyState(Call& c, const std::string& wanted, const std::string& current,
                  int64_t dataset_id) {
  if (wanted == current) return Status::Ok();
  return c
      .Run(wanted == "active" ? "datos.package.publish" : "datos.package.unpublish",
           {{"id", dataset_id}})
      .status();
}

Result<json::value> PackageCreate(Call& c) {
  const json::object& d = c.p;
  json::array resources;
  if (const json::value* rs = d.if_contains("resources")) {
    if (!rs->is_array())
      return Status::InvalidArgument("resources debe ser una lista", {{"resources", "Una lista"}});
    resources = rs->get_array();
  }
  for (const json::value& r : resources)
    if (r.is_object() && r.get_object().contains("id"))
      return Status::InvalidArgument("Un recurso nuevo no lleva id",
                                     {{"resources", "Quite el id de los recursos nuevos"}});
  if (!Text(d, "owner_org"))
    return Status::InvalidArgument("Falta la organización", {{"owner_org", "Missing value"}});
  ASSIGN_OR_RETURN(json::object in, DatasetInput(c, d));
  ASSIGN_OR_RETURN(std::vector<ResourceStep> steps, PlanResources(c, resources, json::object{}));
  // CKAN creates active datasets; DatA-LEÓN publishes only datasets with something to
  // download, so one created without resources stays a draft until a resource arrives and a
  // package_patch {"state": "active"} publishes it.
  ASSIGN_OR_RETURN(std::string state,
                   WantedState(d, resources.empty() ? "draft" : "active", "draft", !steps.empty()));
  ASSIGN_OR_RETURN(json::value created, c.Run("datos.package.create", in));
  int64_t id = created.at("id").as_int64();
  RETURN_IF_ERROR(RunResources(c, std::move(steps), id));
  RETURN_IF_ERROR(ApplyState(c, state, "draft", id));
  return PackageShowDict(c, std::string(created.at("uid").as_string()));
}

// package_update replaces the dataset's metadata with the dict (what it leaves out is
// emptied); package_patch changes only the keys it names.
Result<json::value> PackageUpdate(Call& c, bool patch) {
  auto key = Text(c.p, "id");
  if (!key) key = Text(c.p, "name");
  if (!key) return Status::InvalidArgument("Falta el conjunto", {{"id", "Missing value"}});
  ASSIGN_OR_RETURN(json::value shown, PackageShowDict(c, *key));
  const json::object& current = shown.as_object();
  const int64_t id = current.at("_id").as_int64();
  json::object d;
  if (patch) {
    d = current;
    for (const auto& kv : c.p) d[kv.key()] = kv.value();
    // A top-level field of ours patched without extras wins over the extras it came with.
    if (!c.p.contains("extras"))
      for (auto [ckan, ours] : kExtras)
        if (c.p.contains(ckan)) d.erase("extras");
    if (!c.p.contains("resources")) d.erase("resources");
  } else {
    d = c.p;
    // Required by DatA-LEÓN, and kept when a CKAN client leaves them out.
    for (const char* k : {"owner_org", "license_id", "name"})
      if (!d.contains(k)) d[k] = current.at(k);
  }
  json::array resources;
  if (const json::value* rs = d.if_contains("resources")) {
    if (!rs->is_array())
      return Status::InvalidArgument("resources debe ser una lista", {{"resources", "Una lista"}});
    resources = rs->get_array();
  }
  ASSIGN_OR_RETURN(json::object in, DatasetInput(c, d));
  in["id"] = id;
  ASSIGN_OR_RETURN(std::vector<ResourceStep> steps, PlanResources(c, resources, current));
  const std::string state(current.at("state").as_string());
  bool has_download = std::any_of(steps.begin(), steps.end(), [](const ResourceStep& s) {
    return s.action == "datos.resource.create";
  });
  for (const json::value& r : current.at("resources").as_array())
    has_download = has_download || !Text(r.as_object(), "url").value_or("").empty();
  ASSIGN_OR_RETURN(std::string wanted, WantedState(d, state, state, has_download));
  RETURN_IF_ERROR(c.Run("datos.package.update", in).status());
  RETURN_IF_ERROR(RunResources(c, std::move(steps), id));
  RETURN_IF_ERROR(ApplyState(c, wanted, state, id));
  return PackageShowDict(c, std::string(current.at("id").as_string()));
}

Result<json::value> ResourceCreate(Call& c) {
  auto package = Text(c.p, "package_id");
  if (!package)
    return Status::InvalidArgument("Falta el conjunto de datos", {{"package_id", "Missing value"}});
  auto shown = PackageShowDict(c, *package);
  if (!shown.ok() && shown.status().code() == StatusCode::kNotFound)
    return Status::InvalidArgument("El conjunto de datos no existe",
                                   {{"package_id", "El conjunto «" + *package + "» no existe"}});
  if (!shown.ok()) return shown.status();
  json::object in = ResourceInput(c.p, shown->at("_id").as_int64());
  if (auto sheet = Text(c.p, "sheet")) in["sheet"] = *sheet;
  ASSIGN_OR_RETURN(json::value created, c.Run("datos.resource.create", in));
  return c.Run("datos.resource.show", {{"id", created.at("uid")}});
}

Result<json::value> OrganizationCreate(Call& c) {
  json::object in;
  Copy(c.p, "name", in, "name");
  Copy(c.p, "title", in, "title");
  if (!in.contains("title")) Copy(c.p, "name", in, "title");
  Copy(c.p, "description", in, "description");
  ASSIGN_OR_RETURN(json::value created, c.Run("datos.organization.create", in));
  ASSIGN_OR_RETURN(json::value o, c.Run("datos.organization.show", {{"id", created.at("uid")}}));
  CompleteGroupDict(o);
  return o;
}

Result<json::value> HelpShow(Call& c);

// ---- the table ----------------------------------------------------------------------------------

struct CkanAction {
  const char* name;
  bool writes;  // side effects: POST only
  std::function<Result<json::value>(Call&)> handle;
  const char* help;
};

const std::vector<CkanAction>& Actions() {
  static const std::vector<CkanAction> k = {
      {"package_list", false, PackageList,
       "package_list: nombres de los conjuntos publicados. Parámetros: limit, offset."},
      {"package_show", false, PackageShow, "package_show: un conjunto de datos. Parámetros: id."},
      {"package_search", false, PackageSearch,
       "package_search: busca conjuntos. Parámetros: q, fq, rows (máx. 1000), start, sort, "
       "facet.field, facet.limit, include_drafts."},
      {"organization_list", false, [](Call& c) { return NamedList(c, true); },
       "organization_list: organizaciones. Parámetros: all_fields, sort, limit, offset."},
      {"organization_show", false, [](Call& c) { return NamedShow(c, true); },
       "organization_show: una organización. Parámetros: id, include_datasets."},
      {"group_list", false, [](Call& c) { return NamedList(c, false); },
       "group_list: temas. Parámetros: all_fields, sort, limit, offset."},
      {"group_show", false, [](Call& c) { return NamedShow(c, false); },
       "group_show: un tema. Parámetros: id, include_datasets."},
      {"tag_list", false, TagList, "tag_list: palabras clave. Parámetros: query, all_fields."},
      {"resource_show", false, ResourceShow, "resource_show: un recurso. Parámetros: id."},
      {"status_show", false, StatusShow, "status_show: datos del sitio."},
      {"license_list", false, LicenseList, "license_list: licencias disponibles."},
      {"help_show", false, HelpShow, "help_show: ayuda de una acción. Parámetros: name."},
      {"datastore_search", false, DatastoreSearch,
       "datastore_search: filas de un recurso tabular. Parámetros: resource_id, filters, q, "
       "fields, sort, limit (100; máx. 32000), offset, include_total."},
      {"datastore_search_sql", false, DatastoreSearchSql,
       "datastore_search_sql: una consulta SELECT sobre los recursos publicados, nombrados por "
       "su id entre comillas dobles; 5 s y 32000 filas como máximo."},
      {"package_create", true, PackageCreate,
       "package_create: crea un conjunto (token de API). Parámetros: name, title, notes, "
       "owner_org, license_id, tags, groups, extras, maintainer, maintainer_email, resources, "
       "state, private."},
      {"package_update", true, [](Call& c) { return PackageUpdate(c, false); },
       "package_update: reemplaza los metadatos de un conjunto (token de API)."},
      {"package_patch", true, [](Call& c) { return PackageUpdate(c, true); },
       "package_patch: cambia solo los campos dados de un conjunto (token de API)."},
      {"resource_create", true, ResourceCreate,
       "resource_create: agrega un recurso (token de API). Parámetros: package_id, name, "
       "description, format, url o upload (multipart)."},
      {"organization_create", true, OrganizationCreate,
       "organization_create: crea una organización (token de API). Parámetros: name, title, "
       "description."},
  };
  return k;
}

const CkanAction* Find(std::string_view name) {
  for (const CkanAction& a : Actions())
    if (name == a.name) return &a;
  return nullptr;
}

Result<json::value> HelpShow(Call& c) {
  auto name = Text(c.p, "name");
  const CkanAction* a = name ? Find(*name) : nullptr;
  if (!a) return Status::NotFound("La acción «" + name.value_or("") + "» no existe");
  return json::value(a->help);
}

// ---- the endpoint
// --------------------------------------------------------------------------------

// CKAN takes "Authorization: <token>" or, from older clients, "X-CKAN-API-Key: <token>";
// "Bearer <token>" works too.
Status ResolveToken(RequestContext& ctx) {
  std::string_view auth = ctx.req.Header("authorization");
  if (auth.empty()) auth = ctx.req.Header("x-ckan-api-key");
  if (auth.empty()) return Status::Ok();
  if (auth.rfind("Bearer ", 0) == 0) auth.remove_prefix(7);
  while (!auth.empty() && auth.front() == ' ') auth.remove_prefix(1);
  while (!auth.empty() && auth.back() == ' ') auth.remove_suffix(1);
  auto p = accounts::LookupApiToken(ctx.db, auth);
  if (!p.ok()) return p.status();
  std::string ip = ctx.who.client_ip;
  ctx.who = std::move(*p);
  ctx.who.client_ip = ip;
  return Status::Ok();
}

// CKAN's quirk for forms: a body of one key with an empty (or "1") value is that key as JSON
// (curl -d '{"id": "x"}' sends JSON as a form).
void UnwrapFormJson(json::object& p) {
  if (p.size() != 1) return;
  const auto& kv = *p.begin();
  if (!kv.value().is_string() || (kv.value().get_string() != "" && kv.value().get_string() != "1"))
    return;
  boost::system::error_code ec;
  json::value v = json::parse(kv.key(), ec);
  if (!ec && v.is_object()) p = std::move(v.get_object());
}

// The parameters of a read: the query string, or a JSON, form or multipart body.
Result<json::object> ReadParams(RequestContext& ctx) {
  json::object p;
  std::string_view body = ctx.req.body;
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.front())))
    body.remove_prefix(1);
  if (ctx.req.method == "GET" || body.empty()) {
    for (const auto& [k, v] : ctx.query) {
      auto it = p.find(k);
      if (it == p.end()) {
        p[k] = v;
      } else {
        if (!it->value().is_array()) it->value() = json::array{it->value()};
        it->value().as_array().push_back(json::value(v));
      }
    }
    return p;
  }
  std::string_view ct = ctx.req.Header("content-type");
  if (ct.rfind("multipart/form-data", 0) == 0) return web::ParseMultipart(ct, ctx.req.body);
  if (ct.rfind("application/x-www-form-urlencoded", 0) == 0) {
    for (auto& [k, v] : http::ParseQuery(ctx.req.body)) p[k] = v;
    UnwrapFormJson(p);
    return p;
  }
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec)
    return Status::InvalidArgument("JSON Error: Error decoding JSON data. Error: " + ec.message());
  if (!v.is_object())
    return Status::InvalidArgument("Bad request data: Request data JSON decoded to " + JsonText(v) +
                                   " but it needs to be a dictionary.");
  return std::move(v.get_object());
}

http::Response Endpoint(RequestContext& ctx) {
  const std::string name = ctx.Param("name");
  const CkanAction* a = Find(name);
  if (!a) return BadRequest("Action name not known: " + name);
  if (Status s = ResolveToken(ctx); !s.ok()) return Failure(ctx, name, s);
  if (a->writes && ctx.req.method != "POST")
    return BadRequest("JSON Error: Invalid request. Please use POST method for your request");

  json::object params;
  if (a->writes) {
    // A caller without an account learns that it needs one, whatever the body says.
    if (!ctx.who.authenticated())
      return Failure(ctx, name, Status::Unauthenticated("use un token de API"));
    // ReadInput checks the CSRF token of a browser session; a token caller needs none.
    auto in = ctx.ReadInput();
    if (!in.ok() && in.status().code() == StatusCode::kInvalidArgument)
      return BadRequest("JSON Error: " + in.status().message());
    if (!in.ok()) return Failure(ctx, name, in.status());
    params = std::move(*in);
    UnwrapFormJson(params);
  } else {
    auto in = ReadParams(ctx);
    if (!in.ok()) return BadRequest(in.status().message());
    params = std::move(*in);
  }
  params.erase("callback");  // no JSONP

  Call call{ctx, name, std::move(params)};
  Result<json::value> r = a->handle(call);
  if (!r.ok()) return Failure(ctx, name, r.status());
  Clean(*r, SiteUrl(ctx));
  // Public reads are cached per data revision like the pages (only for requests without
  // credentials: the web layer checks).
  if (!a->writes && ctx.req.method == "GET") ctx.cacheable = true;
  return JsonResponse(
      200,
      json::object{{"help", HelpUrl(ctx, name)}, {"success", true}, {"result", std::move(*r)}});
}

}  // namespace

void RegisterCkanApi(Registry& reg) {
  for (const char* prefix : {"/api/3/action/{name}", "/api/action/{name}"})
    for (const char* method : {"GET", "POST"})
      reg.AddRoute({method, prefix, Endpoint, /*own_credentials=*/true});
  reg.AddRoute({"GET", "/api/3", [](RequestContext&) {
                  return JsonResponse(200, json::object{{"version", 3}});
                }});
}

}  // namespace abierto::datos
