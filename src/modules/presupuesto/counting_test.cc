#include "modules/presupuesto/counting.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <random>

#include "modules/presupuesto/generator.h"
#include "modules/presupuesto/pb_test_data.h"

namespace abierto::presupuesto {
namespace {

using testing::PabulibDir;
using testing::ReadText;

std::vector<std::string> Strings(const boost::json::value& v) {
  std::vector<std::string> out;
  for (const auto& s : v.as_array()) out.emplace_back(s.as_string());
  return out;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(PbCounting, SharedInstancesMatchOutcomesJson) {
  const auto dir = PabulibDir();
  ASSERT_FALSE(dir.empty()) << "export ABIERTO_SOURCE_DIR=<repository root>";
  const std::string text = ReadText(dir / "outcomes.json");
  ASSERT_FALSE(text.empty()) << "no se encontró " << (dir / "outcomes.json");
  const boost::json::value outcomes = boost::json::parse(text);
  int checked = 0;
  for (const auto& [name, expected] : outcomes.at("instances").as_object()) {
    SCOPED_TRACE(std::string(name));
    Result<PbInstance> instance = ReadPbFile(dir / std::string(name));
    ASSERT_TRUE(instance.ok()) << instance.status().ToString();
    Result<Outcome> greedy = CountGreedy(*instance);
    ASSERT_TRUE(greedy.ok()) << greedy.status().ToString();
    EXPECT_EQ(Sorted(greedy->selected), Sorted(Strings(expected.at("greedy"))));
    ++checked;
    if (const auto* mes = expected.as_object().if_contains("mes")) {
      Result<Outcome> outcome = CountMes(*instance);
      ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
      EXPECT_EQ(Sorted(outcome->selected), Sorted(Strings(*mes)));
      EXPECT_LE(outcome->total_cost, instance->budget);
      MesOptions exact;
      exact.exact_only = true;
      Result<Outcome> slow = CountMes(*instance, exact);
      ASSERT_TRUE(slow.ok());
      EXPECT_EQ(slow->selected, outcome->selected);
      ++checked;
    } else {
      EXPECT_EQ(CountMes(*instance).status().code(), StatusCode::kInvalidArgument);
    }
  }
  EXPECT_EQ(checked, 8);
}

}  // namespace
}  // namespace abierto::presupuesto
