// The catalog of DatA-LEÓN: organizations (dependencias), themes (CKAN groups), licences,
// datasets with their resources and the versions of each resource, dataset requests from
// citizens, and the open-data policy page.
//
// All of the catalog's SQL lives in catalog_model.cc. Every read and write is an action
// (datos.*), and the pages, the CKAN Action API (/api/3/action/) and the DCAT and Data Package
// exports all call those actions through the dispatcher, so they always agree. The read actions
// answer in CKAN's shapes (package, resource, organization, group, tag dicts) because the CKAN
// API is the contract the outside world reads; pages decorate those dicts.
//
// Decisions:
//   - Ids: every dataset, resource, organization and group has a UUID (`id`, as CKAN) and a
//     URL name ([a-z0-9_-], 2-100 characters, as CKAN).
//   - States: a dataset is "draft" until published; drafts are seen only by staff.
//   - Publishers: an organization may belong to a responsible unit of the platform; an enlace
//     edits only the datasets of their unit's organizations, the Secretariado and
//     administrators edit all of them.
//   - Files are kept in the database (datos_blobs, 1 MiB chunks keyed by SHA-256), so that an
//     upload, its resource version and its datastore table are committed in one transaction
//     and several server processes on one PostgreSQL database share them. Replacing a file adds
//     a version; every version stays downloadable.
//   - A tabular upload (CSV, XLSX) is ingested into the datastore in the same transaction as
//     its version (see ingest.h): a file the datastore refuses (empty, unbalanced quotes, a zip
//     bomb...) is refused as a whole and leaves the catalog as it was.
//   - Views and downloads are counted outside the data revision, so counting never invalidates
//     the public page cache.
//
// Thread-safety: stateless functions over the caller's connection.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "abierto/registry.h"
#include "modules/datos/ingest.h"

namespace abierto::datos {

// Declares the module's migrations, actions, routes and demo content.
void Register(Registry& registry);

// Pieces shared by the module's files.
void RegisterCatalogActions(Registry& registry);
void RegisterCatalogViews(Registry& registry);
void RegisterCkanApi(Registry& registry);
void RegisterDcat(Registry& registry);
void RegisterCatalogDemo(Registry& registry);

// A new random UUID (version 4), lower case.
std::string NewUuid();

// True for CKAN-style URL names: 2-100 characters of [a-z0-9_-].
bool IsValidName(std::string_view name);

// ---- files -------------------------------------------------------------------------------------

struct StoredFile {
  std::string sha256;  // hex
  int64_t size = 0;
};

// Stores the bytes read from `path` (streaming, 1 MiB at a time) unless a file with the same
// SHA-256 is already stored. Must run inside the caller's write transaction.
Result<StoredFile> StoreBlobFromFile(db::Connection& db, const std::string& path);
Result<StoredFile> StoreBlob(db::Connection& db, std::string_view bytes);
// The stored bytes; NotFound when missing. Whole in memory: for tests and small files.
Result<std::string> ReadBlob(db::Connection& db, std::string_view sha256);
// How many chunks a stored file has (0 when it is not stored), and one of them (seq from 0;
// NotFound when missing): what a streamed download or a copy to disk reads, 1 MiB at a time.
Result<int64_t> BlobChunks(db::Connection& db, std::string_view sha256);
Result<std::string> ReadBlobChunk(db::Connection& db, std::string_view sha256, int64_t seq);

// ---- resources ----------------------------------------------------------------------------

// Uploads are recorded by the actions datos.resource.create / datos.resource.upload. A
// tabular file (CSV, XLSX) becomes a job of the ingest queue, which every server process runs
// in a background worker; the command line runs its job itself. The job ingests the file into
// the datastore and, in the same transaction, makes it the resource's current version; if the
// datastore refuses the file, the version is withdrawn (and a resource that had only that
// file with it) and the job keeps the reason.
Result<QualityReport> RunIngestJob(db::Connection& db, int64_t job_id, const std::string& path_hint,
                                   const ProgressCallback& progress);
// 0..1 while this process runs the job, nullopt otherwise.
std::optional<double> JobProgress(int64_t job_id);

// The format label of a file ("CSV", "XLSX", "JSON", "GeoJSON", "PDF", "ZIP") from its name
// and first bytes; InvalidArgument for anything else, naming the accepted formats.
Result<std::string> DetectFormat(std::string_view filename, std::string_view head);

// A file name safe to keep and show: the last path component, without control characters,
// at most 200 bytes; InvalidArgument for names that are empty, "." or "..".
Result<std::string> SafeFileName(std::string_view name);

// Counts a view or a download of a dataset without touching the data revision.
void CountView(db::Connection& db, std::string_view dataset_uid);
void CountDownload(db::Connection& db, std::string_view dataset_uid);

// ---- linked data ------------------------------------------------------------------------------

// The schema.org Dataset description of a package dict (for the JSON-LD inside its page).
// `site_url` makes links absolute.
boost::json::object SchemaOrgDataset(const boost::json::object& package, std::string_view site_url);

// ---- publishing Abierto's own data ---------------------------------------------------------
// Modules declare their open data with Registry::AddOpenData; a background worker of this
// module keeps one managed dataset per entry up to date (datos.opendata.publish). Managed
// datasets are published from the start and cannot be edited by hand.

// Publishes what changed now and runs the ingest jobs it queued, in this thread (the demo
// loader, so that a fresh demo has nothing left to do in the background).
Status PublishOpenDataNow(db::Connection& db, const Dispatcher& dispatcher);

}  // namespace abierto::datos
