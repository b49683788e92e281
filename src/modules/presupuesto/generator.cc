#include "modules/presupuesto/generator.h"

#include <algorithm>
#include <random>
#include <string>

namespace abierto::presupuesto {
namespace {

// std::uniform_int_distribution differs between standard libraries; this does not.
uint64_t Uniform(std::mt19937_64& rng, uint64_t bound) { return rng() % bound; }

}  // namespace

Result<PbInstance> GeneratePb(const GeneratorOptions& o) {
  if (o.voters <= 0 || o.projects <= 0 || o.approvals <= 0 || o.approvals > o.projects ||
      o.voters > 10'000'000 || o.projects > 100'000 || o.min_cost < 0 || o.max_cost < o.min_cost ||
      o.max_cost > kPbMaxAmount / 100'000) {
    return Status::InvalidArgument(
        "parámetros de generación inválidos: votantes 1..10^7, proyectos 1..10^5, "
        "aprobaciones 1..proyectos");
  }
  std::mt19937_64 rng(o.seed);
  PbInstance x;
  x.vote_type = VoteType::kApproval;
  x.project_columns = {"project_id", "cost"};
  x.vote_columns = {"voter_id", "vote"};
  int64_t total = 0;
  const uint64_t steps = static_cast<uint64_t>((o.max_cost - o.min_cost) / 1000) + 1;
  for (int32_t p = 0; p < o.projects; ++p) {
    PbProject project;
    project.id = std::to_string(p + 1);
    project.cost = o.min_cost + 1000 * static_cast<int64_t>(Uniform(rng, steps));
    total += project.cost;
    x.projects.push_back(std::move(project));
  }
  x.budget = total / 3;
  // Popularity weights between 1 and 8: a few projects draw far more approvals than others.
  std::vector<uint64_t> cumulative(o.projects);
  uint64_t sum = 0;
  for (int32_t p = 0; p < o.projects; ++p) {
    sum += 1 + Uniform(rng, 8);
    cumulative[p] = sum;
  }
  std::vector<char> taken(o.projects, 0);
  x.votes.reserve(o.voters);
  for (int32_t i = 0; i < o.voters; ++i) {
    PbVote vote;
    vote.voter_id = "v" + std::to_string(i + 1);
    while (static_cast<int32_t>(vote.projects.size()) < o.approvals) {
      const uint64_t r = Uniform(rng, sum);
      const int32_t p = static_cast<int32_t>(
          std::upper_bound(cumulative.begin(), cumulative.end(), r) - cumulative.begin());
      if (!taken[p]) {
        taken[p] = 1;
        vote.projects.push_back(p);
      }
    }
    for (int32_t p : vote.projects) taken[p] = 0;
    x.votes.push_back(std::move(vote));
  }
  x.meta = {{"description", "Elección sintética (semilla " + std::to_string(o.seed) + ")"},
            {"country", "Mexico"},
            {"unit", "Sintético"},
            {"num_projects", std::to_string(o.projects)},
            {"num_votes", std::to_string(o.voters)},
            {"budget", std::to_string(x.budget)},
            {"vote_type", "approval"},
            {"rule", "equalshares/add1"},
            {"currency", "MXN"}};
  return x;
}

}  // namespace abierto::presupuesto
