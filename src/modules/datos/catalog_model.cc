// The catalog's schema, its files, and every catalog action (see catalog.h).
#include <openssl/evp.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "abierto/json.h"
#include "abierto/markdown.h"
#include "abierto/text.h"
#include "modules/datos/catalog.h"
#include "modules/datos/preview.h"

namespace abierto::datos {

namespace json = boost::json;

namespace {

constexpr size_t kChunk = 1 << 20;

const char* const kSchema = R"sql(
CREATE TABLE datos_licenses (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  url TEXT NOT NULL DEFAULT '',
  is_open {{INT}} NOT NULL DEFAULT 1,
  position {{INT}} NOT NULL DEFAULT 0
);
INSERT INTO datos_licenses (id, title, url, is_open, position) VALUES
  ('cc-by-4.0', 'Creative Commons Atribución 4.0 (CC-BY-4.0)',
   'https://creativecommons.org/licenses/by/4.0/', 1, 1),
  ('libre-uso-mx', 'Términos de Libre Uso MX',
   'https://datos.gob.mx/libreusomx', 1, 2),
  ('cc-by-sa-4.0', 'Creative Commons Atribución-CompartirIgual 4.0 (CC-BY-SA-4.0)',
   'https://creativecommons.org/licenses/by-sa/4.0/', 1, 3),
  ('cc-zero', 'Creative Commons CC0 1.0 (dominio público)',
   'https://creativecommons.org/publicdomain/zero/1.0/', 1, 4),
  ('odc-odbl', 'Open Data Commons Open Database License (ODbL)',
   'https://opendatacommons.org/licenses/odbl/1-0/', 1, 5);
CREATE TABLE datos_orgs (
  id {{ID}},
  uid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL DEFAULT '',
  unit_id {{INT}} REFERENCES units(id),
  created_at TEXT NOT NULL
);
CREATE TABLE datos_groups (
  id {{ID}},
  uid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE TABLE datos_datasets (
  id {{ID}},
  uid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  notes TEXT NOT NULL DEFAULT '',
  org_id {{INT}} NOT NULL REFERENCES datos_orgs(id),
  license_id TEXT NOT NULL REFERENCES datos_licenses(id),
  frequency TEXT NOT NULL DEFAULT '',
  temporal_start TEXT NOT NULL DEFAULT '',
  temporal_end TEXT NOT NULL DEFAULT '',
  spatial TEXT NOT NULL DEFAULT '',
  contact_name TEXT NOT NULL DEFAULT '',
  contact_email TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL CHECK (state IN ('draft', 'active')),
  managed TEXT NOT NULL DEFAULT '',
  search_text TEXT NOT NULL DEFAULT '',
  created_by {{INT}},
  created_at TEXT NOT NULL,
  modified_at TEXT NOT NULL
);
CREATE INDEX datos_datasets_org ON datos_datasets (org_id);
CREATE TABLE datos_dataset_groups (
  dataset_id {{INT}} NOT NULL REFERENCES datos_datasets(id),
  group_id {{INT}} NOT NULL REFERENCES datos_groups(id),
  PRIMARY KEY (dataset_id, group_id)
);
CREATE TABLE datos_tags (
  dataset_id {{INT}} NOT NULL REFERENCES datos_datasets(id),
  tag TEXT NOT NULL,
  PRIMARY KEY (dataset_id, tag)
);
CREATE TABLE datos_resources (
  id {{ID}},
  uid TEXT NOT NULL UNIQUE,
  dataset_id {{INT}} NOT NULL REFERENCES datos_datasets(id),
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  position {{INT}} NOT NULL,
  url_type TEXT NOT NULL CHECK (url_type IN ('upload', 'link')),
  link TEXT NOT NULL DEFAULT '',
  format TEXT NOT NULL DEFAULT '',
  version {{INT}} NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  modified_at TEXT NOT NULL
);
CREATE INDEX datos_resources_dataset ON datos_resources (dataset_id, position);
CREATE TABLE datos_versions (
  id {{ID}},
  resource_id {{INT}} NOT NULL REFERENCES datos_resources(id),
  version {{INT}} NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('procesando', 'activa')),
  filename TEXT NOT NULL,
  format TEXT NOT NULL,
  mimetype TEXT NOT NULL,
  size {{INT}} NOT NULL,
  sha256 TEXT NOT NULL,
  datastore {{INT}} NOT NULL DEFAULT 0,
  quality TEXT NOT NULL DEFAULT '',
  created_by {{INT}},
  created_at TEXT NOT NULL,
  UNIQUE (resource_id, version)
);
CREATE TABLE datos_blobs (
  sha256 TEXT NOT NULL,
  seq {{INT}} NOT NULL,
  data {{BLOB}} NOT NULL,
  PRIMARY KEY (sha256, seq)
);
CREATE TABLE datos_jobs (
  id {{ID}},
  resource_uid TEXT NOT NULL,
  version {{INT}} NOT NULL,
  sheet TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL CHECK (status IN ('pendiente', 'ejecutando', 'lista', 'rechazada')),
  message TEXT NOT NULL DEFAULT '',
  quality TEXT NOT NULL DEFAULT '',
  created_by {{INT}},
  created_at TEXT NOT NULL,
  claimed_at TEXT NOT NULL DEFAULT '',
  finished_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX datos_jobs_status ON datos_jobs (status, id);
CREATE TABLE datos_stats (
  dataset_uid TEXT PRIMARY KEY,
  views {{INT}} NOT NULL DEFAULT 0,
  downloads {{INT}} NOT NULL DEFAULT 0
);
CREATE TABLE datos_requests (
  id {{ID}},
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  requester_name TEXT NOT NULL DEFAULT '',
  requester_email TEXT NOT NULL DEFAULT '',
  org_id {{INT}} REFERENCES datos_orgs(id),
  status TEXT NOT NULL CHECK (status IN ('recibida', 'en_analisis', 'publicada', 'no_disponible')),
  reason TEXT NOT NULL DEFAULT '',
  dataset_id {{INT}} REFERENCES datos_datasets(id),
  created_by {{INT}},
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE datos_pages (
  slug TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
)sql";

const std::vector<Role> kEditors = {Role::kSecretariado, Role::kAdmin};

// ---- small helpers ------------------------------------------------------------------------------

db::Value UserOrNull(const Principal& who) {
  return who.user_id ? db::Value(who.user_id) : db::Value();
}

std::string Lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// "a, b ,c" → {"a","b","c"} without empties or repeats, order kept.
std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string_view::npos) j = s.size();
    std::string item(s.substr(i, j - i));
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.erase(0, 1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.pop_back();
    if (!item.empty() && std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
    i = j + 1;
  }
  return out;
}

// CKAN timestamps have no zone and microseconds; ours are UTC "…Z", kept as they are but for
// the zone letter, which CKAN clients' parsers (and the alphagov schemas) do not expect.
std::string CkanTime(const std::string& iso) {
  std::string t = iso;
  if (!t.empty() && t.back() == 'Z') t.pop_back();
  if (t.size() == 10) t += "T00:00:00";
  return t;
}

// The search key of a text: folded (accents and case away), ASCII punctuation turned into
// spaces, words separated by one space, with a space at both ends so that " word" matches
// the start of a word.
std::string SearchKey(std::string_view s) {
  std::string f = text::Fold(s), out = " ";
  for (char c : f) {
    bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c & 0x80);
    if (word)
      out += c;
    else if (out.back() != ' ')
      out += ' ';
  }
  if (out.back() != ' ') out += ' ';
  return out;
}

json::value NullIfEmpty(const std::string& s) {
  if (s.empty()) return nullptr;
  return json::value(s);
}

}  // namespace

// ---- ids, names, formats ------------------------------------------------------------------------

namespace {

std::string FormatUuid(unsigned char b[16]) {
  char hex[33];
  sodium_bin2hex(hex, sizeof hex, b, 16);
  std::string h(hex);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

// CKAN gives every tag a UUID; ours are the keywords themselves, so their id is derived from
// the name (a BLAKE2b hash shaped as a version-8 UUID): stable, and the same on every server.
std::string TagId(std::string_view tag) {
  unsigned char b[16];
  std::string key = "datos-tag:" + std::string(tag);
  crypto_generichash(b, sizeof b, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                     nullptr, 0);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x80);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return FormatUuid(b);
}

}  // namespace

std::string NewUuid() {
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return FormatUuid(b);
}

bool IsValidName(std::string_view name) {
  if (name.size() < 2 || name.size() > 100) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

Result<std::string> SafeFileName(std::string_view name) {
  // Browsers send only the base name, but programs may send anything: keep the last
  // component of either kind of path, so "../../etc/passwd" is stored as "passwd" and never
  // used as a path (files are addressed by their hash, names are only shown).
  size_t slash = name.find_last_of("/\\");
  std::string base(slash == std::string_view::npos ? name : name.substr(slash + 1));
  if (!text::IsValidUtf8(base) || text::HasControlChars(base, false))
    return Status::InvalidArgument("Nombre de archivo no válido",
                                   {{"file", "El nombre tiene caracteres no permitidos"}});
  while (!base.empty() && (base.front() == ' ' || base.front() == '.')) base.erase(0, 1);
  if (base.empty() || base.size() > 200)
    return Status::InvalidArgument("Nombre de archivo no válido",
                                   {{"file", "Use un nombre de 1 a 200 caracteres"}});
  return base;
}

Result<std::string> DetectFormat(std::string_view filename, std::string_view head) {
  std::string ext;
  if (size_t dot = filename.rfind('.'); dot != std::string_view::npos)
    ext = Lower(std::string(filename.substr(dot + 1)));
  bool zip = head.size() >= 4 && head.substr(0, 4) == std::string_view("PK\x03\x04", 4);
  bool pdf = head.size() >= 5 && head.substr(0, 5) == "%PDF-";
  auto refuse = [&](const std::string& why) -> Result<std::string> {
    return Status::InvalidArgument(
        why, {{"file", "Formatos aceptados: CSV, XLSX, JSON, GeoJSON, PDF y ZIP"}});
  };
  if (ext == "xlsx") {
    if (!zip) return refuse("El archivo .xlsx no es un libro de Excel (no es un ZIP)");
    return std::string("XLSX");
  }
  if (ext == "zip") {
    if (!zip) return refuse("El archivo .zip no es un ZIP");
    return std::string("ZIP");
  }
  if (ext == "pdf") {
    if (!pdf) return refuse("El archivo .pdf no es un PDF");
    return std::string("PDF");
  }
  if (zip || pdf) return refuse("La extensión del archivo no corresponde a su contenido");
  if (ext == "csv" || ext == "txt" || ext == "tsv") return std::string("CSV");
  if (ext == "geojson") return std::string("GeoJSON");
  if (ext == "json") return std::string("JSON");
  return refuse("Formato de archivo no admitido (." + ext + ")");
}

const char* MimeFor(std::string_view format) {
  if (format == "CSV") return "text/csv";
  if (format == "XLSX") return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  if (format == "JSON") return "application/json";
  if (format == "GeoJSON") return "application/geo+json";
  if (format == "PDF") return "application/pdf";
  if (format == "ZIP") return "application/zip";
  return "application/octet-stream";
}

// ---- blobs ---------------------------------------------------------------------------------

namespace {

std::string Hex(const unsigned char* h, size_t n) {
  std::string out(n * 2, '0');
  sodium_bin2hex(out.data(), out.size() + 1, h, n);
  return out;
}

// SHA-256 of file contents through OpenSSL, which uses the CPU's SHA instructions where there
// are some: a 137 MB file hashes in 0.13 s, against 0.6 s with libsodium's portable code.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    ok_ = ctx_ && EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1;
  }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* p, size_t n) { ok_ = ok_ && EVP_DigestUpdate(ctx_, p, n) == 1; }
  Result<std::string> HexDigest() {
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!ok_ || EVP_DigestFinal_ex(ctx_, h, &n) != 1 || n != 32)
      return Status::Internal("No se pudo calcular el SHA-256 del archivo");
    return Hex(h, n);
  }

 private:
  EVP_MD_CTX* ctx_;
  bool ok_ = false;
};

Result<bool> BlobExists(db::Connection& db, const std::string& sha) {
  ASSIGN_OR_RETURN(db::Rows r,
                   db.Query("SELECT 1 AS x FROM datos_blobs WHERE sha256 = ? AND seq = 0", {sha}));
  return !r.empty();
}

}  // namespace

Result<StoredFile> StoreBlob(db::Connection& db, std::string_view bytes) {
  Sha256 hash;
  hash.Update(bytes.data(), bytes.size());
  ASSIGN_OR_RETURN(std::string sha, hash.HexDigest());
  StoredFile f{sha, static_cast<int64_t>(bytes.size())};
  ASSIGN_OR_RETURN(bool exists, BlobExists(db, f.sha256));
  if (exists) return f;
  int64_t seq = 0;
  size_t off = 0;
  do {
    std::string part(bytes.substr(off, kChunk));
    RETURN_IF_ERROR(db.Exec("INSERT INTO datos_blobs (sha256, seq, data) VALUES (?, ?, ?)",
                            {f.sha256, seq++, db::Blob{std::move(part)}})
                        .status());
    off += kChunk;
  } while (off < bytes.size());
  return f;
}

Result<StoredFile> StoreBlobFromFile(db::Connection& db, const std::string& path) {
  // First pass: the hash, to skip storing a file that is already there.
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("No se puede leer el archivo " + path);
  Sha256 hash;
  std::string buf(kChunk, '\0');
  int64_t size = 0;
  while (in.read(buf.data(), buf.size()) || in.gcount() > 0) {
    hash.Update(buf.data(), static_cast<size_t>(in.gcount()));
    size += in.gcount();
  }
  ASSIGN_OR_RETURN(std::string sha, hash.HexDigest());
  StoredFile f{sha, size};
  ASSIGN_OR_RETURN(bool exists, BlobExists(db, f.sha256));
  if (exists) return f;
  in.clear();
  in.seekg(0);
  int64_t seq = 0;
  do {
    in.read(buf.data(), buf.size());
    std::string part(buf.data(), static_cast<size_t>(in.gcount()));
    RETURN_IF_ERROR(db.Exec("INSERT INTO datos_blobs (sha256, seq, data) VALUES (?, ?, ?)",
                            {f.sha256, seq++, db::Blob{std::move(part)}})
                        .status());
  } while (in);
  return f;
}

