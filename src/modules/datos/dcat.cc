// Linked-data descriptions of the catalog (see dcat.h): DCAT-US data.json, DCAT-AP JSON-LD,
// Frictionless Data Packages and the schema.org Dataset JSON-LD of dataset pages.
#include "modules/datos/dcat.h"

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "abierto/markdown.h"
#include "abierto/text.h"
#include "abierto/web.h"
#include "modules/datos/catalog.h"

namespace abierto::datos {

namespace json = boost::json;
using web::RequestContext;

// ---- pure mappings --------------------------------------------------------------------------

namespace {

struct Frequency {
  const char* ours;
  const char* iso;  // DCAT-US accrualPeriodicity
  const char* eu;   // EU frequency vocabulary code
};

// DCAT-US lists R/PT1S for "continuously updated"; it has no value for "never updated", so
// sin_actualizacion states nothing there (the field is optional) and NEVER in the EU vocabulary.
constexpr Frequency kFrequencies[] = {
    {"continua", "R/PT1S", "CONT"},       {"diaria", "R/P1D", "DAILY"},
    {"semanal", "R/P1W", "WEEKLY"},       {"mensual", "R/P1M", "MONTHLY"},
    {"trimestral", "R/P3M", "QUARTERLY"}, {"semestral", "R/P6M", "ANNUAL_2"},
    {"anual", "R/P1Y", "ANNUAL"},         {"irregular", "irregular", "IRREG"},
    {"sin_actualizacion", "", "NEVER"}};

const Frequency* FindFrequency(std::string_view f) {
  for (const Frequency& x : kFrequencies)
    if (f == x.ours) return &x;
  return nullptr;
}

}  // namespace

std::string FrequencyIso8601(std::string_view frequency) {
  const Frequency* f = FindFrequency(frequency);
  return f ? f->iso : "";
}

std::string FrequencyEuUri(std::string_view frequency) {
  const Frequency* f = FindFrequency(frequency);
  return f ? std::string("http://publications.europa.eu/resource/authority/frequency/") + f->eu
           : "";
}

std::string DataPackageName(std::string_view s) {
  std::string folded = text::Fold(s), out;
  for (char c : folded) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (c == '.' && !out.empty() && out.back() == '-')
      out.back() = '.';  // "(2020).csv" → "2020.csv", not "2020-.csv"
    else if (ok)
      out += c;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  auto edge = [](char c) { return c == '-' || c == '.'; };
  if (out.size() > 100) out.resize(100);
  while (!out.empty() && edge(out.back())) out.pop_back();
  size_t start = 0;
  while (start < out.size() && edge(out[start])) ++start;
  return out.substr(start);
}

std::string TableSchemaType(std::string_view t) {
  if (t == "integer") return "integer";
  if (t == "decimal") return "number";
  if (t == "date") return "date";
  return "string";
}

std::string OpenLicenseId(std::string_view id) {
  static const std::map<std::string, std::string, std::less<>> kIds = {
      {"cc-by-4.0", "CC-BY-4.0"},
      {"cc-by-sa-4.0", "CC-BY-SA-4.0"},
      {"cc-zero", "CC0-1.0"},
      {"odc-odbl", "ODbL-1.0"}};
  auto it = kIds.find(id);
  return it == kIds.end() ? std::string(id) : it->second;
}

std::string EncodeUri(std::string_view url) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7f ||
        std::string_view("<>\"\\^`{|}").find(static_cast<char>(c)) != std::string_view::npos) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// ---- reading package dicts -------------------------------------------------------------------

