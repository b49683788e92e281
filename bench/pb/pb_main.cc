// Stand-alone `abierto pb` for benchmarks, until main dispatches `abierto pb ...` itself.
#include <iostream>
#include <string>
#include <vector>

#include "modules/presupuesto/pb_cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return abierto::presupuesto::RunPbCommand(args, std::cout, std::cerr);
}
