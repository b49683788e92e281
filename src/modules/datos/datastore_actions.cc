// The datastore's read actions: datastore_search for pages and the API, the preview's chart
// data, and the points of resources with coordinates. Each checks that the caller may see the
// resource (its dataset is published, or the caller is staff) and hands validated input to
// the datastore functions of ingest.h, so pages, the action API and any other client read
// the same rows with the same errors.
#include <charconv>
#include <cmath>

#include "abierto/json.h"
#include "abierto/registry.h"
#include "modules/datos/catalog.h"
#include "modules/datos/ingest.h"
#include "modules/datos/preview.h"

namespace abierto::datos {

namespace json = boost::json;

namespace {

constexpr int64_t kMaxPageRows = 100;
constexpr int64_t kMaxChartPoints = 50;
constexpr int64_t kMaxMapPoints = 5000;

bool IsStaffOrSystem(const Principal& who) {
  return who.system || who.role == Role::kEnlace || who.role == Role::kSecretariado ||
         who.role == Role::kAdmin;
}

// A resource of a draft dataset does not exist for the public: the same answer as for an
// unknown id, so that drafts are not revealed.
Status AuthorizeResource(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Rows rows,
                   ctx.db.Query("SELECT d.state FROM datos_resources r JOIN datos_datasets d ON "
                                "d.id = r.dataset_id WHERE r.uid = ?",
                                {GetString(in, "resource_id")}));
  if (rows.empty() || (rows[0].Text("state") != "active" && !IsStaffOrSystem(ctx.who)))
    return Status::NotFound("El recurso no existe");
  return Status::Ok();
}

std::vector<Field> QueryFields() {
  return {StringField("resource_id", 64).Required(), StringField("filters", 4000),
          StringField("q", 200)};
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> ParseDatastoreFilters(
    std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  if (text.empty()) return out;
  auto bad = [] {
    return Status::InvalidArgument(
        "Los filtros deben ser un objeto JSON de columna a valor, como {\"colonia\": \"Centro\"}",
        {{"filters", "Objeto JSON de columna a valor"}});
  };
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return bad();
  for (const auto& kv : v.get_object()) {
    const json::value& x = kv.value();
    std::string value;
    if (x.is_string()) {
      value = std::string(x.get_string());
    } else if (x.is_int64() || x.is_uint64()) {
      value = JsonText(x);
    } else if (x.is_double() && std::isfinite(x.get_double())) {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x.get_double());
      if (ec != std::errc()) return bad();
      value.assign(buf, end);
    } else {
      return bad();
    }
    out.emplace_back(std::string(kv.key()), std::move(value));
  }
  return out;
}

namespace {

Result<json::value> DatastoreSearch(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(auto filters, ParseDatastoreFilters(GetString(in, "filters")));
  SearchRequest req{.resource_id = GetString(in, "resource_id"),
                    .filters = std::move(filters),
                    .q = GetString(in, "q"),
                    .limit = GetInt(in, "limit", 25),
                    .offset = GetInt(in, "offset", 0)};
  if (Has(in, "sort")) {
    // One column and a direction: the column is checked by Search against the table.
    std::string column = GetString(in, "sort");
    if (column.find_first_of(", ") != std::string::npos)
      return Status::InvalidArgument("La columna «" + column + "» no existe en este recurso",
                                     {{"sort", "Columna desconocida: " + column}});
    req.sort = column + " " + GetString(in, "order", "asc");
  }
  ASSIGN_OR_RETURN(SearchResult res, Search(ctx.db, req));
  json::object out = res.ToJson();
  out["limit"] = req.limit;
  out["offset"] = req.offset;
  if (auto geo = DetectGeoColumns(res.fields))
    out["geo"] = json::object{
        {"lat_column", geo->lat}, {"lon_column", geo->lon}, {"label_column", geo->label}};
  return out;
}

json::value XJson(const db::Value& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* s = std::get_if<std::string>(&v)) return json::string(*s);
  return nullptr;
}

Result<json::value> DatastoreChart(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(auto filters, ParseDatastoreFilters(GetString(in, "filters")));
  Aggregation aggregation = Aggregation::kNone;
  ParseAggregation(GetString(in, "aggregation", "ninguno"), &aggregation);
  AggregateRequest req{.resource_id = GetString(in, "resource_id"),
                       .filters = std::move(filters),
                       .q = GetString(in, "q"),
                       .x = GetString(in, "x"),
                       .y = GetString(in, "y"),
                       .aggregation = aggregation,
                       .limit = GetInt(in, "limit", kMaxChartPoints)};
  ASSIGN_OR_RETURN(AggregateResult res, Aggregate(ctx.db, req));
  json::array points;
  for (const AggregatePoint& p : res.points)
    points.push_back(json::object{{"x", XJson(p.x)}, {"y", p.y}});
  return json::object{{"resource_id", req.resource_id},
                      {"x", req.x},
                      {"y", aggregation == Aggregation::kCount ? std::string() : req.y},
                      {"aggregation", AggregationName(aggregation)},
                      {"x_type", res.x_type},
                      {"y_type", res.y_type},
                      {"total", res.total},
                      {"truncated", res.total > static_cast<int64_t>(res.points.size())},
                      {"points", std::move(points)}};
}

Result<json::value> DatastorePoints(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(auto filters, ParseDatastoreFilters(GetString(in, "filters")));
  const std::string resource = GetString(in, "resource_id");
  ASSIGN_OR_RETURN(SearchResult shape,
                   Search(ctx.db, {.resource_id = resource, .limit = 0, .include_total = false}));
  auto geo = DetectGeoColumns(shape.fields);
  if (!geo)
    return Status::NotFound(
        "Este recurso no tiene columnas de latitud y longitud (decimales llamadas lat, latitud o "
        "latitude y lon, lng, longitud o longitude)");
  ASSIGN_OR_RETURN(GeoResult res, GeoPoints(ctx.db, {.resource_id = resource,
                                                     .filters = std::move(filters),
                                                     .q = GetString(in, "q"),
                                                     .columns = *geo,
                                                     .limit = GetInt(in, "limit", kMaxMapPoints)}));
  json::array points;
  for (const GeoPoint& p : res.points)
    points.push_back(
        json::object{{"id", p.id}, {"lat", p.lat}, {"lon", p.lon}, {"label", p.label}});
  return json::object{{"resource_id", resource},
                      {"lat_column", geo->lat},
                      {"lon_column", geo->lon},
                      {"label_column", geo->label},
                      {"total", res.total},
                      {"count", static_cast<int64_t>(res.points.size())},
                      {"truncated", res.total > static_cast<int64_t>(res.points.size())},
                      {"points", std::move(points)}};
}

}  // namespace

