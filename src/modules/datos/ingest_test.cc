#include "modules/datos/ingest.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <xlsxwriter.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "modules/datos/csv.h"
#include "modules/datos/encoding.h"
#include "testing/tools.h"

namespace abierto::datos {
namespace {

namespace fs = std::filesystem;
using testing::TempFileWith;

// ---- the reader and the encodings, without a database ----------------------------------------

std::vector<std::vector<std::string>> ReadAll(const std::string& content, char delim,
                                              Status* error = nullptr) {
  TempFileWith f(content, ".csv");
  auto r = CsvReader::Open(f.path(), delim, 1024);
  EXPECT_TRUE(r.ok());
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> rec;
  for (;;) {
    auto more = (*r)->Next(&rec);
    if (!more.ok()) {
      if (error) *error = more.status();
      break;
    }
    if (!*more) break;
    out.push_back(rec);
  }
  return out;
}

TEST(IngestCsvReader, QuotesNewlinesAndLineEnds) {
  auto rows = ReadAll("a,b\r\n\"x, \"\"y\"\"\",\"dos\nlíneas\"\r\nlast,row", ',');
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1][0], "x, \"y\"");
  EXPECT_EQ(rows[1][1], "dos\nlíneas");
  EXPECT_EQ(rows[2], (std::vector<std::string>{"last", "row"}));
}

TEST(IngestCsvReader, UnbalancedQuoteAndOversizedRecordAreErrors) {
  Status s;
  ReadAll("a,b\n1,\"abierta\n2,3\n", ',', &s);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("línea 2"), std::string::npos) << s.message();
  Status big;
  ReadAll("a\n" + std::string(5000, 'x') + "\n", ',', &big);  // limit 1024 in ReadAll
  EXPECT_EQ(big.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(big.message().find("excede"), std::string::npos) << big.message();
}

TEST(IngestCsvReader, DetectsDelimiters) {
  EXPECT_EQ(DetectDelimiter("a;b;c\n1;2,5;3\n4;5;6\n"), ';');
  EXPECT_EQ(DetectDelimiter("a\tb\n1\t2\n"), '\t');
  EXPECT_EQ(DetectDelimiter("a|b|c\n1|2|3\n"), '|');
  EXPECT_EQ(DetectDelimiter("a,b\n\"1;2\",3\n"), ',');
  EXPECT_EQ(DetectDelimiter("solo\n1\n"), ',');
}

TEST(IngestEncoding, Windows1252AndRepair) {
  std::string out;
  AppendWindows1252AsUtf8("Le\xF3n \x80 \x93hola\x94", &out);
  EXPECT_EQ(out, "León € “hola”");
  out.clear();
  EXPECT_EQ(AppendUtf8Repaired("a\xC3\xA9 b\xFF c\xE2\x82", &out), 2);
  EXPECT_EQ(out, "aé b\xEF\xBF\xBD c\xEF\xBF\xBD");
}

// ---- with a database -------------------------------------------------------------------------

enum class Backend { kSqlite, kPostgres };

std::string WithDatabase(const std::string& url, const std::string& name) {
  size_t slash = url.find('/', url.find("://") + 3);
  if (slash == std::string::npos) return url + "/" + name;
  size_t end = url.find('?', slash);
  return url.substr(0, slash + 1) + name + (end == std::string::npos ? "" : url.substr(end));
}

class IngestTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kSqlite) {
      std::string tmpl = ::testing::TempDir() + "abierto_ingest_XXXXXX";
      ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
      dir_ = tmpl;
      url_ = "sqlite:" + dir_ + "/datos.db";
    } else {
      const char* base = std::getenv("ABIERTO_TEST_PG_URL");
      if (!base || !*base) GTEST_SKIP() << "ABIERTO_TEST_PG_URL no está definida";
      auto admin_db = db::Open(base);
      ASSERT_TRUE(admin_db.ok());
      auto admin = (*admin_db)->Connect();
      ASSERT_TRUE(admin.ok());
      static std::atomic<int> counter{0};
      pg_name_ = "abierto_ingest" + std::to_string(getpid()) + "_" + std::to_string(++counter);
      ASSERT_TRUE((*admin)->ExecScript("DROP DATABASE IF EXISTS " + pg_name_).ok());
      ASSERT_TRUE((*admin)->ExecScript("CREATE DATABASE " + pg_name_).ok());
      admin_ = std::move(*admin);
      admin_db_ = std::move(*admin_db);
      url_ = WithDatabase(base, pg_name_);
    }
    auto d = db::Open(url_);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    db_ = std::move(*d);
    auto c = db_->Connect();
    ASSERT_TRUE(c.ok());
    c_ = std::move(*c);
  }
  void TearDown() override {
    c_.reset();
    db_.reset();
    if (admin_) (void)admin_->ExecScript("DROP DATABASE IF EXISTS " + pg_name_ + " WITH (FORCE)");
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  Result<QualityReport> IngestText(const std::string& content, const std::string& resource = "r1",
                                   const ProgressCallback& cb = nullptr, IngestRequest req = {}) {
    TempFileWith f(content, ".csv");
    req.resource_id = resource;
    req.path = f.path();
    return Ingest(*c_, req, cb);
  }

  QualityReport MustIngest(const std::string& content, const std::string& resource = "r1") {
    auto r = IngestText(content, resource);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : QualityReport{};
  }

  SearchResult MustSearch(SearchRequest req) {
    auto r = Search(*c_, req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SearchResult{};
  }

  // All rows of a resource as JSON text, in _id order.
  std::string Dump(const std::string& resource = "r1") {
    SearchRequest q{.resource_id = resource};
    q.limit = 1000;
    auto r = Search(*c_, q);
    if (!r.ok()) return r.status().ToString();
    return boost::json::serialize(r->ToJson()["records"]);
  }

  bool TableExists(const std::string& name) {
    auto r = c_->Query(c_->dialect() == db::Dialect::kSqlite
                           ? "SELECT name FROM sqlite_master WHERE name = ?"
                           : "SELECT tablename AS name FROM pg_tables WHERE tablename = ?",
                       {name});
    return r.ok() && !r->empty();
  }

  std::string dir_, url_, pg_name_;
  std::unique_ptr<db::Database> admin_db_, db_;
  std::unique_ptr<db::Connection> admin_, c_;
};

const ColumnReport& Col(const QualityReport& r, const std::string& id) {
  for (const auto& c : r.columns)
    if (c.id == id) return c;
  static ColumnReport none;
  ADD_FAILURE() << "no column " << id;
  return none;
}

TEST_P(IngestTest, Utf8BomTypesAndReport) {
  auto rep = MustIngest(
      "\xEF\xBB\xBF"
      "Folio,Fecha de solicitud,Colonia,Monto,Clave\n"
      "1,2024-03-22,León Moderno,1500.50,020\n"
      "2,05/01/2025,Centro,\"1,234.5\",011\n"
      "3,,Obregón,-7,100\n");
  EXPECT_EQ(rep.encoding, "UTF-8 con BOM");
  EXPECT_EQ(rep.delimiter, ",");
  EXPECT_EQ(rep.rows, 3);
  EXPECT_EQ(Col(rep, "folio").type, ColumnType::kInteger);
  EXPECT_EQ(Col(rep, "fecha_de_solicitud").type, ColumnType::kDate);
  EXPECT_EQ(Col(rep, "fecha_de_solicitud").nulls, 1);
  EXPECT_EQ(Col(rep, "colonia").type, ColumnType::kText);
  EXPECT_EQ(Col(rep, "monto").type, ColumnType::kDecimal);
  EXPECT_EQ(Col(rep, "clave").type, ColumnType::kText);  // leading zeros kept
  EXPECT_EQ(Col(rep, "folio").name, "Folio");
  EXPECT_EQ(
      Dump(),
      R"([{"_id":1,"folio":1,"fecha_de_solicitud":"2024-03-22","colonia":"León Moderno","monto":1.5005E3,"clave":"020"},)"
      R"({"_id":2,"folio":2,"fecha_de_solicitud":"2025-01-05","colonia":"Centro","monto":1.2345E3,"clave":"011"},)"
      R"({"_id":3,"folio":3,"fecha_de_solicitud":null,"colonia":"Obregón","monto":-7E0,"clave":"100"}])");
  EXPECT_NE(rep.ToText().find("Filas cargadas: 3"), std::string::npos) << rep.ToText();
}

TEST_P(IngestTest, Latin1SemicolonAndDecimalComma) {
  auto rep =
      MustIngest("Colonia;Poblaci\xF3n;\xCDndice\nLe\xF3n;1200;3,5\nSan Jos\xE9;800;12,75\n");
  EXPECT_EQ(rep.encoding, "Windows-1252 (Latin-1)");
  EXPECT_EQ(rep.delimiter, ";");
  EXPECT_EQ(Col(rep, "poblacion").type, ColumnType::kInteger);
  EXPECT_EQ(Col(rep, "indice").type, ColumnType::kDecimal);
  EXPECT_EQ(Col(rep, "indice").decimal_separator, ',');
  EXPECT_EQ(Col(rep, "indice").name, "Índice");
  EXPECT_EQ(Dump(), R"([{"_id":1,"colonia":"León","poblacion":1200,"indice":3.5E0},)"
                    R"({"_id":2,"colonia":"San José","poblacion":800,"indice":1.275E1}])");
}

TEST_P(IngestTest, TabAndPipeDelimitersQuotesAndCrlf) {
  auto tab = MustIngest("a\tb\r\n\"x\ty\"\t\"dice \"\"hola\"\"\"\r\n", "tab");
  EXPECT_EQ(tab.delimiter, "tab");
  EXPECT_EQ(Dump("tab"), R"([{"_id":1,"a":"x\ty","b":"dice \"hola\""}])");
  auto pipe = MustIngest("a|b\n1|\"dos\nlíneas\"\n", "pipe");
  EXPECT_EQ(pipe.delimiter, "|");
  EXPECT_EQ(Dump("pipe"), R"([{"_id":1,"a":1,"b":"dos\nlíneas"}])");
}

