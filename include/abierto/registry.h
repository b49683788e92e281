// Actions, routes and the registry that holds them; the dispatcher that runs actions.
//
// Every operation of Abierto — reading a plan, filing a progress report, logging in — is an
// Action: a name, an input schema, the roles allowed to call it, an optional object-level
// permission rule, and a handler. Modules declare their actions, routes, migrations and demo
// content in one `Register(Registry&)` function. The Dispatcher is the only caller of handlers
// and always runs, in this order:
//   1. role gate   — the caller's role must be in Action::roles (anonymous → 401, else 403);
//                    checked before validation so that a caller who may not use an action
//                    learns nothing from its validation messages;
//   2. validate    — the input schema (types, lengths, ranges, UTF-8, control characters),
//                    then Action::check for cross-field rules (dates in order);
//   3. authorize   — Action::authorize, the object-level rule ("only the enlace of the unit
//                    responsible for this commitment"), which may read the database;
//   4. handle      — Action::handle.
// A mutating action runs steps 3-4 inside one write transaction, together with its audit
// entries and the bump of the data revision; any error rolls all of it back, so bad input
// leaves nothing written. HTML pages and the JSON API both go through the Dispatcher.
//
// Thread-safety: a Registry is built at start-up and then only read; a Dispatcher is
// immutable and may be shared by all worker threads (each brings its own db::Connection).
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "abierto/db.h"
#include "abierto/http.h"
#include "abierto/status.h"

namespace abierto {

enum class Role { kAnonymous = 0, kCiudadano, kEnlace, kSecretariado, kAdmin };
inline constexpr Role kAllRoles[] = {Role::kAnonymous, Role::kCiudadano, Role::kEnlace,
                                     Role::kSecretariado, Role::kAdmin};
// "anonimo", "ciudadano", "enlace", "secretariado", "admin".
const char* RoleName(Role r);
// Parses the names above; false on anything else.
bool ParseRole(std::string_view name, Role* out);

// Who is calling.
struct Principal {
  int64_t user_id = 0;  // 0: anonymous (or the command line's system principal)
  Role role = Role::kAnonymous;
  std::string email;
  std::string name;
  int64_t unit_id = 0;    // the responsible unit of an enlace, 0 for others
  bool system = false;    // the command line acting as administrator
  std::string client_ip;  // for throttling; empty from the command line

  bool authenticated() const { return user_id != 0 || system; }
  static Principal Anonymous() { return {}; }
  static Principal System() {
    Principal p;
    p.role = Role::kAdmin;
    p.name = "sistema";
    p.system = true;
    return p;
  }
};

enum class FieldType {
  kString,  // one line of text
  kText,    // several lines
  kInt,     // 64-bit integer
  kNumber,  // finite double
  kDate,    // YYYY-MM-DD
  kBool,    // true/false; absent in a form means false
  kEnum,    // one of choices
  kUrl,     // absolute http or https URL
  kEmail,
  kPassword,  // text never echoed back into a form
  kId,        // positive integer id of a row
  kFile,      // {name, content_type, data (bytes)} — from multipart or base64 in JSON
};

struct Field {
  std::string name;
  FieldType type = FieldType::kString;
  bool required = false;
  size_t max_length = 200;  // in code points, for text types
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;     // kEnum
  size_t max_bytes = 10 * 1024 * 1024;  // kFile
  // For kId fields: a read action listing the choices ([{id, name}] or [{value, label}]), so
  // that forms offer a list instead of asking for a number.
  std::string options;
  bool in_forms = true;  // false: accepted from programs (the demo loader) but not offered in forms

  Field& Required() {
    required = true;
    return *this;
  }
  Field& MaxLength(size_t n) {
    max_length = n;
    return *this;
  }
  Field& Range(double lo, double hi) {
    min = lo;
    max = hi;
    return *this;
  }
  Field& NotInForms() {
    in_forms = false;
    return *this;
  }
  Field& Options(std::string action) {
    options = std::move(action);
    return *this;
  }
};

Field StringField(std::string name, size_t max_length = 200);
Field TextField(std::string name, size_t max_length = 20000);
Field IntField(std::string name);
Field NumberField(std::string name);
Field DateField(std::string name);
Field BoolField(std::string name);
Field EnumField(std::string name, std::vector<std::string> choices);
Field UrlField(std::string name);
Field EmailField(std::string name);
Field PasswordField(std::string name);
Field IdField(std::string name);
Field FileField(std::string name, size_t max_bytes);

// Validated input: each schema field present with its typed value (string, int64, double,
// bool, or for files an object {name, content_type, data}), or absent when optional and empty.
using Input = boost::json::object;

// Typed accessors for validated input; absent gives the fallback.
std::string GetString(const Input& in, std::string_view key, std::string fallback = "");
int64_t GetInt(const Input& in, std::string_view key, int64_t fallback = 0);
double GetNumber(const Input& in, std::string_view key, double fallback = 0);
bool GetBool(const Input& in, std::string_view key);
bool Has(const Input& in, std::string_view key);

// What a handler works with.
struct ActionContext {
  db::Connection& db;
  const Principal& who;
  std::string_view action;
  std::string today;  // ISO date, from text::TodayIso() (overridable for tests)
  std::string now;    // ISO timestamp

