// The datastore of DatA-LEÓN: tabular resources (CSV, XLSX) loaded into typed database tables
// that the CKAN-style datastore_search reads.
//
// Ingest() reads a file in two streaming passes, so memory stays flat whatever its size:
//   1. analysis: encoding, delimiter, header, blank and ragged rows, and the type of every
//      column, inferred from *all* its values (not a sample);
//   2. load: a new table ds_<resource>_<hash>_v<N> is created and filled with batched
//      prepared inserts inside one write transaction, its full-text index is built, and the
//      registry row datastore_tables(resource_id, ...) is pointed at it in the same transaction.
// Readers therefore see either the previous version or the new one, never a half-loaded table;
// an error, a cancellation from the progress callback or a crash leaves the previous version
// active and intact. After the commit the previous table is dropped and the equality-filter
// indexes are built, each in its own short transaction: meanwhile a filter on the new version
// is answered by a scan (correct, slower); a failure there is only a warning in the report
// returned. On SQLite the ingest connection checkpoints the WAL itself at the end instead of
// inside the commit, so the new version is visible before the pages are copied.
//
// Decisions a publisher may need to know (also in bench/datos/README.md):
//   - Encoding: a UTF-8 BOM means UTF-8. Otherwise the whole file is checked: no invalid
//     UTF-8 → UTF-8; invalid sequences in more values than valid non-ASCII ones → Windows-1252
//     (a superset of Latin-1), converted to UTF-8; a UTF-8 file with a few broken sequences
//     stays UTF-8, each broken sequence becomes U+FFFD and is counted in the report.
//   - Delimiter: , ; TAB or |, detected from the first 50 lines unless given.
//   - Types: integer, decimal, date or text. A column is integer when every non-empty value is
//     [-+]digits (no leading zero, so clave INEGI "020" and postal codes stay text) and fits in
//     64 bits; decimal when values are numbers with a dot decimal point (optionally thousands
//     commas "1,234.5"), or — only when no value in the column uses a dot — a comma decimal
//     point ("3,5"); date for YYYY-MM-DD or DD/MM/YYYY (day first, as in Mexico), stored
//     as ISO text. A value with a digit that fits none of these makes the column text, so no
//     data is lost. A value with no digit at all ("N/D", "-", "s/d") in an otherwise numeric or
//     date column is a missing-value marker: it becomes NULL and is counted and quoted in the
//     report as a value that broke the type — but only while such markers are at most 5% of
//     the column's non-empty values; beyond that the column is text.
//   - Rows: blank rows are skipped and counted; a row with a different number of fields than
//     the header is skipped, counted and its line quoted in the report.
//   - Header: names are kept as given (in the registry and the search result) and turned into
//     SQL identifiers: accents folded, lower case, [a-z0-9_], at most 60 characters; an empty
//     name becomes columna_<n>; a repeated one gets _2, _3...; each renaming is a warning.
//   - Errors (InvalidArgument unless said otherwise, message in Spanish): an empty file, a
//     header without data rows, a record over 1 MiB (e.g. a 100 MB single line), a quote left
//     open, more than 1,000 columns, a non-ZIP or damaged XLSX, a zip bomb.
//   - Full text: text columns only. SQLite: an FTS5 external-content table with the
//     unicode61 tokenizer removing diacritics, detail=none (word match without positions:
//     half the build time; phrase queries are not offered). PostgreSQL: a tsvector column over the
//     folded text (text::Fold, 'simple' configuration) with a GIN index — no extension required.
//     Both match whole words, every word of q, accent- and case-insensitively.
//   - Filters: by default an index is built on every integer and date column and on text
//     columns whose values average at most 64 bytes (codes, names, categories), so an equality
//     filter on them is an index lookup; IngestRequest::indexes / auto_indexes change that.
//     Other columns can still be filtered, by a full scan. On SQLite each indexed text column
//     with at most 1,000 distinct values (categories, where one value matches many rows) also
//     puts one hidden word per row (U+001F, its position, "x", a 64-bit hash of the exact
//     value) in the full-text index, so a filter plus q is one FTS5 query intersecting two
//     doclists; the equality is still checked in SQL, and the count skips that check only when
//     the ingest proved the words exact (no hash collision among the column's values, no U+001F
//     in any text). U+001F is thus a word character for q: a text "a<U+001F>b" is one word.
//
// Thread-safety: free functions; each call uses only the Connection it is given, which must
// not be used by another thread meanwhile.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "abierto/db.h"
#include "abierto/status.h"

