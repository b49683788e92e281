// The web application core. Handlers stay thin; everything shared lives here once: caller
// resolution, routing, CSRF, the layout, error pages, the cache and the generic action forms.
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "abierto/accounts.h"
#include "abierto/assets.h"
#include "abierto/json.h"
#include "abierto/template.h"
#include "abierto/text.h"
#include "abierto/web.h"

namespace abierto::web {

namespace json = boost::json;

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

constexpr char kLangCookie[] = "abierto_idioma";
constexpr char kCsrfCookie[] = "abierto_csrf";

struct CompiledRoute {
  std::string method;
  std::vector<std::string> segments;
  std::string pattern;
  std::function<http::Response(RequestContext&)> handler;
  bool own_credentials;
};

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool Match(const CompiledRoute& r, const std::vector<std::string>& segs,
           std::vector<std::pair<std::string, std::string>>* params) {
  if (r.segments.size() != segs.size()) return false;
  params->clear();
  for (size_t i = 0; i < segs.size(); ++i) {
    const std::string& p = r.segments[i];
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      if (segs[i].empty()) return false;
      params->emplace_back(p.substr(1, p.size() - 2), segs[i]);
    } else if (p != segs[i]) {
      return false;
    }
  }
  return true;
}

std::string Cookie(std::string_view name, std::string_view value, bool secure,
                   int max_age_seconds) {
  std::string c(name);
  c += "=";
  c += value;
  c += "; Path=/; HttpOnly; SameSite=Lax";
  if (secure) c += "; Secure";
  if (max_age_seconds >= 0) c += "; Max-Age=" + std::to_string(max_age_seconds);
  return c;
}

std::string ContentTypeFor(std::string_view path) {
  auto ends = [&](std::string_view s) {
    return path.size() >= s.size() && path.substr(path.size() - s.size()) == s;
  };
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

// Whether a request carries an API token: "Authorization" (Bearer, or CKAN's bare token) or the
// "X-CKAN-API-Key" header older CKAN clients send. Such a request needs no CSRF token (no
// ambient credential is involved; a cross-site form cannot set these headers) and never reads
// or fills the page cache (it may see drafts).
bool CarriesApiToken(const http::Request& req) {
  return !req.Header("authorization").empty() || !req.Header("x-ckan-api-key").empty();
}

// A local path to go back to after a form; anything else (another host, a scheme) is refused
// so that the login form cannot be used as an open redirect.
std::string SafeNext(std::string_view next, std::string_view fallback) {
  if (next.size() > 1 && next[0] == '/' && next[1] != '/' && next[1] != '\\' &&
      next.find("://") == std::string_view::npos && text::IsValidUtf8(next) &&
      !text::HasControlChars(next, false))
    return std::string(next);
  return std::string(fallback);
}

}  // namespace

// Apps are told apart by a number never reused, unlike their addresses: a test that destroys
// one app and creates the next may get the same address.
namespace {
std::atomic<uint64_t> next_app_instance{0};
}  // namespace

struct App::Impl {
  const uint64_t instance = ++next_app_instance;
  std::vector<CompiledRoute> routes;
  std::unique_ptr<tmpl::TemplateSet> templates;
  json::object messages_es, messages_en;
  mutable std::atomic<int64_t> revision{0};
  mutable std::shared_mutex cache_mu;
  struct Entry {
    int64_t revision;
    http::Response response;
  };
  mutable std::unordered_map<std::string, std::shared_ptr<const Entry>> cache;
  http::Server* server = nullptr;
  std::atomic<bool> stopping{false};
  std::vector<std::pair<std::string, std::string>> security_headers;
  // The map settings pages get as `tiles` ({url, attribution, attribution_url}) in each
  // language, or null when maps are off.
  json::value tiles_es, tiles_en;

  void Bump(int64_t rev) const {
    int64_t cur = revision.load();
    while (rev > cur && !revision.compare_exchange_weak(cur, rev)) {
    }
  }
};

Result<std::string> TileOrigin(std::string_view url) {
  auto bad = [&](std::string why) {
    return Status::InvalidArgument("URL de mosaicos del mapa no válida (" + std::string(url) +
                                   "): " + why);
  };
  if (url == "none") return std::string();
  if (url.empty()) return bad("está vacía; usa \"none\" para no mostrar mapas");
  if (url.size() > 500) return bad("es demasiado larga");
  // The origin goes into the Content-Security-Policy header and the template into an HTML
  // attribute: anything that could end a directive, a source list or the attribute is refused.
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f ||
        c == ';' || c == ',' || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\')
      return bad("contiene espacios u otros caracteres que no van en una URL");
  std::string scheme;
  if (url.rfind("https://", 0) == 0) {
    scheme = "https://";
  } else if (url.rfind("http://", 0) == 0) {
    scheme = "http://";
  } else if (url.front() != '/' || (url.size() > 1 && url[1] == '/')) {
    return bad("debe empezar con https://, http:// o / (una ruta de este mismo sitio)");
  }
  for (const char* part : {"{z}", "{x}", "{y}"})
    if (url.find(part) == std::string_view::npos) return bad(std::string("le falta ") + part);
  // Tiles served by this same site (a reverse proxy in front of a tile server): 'self'.
  if (scheme.empty()) return std::string();
  std::string_view rest;
  rest = url.substr(scheme.size());
  std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.size() == rest.size()) return bad("le falta la ruta después del servidor");
  std::string_view host = authority, port;
  if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return bad("el puerto no es un número");
  }
  std::string csp_host;
  // {s} picks one of several subdomains: the policy allows all of them with a wildcard, which
  // CSP only accepts as the first label.
  if (host.rfind("{s}.", 0) == 0) {
    csp_host = "*.";
    host.remove_prefix(4);
  }
  if (host.empty() || host.front() == '.' || host.back() == '.' || host.front() == '-')
    return bad("el nombre del servidor no es válido");
  for (char c : host)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '-'))
      return bad("el nombre del servidor no es válido ({s} solo puede ir al principio)");
  csp_host += host;
  for (char& c : csp_host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return scheme + csp_host + (port.empty() ? "" : ":" + std::string(port));
}