Result<int64_t> BlobChunks(db::Connection& db, std::string_view sha256) {
  ASSIGN_OR_RETURN(db::Rows n, db.Query("SELECT COUNT(*) AS n FROM datos_blobs WHERE sha256 = ?",
                                        {std::string(sha256)}));
  return n[0].Int("n");
}

Result<std::string> ReadBlobChunk(db::Connection& db, std::string_view sha256, int64_t seq) {
  ASSIGN_OR_RETURN(db::Row c,
                   db.QueryOne("SELECT data FROM datos_blobs WHERE sha256 = ? AND "
                               "seq = ?",
                               {std::string(sha256), seq}, "Falta una parte del archivo"));
  return c.Text("data");
}

Result<std::string> ReadBlob(db::Connection& db, std::string_view sha256) {
  ASSIGN_OR_RETURN(db::Rows rows,
                   db.Query("SELECT data FROM datos_blobs WHERE sha256 = ? ORDER BY seq",
                            {std::string(sha256)}));
  if (rows.empty()) return Status::NotFound("El archivo no existe");
  std::string out;
  for (const db::Row& r : rows) out += r.Text("data");
  return out;
}

// ---- counters --------------------------------------------------------------------------------

namespace {
void Count(db::Connection& db, std::string_view uid, const char* column) {
  // Best effort and outside the data revision: a lost count must never fail a page.
  std::string col(column);
  (void)db.Exec(
      "INSERT INTO datos_stats (dataset_uid, views, downloads) VALUES (?, 0, 0) "
      "ON CONFLICT (dataset_uid) DO NOTHING",
      {std::string(uid)});
  (void)db.Exec("UPDATE datos_stats SET " + col + " = " + col + " + 1 WHERE dataset_uid = ?",
                {std::string(uid)});
}
}  // namespace

void CountView(db::Connection& db, std::string_view uid) { Count(db, uid, "views"); }
void CountDownload(db::Connection& db, std::string_view uid) { Count(db, uid, "downloads"); }

// ---- CKAN dicts ------------------------------------------------------------------------------

namespace {

json::object OrgDict(const db::Row& r, int64_t package_count = -1) {
  json::object o{{"id", r.Text("uid")},
                 {"name", r.Text("name")},
                 {"title", r.Text("title")},
                 {"display_name", r.Text("title")},
                 {"description", r.Text("description")},
                 {"image_url", ""},
                 {"created", CkanTime(r.Text("created_at"))},
                 {"is_organization", true},
                 {"type", "organization"},
                 {"state", "active"},
                 {"approval_status", "approved"}};
  if (package_count >= 0) o["package_count"] = package_count;
  return o;
}

json::object GroupDict(const db::Row& r, int64_t package_count = -1) {
  json::object o{{"id", r.Text("uid")},
                 {"name", r.Text("name")},
                 {"title", r.Text("title")},
                 {"display_name", r.Text("title")},
                 {"description", r.Text("description")},
                 {"image_url", ""},
                 {"image_display_url", ""},
                 {"created", CkanTime(r.Text("created_at"))},
                 {"is_organization", false},
                 {"type", "group"},
                 {"state", "active"},
                 {"approval_status", "approved"}};
  if (package_count >= 0) o["package_count"] = package_count;
  return o;
}

std::string DownloadPath(const std::string& dataset_name, const std::string& resource_uid,
                         const std::string& filename) {
  return "/datos/conjunto/" + dataset_name + "/recurso/" + resource_uid + "/descarga/" + filename;
}

// Everything a package dict needs, loaded for many datasets at once (the search and the lists
// build hundreds of dicts with four queries, not four per dataset).
struct Loaded {
  std::vector<db::Row> datasets;
  std::map<int64_t, db::Row> orgs;
  std::map<int64_t, std::vector<db::Row>> groups, resources;
  std::map<int64_t, std::vector<std::string>> tags;
  std::map<std::string, db::Row> licenses;
  std::map<std::string, std::pair<int64_t, int64_t>> stats;
};

Result<Loaded> LoadDatasets(db::Connection& db, const std::string& where,
                            const std::vector<db::Value>& params) {
  Loaded L;
  ASSIGN_OR_RETURN(
      L.datasets,
      db.Query("SELECT d.* FROM datos_datasets d WHERE " + where + " ORDER BY d.id", params));
  if (L.datasets.empty()) return L;
  const std::string in = "dataset_id IN (SELECT d.id FROM datos_datasets d WHERE " + where + ")";
  ASSIGN_OR_RETURN(db::Rows orgs, db.Query("SELECT * FROM datos_orgs"));
  for (db::Row& r : orgs) L.orgs.emplace(r.Int("id"), r);
  ASSIGN_OR_RETURN(db::Rows lic, db.Query("SELECT * FROM datos_licenses"));
  for (db::Row& r : lic) L.licenses.emplace(r.Text("id"), r);
  ASSIGN_OR_RETURN(db::Rows gs, db.Query("SELECT dg.dataset_id, g.* FROM datos_dataset_groups dg "
                                         "JOIN datos_groups g ON g.id = dg.group_id WHERE dg." +
                                             in + " ORDER BY g.title",
                                         params));
  for (db::Row& r : gs) L.groups[r.Int("dataset_id")].push_back(r);
  ASSIGN_OR_RETURN(
      db::Rows ts,
      db.Query("SELECT dataset_id, tag FROM datos_tags WHERE " + in + " ORDER BY tag", params));
  for (db::Row& r : ts) L.tags[r.Int("dataset_id")].push_back(r.Text("tag"));
  ASSIGN_OR_RETURN(
      db::Rows rs,
      db.Query("SELECT r.*, v.filename, v.mimetype, v.size, v.sha256, v.datastore, "
               "v.created_at AS version_at FROM datos_resources r LEFT JOIN datos_versions v ON "
               "v.resource_id = r.id AND v.version = r.version AND v.status = 'activa' WHERE r." +
                   in + " ORDER BY r.position, r.id",
               params));
  for (db::Row& r : rs) L.resources[r.Int("dataset_id")].push_back(r);
  ASSIGN_OR_RETURN(db::Rows st, db.Query("SELECT s.* FROM datos_stats s JOIN datos_datasets d ON "
                                         "d.uid = s.dataset_uid WHERE " +
                                             where,
                                         params));
  for (db::Row& r : st) L.stats[r.Text("dataset_uid")] = {r.Int("views"), r.Int("downloads")};
  return L;
}

json::object ResourceDict(const db::Row& r, const std::string& dataset_uid,
                          const std::string& dataset_name) {
  bool upload = r.Text("url_type") == "upload";
  std::string url =
      upload ? (r.Int("version") > 0 ? DownloadPath(dataset_name, r.Text("uid"), r.Text("filename"))
                                     : std::string())
             : r.Text("link");
  json::object o{
      {"id", r.Text("uid")},
      {"package_id", dataset_uid},
      {"name", r.Text("name")},
      {"description", r.Text("description")},
      {"format", r.Text("format")},
      {"url", url},
      {"url_type", upload ? json::value("upload") : json::value(nullptr)},
      {"mimetype", upload ? NullIfEmpty(r.Text("mimetype")) : json::value(nullptr)},
      {"mimetype_inner", nullptr},
      {"size", upload && !r.IsNull("size") ? json::value(r.Int("size")) : json::value(nullptr)},
      {"hash", upload ? r.Text("sha256") : ""},
      {"position", r.Int("position")},
      {"created", CkanTime(r.Text("created_at"))},
      {"last_modified", upload && !r.IsNull("version_at")
                            ? json::value(CkanTime(r.Text("version_at")))
                            : json::value(nullptr)},
      {"metadata_modified", CkanTime(r.Text("modified_at"))},
      {"state", "active"},
      {"datastore_active", r.Int("datastore") != 0},
      {"resource_type", nullptr},
      {"cache_url", nullptr},
      {"cache_last_updated", nullptr},
      {"version", r.Int("version")}};
  return o;
}

json::object PackageDict(const Loaded& L, const db::Row& d) {
  int64_t id = d.Int("id");
  std::string uid = d.Text("uid"), name = d.Text("name");
  json::object p;
  p["id"] = uid;
  p["name"] = name;
  p["title"] = d.Text("title");
  p["notes"] = d.Text("notes");
  p["type"] = "dataset";
  p["state"] = d.Text("state");
  p["private"] = false;
  p["metadata_created"] = CkanTime(d.Text("created_at"));
  p["metadata_modified"] = CkanTime(d.Text("modified_at"));
  p["author"] = nullptr;
  p["author_email"] = nullptr;
  p["maintainer"] = NullIfEmpty(d.Text("contact_name"));
  p["maintainer_email"] = NullIfEmpty(d.Text("contact_email"));
  p["url"] = "";
  p["version"] = nullptr;
  p["creator_user_id"] = nullptr;
  std::string lic = d.Text("license_id");
  p["license_id"] = lic;
  if (auto it = L.licenses.find(lic); it != L.licenses.end()) {
    p["license_title"] = it->second.Text("title");
    p["license_url"] = it->second.Text("url");
    p["isopen"] = it->second.Int("is_open") != 0;
  } else {
    p["license_title"] = lic;
    p["isopen"] = false;
  }
  auto org = L.orgs.find(d.Int("org_id"));
  if (org != L.orgs.end()) {
    p["owner_org"] = org->second.Text("uid");
    p["organization"] = OrgDict(org->second);
  } else {
    p["owner_org"] = nullptr;
    p["organization"] = nullptr;
  }
  json::array groups;
  if (auto it = L.groups.find(id); it != L.groups.end())
    for (const db::Row& g : it->second) groups.push_back(GroupDict(g));
  p["groups"] = std::move(groups);
  json::array tags;
  if (auto it = L.tags.find(id); it != L.tags.end())
    for (const std::string& t : it->second)
      tags.push_back(json::object{{"id", TagId(t)},
                                  {"name", t},
                                  {"display_name", t},
                                  {"state", "active"},
                                  {"vocabulary_id", nullptr}});
  p["num_tags"] = static_cast<int64_t>(tags.size());
  p["tags"] = std::move(tags);
  json::array res;
  if (auto it = L.resources.find(id); it != L.resources.end())
    for (const db::Row& r : it->second) res.push_back(ResourceDict(r, uid, name));
  p["num_resources"] = static_cast<int64_t>(res.size());
  p["resources"] = std::move(res);
  // DatA-LEÓN's own fields, at the top level (as ckanext-scheming does) and as extras (as
  // harvesters of plain CKAN read them).
  p["frequency"] = d.Text("frequency");
  p["temporal_start"] = d.Text("temporal_start");
  p["temporal_end"] = d.Text("temporal_end");
  p["spatial_coverage"] = d.Text("spatial");
  p["managed"] = !d.Text("managed").empty();
  json::array extras;
  for (auto [k, col] :
       std::vector<std::pair<const char*, const char*>>{{"frequency", "frequency"},
                                                        {"temporal_start", "temporal_start"},
                                                        {"temporal_end", "temporal_end"},
                                                        {"spatial_coverage", "spatial"}})
    if (!d.Text(col).empty()) extras.push_back(json::object{{"key", k}, {"value", d.Text(col)}});
  p["extras"] = std::move(extras);
  auto st = L.stats.find(uid);
  p["tracking_summary"] = json::object{{"total", st == L.stats.end() ? 0 : st->second.first},
                                       {"recent", st == L.stats.end() ? 0 : st->second.first}};
  p["downloads"] = st == L.stats.end() ? 0 : st->second.second;
  p["relationships_as_object"] = json::array{};
  p["relationships_as_subject"] = json::array{};
  return p;
}

// Staff see drafts; everyone else sees published datasets only.
bool SeesDrafts(const Principal& who) {
  return who.system || who.role == Role::kEnlace || who.role == Role::kSecretariado ||
         who.role == Role::kAdmin;
}

}  // namespace

// ---- search ----------------------------------------------------------------------------------

namespace {

// A parsed package_search: words of q (folded) and field:value terms from q and fq.
struct Query {
  std::vector<std::string> words;
  std::vector<std::pair<std::string, std::string>> terms;
};

// Reads `field:value` and `field:"quoted value"` terms and plain words; Solr's operators
// (AND, +, -) beyond a conjunction of terms are not supported and read as words.
void ParseInto(std::string_view s, Query* q, bool terms_only) {
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '+')) ++i;
    if (i >= s.size()) break;
    size_t start = i;
    std::string field, value;
    while (i < s.size() && s[i] != ' ' && s[i] != ':' && s[i] != '"') ++i;
    if (i < s.size() && s[i] == ':') {
      field = std::string(s.substr(start, i - start));
      ++i;
      if (i < s.size() && s[i] == '"') {
        size_t end = s.find('"', i + 1);
        if (end == std::string_view::npos) end = s.size();
        value = std::string(s.substr(i + 1, end - i - 1));
        i = end + 1;
      } else {
        size_t end = s.find(' ', i);
        if (end == std::string_view::npos) end = s.size();
        value = std::string(s.substr(i, end - i));
        i = end;
      }
      if (field == "*" && value == "*") continue;  // q=*:* means everything
      q->terms.emplace_back(field, value);
      continue;
    }
    if (i < s.size() && s[i] == '"') {
      size_t end = s.find('"', i + 1);
      if (end == std::string_view::npos) end = s.size();
      std::string phrase(s.substr(i + 1, end - i - 1));
      i = end + 1;
      std::string key = SearchKey(phrase);
      if (!terms_only)
        for (size_t a = 1, b; a < key.size(); a = b + 1) {
          b = key.find(' ', a);
          if (b > a) q->words.push_back(key.substr(a, b - a));
        }
      continue;
    }
    while (i < s.size() && s[i] != ' ') ++i;
    std::string key = SearchKey(s.substr(start, i - start));
    if (!terms_only)
      for (size_t a = 1, b; a < key.size(); a = b + 1) {
        b = key.find(' ', a);
        std::string w = key.substr(a, b - a);
        if (!w.empty() && w != "and") q->words.push_back(w);
      }
  }
}

