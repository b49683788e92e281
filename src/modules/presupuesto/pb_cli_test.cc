#include "modules/presupuesto/pb_cli.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "modules/presupuesto/pb_test_data.h"

namespace abierto::presupuesto {
namespace {

struct Ran {
  int code;
  std::string out, err;
};

Ran RunCli(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = RunPbCommand(args, out, err);
  return {code, out.str(), err.str()};
}

std::string Assen() { return (testing::PabulibDir() / "Netherlands_Assen_2024.pb").string(); }

TEST(PbCli, CountPrintsIdsInSelectionOrder) {
  Ran r = RunCli({"count", Assen(), "--rule", "greedy"});
  ASSERT_EQ(r.code, 0) << r.err;
  // Greedy by votes: 3 (43), 9 (42), 8 (25), then 2 and 11 (24 each; 2 is cheaper)...
  EXPECT_EQ(r.out, "3\n9\n8\n2\n11\n13\n14\n");
  EXPECT_EQ(r.err, "");
}

TEST(PbCli, CountJson) {
  Ran r = RunCli({"count", Assen(), "--rule=mes", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const boost::json::value v = boost::json::parse(r.out);
  EXPECT_EQ(v.at("rule"), "mes");
  EXPECT_EQ(v.at("selected").as_array().size(), 9u);
  EXPECT_EQ(v.at("total_cost").as_int64(), 76700);
}

TEST(PbCli, UsageErrorsExitTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {},
           {"count"},
           {"count", Assen()},
           {"count", Assen(), "--rule", "borda"},
           {"count", Assen(), "--rule"},
           {"count", Assen(), "--rule", "mes", "--fast"},
           {"count", Assen(), Assen(), "--rule", "mes"},
           {"recount"},
           {"generate", "--voters", "-5"},
       }) {
    Ran r = RunCli(args);
    EXPECT_EQ(r.code, 2) << ::testing::PrintToString(args);
    EXPECT_NE(r.err.find("Uso:"), std::string::npos);
    EXPECT_EQ(r.out, "");
  }
}

TEST(PbCli, Help) {
  Ran r = RunCli({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("abierto pb count"), std::string::npos);
  EXPECT_EQ(RunCli({"count", "--help"}).code, 0);
}

TEST(PbCli, BadFileExitsOneNamingFileAndLine) {
  const std::string path = ::testing::TempDir() + "pb_cli_bad.pb";
  {
    std::ofstream f(path, std::ios::binary);
    f << "META\nkey;value\nbudget;10\nvote_type;approval\nPROJECTS\nproject_id;cost\n"
         "a;5\nVOTES\nvoter_id;vote\n1;b\n";
  }
  Ran r = RunCli({"count", path, "--rule", "greedy"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(path + ": línea 10: el voto menciona el proyecto «b»"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
  Ran missing = RunCli({"count", path + ".nope", "--rule", "greedy"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no se puede"), std::string::npos);
}

TEST(PbCli, MesOnOrdinalFileExitsOne) {
  Ran r = RunCli({"count", (testing::PabulibDir() / "Poland_Krakow_2020_Krowodrza.pb").string(),
                  "--rule", "mes"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("solo se aplica a votos de aprobación"), std::string::npos) << r.err;
}

TEST(PbCli, GenerateWritesAParsableInstance) {
  Ran r =
      RunCli({"generate", "--voters", "50", "--projects", "8", "--approvals", "3", "--seed", "7"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string path = ::testing::TempDir() + "pb_cli_gen.pb";
  {
    std::ofstream f(path, std::ios::binary);
    f << r.out;
  }
  Ran counted = RunCli({"count", path, "--rule", "mes"});
  EXPECT_EQ(counted.code, 0) << counted.err;
  EXPECT_FALSE(counted.out.empty());
  EXPECT_EQ(
      RunCli({"generate", "--voters", "50", "--projects", "8", "--approvals", "3", "--seed", "7"})
          .out,
      r.out);
}

}  // namespace
}  // namespace abierto::presupuesto
