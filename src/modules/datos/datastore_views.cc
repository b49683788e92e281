// The datastore preview on resource pages, the CSV download of a filtered view and the points
// for a map; see preview.h.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>

#include "abierto/export.h"
#include "abierto/json.h"
#include "abierto/svg.h"
#include "abierto/text.h"
#include "modules/datos/catalog.h"
#include "modules/datos/ingest.h"
#include "modules/datos/preview.h"

namespace abierto::datos {

namespace json = boost::json;
using web::RequestContext;

namespace {

constexpr int64_t kDefaultRows = 25;
constexpr int64_t kMaxRows = 100;
constexpr int64_t kChartPoints = 50;
// Rows per piece of a CSV download: the first piece is small so that the download starts at
// once; each next one doubles up to a cap, so that a sort on a column without an index (which
// scans the matching rows once per piece) scans a large table a few dozen times, not hundreds,
// while a piece stays within a few megabytes.
constexpr int64_t kExportFirstRows = 1000;
constexpr int64_t kExportMaxRows = 16000;

bool Blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// A cell as text: integers as written, decimals in the fewest digits that read back exactly, in
// fixed notation (32000000, not 3.2e+07; never rounded to two places as the templates would),
// dates and text as stored.
std::string CellText(const json::value& v) {
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_double()) {
    char buf[400];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.get_double(), std::chars_format::fixed);
    return ec == std::errc() ? std::string(buf, end) : "";
  }
  if (v.is_string()) return std::string(v.get_string());
  return "";
}

