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

namespace {
std::string S(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
}  // namespace

json::object SchemaOrgDataset(const json::object& p, std::string_view site_url) {
  std::string base(site_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string page = base + "/datos/conjunto/" + S(p, "name");
  json::object d{{"@context", "https://schema.org/"},
                 {"@type", "Dataset"},
                 {"@id", page},
                 {"url", page},
                 {"name", S(p, "title")},
                 {"description", S(p, "notes").empty() ? S(p, "title") : S(p, "notes")},
                 {"dateCreated", S(p, "metadata_created")},
                 {"dateModified", S(p, "metadata_modified")},
                 {"isAccessibleForFree", true}};
  if (const json::value* lic = p.if_contains("license_url"); lic && lic->is_string())
    d["license"] = *lic;
  if (const json::value* org = p.if_contains("organization"); org && org->is_object())
    d["publisher"] =
        json::object{{"@type", "GovernmentOrganization"},
                     {"name", org->as_object().at("title")},
                     {"url", base + "/datos/organizaciones/" + S(org->as_object(), "name")}};
  json::array keywords;
  for (const auto& t : p.at("tags").as_array()) keywords.push_back(t.at("name"));
  if (!keywords.empty()) d["keywords"] = std::move(keywords);
  json::array dist;
  for (const auto& rv : p.at("resources").as_array()) {
    const json::object& r = rv.as_object();
    std::string url = S(r, "url");
    if (url.empty()) continue;
    if (url[0] == '/') url = base + url;
    json::object o{
        {"@type", "DataDownload"},
        {"name", S(r, "name")},
        {"contentUrl", url},
        {"encodingFormat", S(r, "mimetype").empty() ? S(r, "format") : S(r, "mimetype")}};
    dist.push_back(std::move(o));
  }
  if (!dist.empty()) d["distribution"] = std::move(dist);
  if (!S(p, "spatial_coverage").empty())
    d["spatialCoverage"] = json::object{{"@type", "Place"}, {"name", S(p, "spatial_coverage")}};
  if (!S(p, "temporal_start").empty())
    d["temporalCoverage"] =
        S(p, "temporal_start") + "/" + (S(p, "temporal_end").empty() ? ".." : S(p, "temporal_end"));
  return d;
}

void RegisterDcat(Registry&) {}

}  // namespace abierto::datos
