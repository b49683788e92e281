// abierto: the command line. The modules are listed here explicitly; each declares its actions,
// routes, migrations and demo content in its Register function.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "abierto/web.h"
#include "modules.h"
#include "modules/datos/import_cli.h"
#include "modules/presupuesto/pb_cli.h"

namespace {

using abierto::Status;

const std::vector<abierto::web::ModuleRegistrar>& kModules = abierto::Modules();

constexpr char kUsage[] =
    "Uso: abierto <comando> [opciones]\n"
    "\n"
    "Comandos:\n"
    "  serve   --db URL --port N [--host H]   sirve la plataforma\n"
    "  demo    [--port N] [--db URL] [--host H] base de demostración nueva, y la sirve\n"
    "  migrate --db URL                       aplica las migraciones pendientes\n"
    "  user add --email E --role R [--name N] [--unit ID] [--db URL]\n"
    "                                         crea una cuenta; la contraseña se lee de stdin\n"
    "  pb count ARCHIVO.pb --rule greedy|mes [--json]\n"
    "                                         cuenta una elección de Pabulib\n"
    "  data import ARCHIVO --dataset NOMBRE [--db URL]\n"
    "                                         carga un CSV o XLSX en el almacén de datos\n"
    "  version                                muestra la versión\n"
    "\n"
    "--db acepta sqlite:RUTA (por omisión sqlite:var/abierto.db) o postgresql://...\n"
    "Otras opciones de serve/demo: --workers N, --io-threads N, --no-access-log,\n"
    "  --secure-cookies (detrás de TLS), --site-url URL,\n"
    "  --tile-url PLANTILLA (mosaicos del mapa, {z}/{x}/{y}; \"none\" sin mapas),\n"
    "  --tile-attribution TEXTO, --tile-attribution-url URL\n"
    "  (o ABIERTO_TILE_URL, ABIERTO_TILE_ATTRIBUTION, ABIERTO_TILE_ATTRIBUTION_URL)\n";

struct Args {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> options;
  std::string error;