// The values a dataset has for a facet or fq field.
std::vector<std::string> FieldValues(const json::object& p, const std::string& field) {
  std::vector<std::string> out;
  auto str = [](const json::value& v) {
    return v.is_string() ? std::string(v.get_string()) : std::string();
  };
  if (field == "organization") {
    if (p.at("organization").is_object()) out.push_back(str(p.at("organization").at("name")));
  } else if (field == "owner_org") {
    out.push_back(str(p.at("owner_org")));
  } else if (field == "groups") {
    for (const auto& g : p.at("groups").as_array()) out.push_back(str(g.at("name")));
  } else if (field == "tags") {
    for (const auto& t : p.at("tags").as_array()) out.push_back(str(t.at("name")));
  } else if (field == "res_format") {
    for (const auto& r : p.at("resources").as_array()) {
      std::string f = str(r.at("format"));
      if (!f.empty() && std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
    }
  } else if (field == "license_id") {
    out.push_back(str(p.at("license_id")));
  } else if (field == "name" || field == "id" || field == "state" || field == "frequency") {
    out.push_back(str(p.at(field)));
  }
  return out;
}

const std::vector<std::string> kFacetFields = {"organization", "groups",     "tags",
                                               "res_format",   "license_id", "owner_org"};

std::string FacetDisplay(const json::object& p, const std::string& field, const std::string& v) {
  auto title_of = [&](const json::value& x) {
    return x.is_object() ? std::string(x.at("title").as_string()) : v;
  };
  if (field == "organization") return title_of(p.at("organization"));
  if (field == "groups")
    for (const auto& g : p.at("groups").as_array())
      if (g.at("name").as_string() == v) return title_of(g);
  if (field == "license_id" && p.at("license_title").is_string())
    return std::string(p.at("license_title").as_string());
  return v;
}

}  // namespace

namespace {

Result<json::value> PackageSearch(ActionContext& ctx, const Input& in) {
  Query q;
  ParseInto(GetString(in, "q"), &q, false);
  ParseInto(GetString(in, "fq"), &q, true);
  for (const auto& [field, value] : q.terms)
    if (std::find(kFacetFields.begin(), kFacetFields.end(), field) == kFacetFields.end() &&
        field != "name" && field != "id" && field != "state" && field != "frequency")
      return Status::InvalidArgument("Campo de búsqueda desconocido: " + field,
                                     {{"fq",
                                       "Campos: organization, groups, tags, res_format, "
                                       "license_id, name, frequency"}});
  std::vector<std::string> facet_fields;
  if (Has(in, "facet_field")) {
    std::string ff = GetString(in, "facet_field");
    // CKAN takes a JSON list ('["groups","tags"]'); a comma list is accepted too.
    std::string stripped;
    for (char c : ff)
      if (c != '[' && c != ']' && c != '"' && c != '\'') stripped += c;
    for (const std::string& f : SplitList(stripped)) {
      if (std::find(kFacetFields.begin(), kFacetFields.end(), f) == kFacetFields.end())
        return Status::InvalidArgument("Faceta desconocida: " + f,
                                       {{"facet.field",
                                         "Facetas: organization, groups, tags, "
                                         "res_format, license_id"}});
      facet_fields.push_back(f);
    }
  } else {
    facet_fields = {"organization", "groups", "tags", "res_format", "license_id"};
  }
  bool drafts = GetBool(in, "include_drafts") && SeesDrafts(ctx.who);
  ASSIGN_OR_RETURN(Loaded L, LoadDatasets(ctx.db, drafts ? "1 = 1" : "d.state = 'active'", {}));

  struct Hit {
    json::object p;
    const db::Row* row;
  };
  std::vector<Hit> hits;
  for (const db::Row& d : L.datasets) {
    if (!q.words.empty()) {
      const std::string& hay = d.Text("search_text");
      bool all = true;
      for (const std::string& w : q.words)
        if (hay.find(" " + w) == std::string::npos) {
          all = false;
          break;
        }
      if (!all) continue;
    }
    json::object p = PackageDict(L, d);
    bool ok = true;
    for (const auto& [field, value] : q.terms) {
      auto vals = FieldValues(p, field);
      bool any = false;
      for (const std::string& v : vals)
        if (v == value || (field == "res_format" && Lower(v) == Lower(value))) any = true;
      if (!any) {
        ok = false;
        break;
      }
    }
    if (ok) hits.push_back({std::move(p), &d});
  }

  // Facets over every hit, before paging.
  int64_t facet_limit = Has(in, "facet_limit") ? GetInt(in, "facet_limit") : 50;
  json::object facets, search_facets;
  for (const std::string& f : facet_fields) {
    std::map<std::string, std::pair<int64_t, std::string>> counts;
    for (const Hit& h : hits)
      for (const std::string& v : FieldValues(h.p, f))
        if (!v.empty()) {
          auto& c = counts[v];
          ++c.first;
          if (c.second.empty()) c.second = FacetDisplay(h.p, f, v);
        }
    std::vector<std::pair<std::string, std::pair<int64_t, std::string>>> sorted(counts.begin(),
                                                                                counts.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
    if (facet_limit >= 0 && static_cast<int64_t>(sorted.size()) > facet_limit)
      sorted.resize(static_cast<size_t>(facet_limit));
    json::object plain;
    json::array items;
    for (const auto& [v, c] : sorted) {
      plain[v] = c.first;
      items.push_back(json::object{{"name", v}, {"display_name", c.second}, {"count", c.first}});
    }
    facets[f] = std::move(plain);
    search_facets[f] = json::object{{"title", f}, {"items", std::move(items)}};
  }

  // Sort: CKAN's default is relevance then modification date; without a ranking of our own,
  // relevance is the modification date too.
  std::string sort = GetString(in, "sort");
  if (sort.empty())
    sort = q.words.empty() ? "metadata_modified desc" : "score desc, metadata_modified desc";
  std::string key = sort.substr(0, sort.find(','));
  while (!key.empty() && key.back() == ' ') key.pop_back();
  std::string field = key.substr(0, key.find(' '));
  bool desc = key.find(" desc") != std::string::npos;
  if (field == "score") {
    field = "metadata_modified";
    desc = true;
  }
  static const std::set<std::string> kSortable = {
      "name",         "title",      "title_string", "metadata_modified", "metadata_created",
      "views_recent", "views_total"};
  if (!kSortable.count(field))
    return Status::InvalidArgument("No se puede ordenar por " + field,
                                   {{"sort",
                                     "Use name, title_string, metadata_modified, "
                                     "metadata_created o views_recent, con asc o desc"}});
  auto sort_key = [&](const Hit& h) -> std::string {
    if (field == "title" || field == "title_string")
      return text::Fold(std::string(h.p.at("title").as_string()));
    if (field == "views_recent" || field == "views_total") {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%020lld",
                    static_cast<long long>(h.p.at("tracking_summary").at("total").as_int64()));
      return buf;
    }
    return std::string(h.p.at(field).as_string());
  };
  std::stable_sort(hits.begin(), hits.end(), [&](const Hit& a, const Hit& b) {
    std::string ka = sort_key(a), kb = sort_key(b);
    if (ka != kb) return desc ? ka > kb : ka < kb;
    return a.p.at("name").as_string() < b.p.at("name").as_string();
  });

  int64_t rows = Has(in, "rows") ? GetInt(in, "rows") : 10;
  int64_t start = Has(in, "start") ? GetInt(in, "start") : 0;
  json::array results;
  for (int64_t i = start; i < static_cast<int64_t>(hits.size()) && i < start + rows; ++i)
    results.push_back(std::move(hits[static_cast<size_t>(i)].p));
  return json::object{{"count", static_cast<int64_t>(hits.size())},
                      {"sort", sort},
                      {"facets", std::move(facets)},
                      {"results", std::move(results)},
                      {"search_facets", std::move(search_facets)}};
}

}  // namespace

// ---- permissions -------------------------------------------------------------------------------

namespace {

// Publishers: the Secretariado and administrators publish for every organization; an enlace
// for the organizations of their unit.
Status CanPublishFor(ActionContext& ctx, int64_t org_id) {
  if (ctx.who.system || ctx.who.role == Role::kSecretariado || ctx.who.role == Role::kAdmin)
    return Status::Ok();
  ASSIGN_OR_RETURN(db::Row org, ctx.db.QueryOne("SELECT unit_id FROM datos_orgs WHERE id = ?",
                                                {org_id}, "La organización no existe"));
  if (ctx.who.role == Role::kEnlace && ctx.who.unit_id != 0 && !org.IsNull("unit_id") &&
      org.Int("unit_id") == ctx.who.unit_id)
    return Status::Ok();
  return Status::PermissionDenied(
      "Solo el enlace de la unidad de esta organización, el Secretariado o un administrador "
      "pueden publicar sus datos");
}

Result<db::Row> DatasetRow(db::Connection& db, int64_t id) {
  return db.QueryOne("SELECT * FROM datos_datasets WHERE id = ?", {id},
                     "El conjunto de datos no existe");
}

// The caller may edit a dataset (or one of its resources, given the row joined with its
// dataset's `managed` and `org_id`): not a managed one, and only as a publisher of its
// organization.
Status CanEdit(ActionContext& ctx, const db::Row& row) {
  if (!row.Text("managed").empty() && !ctx.who.system)
    return Status::Conflict(
        "Este conjunto lo publica Abierto a partir de sus propios datos y se actualiza solo");
  return CanPublishFor(ctx, row.Int("org_id"));
}

Status DatasetAuthorize(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row d, DatasetRow(ctx.db, GetInt(in, "id")));
  RETURN_IF_ERROR(CanEdit(ctx, d));
  // Moving a dataset to another organization needs the right to publish there too.
  if (Has(in, "organization_id") && GetInt(in, "organization_id") != d.Int("org_id"))
    RETURN_IF_ERROR(CanPublishFor(ctx, GetInt(in, "organization_id")));
  return Status::Ok();
}

Result<json::object> Snapshot(db::Connection& db, const char* table, int64_t id) {
  ASSIGN_OR_RETURN(db::Row r, db.QueryOne(std::string("SELECT * FROM ") + table + " WHERE id = ?",
                                          {id}, "El registro no existe"));
  json::object o = RowJson(r);
  o.erase("search_text");
  return o;
}

std::string Scope(int64_t dataset_id) { return "dataset:" + std::to_string(dataset_id); }

Status Touch(db::Connection& db, int64_t dataset_id, const std::string& now) {
  return db.Exec("UPDATE datos_datasets SET modified_at = ? WHERE id = ?", {now, dataset_id})
      .status();
}

// The dataset's search key: title, description, keywords, organization, themes and the names
// and formats of its resources.
Status Reindex(db::Connection& db, int64_t dataset_id) {
  ASSIGN_OR_RETURN(db::Row d, db.QueryOne("SELECT d.title, d.notes, d.spatial, o.title AS org "
                                          "FROM datos_datasets d JOIN datos_orgs o ON o.id = "
                                          "d.org_id WHERE d.id = ?",
                                          {dataset_id}, "El conjunto de datos no existe"));
  std::string all = d.Text("title") + " " + markdown::ToPlainText(d.Text("notes")) + " " +
                    d.Text("spatial") + " " + d.Text("org");
  ASSIGN_OR_RETURN(db::Rows tags,
                   db.Query("SELECT tag FROM datos_tags WHERE dataset_id = ?", {dataset_id}));
  for (const db::Row& t : tags) all += " " + t.Text("tag");
  ASSIGN_OR_RETURN(db::Rows gs, db.Query("SELECT g.title FROM datos_dataset_groups dg JOIN "
                                         "datos_groups g ON g.id = dg.group_id WHERE "
                                         "dg.dataset_id = ?",
                                         {dataset_id}));
  for (const db::Row& g : gs) all += " " + g.Text("title");
  ASSIGN_OR_RETURN(db::Rows rs, db.Query("SELECT name, format FROM datos_resources WHERE "
                                         "dataset_id = ?",
                                         {dataset_id}));
  for (const db::Row& r : rs) all += " " + r.Text("name") + " " + r.Text("format");
  return db
      .Exec("UPDATE datos_datasets SET search_text = ? WHERE id = ?", {SearchKey(all), dataset_id})
      .status();
}

}  // namespace

// ---- organizations, themes, licences ---------------------------------------------------------

namespace {

std::vector<Field> OrgFields() {
  return {StringField("title", 200).Required(), StringField("name", 100),
          TextField("description", 5000), EmailField("email"),
          IdField("unit_id").Options("units.list")};
}

Result<std::string> NameFor(const Input& in, std::string_view field = "name") {
  std::string name = Has(in, field) ? GetString(in, field) : text::Slugify(GetString(in, "title"));
  if (name.size() > 100) name.resize(100);
  while (!name.empty() && name.back() == '-') name.pop_back();
  if (!IsValidName(name))
    return Status::InvalidArgument(
        "Nombre no válido",
        {{std::string(field), "Use de 2 a 100 minúsculas sin acentos, dígitos, - o _"}});
  return name;
}

Result<json::value> CreateNamed(ActionContext& ctx, const Input& in, const char* table,
                                const char* entity, bool org) {
  ASSIGN_OR_RETURN(std::string name, NameFor(in));
  std::string uid = NewUuid();
  db::Rows rows;
  if (org) {
    ASSIGN_OR_RETURN(
        rows, ctx.db.Query(
                  "INSERT INTO datos_orgs (uid, name, title, description, "
                  "email, unit_id, created_at) VALUES (?,?,?,?,?,?,?) "
                  "RETURNING id",
                  {uid, name, GetString(in, "title"), GetString(in, "description"),
                   GetString(in, "email"),
                   Has(in, "unit_id") ? db::Value(GetInt(in, "unit_id")) : db::Value(), ctx.now}));
  } else {
    ASSIGN_OR_RETURN(rows, ctx.db.Query("INSERT INTO datos_groups (uid, name, title, description, "
                                        "created_at) VALUES (?,?,?,?,?) RETURNING id",
                                        {uid, name, GetString(in, "title"),
                                         GetString(in, "description"), ctx.now}));
  }
  int64_t id = rows[0].Int("id");
  ASSIGN_OR_RETURN(json::object after, Snapshot(ctx.db, table, id));
  RETURN_IF_ERROR(
      ctx.Audit(entity, id, std::string(entity) + ":" + std::to_string(id), nullptr, after));
  return json::object{{"id", id}, {"uid", uid}, {"name", name}};
}

Result<json::value> UpdateNamed(ActionContext& ctx, const Input& in, const char* table,
                                const char* entity, bool org) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(json::object before, Snapshot(ctx.db, table, id));
  ASSIGN_OR_RETURN(std::string name, NameFor(in));
  if (org)
    RETURN_IF_ERROR(
        ctx.db
            .Exec(
                "UPDATE datos_orgs SET name = ?, title = ?, description = ?, "
                "email = ?, unit_id = ? WHERE id = ?",
                {name, GetString(in, "title"), GetString(in, "description"), GetString(in, "email"),
                 Has(in, "unit_id") ? db::Value(GetInt(in, "unit_id")) : db::Value(), id})
            .status());
  else
    RETURN_IF_ERROR(ctx.db
                        .Exec("UPDATE datos_groups SET name = ?, title = ?, description = ? "
                              "WHERE id = ?",
                              {name, GetString(in, "title"), GetString(in, "description"), id})
                        .status());
  ASSIGN_OR_RETURN(json::object after, Snapshot(ctx.db, table, id));
  RETURN_IF_ERROR(
      ctx.Audit(entity, id, std::string(entity) + ":" + std::to_string(id), before, after));
  // The organization's or theme's title is part of its datasets' search keys.
  ASSIGN_OR_RETURN(db::Rows ds,
                   ctx.db.Query(org ? "SELECT id FROM datos_datasets WHERE org_id = ?"
                                    : "SELECT dataset_id AS id FROM datos_dataset_groups WHERE "
                                      "group_id = ?",
                                {id}));
  for (const db::Row& d : ds) RETURN_IF_ERROR(Reindex(ctx.db, d.Int("id")));
  return json::object{{"id", id}, {"name", name}};
}

