// The datastore preview of DatA-LEÓN's resource pages: a table of the rows with sorting,
// per-column filters, full-text search and paging; a bar or line chart of the filtered rows;
// a CSV download of the filtered rows; and the points of resources with coordinates for a map.
// Everything is driven by the query string of a GET form, so it works without JavaScript, and
// reads the datastore through the datos.datastore.* actions.
//
// Query parameters of the resource page (and, where they apply, of filas.csv and puntos.json):
//   q            full text over the text columns (every word, accents and case aside)
//   f.<column>   an equality filter on a column, as datastore_search's filters
//   orden, dir   the column to sort by and asc | desc
//   pagina       the page, from 1;  filas  rows per page (10, 25, 50 or 100; 25 by default)
//   grafica      barras | lineas (no chart when absent); x, y  the columns;
//   agregado     ninguno | conteo | suma | promedio
// Bad values get a message on the page (status 400), never a server error.
//
// Thread-safety: stateless functions over the request's context.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "abierto/registry.h"
#include "abierto/status.h"
#include "abierto/web.h"

namespace abierto::datos {

// The actions datos.preview.search, datos.datastore.chart and datos.datastore.points.
void RegisterDatastoreActions(Registry& registry);

// The routes of the CSV download (…/recurso/{rid}/filas.csv) and the points
// (…/recurso/{rid}/puntos.json).
void RegisterDatastoreViews(Registry& registry);

// Parses the `filters` input of the datastore actions: a JSON object from column to value (a
// string or a number), as CKAN's datastore_search takes it in a GET request. Empty text is no
// filter. InvalidArgument (field "filters") for anything else.
Result<std::vector<std::pair<std::string, std::string>>> ParseDatastoreFilters(
    std::string_view text);

// Adds the preview of a datastore resource to the view of its page: view["pv"] for the
// template datos_preview and, when the table has coordinates, view["geo"] =
// {lat_column, lon_column, points_url} for the map. `resource` is the resource dict of
// datos.resource.show. Returns the status the page should answer with: 200, or the 4xx of a
// bad parameter (the preview then shows the message and the form to correct it).
int AddDatastorePreview(web::RequestContext& ctx, const boost::json::object& resource,
                        boost::json::object& view);

}  // namespace abierto::datos
