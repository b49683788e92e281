// A RecordReader hands out the records of a tabular file one at a time, as raw byte strings in
// the file's own encoding, so that the ingest engine can read a file of any size in constant
// memory and read it twice (once to infer the column types, once to load). CsvReader and the
// XLSX sheet reader (xlsx.h) implement it.
//
// Thread-safety: a reader is used by one thread at a time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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

// Reads another reader's records on a thread of its own, a few batches ahead, so that parsing
// the file and what the caller does with each record (classifying values, converting them,
// writing them to the database) run on two cores instead of one. It hands out the same records
// with the same line numbers and the same errors, at the same point, as the inner reader.
//
// Memory stays bounded: a batch closes at kBatchRecords records or kBatchBytes bytes, at most
// kBatches batches exist, and a value that grew past kKeepBytes gives its memory back when its
// batch is reused (a file of 1 MiB records must not leave every slot holding 1 MiB).
// bytes_read() advances a batch at a time, which is all progress reporting needs.
//
// Thread-safety: like any reader, one consumer thread at a time; the inner reader is only ever
// touched by the prefetch thread once this object exists, and the destructor stops and joins it.
class PrefetchReader final : public RecordReader {
 public:
  static constexpr size_t kBatchRecords = 512;
  static constexpr size_t kBatchBytes = 1 << 20;
  static constexpr size_t kBatches = 4;
  static constexpr size_t kKeepBytes = 64 * 1024;

  explicit PrefetchReader(std::unique_ptr<RecordReader> inner);
  ~PrefetchReader() override;
  PrefetchReader(const PrefetchReader&) = delete;
  PrefetchReader& operator=(const PrefetchReader&) = delete;

  Result<bool> Next(std::vector<std::string>* fields) override;
  int64_t line() const override { return line_; }
  int64_t bytes_read() const override { return bytes_read_; }
  int64_t bytes_total() const override { return bytes_total_; }
  // The inner reader, for what it learns once reading has started (CsvReader::has_bom()). Read
  // its state only after a Next() has returned: the batch hand-over orders the two threads.
  const RecordReader& inner() const { return *inner_; }

 private:
  struct Batch {
    std::vector<std::vector<std::string>> records;
    std::vector<int64_t> lines;
    size_t count = 0;
    int64_t bytes_read = 0;
    bool end = false;             // the inner reader has no more records after these
    Status error = Status::Ok();  // set with end when the inner reader failed
  };
  void Produce();
  static void Recycle(Batch* b);

  std::unique_ptr<RecordReader> inner_;
  const int64_t bytes_total_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Batch>> full_, free_;  // guarded by mu_
  bool stop_ = false;                               // guarded by mu_
  std::unique_ptr<Batch> current_;                  // the consumer's batch
  size_t next_ = 0;
  int64_t line_ = 0, bytes_read_ = 0;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace abierto::datos