// organization_list / group_list: names, or dicts with all_fields; sorted as CKAN's default
// ("title asc") or by name / package_count.
Result<json::value> ListNamed(ActionContext& ctx, const Input& in, bool org) {
  std::string count_sql =
      org ? "SELECT o.*, (SELECT COUNT(*) FROM datos_datasets d WHERE d.org_id = o.id AND "
            "d.state = 'active') AS n FROM datos_orgs o"
          : "SELECT g.*, (SELECT COUNT(*) FROM datos_dataset_groups dg JOIN datos_datasets d ON "
            "d.id = dg.dataset_id WHERE dg.group_id = g.id AND d.state = 'active') AS n FROM "
            "datos_groups g";
  ASSIGN_OR_RETURN(db::Rows rows, ctx.db.Query(count_sql));
  std::string sort = Has(in, "sort") ? GetString(in, "sort") : "title asc";
  std::string field = sort.substr(0, sort.find(' '));
  bool desc = sort.find(" desc") != std::string::npos;
  if (field != "title" && field != "name" && field != "package_count")
    return Status::InvalidArgument("No se puede ordenar por " + field,
                                   {{"sort", "Use title, name o package_count, con asc o desc"}});
  std::vector<const db::Row*> v;
  for (const db::Row& r : rows) v.push_back(&r);
  std::stable_sort(v.begin(), v.end(), [&](const db::Row* a, const db::Row* b) {
    if (field == "package_count") {
      if (a->Int("n") != b->Int("n"))
        return desc ? a->Int("n") > b->Int("n") : a->Int("n") < b->Int("n");
      return a->Text("name") < b->Text("name");
    }
    std::string ka = field == "title" ? text::Fold(a->Text("title")) : a->Text("name");
    std::string kb = field == "title" ? text::Fold(b->Text("title")) : b->Text("name");
    return desc ? ka > kb : ka < kb;
  });
  int64_t offset = GetInt(in, "offset", 0), limit = GetInt(in, "limit", 1000);
  json::array out;
  for (int64_t i = offset; i < static_cast<int64_t>(v.size()) && i < offset + limit; ++i) {
    const db::Row& r = *v[static_cast<size_t>(i)];
    if (GetBool(in, "all_fields"))
      out.push_back(org ? OrgDict(r, r.Int("n")) : GroupDict(r, r.Int("n")));
    else
      out.push_back(json::value(r.Text("name")));
  }
  return out;
}

Result<json::value> ShowNamed(ActionContext& ctx, const Input& in, bool org) {
  std::string key = GetString(in, "id");
  ASSIGN_OR_RETURN(
      db::Row r,
      ctx.db.QueryOne(std::string("SELECT * FROM ") + (org ? "datos_orgs" : "datos_groups") +
                          " WHERE name = ? OR uid = ?",
                      {key, key}, org ? "La organización no existe" : "El tema no existe"));
  Input search{{"fq", (org ? "organization:" : "groups:") + r.Text("name")},
               {"rows", GetInt(in, "rows", 1000)},
               {"facet_field", "[]"}};
  ASSIGN_OR_RETURN(json::value found, PackageSearch(ctx, search));
  json::object o =
      org ? OrgDict(r, found.at("count").as_int64()) : GroupDict(r, found.at("count").as_int64());
  if (org) o["email"] = r.Text("email");
  if (GetBool(in, "include_datasets")) o["packages"] = found.at("results");
  o["_id"] = r.Int("id");  // for the actions that take organization_id; stripped by the CKAN API
  return o;
}

}  // namespace

// ---- datasets ---------------------------------------------------------------------------------

namespace {

const std::vector<std::string> kFrequencies = {"continua", "diaria",     "semanal",
                                               "mensual",  "trimestral", "semestral",
                                               "anual",    "irregular",  "sin_actualizacion"};

std::vector<Field> DatasetFields() {
  return {StringField("title", 300).Required(),
          StringField("name", 100),
          TextField("notes", 20000),
          IdField("organization_id").Required().Options("datos.organization.options"),
          StringField("license_id", 60).Required().Options("datos.license.options"),
          StringField("groups", 1000),
          StringField("tags", 1000),
          EnumField("frequency", kFrequencies),
          DateField("temporal_start"),
          DateField("temporal_end"),
          StringField("spatial", 300),
          StringField("contact_name", 200),
          EmailField("contact_email")};
}

Status DatasetCheck(const Input& in) {
  if (Has(in, "temporal_start") && Has(in, "temporal_end") &&
      GetString(in, "temporal_start") > GetString(in, "temporal_end"))
    return Status::InvalidArgument("Las fechas están en desorden",
                                   {{"temporal_end", "Debe ser igual o posterior al inicio"}});
  return Status::Ok();
}

// Themes and keywords of a dataset, replaced as a whole.
Status SetGroupsAndTags(ActionContext& ctx, int64_t id, const Input& in) {
  RETURN_IF_ERROR(
      ctx.db.Exec("DELETE FROM datos_dataset_groups WHERE dataset_id = ?", {id}).status());
  for (const std::string& g : SplitList(GetString(in, "groups"))) {
    ASSIGN_OR_RETURN(db::Rows r, ctx.db.Query("SELECT id FROM datos_groups WHERE name = ? OR "
                                              "title = ? OR uid = ?",
                                              {g, g, g}));
    if (r.empty())
      return Status::InvalidArgument("Tema desconocido: " + g,
                                     {{"groups", "No existe el tema «" + g + "»"}});
    RETURN_IF_ERROR(ctx.db
                        .Exec("INSERT INTO datos_dataset_groups (dataset_id, group_id) VALUES "
                              "(?, ?) ON CONFLICT DO NOTHING",
                              {id, r[0].Int("id")})
                        .status());
  }
  RETURN_IF_ERROR(ctx.db.Exec("DELETE FROM datos_tags WHERE dataset_id = ?", {id}).status());
  for (const std::string& t : SplitList(GetString(in, "tags"))) {
    if (t.size() > 100 || text::HasControlChars(t, false))
      return Status::InvalidArgument("Palabra clave no válida",
                                     {{"tags", "Cada palabra clave: hasta 100 caracteres"}});
    RETURN_IF_ERROR(ctx.db
                        .Exec("INSERT INTO datos_tags (dataset_id, tag) VALUES (?, ?) "
                              "ON CONFLICT DO NOTHING",
                              {id, t})
                        .status());
  }
  return Status::Ok();
}

Status LicenseExists(db::Connection& db, const std::string& id) {
  ASSIGN_OR_RETURN(db::Rows r, db.Query("SELECT 1 AS x FROM datos_licenses WHERE id = ?", {id}));
  if (r.empty())
    return Status::InvalidArgument("Licencia desconocida",
                                   {{"license_id", "Elija una licencia de la lista"}});
  return Status::Ok();
}

Result<json::value> DatasetCreate(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(std::string name, NameFor(in));
  RETURN_IF_ERROR(LicenseExists(ctx.db, GetString(in, "license_id")));
  std::string uid = NewUuid();
  auto inserted = ctx.db.Query(
      "INSERT INTO datos_datasets (uid, name, title, notes, org_id, license_id, frequency, "
      "temporal_start, temporal_end, spatial, contact_name, contact_email, state, managed, "
      "created_by, created_at, modified_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'draft',?,?,?,?) "
      "RETURNING id",
      {uid, name, GetString(in, "title"), GetString(in, "notes"), GetInt(in, "organization_id"),
       GetString(in, "license_id"), GetString(in, "frequency"), GetString(in, "temporal_start"),
       GetString(in, "temporal_end"), GetString(in, "spatial"), GetString(in, "contact_name"),
       GetString(in, "contact_email"), ctx.who.system ? GetString(in, "managed") : "",
       UserOrNull(ctx.who), ctx.now, ctx.now});
  if (!inserted.ok() && inserted.status().code() == StatusCode::kConflict)
    return Status::Conflict("Ya existe un conjunto con el nombre «" + name + "»");
  if (!inserted.ok()) return inserted.status();
  int64_t id = (*inserted)[0].Int("id");
  RETURN_IF_ERROR(SetGroupsAndTags(ctx, id, in));
  RETURN_IF_ERROR(Reindex(ctx.db, id));
  ASSIGN_OR_RETURN(json::object after, Snapshot(ctx.db, "datos_datasets", id));
  RETURN_IF_ERROR(ctx.Audit("dataset", id, Scope(id), nullptr, after));
  return json::object{{"id", id}, {"uid", uid}, {"name", name}, {"state", "draft"}};
}

Result<json::value> DatasetUpdate(ActionContext& ctx, const Input& in) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(json::object before, Snapshot(ctx.db, "datos_datasets", id));
  ASSIGN_OR_RETURN(std::string name, NameFor(in));
  RETURN_IF_ERROR(LicenseExists(ctx.db, GetString(in, "license_id")));
  auto updated = ctx.db.Exec(
      "UPDATE datos_datasets SET name = ?, title = ?, notes = ?, org_id = ?, license_id = ?, "
      "frequency = ?, temporal_start = ?, temporal_end = ?, spatial = ?, contact_name = ?, "
      "contact_email = ?, modified_at = ? WHERE id = ?",
      {name, GetString(in, "title"), GetString(in, "notes"), GetInt(in, "organization_id"),
       GetString(in, "license_id"), GetString(in, "frequency"), GetString(in, "temporal_start"),
       GetString(in, "temporal_end"), GetString(in, "spatial"), GetString(in, "contact_name"),
       GetString(in, "contact_email"), ctx.now, id});
  if (!updated.ok() && updated.status().code() == StatusCode::kConflict)
    return Status::Conflict("Ya existe un conjunto con el nombre «" + name + "»");
  if (!updated.ok()) return updated.status();
  RETURN_IF_ERROR(SetGroupsAndTags(ctx, id, in));
  RETURN_IF_ERROR(Reindex(ctx.db, id));
  ASSIGN_OR_RETURN(json::object after, Snapshot(ctx.db, "datos_datasets", id));
  RETURN_IF_ERROR(ctx.Audit("dataset", id, Scope(id), before, after));
  return json::object{{"id", id}, {"name", name}};
}

Result<json::value> DatasetSetState(ActionContext& ctx, const Input& in, bool publish) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(json::object before, Snapshot(ctx.db, "datos_datasets", id));
  if (publish) {
    // An empty dataset is not worth a visit: publish once there is something to download.
    ASSIGN_OR_RETURN(db::Rows r, ctx.db.Query("SELECT 1 AS x FROM datos_resources WHERE "
                                              "dataset_id = ? AND (url_type = 'link' OR "
                                              "version > 0)",
                                              {id}));
    if (r.empty())
      return Status::Conflict(
          "Agregue al menos un recurso (archivo o enlace) antes de publicar el conjunto");
  }
  RETURN_IF_ERROR(ctx.db
                      .Exec("UPDATE datos_datasets SET state = ?, modified_at = ? WHERE id = ?",
                            {std::string(publish ? "active" : "draft"), ctx.now, id})
                      .status());
  ASSIGN_OR_RETURN(json::object after, Snapshot(ctx.db, "datos_datasets", id));
  RETURN_IF_ERROR(ctx.Audit("dataset", id, Scope(id), before, after));
  return json::object{{"id", id}, {"state", publish ? "active" : "draft"}};
}

Result<json::value> DatasetValues(ActionContext& ctx, const Input& in) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(db::Row d, DatasetRow(ctx.db, id));
  json::object o = RowJson(d);
  o["organization_id"] = d.Int("org_id");
  std::string groups, tags;
  ASSIGN_OR_RETURN(db::Rows gs, ctx.db.Query("SELECT g.name FROM datos_dataset_groups dg JOIN "
                                             "datos_groups g ON g.id = dg.group_id WHERE "
                                             "dg.dataset_id = ? ORDER BY g.name",
                                             {id}));
  for (const db::Row& g : gs) groups += (groups.empty() ? "" : ", ") + g.Text("name");
  ASSIGN_OR_RETURN(db::Rows ts, ctx.db.Query("SELECT tag FROM datos_tags WHERE dataset_id = ? "
                                             "ORDER BY tag",
                                             {id}));
  for (const db::Row& t : ts) tags += (tags.empty() ? "" : ", ") + t.Text("tag");
  o["groups"] = groups;
  o["tags"] = tags;
  o["spatial"] = d.Text("spatial");
  for (const char* k : {"uid", "org_id", "state", "managed", "search_text", "created_by",
                        "created_at", "modified_at"})
    o.erase(k);
  return o;
}

Result<json::value> PackageShow(ActionContext& ctx, const Input& in) {
  std::string key = GetString(in, "id");
  bool drafts = SeesDrafts(ctx.who);
  ASSIGN_OR_RETURN(Loaded L, LoadDatasets(ctx.db,
                                          drafts ? "(d.name = ? OR d.uid = ?)"
                                                 : "(d.name = ? OR d.uid = ?) AND d.state = "
                                                   "'active'",
                                          {key, key}));
  if (L.datasets.empty()) return Status::NotFound("El conjunto de datos no existe");
  json::object p = PackageDict(L, L.datasets[0]);
  p["_id"] = L.datasets[0].Int("id");  // for the panel's forms; stripped by the CKAN API
  return p;
}