  std::string Get(const std::string& name, const std::string& fallback = "") const {
    for (const auto& [k, v] : options)
      if (k == name) return v;
    return fallback;
  }
  bool Flag(const std::string& name) const {
    for (const auto& [k, v] : options)
      if (k == name) return true;
    return false;
  }
};

Args Parse(int argc, char** argv, int from, const std::vector<std::string>& flags) {
  Args a;
  for (int i = from; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      std::string name = s.substr(2), value;
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (std::find(flags.begin(), flags.end(), name) == flags.end()) {
        if (i + 1 >= argc) {
          a.error = "Falta el valor de --" + name;
          return a;
        }
        value = argv[++i];
      }
      a.options.emplace_back(name, value);
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

int Fail(const std::string& message, int code = 1) {
  std::fprintf(stderr, "abierto: %s\n", message.c_str());
  return code;
}

bool ConfigFrom(const Args& a, abierto::web::Config* c, std::string* error) {
  c->db_url = a.Get("db", c->db_url);
  c->host = a.Get("host", c->host);
  try {
    if (!a.Get("port").empty()) {
      int port = std::stoi(a.Get("port"));
      if (port < 0 || port > 65535) throw std::out_of_range("port");
      c->port = static_cast<uint16_t>(port);
    }
    if (!a.Get("workers").empty()) c->worker_threads = std::stoi(a.Get("workers"));
    if (!a.Get("io-threads").empty()) c->io_threads = std::stoi(a.Get("io-threads"));
  } catch (const std::exception&) {
    *error = "Número no válido en --port, --workers o --io-threads";
    return false;
  }
  c->access_log = !a.Flag("no-access-log");
  c->secure_cookies = a.Flag("secure-cookies");
  c->site_url = a.Get("site-url", "http://" + c->host + ":" + std::to_string(c->port));
  // Map tiles: the flag wins over the environment, which wins over the default (OSM).
  auto setting = [&](const char* flag, const char* env, std::string* out) {
    if (const char* e = std::getenv(env); e && *e) *out = e;
    for (const auto& [k, v] : a.options)
      if (k == flag) *out = v;
  };
  setting("tile-url", "ABIERTO_TILE_URL", &c->tile_url);
  setting("tile-attribution", "ABIERTO_TILE_ATTRIBUTION", &c->tile_attribution);
  setting("tile-attribution-url", "ABIERTO_TILE_ATTRIBUTION_URL", &c->tile_attribution_url);
  if (Status s = abierto::web::ValidateMapConfig(*c); !s.ok()) {
    *error = s.message();
    return false;
  }
  return true;
}

const std::vector<std::string> kServeFlags = {"no-access-log", "secure-cookies", "json"};

int Serve(int argc, char** argv, bool demo) {
  Args a = Parse(argc, argv, 2, kServeFlags);
  if (!a.error.empty()) return Fail(a.error, 2);
  abierto::web::Config c;
  if (demo) c.db_url = "sqlite:var/demo.db";
  std::string err;
  if (!ConfigFrom(a, &c, &err)) return Fail(err, 2);
  if (demo && c.db_url.rfind("sqlite:", 0) == 0 && c.db_url != "sqlite::memory:") {
    // A demo always starts from a fresh database.
    std::string path = c.db_url.substr(7);
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  }
  auto app = abierto::web::App::Create(c, kModules);
  if (!app.ok()) return Fail(app.status().ToString());
  if (demo && c.db_url.rfind("postgres", 0) == 0) {
    // On PostgreSQL a demo resets the schema it owns.
    auto conn = (*app)->database().Connect();
    if (!conn.ok()) return Fail(conn.status().ToString());
    Status s = (*conn)->ExecScript("DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
    if (!s.ok()) return Fail("No se pudo reiniciar la base: " + s.ToString());
  }
  if (Status s = (*app)->Migrate(); !s.ok()) return Fail(s.ToString());
  if (demo) {
    if (Status s = (*app)->LoadDemo(); !s.ok()) return Fail(s.ToString());
    std::fprintf(stderr,
                 "Demostración lista en http://%s:%u/ — cuentas de ejemplo "
                 "(contraseña demo-abierto-2025): admin@demo.abierto.mx, "
                 "secretariado@demo.abierto.mx, enlace.transparencia@demo.abierto.mx\n",
                 c.host.c_str(), c.port);
  }
  return (*app)->Serve();
}

int Migrate(int argc, char** argv) {
  Args a = Parse(argc, argv, 2, {});
  if (!a.error.empty()) return Fail(a.error, 2);
  abierto::web::Config c;
  c.db_url = a.Get("db", c.db_url);
  auto app = abierto::web::App::Create(c, kModules);
  if (!app.ok()) return Fail(app.status().ToString());
  if (Status s = (*app)->Migrate(); !s.ok()) return Fail(s.ToString());
  std::printf("Migraciones aplicadas en %s\n", (*app)->database().Describe().c_str());
  return 0;
}

int UserAdd(int argc, char** argv) {
  Args a = Parse(argc, argv, 3, {});
  if (!a.error.empty()) return Fail(a.error, 2);
  if (a.Get("email").empty() || a.Get("role").empty())
    return Fail("Uso: abierto user add --email E --role R [--name N] [--unit ID] [--db URL]", 2);
  std::string password;
  if (isatty(STDIN_FILENO)) std::fprintf(stderr, "Contraseña: ");
  if (!std::getline(std::cin, password) || password.empty())
    return Fail("Escribe la contraseña en la entrada estándar", 2);
  abierto::web::Config c;
  c.db_url = a.Get("db", c.db_url);
  auto app = abierto::web::App::Create(c, kModules);
  if (!app.ok()) return Fail(app.status().ToString());
  if (Status s = (*app)->Migrate(); !s.ok()) return Fail(s.ToString());
  auto conn = (*app)->ThreadConnection();
  if (!conn.ok()) return Fail(conn.status().ToString());
  boost::json::object in{{"email", a.Get("email")},
                         {"name", a.Get("name", a.Get("email"))},
                         {"role", a.Get("role")},
                         {"password", password}};
  if (!a.Get("unit").empty()) in["unit_id"] = a.Get("unit");
  auto r = (*app)->dispatcher().Run(**conn, abierto::Principal::System(), "users.create", in);
  if (!r.ok()) return Fail(r.status().ToString());
  std::printf("Cuenta creada: %s (id %lld)\n", a.Get("email").c_str(),
              static_cast<long long>(r->as_object().at("id").as_int64()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "serve") return Serve(argc, argv, false);
  if (cmd == "demo") return Serve(argc, argv, true);
  if (cmd == "migrate") return Migrate(argc, argv);
  if (cmd == "user" && argc >= 3 && std::strcmp(argv[2], "add") == 0) return UserAdd(argc, argv);
  if (cmd == "data") {
    std::vector<std::string> rest(argv + 2, argv + argc);
    return abierto::datos::RunDataImport(rest, std::cout, std::cerr);
  }
  if (cmd == "pb") {
    std::vector<std::string> rest(argv + 2, argv + argc);
    return abierto::presupuesto::RunPbCommand(rest, std::cout, std::cerr);
  }
  if (cmd == "version" || cmd == "--version") {
    std::printf("abierto %s\n", ABIERTO_VERSION);
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fputs(kUsage, stderr);
  return Fail("comando desconocido: " + cmd, 2);
}