namespace {

const char kCatalogName[] = "DatA-LEÓN";
const char kMunicipality[] = "Municipio de León, Guanajuato";

std::string S(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

const json::object* Obj(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

const json::array& Arr(const json::object& o, std::string_view k) {
  static const json::array kEmpty;
  const json::value* v = o.if_contains(k);
  return v && v->is_array() ? v->get_array() : kEmpty;
}

std::string Base(std::string_view site_url) {
  std::string base(site_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

// The dataset's page by name (what people bookmark) and by id (stable across renames: the
// page answers to either, so this is the dataset's identifier).
std::string PageUrl(const std::string& base, const json::object& p) {
  return base + "/datos/conjunto/" + S(p, "name");
}
std::string StableUrl(const std::string& base, const json::object& p) {
  return base + "/datos/conjunto/" + S(p, "id");
}

// Our timestamps are UTC; the package dicts drop the zone letter for CKAN's clients.
std::string Utc(const std::string& ckan_time) {
  if (ckan_time.size() == 19 && ckan_time[10] == 'T') return ckan_time + "Z";
  return ckan_time;
}

std::string OrgTitle(const json::object& p) {
  const json::object* org = Obj(p, "organization");
  return org ? S(*org, "title") : std::string();
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Google asks for descriptions of at least 50 characters, DCAT-US for a non-empty one: a short
// or missing description is completed with who publishes the dataset and where.
std::string Description(const json::object& p) {
  std::string plain = markdown::ToPlainText(S(p, "notes"));
  if (CodePoints(plain) >= 50) return plain;
  std::string out = plain.empty() ? S(p, "title") : plain;
  if (!out.empty() && out.back() != '.') out += '.';
  std::string org = OrgTitle(p);
  out += std::string(out.empty() ? "" : " ") + "Conjunto de datos abiertos publicado" +
         (org.empty() ? "" : " por " + org) + " en " + kCatalogName +
         ", el catálogo de datos abiertos del " + kMunicipality + ".";
  return out;
}

// Keywords: the dataset's own; without any, its themes' titles, then its publisher.
std::vector<std::string> Keywords(const json::object& p) {
  std::vector<std::string> out;
  for (const auto& t : Arr(p, "tags"))
    if (t.is_object() && !S(t.as_object(), "name").empty()) out.push_back(S(t.as_object(), "name"));
  if (out.empty())
    for (const auto& g : Arr(p, "groups"))
      if (g.is_object() && !S(g.as_object(), "title").empty())
        out.push_back(S(g.as_object(), "title"));
  if (out.empty() && !OrgTitle(p).empty()) out.push_back(OrgTitle(p));
  if (out.empty()) out.push_back("datos abiertos");
  return out;
}

// A resource's absolute URL (download or link), or "" when it has none yet (a first upload
// still in the ingest queue).
std::string ResourceUrl(const std::string& base, const json::object& r) {
  std::string url = S(r, "url");
  if (url.empty()) return url;
  if (url[0] == '/') {
    // The file name is the one part of a download path that may hold any character.
    size_t slash = url.rfind('/');
    url = base + url.substr(0, slash + 1) + text::UrlEncode(url.substr(slash + 1));
  }
  return EncodeUri(url);
}

bool IsUpload(const json::object& r) { return S(r, "url_type") == "upload"; }

}  // namespace

// ---- schema.org ---------------------------------------------------------------------------------

json::object SchemaOrgDataset(const json::object& p, std::string_view site_url) {
  std::string base = Base(site_url);
  std::string page = PageUrl(base, p);
  std::string description = Description(p);
  if (CodePoints(description) > 5000) {  // Google's limit, in characters
    size_t cut = 0;
    for (size_t chars = 0; chars < 4999 && cut < description.size(); ++chars) {
      ++cut;
      while (cut < description.size() &&
             (static_cast<unsigned char>(description[cut]) & 0xC0) == 0x80)
        ++cut;
    }
    description = description.substr(0, cut) + "…";
  }
  json::object d{
      {"@context", "https://schema.org/"},
      {"@type", "Dataset"},
      {"@id", page},
      {"url", page},
      {"name", S(p, "title")},
      {"description", description},
      {"identifier", json::array{S(p, "id"), StableUrl(base, p)}},
      {"inLanguage", "es-MX"},
      {"dateCreated", Utc(S(p, "metadata_created"))},
      {"dateModified", Utc(S(p, "metadata_modified"))},
      {"isAccessibleForFree", true},
      {"includedInDataCatalog",
       json::object{{"@type", "DataCatalog"}, {"name", kCatalogName}, {"url", base + "/datos"}}}};
  json::array keywords;
  for (const std::string& k : Keywords(p)) keywords.push_back(json::value(k));
  d["keywords"] = std::move(keywords);
  if (!S(p, "license_url").empty())
    d["license"] = S(p, "license_url");
  else if (!S(p, "license_title").empty())
    d["license"] = json::object{{"@type", "CreativeWork"}, {"name", S(p, "license_title")}};
  if (const json::object* org = Obj(p, "organization")) {
    json::object o{{"@type", "Organization"},
                   {"name", S(*org, "title")},
                   {"url", base + "/datos/organizaciones/" + S(*org, "name")},
                   {"parentOrganization",
                    json::object{{"@type", "GovernmentOrganization"}, {"name", kMunicipality}}}};
    d["creator"] = o;
    d["publisher"] = std::move(o);
  }
  if (!S(p, "maintainer_email").empty())
    d["maintainer"] =
        json::object{{"@type", "Organization"},
                     {"name", S(p, "maintainer").empty() ? OrgTitle(p) : S(p, "maintainer")},
                     {"email", S(p, "maintainer_email")}};
  json::array dist;
  for (const auto& rv : Arr(p, "resources")) {
    const json::object& r = rv.as_object();
    std::string url = ResourceUrl(base, r);
    // Links without a declared format are usually web pages, not downloads.
    if (url.empty() || (!IsUpload(r) && S(r, "format").empty())) continue;
    json::object o{
        {"@type", "DataDownload"},
        {"name", S(r, "name")},
        {"contentUrl", url},
        {"encodingFormat", S(r, "mimetype").empty() ? S(r, "format") : S(r, "mimetype")}};
    if (!S(r, "description").empty()) o["description"] = S(r, "description");
    if (r.contains("size") && r.at("size").is_int64())
      o["contentSize"] = std::to_string(r.at("size").as_int64()) + " B";
    if (!S(r, "last_modified").empty()) o["dateModified"] = Utc(S(r, "last_modified"));
    dist.push_back(std::move(o));
  }
  if (!dist.empty()) d["distribution"] = std::move(dist);
  if (!S(p, "spatial_coverage").empty())
    d["spatialCoverage"] = json::object{{"@type", "Place"}, {"name", S(p, "spatial_coverage")}};
  if (!S(p, "temporal_start").empty() || !S(p, "temporal_end").empty())
    d["temporalCoverage"] = (S(p, "temporal_start").empty() ? ".." : S(p, "temporal_start")) + "/" +
                            (S(p, "temporal_end").empty() ? ".." : S(p, "temporal_end"));
  return d;
}

// ---- DCAT-US (Project Open Data v1.1) -----------------------------------------------------------

namespace {

std::string DataPackageUrl(const std::string& base, const json::object& p) {
  return base + "/dataset/" + S(p, "name") + "/datapackage.json";
}

bool InDatastore(const json::object& r) {
  const json::value* v = r.if_contains("datastore_active");
  return v && v->is_bool() && v->get_bool();
}

std::string JoinDates(const json::object& p) {
  return S(p, "temporal_start") + "/" + S(p, "temporal_end");
}
bool HasPeriod(const json::object& p) {
  return !S(p, "temporal_start").empty() && !S(p, "temporal_end").empty();
}

json::object PodDataset(const json::object& p, const std::string& base) {
  std::string org = OrgTitle(p);
  json::object d{
      {"@type", "dcat:Dataset"},
      {"title", S(p, "title")},
      {"description", Description(p)},
      {"identifier", StableUrl(base, p)},
      {"accessLevel", "public"},
      {"issued", Utc(S(p, "metadata_created"))},
      {"modified", Utc(S(p, "metadata_modified"))},
      {"landingPage", PageUrl(base, p)},
      {"language", json::array{"es-MX"}},
      {"publisher", json::object{{"@type", "org:Organization"},
                                 {"name", org.empty() ? kMunicipality : org},
                                 {"subOrganizationOf", json::object{{"@type", "org:Organization"},
                                                                    {"name", kMunicipality}}}}}};
  json::array keywords;
  for (const std::string& k : Keywords(p)) keywords.push_back(json::value(k));
  d["keyword"] = std::move(keywords);
  json::object contact{
      {"@type", "vcard:Contact"},
      {"fn", S(p, "maintainer").empty() ? (org.empty() ? kCatalogName : org) : S(p, "maintainer")}};
  if (!S(p, "maintainer_email").empty()) contact["hasEmail"] = "mailto:" + S(p, "maintainer_email");
  d["contactPoint"] = std::move(contact);
  if (!S(p, "license_url").empty()) d["license"] = EncodeUri(S(p, "license_url"));
  if (!S(p, "spatial_coverage").empty()) d["spatial"] = S(p, "spatial_coverage");
  if (HasPeriod(p)) d["temporal"] = JoinDates(p);
  if (std::string f = FrequencyIso8601(S(p, "frequency")); !f.empty()) d["accrualPeriodicity"] = f;
  json::array themes;
  for (const auto& g : Arr(p, "groups"))
    if (g.is_object() && !S(g.as_object(), "title").empty())
      themes.push_back(json::value(S(g.as_object(), "title")));
  if (!themes.empty()) d["theme"] = std::move(themes);
  json::array dist;
  bool described = false;
  for (const auto& rv : Arr(p, "resources")) {
    const json::object& r = rv.as_object();
    std::string url = ResourceUrl(base, r);
    if (url.empty()) continue;
    json::object o{{"@type", "dcat:Distribution"}, {"title", S(r, "name")}};
    if (IsUpload(r)) {
      o["downloadURL"] = url;
      o["mediaType"] = S(r, "mimetype").empty() ? "application/octet-stream" : S(r, "mimetype");
    } else {
      o["accessURL"] = url;
    }
    if (!S(r, "format").empty()) o["format"] = S(r, "format");
    if (!S(r, "description").empty()) o["description"] = S(r, "description");
    if (InDatastore(r)) {
      // The Data Package holds this resource's Table Schema.
      o["describedBy"] = DataPackageUrl(base, p);
      o["describedByType"] = "application/json";
      described = true;
    }
    dist.push_back(std::move(o));
  }
  if (!dist.empty()) d["distribution"] = std::move(dist);
  if (described) {
    d["describedBy"] = DataPackageUrl(base, p);
    d["describedByType"] = "application/json";
  }
  return d;
}

// Every published dataset as a package dict (the search hides drafts from everyone: staff ask
// for them explicitly), in name order so the documents are stable.
Result<std::vector<json::object>> PublishedPackages(RequestContext& ctx) {
  constexpr int64_t kPage = 1000;
  std::vector<json::object> out;
  for (int64_t start = 0;; start += kPage) {
    ASSIGN_OR_RETURN(json::value r,
                     ctx.Run("datos.package.search", json::object{{"rows", kPage},
                                                                  {"start", start},
                                                                  {"sort", "name asc"},
                                                                  {"facet_field", "[]"}}));
    const json::array& results = r.as_object().at("results").as_array();
    for (const auto& p : results) out.push_back(p.as_object());
    if (static_cast<int64_t>(results.size()) < kPage) break;
  }
  return out;
}

http::Response JsonError(RequestContext& ctx, const Status& s) {
  ctx.cacheable = false;
  std::string message = s.code() == StatusCode::kInternal ? "Error interno" : s.message();
  if (s.code() == StatusCode::kInternal) fprintf(stderr, "internal: %s\n", s.ToString().c_str());
  return ctx.Json(
      json::object{{"error", json::object{{"code", s.CodeName()}, {"message", message}}}},
      s.HttpStatus());
}

http::Response DataJson(RequestContext& ctx) {
  auto packages = PublishedPackages(ctx);
  if (!packages.ok()) return JsonError(ctx, packages.status());
  std::string base = Base(ctx.app.config().site_url);
  json::array datasets;
  for (const json::object& p : *packages) datasets.push_back(PodDataset(p, base));
  json::object catalog{
      {"@context", "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"},
      {"@id", base + "/data.json"},
      {"@type", "dcat:Catalog"},
      {"conformsTo", "https://project-open-data.cio.gov/v1.1/schema"},
      {"describedBy", "https://project-open-data.cio.gov/v1.1/schema/catalog.json"},
      {"dataset", std::move(datasets)}};
  ctx.cacheable = true;
  return ctx.Json(catalog);
}

// ---- DCAT-AP 2 (JSON-LD) -----------------------------------------------------------------------

json::object Lang(const std::string& s) { return json::object{{"@value", s}, {"@language", "es"}}; }
json::object Typed(const std::string& s, const char* type) {
  return json::object{{"@value", s}, {"@type", type}};
}
json::object Ref(const std::string& iri) { return json::object{{"@id", iri}}; }

std::string Upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

// The EU file-type authority table's codes for the formats DatA-LEÓN sees.
std::string EuFileType(const std::string& format) {
  static const std::set<std::string> kKnown = {"CSV", "XLSX", "XLS", "JSON", "GEOJSON",
                                               "PDF", "ZIP",  "XML", "HTML", "KML",
                                               "ODS", "TXT",  "SHP"};
  std::string f = Upper(format);
  if (!kKnown.count(f)) return "";
  return "http://publications.europa.eu/resource/authority/file-type/" + f;
}

json::object Publisher(const json::object& p, const std::string& base) {
  const json::object* org = Obj(p, "organization");
  if (!org)
    return json::object{
        {"@id", base + "/datos"}, {"@type", "foaf:Organization"}, {"foaf:name", kMunicipality}};
  return json::object{{"@id", base + "/datos/organizaciones/" + S(*org, "name")},
                      {"@type", "foaf:Organization"},
                      {"foaf:name", S(*org, "title")}};
}

json::object ApDataset(const json::object& p, const std::string& base) {
  std::string org = OrgTitle(p);
  json::object d{
      {"@id", StableUrl(base, p)},
      {"@type", "dcat:Dataset"},
      {"dct:identifier", S(p, "id")},
      {"dct:title", Lang(S(p, "title"))},
      {"dct:description", Lang(Description(p))},
      {"dct:publisher", Publisher(p, base)},
      {"dct:issued", Typed(Utc(S(p, "metadata_created")), "xsd:dateTime")},
      {"dct:modified", Typed(Utc(S(p, "metadata_modified")), "xsd:dateTime")},
      {"dcat:landingPage", Ref(PageUrl(base, p))},
      {"dct:language", Ref("http://publications.europa.eu/resource/authority/language/SPA")},
      {"dct:accessRights",
       Ref("http://publications.europa.eu/resource/authority/access-right/PUBLIC")}};
  json::array keywords;
  for (const std::string& k : Keywords(p)) keywords.push_back(Lang(k));
  d["dcat:keyword"] = std::move(keywords);
  json::array themes;
  for (const auto& g : Arr(p, "groups"))
    if (g.is_object())
      themes.push_back(json::object{{"@id", base + "/datos/temas/" + S(g.as_object(), "name")},
                                    {"@type", "skos:Concept"},
                                    {"skos:prefLabel", Lang(S(g.as_object(), "title"))}});
  if (!themes.empty()) d["dcat:theme"] = std::move(themes);
  json::object contact{{"@type", "vcard:Organization"},
                       {"vcard:fn", S(p, "maintainer").empty() ? (org.empty() ? kCatalogName : org)
                                                               : S(p, "maintainer")}};
  if (!S(p, "maintainer_email").empty())
    contact["vcard:hasEmail"] = Ref("mailto:" + S(p, "maintainer_email"));
  d["dcat:contactPoint"] = std::move(contact);
  if (std::string f = FrequencyEuUri(S(p, "frequency")); !f.empty())
    d["dct:accrualPeriodicity"] = Ref(f);
  if (!S(p, "spatial_coverage").empty())
    d["dct:spatial"] = json::object{{"@type", "dct:Location"},
                                    {"locn:geographicName", Lang(S(p, "spatial_coverage"))}};
  if (!S(p, "temporal_start").empty() || !S(p, "temporal_end").empty()) {
    json::object t{{"@type", "dct:PeriodOfTime"}};
    if (!S(p, "temporal_start").empty())
      t["dcat:startDate"] = Typed(S(p, "temporal_start"), "xsd:date");
    if (!S(p, "temporal_end").empty()) t["dcat:endDate"] = Typed(S(p, "temporal_end"), "xsd:date");
    d["dct:temporal"] = std::move(t);
  }
  std::string license = EncodeUri(S(p, "license_url"));
  json::array dist;
  for (const auto& rv : Arr(p, "resources")) {
    const json::object& r = rv.as_object();
    std::string url = ResourceUrl(base, r);
    if (url.empty()) continue;
    std::string page = base + "/datos/conjunto/" + S(p, "name") + "/recurso/" + S(r, "id");
    json::object o{{"@id", page},
                   {"@type", "dcat:Distribution"},
                   {"dct:title", Lang(S(r, "name"))},
                   {"dcat:accessURL", Ref(IsUpload(r) ? page : url)}};
    if (IsUpload(r)) o["dcat:downloadURL"] = Ref(url);
    if (!S(r, "description").empty()) o["dct:description"] = Lang(S(r, "description"));
    if (std::string ft = EuFileType(S(r, "format")); !ft.empty()) o["dct:format"] = Ref(ft);
    if (!S(r, "mimetype").empty())
      o["dcat:mediaType"] = Ref("http://www.iana.org/assignments/media-types/" + S(r, "mimetype"));
    if (!license.empty()) o["dct:license"] = Ref(license);
    if (r.contains("size") && r.at("size").is_int64())
      o["dcat:byteSize"] = Typed(std::to_string(r.at("size").as_int64()), "xsd:nonNegativeInteger");
    if (!S(r, "hash").empty())
      o["spdx:checksum"] =
          json::object{{"@type", "spdx:Checksum"},
                       {"spdx:algorithm", Ref("spdx:checksumAlgorithm_sha256")},
                       {"spdx:checksumValue", Typed(S(r, "hash"), "xsd:hexBinary")}};
    if (!S(r, "last_modified").empty())
      o["dct:modified"] = Typed(Utc(S(r, "last_modified")), "xsd:dateTime");
    if (InDatastore(r)) o["dct:conformsTo"] = Ref(DataPackageUrl(base, p));
    dist.push_back(std::move(o));
  }
  if (!dist.empty()) d["dcat:distribution"] = std::move(dist);
  return d;
}

http::Response CatalogJsonLd(RequestContext& ctx) {
  auto packages = PublishedPackages(ctx);
  if (!packages.ok()) return JsonError(ctx, packages.status());
  std::string base = Base(ctx.app.config().site_url);
  json::array datasets;
  std::string modified;
  for (const json::object& p : *packages) {
    datasets.push_back(ApDataset(p, base));
    modified = std::max(modified, Utc(S(p, "metadata_modified")));
  }
  json::object context{{"dcat", "http://www.w3.org/ns/dcat#"},
                       {"dct", "http://purl.org/dc/terms/"},
                       {"foaf", "http://xmlns.com/foaf/0.1/"},
                       {"vcard", "http://www.w3.org/2006/vcard/ns#"},
                       {"skos", "http://www.w3.org/2004/02/skos/core#"},
                       {"locn", "http://www.w3.org/ns/locn#"},
                       {"spdx", "http://spdx.org/rdf/terms#"},
                       {"xsd", "http://www.w3.org/2001/XMLSchema#"}};
  json::object catalog{
      {"@context", std::move(context)},
      {"@id", base + "/catalog.jsonld"},
      {"@type", "dcat:Catalog"},
      {"dct:title", Lang(kCatalogName)},
      {"dct:description",
       Lang(std::string("Catálogo de datos abiertos del ") + kMunicipality + ".")},
      {"dct:publisher",
       json::object{
           {"@id", base + "/datos"}, {"@type", "foaf:Organization"}, {"foaf:name", kMunicipality}}},
      {"foaf:homepage", Ref(base + "/datos")},
      {"dct:language", Ref("http://publications.europa.eu/resource/authority/language/SPA")},
      {"dcat:dataset", std::move(datasets)}};
  if (!modified.empty()) catalog["dct:modified"] = Typed(modified, "xsd:dateTime");
  ctx.cacheable = true;
  http::Response r = ctx.Json(catalog);
  r.content_type = "application/ld+json; charset=utf-8";
  return r;
}

// ---- Frictionless Data Package (v1) -----------------------------------------------------------

std::string Lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// A Data Package path may not contain "..": a URL that does (a publisher's link) keeps its
// meaning with the second dot percent-encoded.
std::string PackagePath(std::string url) {
  for (size_t i = url.find(".."); i != std::string::npos; i = url.find("..", i))
    url.replace(i + 1, 1, "%2E");
  return url;
}

std::string Encoding(const std::string& quality_encoding) {
  if (quality_encoding.rfind("UTF-8", 0) == 0) return "utf-8";
  if (quality_encoding.rfind("Windows-1252", 0) == 0) return "windows-1252";
  return "";
}

// The Table Schema and CSV dialect of a resource loaded into the datastore, from the quality
// report of its current version: the report is written with the datastore_tables row in the
// same transaction, so its columns are exactly the datastore table's.
void AddTableSchema(json::object& res, const json::object& quality) {
  json::array fields;
  std::set<std::string> seen;
  for (const auto& cv : Arr(quality, "columns")) {
    const json::object& c = cv.as_object();
    // Field names are the file's headers, so the descriptor validates against the file itself;
    // an empty or repeated header falls back to the datastore's column id.
    std::string header = S(c, "name");
    std::string name = header.empty() || seen.count(header) ? S(c, "id") : header;
    seen.insert(name);
    json::object f{{"name", name}, {"type", TableSchemaType(S(c, "type"))}};
    if (!header.empty()) f["title"] = header;
    if (S(c, "type") == "decimal" && S(c, "decimal_separator") == ",") f["decimalChar"] = ",";
    fields.push_back(std::move(f));
  }
  res["profile"] = "tabular-data-resource";
  res["schema"] = json::object{{"fields", std::move(fields)}, {"missingValues", json::array{""}}};
  if (S(quality, "format") == "CSV") {
    std::string delimiter = S(quality, "delimiter");
    if (delimiter == "tab") delimiter = "\t";
    if (delimiter.empty()) delimiter = ",";
    res["dialect"] =
        json::object{{"delimiter", delimiter}, {"doubleQuote", true}, {"header", true}};
    if (std::string e = Encoding(S(quality, "encoding")); !e.empty()) res["encoding"] = e;
  }
}

// `qualities`: resource id → quality report of its current version (datastore resources).
json::object DataPackage(const json::object& p, const std::string& base,
                         const std::map<std::string, json::object>& qualities) {
  json::object dp{{"name", S(p, "name")},
                  {"id", S(p, "id")},
                  {"title", S(p, "title")},
                  {"description", S(p, "notes").empty() ? Description(p) : S(p, "notes")},
                  {"homepage", PageUrl(base, p)},
                  {"created", Utc(S(p, "metadata_created"))}};
  json::array keywords;
  for (const std::string& k : Keywords(p)) keywords.push_back(json::value(k));
  dp["keywords"] = std::move(keywords);
  json::object license{{"name", OpenLicenseId(S(p, "license_id"))}};
  if (!S(p, "license_url").empty()) license["path"] = PackagePath(EncodeUri(S(p, "license_url")));
  if (!S(p, "license_title").empty()) license["title"] = S(p, "license_title");
  dp["licenses"] = json::array{std::move(license)};
  json::array contributors;
  if (const json::object* org = Obj(p, "organization"))
    contributors.push_back(json::object{{"title", S(*org, "title")},
                                        {"path", base + "/datos/organizaciones/" + S(*org, "name")},
                                        {"role", "publisher"}});
  if (!S(p, "maintainer").empty() || !S(p, "maintainer_email").empty()) {
    json::object m{{"title", S(p, "maintainer").empty() ? OrgTitle(p) : S(p, "maintainer")},
                   {"role", "maintainer"}};
    if (!S(p, "maintainer_email").empty()) m["email"] = S(p, "maintainer_email");
    contributors.push_back(std::move(m));
  }
  if (!contributors.empty()) dp["contributors"] = std::move(contributors);

  json::array resources;
  std::set<std::string> names;
  bool all_tabular = true;
  for (const auto& rv : Arr(p, "resources")) {
    const json::object& r = rv.as_object();
    std::string url = ResourceUrl(base, r);
    if (url.empty()) continue;
    std::string name = DataPackageName(S(r, "name"));
    if (name.empty()) name = "recurso";
    for (int n = 2; names.count(name); ++n) {
      std::string candidate = name + "-" + std::to_string(n);
      if (!names.count(candidate)) name = candidate;
    }
    names.insert(name);
    json::object o{{"name", name}, {"path", PackagePath(url)}, {"title", S(r, "name")}};
    if (!S(r, "description").empty()) o["description"] = S(r, "description");
    if (!S(r, "format").empty()) o["format"] = Lower(S(r, "format"));
    if (!S(r, "mimetype").empty()) o["mediatype"] = S(r, "mimetype");
    if (r.contains("size") && r.at("size").is_int64()) o["bytes"] = r.at("size").as_int64();
    if (!S(r, "hash").empty()) o["hash"] = "sha256:" + S(r, "hash");
    if (S(r, "format") == "JSON" || S(r, "format") == "GeoJSON") o["encoding"] = "utf-8";
    auto q = qualities.find(S(r, "id"));
    if (InDatastore(r) && q != qualities.end())
      AddTableSchema(o, q->second);
    else
      all_tabular = false;
    resources.push_back(std::move(o));
  }
  dp["profile"] = all_tabular && !resources.empty() ? "tabular-data-package" : "data-package";
  dp["resources"] = std::move(resources);
  return dp;
}

http::Response DataPackageRoute(RequestContext& ctx) {
  auto shown = ctx.Run("datos.package.show", json::object{{"id", ctx.Param("name")}});
  if (!shown.ok()) return JsonError(ctx, shown.status());
  const json::object& p = shown->as_object();
  std::map<std::string, json::object> qualities;
  for (const auto& rv : Arr(p, "resources")) {
    const json::object& r = rv.as_object();
    if (!InDatastore(r)) continue;
    auto res = ctx.Run("datos.resource.show", json::object{{"id", S(r, "id")}});
    if (!res.ok()) return JsonError(ctx, res.status());
    const json::value* current = r.if_contains("version");
    for (const auto& vv : Arr(res->as_object(), "versions")) {
      const json::object& v = vv.as_object();
      if (current && v.at("version") == *current && S(v, "status") == "activa")
        if (const json::object* q = Obj(v, "quality")) qualities[S(r, "id")] = *q;
    }
  }
  json::object dp = DataPackage(p, Base(ctx.app.config().site_url), qualities);
  // A package needs at least one resource: a dataset whose only files are still in the ingest
  // queue (a managed dataset just created) has none to describe yet.
  if (dp.at("resources").as_array().empty()) {
    http::Response r = JsonError(
        ctx, Status::Unavailable("El conjunto todavía no tiene archivos disponibles; inténtelo "
                                 "en unos segundos"));
    r.SetHeader("Retry-After", "5");
    return r;
  }
  ctx.cacheable = true;
  return ctx.Json(dp);
}

}  // namespace

void RegisterDcat(Registry& reg) {
  reg.AddRoute({"GET", "/data.json", DataJson});
  reg.AddRoute({"GET", "/catalog.jsonld", CatalogJsonLd});
  reg.AddRoute({"GET", "/dataset/{name}/datapackage.json", DataPackageRoute});
}

}  // namespace abierto::datos