Result<json::value> PackageList(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Rows rows, ctx.db.Query("SELECT name FROM datos_datasets WHERE state = "
                                               "'active' ORDER BY name"));
  int64_t offset = GetInt(in, "offset", 0), limit = GetInt(in, "limit", 1000000);
  json::array out;
  for (int64_t i = offset; i < static_cast<int64_t>(rows.size()) && i < offset + limit; ++i)
    out.push_back(json::value(rows[static_cast<size_t>(i)].Text("name")));
  return out;
}

Result<json::value> TagList(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Rows rows, ctx.db.Query("SELECT DISTINCT t.tag FROM datos_tags t JOIN "
                                               "datos_datasets d ON d.id = t.dataset_id WHERE "
                                               "d.state = 'active' ORDER BY t.tag"));
  std::string q = text::Fold(GetString(in, "query"));
  json::array out;
  for (const db::Row& r : rows) {
    std::string t = r.Text("tag");
    if (!q.empty() && text::Fold(t).find(q) == std::string::npos) continue;
    if (GetBool(in, "all_fields"))
      out.push_back(json::object{
          {"id", TagId(t)}, {"name", t}, {"display_name", t}, {"vocabulary_id", nullptr}});
    else
      out.push_back(json::value(t));
  }
  return out;
}

}  // namespace

// ---- resources and their versions ---------------------------------------------------------------

namespace {

bool IsTabular(std::string_view format) { return format == "CSV" || format == "XLSX"; }

Result<db::Row> ResourceWithDataset(db::Connection& db, std::string_view uid_or_id) {
  return db.QueryOne(
      "SELECT r.*, d.uid AS dataset_uid, d.name AS dataset_name, d.org_id, "
      "d.state AS dataset_state, d.managed FROM datos_resources r JOIN "
      "datos_datasets d ON d.id = r.dataset_id WHERE r.uid = ?",
      {std::string(uid_or_id)}, "El recurso no existe");
}

// Records a file as the next version of a resource. A tabular file waits for the ingest queue
// (status "procesando", with a job); anything else becomes the current version at once.
struct Recorded {
  int64_t version = 0;
  int64_t job_id = 0;
  std::string format;
};

Result<Recorded> RecordVersion(ActionContext& ctx, int64_t resource_id, int64_t dataset_id,
                               const std::string& resource_uid, const std::string& filename,
                               const std::string& format, const StoredFile& f,
                               const std::string& sheet, bool inline_job) {
  ASSIGN_OR_RETURN(db::Row next, ctx.db.QueryOne("SELECT COALESCE(MAX(version), 0) + 1 AS v FROM "
                                                 "datos_versions WHERE resource_id = ?",
                                                 {resource_id}, "El recurso no existe"));
  Recorded out{next.Int("v"), 0, format};
  bool tabular = IsTabular(format);
  RETURN_IF_ERROR(
      ctx.db
          .Exec("INSERT INTO datos_versions (resource_id, version, status, filename, format, "
                "mimetype, size, sha256, created_by, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                {resource_id, out.version, std::string(tabular ? "procesando" : "activa"), filename,
                 format, std::string(MimeFor(format)), f.size, f.sha256, UserOrNull(ctx.who),
                 ctx.now})
          .status());
  if (tabular) {
    // The command line runs its own job at once (and must not race a server's queue for it).
    std::string status = inline_job ? "ejecutando" : "pendiente";
    ASSIGN_OR_RETURN(db::Rows job,
                     ctx.db.Query("INSERT INTO datos_jobs (resource_uid, version, "
                                  "sheet, status, created_by, created_at, "
                                  "claimed_at) VALUES (?,?,?,?,?,?,?) RETURNING id",
                                  {resource_uid, out.version, sheet, status, UserOrNull(ctx.who),
                                   ctx.now, inline_job ? ctx.now : std::string()}));
    out.job_id = job[0].Int("id");
  } else {
    RETURN_IF_ERROR(ctx.db
                        .Exec("UPDATE datos_resources SET version = ?, format = ?, "
                              "modified_at = ? WHERE id = ?",
                              {out.version, format, ctx.now, resource_id})
                        .status());
    RETURN_IF_ERROR(Touch(ctx.db, dataset_id, ctx.now));
  }
  return out;
}

// The file of an upload: from the form or JSON body ({name, content_type, data}), or — for the
// command line only — from a path on the server.
struct Upload {
  std::string filename;
  std::string format;
  StoredFile stored;
};

Result<std::optional<Upload>> TakeUpload(ActionContext& ctx, const Input& in) {
  if (Has(in, "source_path")) {
    if (!ctx.who.system)
      return Status::PermissionDenied(
          "Solo la línea de órdenes puede cargar archivos del servidor");
    std::string path = GetString(in, "source_path");
    ASSIGN_OR_RETURN(std::string filename, SafeFileName(path));
    std::ifstream f(path, std::ios::binary);
    if (!f) return Status::InvalidArgument("No se puede leer " + path);
    std::string head(8, '\0');
    f.read(head.data(), 8);
    head.resize(static_cast<size_t>(f.gcount()));
    ASSIGN_OR_RETURN(std::string format, DetectFormat(filename, head));
    ASSIGN_OR_RETURN(StoredFile stored, StoreBlobFromFile(ctx.db, path));
    return Upload{filename, format, stored};
  }
  if (!Has(in, "file")) return std::optional<Upload>();
  const json::object& file = in.at("file").as_object();
  ASSIGN_OR_RETURN(std::string filename, SafeFileName(std::string(file.at("name").as_string())));
  std::string_view data = file.at("data").as_string();
  if (data.empty())
    return Status::InvalidArgument("El archivo está vacío", {{"file", "El archivo está vacío"}});
  ASSIGN_OR_RETURN(std::string format, DetectFormat(filename, data.substr(0, 8)));
  ASSIGN_OR_RETURN(StoredFile stored, StoreBlob(ctx.db, data));
  return Upload{filename, format, stored};
}

constexpr size_t kMaxUploadBytes = 15 * 1024 * 1024;

std::vector<Field> ResourceFields() {
  return {StringField("name", 200).Required(),
          TextField("description", 5000),
          UrlField("link"),
          StringField("format", 20),
          FileField("file", kMaxUploadBytes),
          StringField("sheet", 100),
          StringField("source_path", 4096).NotInForms()};
}

Status ResourceCheck(const Input& in) {
  bool file = Has(in, "file") || Has(in, "source_path");
  if (file == Has(in, "link"))
    return Status::InvalidArgument(
        "Suba un archivo o indique un enlace, no ambos",
        {{"file", "Suba un archivo o indique un enlace (uno de los dos)"}});
  return Status::Ok();
}

Status ResourceCreateAuthorize(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row d, DatasetRow(ctx.db, GetInt(in, "dataset_id")));
  return CanEdit(ctx, d);
}

Result<json::value> ResourceCreate(ActionContext& ctx, const Input& in) {
  int64_t dataset_id = GetInt(in, "dataset_id");
  ASSIGN_OR_RETURN(db::Row pos, ctx.db.QueryOne("SELECT COALESCE(MAX(position), -1) + 1 AS p FROM "
                                                "datos_resources WHERE dataset_id = ?",
                                                {dataset_id}, "El conjunto de datos no existe"));
  std::string uid = NewUuid();
  bool link = Has(in, "link");
  std::string format = Has(in, "format") ? GetString(in, "format") : "";
  ASSIGN_OR_RETURN(
      db::Rows rows,
      ctx.db.Query("INSERT INTO datos_resources (uid, dataset_id, name, description, "
                   "position, url_type, link, format, version, created_at, "
                   "modified_at) VALUES (?,?,?,?,?,?,?,?,0,?,?) RETURNING id",
                   {uid, dataset_id, GetString(in, "name"), GetString(in, "description"),
                    pos.Int("p"), std::string(link ? "link" : "upload"), GetString(in, "link"),
                    format, ctx.now, ctx.now}));
  int64_t id = rows[0].Int("id");
  json::object out{{"id", id}, {"uid", uid}};
  if (!link) {
    ASSIGN_OR_RETURN(std::optional<Upload> up, TakeUpload(ctx, in));
    ASSIGN_OR_RETURN(Recorded rec,
                     RecordVersion(ctx, id, dataset_id, uid, up->filename, up->format, up->stored,
                                   GetString(in, "sheet"), Has(in, "source_path")));
    if (!IsTabular(rec.format))
      RETURN_IF_ERROR(
          ctx.db.Exec("UPDATE datos_resources SET format = ? WHERE id = ?", {rec.format, id})
              .status());
    out["version"] = rec.version;
    out["format"] = rec.format;
    if (rec.job_id) out["job_id"] = rec.job_id;
  }
  RETURN_IF_ERROR(Touch(ctx.db, dataset_id, ctx.now));
  RETURN_IF_ERROR(Reindex(ctx.db, dataset_id));
  ASSIGN_OR_RETURN(json::object after, Snapshot(ctx.db, "datos_resources", id));
  RETURN_IF_ERROR(ctx.Audit("resource", id, Scope(dataset_id), nullptr, after));
  return out;
}

Status ResourceAuthorize(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row r, ResourceWithDataset(ctx.db, GetString(in, "id")));
  return CanEdit(ctx, r);
}

// A new version of an uploaded resource's file; the previous versions stay downloadable.
Result<json::value> ResourceUpload(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row r, ResourceWithDataset(ctx.db, GetString(in, "id")));
  if (r.Text("url_type") != "upload")
    return Status::Conflict("Este recurso es un enlace; no tiene archivo que reemplazar");
  ASSIGN_OR_RETURN(std::optional<Upload> up, TakeUpload(ctx, in));
  if (!up) return Status::InvalidArgument("Falta el archivo", {{"file", "Suba un archivo"}});
  ASSIGN_OR_RETURN(Recorded rec, RecordVersion(ctx, r.Int("id"), r.Int("dataset_id"), r.Text("uid"),
                                               up->filename, up->format, up->stored,
                                               GetString(in, "sheet"), Has(in, "source_path")));
  RETURN_IF_ERROR(ctx.Audit("resource", r.Int("id"), Scope(r.Int("dataset_id")), nullptr,
                            json::object{{"version", rec.version},
                                         {"filename", up->filename},
                                         {"sha256", up->stored.sha256},
                                         {"size", up->stored.size}}));
  json::object out{{"uid", r.Text("uid")}, {"version", rec.version}, {"format", rec.format}};
  if (rec.job_id) out["job_id"] = rec.job_id;
  return out;
}

Result<json::value> ResourceUpdate(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row r, ResourceWithDataset(ctx.db, GetString(in, "id")));
  int64_t id = r.Int("id");
  ASSIGN_OR_RETURN(json::object before, Snapshot(ctx.db, "datos_resources", id));
  if (Has(in, "link") && r.Text("url_type") != "link")
    return Status::InvalidArgument("Este recurso es un archivo",
                                   {{"link", "Para cambiar el archivo suba una nueva versión"}});
  RETURN_IF_ERROR(ctx.db
                      .Exec("UPDATE datos_resources SET name = ?, description = ?, link = "
                            "CASE WHEN url_type = 'link' AND ? <> '' THEN ? ELSE link END, "
                            "format = CASE WHEN url_type = 'link' AND ? <> '' THEN ? ELSE format "
                            "END, modified_at = ? WHERE id = ?",
                            {GetString(in, "name"), GetString(in, "description"),
                             GetString(in, "link"), GetString(in, "link"), GetString(in, "format"),
                             GetString(in, "format"), ctx.now, id})
                      .status());
  RETURN_IF_ERROR(Touch(ctx.db, r.Int("dataset_id"), ctx.now));
  RETURN_IF_ERROR(Reindex(ctx.db, r.Int("dataset_id")));
  ASSIGN_OR_RETURN(json::object after, Snapshot(ctx.db, "datos_resources", id));
  RETURN_IF_ERROR(ctx.Audit("resource", id, Scope(r.Int("dataset_id")), before, after));
  return json::object{{"uid", r.Text("uid")}};
}

Result<json::value> ResourceShow(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row r, ResourceWithDataset(ctx.db, GetString(in, "id")));
  if (r.Text("dataset_state") != "active" && !SeesDrafts(ctx.who))
    return Status::NotFound("El recurso no existe");
  ASSIGN_OR_RETURN(Loaded L, LoadDatasets(ctx.db, "d.id = ?", {r.Int("dataset_id")}));
  json::object p = PackageDict(L, L.datasets[0]);
  for (auto& v : p["resources"].as_array())
    if (v.at("id").as_string() == r.Text("uid")) {
      json::object o = v.as_object();
      o["package_name"] = p["name"];
      // Versions, newest first, each downloadable.
      ASSIGN_OR_RETURN(db::Rows vs,
                       ctx.db.Query("SELECT version, status, filename, format, size, sha256, "
                                    "datastore, quality, created_at FROM datos_versions WHERE "
                                    "resource_id = ? ORDER BY version DESC",
                                    {r.Int("id")}));
      json::array versions;
      for (const db::Row& x : vs) {
        json::object vo{
            {"version", x.Int("version")},
            {"status", x.Text("status")},
            {"filename", x.Text("filename")},
            {"format", x.Text("format")},
            {"size", x.Int("size")},
            {"hash", x.Text("sha256")},
            {"datastore", x.Int("datastore") != 0},
            {"created", CkanTime(x.Text("created_at"))},
            {"url", "/datos/conjunto/" + r.Text("dataset_name") + "/recurso/" + r.Text("uid") +
                        "/version/" + std::to_string(x.Int("version")) + "/" + x.Text("filename")}};
        if (!x.Text("quality").empty()) vo["quality"] = json::parse(x.Text("quality"));
        versions.push_back(std::move(vo));
      }
      o["versions"] = std::move(versions);
      return o;
    }
  return Status::NotFound("El recurso no existe");
}