  // Records an audit entry in the current transaction. `scope` groups entries into a public
  // history ("commitment:12"); before/after are JSON snapshots (null for create/delete).
  Status Audit(std::string_view entity, int64_t entity_id, std::string_view scope,
               const boost::json::value& before, const boost::json::value& after);
};

struct Action {
  std::string name;  // "plan.progress.file"
  bool mutating = false;
  std::vector<Role> roles;  // who may call; for reads usually every role
  std::vector<Field> input;
  std::function<Status(const Input&)> check;                      // optional, cross-field
  std::function<Status(ActionContext&, const Input&)> authorize;  // optional, object-level
  std::function<Result<boost::json::value>(ActionContext&, const Input&)> handle;
  // For updates: a read action that, given {"id"}, returns the current values keyed by input
  // field, so that the edit form opens filled in.
  std::string prefill;

  bool Allows(Role r) const;
};

// Roles shorthand for action declarations.
std::vector<Role> Everyone();
std::vector<Role> Staff();  // enlace, secretariado, admin

class Registry;

namespace web {
struct RequestContext;
}

// A page or API endpoint. Patterns are paths whose segments may be `{name}`
// ("/planes/{slug}/matriz.csv"). Handlers are thin: they read the request, run actions through
// the dispatcher and render the result.
struct Route {
  std::string method;  // "GET" or "POST"
  std::string pattern;
  std::function<http::Response(web::RequestContext&)> handler;
  // The handler resolves an Authorization header itself (the CKAN API takes a bare token, as
  // CKAN does, and answers a bad one in CKAN's error format); the web layer then resolves only
  // the session cookie, and only when no Authorization header was sent.
  bool own_credentials = false;
};

// Runs actions; see the header comment for the order of steps.
class Dispatcher {
 public:
  explicit Dispatcher(const Registry& registry) : registry_(registry) {}

  // Runs `name` with `raw` input (from JSON or a form) as `who`. The returned value is the
  // handler's JSON result. Errors: NotFound for an unknown action, Unauthenticated /
  // PermissionDenied, InvalidArgument with field errors, or the handler's own.
  Result<boost::json::value> Run(db::Connection& db, const Principal& who, std::string_view name,
                                 const boost::json::object& raw) const;

  // Validation alone (step 2), exposed for tests and for re-rendering forms.
  Result<Input> Validate(const Action& action, const boost::json::object& raw) const;

  const Registry& registry() const { return registry_; }

 private:
  const Registry& registry_;
};

// Called after every committed write with the new data revision; the page cache listens.
using RevisionListener = std::function<void(int64_t revision)>;

// Demo content is loaded through the dispatcher, as the system principal or as demo users.
struct DemoContext {
  db::Connection& db;
  const Dispatcher& dispatcher;
  // Runs an action as the system principal and returns its result or the error.
  Result<boost::json::value> Run(std::string_view action, boost::json::object input) const;
  Result<boost::json::value> RunAs(const Principal& who, std::string_view action,
                                   boost::json::object input) const;
};

// A background worker of a module (the datastore's ingest queue): started by the server once
// it listens, with a database and a stop flag it must check at least every second; joined
// before the server exits.
using Worker = std::function<void(db::Database& database, const std::atomic<bool>& stop)>;

// Open by default: a module declares the data it publishes in the open-data catalog, and the
// catalog keeps a dataset per entry up to date (a new resource version whenever a CSV
// changes). Providers read through the dispatcher as the system principal, inside one read
// transaction, so they publish what the module's public pages show.
struct OpenDataset {
  std::string name;  // the dataset's URL name, fixed ("plan-pamga-2025-2027")
  std::string title;
  std::string notes;               // Markdown
  std::string organization;        // organization URL name; created when missing
  std::string organization_title;  // its title when created
  std::vector<std::string> tags;
  std::vector<std::string> groups;  // names of existing themes; unknown ones are skipped
  std::string frequency;            // one of the catalog's frequencies ("continua")
  struct Resource {
    std::string name;  // unique within the dataset; the key of its versions
    std::string description;
    std::string filename;  // "matriz.csv"
    std::string csv;       // the current content
  };
  std::vector<Resource> resources;
};
using OpenDataProvider =
    std::function<Result<std::vector<OpenDataset>>(db::Connection&, const Dispatcher&)>;

class Registry {
 public:
  void AddAction(Action action);
  void AddOpenData(OpenDataProvider p) { open_data_.push_back(std::move(p)); }
  const std::vector<OpenDataProvider>& open_data() const { return open_data_; }
  void AddWorker(Worker worker) { workers_.push_back(std::move(worker)); }
  const std::vector<Worker>& workers() const { return workers_; }
  void AddMigration(db::Migration migration);
  void AddDemo(std::string module, std::function<Status(DemoContext&)> load);
  void AddRoute(Route route);

  // nullptr when unknown.
  const Action* FindAction(std::string_view name) const;
  const std::vector<Action>& actions() const { return actions_; }
  const std::vector<db::Migration>& migrations() const { return migrations_; }
  struct Demo {
    std::string module;
    std::function<Status(DemoContext&)> load;
  };
  const std::vector<Demo>& demos() const { return demos_; }
  const std::vector<Route>& routes() const { return routes_; }

  void SetRevisionListener(RevisionListener l) { revision_listener_ = std::move(l); }
  const RevisionListener& revision_listener() const { return revision_listener_; }

 private:
  std::vector<Action> actions_;
  std::vector<db::Migration> migrations_;
  std::vector<Demo> demos_;
  std::vector<Route> routes_;
  std::vector<Worker> workers_;
  std::vector<OpenDataProvider> open_data_;
  RevisionListener revision_listener_;
};

// A row as a JSON object (integers, doubles, strings, null; blobs as their bytes): audit
// snapshots and prefill values are built from it.
boost::json::object RowJson(const db::Row& r);

// The current data revision (bumped by every committed write), for cache validation.
Result<int64_t> ReadRevision(db::Connection& db);

}  // namespace abierto
