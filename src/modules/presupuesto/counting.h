// Vote counting for participatory budgets: the greedy rule and the Method of Equal Shares.
//
// Both rules take a parsed PbInstance and return an Outcome: the selected projects in the order
// the rule chose them, their total cost, and one ProjectResult per project with what a results
// page needs to explain the decision ("why was my project not funded?").
//
//  * CountGreedy: projects by score (approvals, points or Borda points by vote type), highest
//    first; ties go to the lower cost, then to more approvals, then to the smaller project id
//    (byte order). Each project that still fits in the remaining budget is taken.
//  * CountMes: Method of Equal Shares with cost utilities and Add1 completion (Pabulib's
//    `equalshares/add1`), approval-like ballots only. Per-voter endowments B/n, B/n + 1, ...;
//    the last outcome whose cost is at most B wins. Ties as in greedy. The decisions are exact:
//    a fast pass uses interval arithmetic with outward rounding and is trusted only when every
//    comparison it makes is certain; otherwise that endowment is recounted with GMP rationals.
//
// Thread-safety: pure functions of their input; safe to call concurrently. CountMes may use
// a second thread of its own for large instances (MesOptions::threads).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "abierto/status.h"
#include "modules/presupuesto/pabulib.h"

namespace abierto::presupuesto {

enum class Decision {
  kSelected,
  kDidNotFit,      // greedy: cost above the budget left when its turn came
  kNotAffordable,  // mes: its supporters' remaining money was below its cost
  kNoSupporters,   // mes: nobody voted for it
};

// "seleccionado", "no cupo en el presupuesto restante", ... (es-MX, for results pages).
const char* DecisionText(Decision decision);

struct ProjectResult {
  std::string id;
  int64_t cost = 0;
  int64_t approvals = 0;  // ballots naming the project
  int64_t score = 0;      // greedy: the score used for ordering; mes: equals approvals
  Decision decision = Decision::kNotAffordable;
  // 1-based position in the order the rule considered (greedy) or selected (mes) it; 0 if none.
  int position = 0;
  // greedy: budget left just before the project was considered.
  int64_t budget_left = 0;
  // mes, selected projects: supporters who paid something, and the largest payment of one
  // supporter (everyone else paid that much or all they had left).
  int64_t payers = 0;
  double max_payment = 0;
  // The same payment as an exact fraction "p/q" in currency units; empty when the final run
  // was certified by interval arithmetic rather than computed with rationals.
  std::string max_payment_exact;
  // mes, projects not selected: what their supporters still held when the run ended.
  double supporters_money = 0;
};

struct Outcome {
  std::string rule;                   // "greedy" or "mes"
  std::vector<std::string> selected;  // project ids in selection order
  int64_t total_cost = 0;
  int64_t budget = 0;
  std::vector<ProjectResult> projects;  // in PbInstance order
  // mes: per-voter endowment of the run returned (exact fraction "p/q"), and how many runs
  // Add1 performed (runs certified to repeat an earlier outcome are skipped, not counted).
  std::string endowment;
  int64_t runs = 0;
};

struct MesOptions {
  // Upper bound on Add1 runs, so that a hostile file (say, tiny budget and enormous costs)
  // cannot keep a server busy; exceeding it is a TooLarge error.
  int64_t max_runs = 200000;
  // Skip the interval-arithmetic pass and count every run with rationals (for tests).
  bool exact_only = false;
  // Threads counting Add1 runs (1 or 2); 0 picks 2 for large instances on a machine with
  // two or more cores, else 1. The outcome does not depend on it.
  int threads = 0;
};

Result<Outcome> CountGreedy(const PbInstance& instance);
Result<Outcome> CountMes(const PbInstance& instance, const MesOptions& options = {});

}  // namespace abierto::presupuesto