// Where the bytes of a version (the current one with version 0) are, for downloads: the caller
// reads them chunk by chunk (ReadBlobChunk), so that a large file is never held whole.
Result<json::value> ResourceFile(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row r, ResourceWithDataset(ctx.db, GetString(in, "id")));
  if (r.Text("dataset_state") != "active" && !SeesDrafts(ctx.who))
    return Status::NotFound("El recurso no existe");
  int64_t v = GetInt(in, "version", 0);
  if (v == 0) v = r.Int("version");
  ASSIGN_OR_RETURN(db::Row x, ctx.db.QueryOne("SELECT filename, mimetype, sha256, size FROM "
                                              "datos_versions WHERE resource_id = ? AND version "
                                              "= ? AND status = 'activa'",
                                              {r.Int("id"), v}, "Esa versión no existe"));
  return json::object{{"filename", x.Text("filename")},
                      {"mimetype", x.Text("mimetype")},
                      {"dataset_uid", r.Text("dataset_uid")},
                      {"sha256", x.Text("sha256")},
                      {"size", x.Int("size")},
                      {"version", v}};
}

}  // namespace

// ---- the datastore, as the catalog publishes it -------------------------------------------------

namespace {

// The functions datastore_search_sql may call, with both dialects' names: aggregates, window
// functions, arithmetic, text, dates, conditionals, casts and full text. None reads files,
// settings, other queries or the server's state, and none builds a value of arbitrary size on
// request (repeat, lpad, printf, zeroblob are left out).
const std::vector<std::string> kSqlFunctions = {
    // aggregates
    "count", "sum", "avg", "min", "max", "total", "group_concat", "string_agg", "array_agg",
    "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp", "bool_and", "bool_or",
    "every", "percentile_cont", "percentile_disc", "mode", "corr", "covar_pop", "covar_samp",
    "grouping",
    // window functions
    "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
    "first_value", "last_value", "nth_value",
    // numbers
    "abs", "round", "ceil", "ceiling", "floor", "trunc", "sign", "sqrt", "power", "pow", "exp",
    "ln", "log", "log10", "mod", "div", "greatest", "least", "pi", "degrees", "radians", "sin",
    "cos", "tan", "asin", "acos", "atan", "atan2", "width_bucket",
    // text
    "length", "char_length", "character_length", "octet_length", "lower", "upper", "initcap",
    "trim", "ltrim", "rtrim", "btrim", "substr", "substring", "replace", "instr", "position",
    "strpos", "left", "right", "concat", "concat_ws", "split_part", "reverse", "unicode",
    "starts_with", "like", "glob", "regexp_replace", "regexp_match", "unaccent", "md5",
    // dates
    "date", "time", "datetime", "julianday", "strftime", "date_part", "date_trunc", "extract",
    "to_char", "to_date", "to_number", "to_timestamp", "age", "make_date",
    // conditionals, types and casts
    "coalesce", "ifnull", "nullif", "iif", "typeof", "cast", "numeric", "decimal", "int", "integer",
    "bigint", "smallint", "float", "real", "text", "varchar", "char", "boolean",
    // full text (PostgreSQL)
    "to_tsvector", "to_tsquery", "plainto_tsquery", "websearch_to_tsquery", "ts_rank"};

// CKAN's ckan.datastore.search.rows_max, and the time an SQL query may take.
constexpr int64_t kSqlRowsMax = 32000;
constexpr std::chrono::milliseconds kSqlTimeout{5000};

// A resource's datastore is as visible as its dataset: drafts only to staff.
Status DatastoreVisible(ActionContext& ctx, const std::string& resource_id) {
  auto r = ResourceWithDataset(ctx.db, resource_id);
  if (!r.ok() && r.status().code() == StatusCode::kNotFound)
    return Status::NotFound("El recurso «" + resource_id + "» no existe");
  if (!r.ok()) return r.status();
  if (r->Text("dataset_state") != "active" && !SeesDrafts(ctx.who))
    return Status::NotFound("El recurso «" + resource_id + "» no existe");
  return Status::Ok();
}

// A list given as a JSON array of strings or as a comma-separated string.
Result<std::vector<std::string>> ListParam(const std::string& raw, const char* field) {
  std::vector<std::string> out;
  std::string_view t = raw;
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  if (!t.empty() && t.front() == '[') {
    boost::system::error_code ec;
    json::value v = json::parse(t, ec);
    if (ec || !v.is_array())
      return Status::InvalidArgument("Lista no válida", {{field, "Una lista JSON de textos"}});
    for (const auto& x : v.as_array()) {
      if (!x.is_string())
        return Status::InvalidArgument("Lista no válida", {{field, "Una lista JSON de textos"}});
      out.emplace_back(x.as_string());
    }
    return out;
  }
  return SplitList(raw);
}

json::value CellJson(const db::Value& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* s = std::get_if<std::string>(&v)) return json::value(*s);
  if (auto* b = std::get_if<db::Blob>(&v)) return json::value(b->bytes);
  return nullptr;
}

Result<json::value> DatastoreSearch(ActionContext& ctx, const Input& in) {
  SearchRequest req;
  req.resource_id = GetString(in, "resource_id");
  RETURN_IF_ERROR(DatastoreVisible(ctx, req.resource_id));
  ASSIGN_OR_RETURN(req.filters, ParseDatastoreFilters(GetString(in, "filters")));
  req.q = GetString(in, "q");
  if (Has(in, "fields")) {
    ASSIGN_OR_RETURN(req.fields, ListParam(GetString(in, "fields"), "fields"));
  }
  req.sort = GetString(in, "sort");
  req.limit = GetInt(in, "limit", 100);
  req.offset = GetInt(in, "offset", 0);
  req.include_total = GetBool(in, "include_total");
  ASSIGN_OR_RETURN(SearchResult r, Search(ctx.db, req));
  json::object o = r.ToJson();
  o["include_total"] = req.include_total;
  o["records_format"] = "objects";
  o["limit"] = req.limit;
  o["offset"] = req.offset;
  if (req.include_total) o["total_was_estimated"] = false;
  return o;
}

Result<json::value> DatastoreSql(ActionContext& ctx, const Input& in) {
  const std::string sql = GetString(in, "sql");
  // The readable tables: those of the resources the caller may see, each under its id.
  ASSIGN_OR_RETURN(db::Rows tables,
                   ctx.db.Query(std::string("SELECT t.resource_id, t.table_name FROM "
                                            "datastore_tables t JOIN datos_resources r ON r.uid "
                                            "= t.resource_id JOIN datos_datasets d ON d.id = "
                                            "r.dataset_id") +
                                (SeesDrafts(ctx.who) ? "" : " WHERE d.state = 'active'")));
  db::UntrustedQuery q;
  q.sql = sql;
  for (const db::Row& t : tables)
    q.tables.emplace_back(t.Text("resource_id"), t.Text("table_name"));
  q.functions = kSqlFunctions;
  q.timeout = kSqlTimeout;
  q.max_rows = kSqlRowsMax;
  ASSIGN_OR_RETURN(db::UntrustedResult res, ctx.db.QueryUntrusted(q));
  // The full-text column of PostgreSQL's tables and the hidden filter words of SQLite's are
  // indexes, not data.
  std::vector<size_t> keep;
  json::array fields;
  for (size_t i = 0; i < res.columns.size(); ++i) {
    if (res.columns[i] == "_search" || res.columns[i] == "_f") continue;
    keep.push_back(i);
    fields.push_back(json::object{{"id", res.columns[i]}, {"type", res.types[i]}});
  }
  json::array records;
  for (const auto& row : res.rows) {
    json::object rec;
    for (size_t i : keep) rec[res.columns[i]] = CellJson(row[i]);
    records.push_back(std::move(rec));
  }
  json::object out{{"sql", sql}, {"records", std::move(records)}, {"fields", std::move(fields)}};
  if (res.truncated) out["records_truncated"] = true;
  return out;
}

}  // namespace

// ---- the ingest queue
// ----------------------------------------------------------------------------