Status ValidateMapConfig(const Config& c) {
  RETURN_IF_ERROR(TileOrigin(c.tile_url).status());
  const std::string& link = c.tile_attribution_url;
  if (!link.empty() && ((link.rfind("https://", 0) != 0 && link.rfind("http://", 0) != 0) ||
                        link.size() > 500 || std::any_of(link.begin(), link.end(), [](char ch) {
                          return static_cast<unsigned char>(ch) <= 0x20 || ch == '"' || ch == '<' ||
                                 ch == '>';
                        })))
    return Status::InvalidArgument("La liga de la atribución del mapa no es una URL http(s): " +
                                   link);
  if (c.tile_attribution.size() > 300 || !text::IsValidUtf8(c.tile_attribution) ||
      text::HasControlChars(c.tile_attribution, false))
    return Status::InvalidArgument(
        "La atribución del mapa debe ser texto de una línea (hasta 300 caracteres)");
  return Status::Ok();
}

std::vector<std::pair<std::string, std::string>> BuildSecurityHeaders(
    std::string_view tile_origin) {
  std::string img = "img-src 'self' data:";
  if (!tile_origin.empty()) img += " " + std::string(tile_origin);
  return {
      {"Content-Security-Policy",
       "default-src 'self'; script-src 'self'; style-src 'self'; " + img +
           "; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "strict-origin-when-cross-origin"},
      {"X-Frame-Options", "DENY"},
      {"Permissions-Policy", "geolocation=(), camera=(), microphone=()"},
  };
}

std::string JsonForScript(const json::value& v) {
  std::string s = JsonText(v);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xe2' && i + 2 < s.size() && s[i + 1] == '\x80' &&
               (s[i + 2] == '\xa8' || s[i + 2] == '\xa9')) {
      out += s[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

const std::vector<std::pair<std::string, std::string>>& App::security_headers() const {
  return impl_->security_headers;
}

json::object MapView(std::string id, std::string label) {
  return {{"id", std::move(id)}, {"label", std::move(label)}, {"src", ""}, {"data_id", ""},
          {"json", ""},          {"cluster_label", ""},       {"zoom", ""}};
}

void App::AddSecurityHeaders(http::Response& r) const {
  for (const auto& [k, v] : impl_->security_headers) r.SetHeader(k, v);
}

// ---------------------------------------------------------------------------------------------
// RequestContext

std::string RequestContext::Param(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return "";
}

std::string RequestContext::Query(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return "";
}

bool RequestContext::IsApi() const { return req.path.rfind("/api/", 0) == 0; }

Result<json::value> RequestContext::Run(std::string_view action, const json::object& input) {
  return app.dispatcher().Run(db, who, action, input);
}

std::string RequestContext::T(std::string_view key) const {
  const json::object& m = app.Messages(lang);
  if (const json::value* v = m.if_contains(key); v && v->is_string())
    return std::string(v->get_string());
  return std::string(key);
}

std::string RequestContext::FormToken() {
  cacheable = false;
  if (who.authenticated() && !session_csrf.empty()) return session_csrf;
  std::string c = req.Cookie(kCsrfCookie);
  if (c.size() >= 32) return c;
  // Anonymous forms (login) use a double-submit cookie: a cross-site page can make the browser
  // send the cookie but cannot read it to put the same value in the form.
  std::string token = accounts::RandomToken();
  set_cookies.push_back(Cookie(kCsrfCookie, token, app.config().secure_cookies, -1));
  // Remember it for the rest of this request, so two forms on one page agree.
  const_cast<http::Request&>(req).headers.emplace_back("cookie",
                                                       std::string(kCsrfCookie) + "=" + token);
  return token;
}

Result<json::object> RequestContext::ReadInput() {
  std::string_view ct = req.Header("content-type");
  json::object in;
  if (ct.rfind("application/json", 0) == 0) {
    boost::system::error_code ec;
    json::value v = json::parse(req.body, ec);
    if (ec) return Status::InvalidArgument("El cuerpo no es JSON válido");
    if (!v.is_object()) return Status::InvalidArgument("Se esperaba un objeto JSON");
    in = std::move(v.get_object());
    // Files in JSON arrive as {name, content_type, data_base64}.
    for (auto& kv : in) {
      if (!kv.value().is_object()) continue;
      json::object& o = kv.value().get_object();
      if (const json::value* b = o.if_contains("data_base64"); b && b->is_string()) {
        std::string_view s = b->get_string();
        std::string bin(s.size(), '\0');
        size_t len = 0;
        if (sodium_base642bin(reinterpret_cast<unsigned char*>(bin.data()), bin.size(), s.data(),
                              s.size(), nullptr, &len, nullptr,
                              sodium_base64_VARIANT_ORIGINAL) != 0)
          return Status::InvalidArgument("Archivo en base64 no válido",
                                         {{std::string(kv.key()), "base64 no válido"}});
        bin.resize(len);
        o["data"] = json::string(bin);
        o.erase("data_base64");
      }
    }
  } else if (ct.rfind("multipart/form-data", 0) == 0) {
    ASSIGN_OR_RETURN(in, ParseMultipart(ct, req.body));
  } else if (ct.rfind("application/x-www-form-urlencoded", 0) == 0 || ct.empty()) {
    for (auto& [k, v] : http::ParseQuery(req.body)) in[k] = v;
  } else {
    return Status::InvalidArgument("Tipo de contenido no soportado");
  }
  // Programs with an API token are not exposed to CSRF: no ambient credential is involved.
  if (CarriesApiToken(req)) return in;
  std::string sent;
  if (const json::value* v = in.if_contains("_csrf"); v && v->is_string())
    sent = std::string(v->get_string());
  if (sent.empty()) sent = std::string(req.Header("x-csrf-token"));
  std::string expected;
  if (who.authenticated() && !session_token.empty()) {
    expected = session_csrf;
  } else {
    expected = req.Cookie(kCsrfCookie);
  }
  if (sent.empty() || expected.empty() || !accounts::SafeEquals(sent, expected))
    return Status::PermissionDenied(
        "El formulario caducó o no es válido (token CSRF). Vuelve a cargar la página e "
        "inténtalo de nuevo.");
  in.erase("_csrf");
  return in;
}

http::Response RequestContext::Page(std::string_view tmpl, json::object view, std::string title,
                                    int status) {
  http::Response r;
  r.status = status;
  view["lang"] = lang;
  view["path"] = req.path;
  view["t"] = app.Messages(lang);
  if (who.authenticated()) {
    view["user"] = json::object{{"name", who.name},
                                {"email", who.email},
                                {"role", RoleName(who.role)},
                                {"staff", who.role != Role::kCiudadano}};
    view["csrf"] = FormToken();
  }
  if (!view.contains("tiles"))
    view["tiles"] = lang == "en" ? app.impl_->tiles_en : app.impl_->tiles_es;
  view["lang_other"] = lang == "es" ? "en" : "es";
  view["lang_other_label"] = lang == "es" ? "English" : "Español";
  auto body = app.RenderTemplate(tmpl, view);
  if (!body.ok()) {
    fprintf(stderr, "template %.*s: %s\n", static_cast<int>(tmpl.size()), tmpl.data(),
            body.status().ToString().c_str());
    r.status = 500;
    r.body = "Error interno al generar la página";
    return r;
  }
  view["body"] = std::move(body.value());
  view["title"] = title;
  auto page = app.RenderTemplate("layout", view);
  if (!page.ok()) {
    r.status = 500;
    r.body = "Error interno al generar la página";
    return r;
  }
  r.body = std::move(page.value());
  return r;
}

http::Response RequestContext::Json(const json::value& v, int status) {
  http::Response r;
  r.status = status;
  r.content_type = "application/json; charset=utf-8";
  r.body = JsonText(v);
  return r;
}

http::Response RequestContext::Error(const Status& s) {
  cacheable = false;
  if (s.code() == StatusCode::kInternal) fprintf(stderr, "internal: %s\n", s.ToString().c_str());
  // Internal details stay in the log; users get a generic message.
  std::string message = s.code() == StatusCode::kInternal
                            ? "Ocurrió un error interno. Ya quedó registrado."
                            : s.message();
  if (IsApi() || req.Header("accept").find("application/json") == 0) {
    json::object fields;
    for (const FieldError& f : s.fields()) fields[f.field] = f.message;
    json::object err{{"code", s.CodeName()}, {"message", message}};
    if (!fields.empty()) err["fields"] = std::move(fields);
    return Json(json::object{{"error", std::move(err)}}, s.HttpStatus());
  }
  json::array fields;
  for (const FieldError& f : s.fields())
    fields.push_back(json::object{{"field", T("field." + f.field)}, {"message", f.message}});
  json::object view{{"status", s.HttpStatus()},
                    {"message", message},
                    {"fields", fields},
                    {"login", s.code() == StatusCode::kUnauthenticated}};
  return Page("error", std::move(view), T("error.title"), s.HttpStatus());
}

http::Response RequestContext::Redirect(std::string location) {
  http::Response r;
  r.status = 303;
  r.SetHeader("Location", std::move(location));
  r.body.clear();
  return r;
}

http::Response RequestContext::Download(std::string body, std::string content_type,
                                        std::string filename) {
  http::Response r;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  std::string ascii;
  for (char c : filename)
    ascii += (static_cast<unsigned char>(c) < 0x80 && c != '"' && c != '\\' && c >= 0x20) ? c : '_';
  r.SetHeader("Content-Disposition", "attachment; filename=\"" + ascii + "\"");
  return r;
}

// ---------------------------------------------------------------------------------------------
// Multipart

Result<json::object> ParseMultipart(std::string_view content_type, std::string_view body) {
  size_t b = content_type.find("boundary=");
  if (b == std::string_view::npos) return Status::InvalidArgument("Falta el boundary");
  std::string_view boundary = content_type.substr(b + 9);
  if (size_t semi = boundary.find(';'); semi != std::string_view::npos)
    boundary = boundary.substr(0, semi);
  if (boundary.size() >= 2 && boundary.front() == '"' && boundary.back() == '"')
    boundary = boundary.substr(1, boundary.size() - 2);
  if (boundary.empty() || boundary.size() > 200)
    return Status::InvalidArgument("Boundary no válido");
  std::string delim = "--" + std::string(boundary);
  json::object out;
  size_t pos = body.find(delim);
  if (pos == std::string_view::npos) return Status::InvalidArgument("Cuerpo multipart no válido");
  while (true) {
    pos += delim.size();
    if (body.substr(pos, 2) == "--") break;  // closing delimiter
    if (body.substr(pos, 2) != "\r\n") return Status::InvalidArgument("Cuerpo multipart no válido");
    pos += 2;
    size_t hend = body.find("\r\n\r\n", pos);
    if (hend == std::string_view::npos)
      return Status::InvalidArgument("Cuerpo multipart no válido");
    std::string_view headers = body.substr(pos, hend - pos);
    size_t next = body.find("\r\n" + delim, hend + 4);
    if (next == std::string_view::npos)
      return Status::InvalidArgument("Cuerpo multipart incompleto");
    std::string_view data = body.substr(hend + 4, next - hend - 4);
    std::string name, filename, ctype = "application/octet-stream";
    bool has_filename = false;
    size_t i = 0;
    while (i < headers.size()) {
      size_t e = headers.find("\r\n", i);
      if (e == std::string_view::npos) e = headers.size();
      std::string_view line = headers.substr(i, e - i);
      std::string lower(line);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower.rfind("content-disposition:", 0) == 0) {
        auto param = [&](std::string_view key, std::string* v) {
          size_t p = lower.find(std::string("; ") + std::string(key) + "=\"");
          if (p == std::string::npos) return false;
          p += key.size() + 4;
          size_t q = line.find('"', p);
          if (q == std::string_view::npos) return false;
          *v = std::string(line.substr(p, q - p));
          return true;
        };
        param("name", &name);
        has_filename = param("filename", &filename);
      } else if (lower.rfind("content-type:", 0) == 0) {
        ctype = std::string(Trim(line.substr(13)));
      }
      i = e + 2;
    }
    if (name.empty()) return Status::InvalidArgument("Parte multipart sin nombre");
    if (has_filename) {
      if (!filename.empty() || !data.empty()) {
        // Keep only the last path component: browsers on Windows may send "C:\x\y.pdf".
        size_t slash = filename.find_last_of("/\\");
        if (slash != std::string::npos) filename = filename.substr(slash + 1);
        out[name] =
            json::object{{"name", filename}, {"content_type", ctype}, {"data", json::string(data)}};
      }
    } else {
      out[name] = json::string(data);
    }
    pos = next + 2;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// App

App::~App() = default;

Result<std::unique_ptr<App>> App::Create(Config config,
                                         const std::vector<ModuleRegistrar>& modules) {
  std::unique_ptr<App> app(new App());
  app->config_ = std::move(config);
  app->impl_ = std::make_unique<Impl>();
  if (!accounts::InitCrypto()) return Status::Internal("No se pudo iniciar libsodium");
  ASSIGN_OR_RETURN(app->database_, db::Open(app->config_.db_url));
  for (ModuleRegistrar m : modules) m(app->registry_);

  Impl& im = *app->impl_;
  App* self = app.get();
  app->registry_.SetRevisionListener([self](int64_t rev) { self->impl_->Bump(rev); });

  // Templates: every embedded .html, named by its file name without extension.
  std::vector<tmpl::TemplateSource> sources;
  for (std::string_view path : assets::List()) {
    if (path.size() < 5 || path.substr(path.size() - 5) != ".html") continue;
    size_t slash = path.rfind('/');
    std::string_view name = path.substr(slash + 1, path.size() - slash - 6);
    sources.push_back({name, *assets::Find(path)});
  }
  ASSIGN_OR_RETURN(auto set, tmpl::TemplateSet::Compile(sources));
  im.templates = std::make_unique<tmpl::TemplateSet>(std::move(set));
  for (auto [lang, target] : {std::pair{"es", &im.messages_es}, std::pair{"en", &im.messages_en}}) {
    auto src = assets::Find(std::string("assets/i18n/") + lang + ".json");
    if (!src) return Status::Internal(std::string("Falta el catálogo ") + lang);
    boost::system::error_code ec;
    json::value v = json::parse(*src, ec);
    if (ec || !v.is_object()) return Status::Internal(std::string("Catálogo no válido: ") + lang);
    *target = std::move(v.get_object());
  }
  // English falls back to Spanish key by key, so a missing translation never shows a key.
  for (const auto& kv : im.messages_es)
    if (!im.messages_en.contains(kv.key())) im.messages_en[kv.key()] = kv.value();

  for (const Route& r : app->registry_.routes())
    im.routes.push_back({r.method, Split(r.pattern), r.pattern, r.handler, r.own_credentials});

  // One policy for the whole process, from the configuration: the app's responses and the
  // server's own error responses use the same list.
  RETURN_IF_ERROR(ValidateMapConfig(app->config_));
  ASSIGN_OR_RETURN(std::string tile_origin, TileOrigin(app->config_.tile_url));
  im.security_headers = BuildSecurityHeaders(tile_origin);
  if (app->config_.tile_url != "none") {
    const Config& c = app->config_;
    bool osm = c.tile_url == Config::kDefaultTileUrl && c.tile_attribution.empty();
    for (auto [msgs, target] :
         {std::pair{&im.messages_es, &im.tiles_es}, std::pair{&im.messages_en, &im.tiles_en}}) {
      std::string credit = c.tile_attribution;
      const json::value* m = msgs->if_contains("map_osm_attribution");
      if (osm) credit = m && m->is_string() ? std::string(m->get_string()) : "© OpenStreetMap";
      std::string link = c.tile_attribution_url;
      if (osm && link.empty()) link = "https://www.openstreetmap.org/copyright";
      *target =
          json::object{{"url", c.tile_url}, {"attribution", credit}, {"attribution_url", link}};
    }
  }
  return app;
}

const json::object& App::Messages(std::string_view lang) const {
  return lang == "en" ? impl_->messages_en : impl_->messages_es;
}

Result<std::string> App::RenderTemplate(std::string_view name, const json::value& view) const {
  return impl_->templates->Render(name, view);
}

Result<db::Connection*> App::ThreadConnection() const {
  // One connection per thread and per App (tests run several apps in one process).
  thread_local std::unordered_map<uint64_t, std::unique_ptr<db::Connection>> conns;
  auto& c = conns[impl_->instance];
  if (!c) {
    ASSIGN_OR_RETURN(c, database_->Connect());
  }
  return c.get();
}

Status App::Migrate() {
  ASSIGN_OR_RETURN(db::Connection * c, ThreadConnection());
  return db::Migrate(*c, registry_.migrations());
}

Status App::LoadDemo() {
  ASSIGN_OR_RETURN(db::Connection * c, ThreadConnection());
  DemoContext ctx{*c, dispatcher_};
  for (const Registry::Demo& d : registry_.demos()) {
    Status s = d.load(ctx);
    if (!s.ok())
      return Status::Internal("Contenido de demostración de " + d.module + ": " + s.ToString());
  }
  return Status::Ok();
}

const http::Metrics* App::metrics() const {
  return impl_->server ? &impl_->server->metrics() : nullptr;
}

namespace {
std::string CacheKey(const http::Request& req) {
  std::string lang = req.Cookie(kLangCookie);
  std::string key = lang == "en" ? "en " : "es ";
  key += req.target;
  return key;
}
bool MayUseCache(const http::Request& req) {
  return (req.method == "GET" || req.method == "HEAD") && !CarriesApiToken(req) &&
         req.Cookie(accounts::kSessionCookie).empty();
}
}  // namespace

std::optional<http::Response> App::Fast(const http::Request& req) const {
  if (req.method != "GET" && req.method != "HEAD") return std::nullopt;
  if (req.path.rfind("/static/", 0) == 0) {
    auto data = assets::Find("assets" + req.path);
    http::Response r;
    r.route = "/static/{file}";
    if (!data) {
      r.status = 404;
      r.content_type = "text/plain; charset=utf-8";
      r.body = "No encontrado";
    } else {
      r.content_type = ContentTypeFor(req.path);
      r.body = std::string(*data);  // small files; the cache below handles the hot pages
      r.SetHeader("Cache-Control", "public, max-age=3600");
    }
    AddSecurityHeaders(r);
    return r;
  }
  if (!MayUseCache(req)) return std::nullopt;
  std::shared_ptr<const Impl::Entry> e;
  {
    std::shared_lock lock(impl_->cache_mu);
    auto it = impl_->cache.find(CacheKey(req));
    if (it == impl_->cache.end()) return std::nullopt;
    e = it->second;
  }
  if (e->revision != impl_->revision.load(std::memory_order_relaxed)) return std::nullopt;
  return e->response;
}

namespace {

json::array FieldsView(RequestContext& ctx, const Action& a, const json::object& values,
                       const std::vector<FieldError>& errors) {
  json::array out;
  for (const Field& f : a.input) {
    if (!f.in_forms) continue;
    json::object fv{{"name", f.name},
                    {"label", ctx.T("field." + f.name)},
                    {"required", f.required},
                    {"id", "f-" + f.name}};
    std::string help = ctx.T("help." + f.name);
    if (help != "help." + f.name) fv["help"] = help;
    std::string value;
    if (const json::value* v = values.if_contains(f.name); v && f.type != FieldType::kPassword) {
      if (v->is_string())
        value = std::string(v->get_string());
      else if (!v->is_object())
        value = JsonText(*v);
    }
    fv["value"] = value;
    const char* kind = "text";
    switch (f.type) {
      case FieldType::kText:
        fv["textarea"] = true;
        break;
      case FieldType::kInt:
      case FieldType::kId:
        kind = "number";
        break;
      case FieldType::kNumber:
        kind = "text";
        fv["inputmode"] = "decimal";
        break;
      case FieldType::kDate:
        kind = "date";
        break;
      case FieldType::kUrl:
        kind = "url";
        break;
      case FieldType::kEmail:
        kind = "email";
        break;
      case FieldType::kPassword:
        kind = "password";
        break;
      case FieldType::kFile:
        kind = "file";
        break;
      case FieldType::kBool:
        fv["checkbox"] = true;
        fv["checked"] = value == "true" || value == "1" || value == "on";
        break;
      case FieldType::kEnum: {
        json::array opts;
        for (const std::string& c : f.choices)
          opts.push_back(json::object{
              {"value", c}, {"label", ctx.T("choice." + c)}, {"selected", c == value}});
        fv["select"] = true;
        fv["options"] = std::move(opts);
        break;
      }
      default:
        break;
    }
    if (!f.options.empty()) {
      // Choices come from a read action, run as the caller: they see what they may see.
      json::array opts;
      if (auto r = ctx.Run(f.options, json::object{}); r.ok() && r->is_array()) {
        for (const json::value& o : r->as_array()) {
          if (!o.is_object()) continue;
          const json::object& obj = o.as_object();
          const json::value* id = obj.if_contains("id");
          if (!id) id = obj.if_contains("value");
          const json::value* label = obj.if_contains("label");
          if (!label) label = obj.if_contains("name");
          if (!id || !label || !label->is_string()) continue;
          std::string v = id->is_string() ? std::string(id->get_string()) : JsonText(*id);
          opts.push_back(json::object{{"value", v}, {"label", *label}, {"selected", v == value}});
        }
      }
      fv["select"] = true;
      fv["options"] = std::move(opts);
    }
    fv["type"] = kind;
    // Ids given in the link (the action this report is about) are context, not a question.
    if (f.type == FieldType::kId && !value.empty() && values.contains("_prefilled_" + f.name))
      fv["hidden"] = true;
    // Always present, so a valid field never inherits the form-wide error from an outer scope.
    fv["error"] = "";
    for (const FieldError& e : errors)
      if (e.field == f.name) fv["error"] = e.message;
    out.push_back(std::move(fv));
  }
  return out;
}

http::Response ActionForm(RequestContext& ctx, const Action& a, json::object values,
                          const Status& error) {
  std::vector<FieldError> errors = error.fields();
  json::object view{
      {"action", a.name},
      {"heading", ctx.T("action." + a.name)},
      {"fields", FieldsView(ctx, a, values, errors)},
      {"multipart", std::any_of(a.input.begin(), a.input.end(),
                                [](const Field& f) { return f.type == FieldType::kFile; })},
      {"csrf", ctx.FormToken()},
      {"next", SafeNext(ctx.Query("next"), "/panel")}};
  if (!error.ok()) view["error"] = error.message();
  return ctx.Page("form", std::move(view), ctx.T("action." + a.name),
                  error.ok() ? 200 : error.HttpStatus());
}

}  // namespace

http::Response App::Handle(const http::Request& req) const {
  http::Response r;
  auto conn = ThreadConnection();
  if (!conn.ok()) {
    r.status = 503;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "Base de datos no disponible";
    AddSecurityHeaders(r);
    return r;
  }
  int64_t revision_before = impl_->revision.load();
  RequestContext ctx{req, *this, **conn};
  ctx.who.client_ip = req.remote_address;
  ctx.query = http::ParseQuery(req.query);
  std::string lang = ctx.Query("lang");
  if (lang != "es" && lang != "en") lang = req.Cookie(kLangCookie);
  ctx.lang = lang == "en" ? "en" : "es";

  std::vector<std::string> segs = Split(req.path);
  const CompiledRoute* found = nullptr;
  bool path_matched = false;
  for (const CompiledRoute& cr : impl_->routes) {
    std::vector<std::pair<std::string, std::string>> params;
    if (!Match(cr, segs, &params)) continue;
    path_matched = true;
    if (cr.method == req.method || (cr.method == "GET" && req.method == "HEAD")) {
      found = &cr;
      ctx.params = std::move(params);
      break;
    }
  }

  // Who is calling: an API token, or a browser session.
  std::string_view auth = req.Header("authorization");
  Status auth_error;
  if (!auth.empty()) {
    if (found && found->own_credentials) {
      // The handler reads the header itself.
    } else if (auth.rfind("Bearer ", 0) == 0) {
      auto p = accounts::LookupApiToken(ctx.db, auth.substr(7));
      if (p.ok()) {
        std::string ip = ctx.who.client_ip;
        ctx.who = std::move(p.value());
        ctx.who.client_ip = ip;
      } else {
        auth_error = p.status();
      }
    } else {
      auth_error = Status::Unauthenticated("Encabezado Authorization no válido");
    }
  } else if (!req.Header("x-ckan-api-key").empty() && !(found && found->own_credentials)) {
    // Only the CKAN API reads it; elsewhere it must not pass for anonymous (nor skip CSRF).
    auth_error = Status::Unauthenticated(
        "X-CKAN-API-Key solo se acepta en /api/3; use Authorization: Bearer <token>");
  } else if (std::string tok = req.Cookie(accounts::kSessionCookie); !tok.empty()) {
    auto s = accounts::LookupSession(ctx.db, tok, text::NowIso());
    if (s.ok()) {
      std::string ip = ctx.who.client_ip;
      ctx.who = std::move(s->who);
      ctx.who.client_ip = ip;
      ctx.session_token = tok;
      ctx.session_csrf = std::move(s->csrf);
    }
  }

  if (!auth_error.ok()) {
    r = ctx.Error(auth_error);
  } else if (!found) {
    r = ctx.Error(path_matched ? Status::InvalidArgument("Método no permitido en esta dirección")
                               : Status::NotFound("La página que buscas no existe"));
    if (path_matched) r.status = 405;
    r.route = path_matched ? "-" : "other";
  } else {
    r = found->handler(ctx);
    r.route = found->pattern;
  }
  for (std::string& c : ctx.set_cookies) r.headers.emplace_back("Set-Cookie", std::move(c));
  AddSecurityHeaders(r);
  // A response that sets a cookie is never cached: every visitor would get the same cookie (a
  // CSRF token meant for one browser, say).
  if (ctx.cacheable && r.status == 200 && !r.stream && ctx.set_cookies.empty() &&
      MayUseCache(req) && req.method == "GET") {
    // The cached copy shares its body with every response served from it.
    auto e = std::make_shared<Impl::Entry>(Impl::Entry{revision_before, r});
    e->response.shared_body = std::make_shared<const std::string>(std::move(e->response.body));
    e->response.body.clear();
    std::unique_lock lock(impl_->cache_mu);
    // A bounded cache: public URLs with arbitrary query strings must not grow memory forever.
    if (impl_->cache.size() > 2000) impl_->cache.clear();
    impl_->cache[CacheKey(req)] = std::move(e);
  }
  return r;
}

int App::Serve() {
  http::Options o;
  o.host = config_.host;
  o.port = config_.port;
  o.io_threads = config_.io_threads;
  o.worker_threads = config_.worker_threads;
  o.access_log = config_.access_log;
  o.max_body_bytes = config_.max_body_bytes;
  o.default_headers = impl_->security_headers;
  http::Server server(
      o, [this](const http::Request& q) { return Fast(q); },
      [this](const http::Request& q) { return Handle(q); });
  impl_->server = &server;
  std::string err;
  if (!server.Listen(&err)) {
    fprintf(stderr, "No se pudo escuchar en %s:%u: %s\n", o.host.c_str(), o.port, err.c_str());
    return 1;
  }
  // Other processes sharing the database bump the revision too; poll it so their writes
  // invalidate this process's cache.
  std::thread poller([this] {
    auto conn = database_->Connect();
    while (!impl_->stopping.load()) {
      if (conn.ok()) {
        auto rev = ReadRevision(**conn);
        if (rev.ok()) impl_->Bump(*rev);
      }
      for (int i = 0; i < 10 && !impl_->stopping.load(); ++i)
        std::this_thread::sleep_for(config_.revision_poll / 10);
    }
  });
  std::vector<std::thread> workers;
  for (const Worker& w : registry_.workers())
    workers.emplace_back([this, w] { w(*database_, impl_->stopping); });
  fprintf(stderr, "{\"msg\":\"abierto escuchando\",\"url\":\"http://%s:%u/\",\"db\":\"%s\"}\n",
          o.host.c_str(), server.port(), database_->Describe().c_str());
  server.Run(true);
  impl_->stopping = true;
  poller.join();
  for (std::thread& t : workers) t.join();
  impl_->server = nullptr;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Built-in routes: health, metrics, login, language, the generic action forms and the API.

namespace {

http::Response Healthz(RequestContext& ctx) {
  auto rev = ReadRevision(ctx.db);
  if (!rev.ok())
    return ctx.Json(json::object{{"status", "error"}, {"message", "base de datos no disponible"}},
                    503);
  return ctx.Json(
      json::object{{"status", "ok"},
                   {"revision", *rev},
                   {"db", ctx.db.dialect() == db::Dialect::kSqlite ? "sqlite" : "postgresql"},
                   {"version", ABIERTO_VERSION}});
}

http::Response MetricsPage(RequestContext& ctx) {
  http::Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  const http::Metrics* m = ctx.app.metrics();
  r.body = m ? m->Render() : "";
  return r;
}

http::Response LoginForm(RequestContext& ctx, const Status& error, std::string email) {
  json::object view{
      {"csrf", ctx.FormToken()}, {"next", SafeNext(ctx.Query("next"), "")}, {"email", email}};
  if (!error.ok()) view["error"] = error.message();
  return ctx.Page("login", std::move(view), ctx.T("login.title"),
                  error.ok() ? 200 : error.HttpStatus());
}

http::Response LoginPost(RequestContext& ctx) {
  auto in = ctx.ReadInput();
  if (!in.ok()) return LoginForm(ctx, in.status(), "");
  std::string email;
  if (const json::value* v = in->if_contains("email"); v && v->is_string())
    email = std::string(v->get_string());
  auto out = ctx.Run("session.login", *in);
  if (!out.ok()) return LoginForm(ctx, out.status(), email);
  const json::object& o = out->as_object();
  if (!o.at("ok").as_bool())
    return LoginForm(ctx, Status::Unauthenticated(std::string(o.at("error").as_string())), email);
  ctx.set_cookies.push_back(Cookie(accounts::kSessionCookie, o.at("token").as_string(),
                                   ctx.app.config().secure_cookies,
                                   accounts::kSessionDays * 86400));
  // Without a page to return to, staff land on their panel and residents on the home page (the
  // panel is for staff only and would answer them 403).
  const std::string home = o.at("role").as_string() == "ciudadano" ? "/" : "/panel";
  std::string next = home;
  if (const json::value* v = in->if_contains("next"); v && v->is_string())
    next = SafeNext(v->get_string(), home);
  return ctx.Redirect(next);
}

http::Response Logout(RequestContext& ctx) {
  auto in = ctx.ReadInput();
  if (!in.ok()) return ctx.Error(in.status());
  if (!ctx.session_token.empty()) {
    auto out = ctx.Run("session.logout", json::object{{"token", ctx.session_token}});
    if (!out.ok()) return ctx.Error(out.status());
  }
  ctx.set_cookies.push_back(
      Cookie(accounts::kSessionCookie, "", ctx.app.config().secure_cookies, 0));
  return ctx.Redirect("/");
}

http::Response Language(RequestContext& ctx) {
  std::string lang = ctx.Query("lang") == "en" ? "en" : "es";
  ctx.set_cookies.push_back(
      Cookie(kLangCookie, lang, ctx.app.config().secure_cookies, 365 * 86400));
  return ctx.Redirect(SafeNext(ctx.Query("next"), "/"));
}

const Action* FormAction(RequestContext& ctx, http::Response* error) {
  const Action* a = ctx.app.registry().FindAction(ctx.Param("name"));
  if (!a || !a->mutating) {
    *error = ctx.Error(Status::NotFound("El formulario no existe"));
    return nullptr;
  }
  if (!ctx.who.authenticated()) {
    *error = ctx.Redirect("/entrar?next=" + ctx.req.target);
    return nullptr;
  }
  if (!a->Allows(ctx.who.role)) {
    *error = ctx.Error(Status::PermissionDenied("Tu cuenta no tiene permiso para esta operación"));
    return nullptr;
  }
  return a;
}

http::Response FormGet(RequestContext& ctx) {
  http::Response err;
  const Action* a = FormAction(ctx, &err);
  if (!a) return err;
  json::object values;
  if (!a->prefill.empty() && !ctx.Query("id").empty()) {
    auto current = ctx.Run(a->prefill, json::object{{"id", ctx.Query("id")}});
    if (!current.ok()) return ctx.Error(current.status());
    if (current->is_object())
      for (const auto& kv : current->as_object()) {
        const json::value& v = kv.value();
        values[kv.key()] = v.is_string() || v.is_null() ? v
                           : v.is_bool()                ? json::value(v.as_bool() ? "true" : "")
                                                        : json::value(JsonText(v));
      }
  }
  for (const auto& [k, v] : ctx.query) {
    values[k] = v;
    values["_prefilled_" + k] = true;
  }
  return ActionForm(ctx, *a, std::move(values), Status::Ok());
}

http::Response FormPost(RequestContext& ctx) {
  http::Response err;
  const Action* a = FormAction(ctx, &err);
  if (!a) return err;
  auto in = ctx.ReadInput();
  if (!in.ok()) return ActionForm(ctx, *a, json::object{}, in.status());
  auto out = ctx.Run(a->name, *in);
  if (!out.ok()) {
    json::object values = *in;
    for (const Field& f : a->input)
      if (f.type == FieldType::kId && ctx.Query(f.name).size())
        values["_prefilled_" + f.name] = true;
    return ActionForm(ctx, *a, std::move(values), out.status());
  }
  std::string next = "/panel";
  if (const json::value* v = in->if_contains("next"); v && v->is_string())
    next = SafeNext(v->get_string(), "/panel");
  return ctx.Redirect(next + (next.find('?') == std::string::npos ? "?" : "&") +
                      "hecho=" + a->name);
}

json::object FieldSchema(const Field& f) {
  static const char* kTypes[] = {"string", "text", "integer", "number",   "date", "boolean",
                                 "enum",   "url",  "email",   "password", "id",   "file"};
  json::object o{
      {"name", f.name}, {"type", kTypes[static_cast<int>(f.type)]}, {"required", f.required}};
  if (f.type == FieldType::kString || f.type == FieldType::kText) o["max_length"] = f.max_length;
  if (f.type == FieldType::kEnum) o["choices"] = json::value_from(f.choices);
  if (std::isfinite(f.min) && f.type != FieldType::kId) o["min"] = f.min;
  if (std::isfinite(f.max) && f.type != FieldType::kId) o["max"] = f.max;
  return o;
}

http::Response ApiActions(RequestContext& ctx) {
  json::array out;
  for (const Action& a : ctx.app.registry().actions()) {
    json::array roles, fields;
    for (Role r : a.roles) roles.push_back(json::string(RoleName(r)));
    for (const Field& f : a.input) fields.push_back(FieldSchema(f));
    out.push_back(json::object{
        {"name", a.name}, {"mutating", a.mutating}, {"roles", roles}, {"input", fields}});
  }
  return ctx.Json(json::object{{"actions", out}});
}

http::Response ApiAction(RequestContext& ctx) {
  const Action* a = ctx.app.registry().FindAction(ctx.Param("name"));
  if (!a) return ctx.Error(Status::NotFound("La operación no existe"));
  // A caller with no credential at all is told to authenticate, not that a CSRF token (which
  // only a browser session could have) is missing.
  if (ctx.req.method == "POST" && !ctx.who.authenticated() && !a->Allows(ctx.who.role))
    return ctx.Error(Status::Unauthenticated("Inicia sesión para continuar"));
  json::object in;
  if (ctx.req.method == "POST") {
    auto body = ctx.ReadInput();
    if (!body.ok()) return ctx.Error(body.status());
    in = std::move(*body);
  } else {
    if (a->mutating)
      return ctx.Error(Status::InvalidArgument("Esta operación modifica datos: usa POST"));
    for (const auto& [k, v] : ctx.query) in[k] = v;
  }
  auto out = ctx.Run(a->name, in);
  if (!out.ok()) return ctx.Error(out.status());
  return ctx.Json(json::object{{"result", *out}});
}

}  // namespace

void RegisterWeb(Registry& reg) {
  reg.AddRoute({"GET", "/healthz", Healthz});
  reg.AddRoute({"GET", "/metrics", MetricsPage});
  reg.AddRoute(
      {"GET", "/entrar", [](RequestContext& c) { return LoginForm(c, Status::Ok(), ""); }});
  reg.AddRoute({"POST", "/entrar", LoginPost});
  reg.AddRoute({"POST", "/salir", Logout});
  reg.AddRoute({"GET", "/idioma", Language});
  reg.AddRoute({"GET", "/panel/accion/{name}", FormGet});
  reg.AddRoute({"POST", "/panel/accion/{name}", FormPost});
  reg.AddRoute({"GET", "/api/v1/actions", ApiActions});
  reg.AddRoute({"GET", "/api/v1/actions/{name}", ApiAction});
  reg.AddRoute({"POST", "/api/v1/actions/{name}", ApiAction});
}

}  // namespace abierto::web
