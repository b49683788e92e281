// Counting benchmarks on generated approval elections (no files needed).
#include <benchmark/benchmark.h>

#include "modules/presupuesto/counting.h"
#include "modules/presupuesto/generator.h"

namespace {

using abierto::presupuesto::CountGreedy;
using abierto::presupuesto::CountMes;
using abierto::presupuesto::GeneratePb;
using abierto::presupuesto::GeneratorOptions;

abierto::presupuesto::PbInstance Instance(int voters) {
  GeneratorOptions o;
  o.voters = voters;
  return GeneratePb(o).value();
}

void BM_Greedy(benchmark::State& state) {
  const auto x = Instance(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(CountGreedy(x));
}
BENCHMARK(BM_Greedy)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_MesAdd1(benchmark::State& state) {
  const auto x = Instance(static_cast<int>(state.range(0)));
  int64_t runs = 0;
  for (auto _ : state) {
    auto outcome = CountMes(x);
    runs = outcome.ok() ? outcome->runs : -1;
    benchmark::DoNotOptimize(outcome);
  }
  state.counters["runs"] = static_cast<double>(runs);
}
BENCHMARK(BM_MesAdd1)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
