// The web application: routing, who is calling, forms, CSRF, page rendering, the page cache.
//
// App turns the Registry into a running site. For each request it resolves the caller (session
// cookie or API bearer token), routes to a module's handler with a RequestContext, and adds the
// security headers to every response. Pages are Mustache templates (embedded assets) rendered
// inside one layout with the message catalogue of the caller's language (es-MX by default,
// English with ?lang=en or the language cookie).
//
// Anonymous GET responses that a handler marks cacheable are kept in a cache keyed by target
// and language and served from the I/O thread until the data revision changes: every committed
// write bumps the revision (in this process immediately, in other processes sharing the
// database within `revision_poll` via a cheap poll), so the public dashboard is never stale for
// longer than that and costs no database work while nothing changes.
//
// Thread-safety: App is built once; Handle/Fast are called concurrently from server threads.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "abierto/db.h"
#include "abierto/http.h"
#include "abierto/registry.h"

namespace abierto::web {

class App;

struct RequestContext {
  const http::Request& req;
  const App& app;
  db::Connection& db;
  Principal who;
  std::string session_token;  // the raw session cookie, when logged in
  std::string session_csrf;   // that session's CSRF token, read with it (one lookup a request)
  std::string lang = "es";
  std::vector<std::pair<std::string, std::string>> params;  // from the route pattern
  std::vector<std::pair<std::string, std::string>> query;   // decoded query string
  std::vector<std::string> set_cookies;
  bool cacheable = false;  // a handler sets it for public pages that are the same for everyone

  std::string Param(std::string_view name) const;
  std::string Query(std::string_view name) const;
  bool IsApi() const;  // path under /api/

  // Runs an action through the dispatcher as the caller.
  Result<boost::json::value> Run(std::string_view action, const boost::json::object& input);

  // A message of the catalogue in the caller's language (the key itself if missing).
  std::string T(std::string_view key) const;

  // The CSRF token to put in a form (session-bound when logged in; otherwise a cookie is set).
  std::string FormToken();
  // Reads a POSTed form (urlencoded or multipart; files become {name, content_type, data}) or
  // JSON object body, and checks the CSRF token (form field `_csrf` or header X-CSRF-Token;
  // requests with an API token need none). InvalidArgument / PermissionDenied on failure.
  Result<boost::json::object> ReadInput();

  // A page: `tmpl` rendered with `view` (plus common keys: t, user, lang, csrf, path) inside
  // the layout.
  http::Response Page(std::string_view tmpl, boost::json::object view, std::string title,
                      int status = 200);
  http::Response Json(const boost::json::value& v, int status = 200);
  // An error as an HTML page (with field errors) or, under /api/, a JSON error object.
  http::Response Error(const Status& s);
  http::Response Redirect(std::string location);  // 303 See Other
  http::Response Download(std::string body, std::string content_type, std::string filename);
};

struct Config {
  std::string db_url = "sqlite:var/abierto.db";
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  bool secure_cookies = false;  // set the Secure flag: behind TLS
  bool access_log = true;
  int io_threads = 0;
  int worker_threads = 0;
  std::string site_url = "http://127.0.0.1:8080";  // for feeds and absolute links
  std::chrono::milliseconds revision_poll{500};
  size_t max_body_bytes = 16 * 1024 * 1024;
  // Map tiles for the pages that show a map: a URL template with {z}, {x} and {y} (and
  // optionally {s} as the first label of the host, for servers with subdomains), either absolute
  // (http or https) or a path on this site. "none" turns maps off: pages show their lists only.
  // The Content-Security-Policy allows images from the template's origin.
  std::string tile_url = std::string(kDefaultTileUrl);
  // Credit shown on the map, plain text, and where it links. Empty with the default tile server:
  // the catalogue's OpenStreetMap credit in the page's language and OSM's copyright page.
  std::string tile_attribution;
  std::string tile_attribution_url;

  static constexpr std::string_view kDefaultTileUrl =
      "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
};

// The CSP source that covers the tiles of `tile_url` ("https://tile.example.org",
// "https://*.tile.example.org" for an {s} host, "" for a path on this site or "none").
// InvalidArgument with a message naming what is wrong (not http/https, no {z}/{x}/{y},
// characters that do not belong in a URL or would break the header).
Result<std::string> TileOrigin(std::string_view tile_url);

// Checks the map settings of a Config (the tile URL and the attribution link); InvalidArgument
// with a message for the command line.
Status ValidateMapConfig(const Config& config);

// The security headers every response carries, with `tile_origin` (from TileOrigin) added to
// the policy's img-src. Built once at start-up.
std::vector<std::pair<std::string, std::string>> BuildSecurityHeaders(std::string_view tile_origin);

// JSON to embed in a <script type="application/json"> block through an unescaped template tag:
// '<', '>', '&' and the line separators U+2028/2029 are written as \u escapes, so the text can
// neither close the element nor be read as markup, and JSON.parse gives back the same value.
std::string JsonForScript(const boost::json::value& v);

using ModuleRegistrar = void (*)(Registry&);

class App {
 public:
  // Opens the database and registers the modules listed by main.
  static Result<std::unique_ptr<App>> Create(Config config,
                                             const std::vector<ModuleRegistrar>& modules);
  ~App();

  Status Migrate();
  // Loads every module's demo content into an empty database.
  Status LoadDemo();
  // Serves until SIGINT/SIGTERM. Returns a process exit code.
  int Serve();

  // The two stages of the HTTP server (public for tests).
  std::optional<http::Response> Fast(const http::Request& req) const;
  http::Response Handle(const http::Request& req) const;

  const Config& config() const { return config_; }
  const Registry& registry() const { return registry_; }
  const Dispatcher& dispatcher() const { return dispatcher_; }
  db::Database& database() const { return *database_; }
  // A connection for the calling thread (each worker thread keeps its own).
  Result<db::Connection*> ThreadConnection() const;

  // Renders a named template (no layout) with the view; Internal on a template error.
  Result<std::string> RenderTemplate(std::string_view name, const boost::json::value& view) const;
  const boost::json::object& Messages(std::string_view lang) const;
  const http::Metrics* metrics() const;
  // The security headers of every response (the server's own error responses too), built
  // from the configuration once in Create.
  const std::vector<std::pair<std::string, std::string>>& security_headers() const;
  // Adds them to a response.
  void AddSecurityHeaders(http::Response& r) const;

 private:
  App() = default;
  struct Impl;
  Config config_;
  Registry registry_;
  Dispatcher dispatcher_{registry_};
  std::unique_ptr<db::Database> database_;
  std::unique_ptr<Impl> impl_;
  friend struct RequestContext;
};

// The view of a map for the partial assets/templates/map.html (drawn by assets/static/mapa.js),
// with every key it reads present: set `src` (a GeoJSON or points URL) or `data_id` + `json`,
// and optionally `cluster_label` and `zoom`. Pages that show one also set `uses_map`.
boost::json::object MapView(std::string id, std::string label);

// Parses multipart/form-data; InvalidArgument on a malformed body.
Result<boost::json::object> ParseMultipart(std::string_view content_type, std::string_view body);

}  // namespace abierto::web

namespace abierto::web {
// The platform's own routes: /healthz, /metrics, login and logout, language, the generic
// action forms under /panel/accion/{name} and the action API under /api/v1/actions.
void RegisterWeb(Registry& registry);
}  // namespace abierto::web
