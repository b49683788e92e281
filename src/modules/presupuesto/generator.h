// Synthetic participatory-budget elections, for benchmarks and stress tests.
//
// GeneratePb() builds a reproducible approval election: project costs drawn uniformly from
// [min_cost, max_cost] (multiples of 1000), a budget of a third of the total cost, and ballots
// that each approve `approvals` distinct projects chosen with uneven popularity, so that
// ballots differ (grouping identical ballots does not shrink the instance). The same options
// always give the same instance on every platform.
//
// Thread-safety: a pure function; safe to call concurrently.
#pragma once

#include <cstdint>

#include "modules/presupuesto/pabulib.h"

namespace abierto::presupuesto {

struct GeneratorOptions {
  int32_t voters = 100000;
  int32_t projects = 300;
  int32_t approvals = 10;
  uint64_t seed = 1;
  int64_t min_cost = 50000;
  int64_t max_cost = 2000000;
};

// InvalidArgument when the sizes are not positive, approvals exceeds projects, or the
// instance would be unreasonably large (over 10^7 voters or 10^5 projects).
Result<PbInstance> GeneratePb(const GeneratorOptions& options);

}  // namespace abierto::presupuesto
