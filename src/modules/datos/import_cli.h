// The `abierto data import` command line: loads a CSV or XLSX file into the datastore of a
// database and prints the data-quality report.
//
//   abierto data import --db URL --resource ID FILE [--sheet NAME] [--delimiter ,|;|tab||]
//                       [--encoding auto|utf-8|windows-1252] [--json] [--quiet]
//                       [--index COL]... [--no-auto-index] [--timings]
//
// The report goes to `out` (Spanish text, or the JSON object with --json); a progress bar and
// errors go to `err`; --timings adds the seconds each phase took. Exit codes: 0 loaded, 1 the file
// was refused or the database failed (the previous version of the table stays published), 2 bad
// arguments.
//
// Thread-safety: no shared state; safe to call concurrently with different streams.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace abierto::datos {

// `args` are the words after `abierto data`. Returns the process exit code.
int RunDataImport(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace abierto::datos
