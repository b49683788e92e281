#include "modules/datos/dcat.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "modules/datos/catalog.h"

namespace abierto::datos {
namespace {

TEST(DcatFrequency, Iso8601DurationsForDcatUs) {
  EXPECT_EQ(FrequencyIso8601("continua"), "R/PT1S");
  EXPECT_EQ(FrequencyIso8601("diaria"), "R/P1D");
  EXPECT_EQ(FrequencyIso8601("semanal"), "R/P1W");
  EXPECT_EQ(FrequencyIso8601("mensual"), "R/P1M");
  EXPECT_EQ(FrequencyIso8601("trimestral"), "R/P3M");
  EXPECT_EQ(FrequencyIso8601("semestral"), "R/P6M");
  EXPECT_EQ(FrequencyIso8601("anual"), "R/P1Y");
  EXPECT_EQ(FrequencyIso8601("irregular"), "irregular");
  // Nothing to state: DCAT-US has no "never", and the field is optional.
  EXPECT_EQ(FrequencyIso8601("sin_actualizacion"), "");
  EXPECT_EQ(FrequencyIso8601(""), "");
  EXPECT_EQ(FrequencyIso8601("Mensual"), "");
  EXPECT_EQ(FrequencyIso8601("quincenal"), "");
}

TEST(DcatFrequency, Iso8601ValuesMatchThePodSchemaPattern) {
  // The accrualPeriodicity pattern of the DCAT-US v1.1 schema.
  const std::regex pod(
      R"(^R\/P(?:\d+(?:\.\d+)?Y)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?W)?(?:\d+(?:\.\d+)?D)?)"
      R"((?:T(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?$)");
  for (const char* f :
       {"continua", "diaria", "semanal", "mensual", "trimestral", "semestral", "anual"})
    EXPECT_TRUE(std::regex_match(FrequencyIso8601(f), pod)) << f;
}

TEST(DcatFrequency, EuFrequencyVocabulary) {
  const std::string eu = "http://publications.europa.eu/resource/authority/frequency/";
  EXPECT_EQ(FrequencyEuUri("continua"), eu + "CONT");
  EXPECT_EQ(FrequencyEuUri("diaria"), eu + "DAILY");
  EXPECT_EQ(FrequencyEuUri("semanal"), eu + "WEEKLY");
  EXPECT_EQ(FrequencyEuUri("mensual"), eu + "MONTHLY");
  EXPECT_EQ(FrequencyEuUri("trimestral"), eu + "QUARTERLY");
  EXPECT_EQ(FrequencyEuUri("semestral"), eu + "ANNUAL_2");
  EXPECT_EQ(FrequencyEuUri("anual"), eu + "ANNUAL");
  EXPECT_EQ(FrequencyEuUri("irregular"), eu + "IRREG");
  EXPECT_EQ(FrequencyEuUri("sin_actualizacion"), eu + "NEVER");
  EXPECT_EQ(FrequencyEuUri(""), "");
  EXPECT_EQ(FrequencyEuUri("bienal"), "");
}

TEST(DataPackageName, KeepsValidNamesAndCleansTheRest) {
  EXPECT_EQ(DataPackageName("proyectos-por-delegacion.csv"), "proyectos-por-delegacion.csv");
  EXPECT_EQ(DataPackageName("solicitudes_2025"), "solicitudes_2025");
  EXPECT_EQ(DataPackageName("Población por Colonia (2020).CSV"), "poblacion-por-colonia-2020.csv");
  EXPECT_EQ(DataPackageName("  Año / Mes  "), "ano-mes");
  EXPECT_EQ(DataPackageName("Ñandú"), "nandu");
  EXPECT_EQ(DataPackageName("../../etc/passwd"), "etc-passwd");
  EXPECT_EQ(DataPackageName(".hidden."), "hidden");
  EXPECT_EQ(DataPackageName("a//b"), "a-b");
  EXPECT_EQ(DataPackageName(""), "");
  EXPECT_EQ(DataPackageName("¿?¡!"), "");
  EXPECT_EQ(DataPackageName("📊"), "");
}

TEST(DataPackageName, AlwaysMatchesTheFrictionlessPattern) {
  const std::regex frictionless("^([-a-z0-9._/])+$");
  const std::vector<std::string> inputs = {"Tabla completa",
                                           "ÁRBOLES.xlsx",
                                           "x",
                                           "datos\tcon\ncontrol",
                                           "A-B_C.D",
                                           "--rare--",
                                           std::string(300, 'z'),
                                           "Ciudad de México 2024",
                                           "Año (2020) .csv"};
  for (const std::string& s : inputs) {
    std::string n = DataPackageName(s);
    ASSERT_FALSE(n.empty()) << s;
    EXPECT_TRUE(std::regex_match(n, frictionless)) << s << " → " << n;
    EXPECT_LE(n.size(), 100u);
    EXPECT_NE(n.front(), '-');
    EXPECT_NE(n.back(), '-');
    EXPECT_EQ(DataPackageName(n), n) << "idempotent";
  }
}

TEST(TableSchemaType, FromDatastoreColumnTypes) {
  EXPECT_EQ(TableSchemaType("integer"), "integer");
  EXPECT_EQ(TableSchemaType("decimal"), "number");
  EXPECT_EQ(TableSchemaType("date"), "date");
  EXPECT_EQ(TableSchemaType("text"), "string");
  EXPECT_EQ(TableSchemaType("geometry"), "string");
}

TEST(OpenLicenseId, MapsKnownLicences) {
  EXPECT_EQ(OpenLicenseId("cc-by-4.0"), "CC-BY-4.0");
  EXPECT_EQ(OpenLicenseId("cc-by-sa-4.0"), "CC-BY-SA-4.0");
  EXPECT_EQ(OpenLicenseId("cc-zero"), "CC0-1.0");
  EXPECT_EQ(OpenLicenseId("odc-odbl"), "ODbL-1.0");
  EXPECT_EQ(OpenLicenseId("libre-uso-mx"), "libre-uso-mx");
}

TEST(EncodeUri, EncodesWhatUrisMayNotHold) {
  EXPECT_EQ(EncodeUri("https://datos.leon.gob.mx/a/b.csv?x=1&y=2#f"),
            "https://datos.leon.gob.mx/a/b.csv?x=1&y=2#f");
  EXPECT_EQ(EncodeUri("https://x.mx/año 2024.csv"), "https://x.mx/a%C3%B1o%202024.csv");
  EXPECT_EQ(EncodeUri("https://x.mx/a%20b"), "https://x.mx/a%20b");
  EXPECT_EQ(EncodeUri("https://x.mx/<a>{b}|\"c\"\\"), "https://x.mx/%3Ca%3E%7Bb%7D%7C%22c%22%5C");
}

// A package dict as datos.package.show gives it, with only what the description reads.
boost::json::object Package(std::string notes) {
  return boost::json::object{
      {"id", "0b0c5a8e-1111-4222-8333-944455556666"},
      {"name", "poblacion"},
      {"title", "Población"},
      {"notes", std::move(notes)},
      {"metadata_created", "2025-01-02T03:04:05"},
      {"metadata_modified", "2025-02-03T04:05:06"},
      {"license_url", "https://creativecommons.org/licenses/by/4.0/"},
      {"organization", boost::json::object{{"name", "ut"}, {"title", "Unidad de Transparencia"}}},
      {"tags", boost::json::array{}},
      {"groups", boost::json::array{boost::json::object{{"name", "g"}, {"title", "Gobierno"}}}},
      {"resources", boost::json::array{}},
      {"temporal_start", "2020-01-01"},
      {"temporal_end", ""}};
}

size_t Chars(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

TEST(SchemaOrgDataset, ShortDescriptionsAreCompletedToFiftyCharacters) {
  auto d = SchemaOrgDataset(Package(""), "https://datos.leon.gob.mx/");
  std::string description(d.at("description").as_string());
  EXPECT_GE(Chars(description), 50u);
  EXPECT_EQ(description.rfind("Población. Conjunto de datos abiertos publicado por Unidad de "
                              "Transparencia en DatA-LEÓN",
                              0),
            0u)
      << description;
  // Markdown is read as text, and a long enough description is kept as written.
  std::string notes = "Habitantes por **colonia** según el censo, con su superficie y densidad.";
  d = SchemaOrgDataset(Package(notes), "https://datos.leon.gob.mx");
  EXPECT_EQ(d.at("description").as_string(),
            "Habitantes por colonia según el censo, con su superficie y densidad.");
}

TEST(SchemaOrgDataset, LongDescriptionsAreCutAtFiveThousandCharacters) {
  std::string notes;
  while (Chars(notes) < 6000) notes += "ñandú ";
  auto d = SchemaOrgDataset(Package(notes), "https://datos.leon.gob.mx");
  std::string description(d.at("description").as_string());
  EXPECT_EQ(Chars(description), 5000u);
  EXPECT_EQ(description.substr(description.size() - 3), "…");
}

TEST(SchemaOrgDataset, RequiredPropertiesAndFallbacks) {
  auto d = SchemaOrgDataset(Package(""), "https://datos.leon.gob.mx/");
  EXPECT_EQ(d.at("@type"), "Dataset");
  EXPECT_EQ(d.at("url"), "https://datos.leon.gob.mx/datos/conjunto/poblacion");
  EXPECT_EQ(d.at("keywords"), (boost::json::array{"Gobierno"})) << "themes stand in for tags";
  EXPECT_EQ(d.at("license"), "https://creativecommons.org/licenses/by/4.0/");
  EXPECT_EQ(d.at("dateModified"), "2025-02-03T04:05:06Z");
  EXPECT_EQ(d.at("temporalCoverage"), "2020-01-01/..");
  EXPECT_EQ(d.at("creator").at("@type"), "Organization");
  EXPECT_EQ(d.at("publisher").at("url"), "https://datos.leon.gob.mx/datos/organizaciones/ut");
  EXPECT_EQ(d.at("includedInDataCatalog").at("name"), "DatA-LEÓN");
  EXPECT_EQ(d.at("isAccessibleForFree"), true);
}

}  // namespace
}  // namespace abierto::datos
