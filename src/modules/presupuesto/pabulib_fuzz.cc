// libFuzzer entry point for the .pb reader: any byte string must give an instance or an error,
// never a crash; an instance must survive a write/read round trip unchanged and be countable.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "modules/presupuesto/counting.h"
#include "modules/presupuesto/pabulib.h"

using abierto::presupuesto::CountGreedy;
using abierto::presupuesto::CountMes;
using abierto::presupuesto::MesOptions;
using abierto::presupuesto::ParsePb;
using abierto::presupuesto::WritePb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = ParsePb(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed.ok()) return 0;
  const std::string written = WritePb(*parsed);
  auto again = ParsePb(written);
  if (!again.ok() || !(*again == *parsed)) std::abort();  // the writer must round-trip
  auto greedy = CountGreedy(*parsed);
  if (!greedy.ok() || greedy->total_cost > parsed->budget) std::abort();
  // MES is exact and may need many Add1 runs; keep fuzzing fast by counting small ones.
  if (parsed->votes.size() <= 50 && parsed->projects.size() <= 12) {
    MesOptions options;
    options.max_runs = 300;
    auto mes = CountMes(*parsed, options);
    if (mes.ok() && mes->total_cost > parsed->budget) std::abort();
  }
  return 0;
}
