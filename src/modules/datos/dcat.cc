// Linked-data descriptions of the catalog: schema.org Dataset JSON-LD for dataset pages.
#include <string>

#include "modules/datos/catalog.h"

namespace abierto::datos {

namespace json = boost::json;

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