// `message` with each "{name}" replaced by its value, in one pass, so that a value holding
// braces (a column's header) is never replaced in turn.
std::string Fill(std::string_view message,
                 std::initializer_list<std::pair<std::string_view, std::string>> values) {
  std::string out;
  for (size_t i = 0; i < message.size();) {
    bool replaced = false;
    for (const auto& [key, value] : values) {
      if (message.compare(i, key.size(), key) == 0) {
        out += value;
        i += key.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) out += message[i++];
  }
  return out;
}

// The preview's parameters as they came in the query string (see preview.h).
struct Params {
  std::vector<std::pair<std::string, std::string>> filters;  // f.<column>, non-empty, unique
  std::string q, sort, dir, page, rows, chart, x, y, agg;
};

Params ReadParams(const RequestContext& ctx) {
  Params p;
  for (const auto& [k, v] : ctx.query) {
    if (k.rfind("f.", 0) != 0 || Blank(v)) continue;
    std::string column = k.substr(2);
    bool seen = false;
    for (auto& f : p.filters)
      if (f.first == column) {
        f.second = v;  // the last one wins, as in a JSON object
        seen = true;
      }
    if (!seen) p.filters.emplace_back(column, v);
  }
  p.q = ctx.Query("q");
  p.sort = ctx.Query("orden");
  p.dir = ctx.Query("dir");
  p.page = ctx.Query("pagina");
  p.rows = ctx.Query("filas");
  p.chart = ctx.Query("grafica");
  p.x = ctx.Query("x");
  p.y = ctx.Query("y");
  p.agg = ctx.Query("agregado");
  return p;
}

enum Part { kSearch = 1, kSort = 2, kPaging = 4, kChart = 8, kAll = 15 };

// The query string carrying the parts of `p` asked for, "" when empty, else starting with "?".
std::string QueryString(const Params& p, int parts) {
  std::string out;
  auto add = [&](std::string_view k, const std::string& v) {
    if (Blank(v)) return;
    out += (out.empty() ? "?" : "&") + text::UrlEncode(k) + "=" + text::UrlEncode(v);
  };
  if (parts & kSearch) {
    add("q", p.q);
    for (const auto& [k, v] : p.filters) add("f." + k, v);
  }
  if (parts & kSort) {
    add("orden", p.sort);
    add("dir", p.dir);
  }
  if (parts & kPaging) {
    if (p.page != "1") add("pagina", p.page);
    if (p.rows != std::to_string(kDefaultRows)) add("filas", p.rows);
  }
  if (parts & kChart) {
    add("grafica", p.chart);
    add("x", p.x);
    add("y", p.y);
    add("agregado", p.agg);
  }
  return out;
}

std::string FiltersJson(const Params& p) {
  if (p.filters.empty()) return "";
  json::object o;
  for (const auto& [k, v] : p.filters) o[k] = v;
  return JsonText(o);
}

// The input of the datastore actions for the rows the parameters select.
json::object QueryInput(const std::string& resource_id, const Params& p) {
  json::object in{{"resource_id", resource_id}, {"q", p.q}};
  if (!p.filters.empty()) in["filters"] = FiltersJson(p);
  return in;
}

std::string ResourceBase(const RequestContext& ctx) {
  return "/datos/conjunto/" + ctx.Param("name") + "/recurso/" + ctx.Param("rid");
}

// The resource of the route, when the caller may see it and it belongs to the route's dataset.
Result<json::object> RouteResource(RequestContext& ctx) {
  ASSIGN_OR_RETURN(json::value r,
                   ctx.Run("datos.resource.show", json::object{{"id", ctx.Param("rid")}}));
  json::object& o = r.as_object();
  if (JsonStr(o["package_name"]) != ctx.Param("name"))
    return Status::NotFound("El recurso no existe");
  return std::move(o);
}

// Field errors with the names of the fields in the caller's language.
json::array FieldErrors(const RequestContext& ctx, const Status& s) {
  json::array out;
  for (const FieldError& f : s.fields())
    out.push_back(json::object{{"field", ctx.T("field." + f.field)}, {"message", f.message}});
  return out;
}

std::string TypeLabel(const RequestContext& ctx, const std::string& type) {
  return ctx.T("datos_pv_type_" + type);
}

// Number formatting for the chart's table: two decimals unless the value is whole.
std::string ChartNumber(double v) {
  return text::FormatNumber(v, std::fabs(v - std::round(v)) < 1e-9 ? 0 : 2);
}

struct Column {
  std::string id, label, type;
};

// The chart and its table, or the error that prevented it.
Status AddChart(RequestContext& ctx, const std::string& resource_id, const Params& p,
                const std::vector<Column>& columns, json::object& pv) {
  if (p.chart != "barras" && p.chart != "lineas")
    return Status::InvalidArgument("El tipo de gráfica debe ser barras o líneas",
                                   {{"grafica", "barras o lineas"}});
  json::object in = QueryInput(resource_id, p);
  in["x"] = p.x;
  in["y"] = p.y;
  in["aggregation"] = p.agg.empty() ? "ninguno" : p.agg;
  in["limit"] = kChartPoints;
  ASSIGN_OR_RETURN(json::value r, ctx.Run("datos.datastore.chart", in));
  json::object& c = r.as_object();
  auto label_of = [&](const std::string& id) {
    for (const Column& col : columns)
      if (col.id == id) return col.label;
    return id;
  };
  const std::string agg = JsonStr(c["aggregation"]);
  const std::string x_label = label_of(p.x), y_label = label_of(p.y);
  std::string title = Fill(ctx.T("datos_pv_title_" + agg), {{"{x}", x_label}, {"{y}", y_label}});
  std::vector<svg::Datum> data;
  json::array table;
  for (const auto& v : c["points"].as_array()) {
    const json::object& pt = v.as_object();
    double y = pt.at("y").to_number<double>();
    std::string x = CellText(pt.at("x"));
    data.push_back({x, y});
    table.push_back(json::object{{"x", x}, {"y", ChartNumber(y)}});
  }
  const int64_t total = c["total"].as_int64();
  std::string desc = ctx.T("datos_pv_chart_desc");
  svg::ChartOptions options{.id = "pv-grafica", .lang = ctx.lang};
  std::string chart = p.chart == "barras" ? svg::ValueBars(title, desc, data, options)
                                          : svg::ValueLine(title, desc, data, options);
  json::object view{{"svg", std::move(chart)},
                    {"title", title},
                    {"x_label", x_label},
                    {"y_label", agg == "conteo" ? ctx.T("datos_pv_rows_count") : y_label},
                    {"rows", std::move(table)}};
  if (c["truncated"].as_bool())
    view["truncated"] = Fill(ctx.T("datos_pv_truncated"), {{"{n}", std::to_string(data.size())},
                                                           {"{total}", std::to_string(total)}});
  pv["chart"] = std::move(view);
  return Status::Ok();
}

// The chart part of the form, with the current (or sensible default) choices.
json::object ChartForm(RequestContext& ctx, const Params& p, const std::vector<Column>& columns) {
  std::string x = p.x, y = p.y,
              agg = p.agg.empty() ? (p.chart.empty() ? "suma" : "ninguno") : p.agg;
  if (x.empty())
    for (const Column& c : columns)
      if (c.type == "text") {
        x = c.id;
        break;
      }
  if (y.empty())
    for (const Column& c : columns)
      if (c.type == "int" || c.type == "numeric") {
        y = c.id;
        break;
      }
  json::array types, xs, ys, aggs;
  for (const char* t : {"", "barras", "lineas"})
    types.push_back(
        json::object{{"value", t},
                     {"label", ctx.T(std::string("datos_pv_chart_") + (*t ? t : "ninguna"))},
                     {"selected", p.chart == t}});
  for (const Column& c : columns) {
    xs.push_back(json::object{{"value", c.id}, {"label", c.label}, {"selected", c.id == x}});
    if (c.type == "int" || c.type == "numeric")
      ys.push_back(json::object{{"value", c.id}, {"label", c.label}, {"selected", c.id == y}});
  }
  for (const char* a : {"ninguno", "conteo", "suma", "promedio"})
    aggs.push_back(json::object{
        {"value", a}, {"label", ctx.T(std::string("datos_pv_agg_") + a)}, {"selected", agg == a}});
  return json::object{{"types", std::move(types)},
                      {"xs", std::move(xs)},
                      {"ys", std::move(ys)},
                      {"aggs", std::move(aggs)}};
}

// ---- the CSV download and the points -------------------------------------------------------

// Feeds a CSV download page by page from the worker thread that asks for the next piece.
struct CsvExport {
  const web::App* app = nullptr;
  SearchCursor cursor;
  std::vector<std::string> headers;
  bool first = true;
  int64_t rows = kExportFirstRows;
};

http::StreamStep NextCsvPiece(CsvExport& e, std::string* out) {
  auto conn = e.app->ThreadConnection();
  if (!conn.ok()) return http::StreamStep::kFailed;
  const int64_t rows = e.rows;
  e.rows = std::min(kExportMaxRows, 2 * e.rows);
  auto page = e.cursor.Next(**conn, rows);
  if (!page.ok()) {
    fprintf(stderr, "csv export: %s\n", page.status().ToString().c_str());
    return http::StreamStep::kFailed;
  }
  exporter::Table t;
  t.headers = e.headers;
  t.rows.reserve(page->records.size());
  for (const auto& rec : page->records) {
    std::vector<exporter::Cell> row;
    row.reserve(rec.size());
    for (const db::Value& v : rec) {
      if (auto* i = std::get_if<int64_t>(&v)) {
        // Integers a double holds exactly stay numbers; larger ones are written as digits.
        if (*i > -(int64_t{1} << 53) && *i < (int64_t{1} << 53))
          row.emplace_back(*i);
        else
          row.emplace_back(std::to_string(*i));
      } else if (auto* d = std::get_if<double>(&v)) {
        row.emplace_back(*d);
      } else if (auto* s = std::get_if<std::string>(&v)) {
        row.emplace_back(*s);
      } else {
        row.emplace_back();
      }
    }
    t.rows.push_back(std::move(row));
  }
  *out = e.first ? exporter::ToCsv(t) : exporter::ToCsvRows(t);
  e.first = false;
  return static_cast<int64_t>(page->records.size()) < rows ? http::StreamStep::kDone
                                                           : http::StreamStep::kMore;
}

http::Response RowsCsv(RequestContext& ctx) {
  auto resource = RouteResource(ctx);
  if (!resource.ok()) return ctx.Error(resource.status());
  const std::string rid = ctx.Param("rid");
  Params p = ReadParams(ctx);
  // The action checks everything and that the caller may read the rows; the cursor then reads
  // them from a table that never changes once loaded.
  json::object in = QueryInput(rid, p);
  if (!p.sort.empty()) in["sort"] = p.sort;
  if (!p.dir.empty()) in["order"] = p.dir;
  in["limit"] = 0;
  auto checked = ctx.Run("datos.preview.search", in);
  if (!checked.ok()) return ctx.Error(checked.status());
  SearchRequest req{.resource_id = rid, .filters = p.filters, .q = p.q};
  if (!p.sort.empty()) req.sort = p.sort + " " + (p.dir.empty() ? "asc" : p.dir);
  auto cursor = SearchCursor::Open(ctx.db, req);
  if (!cursor.ok()) return ctx.Error(cursor.status());
  auto e = std::make_shared<CsvExport>(CsvExport{&ctx.app, std::move(*cursor), {}, true});
  for (const SearchField& f : e->cursor.fields())
    e->headers.push_back(f.label.empty() ? f.id : f.label);
  if (ctx.req.method == "GET") CountDownload(ctx.db, JsonStr(resource->at("package_id")));
  http::Response r = ctx.Download("", "text/csv; charset=utf-8", ctx.Param("name") + "-filas.csv");
  r.stream = [e](std::string* out) { return NextCsvPiece(*e, out); };
  return r;
}

http::Response JsonError(RequestContext& ctx, const Status& s) {
  json::object err{{"code", s.CodeName()},
                   {"message", s.code() == StatusCode::kInternal
                                   ? std::string("Ocurrió un error interno. Ya quedó registrado.")
                                   : s.message()}};
  json::object fields;
  for (const FieldError& f : s.fields()) fields[f.field] = f.message;
  if (!fields.empty()) err["fields"] = std::move(fields);
  if (s.code() == StatusCode::kInternal) fprintf(stderr, "internal: %s\n", s.ToString().c_str());
  return ctx.Json(json::object{{"error", std::move(err)}}, s.HttpStatus());
}

http::Response PointsJson(RequestContext& ctx) {
  auto resource = RouteResource(ctx);
  if (!resource.ok()) return JsonError(ctx, resource.status());
  auto r = ctx.Run("datos.datastore.points", QueryInput(ctx.Param("rid"), ReadParams(ctx)));
  if (!r.ok()) return JsonError(ctx, r.status());
  ctx.cacheable = true;
  return ctx.Json(*r);
}

}  // namespace

