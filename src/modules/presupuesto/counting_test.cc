#include "modules/presupuesto/counting.h"

#include <gmpxx.h>
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

// A second, independent oracle: the rule transcribed from the README of the shared Pabulib
// files (../shared/data/pabulib/README.md, "The two counting rules, exactly"), with GMP
// rationals and no shortcuts at all: every round re-evaluates every project, and the
// payment is found by sorting the supporters' balances. It shares no code with counting.cc,
// so it also checks the rational recount (exact_only) that the fast pass falls back to.
// Conventions of CountMes that the README leaves open: projects nobody voted for are never
// chosen, a cost-0 project has ratio 0 (before any other), and after cost and approvals ties
// go to the smaller project id.
namespace abierto::presupuesto {
namespace {

struct ReferenceOutcome {
  std::vector<std::string> selected;
  std::vector<int64_t> payers;  // per project, for the selected ones
  std::string endowment;
  int64_t runs = 0;
};

ReferenceOutcome ReferenceMes(const PbInstance& x) {
  const int m = static_cast<int>(x.projects.size());
  const long n = static_cast<long>(x.votes.size());
  std::vector<std::vector<int>> supporters(m);
  for (size_t i = 0; i < x.votes.size(); ++i) {
    for (int32_t p : x.votes[i].projects) supporters[p].push_back(static_cast<int>(i));
  }
  auto cost = [&](int p) { return mpz_class(static_cast<long>(x.projects[p].cost)); };
  auto before = [&](int p, int q) {
    const PbProject &a = x.projects[p], &b = x.projects[q];
    if (a.cost != b.cost) return a.cost < b.cost;
    if (supporters[p].size() != supporters[q].size()) {
      return supporters[p].size() > supporters[q].size();
    }
    return a.id < b.id;
  };
  struct Run {
    std::vector<int> order;
    mpz_class cost = 0;
    std::vector<int64_t> payers;
  };
  auto run = [&](const mpq_class& e) {
    std::vector<mpq_class> balance(n, e);
    std::vector<bool> chosen(m, false);
    Run r;
    r.payers.assign(m, 0);
    while (true) {
      int best = -1;
      mpq_class best_ratio, best_a;
      for (int p = 0; p < m; ++p) {
        if (chosen[p] || supporters[p].empty()) continue;
        std::vector<mpq_class> b;
        mpq_class total = 0;
        for (int v : supporters[p]) {
          b.push_back(balance[v]);
          total += balance[v];
        }
        if (total < cost(p)) continue;
        // Smallest a with sum of min(b, a) = cost: the poorest pay all they have while that
        // is less than an equal share of what is left.
        std::sort(b.begin(), b.end());
        mpq_class rest = cost(p), a = 0;
        for (size_t j = 0; j < b.size(); ++j) {
          a = rest / static_cast<long>(b.size() - j);
          if (b[j] >= a) break;
          rest -= b[j];
        }
        if (cost(p) == 0) a = 0;
        const mpq_class ratio = cost(p) == 0 ? mpq_class(0) : mpq_class(a / cost(p));
        if (best < 0 || ratio < best_ratio || (ratio == best_ratio && before(p, best))) {
          best = p;
          best_ratio = ratio;
          best_a = a;
        }
      }
      if (best < 0) break;
      chosen[best] = true;
      for (int v : supporters[best]) {
        if (balance[v] > 0 && best_a > 0) ++r.payers[best];
        balance[v] -= std::min(balance[v], best_a);
      }
      r.order.push_back(best);
      r.cost += cost(best);
    }
    return r;
  };
  int supported = 0;
  mpz_class all_cost = 0;
  for (int p = 0; p < m; ++p) {
    if (!supporters[p].empty()) {
      ++supported;
      all_cost += cost(p);
    }
  }
  ReferenceOutcome out;
  const mpq_class start(mpz_class(static_cast<long>(x.budget)), mpz_class(n));
  Run kept = run(start);
  out.runs = 1;
  long k = 0;
  while (static_cast<int>(kept.order.size()) < supported && all_cost > 0) {
    Run next = run(start + (k + 1));
    ++out.runs;
    if (next.cost > x.budget) break;
    kept = std::move(next);
    ++k;
  }
  mpq_class endowment = start + k;
  endowment.canonicalize();
  out.endowment = endowment.get_str();
  for (int p : kept.order) out.selected.push_back(x.projects[p].id);
  out.payers = kept.payers;
  return out;
}

void ExpectAgreesWithReference(const PbInstance& x) {
  const ReferenceOutcome want = ReferenceMes(x);
  MesOptions exact;
  exact.exact_only = true;
  MesOptions one, two;
  one.threads = 1;
  two.threads = 2;
  for (const MesOptions& o : {exact, one, two}) {
    SCOPED_TRACE(o.exact_only ? "exact_only" : o.threads == 1 ? "one thread" : "two threads");
    const Outcome got = CountMes(x, o).value();
    EXPECT_EQ(got.selected, want.selected);
    EXPECT_EQ(got.endowment, want.endowment);
    EXPECT_EQ(got.runs, want.runs);
    for (size_t p = 0; p < x.projects.size(); ++p) {
      if (got.projects[p].decision == Decision::kSelected) {
        EXPECT_EQ(got.projects[p].payers, want.payers[p]) << x.projects[p].id;
      }
    }
  }
}

TEST(PbCounting, MesAgreesWithReferenceOnRandomInstances) {
  std::mt19937_64 rng(20240611);
  for (int trial = 0; trial < 150; ++trial) {
    SCOPED_TRACE(trial);
    GeneratorOptions g;
    g.voters = 3 + static_cast<int>(rng() % 40);
    g.projects = 1 + static_cast<int>(rng() % 9);
    g.approvals = 1 + static_cast<int>(rng() % g.projects);
    g.seed = rng();
    g.min_cost = 1000 * static_cast<int64_t>(rng() % 3);
    g.max_cost = trial % 3 == 0 ? g.min_cost : g.min_cost + 1000 * static_cast<int64_t>(rng() % 12);
    ExpectAgreesWithReference(GeneratePb(g).value());
  }
}

// Few distinct costs, ballots repeated and supporters shared: ties in the ratio are common,
// both exact ones (everyone pays c / u) and ones where some supporters are short, so the
// tie-breaking order and the fast pass's fallback to rationals are both exercised.
TEST(PbCounting, MesAgreesWithReferenceWhenTiesAbound) {
  std::mt19937_64 rng(77);
  for (int trial = 0; trial < 120; ++trial) {
    SCOPED_TRACE(trial);
    PbInstance x;
    x.vote_type = VoteType::kApproval;
    const int m = 2 + static_cast<int>(rng() % 6);
    int64_t total = 0;
    for (int p = 0; p < m; ++p) {
      PbProject project;
      project.id = std::string(1, static_cast<char>('a' + (m - 1 - p)));  // ids against index order
      project.cost = (1 + static_cast<int64_t>(rng() % 3)) * 60;
      total += project.cost;
      x.projects.push_back(project);
    }
    x.budget = total / (1 + static_cast<int64_t>(rng() % 3));
    const int distinct = 1 + static_cast<int>(rng() % 6);
    for (int b = 0; b < distinct; ++b) {
      PbVote vote;
      for (int p = 0; p < m; ++p) {
        if (rng() % 2) vote.projects.push_back(p);
      }
      if (vote.projects.empty()) vote.projects.push_back(static_cast<int>(rng() % m));
      const int copies = 1 + static_cast<int>(rng() % 4);
      for (int c = 0; c < copies; ++c) {
        vote.voter_id = std::to_string(x.votes.size() + 1);
        x.votes.push_back(vote);
      }
    }
    ExpectAgreesWithReference(x);
  }
}

// Larger electorates, where a run has many rounds and most supporters end up short of the
// equal share: the fast pass's bounds carried from one evaluation of a project to the next
// and its set-apart balances are used many times per run.
TEST(PbCounting, MesAgreesWithReferenceOnLargerInstances) {
  std::mt19937_64 rng(4242);
  for (int trial = 0; trial < 6; ++trial) {
    SCOPED_TRACE(trial);
    GeneratorOptions g;
    g.voters = 150 + static_cast<int>(rng() % 150);
    g.projects = 12 + static_cast<int>(rng() % 8);
    g.approvals = 2 + static_cast<int>(rng() % 5);
    g.seed = rng();
    g.min_cost = 1000;
    g.max_cost = 1000 * static_cast<int64_t>(2 + rng() % 15);
    ExpectAgreesWithReference(GeneratePb(g).value());
  }
}

}  // namespace
}  // namespace abierto::presupuesto