namespace abierto::datos {

enum class ColumnType { kInteger, kDecimal, kDate, kText };

// "integer", "decimal", "date", "text".
const char* ColumnTypeName(ColumnType t);
// The CKAN datastore type of a column type name above: "int", "numeric", "date" or "text".
const char* CkanType(std::string_view column_type_name);

struct QualityReport;

struct IngestRequest {
  std::string resource_id;  // 1-64 characters [A-Za-z0-9_-] (a CKAN resource id)
  std::string path;         // the file to read
  enum class Format { kAuto, kCsv, kXlsx } format = Format::kAuto;  // auto: by content
  std::string sheet;   // XLSX: sheet name; empty = first sheet
  char delimiter = 0;  // CSV: 0 = detect
  enum class EncodingChoice { kAuto, kUtf8, kWindows1252 } encoding = EncodingChoice::kAuto;
  size_t max_record_bytes = 1 << 20;  // a longer record is an error
  int64_t max_xlsx_part_bytes = int64_t{2} << 30;
  int64_t max_xlsx_ratio = 200;
  // Equality-filter indexes: the columns listed (by id or header name) and, with
  // auto_indexes, every integer and date column and every text column averaging at most 64
  // bytes. Each index costs load time (about 1-2 s per million rows on SQLite).
  std::vector<std::string> indexes;
  bool auto_indexes = true;
  int64_t batch_rows = 0;  // rows per INSERT; 0 = as many as the backend allows, up to 500
  // Runs inside the load transaction just before it commits, with the report of what was
  // loaded: the catalog records the resource's new version there, so that the table and the
  // version become visible together or not at all. An error rolls both back.
  std::function<Status(db::Connection&, const QualityReport&)> before_commit;
};

struct Progress {
  // kIndexing: the full-text index and the commit; kPublished: the new version is visible
  // (reported once, right after the commit; a false return is ignored from here on), and the
  // equality-filter indexes are being built; kDone: fully indexed.
  enum class Phase { kAnalyzing, kLoading, kIndexing, kPublished, kDone } phase;
  int64_t bytes_done = 0;  // of the current pass
  int64_t bytes_total = 0;
  int64_t rows = 0;  // rows read in the current pass
  // 0..1 over the whole ingest (analysis ~30%, load ~60%, indexes ~10%; 0.95 when published).
  double fraction = 0;
};

// Called every few thousand rows and at each phase change. Returning false cancels the ingest:
// Ingest() then returns Unavailable and the previous version stays active.
using ProgressCallback = std::function<bool(const Progress&)>;

struct ColumnReport {
  std::string id;    // the SQL column name
  std::string name;  // the header as written (UTF-8)
  ColumnType type = ColumnType::kText;
  int64_t nulls = 0;             // empty values (and broken ones), stored as NULL
  int64_t broken = 0;            // values that broke the type (missing-value markers)
  char decimal_separator = '.';  // for kDecimal: '.' or ','
};

struct BadValue {
  int64_t line;
  std::string column;  // id
  std::string value;
};

struct QualityReport {
  std::string resource_id;
  std::string table_name;
  std::string format;     // "CSV" or "XLSX"
  std::string encoding;   // EncodingName(), or "UTF-8 (XLSX)"
  std::string delimiter;  // "," ";" "tab" "|" ; empty for XLSX
  std::string sheet;      // XLSX sheet read
  int64_t bytes = 0;
  int64_t rows = 0;  // rows loaded
  int64_t blank_rows = 0;
  int64_t ragged_rows = 0;            // skipped: wrong number of fields
  std::vector<int64_t> ragged_lines;  // the first ones
  int64_t broken_values = 0;
  std::vector<BadValue> broken_examples;  // the first ones
  int64_t invalid_utf8 = 0;               // broken UTF-8 sequences replaced by U+FFFD
  std::vector<ColumnReport> columns;
  std::vector<std::string> warnings;  // Spanish sentences (renamed columns...)

  boost::json::object ToJson() const;
  // A Spanish, human-readable report for the command line and the publisher's page.
  std::string ToText() const;
};

// Returns the schema of the registry (datastore_tables), for the module's migrations. Ingest
// and Search apply it when missing, unless called inside a transaction.
db::Migration DatastoreMigration();

// Ingests the file into a new version of the resource's table; see the file comment. Returns
// the quality report of what was loaded (also stored in the registry), or an error after which
// the previous version is untouched.
Result<QualityReport> Ingest(db::Connection& c, const IngestRequest& request,
                             const ProgressCallback& progress = nullptr);

// Drops the resource's table and registry row. NotFound when it has none.
Status DeleteResource(db::Connection& c, const std::string& resource_id);

// ---- datastore_search ------------------------------------------------------------------------

struct SearchRequest {
  std::string resource_id;
  // column id → value, all must be equal; the value is parsed by the column's type.
  std::vector<std::pair<std::string, std::string>> filters;
  std::string q;                    // full text over the text columns; empty: none
  std::vector<std::string> fields;  // column ids to return; empty: all (with _id)
  std::string sort;                 // "col [asc|desc], col2 ..."; empty: _id
  int64_t limit = 100;              // 0..32000
  int64_t offset = 0;
  bool include_total = true;
};

struct SearchField {
  std::string id;
  std::string type;   // CKAN's names: "int", "numeric", "date", "text"
  std::string label;  // the header as written ("" for _id)
};

struct SearchResult {
  std::string resource_id;
  std::vector<SearchField> fields;
  std::vector<std::vector<db::Value>> records;  // in the order of `fields`
  std::optional<int64_t> total;

