// A RecordReader hands out the records of a tabular file one at a time, as raw byte strings in
// the file's own encoding, so that the ingest engine can read a file of any size in constant
// memory and read it twice (once to infer the column types, once to load). CsvReader and the
// XLSX sheet reader (xlsx.h) implement it.
//
// Thread-safety: a reader is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "abierto/status.h"

namespace abierto::datos {

class RecordReader {
 public:
  virtual ~RecordReader() = default;
  // Reads the next record into *fields (resized to the record's field count; the strings are
  // reused between calls to avoid allocating per value). Returns false at the end of the input.
  // Errors (unbalanced quotes, a record over the size limit, a damaged file) are
  // InvalidArgument with a Spanish message naming the line or row.
  virtual Result<bool> Next(std::vector<std::string>* fields) = 0;
  // The line (CSV) or sheet row (XLSX) where the last record returned starts, from 1.
  virtual int64_t line() const = 0;
  // Progress: input bytes consumed so far and in total (compressed bytes for XLSX).
  virtual int64_t bytes_read() const = 0;
  virtual int64_t bytes_total() const = 0;
};

}  // namespace abierto::datos
