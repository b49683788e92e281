// The `abierto pb` command line: count a Pabulib file, or generate a synthetic one.
//
//   abierto pb count FILE.pb --rule greedy|mes [--json]
//   abierto pb generate --voters N --projects P --approvals K [--seed S]
//   abierto pb --help
//
// `count` prints the selected project ids one per line, or with --json the object
// {"rule":"mes","selected":[...],"total_cost":N}. `generate` writes a .pb file to `out`.
// Messages for people go to `err`, in Spanish, naming the file and line of a bad input.
// Exit codes: 0 success, 1 unreadable or invalid file (or a count that cannot be done),
// 2 bad arguments.
//
// Thread-safety: no shared state; safe to call concurrently with different streams.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace abierto::presupuesto {

// `args` are the words after `abierto pb`. Returns the process exit code.
int RunPbCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace abierto::presupuesto