  // {"resource_id", "fields": [{"id","type"}], "records": [{...}], "total", "limit", "offset"}
  // — the shape of CKAN's datastore_search result.
  boost::json::object ToJson() const;
};

// Runs datastore_search. Column names in filters, fields and sort are checked against the
// registry (unknown ones are InvalidArgument naming the field); no user text reaches SQL other
// than as a bound parameter. NotFound when the resource has no datastore table.
Result<SearchResult> Search(db::Connection& c, const SearchRequest& request);

// ---- whole result sets, charts and maps over a datastore_search ------------------------------
// The functions below take the same filters and q as Search(), with the same checks and errors.

// Reads every row a search matches, page after page, for exports. Pages are cut by keyset (the
// sort columns and _id of the last row read, never OFFSET), so the thousandth page costs what the
// first does when the sort is _id or an indexed column, and the database never holds more than
// a page in a sorter (a sort on a column without an index still scans the matching rows once per
// page: keep pages large). The table is pinned when the cursor opens; a datastore table is never
// changed once loaded (a new version is a new table), so pages read in separate transactions,
// or on another connection to the same database, fit together exactly. If a new version
// replaces the table and drops it in between, Next() fails rather than mixing two versions.
//
// Not thread-safe: one thread at a time, but not necessarily the same one.
class SearchCursor {
 public:
  // Checks the request as Search() does; its limit, offset and include_total are ignored.
  static Result<SearchCursor> Open(db::Connection& c, const SearchRequest& request);

  // The next page of at most `rows` rows (1..32000) in the request's order: fields always set,
  // total unset. An empty page means the end.
  Result<SearchResult> Next(db::Connection& c, int64_t rows);

  // The columns the pages carry (the request's fields, or _id and every column).
  const std::vector<SearchField>& fields() const;

  SearchCursor(SearchCursor&&) noexcept;
  SearchCursor& operator=(SearchCursor&&) noexcept;
  ~SearchCursor();

 private:
  struct State;
  explicit SearchCursor(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

enum class Aggregation { kNone, kCount, kSum, kAvg };

// "ninguno", "conteo", "suma", "promedio" — the names pages and actions use.
const char* AggregationName(Aggregation a);
// Parses the names above; false on anything else.
bool ParseAggregation(std::string_view name, Aggregation* out);

struct AggregateRequest {
  std::string resource_id;
  std::vector<std::pair<std::string, std::string>> filters;  // as in SearchRequest
  std::string q;
  std::string x;  // the column to group by (kCount, kSum, kAvg) or to plot along (kNone)
  std::string y;  // a numeric column; not used by kCount
  Aggregation aggregation = Aggregation::kNone;
  int64_t limit = 50;  // the most groups (or rows) returned, 1..1000
};

struct AggregatePoint {
  db::Value x;   // as stored: text (dates are ISO text), integer or double; never NULL
  double y = 0;  // the count, sum or average of the group, or the row's y
};

struct AggregateResult {
  std::string x_type;  // CKAN's type names, as SearchField::type
  std::string y_type;  // "int" for kCount
  std::vector<AggregatePoint> points;
  int64_t total = 0;  // groups (or rows) there were before `limit` cut them
};

// The chart data of a search, computed by the database over every row the filters and q match:
//   kCount: per distinct x, the number of rows;
//   kSum / kAvg: per distinct x, the sum or average of y over the rows where y is not NULL;
//   kNone: x and y of each row, in _id order.
// Groups come in ascending order of x (the backend's collation for text). Rows whose x is NULL,
// and for kSum, kAvg and kNone rows whose y is NULL, are left out. InvalidArgument (field "x" or
// "y") for an unknown column or a y that is not an integer or decimal column.
Result<AggregateResult> Aggregate(db::Connection& c, const AggregateRequest& request);

// The latitude and longitude columns of a table, when it has them: decimal columns whose id or
// header is lat, latitud or latitude, and lon, lng, long, longitud or longitude (case and
// accents aside). `label` is the first text column, or empty.
struct GeoColumns {
  std::string lat, lon, label;
};
std::optional<GeoColumns> DetectGeoColumns(const std::vector<SearchField>& fields);

struct GeoRequest {
  std::string resource_id;
  std::vector<std::pair<std::string, std::string>> filters;  // as in SearchRequest
  std::string q;
  GeoColumns columns;    // lat and lon must be numeric columns; label may be empty
  int64_t limit = 5000;  // 1..50000
};

struct GeoPoint {
  int64_t id = 0;  // the row's _id
  double lat = 0, lon = 0;
  std::string label;  // the label column's text ("" when NULL or without a label column)
};

struct GeoResult {
  std::vector<GeoPoint> points;  // in _id order
  int64_t total = 0;             // matching rows with valid coordinates, before the limit
};

// The points of the rows a search matches: rows whose latitude is within [-90, 90] and longitude
// within [-180, 180]; NULL or out-of-range coordinates are left out (and not counted).
Result<GeoResult> GeoPoints(db::Connection& c, const GeoRequest& request);

}  // namespace abierto::datos
