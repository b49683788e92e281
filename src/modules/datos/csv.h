// Streaming RFC 4180 reader for CSV files as publishers produce them.
//
// Understands quoted fields with doubled quotes, delimiters and newlines inside quotes, LF,
// CRLF and lone CR line ends, a last line without a line end, and a UTF-8 byte-order mark
// (skipped, and reported by has_bom()). It is lenient where spreadsheets are sloppy: a quote
// in the middle of an unquoted field is kept as a character, and text after a closing quote is
// appended to the field. It is strict where leniency would hide damage: a quote left open at the
// end of the file is an error naming the line where it opened, and a record longer than
// `max_record_bytes` is an error (so a single 100 MB line costs at most that much memory).
//
// Memory: one read buffer (kBufferSize) plus the current record.
// Thread-safety: one thread at a time per reader.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "modules/datos/records.h"

namespace abierto::datos {

inline constexpr size_t kDefaultMaxRecordBytes = 1 << 20;  // 1 MiB

// Guesses the delimiter among , ; TAB | from the first records of `sample` (the start of the
// file): the candidate that splits the most lines into the same number (> 1) of fields.
// Returns ',' when nothing fits better (a one-column file).
char DetectDelimiter(std::string_view sample);

class CsvReader final : public RecordReader {
 public:
  static constexpr size_t kBufferSize = 1 << 20;

  // Opens `path`. NotFound when it cannot be opened.
  static Result<std::unique_ptr<CsvReader>> Open(const std::string& path, char delimiter,
                                                 size_t max_record_bytes = kDefaultMaxRecordBytes);
  ~CsvReader() override;

  Result<bool> Next(std::vector<std::string>* fields) override;
  int64_t line() const override { return record_line_; }
  int64_t bytes_read() const override { return consumed_ + static_cast<int64_t>(pos_); }
  int64_t bytes_total() const override { return total_; }
  bool has_bom() const { return has_bom_; }

 private:
  CsvReader(FILE* f, char delimiter, size_t max_record_bytes, int64_t total)
      : f_(f), delim_(delimiter), max_record_(max_record_bytes), total_(total) {}
  bool Refill();

  FILE* f_;
  char delim_;
  size_t max_record_;
  int64_t total_;
  std::unique_ptr<char[]> buf_ = std::make_unique<char[]>(kBufferSize);
  size_t pos_ = 0, len_ = 0;
  int64_t consumed_ = 0;  // bytes before buf_
  int64_t line_ = 1;      // current line of the reader
  int64_t record_line_ = 0;
  bool skip_lf_ = false;  // the previous record ended in CR: a following LF belongs to it
  bool started_ = false;
  bool has_bom_ = false;
  bool eof_ = false;
};

}  // namespace abierto::datos