TEST_P(IngestTest, RaggedAndBlankRowsAreCountedAndSkipped) {
  auto rep = MustIngest("a,b,c\n1,2,3\n4,5\n\n7,8,9,10\n,,\n11,12,13,\n");
  EXPECT_EQ(rep.rows, 2);  // the trailing empty field of the last row is tolerated
  EXPECT_EQ(rep.ragged_rows, 2);
  EXPECT_EQ(rep.ragged_lines, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(rep.blank_rows, 2);
  EXPECT_NE(rep.ToText().find("líneas 3, 5"), std::string::npos) << rep.ToText();
}

TEST_P(IngestTest, MissingValueMarkersBreakTheTypeAndAreReported) {
  std::string csv = "monto,clave\n";
  for (int i = 0; i < 40; ++i) csv += std::to_string(i * 10) + "," + std::to_string(i + 1) + "\n";
  csv += "N/D,A-7\n";  // a marker in a number column; a code with a digit makes text
  auto rep = MustIngest(csv);
  EXPECT_EQ(Col(rep, "monto").type, ColumnType::kInteger);
  EXPECT_EQ(Col(rep, "monto").broken, 1);
  EXPECT_EQ(Col(rep, "clave").type, ColumnType::kText);
  EXPECT_EQ(rep.broken_values, 1);
  ASSERT_EQ(rep.broken_examples.size(), 1u);
  EXPECT_EQ(rep.broken_examples[0].line, 42);
  EXPECT_EQ(rep.broken_examples[0].value, "N/D");
  // Beyond 5% markers the column is text: nothing is thrown away.
  auto text = MustIngest("x\n1\nN/D\n2\n", "r2");
  EXPECT_EQ(Col(text, "x").type, ColumnType::kText);
  // A number beyond 64 bits keeps the column as text rather than losing digits.
  auto big = MustIngest("x\n1\n123456789012345678901234\n", "r3");
  EXPECT_EQ(Col(big, "x").type, ColumnType::kText);
}

TEST_P(IngestTest, BadFilesAreClearErrorsAndChangeNothing) {
  MustIngest("a\nantes\n");
  const std::string before = Dump();
  auto empty = IngestText("");
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("vacío"), std::string::npos);
  auto header_only = IngestText("a,b,c\n");
  EXPECT_EQ(header_only.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(header_only.status().message().find("encabezados"), std::string::npos);
  auto long_line = IngestText("a\n" + std::string(2 << 20, 'x') + "\n");
  EXPECT_EQ(long_line.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(long_line.status().message().find("excede"), std::string::npos);
  auto open_quote = IngestText("a,b\n1,\"sin cerrar\n2,3\n");
  EXPECT_EQ(open_quote.status().code(), StatusCode::kInvalidArgument);
  auto all_ragged = IngestText("a,b\n1\n2\n");
  EXPECT_EQ(all_ragged.status().code(), StatusCode::kInvalidArgument);
  auto bad_id = IngestText("a\n1\n", "no válido");
  EXPECT_EQ(bad_id.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Dump(), before);
}

TEST_P(IngestTest, InvalidUtf8InAUtf8FileIsReplacedAndCounted) {
  auto rep = MustIngest("nombre\nJosé\nMaría\nÁngel\nbad \xFF byte\n");
  EXPECT_EQ(rep.encoding, "UTF-8");
  EXPECT_EQ(rep.invalid_utf8, 1);
  EXPECT_NE(Dump().find("bad \xEF\xBF\xBD byte"), std::string::npos) << Dump();
}

TEST_P(IngestTest, DuplicateAndEmptyColumnNamesAreRenamedWithWarnings) {
  auto rep = MustIngest("Nombre,nombre,,_id,Año 2024\nA,B,C,D,E\n");
  ASSERT_EQ(rep.columns.size(), 5u);
  EXPECT_EQ(rep.columns[0].id, "nombre");
  EXPECT_EQ(rep.columns[1].id, "nombre_2");
  EXPECT_EQ(rep.columns[2].id, "columna_3");
  EXPECT_EQ(rep.columns[3].id, "id");
  EXPECT_EQ(rep.columns[4].id, "ano_2024");
  EXPECT_EQ(rep.warnings.size(), 2u);
  EXPECT_EQ(Dump(),
            R"([{"_id":1,"nombre":"A","nombre_2":"B","columna_3":"C","id":"D","ano_2024":"E"}])");
}

std::string Rows(int n, const std::string& tag) {
  std::string csv = "n,tag\n";
  for (int i = 1; i <= n; ++i) csv += std::to_string(i) + "," + tag + "\n";
  return csv;
}

TEST_P(IngestTest, ACancelledOrFailedImportLeavesThePreviousVersion) {
  auto v1 = MustIngest(Rows(3, "uno"));
  const std::string before = Dump();
  // Cancelled in the middle of the load.
  int calls = 0;
  auto cancelled = IngestText(Rows(40000, "dos"), "r1", [&](const Progress& p) {
    return !(p.phase == Progress::Phase::kLoading && ++calls == 2);
  });
  EXPECT_EQ(cancelled.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(Dump(), before);
  // Cancelled at the very last moment, after indexes and registry were written.
  int indexing = 0;
  auto late = IngestText(Rows(10, "tres"), "r1", [&](const Progress& p) {
    return !(p.phase == Progress::Phase::kIndexing && ++indexing == 2);
  });
  EXPECT_EQ(late.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(Dump(), before);
  // A damaged file found late (an unterminated quote at the end).
  auto damaged = IngestText(Rows(20000, "cuatro") + "9,\"abierta\n");
  EXPECT_FALSE(damaged.ok());
  EXPECT_EQ(Dump(), before);
  // Only the first version's table exists, and the search still works on it.
  EXPECT_TRUE(TableExists(v1.table_name));
  EXPECT_FALSE(TableExists(v1.table_name.substr(0, v1.table_name.size() - 1) + "2"));
  EXPECT_EQ(MustSearch({.resource_id = "r1", .q = "uno"}).total, 3);
  // A successful new version replaces it and drops the old table.
  auto v2 = MustIngest(Rows(5, "cinco"));
  EXPECT_NE(v2.table_name, v1.table_name);
  EXPECT_FALSE(TableExists(v1.table_name));
  EXPECT_EQ(MustSearch({.resource_id = "r1"}).total, 5);
}

TEST_P(IngestTest, ProgressReachesTheEnd) {
  std::vector<Progress::Phase> phases;
  double last = -1;
  bool monotonic = true;
  auto rep = IngestText(Rows(30000, "x"), "r1", [&](const Progress& p) {
    if (phases.empty() || phases.back() != p.phase) phases.push_back(p.phase);
    monotonic = monotonic && p.fraction >= last;
    last = p.fraction;
    return true;
  });
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_TRUE(monotonic);
  EXPECT_EQ(last, 1.0);
  EXPECT_EQ(phases,
            (std::vector<Progress::Phase>{Progress::Phase::kAnalyzing, Progress::Phase::kLoading,
                                          Progress::Phase::kIndexing, Progress::Phase::kPublished,
                                          Progress::Phase::kDone}));
}

// The equality indexes are built after the new version is published; a cancellation from then
// on is too late and is ignored, and the indexes still get built.
TEST_P(IngestTest, FilterIndexesFollowThePublication) {
  MustIngest(Rows(3, "uno"));
  bool published_seen = false;
  auto rep = IngestText(Rows(50, "dos"), "r1", [&](const Progress& p) {
    if (p.phase != Progress::Phase::kPublished) return true;
    published_seen = true;
    // Visible already: the new version answers on another connection.
    auto other = db_->Connect();
    EXPECT_TRUE(other.ok());
    if (other.ok()) {
      auto r = Search(**other, {.resource_id = "r1", .q = "dos"});
      EXPECT_TRUE(r.ok() && r->total == 50);
    }
    return false;
  });
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_TRUE(published_seen);
  auto idx = c_->Query(c_->dialect() == db::Dialect::kSqlite
                           ? "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                           : "SELECT indexname AS name FROM pg_indexes WHERE tablename = ?",
                       {rep->table_name});
  ASSERT_TRUE(idx.ok());
  bool filter_index = false;
  for (const auto& r : *idx) filter_index = filter_index || r.Text("name").ends_with("_i1");
  EXPECT_TRUE(filter_index);
  EXPECT_EQ(MustSearch({.resource_id = "r1", .q = "dos"}).total, 50);
}

TEST_P(IngestTest, SearchFiltersTextSortAndPaging) {
  MustIngest(
      "folio,fecha,colonia,descripcion,monto\n"
      "1,2024-01-05,Centro,Bacheo en la calle Madero,10.5\n"
      "2,2024-02-10,León Moderno,Poda de árbol en el jardín,20\n"
      "3,2024-02-10,Centro,Reparación de LUMINARIA,30\n"
      "4,2024-03-01,Obregón,Luminaria apagada y bacheo,40\n");
  auto centro = MustSearch({.resource_id = "r1", .filters = {{"colonia", "Centro"}}});
  EXPECT_EQ(centro.total, 2);
  ASSERT_EQ(centro.records.size(), 2u);
  EXPECT_EQ(std::get<int64_t>(centro.records[1][1]), 3);
  EXPECT_EQ(MustSearch({.resource_id = "r1", .filters = {{"fecha", "10/02/2024"}}}).total, 2);
  EXPECT_EQ(MustSearch({.resource_id = "r1", .filters = {{"folio", "4"}}}).total, 1);
  // Full text: case and accents do not matter, every word must appear.
  EXPECT_EQ(MustSearch({.resource_id = "r1", .q = "luminaria"}).total, 2);
  EXPECT_EQ(MustSearch({.resource_id = "r1", .q = "ARBOL"}).total, 1);
  EXPECT_EQ(MustSearch({.resource_id = "r1", .q = "bacheo luminaria"}).total, 1);
  EXPECT_EQ(MustSearch({.resource_id = "r1", .q = "leon"}).total, 1);
  EXPECT_EQ(
      MustSearch({.resource_id = "r1", .filters = {{"colonia", "Centro"}}, .q = "bacheo"}).total,
      1);
  // Query syntax is not interpreted: every word is a word to find.
  EXPECT_EQ(MustSearch({.resource_id = "r1", .q = "bacheo ("}).total, 2);
  EXPECT_EQ(MustSearch({.resource_id = "r1", .q = "\"bacheo OR NEAR("}).total, 0);
  // Sort, fields, paging.
  auto page = MustSearch({.resource_id = "r1",
                          .fields = {"folio", "monto"},
                          .sort = "monto desc",
                          .limit = 2,
                          .offset = 1});
  EXPECT_EQ(page.total, 4);
  ASSERT_EQ(page.records.size(), 2u);
  EXPECT_EQ(std::get<int64_t>(page.records[0][0]), 3);
  EXPECT_EQ(std::get<int64_t>(page.records[1][0]), 2);
  ASSERT_EQ(page.fields.size(), 2u);
  EXPECT_EQ(page.fields[1].type, "numeric");
  auto json = page.ToJson();
  EXPECT_EQ(boost::json::serialize(json["records"]),
            R"([{"folio":3,"monto":3E1},{"folio":2,"monto":2E1}])");
  auto no_total = MustSearch({.resource_id = "r1", .include_total = false});
  EXPECT_FALSE(no_total.total.has_value());
}

TEST_P(IngestTest, SearchRefusesUnknownColumnsAndBadValues) {
  MustIngest("folio,colonia\n1,Centro\n");
  auto bad = [&](SearchRequest r, const std::string& field) {
    auto s = Search(*c_, r);
    ASSERT_EQ(s.status().code(), StatusCode::kInvalidArgument) << field;
    ASSERT_FALSE(s.status().fields().empty());
    EXPECT_EQ(s.status().fields()[0].field, field);
  };
  bad({.resource_id = "r1", .filters = {{"colonia; DROP TABLE x", "1"}}}, "filters");
  bad({.resource_id = "r1", .filters = {{"folio", "uno"}}}, "filters");
  bad({.resource_id = "r1", .fields = {"nope"}}, "fields");
  bad({.resource_id = "r1", .sort = "colonia; DROP"}, "sort");
  bad({.resource_id = "r1", .sort = "colonia sideways"}, "sort");
  bad({.resource_id = "r1", .limit = 40000}, "limit");
  EXPECT_EQ(Search(*c_, {.resource_id = "otro"}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(MustSearch({.resource_id = "r1"}).total, 1);
}

// ---- whole result sets, charts and maps ----------------------------------------------------

// Every row the cursor yields, as "_id" values, reading pages of `rows`.
std::vector<int64_t> CursorIds(db::Connection& c, const SearchRequest& req, int64_t rows,
                               int* pages = nullptr) {
  std::vector<int64_t> ids;
  auto cur = SearchCursor::Open(c, req);
  EXPECT_TRUE(cur.ok()) << cur.status().ToString();
  if (!cur.ok()) return ids;
  for (int guard = 0; guard < 1000; ++guard) {
    auto page = cur->Next(c, rows);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok() || page->records.empty()) break;
    if (pages) ++*pages;
    for (const auto& r : page->records) ids.push_back(std::get<int64_t>(r[0]));
  }
  return ids;
}

// The _id column of Search() over everything, for comparison.
std::vector<int64_t> SearchIds(db::Connection& c, SearchRequest req) {
  req.limit = 1000;
  req.fields.insert(req.fields.begin(), "_id");
  std::vector<int64_t> ids;
  auto r = Search(c, req);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (r.ok())
    for (const auto& row : r->records) ids.push_back(std::get<int64_t>(row[0]));
  return ids;
}

TEST_P(IngestTest, CursorReadsEveryRowOnceInTheSearchOrder) {
  // Ties and NULLs in the sort columns are where keyset paging goes wrong.
  std::string csv = "grupo,valor,nota\n";
  for (int i = 0; i < 53; ++i) {
    std::string valor = i % 7 == 0 ? "" : std::to_string(i % 5);
    std::string grupo = i % 11 == 0 ? "" : std::string(1, static_cast<char>('a' + i % 3));
    csv += grupo + "," + valor + ",fila " + std::to_string(i) + (i % 2 ? " par" : " non") + "\n";
  }
  MustIngest(csv);
  for (const std::string sort :
       {"", "valor", "valor desc", "grupo desc, valor", "grupo, valor desc, nota", "_id desc"}) {
    for (int64_t rows : {1, 4, 10, 100}) {
      SearchRequest req{.resource_id = "r1", .sort = sort};
      int pages = 0;
      std::vector<int64_t> got = CursorIds(
          *c_, {.resource_id = "r1", .fields = {"_id", "valor"}, .sort = sort}, rows, &pages);
      EXPECT_EQ(got, SearchIds(*c_, req)) << "sort «" << sort << "», pages of " << rows;
      EXPECT_EQ(pages, (53 + rows - 1) / rows) << sort;
    }
  }
  // Filters and q narrow the rows the same way as Search.
  SearchRequest filtered{
      .resource_id = "r1", .filters = {{"grupo", "b"}}, .q = "par", .sort = "valor desc"};
  std::vector<int64_t> expected = SearchIds(*c_, filtered);
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(CursorIds(*c_, filtered, 2), expected);
  // Only the fields asked for come back, though the keys are read too.
  auto cur = SearchCursor::Open(*c_, {.resource_id = "r1", .fields = {"nota"}, .sort = "valor"});
  ASSERT_TRUE(cur.ok());
  auto page = cur->Next(*c_, 5);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->records.size(), 5u);
  EXPECT_EQ(page->records[0].size(), 1u);
  ASSERT_EQ(cur->fields().size(), 1u);
  EXPECT_EQ(cur->fields()[0].id, "nota");
  // Bad requests fail when the cursor opens, with Search's messages.
  EXPECT_EQ(
      SearchCursor::Open(*c_, {.resource_id = "r1", .sort = "nope"}).status().fields()[0].field,
      "sort");
  EXPECT_EQ(
      SearchCursor::Open(*c_, {.resource_id = "r1", .filters = {{"valor", "x"}}}).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(SearchCursor::Open(*c_, {.resource_id = "otro"}).status().code(),
            StatusCode::kNotFound);
}

TEST_P(IngestTest, CursorFailsRatherThanMixingVersions) {
  MustIngest("n\n1\n2\n3\n");
  auto cur = SearchCursor::Open(*c_, {.resource_id = "r1"});
  ASSERT_TRUE(cur.ok());
  ASSERT_TRUE(cur->Next(*c_, 2).ok());
  MustIngest("n\n10\n20\n30\n40\n");  // a new version replaces and drops the old table
  EXPECT_FALSE(cur->Next(*c_, 2).ok());
}

TEST_P(IngestTest, AggregateCountsSumsAndAveragesByX) {
  MustIngest(
      "delegacion,fecha,votos,monto\n"
      "Centro,2025-01-31,10,1.5\n"
      "Centro,2025-02-28,30,2.5\n"
      "León Moderno,2025-01-31,5,\n"
      "Obregón,2025-02-28,,4\n"
      ",2025-03-31,7,1\n");
  auto run = [&](AggregateRequest req) {
    req.resource_id = "r1";
    auto r = Aggregate(*c_, req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::string out;
    if (!r.ok()) return out;
    for (const auto& p : r->points) {
      std::string x = std::holds_alternative<std::string>(p.x)
                          ? std::get<std::string>(p.x)
                          : std::to_string(std::get<int64_t>(p.x));
      char y[32];
      std::snprintf(y, sizeof y, "%g", p.y);
      out += x + "=" + y + ";";
    }
    return out + " total " + std::to_string(r->total);
  };
  // NULL categories are left out; sums and averages skip NULL values.
  EXPECT_EQ(run({.x = "delegacion", .aggregation = Aggregation::kCount}),
            "Centro=2;León Moderno=1;Obregón=1; total 3");
  EXPECT_EQ(run({.x = "delegacion", .y = "votos", .aggregation = Aggregation::kSum}),
            "Centro=40;León Moderno=5; total 2");
  EXPECT_EQ(run({.x = "delegacion", .y = "monto", .aggregation = Aggregation::kAvg}),
            "Centro=2;Obregón=4; total 2");
  EXPECT_EQ(run({.x = "fecha", .y = "votos", .aggregation = Aggregation::kSum}),
            "2025-01-31=15;2025-02-28=30;2025-03-31=7; total 3");
  // Without aggregation: each row's x and y, in _id order; the limit cuts, the total does not.
  EXPECT_EQ(run({.x = "votos", .y = "monto", .limit = 1}), "10=1.5; total 3");
  // Over the filtered rows only.
  EXPECT_EQ(run({.filters = {{"fecha", "2025-01-31"}},
                 .x = "delegacion",
                 .y = "votos",
                 .aggregation = Aggregation::kSum}),
            "Centro=10;León Moderno=5; total 2");
  EXPECT_EQ(run({.q = "leon", .x = "delegacion", .aggregation = Aggregation::kCount}),
            "León Moderno=1; total 1");
  // At most `limit` groups, counted before the cut.
  EXPECT_EQ(run({.x = "delegacion", .aggregation = Aggregation::kCount, .limit = 2}),
            "Centro=2;León Moderno=1; total 3");
  // Refusals name the field.
  auto field_of = [&](AggregateRequest req) {
    req.resource_id = "r1";
    auto r = Aggregate(*c_, req);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    return r.status().fields().empty() ? std::string() : r.status().fields()[0].field;
  };
  EXPECT_EQ(field_of({.x = "nope", .aggregation = Aggregation::kCount}), "x");
  EXPECT_EQ(field_of({.x = "delegacion", .y = "fecha", .aggregation = Aggregation::kSum}), "y");
  EXPECT_EQ(field_of({.x = "delegacion", .y = "", .aggregation = Aggregation::kNone}), "y");
  EXPECT_EQ(field_of({.x = "delegacion", .aggregation = Aggregation::kCount, .limit = 0}), "limit");
  EXPECT_EQ(field_of({.filters = {{"votos", "muchos"}},
                      .x = "delegacion",
                      .aggregation = Aggregation::kCount}),
            "filters");
  Aggregation a;
  EXPECT_TRUE(ParseAggregation("promedio", &a));
  EXPECT_EQ(a, Aggregation::kAvg);
  EXPECT_FALSE(ParseAggregation("AVG", &a));
}

TEST_P(IngestTest, GeoColumnsAndPoints) {
  auto rep = MustIngest(
      "Nombre,Latitud,Longitud,votos\n"
      "Cerro Gordo,21.1617,-101.652,8\n"
      "Sin lugar,,,3\n"
      "Fuera,123.5,-101.6,1\n"
      "Coecillo,21.123,-101.664,7\n");
  auto fields = MustSearch({.resource_id = "r1", .limit = 0}).fields;
  auto geo = DetectGeoColumns(fields);
  ASSERT_TRUE(geo.has_value());
  EXPECT_EQ(geo->lat, "latitud");
  EXPECT_EQ(geo->lon, "longitud");
  EXPECT_EQ(geo->label, "nombre");
  auto points = GeoPoints(*c_, {.resource_id = "r1", .columns = *geo});
  ASSERT_TRUE(points.ok()) << points.status().ToString();
  EXPECT_EQ(points->total, 2);
  ASSERT_EQ(points->points.size(), 2u);
  EXPECT_EQ(points->points[0].id, 1);
  EXPECT_DOUBLE_EQ(points->points[0].lat, 21.1617);
  EXPECT_DOUBLE_EQ(points->points[0].lon, -101.652);
  EXPECT_EQ(points->points[0].label, "Cerro Gordo");
  EXPECT_EQ(points->points[1].label, "Coecillo");
  auto capped = GeoPoints(*c_, {.resource_id = "r1", .q = "coecillo", .columns = *geo});
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(capped->total, 1);
  auto one = GeoPoints(*c_, {.resource_id = "r1", .columns = *geo, .limit = 1});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->points.size(), 1u);
  EXPECT_EQ(one->total, 2);
  EXPECT_EQ(GeoPoints(*c_, {.resource_id = "r1", .columns = {"nombre", "longitud", ""}})
                .status()
                .fields()[0]
                .field,
            "lat");
  // Integer columns are not coordinates; neither is a table without both.
  EXPECT_FALSE(DetectGeoColumns({{"lat", "int", "lat"}, {"lon", "numeric", "lon"}}));
  EXPECT_FALSE(DetectGeoColumns({{"latitud", "numeric", "Latitud"}}));
  auto lng = DetectGeoColumns({{"c_1", "numeric", "LATITUDE"}, {"lng", "numeric", "lng"}});
  ASSERT_TRUE(lng);
  EXPECT_EQ(lng->lat, "c_1");
  EXPECT_EQ(lng->label, "");
}

// ---- XLSX ------------------------------------------------------------------------------------

std::string TempPath(const std::string& suffix) {
  static std::atomic<int> n{0};
  return (fs::temp_directory_path() /
          ("abierto-ingest-" + std::to_string(getpid()) + "-" + std::to_string(++n) + suffix))
      .string();
}

std::string MakeWorkbook() {
  std::string path = TempPath(".xlsx");
  lxw_workbook* wb = workbook_new(path.c_str());
  lxw_worksheet* s1 = workbook_add_worksheet(wb, "Obras");
  lxw_worksheet* s2 = workbook_add_worksheet(wb, "Resumen");
  lxw_format* date = workbook_add_format(wb);
  format_set_num_format(date, "dd/mm/yyyy");
  worksheet_write_string(s1, 0, 0, "Obra", nullptr);
  worksheet_write_string(s1, 0, 1, "Inicio", nullptr);
  worksheet_write_string(s1, 0, 2, "Monto", nullptr);
  worksheet_write_string(s1, 0, 3, "Colonia", nullptr);
  worksheet_write_string(s1, 1, 0, "Pavimentación", nullptr);
  lxw_datetime d1 = {2024, 3, 22, 0, 0, 0};
  worksheet_write_datetime(s1, 1, 1, &d1, date);
  worksheet_write_number(s1, 1, 2, 1500.5, nullptr);
  worksheet_write_string(s1, 1, 3, "León Moderno", nullptr);
  // Row 3 left empty on purpose; row 4 misses its last cell.
  worksheet_write_string(s1, 3, 0, "Alumbrado", nullptr);
  lxw_datetime d2 = {2025, 1, 5, 0, 0, 0};
  worksheet_write_datetime(s1, 3, 1, &d2, date);
  worksheet_write_number(s1, 3, 2, 20, nullptr);
  worksheet_write_string(s2, 0, 0, "total", nullptr);
  worksheet_write_number(s2, 1, 0, 2, nullptr);
  EXPECT_EQ(workbook_close(wb), LXW_NO_ERROR);
  return path;
}

TEST_P(IngestTest, XlsxFirstSheetAndChosenSheet) {
  std::string path = MakeWorkbook();
  IngestRequest req{.resource_id = "x1", .path = path};
  auto rep = Ingest(*c_, req);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(rep->format, "XLSX");
  EXPECT_EQ(rep->sheet, "Obras");
  EXPECT_EQ(rep->rows, 2);
  EXPECT_EQ(rep->blank_rows, 1);
  EXPECT_EQ(Col(*rep, "inicio").type, ColumnType::kDate);
  EXPECT_EQ(Col(*rep, "monto").type, ColumnType::kDecimal);
  EXPECT_EQ(
      Dump("x1"),
      R"([{"_id":1,"obra":"Pavimentación","inicio":"2024-03-22","monto":1.5005E3,"colonia":"León Moderno"},)"
      R"({"_id":2,"obra":"Alumbrado","inicio":"2025-01-05","monto":2E1,"colonia":null}])");
  req.resource_id = "x2";
  req.sheet = "Resumen";
  auto second = Ingest(*c_, req);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(Dump("x2"), R"([{"_id":1,"total":2}])");
  req.sheet = "No existe";
  auto missing = Ingest(*c_, req);
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("«Obras», «Resumen»"), std::string::npos)
      << missing.status().message();
  fs::remove(path);
}

TEST_P(IngestTest, XlsxThatIsNotAZipIsRefused) {
  MustIngest("a\nantes\n", "x1");
  TempFileWith f("esto no es un libro\n", ".xlsx");
  auto r = Ingest(*c_, {.resource_id = "x1", .path = f.path()});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("no es un archivo ZIP"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(Dump("x1"), R"([{"_id":1,"a":"antes"}])");
}

// A ZIP archive built by hand: each part deflated, with sizes as declared by `declared`
// (the real size when negative) so that a lying header can be tested too.
void PutLe(std::string* s, uint32_t v, int n) {
  for (int i = 0; i < n; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

std::string Deflate(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Zip(const std::vector<std::pair<std::string, std::string>>& parts) {
  std::string body, cd;
  for (const auto& [name, data] : parts) {
    std::string comp = Deflate(data);
    uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(data.data()), data.size());
    uint32_t offset = body.size();
    auto header = [&](std::string* s, bool central) {
      PutLe(s, central ? 0x02014b50 : 0x04034b50, 4);
      if (central) PutLe(s, 20, 2);
      PutLe(s, 20, 2);
      PutLe(s, 0, 2);
      PutLe(s, 8, 2);
      PutLe(s, 0, 4);
      PutLe(s, crc, 4);
      PutLe(s, comp.size(), 4);
      PutLe(s, data.size(), 4);
      PutLe(s, name.size(), 2);
      PutLe(s, 0, 2);
      if (central) {
        PutLe(s, 0, 2);
        PutLe(s, 0, 2);
        PutLe(s, 0, 2);
        PutLe(s, 0, 4);
        PutLe(s, offset, 4);
      }
      *s += name;
    };
    header(&body, false);
    body += comp;
    header(&cd, true);
  }
  std::string out = body + cd;
  PutLe(&out, 0x06054b50, 4);
  PutLe(&out, 0, 4);
  PutLe(&out, parts.size(), 2);
  PutLe(&out, parts.size(), 2);
  PutLe(&out, cd.size(), 4);
  PutLe(&out, body.size(), 4);
  PutLe(&out, 0, 2);
  return out;
}

const char kWorkbookXml[] =
    R"(<workbook xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">)"
    R"(<sheets><sheet name="Hoja1" sheetId="1" r:id="rId1"/></sheets></workbook>)";
const char kRelsXml[] =
    R"(<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>)";

TEST_P(IngestTest, XlsxZipBombIsRefused) {
  MustIngest("a\nantes\n", "x1");
  // 64 MiB of blanks inside the sheet compress about 1000:1.
  std::string sheet =
      "<worksheet><sheetData><row r=\"1\"><c t=\"inlineStr\"><is><t>a</t></is></c></row>";
  sheet += std::string(64 << 20, ' ');
  sheet += "</sheetData></worksheet>";
  std::string zip = Zip({{"xl/workbook.xml", kWorkbookXml},
                         {"xl/_rels/workbook.xml.rels", kRelsXml},
                         {"xl/worksheets/sheet1.xml", sheet}});
  sheet.clear();
  sheet.shrink_to_fit();
  ASSERT_LT(zip.size(), 200u << 10);
  TempFileWith f(zip, ".xlsx");
  auto r = Ingest(*c_, {.resource_id = "x1", .path = f.path()});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("bomba ZIP"), std::string::npos) << r.status().message();
  EXPECT_EQ(Dump("x1"), R"([{"_id":1,"a":"antes"}])");
  // The same small workbook without the padding is fine: the limits do not refuse real files.
  std::string ok_sheet =
      "<worksheet><sheetData><row r=\"1\"><c t=\"inlineStr\"><is><t>a</t></is></c></row>"
      "<row r=\"2\"><c><v>7</v></c></row></sheetData></worksheet>";
  TempFileWith g(Zip({{"xl/workbook.xml", kWorkbookXml},
                      {"xl/_rels/workbook.xml.rels", kRelsXml},
                      {"xl/worksheets/sheet1.xml", ok_sheet}}),
                 ".xlsx");
  auto fine = Ingest(*c_, {.resource_id = "x1", .path = g.path()});
  ASSERT_TRUE(fine.ok()) << fine.status().ToString();
  EXPECT_EQ(Dump("x1"), R"([{"_id":1,"a":7}])");
}

// A filter on an indexed text column plus q is answered inside the full-text index on SQLite
// (hidden filter words); the answer must be exactly the rows a plain check finds, page by page.
TEST_P(IngestTest, FilterPlusTextMatchesAPlainCheckOnRandomData) {
  const std::vector<std::string> cats = {"Centro", "León Moderno", " Centro",
                                         "centro", "Obregón",      "San Juan de Dios"};
  const std::vector<std::string> words = {"bacheo", "luminaria", "poda", "fuga", "agua", "parque"};
  uint64_t state = 12345;
  auto next = [&](int n) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int>((state >> 33) % static_cast<uint64_t>(n));
  };
  struct Row {
    std::string cat;
    std::vector<int> w;
  };
  std::vector<Row> rows;
  std::string csv = "folio,colonia,descripcion\n";
  for (int i = 1; i <= 700; ++i) {
    Row r;
    int k = next(8);
    r.cat = k < static_cast<int>(cats.size()) ? cats[k] : "";
    std::string desc;
    for (int n = 1 + next(4); n > 0; --n) {
      r.w.push_back(next(static_cast<int>(words.size())));
      desc += (desc.empty() ? "" : " ") + words[r.w.back()];
    }
    csv += std::to_string(i) + ",\"" + r.cat + "\"," + desc + "\n";
    rows.push_back(r);
  }
  IngestRequest req;
  req.auto_indexes = false;
  req.indexes = {"colonia"};
  auto rep = IngestText(csv, "r1", nullptr, req);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  for (const auto& cat : cats) {
    for (size_t w = 0; w < words.size(); ++w) {
      std::vector<int64_t> want;
      for (size_t i = 0; i < rows.size(); ++i)
        if (rows[i].cat == cat && std::count(rows[i].w.begin(), rows[i].w.end(), w))
          want.push_back(static_cast<int64_t>(i + 1));
      for (int64_t offset : {0, 7}) {
        auto got = MustSearch({.resource_id = "r1",
                               .filters = {{"colonia", cat}},
                               .q = words[w],
                               .fields = {"_id"},
                               .limit = 10,
                               .offset = offset});
        EXPECT_EQ(got.total, static_cast<int64_t>(want.size())) << cat << " " << words[w];
        std::vector<int64_t> ids;
        for (const auto& r : got.records) ids.push_back(std::get<int64_t>(r[0]));
        std::vector<int64_t> page(want.begin() + std::min<size_t>(offset, want.size()),
                                  want.begin() + std::min<size_t>(offset + 10, want.size()));
        EXPECT_EQ(ids, page) << cat << " " << words[w] << " offset " << offset;
      }
    }
  }
  // A value that is not there, two filters on the same column, the filter alone.
  EXPECT_EQ(MustSearch({.resource_id = "r1", .filters = {{"colonia", "Nada"}}, .q = "agua"}).total,
            0);
  EXPECT_EQ(MustSearch({.resource_id = "r1",
                        .filters = {{"colonia", "Centro"}, {"colonia", "Obregón"}},
                        .q = "agua"})
                .total,
            0);
  int64_t centro =
      std::count_if(rows.begin(), rows.end(), [](auto& r) { return r.cat == "Centro"; });
  EXPECT_EQ(MustSearch({.resource_id = "r1", .filters = {{"colonia", "Centro"}}}).total, centro);
}

// The hidden filter words cannot be reached by q, and a text holding the word mark (U+001F) and
// a forged filter word does not change any answer.
TEST_P(IngestTest, BothBackendsSplitWordsAlikeInRowsAndQueries) {
  // Punctuation inside words, accents, apostrophes, backslashes and quotes: the same queries
  // find the same rows on SQLite (FTS5) and on PostgreSQL (a tsvector written by the load).
  MustIngest(
      "id,texto\n"
      "1,Taller auto-servicio\n"
      "2,Calle O'Higgins 3.5 km\n"
      "3,Escriba a correo@ejemplo.mx\n"
      "4,Ñandú en el ZOOLÓGICO\n"
      "5,\"Archivo C:\\ruta\\\"final\\\" y 'comillas'\"\n"
      "6,Sin nada especial\n",
      "w1");
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"servicio", 1},   {"auto servicio", 1},
      {"higgins", 1},    {"O'Higgins", 1},
      {"3.5", 1},        {"km 3", 1},
      {"ejemplo", 1},    {"correo@ejemplo.mx", 1},
      {"nandu", 1},      {"ÑANDÚ zoologico", 1},
      {"ruta", 1},       {"\"final\"", 1},
      {"'comillas'", 1}, {"especial", 1},
      {"nada", 1},       {"taller especial", 0},
      {"'", 6},          {"--", 6},
      {"\\", 6}};
  for (const auto& [q, want] : cases) {
    auto r = Search(*c_, {.resource_id = "w1", .q = q});
    ASSERT_TRUE(r.ok()) << q << ": " << r.status().ToString();
    EXPECT_EQ(r->total, want) << q;
    EXPECT_EQ(static_cast<int64_t>(r->records.size()), want) << q;
  }
}

TEST_P(IngestTest, HiddenFilterWordsAreNeitherSearchableNorForgeable) {
  auto fnv = [](std::string_view s) {
    uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return std::string(buf);
  };
  const std::string word = "2x" + fnv("Centro");  // colonia is the second column
  MustIngest(
      "folio,colonia,descripcion\n"
      "1,Centro,bacheo\n"
      "2,Obregón,bacheo \x1f" +
      word +
      "\n"
      "3,Obregón,bacheo " +
      word +
      "\n"
      "4,Centro,poda\n");
  // Only rows whose own text holds the word: never the Centro rows (1 and 4).
  for (const std::string& q : {word, "\x1f" + word}) {
    auto found = MustSearch({.resource_id = "r1", .q = q, .fields = {"_id"}});
    ASSERT_FALSE(found.records.empty());
    for (const auto& r : found.records) {
      int64_t id = std::get<int64_t>(r[0]);
      EXPECT_TRUE(id == 2 || id == 3) << id;
    }
  }
  auto got = MustSearch({.resource_id = "r1", .filters = {{"colonia", "Centro"}}, .q = "bacheo"});
  EXPECT_EQ(got.total, 1);
  ASSERT_EQ(got.records.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(got.records[0][0]), 1);
  EXPECT_EQ(
      MustSearch({.resource_id = "r1", .filters = {{"colonia", "Obregón"}}, .q = "bacheo"}).total,
      2);
}

// Streams a generated file of about 50 MB through the whole ingest: rows counted exactly.
TEST_P(IngestTest, StreamsALargeFile) {
  if (GetParam() == Backend::kPostgres) GTEST_SKIP() << "the SQLite run is enough here";
  std::string path = TempPath(".csv");
  {
    std::ofstream out(path);
    out << "n,fecha,texto,monto\n";
    std::string filler(130, 'z');
    for (int i = 0; i < 350000; ++i)
      out << i << ",2024-01-" << (10 + i % 19) << "," << filler << " " << i % 97 << "," << i % 1000
          << "." << i % 10 << "\n";
  }
  EXPECT_GT(fs::file_size(path), 50u << 20);
  auto r = Ingest(*c_, {.resource_id = "big", .path = path});
  fs::remove(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows, 350000);
  EXPECT_EQ(MustSearch({.resource_id = "big", .filters = {{"n", "349999"}}}).total, 1);
  EXPECT_EQ(MustSearch({.resource_id = "big", .q = "96"}).total, (350000 - 96 - 1) / 97 + 1);
}

INSTANTIATE_TEST_SUITE_P(Ingest, IngestTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) {
                           return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
                         });

}  // namespace
}  // namespace abierto::datos
