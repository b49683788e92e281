#include "modules/presupuesto/pabulib.h"

#include <gtest/gtest.h>

#include "modules/presupuesto/pb_test_data.h"

namespace abierto::presupuesto {
namespace {

using testing::PabulibDir;
using testing::ReadText;

const char* const kFiles[] = {"Netherlands_Assen_2024.pb", "Poland_Czestochowa_2024_Rakow.pb",
                              "Poland_Krakow_2020_Krowodrza.pb", "Poland_Swiecie_2023.pb",
                              "Poland_Warszawa_2019_Ochota.pb"};

constexpr const char* kSmall =
    "META\n"
    "key;value\n"
    "num_projects;3\n"
    "num_votes;3\n"
    "budget;100\n"
    "vote_type;approval\n"
    "PROJECTS\n"
    "project_id;cost;name\n"
    "a;50;Parque\n"
    "b;40.0;\"Luz; agua\"\n"
    "c;30;Calle\n"
    "VOTES\n"
    "voter_id;vote;age\n"
    "1;a,b;30\n"
    "2;b;41\n"
    "3;;52\n";

TEST(PbParse, SmallInstance) {
  Result<PbInstance> x = ParsePb(kSmall);
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(x->budget, 100);
  EXPECT_EQ(x->vote_type, VoteType::kApproval);
  ASSERT_EQ(x->projects.size(), 3u);
  EXPECT_EQ(x->projects[1].cost, 40);
  EXPECT_EQ(x->projects[1].extra, std::vector<std::string>{"Luz; agua"});
  ASSERT_EQ(x->votes.size(), 3u);
  EXPECT_EQ(x->votes[0].projects, (std::vector<int32_t>{0, 1}));
  EXPECT_TRUE(x->votes[2].projects.empty());
  EXPECT_EQ(x->votes[1].extra, std::vector<std::string>{"41"});
  ASSERT_NE(x->Meta("budget"), nullptr);
  EXPECT_EQ(x->Meta("nothing"), nullptr);
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(PbParse, LineEndingsAndBom) {
  const std::string lf = kSmall;
  std::string crlf;
  for (char c : lf) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  Result<PbInstance> a = ParsePb(lf);
  Result<PbInstance> b = ParsePb(crlf);
  Result<PbInstance> c = ParsePb("\xEF\xBB\xBF" + crlf);
  Result<PbInstance> d = ParsePb(lf.substr(0, lf.size() - 1));  // no final newline
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, *c);
  EXPECT_EQ(*a, *d);
}

TEST(PbParse, SharedFilesParseAndRoundTrip) {
  const auto dir = PabulibDir();
  ASSERT_FALSE(dir.empty()) << "export ABIERTO_SOURCE_DIR=<repository root>";
  for (const char* name : kFiles) {
    SCOPED_TRACE(name);
    Result<PbInstance> x = ReadPbFile(dir / name);
    ASSERT_TRUE(x.ok()) << x.status().ToString();
    EXPECT_EQ(std::to_string(x->projects.size()), *x->Meta("num_projects"));
    EXPECT_EQ(std::to_string(x->votes.size()), *x->Meta("num_votes"));
    const std::string written = WritePb(*x);
    Result<PbInstance> y = ParsePb(written);
    ASSERT_TRUE(y.ok()) << y.status().ToString();
    EXPECT_EQ(*x, *y);
    EXPECT_EQ(WritePb(*y), written);
  }
}

TEST(PbParse, KrakowQuotedNameWithSemicolonAndQuotes) {
  Result<PbInstance> x = ReadPbFile(PabulibDir() / "Poland_Krakow_2020_Krowodrza.pb");
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(x->vote_type, VoteType::kOrdinal);
  const int name = 2;  // project_id;cost;votes;score;name;selected without id and cost
  ASSERT_EQ(x->project_columns[name + 2], "name");
  bool found_doubled = false, found_semicolon = false;
  for (const PbProject& p : x->projects) {
    if (p.id == "35") {
      EXPECT_EQ(p.extra[name], "800 darmowych biletów dla seniorów do Kina \"Paradox\"");
      found_doubled = true;
    }
    if (p.extra[name].find(';') != std::string::npos) found_semicolon = true;
  }
  EXPECT_TRUE(found_doubled);
  EXPECT_TRUE(found_semicolon);  // the &quot; entity carries a ';' inside quotes
  const std::string written = WritePb(*x);
  EXPECT_NE(written.find("\"800 darmowych biletów dla seniorów do Kina \"\"Paradox\"\"\""),
            std::string::npos);
}

TEST(PbParse, WriterQuotesAndRoundTripsAwkwardFields) {
  Result<PbInstance> x = ParsePb(kSmall);
  ASSERT_TRUE(x.ok());
  x->meta.emplace_back("comment", "dos\nlíneas; con \"comillas\"\r\ny CRLF");
  x->projects[0].extra[0] = "\"empieza con comillas";
  x->votes[0].extra[0] = ";";
  Result<PbInstance> y = ParsePb(WritePb(*x));
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_EQ(*x, *y);
}

struct BadCase {
  const char* name;
  std::string text;
  const char* expected;  // a piece of the message
};

TEST(PbParse, RejectsBadInputNamingTheProblem) {
  const std::string s = kSmall;
  const std::vector<BadCase> cases = {
      {"empty", "", "falta la sección META"},
      {"no votes", s.substr(0, s.find("VOTES")), "falta la sección VOTES"},
      {"no projects", Replace(Replace(s, "PROJECTS\n", ""), "project_id;cost;name\n", ""),
       "línea 7"},
      {"unknown section", Replace(s, "VOTES\n", "BALLOTS\n"), "sección desconocida «BALLOTS»"},
      {"section order", "PROJECTS\nproject_id;cost\n", "se esperaba la sección META"},
      {"no cost column", Replace(s, "project_id;cost;name", "project_id;price;name"),
       "línea 8: al encabezado de PROJECTS le falta la columna «cost»"},
      {"no project_id column", Replace(s, "project_id;cost;name", "id;cost;name"),
       "le falta la columna «project_id»"},
      {"no voter_id column", Replace(s, "voter_id;vote;age", "voter;vote;age"),
       "línea 13: al encabezado de VOTES le falta la columna «voter_id»"},
      {"no vote column", Replace(s, "voter_id;vote;age", "voter_id;votes;age"),
       "le falta la columna «vote»"},
      {"unknown project", Replace(s, "1;a,b;30", "1;a,z;30"),
       "línea 14: el voto menciona el proyecto «z», que no está en PROJECTS"},
      {"duplicate project", Replace(s, "c;30;Calle", "a;30;Calle"),
       "línea 11: el proyecto «a» está repetido (ya en la línea 9)"},
      {"duplicate voter", Replace(s, "2;b;41", "1;b;41"), "línea 15: el votante «1» está repetido"},
      {"duplicate in ballot", Replace(s, "1;a,b;30", "1;a,a;30"), "dos veces el proyecto «a»"},
      {"num_projects", Replace(s, "num_projects;3", "num_projects;4"),
       "línea 3: META dice num_projects = 4 pero PROJECTS tiene 3"},
      {"num_votes", Replace(s, "num_votes;3", "num_votes;2"),
       "línea 4: META dice num_votes = 2 pero VOTES tiene 3"},
      {"budget missing", Replace(s, "budget;100\n", ""), "falta la clave «budget»"},
      {"budget invalid", Replace(s, "budget;100", "budget;cien"),
       "línea 5: el valor de «budget» en META no es un entero no negativo"},
      {"budget fractional", Replace(s, "budget;100", "budget;100.5"), "«budget»"},
      {"vote type", Replace(s, "vote_type;approval", "vote_type;quadratic"),
       "línea 6: tipo de voto desconocido «quadratic»"},
      {"negative cost", Replace(s, "c;30;Calle", "c;-30;Calle"),
       "línea 11: el costo «-30» del proyecto «c» no es un entero no negativo"},
      {"fractional cost", Replace(s, "c;30;Calle", "c;30.25;Calle"), "el costo «30.25»"},
      {"text cost", Replace(s, "c;30;Calle", "c;treinta;Calle"), "el costo «treinta»"},
      {"field count", Replace(s, "2;b;41", "2;b"),
       "línea 15: la fila tiene 2 campos y el encabezado de VOTES tiene 3"},
      {"meta field count", Replace(s, "budget;100", "budget;100;x"), "línea 5: la fila tiene 3"},
      {"unterminated quote", Replace(s, "3;;52", "3;;\"52"),
       "línea 16: hay unas comillas que no se cierran"},
      {"text after quote", Replace(s, "a;50;Parque", "a;50;\"Par\"que"),
       "línea 9: hay texto después de cerrar las comillas"},
      {"min_length", Replace(s, "vote_type;approval\n", "vote_type;approval\nmin_length;1\n"),
       "línea 17: el voto tiene 0 proyectos y META exige al menos min_length = 1"},
      {"max_length", Replace(s, "vote_type;approval\n", "vote_type;approval\nmax_length;1\n"),
       "línea 15: el voto tiene 2 proyectos y META permite como máximo max_length = 1"},
      {"duplicate meta key", Replace(s, "budget;100\n", "budget;100\nbudget;200\n"),
       "la clave «budget» de META está repetida"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<PbInstance> x = ParsePb(c.text);
    ASSERT_FALSE(x.ok());
    EXPECT_EQ(x.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(x.status().message().find(c.expected), std::string::npos) << x.status().message();
  }
}

constexpr const char* kCumulative =
    "META\n"
    "key;value\n"
    "budget;100\n"
    "vote_type;cumulative\n"
    "max_sum_points;10\n"
    "PROJECTS\n"
    "project_id;cost\n"
    "a;50\n"
    "b;60\n"
    "VOTES\n"
    "voter_id;vote;points\n"
    "1;a,b;7,3\n"
    "2;b;10\n";

TEST(PbParse, CumulativePoints) {
  Result<PbInstance> x = ParsePb(kCumulative);
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(x->votes[0].points, (std::vector<int64_t>{7, 3}));
  const std::string s = kCumulative;
  const std::vector<BadCase> cases = {
      {"points count", Replace(s, "1;a,b;7,3", "1;a,b;7"),
       "línea 12: el voto tiene 2 proyectos pero 1 valores en points"},
      {"max_sum_points", Replace(s, "2;b;10", "2;b;11"),
       "línea 13: el voto suma 11 puntos y META permite como máximo max_sum_points = 10"},
      {"bad points", Replace(s, "2;b;10", "2;b;x"), "el valor «x» de points"},
      {"no points column", Replace(Replace(s, "voter_id;vote;points", "voter_id;vote"), ";7,3", ""),
       "le falta la columna «points»"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<PbInstance> y = ParsePb(c.text);
    ASSERT_FALSE(y.ok());
    EXPECT_NE(y.status().message().find(c.expected), std::string::npos) << y.status().message();
  }
}

TEST(PbParse, MissingFileIsNotFound) {
  Result<PbInstance> x = ReadPbFile("/nonexistent/nothing.pb");
  EXPECT_EQ(x.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace abierto::presupuesto