namespace {

std::mutex progress_mu;
std::map<int64_t, double>& ProgressMap() {
  static std::map<int64_t, double> m;
  return m;
}

// Writes a stored file to a temporary path, chunk by chunk.
Result<std::string> BlobToTemp(db::Connection& db, const std::string& sha) {
  char tmpl[] = "/tmp/abierto-ingest-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) return Status::Internal("No se pudo crear un archivo temporal");
  close(fd);
  std::ofstream out(tmpl, std::ios::binary | std::ios::trunc);
  auto copy = [&]() -> Status {
    ASSIGN_OR_RETURN(int64_t n, BlobChunks(db, sha));
    for (int64_t seq = 0; seq < n; ++seq) {
      ASSIGN_OR_RETURN(std::string bytes, ReadBlobChunk(db, sha, seq));
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    return Status::Ok();
  };
  if (Status copied = copy(); !copied.ok()) {
    std::remove(tmpl);
    return copied;
  }
  out.close();
  if (!out) {
    std::remove(tmpl);
    return Status::Internal("No se pudo escribir el archivo temporal");
  }
  return std::string(tmpl);
}

}  // namespace

std::optional<double> JobProgress(int64_t job_id) {
  std::lock_guard<std::mutex> lock(progress_mu);
  auto it = ProgressMap().find(job_id);
  if (it == ProgressMap().end()) return std::nullopt;
  return it->second;
}

Result<QualityReport> RunIngestJob(db::Connection& db, int64_t job_id, const std::string& path_hint,
                                   const ProgressCallback& progress) {
  ASSIGN_OR_RETURN(db::Row job, db.QueryOne("SELECT * FROM datos_jobs WHERE id = ?", {job_id},
                                            "El trabajo no existe"));
  ASSIGN_OR_RETURN(db::Row r, ResourceWithDataset(db, job.Text("resource_uid")));
  int64_t version = job.Int("version");
  ASSIGN_OR_RETURN(db::Row v, db.QueryOne("SELECT * FROM datos_versions WHERE resource_id = ? AND "
                                          "version = ?",
                                          {r.Int("id"), version}, "La versión no existe"));
  std::string path = path_hint, temp;
  if (path.empty()) {
    ASSIGN_OR_RETURN(temp, BlobToTemp(db, v.Text("sha256")));
    path = temp;
  }
  struct Cleanup {
    std::string p;
    ~Cleanup() {
      if (!p.empty()) std::remove(p.c_str());
    }
  } cleanup{temp};

  IngestRequest req;
  req.resource_id = r.Text("uid");
  req.path = path;
  req.sheet = job.Text("sheet");
  req.format =
      v.Text("format") == "XLSX" ? IngestRequest::Format::kXlsx : IngestRequest::Format::kCsv;
  const std::string now = text::NowIso();
  req.before_commit = [&](db::Connection& c, const QualityReport& rep) -> Status {
    std::string quality = JsonText(rep.ToJson());
    RETURN_IF_ERROR(
        c.Exec("UPDATE datos_versions SET status = 'activa', datastore = 1, quality = ? "
               "WHERE resource_id = ? AND version = ?",
               {quality, r.Int("id"), version})
            .status());
    RETURN_IF_ERROR(c.Exec("UPDATE datos_resources SET version = ?, format = ?, modified_at = ? "
                           "WHERE id = ?",
                           {version, v.Text("format"), now, r.Int("id")})
                        .status());
    RETURN_IF_ERROR(Touch(c, r.Int("dataset_id"), now));
    RETURN_IF_ERROR(c.Exec("UPDATE datos_jobs SET status = 'lista', quality = ?, finished_at = ? "
                           "WHERE id = ?",
                           {quality, now, job_id})
                        .status());
    Principal sys = Principal::System();
    ActionContext actx{c, sys, "datos.resource.ingest", text::TodayIso(), now};
    RETURN_IF_ERROR(actx.Audit("resource", r.Int("id"), Scope(r.Int("dataset_id")), nullptr,
                               json::object{{"version", version},
                                            {"datastore", true},
                                            {"rows", rep.rows},
                                            {"columns", rep.columns.size()}}));
    return c.Exec("UPDATE meta_revision SET rev = rev + 1 WHERE id = 1").status();
  };
  auto cb = [&](const Progress& p) {
    {
      std::lock_guard<std::mutex> lock(progress_mu);
      ProgressMap()[job_id] = p.fraction;
    }
    return progress ? progress(p) : true;
  };
  Result<QualityReport> rep = Ingest(db, req, cb);
  {
    std::lock_guard<std::mutex> lock(progress_mu);
    ProgressMap().erase(job_id);
  }
  if (rep.ok()) return rep;
  // Refused: the version is withdrawn and the catalog is as before the upload; the job keeps
  // the reason for the publisher. A resource created with this file and no other version goes
  // too.
  Status why = rep.status();
  {
    auto tx = db::Transaction::Write(db);
    if (tx.ok()) {
      (void)db.Exec("DELETE FROM datos_versions WHERE resource_id = ? AND version = ?",
                    {r.Int("id"), version});
      (void)db.Exec(
          "DELETE FROM datos_blobs WHERE sha256 = ? AND NOT EXISTS (SELECT 1 FROM "
          "datos_versions WHERE sha256 = ?)",
          {v.Text("sha256"), v.Text("sha256")});
      auto left =
          db.Query("SELECT 1 AS x FROM datos_versions WHERE resource_id = ?", {r.Int("id")});
      if (left.ok() && left->empty()) {
        (void)db.Exec("DELETE FROM datos_resources WHERE id = ?", {r.Int("id")});
        (void)Reindex(db, r.Int("dataset_id"));
      }
      (void)db.Exec(
          "UPDATE datos_jobs SET status = 'rechazada', message = ?, finished_at = ? "
          "WHERE id = ?",
          {why.message(), text::NowIso(), job_id});
      (void)db.Exec("UPDATE meta_revision SET rev = rev + 1 WHERE id = 1");
      (void)tx->Commit();
    }
  }
  return why;
}

namespace {

// Claims the oldest pending job (several processes may share the queue) and runs it.
Result<bool> RunOnePending(db::Connection& db) {
  ASSIGN_OR_RETURN(db::Rows pending, db.Query("SELECT id FROM datos_jobs WHERE status = "
                                              "'pendiente' ORDER BY id LIMIT 1"));
  if (pending.empty()) return false;
  int64_t id = pending[0].Int("id");
  ASSIGN_OR_RETURN(int64_t claimed,
                   db.Exec("UPDATE datos_jobs SET status = 'ejecutando', claimed_at = ? WHERE id "
                           "= ? AND status = 'pendiente'",
                           {text::NowIso(), id}));
  if (claimed == 0) return true;  // another process took it
  (void)RunIngestJob(db, id, "", nullptr);
  return true;
}

void IngestWorker(db::Database& database, const std::atomic<bool>& stop) {
  auto conn = database.Connect();
  if (!conn.ok()) return;
  // A job left "ejecutando" by a process that died is queued again: its transaction never
  // committed, so running it once more is safe.
  // Ten minutes is far longer than any ingest takes (a million rows load in seconds), so a job
  // another live process is running is not taken from it.
  std::time_t cutoff = std::time(nullptr) - 600;
  std::tm tm{};
  gmtime_r(&cutoff, &tm);
  char iso[32];
  std::strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
  (void)(*conn)->Exec(
      "UPDATE datos_jobs SET status = 'pendiente' WHERE status = 'ejecutando' "
      "AND claimed_at < ?",
      {std::string(iso)});
  while (!stop.load()) {
    auto ran = RunOnePending(**conn);
    if (ran.ok() && *ran) continue;
    for (int i = 0; i < 4 && !stop.load(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<json::value> JobShow(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(db::Row j, ctx.db.QueryOne("SELECT * FROM datos_jobs WHERE id = ?",
                                              {GetInt(in, "id")}, "El trabajo no existe"));
  json::object o{{"id", j.Int("id")},
                 {"resource_id", j.Text("resource_uid")},
                 {"version", j.Int("version")},
                 {"status", j.Text("status")},
                 {"message", j.Text("message")}};
  if (!j.Text("quality").empty()) o["quality"] = json::parse(j.Text("quality"));
  if (auto p = JobProgress(j.Int("id"))) o["progress"] = *p;
  auto r = ctx.db.Query(
      "SELECT d.name FROM datos_resources r JOIN datos_datasets d ON d.id = "
      "r.dataset_id WHERE r.uid = ?",
      {j.Text("resource_uid")});
  if (r.ok() && !r->empty()) o["dataset"] = (*r)[0].Text("name");
  return o;
}

}  // namespace

// ---- dataset requests and the policy page -------------------------------------------------------

namespace {

const std::vector<std::string> kRequestStatus = {"recibida", "en_analisis", "publicada",
                                                 "no_disponible"};

Result<json::value> RequestCreate(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(
      db::Rows rows,
      ctx.db.Query(
          "INSERT INTO datos_requests (title, description, requester_name, "
          "requester_email, org_id, status, created_by, created_at, updated_at) VALUES "
          "(?,?,?,?,?,'recibida',?,?,?) RETURNING id",
          {GetString(in, "title"), GetString(in, "description"), GetString(in, "requester_name"),
           GetString(in, "requester_email"),
           Has(in, "organization_id") ? db::Value(GetInt(in, "organization_id")) : db::Value(),
           UserOrNull(ctx.who), ctx.now, ctx.now}));
  int64_t id = rows[0].Int("id");
  // The requester's e-mail is private: the public history shows the request without it.
  RETURN_IF_ERROR(
      ctx.Audit("dataset_request", id, "dataset_request:" + std::to_string(id), nullptr,
                json::object{{"title", GetString(in, "title")}, {"status", "recibida"}}));
  return json::object{{"id", id}, {"status", "recibida"}};
}

Status RequestCheck(const Input& in) {
  std::string st = GetString(in, "status");
  if (st == "no_disponible" && !Has(in, "reason"))
    return Status::InvalidArgument("Falta el motivo",
                                   {{"reason", "Explique por qué el conjunto no está disponible"}});
  if (st == "publicada" && !Has(in, "dataset"))
    return Status::InvalidArgument("Falta el conjunto publicado",
                                   {{"dataset", "Indique el nombre del conjunto publicado"}});
  return Status::Ok();
}

Result<json::value> RequestUpdate(ActionContext& ctx, const Input& in) {
  int64_t id = GetInt(in, "id");
  ASSIGN_OR_RETURN(db::Row before, ctx.db.QueryOne("SELECT status, reason FROM datos_requests "
                                                   "WHERE id = ?",
                                                   {id}, "La solicitud no existe"));
  db::Value dataset;
  if (Has(in, "dataset")) {
    ASSIGN_OR_RETURN(db::Row d,
                     ctx.db.QueryOne("SELECT id FROM datos_datasets WHERE (name = ? OR "
                                     "uid = ?) AND state = 'active'",
                                     {GetString(in, "dataset"), GetString(in, "dataset")},
                                     "No hay un conjunto publicado con ese nombre"));
    dataset = d.Int("id");
  }
  RETURN_IF_ERROR(
      ctx.db
          .Exec("UPDATE datos_requests SET status = ?, reason = ?, dataset_id = ?, "
                "updated_at = ? WHERE id = ?",
                {GetString(in, "status"), GetString(in, "reason"), dataset, ctx.now, id})
          .status());
  RETURN_IF_ERROR(ctx.Audit(
      "dataset_request", id, "dataset_request:" + std::to_string(id),
      json::object{{"status", before.Text("status")}, {"reason", before.Text("reason")}},
      json::object{{"status", GetString(in, "status")}, {"reason", GetString(in, "reason")}}));
  return json::object{{"id", id}, {"status", GetString(in, "status")}};
}

Result<json::value> RequestList(ActionContext& ctx, const Input&) {
  ASSIGN_OR_RETURN(db::Rows rows,
                   ctx.db.Query("SELECT r.id, r.title, r.description, r.status, r.reason, "
                                "r.created_at, r.updated_at, o.title AS org, d.name AS dataset, "
                                "d.title AS dataset_title FROM datos_requests r LEFT JOIN "
                                "datos_orgs o ON o.id = r.org_id LEFT JOIN datos_datasets d ON "
                                "d.id = r.dataset_id ORDER BY r.id DESC"));
  json::array out;
  for (const db::Row& r : rows) {
    json::object o = RowJson(r);
    out.push_back(std::move(o));
  }
  return out;
}

const char* const kDefaultPolicy =
    "# Política de datos abiertos del Municipio de León\n\n"
    "DatA-LEÓN publica los datos del municipio **abiertos por defecto**: en formatos "
    "legibles por máquina, con licencia que permite reutilizarlos y actualizados con la "
    "frecuencia que cada conjunto declara.\n\n"
    "## Principios\n\n"
    "- Apertura por defecto, con protección de datos personales.\n"
    "- Datos oportunos, completos y con su fecha de actualización.\n"
    "- Formatos abiertos (CSV, JSON, GeoJSON) y API compatible con CKAN.\n"
    "- Participación: cualquier persona puede solicitar un conjunto de datos.\n\n"
    "La Unidad de Transparencia edita esta política.";

Result<json::value> PolicyShow(ActionContext& ctx, const Input&) {
  ASSIGN_OR_RETURN(db::Rows rows, ctx.db.Query("SELECT title, body, updated_at FROM datos_pages "
                                               "WHERE slug = 'politica'"));
  if (rows.empty())
    return json::object{
        {"title", "Política de datos abiertos"}, {"body", kDefaultPolicy}, {"updated_at", ""}};
  return RowJson(rows[0]);
}

Result<json::value> PolicyUpdate(ActionContext& ctx, const Input& in) {
  ASSIGN_OR_RETURN(json::value before, PolicyShow(ctx, in));
  RETURN_IF_ERROR(ctx.db
                      .Exec("INSERT INTO datos_pages (slug, title, body, updated_at) VALUES "
                            "('politica', ?, ?, ?) ON CONFLICT (slug) DO UPDATE SET title = "
                            "excluded.title, body = excluded.body, updated_at = "
                            "excluded.updated_at",
                            {GetString(in, "title"), GetString(in, "body"), ctx.now})
                      .status());
  RETURN_IF_ERROR(
      ctx.Audit("page", 1, "page:politica", before,
                json::object{{"title", GetString(in, "title")}, {"body", GetString(in, "body")}}));
  return json::object{{"ok", true}};
}

Result<json::value> LicenseCreate(ActionContext& ctx, const Input& in) {
  std::string id = GetString(in, "id");
  if (!IsValidName(id))
    return Status::InvalidArgument("Identificador no válido",
                                   {{"id", "Use de 2 a 100 minúsculas, dígitos, - o _"}});
  auto r = ctx.db.Exec(
      "INSERT INTO datos_licenses (id, title, url, is_open, position) VALUES "
      "(?,?,?,?, (SELECT COALESCE(MAX(position), 0) + 1 FROM datos_licenses))",
      {id, GetString(in, "title"), GetString(in, "url"), int64_t{GetBool(in, "is_open")}});
  if (!r.ok() && r.status().code() == StatusCode::kConflict)
    return Status::Conflict("Ya existe una licencia con ese identificador");
  if (!r.ok()) return r.status();
  RETURN_IF_ERROR(ctx.Audit("license", 0, "license:" + id, nullptr,
                            json::object{{"id", id}, {"title", GetString(in, "title")}}));
  return json::object{{"id", id}};
}

Result<json::value> LicenseList(ActionContext& ctx, const Input&) {
  ASSIGN_OR_RETURN(db::Rows rows,
                   ctx.db.Query("SELECT * FROM datos_licenses ORDER BY position, id"));
  json::array out;
  for (const db::Row& r : rows)
    out.push_back(json::object{{"id", r.Text("id")},
                               {"title", r.Text("title")},
                               {"url", r.Text("url")},
                               {"is_open", r.Int("is_open") != 0},
                               {"value", r.Text("id")},
                               {"label", r.Text("title")}});
  return out;
}

// Choices for forms: the organizations a caller may publish for.
Result<json::value> OrgOptions(ActionContext& ctx, const Input&) {
  ASSIGN_OR_RETURN(db::Rows rows,
                   ctx.db.Query("SELECT id, title, unit_id FROM datos_orgs ORDER BY title"));
  json::array out;
  bool all = ctx.who.system || ctx.who.role == Role::kSecretariado || ctx.who.role == Role::kAdmin;
  for (const db::Row& r : rows)
    if (all || (ctx.who.unit_id && r.Int("unit_id") == ctx.who.unit_id))
      out.push_back(json::object{{"id", r.Int("id")}, {"label", r.Text("title")}});
  return out;
}

}  // namespace

// ---- open by default: Abierto's own data
// ----------------------------------------------------------

namespace {

std::string Sha256Hex(std::string_view bytes) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return Hex(h, sizeof h);
}

// The hash of the newest version of a resource of a dataset (queued or current); "" when
// either does not exist yet.
Result<std::string> LatestHash(db::Connection& db, const std::string& dataset,
                               const std::string& resource) {
  ASSIGN_OR_RETURN(db::Rows r, db.Query("SELECT v.sha256 FROM datos_versions v JOIN "
                                        "datos_resources r ON r.id = v.resource_id JOIN "
                                        "datos_datasets d ON d.id = r.dataset_id WHERE d.name = ? "
                                        "AND r.name = ? ORDER BY v.version DESC LIMIT 1",
                                        {dataset, resource}));
  return r.empty() ? std::string() : r[0].Text("sha256");
}

json::value OpenDatasetJson(const OpenDataset& d) {
  json::array res;
  for (const auto& r : d.resources)
    res.push_back(json::object{{"name", r.name},
                               {"description", r.description},
                               {"filename", r.filename},
                               {"csv", r.csv}});
  json::array tags(d.tags.begin(), d.tags.end()), groups(d.groups.begin(), d.groups.end());
  return json::object{{"name", d.name},
                      {"title", d.title},
                      {"notes", d.notes},
                      {"organization", d.organization},
                      {"organization_title", d.organization_title},
                      {"tags", tags},
                      {"groups", groups},
                      {"frequency", d.frequency},
                      {"resources", res}};
}

std::string JoinStrings(const json::array& a) {
  std::string out;
  for (const auto& v : a) out += (out.empty() ? "" : ", ") + std::string(v.as_string());
  return out;
}

// Brings the managed datasets in `payload` (a JSON array of OpenDatasets) up to date: creates
// what is missing and records a new version of every resource whose CSV changed. Hashes are
// compared again here, inside the write transaction, so two processes refreshing at once do
// not record the same version twice.
Result<json::value> OpenDataPublish(ActionContext& ctx, const Input& in) {
  if (!ctx.who.system)
    return Status::PermissionDenied("Solo Abierto publica sus propios conjuntos de datos");
  json::value payload;
  try {
    payload = json::parse(GetString(in, "payload"));
  } catch (...) {
    return Status::InvalidArgument("Carga no válida");
  }
  int64_t versions = 0;
  for (const auto& dv : payload.as_array()) {
    const json::object& d = dv.as_object();
    std::string name(d.at("name").as_string());
    ASSIGN_OR_RETURN(db::Rows org, ctx.db.Query("SELECT id FROM datos_orgs WHERE name = ?",
                                                {std::string(d.at("organization").as_string())}));
    int64_t org_id = 0;
    if (org.empty()) {
      ASSIGN_OR_RETURN(json::value o, CreateNamed(ctx,
                                                  Input{{"name", d.at("organization")},
                                                        {"title", d.at("organization_title")}},
                                                  "datos_orgs", "organization", true));
      org_id = o.at("id").as_int64();
    } else {
      org_id = org[0].Int("id");
    }
    // Themes that do not exist (yet) are left out rather than failing the publication.
    json::array groups;
    for (const auto& g : d.at("groups").as_array()) {
      ASSIGN_OR_RETURN(db::Rows gr, ctx.db.Query("SELECT 1 AS x FROM datos_groups WHERE name = ?",
                                                 {std::string(g.as_string())}));
      if (!gr.empty()) groups.push_back(g);
    }
    Input fields{{"name", name},
                 {"title", d.at("title")},
                 {"notes", d.at("notes")},
                 {"organization_id", org_id},
                 {"license_id", "cc-by-4.0"},
                 {"frequency", d.at("frequency")},
                 {"groups", JoinStrings(groups)},
                 {"tags", JoinStrings(d.at("tags").as_array())},
                 {"spatial", "León, Guanajuato"},
                 {"managed", "abierto"}};
    ASSIGN_OR_RETURN(db::Rows ds, ctx.db.Query("SELECT id, title, notes FROM datos_datasets "
                                               "WHERE name = ?",
                                               {name}));
    int64_t id = 0;
    if (ds.empty()) {
      ASSIGN_OR_RETURN(json::value c, DatasetCreate(ctx, fields));
      id = c.at("id").as_int64();
      // Open by default: published from the start.
      RETURN_IF_ERROR(
          ctx.db.Exec("UPDATE datos_datasets SET state = 'active' WHERE id = ?", {id}).status());
    } else {
      id = ds[0].Int("id");
      if (ds[0].Text("title") != d.at("title").as_string() ||
          ds[0].Text("notes") != d.at("notes").as_string()) {
        fields["id"] = id;
        RETURN_IF_ERROR(DatasetUpdate(ctx, fields).status());
      }
    }
    for (const auto& rv : d.at("resources").as_array()) {
      const json::object& r = rv.as_object();
      std::string rname(r.at("name").as_string());
      std::string csv(r.at("csv").as_string());
      ASSIGN_OR_RETURN(std::string latest, LatestHash(ctx.db, name, rname));
      if (latest == Sha256Hex(csv)) continue;
      ASSIGN_OR_RETURN(db::Rows existing, ctx.db.Query("SELECT uid FROM datos_resources WHERE "
                                                       "dataset_id = ? AND name = ?",
                                                       {id, rname}));
      json::object file{{"name", r.at("filename")}, {"content_type", "text/csv"}, {"data", csv}};
      if (existing.empty())
        RETURN_IF_ERROR(ResourceCreate(ctx, Input{{"dataset_id", id},
                                                  {"name", rname},
                                                  {"description", r.at("description")},
                                                  {"file", file}})
                            .status());
      else
        RETURN_IF_ERROR(
            ResourceUpload(ctx, Input{{"id", existing[0].Text("uid")}, {"file", file}}).status());
      ++versions;
    }
  }
  return json::object{{"versions", versions}};
}

// One pass: computes every provider's datasets in one read snapshot and publishes those whose
// content changed. `sent` remembers the content last sent per "dataset/resource", so that a
// file the datastore refused is not sent again until it changes. False when a provider or
// the publication failed (retried at the next change).
bool RefreshOpenData(db::Connection& c, const Dispatcher& dispatcher,
                     std::map<std::string, std::string>& sent) {
  json::array changed;
  {
    auto tx = db::Transaction::Read(c);
    if (!tx.ok()) return false;
    for (const OpenDataProvider& p : dispatcher.registry().open_data()) {
      auto sets = p(c, dispatcher);
      if (!sets.ok()) return false;
      for (OpenDataset d : *sets) {
        // A table with no rows yet (a process without projects) has nothing to publish.
        std::erase_if(d.resources, [](const OpenDataset::Resource& r) {
          size_t nl = r.csv.find('\n');
          return nl == std::string::npos || nl + 1 >= r.csv.size();
        });
        bool differs = false;
        for (const auto& r : d.resources) {
          std::string hash = Sha256Hex(r.csv);
          auto latest = LatestHash(c, d.name, r.name);
          std::string& last = sent[d.name + "/" + r.name];
          if ((!latest.ok() || *latest != hash) && last != hash) differs = true;
          last = hash;
        }
        if (differs) changed.push_back(OpenDatasetJson(d));
      }
    }
  }
  if (changed.empty()) return true;
  auto r = dispatcher.Run(c, Principal::System(), "datos.opendata.publish",
                          json::object{{"payload", JsonText(changed)}});
  if (r.ok()) return true;
  sent.clear();
  std::fprintf(stderr, "{\"level\":\"error\",\"msg\":\"datos abiertos propios\",\"error\":%s}\n",
               JsonText(json::value(r.status().ToString())).c_str());
  return false;
}

// Watches the data revision and republishes the open datasets of the other modules when their
// content changed. Only real changes write (and so bump the revision again), so the loop
// settles after one extra pass.
void OpenDataWorker(const Registry& reg, db::Database& database, const std::atomic<bool>& stop) {
  auto conn = database.Connect();
  if (!conn.ok() || reg.open_data().empty()) return;
  db::Connection& c = **conn;
  Dispatcher dispatcher(reg);
  int64_t seen = -1;
  std::map<std::string, std::string> sent;
  while (!stop.load()) {
    auto rev = ReadRevision(c);
    if (rev.ok() && *rev != seen && RefreshOpenData(c, dispatcher, sent)) seen = *rev;
    for (int i = 0; i < 10 && !stop.load(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

Status PublishOpenDataNow(db::Connection& db, const Dispatcher& dispatcher) {
  std::map<std::string, std::string> sent;
  if (!RefreshOpenData(db, dispatcher, sent))
    return Status::Internal("No se pudieron publicar los datos propios de Abierto");
  ASSIGN_OR_RETURN(db::Rows jobs, db.Query("SELECT id FROM datos_jobs WHERE status = 'pendiente' "
                                           "ORDER BY id"));
  for (const db::Row& j : jobs)
    RETURN_IF_ERROR(RunIngestJob(db, j.Int("id"), "", nullptr).status());
  return Status::Ok();
}

// ---- registration ----------------------------------------------------------------------------

void RegisterCatalogActions(Registry& reg) {
  reg.AddMigration({"datos_catalog", 1, kSchema});
  reg.AddWorker(IngestWorker);
  reg.AddWorker([&reg](db::Database& database, const std::atomic<bool>& stop) {
    OpenDataWorker(reg, database, stop);
  });
  reg.AddAction({.name = "datos.opendata.publish",
                 .mutating = true,
                 .roles = {Role::kAdmin},
                 .input = {TextField("payload", 64 << 20).Required().NotInForms()},
                 .handle = OpenDataPublish});

  // Reads, in CKAN's shapes.
  reg.AddAction({.name = "datos.package.list",
                 .roles = Everyone(),
                 .input = {IntField("limit").Range(0, 1000000), IntField("offset").Range(0, 1e12)},
                 .handle = PackageList});
  reg.AddAction({.name = "datos.package.show",
                 .roles = Everyone(),
                 .input = {StringField("id", 100).Required()},
                 .handle = PackageShow});
  reg.AddAction({.name = "datos.package.search",
                 .roles = Everyone(),
                 .input = {StringField("q", 1000), StringField("fq", 1000),
                           StringField("sort", 200), IntField("rows").Range(0, 1000),
                           IntField("start").Range(0, 1e9), StringField("facet_field", 500),
                           IntField("facet_limit").Range(-1, 1000), BoolField("include_drafts")},
                 .handle = PackageSearch});
  for (bool org : {true, false}) {
    std::string kind = org ? "organization" : "group";
    reg.AddAction(
        {.name = "datos." + kind + ".list",
         .roles = Everyone(),
         .input = {BoolField("all_fields"), StringField("sort", 100),
                   IntField("limit").Range(0, 1000), IntField("offset").Range(0, 1e9)},
         .handle = [org](ActionContext& c, const Input& in) { return ListNamed(c, in, org); }});
    reg.AddAction(
        {.name = "datos." + kind + ".show",
         .roles = Everyone(),
         .input = {StringField("id", 100).Required(), BoolField("include_datasets"),
                   IntField("rows").Range(0, 1000)},
         .handle = [org](ActionContext& c, const Input& in) { return ShowNamed(c, in, org); }});
  }
  reg.AddAction({.name = "datos.tag.list",
                 .roles = Everyone(),
                 .input = {StringField("query", 100), BoolField("all_fields")},
                 .handle = TagList});
  reg.AddAction({.name = "datos.resource.show",
                 .roles = Everyone(),
                 .input = {StringField("id", 100).Required()},
                 .handle = ResourceShow});
  reg.AddAction({.name = "datos.resource.file",
                 .roles = Everyone(),
                 .input = {StringField("id", 100).Required(), IntField("version").Range(0, 1e9)},
                 .handle = ResourceFile});
  // The datastore of visible resources: CKAN's datastore_search and datastore_search_sql. Its
  // registry is created at start-up: these readers run inside the dispatcher's read
  // transaction, where no migration can run.
  reg.AddMigration(DatastoreMigration());
  reg.AddAction({.name = "datos.datastore.search",
                 .roles = Everyone(),
                 .input = {StringField("resource_id", 100).Required(), TextField("filters", 10000),
                           StringField("q", 1000), TextField("fields", 10000),
                           StringField("sort", 1000), IntField("limit").Range(0, 32000),
                           IntField("offset").Range(0, 1e12), BoolField("include_total")},
                 .handle = DatastoreSearch});
  reg.AddAction({.name = "datos.datastore.sql",
                 .roles = Everyone(),
                 .input = {TextField("sql", 20000).Required()},
                 .handle = DatastoreSql});
  reg.AddAction({.name = "datos.job.show",
                 .roles = Staff(),
                 .input = {IdField("id").Required()},
                 .handle = JobShow});
  reg.AddAction({.name = "datos.license.list", .roles = Everyone(), .handle = LicenseList});
  reg.AddAction({.name = "datos.license.options", .roles = Everyone(), .handle = LicenseList});
  reg.AddAction({.name = "datos.organization.options", .roles = Staff(), .handle = OrgOptions});
  reg.AddAction({.name = "datos.request.list", .roles = Everyone(), .handle = RequestList});
  reg.AddAction({.name = "datos.policy.show", .roles = Everyone(), .handle = PolicyShow});
  reg.AddAction({.name = "datos.package.values",
                 .roles = Staff(),
                 .input = {IdField("id").Required()},
                 .authorize = [](ActionContext& c, const Input& in) -> Status {
                   ASSIGN_OR_RETURN(db::Row d, DatasetRow(c.db, GetInt(in, "id")));
                   return CanPublishFor(c, d.Int("org_id"));
                 },
                 .handle = DatasetValues});

  // Organizations and themes: the Secretariado and administrators.
  for (bool org : {true, false}) {
    std::string kind = org ? "organization" : "group";
    const char* table = org ? "datos_orgs" : "datos_groups";
    const char* entity = org ? "organization" : "group";
    std::vector<Field> fields = OrgFields();
    if (!org) fields.resize(3);  // no e-mail or unit for a theme
    reg.AddAction({.name = "datos." + kind + ".create",
                   .mutating = true,
                   .roles = kEditors,
                   .input = fields,
                   .handle = [=](ActionContext& c, const Input& in) {
                     return CreateNamed(c, in, table, entity, org);
                   }});
    std::vector<Field> upd = fields;
    upd.insert(upd.begin(), IdField("id").Required());
    reg.AddAction(
        {.name = "datos." + kind + ".update",
         .mutating = true,
         .roles = kEditors,
         .input = upd,
         .handle = [=](ActionContext& c,
                       const Input& in) { return UpdateNamed(c, in, table, entity, org); },
         .prefill = "datos." + kind + ".values"});
    reg.AddAction({.name = "datos." + kind + ".values",
                   .roles = kEditors,
                   .input = {IdField("id").Required()},
                   .handle = [table](ActionContext& c, const Input& in) -> Result<json::value> {
                     ASSIGN_OR_RETURN(json::object o, Snapshot(c.db, table, GetInt(in, "id")));
                     o.erase("uid");
                     o.erase("created_at");
                     return o;
                   }});
  }
  reg.AddAction({.name = "datos.license.create",
                 .mutating = true,
                 .roles = {Role::kAdmin},
                 .input = {StringField("id", 100).Required(), StringField("title", 200).Required(),
                           UrlField("url"), BoolField("is_open")},
                 .handle = LicenseCreate});

  // Datasets and resources: publishers (see CanPublishFor).
  reg.AddAction(
      {.name = "datos.package.create",
       .mutating = true,
       .roles = Staff(),
       .input =
           [] {
             auto f = DatasetFields();
             f.push_back(StringField("managed", 40).NotInForms());
             return f;
           }(),
       .check = DatasetCheck,
       .authorize = [](ActionContext& c,
                       const Input& in) { return CanPublishFor(c, GetInt(in, "organization_id")); },
       .handle = DatasetCreate});
  std::vector<Field> upd = DatasetFields();
  upd.insert(upd.begin(), IdField("id").Required());
  reg.AddAction({.name = "datos.package.update",
                 .mutating = true,
                 .roles = Staff(),
                 .input = upd,
                 .check = DatasetCheck,
                 .authorize = DatasetAuthorize,
                 .handle = DatasetUpdate,
                 .prefill = "datos.package.values"});
  for (bool publish : {true, false})
    reg.AddAction({.name = publish ? "datos.package.publish" : "datos.package.unpublish",
                   .mutating = true,
                   .roles = Staff(),
                   .input = {IdField("id").Required()},
                   .authorize = DatasetAuthorize,
                   .handle = [publish](ActionContext& c, const Input& in) {
                     return DatasetSetState(c, in, publish);
                   }});
  std::vector<Field> res = ResourceFields();
  res.insert(res.begin(), IdField("dataset_id").Required());
  reg.AddAction({.name = "datos.resource.create",
                 .mutating = true,
                 .roles = Staff(),
                 .input = res,
                 .check = ResourceCheck,
                 .authorize = ResourceCreateAuthorize,
                 .handle = ResourceCreate});
  reg.AddAction(
      {.name = "datos.resource.upload",
       .mutating = true,
       .roles = Staff(),
       .input = {StringField("id", 100).Required(), FileField("file", kMaxUploadBytes),
                 StringField("sheet", 100), StringField("source_path", 4096).NotInForms()},
       .authorize = ResourceAuthorize,
       .handle = ResourceUpload});
  reg.AddAction(
      {.name = "datos.resource.update",
       .mutating = true,
       .roles = Staff(),
       .input = {StringField("id", 100).Required(), StringField("name", 200).Required(),
                 TextField("description", 5000), UrlField("link"), StringField("format", 20)},
       .authorize = ResourceAuthorize,
       .handle = ResourceUpdate});

  // Requests from residents; their status from the Transparency Unit's staff.
  reg.AddAction({.name = "datos.request.create",
                 .mutating = true,
                 // Registered residents, as for proposals: an account answers for the request
                 // and receives the answer, and the platform keeps anonymous writes out.
                 .roles = {Role::kCiudadano, Role::kEnlace, Role::kSecretariado, Role::kAdmin},
                 .input = {StringField("title", 300).Required(), TextField("description", 5000),
                           IdField("organization_id")},
                 .handle = RequestCreate});
  reg.AddAction({.name = "datos.request.update",
                 .mutating = true,
                 .roles = Staff(),
                 .input = {IdField("id").Required(), EnumField("status", kRequestStatus).Required(),
                           TextField("reason", 2000), StringField("dataset", 100)},
                 .check = RequestCheck,
                 .handle = RequestUpdate});
  reg.AddAction(
      {.name = "datos.policy.update",
       .mutating = true,
       .roles = kEditors,
       .input = {StringField("title", 200).Required(), TextField("body", 50000).Required()},
       .handle = PolicyUpdate,
       .prefill = "datos.policy.show"});
}

}  // namespace abierto::datos