void RegisterDatastoreActions(Registry& reg) {
  // The datastore's registry table is a migration of the catalog (RegisterCatalogActions): these
  // actions read inside a transaction, where it could not be created on demand.
  std::vector<Field> search = QueryFields();
  search.push_back(StringField("sort", 100));
  search.push_back(EnumField("order", {"asc", "desc"}));
  search.push_back(IntField("limit").Range(0, kMaxPageRows));
  search.push_back(IntField("offset").Range(0, 1e12));
  reg.AddAction({.name = "datos.preview.search",
                 .roles = Everyone(),
                 .input = std::move(search),
                 .authorize = AuthorizeResource,
                 .handle = DatastoreSearch});

  std::vector<Field> chart = QueryFields();
  chart.push_back(StringField("x", 100).Required());
  chart.push_back(StringField("y", 100));
  chart.push_back(EnumField("aggregation", {"ninguno", "conteo", "suma", "promedio"}));
  chart.push_back(IntField("limit").Range(1, kMaxChartPoints));
  reg.AddAction({.name = "datos.datastore.chart",
                 .roles = Everyone(),
                 .input = std::move(chart),
                 .authorize = AuthorizeResource,
                 .handle = DatastoreChart});

  std::vector<Field> points = QueryFields();
  points.push_back(IntField("limit").Range(1, kMaxMapPoints));
  reg.AddAction({.name = "datos.datastore.points",
                 .roles = Everyone(),
                 .input = std::move(points),
                 .authorize = AuthorizeResource,
                 .handle = DatastorePoints});
}

}  // namespace abierto::datos
