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

namespace abierto::presupuesto {
namespace {

PbInstance Parse(const std::string& text) {
  Result<PbInstance> x = ParsePb(text);
  EXPECT_TRUE(x.ok()) << x.status().ToString();
  return x.ok() ? *x : PbInstance();
}

// Three voters, budget 90 (30 each). A (cost 60) is liked by 1 and 2, B (cost 30) by 3,
// C (cost 60) by all three. C costs 20 a head; then A would need 20 each from 1 and 2 who
// have 10 left, so A is out; B costs 10 to voter 3 alone... worked by hand below.
constexpr const char* kHand =
    "META\nkey;value\nbudget;90\nvote_type;approval\n"
    "PROJECTS\nproject_id;cost\nA;60\nB;30\nC;60\n"
    "VOTES\nvoter_id;vote\n1;A,C\n2;A,C\n3;B,C\n";

TEST(PbCounting, GreedyByApprovalsWithTieBreaks) {
  Outcome o = CountGreedy(Parse(kHand)).value();
  // C has 3 approvals; A and B 2 and 1. C (60) fits, A (60) does not fit in 30, B fits.
  EXPECT_EQ(o.selected, (std::vector<std::string>{"C", "B"}));
  EXPECT_EQ(o.total_cost, 90);
  EXPECT_EQ(o.projects[0].decision, Decision::kDidNotFit);
  EXPECT_EQ(o.projects[0].budget_left, 30);
  EXPECT_EQ(o.projects[1].position, 3);
}

TEST(PbCounting, MesByHand) {
  // e = 30: C costs 20 a head (ratio 1/3) and goes first; everyone has 10 left. A needs 60
  // from 20 and B 30 from 10: nothing else affordable. Add1: e = 31, 32, ... C stays first;
  // at e = 50 voter 3 has 30 left and buys B (total 90 <= 90); A needs e = 50 too: 1 and 2
  // have 30 each = 60. At e = 50 both A and B are bought: 150 > 90, so the answer is the
  // last outcome within budget, {C} until then... check the rule's own answer exactly.
  Outcome o = CountMes(Parse(kHand)).value();
  MesOptions exact;
  exact.exact_only = true;
  Outcome e = CountMes(Parse(kHand), exact).value();
  EXPECT_EQ(o.selected, e.selected);
  EXPECT_EQ(o.selected, (std::vector<std::string>{"C"}));
  EXPECT_EQ(o.projects[2].payers, 3);
  EXPECT_EQ(e.projects[2].max_payment_exact, "20");
  EXPECT_EQ(o.projects[0].decision, Decision::kNotAffordable);
  // Runs at e = 30 .. 50; the one at 50 is over budget and discarded.
  EXPECT_EQ(o.endowment, "49");
}

TEST(PbCounting, GreedyByPointsAndBorda) {
  Outcome points = CountGreedy(Parse("META\nkey;value\nbudget;100\nvote_type;cumulative\n"
                                     "PROJECTS\nproject_id;cost\na;60\nb;60\nc;40\n"
                                     "VOTES\nvoter_id;vote;points\n1;a,b;1,9\n2;a,c;5,5\n"
                                     "3;a;4\n"))
                       .value();
  // Points: a 10, b 9, c 5 (approvals would put a first as well, but c above b).
  EXPECT_EQ(points.selected, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(points.projects[1].score, 9);
  Outcome borda = CountGreedy(Parse("META\nkey;value\nbudget;100\nvote_type;ordinal\n"
                                    "max_length;3\nPROJECTS\nproject_id;cost\na;60\nb;60\nc;40\n"
                                    "VOTES\nvoter_id;vote\n1;b,c,a\n2;b,a\n3;c\n"))
                      .value();
  // Borda 3/2/1: a 1+2 = 3, b 3+3 = 6, c 2+3 = 5.
  EXPECT_EQ(borda.selected, (std::vector<std::string>{"b", "c"}));
}

// Differential test: the fast interval pass (one and two threads) against the all-rational
// count, which follows the definition directly and serves as the oracle. Half the instances
// have equal costs, so that exact ties (settled by the tie-breaking order) are common.
TEST(PbCounting, FastPassAgreesWithRationalsOnRandomInstances) {
  std::mt19937_64 rng(12345);
  for (int trial = 0; trial < 200; ++trial) {
    SCOPED_TRACE(trial);
    GeneratorOptions g;
    g.voters = 5 + static_cast<int>(rng() % 60);
    g.projects = 2 + static_cast<int>(rng() % 10);
    g.approvals = 1 + static_cast<int>(rng() % g.projects);
    g.seed = rng();
    g.min_cost = 1000 * static_cast<int64_t>(rng() % 3);
    g.max_cost = trial % 2 ? g.min_cost : g.min_cost + 1000 * static_cast<int64_t>(1 + rng() % 20);
    PbInstance x = GeneratePb(g).value();
    MesOptions exact;
    exact.exact_only = true;
    const Outcome slow = CountMes(x, exact).value();
    for (int threads : {1, 2}) {
      SCOPED_TRACE(threads);
      MesOptions o;
      o.threads = threads;
      const Outcome fast = CountMes(x, o).value();
      EXPECT_EQ(fast.selected, slow.selected);
      EXPECT_EQ(fast.endowment, slow.endowment);
      EXPECT_EQ(fast.runs, slow.runs);
      EXPECT_EQ(fast.total_cost, slow.total_cost);
      EXPECT_LE(fast.total_cost, x.budget);
      for (size_t p = 0; p < x.projects.size(); ++p) {
        EXPECT_EQ(fast.projects[p].decision, slow.projects[p].decision);
        EXPECT_EQ(fast.projects[p].position, slow.projects[p].position);
        EXPECT_EQ(fast.projects[p].payers, slow.projects[p].payers);
        EXPECT_NEAR(fast.projects[p].max_payment, slow.projects[p].max_payment,
                    1e-6 * (1 + slow.projects[p].max_payment));
        EXPECT_NEAR(fast.projects[p].supporters_money, slow.projects[p].supporters_money,
                    1e-6 * (1 + slow.projects[p].supporters_money));
      }
    }
  }
}

// A larger instance than the oracle can afford at every size: one and two threads must give
// the same outcome, run count included (the second thread's extra run is never consumed).
TEST(PbCounting, TwoThreadsGiveTheSameOutcome) {
  GeneratorOptions g;
  g.voters = 3000;
  g.projects = 40;
  g.approvals = 5;
  g.seed = 7;
  PbInstance x = GeneratePb(g).value();
  MesOptions one, two;
  one.threads = 1;
  two.threads = 2;
  const Outcome a = CountMes(x, one).value();
  const Outcome b = CountMes(x, two).value();
  EXPECT_EQ(a.selected, b.selected);
  EXPECT_EQ(a.endowment, b.endowment);
  EXPECT_EQ(a.runs, b.runs);
  MesOptions bounded = two;
  bounded.max_runs = a.runs;
  EXPECT_TRUE(CountMes(x, bounded).ok());
  bounded.max_runs = a.runs - 1;
  EXPECT_EQ(CountMes(x, bounded).status().code(), StatusCode::kTooLarge);
}

TEST(PbCounting, EmptyAndDegenerateInstances) {
  Outcome none = CountMes(Parse("META\nkey;value\nbudget;10\nvote_type;approval\n"
                                "PROJECTS\nproject_id;cost\na;5\nVOTES\nvoter_id;vote\n"))
                     .value();
  EXPECT_TRUE(none.selected.empty());
  EXPECT_EQ(none.projects[0].decision, Decision::kNoSupporters);
  Outcome free = CountMes(Parse("META\nkey;value\nbudget;0\nvote_type;approval\n"
                                "PROJECTS\nproject_id;cost\na;0\nb;5\nVOTES\nvoter_id;vote\n"
                                "1;a,b\n"))
                     .value();
  EXPECT_EQ(free.selected, (std::vector<std::string>{"a"}));
}

TEST(PbCounting, HostileAdd1IsBounded) {
  MesOptions o;
  o.max_runs = 50;
  Result<Outcome> r = CountMes(Parse("META\nkey;value\nbudget;1\nvote_type;approval\n"
                                     "PROJECTS\nproject_id;cost\na;1000000000000\nb;1\n"
                                     "VOTES\nvoter_id;vote\n1;a\n2;a\n"),
                               o);
  EXPECT_EQ(r.status().code(), StatusCode::kTooLarge);
}

}  // namespace
}  // namespace abierto::presupuesto
