#include "abierto/export.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <string>

#include "testing/tools.h"

namespace abierto::exporter {
namespace {

using ::abierto::testing::HaveTool;
using ::abierto::testing::RunCommand;
using ::abierto::testing::TempFileWith;
using ::abierto::testing::XmllintNoout;

const std::string kBom = "\xEF\xBB\xBF";

Table SampleTable() {
  Table t;
  t.headers = {"Compromiso", "Avance", "Dependencia"};
  t.rows.push_back({"Plan de Acción, León", 45.5, "Dirección \"General\""});
  t.rows.push_back({"=HYPERLINK(\"http://x\",\"clic\")", -3.5, Cell()});
  t.rows.push_back({"línea 1\nlínea 2", int64_t{1200}, "-10"});
  return t;
}

TEST(ExportCsv, QuotesAndUsesCrlfWithBom) {
  Table t;
  t.headers = {"a", "b,c", "d"};
  t.rows.push_back({"x", "con \"comillas\"", "uno\r\ndos"});
  t.rows.push_back({1.0, 0.1, Cell()});
  EXPECT_EQ(ToCsv(t), kBom +
                          "a,\"b,c\",d\r\n"
                          "x,\"con \"\"comillas\"\"\",\"uno\r\ndos\"\r\n"
                          "1,0.1,\r\n");
}

TEST(ExportCsv, NeutralizesFormulasButNotNumbers) {
  Table t;
  t.headers = {"v"};
  for (const char* s : {"=1+1", "+52 477", "-2", "@SUM(A1)", "\tx", "\rx", "normal", "a=b"}) {
    t.rows.push_back({s});
  }
  t.rows.push_back({-2.5});
  EXPECT_EQ(ToCsv(t), kBom +
                          "v\r\n"
                          "'=1+1\r\n"
                          "'+52 477\r\n"
                          "'-2\r\n"
                          "'@SUM(A1)\r\n"
                          "'\tx\r\n"
                          "\"'\rx\"\r\n"
                          "normal\r\n"
                          "a=b\r\n"
                          "-2.5\r\n");
}

TEST(ExportCsv, PadsShortRowsAndIgnoresExtraCells) {
  Table t;
  t.headers = {"=h", "b"};
  t.rows.push_back({"1"});
  t.rows.push_back({"1", "2", "3"});
  EXPECT_EQ(ToCsv(t), kBom + "'=h,b\r\n1,\r\n1,2\r\n");
}

TEST(ExportCsv, NumbersRoundTripAndNonFiniteIsEmpty) {
  Table t;
  t.headers = {"n"};
  t.rows.push_back({1234567.891});
  t.rows.push_back({1.0 / 0.0});
  t.rows.push_back({int64_t{9007199254740992}});
  // Plain digits where the shortest form would be scientific; scientific only far out.
  for (double v : {32000000.0, 1e6, -2.5e-5, 1e300, 1e-7}) t.rows.push_back({v});
  EXPECT_EQ(ToCsv(t), kBom +
                          "n\r\n1234567.891\r\n\r\n9007199254740992\r\n32000000\r\n1000000\r\n"
                          "-0.000025\r\n1e+300\r\n1e-07\r\n");
}

TEST(ExportCsv, RowsInPiecesAddUpToTheWholeFile) {
  Table whole = SampleTable();
  Table first{whole.headers, {whole.rows[0]}};
  Table rest{whole.headers, {whole.rows.begin() + 1, whole.rows.end()}};
  EXPECT_EQ(ToCsv(first) + ToCsvRows(rest), ToCsv(whole));
  EXPECT_EQ(ToCsvRows(Table{{"v", "w"}, {{"=1+1"}, {-2.5, "@x"}}}), "'=1+1,\r\n-2.5,'@x\r\n");
  EXPECT_EQ(ToCsvRows(Table{{"v"}, {}}), "");
}

TEST(ExportCsv, DropsInvalidUtf8) {
  Table t;
  t.headers = {"x"};
  t.rows.push_back({"Le\xC3\xB3n\xFF"});
  EXPECT_EQ(ToCsv(t), kBom + "x\r\nLeón\r\n");
}

TEST(ExportXlsx, SanitizesSheetNames) {
  EXPECT_EQ(SanitizeSheetName("Plan [2025]: avance/meta?*\\"), "Plan 2025 avancemeta");
  EXPECT_EQ(SanitizeSheetName("'Hoja'"), "Hoja");
  EXPECT_EQ(SanitizeSheetName(""), "Datos");
  EXPECT_EQ(SanitizeSheetName("[]"), "Datos");
  EXPECT_EQ(SanitizeSheetName("History"), "History 1");
  EXPECT_EQ(SanitizeSheetName(std::string(40, 'x')), std::string(31, 'x'));
  const std::string accents = SanitizeSheetName("Participación ciudadana en León, Gto.");
  EXPECT_EQ(accents, "Participación ciudadana en León");  // 31 characters, not bytes
}

TEST(ExportXlsx, WritesARealWorkbook) {
  auto xlsx = ToXlsx(SampleTable(), "Avance: [plan]");
  ASSERT_TRUE(xlsx.ok()) << xlsx.status().ToString();
  ASSERT_GT(xlsx->size(), 1000u);
  EXPECT_EQ(xlsx->substr(0, 2), "PK");

  if (!HaveTool("unzip")) GTEST_SKIP() << "unzip not installed; contents not checked";
  TempFileWith file(*xlsx, ".xlsx");
  ASSERT_FALSE(file.path().empty());

  std::string strings;
  ASSERT_EQ(RunCommand("unzip -p '" + file.path() + "' xl/sharedStrings.xml", &strings), 0);
  EXPECT_NE(strings.find("Plan de Acción, León"), std::string::npos) << strings;
  EXPECT_NE(strings.find("Dirección \"General\""), std::string::npos) << strings;
  // The formula is stored as text behind an apostrophe; "-10" text is neutralized too.
  EXPECT_NE(strings.find("'=HYPERLINK("), std::string::npos) << strings;
  EXPECT_NE(strings.find("'-10"), std::string::npos) << strings;

  std::string sheet;
  ASSERT_EQ(RunCommand("unzip -p '" + file.path() + "' xl/worksheets/sheet1.xml", &sheet), 0);
  EXPECT_EQ(sheet.find("<f>"), std::string::npos) << "no cell may be a formula";
  EXPECT_NE(sheet.find("<v>-3.5</v>"), std::string::npos) << sheet;  // a number cell
  EXPECT_NE(sheet.find("<v>45.5</v>"), std::string::npos) << sheet;
  EXPECT_NE(sheet.find("<v>1200</v>"), std::string::npos) << sheet;
  EXPECT_NE(sheet.find("<pane "), std::string::npos) << "header row frozen";

  std::string workbook;
  ASSERT_EQ(RunCommand("unzip -p '" + file.path() + "' xl/workbook.xml", &workbook), 0);
  EXPECT_NE(workbook.find("name=\"Avance plan\""), std::string::npos) << workbook;

  std::string styles;
  ASSERT_EQ(RunCommand("unzip -p '" + file.path() + "' xl/styles.xml", &styles), 0);
  EXPECT_NE(styles.find("<b/>"), std::string::npos) << "bold header format";
}

TEST(ExportXlsx, EmptyTableIsStillAWorkbook) {
  auto xlsx = ToXlsx(Table{}, "");
  ASSERT_TRUE(xlsx.ok()) << xlsx.status().ToString();
  EXPECT_EQ(xlsx->substr(0, 2), "PK");
}

TEST(ExportJson, ArrayOfObjectsKeyedByHeader) {
  Table t = SampleTable();
  t.headers.push_back("Avance");  // a repeated header keeps its column
  const std::string json = ToJsonArray(t);
  boost::json::error_code ec;
  const boost::json::value v = boost::json::parse(json, ec);
  ASSERT_FALSE(ec) << json;
  const auto& rows = v.as_array();
  ASSERT_EQ(rows.size(), 3u);
  const auto& first = rows[0].as_object();
  EXPECT_EQ(first.at("Compromiso").as_string(), "Plan de Acción, León");
  EXPECT_DOUBLE_EQ(first.at("Avance").as_double(), 45.5);
  EXPECT_TRUE(first.at("Avance_2").is_null());
  const auto& second = rows[1].as_object();
  EXPECT_EQ(second.at("Compromiso").as_string(), "=HYPERLINK(\"http://x\",\"clic\")");
  EXPECT_TRUE(second.at("Dependencia").is_null());
  EXPECT_EQ(rows[2].as_object().at("Compromiso").as_string(), "línea 1\nlínea 2");
  EXPECT_EQ(ToJsonArray(Table{{"a"}, {}}), "[]");
}

std::vector<AtomEntry> SampleEntries() {
  return {
      {"tag:abierto.example,2025:plan/1", "Avance <b>& \"más\"</b>", "2025-08-29",
       "https://abierto.example/plan/1?a=1&b=2", "Resumen con <script>alert(1)</script>",
       "Dirección de Innovación"},
      {"", "Sin liga ni autor", "no es fecha", "", "Texto\x01 con control", ""},
  };
}

TEST(ExportAtom, EscapesAllText) {
  const std::string xml =
      RenderAtom("tag:abierto.example,2025:plan", "Plan & avance", "https://a.example/feed?x=1&y=2",
                 "https://a.example/plan", "2025-08-30T10:00:00Z", SampleEntries(), "Municipio");
  EXPECT_EQ(xml.find("<script>"), std::string::npos);
  EXPECT_EQ(xml.find("<b>"), std::string::npos);
  EXPECT_NE(xml.find("Avance &lt;b&gt;&amp; &quot;más&quot;&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(xml.find("href=\"https://abierto.example/plan/1?a=1&amp;b=2\""), std::string::npos);
  EXPECT_NE(xml.find("<title type=\"text\">Plan &amp; avance</title>"), std::string::npos);
  EXPECT_EQ(xml.find('\x01'), std::string::npos);
}

TEST(ExportAtom, FillsWhatAtomRequires) {
  const std::string xml =
      RenderAtom("tag:abierto.example,2025:plan", "Plan", "https://a.example/feed",
                 "https://a.example/plan", "2025-08-30T10:00:00Z", SampleEntries());
  EXPECT_NE(xml.find("<feed xmlns=\"http://www.w3.org/2005/Atom\">"), std::string::npos);
  EXPECT_NE(xml.find("<author><name>Plan</name></author>"), std::string::npos);  // feed author
  EXPECT_NE(xml.find("<updated>2025-08-29T00:00:00Z</updated>"), std::string::npos);
  // The entry with a bad date takes the feed's; without an id or link it gets a derived id
  // and carries its text as content.
  EXPECT_NE(xml.find("<id>tag:abierto.example,2025:plan#2</id>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<updated>2025-08-30T10:00:00Z</updated><content"), std::string::npos) << xml;
  EXPECT_NE(xml.find("rel=\"self\" type=\"application/atom+xml\""), std::string::npos);
}

TEST(ExportAtom, IsWellFormedXml) {
  const std::string xml =
      RenderAtom("urn:x", "Plan <&>", "https://a.example/feed", "", "bad", SampleEntries());
  if (!HaveTool("xmllint")) GTEST_SKIP() << "xmllint not installed";
  std::string errors;
  EXPECT_EQ(XmllintNoout(xml, &errors), 0) << errors << xml;
  // And the check can fail: a broken document is rejected.
  std::string broken_errors;
  EXPECT_NE(XmllintNoout("<feed><entry></feed>", &broken_errors), 0);
}

}  // namespace
}  // namespace abierto::exporter