// ---- the preview on the resource page ----------------------------------------------------------

int AddDatastorePreview(RequestContext& ctx, const json::object& resource, json::object& view) {
  const std::string rid = JsonStr(resource.at("id"));
  const std::string base = ResourceBase(ctx);
  Params p = ReadParams(ctx);
  json::object pv{{"action", base},
                  {"q", p.q},
                  {"sort", p.sort},
                  {"dir", p.dir},
                  {"chart_on", !p.chart.empty()}};
  Status error;

  // Paging parameters are the page's own; bad ones are reported like the others.
  int64_t rows = kDefaultRows, page = 1;
  auto parse = [](const std::string& s, int64_t lo, int64_t hi, int64_t* out) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) return false;
    *out = v;
    return true;
  };
  if (!p.rows.empty() && !parse(p.rows, 1, kMaxRows, &rows))
    error = Status::InvalidArgument("Las filas por página deben ser un número entero de 1 a 100",
                                    {{"limit", "De 1 a 100"}});
  if (!p.page.empty() && !parse(p.page, 1, 1000000000, &page))
    error = Status::InvalidArgument("La página debe ser un número entero a partir de 1",
                                    {{"offset", "Un número entero a partir de 1"}});
  p.rows = std::to_string(rows);
  p.page = std::to_string(page);

  json::object in = QueryInput(rid, p);
  if (!p.sort.empty()) in["sort"] = p.sort;
  if (!p.dir.empty()) in["order"] = p.dir;
  in["limit"] = rows;
  in["offset"] = (page - 1) * rows;
  Result<json::value> found = error.ok() ? ctx.Run("datos.preview.search", in) : error;
  if (!found.ok()) {
    error = found.status();
    if (error.code() == StatusCode::kNotFound) return 200;  // no table: no preview
    // The columns for the form, from an unfiltered search that cannot fail on parameters.
    found = ctx.Run("datos.preview.search", json::object{{"resource_id", rid}, {"limit", 0}});
    if (!found.ok()) return 200;
  }
  json::object& res = found->as_object();

  std::vector<Column> columns;
  for (const auto& fv : res["fields"].as_array()) {
    const json::object& f = fv.as_object();
    std::string id = JsonStr(f.at("id"));
    if (id == "_id") continue;
    std::string label = id;
    if (const json::value* info = f.if_contains("info"))
      if (const json::value* l = info->as_object().if_contains("label")) label = JsonStr(*l);
    columns.push_back({id, label, JsonStr(f.at("type"))});
  }

  // Headers: a link that sorts by the column (ascending first, then the other way), and the
  // filter inputs, typed like the column.
  json::array cols;
  for (const Column& c : columns) {
    const bool sorted = p.sort == c.id;
    const bool desc = sorted && p.dir == "desc";
    Params next = p;
    next.sort = c.id;
    next.dir = sorted && !desc ? "desc" : "asc";
    next.page = "1";
    std::string filter;
    for (const auto& [k, v] : p.filters)
      if (k == c.id) filter = v;
    json::object col{
        {"id", c.id},
        {"label", c.label},
        {"type_label", TypeLabel(ctx, c.type)},
        {"numeric", c.type == "int" || c.type == "numeric"},
        {"sort_url", base + QueryString(next, kAll) + "#vista-previa"},
        {"sort_hint", ctx.T(next.dir == "desc" ? "datos_pv_sort_desc" : "datos_pv_sort_asc")},
        {"filter", filter}};
    if (sorted) col["aria_sort"] = desc ? "descending" : "ascending";
    if (sorted) col["arrow"] = desc ? "▼" : "▲";
    if (c.type == "int") {
      col["input"] = "number";
      col["step"] = "1";
    } else if (c.type == "numeric") {
      col["input"] = "number";
      col["step"] = "any";
    } else if (c.type == "date") {
      col["input"] = "date";
    } else {
      col["input"] = "text";
    }
    cols.push_back(std::move(col));
  }
  pv["columns"] = std::move(cols);
  pv["id_sorted"] = p.sort.empty();

  if (error.ok()) {
    const json::array& fields = res["fields"].as_array();
    json::array out_rows;
    for (const auto& rv : res["records"].as_array()) {
      const json::object& rec = rv.as_object();
      json::array cells;
      std::string id;
      for (const auto& fv : fields) {
        std::string fid = JsonStr(fv.as_object().at("id"));
        const json::value* v = rec.if_contains(fid);
        std::string t = v ? CellText(*v) : "";
        if (fid == "_id") {
          id = t;
          continue;
        }
        std::string type = JsonStr(fv.as_object().at("type"));
        cells.push_back(json::object{{"v", t}, {"num", type == "int" || type == "numeric"}});
      }
      out_rows.push_back(json::object{{"id", id}, {"cells", std::move(cells)}});
    }
    const int64_t total = res["total"].as_int64();
    const int64_t shown = static_cast<int64_t>(out_rows.size());
    const int64_t from = (page - 1) * rows;
    pv["rows"] = std::move(out_rows);
    pv["has_rows"] = shown > 0;
    pv["total"] = total;
    std::string range =
        shown > 0 ? Fill(ctx.T("datos_pv_range"), {{"{desde}", text::FormatNumber(from + 1, 0)},
                                                   {"{hasta}", text::FormatNumber(from + shown, 0)},
                                                   {"{total}", text::FormatNumber(total, 0)}})
                  : Fill(ctx.T("datos_pv_range_none"), {{"{total}", text::FormatNumber(total, 0)}});
    pv["range"] = range;
    if (page > 1) {
      Params prev = p;
      // Past the end, "previous" leads back to the last page that has rows.
      int64_t last = std::max<int64_t>(1, (total + rows - 1) / rows);
      prev.page = std::to_string(std::min(page - 1, last));
      pv["prev_url"] = base + QueryString(prev, kAll) + "#vista-previa";
    }
    if (from + shown < total) {
      Params next = p;
      next.page = std::to_string(page + 1);
      pv["next_url"] = base + QueryString(next, kAll) + "#vista-previa";
    }
    pv["csv_url"] = base + "/filas.csv" + QueryString(p, kSearch | kSort);
    if (!p.chart.empty()) {
      Status chart = AddChart(ctx, rid, p, columns, pv);
      if (!chart.ok()) error = chart;
    }
  }
  if (res.contains("geo")) {
    json::object geo = res["geo"].as_object();
    geo["points_url"] = base + "/puntos.json" + QueryString(p, kSearch);
    // The map (assets/static/mapa.js, drawn by the resource page's map partial) shows the
    // points of the rows the preview selects.
    json::object map = web::MapView("mapa-datos", ctx.T("datos_map_label"));
    map["src"] = geo["points_url"];
    map["cluster_label"] = ctx.T("datos_pv_rows_word");
    view["map"] = std::move(map);
    view["uses_map"] = true;
    view["geo"] = std::move(geo);
  }

  // The usual sizes, and the one asked for if it is another, so that the form keeps it.
  std::vector<int64_t> choices = {10, 25, 50, 100};
  if (std::find(choices.begin(), choices.end(), rows) == choices.end()) {
    choices.push_back(rows);
    std::sort(choices.begin(), choices.end());
  }
  json::array sizes;
  for (int64_t n : choices) sizes.push_back(json::object{{"value", n}, {"selected", n == rows}});
  pv["sizes"] = std::move(sizes);
  pv["chart_form"] = ChartForm(ctx, p, columns);
  pv["has_filters"] = !p.filters.empty();
  pv["filtered"] = !p.filters.empty() || !Blank(p.q) || !p.sort.empty() || !p.chart.empty();

  int status = 200;
  if (!error.ok()) {
    pv["error"] = error.code() == StatusCode::kInternal
                      ? std::string("Ocurrió un error interno. Ya quedó registrado.")
                      : error.message();
    pv["error_fields"] = FieldErrors(ctx, error);
    pv["has_error_fields"] = !error.fields().empty();
    if (error.code() == StatusCode::kInternal)
      fprintf(stderr, "internal: %s\n", error.ToString().c_str());
    status = error.HttpStatus();
  }
  view["pv"] = std::move(pv);
  return status;
}

void RegisterDatastoreViews(Registry& reg) {
  reg.AddRoute({"GET", "/datos/conjunto/{name}/recurso/{rid}/filas.csv", RowsCsv});
  reg.AddRoute({"GET", "/datos/conjunto/{name}/recurso/{rid}/puntos.json", PointsJson});
}

}  // namespace abierto::datos
