// Reading the cells of one worksheet of an XLSX workbook, streaming.
//
// An XLSX file is a ZIP archive of XML parts. XlsxReader reads the central directory, finds the
// sheet (the first one, or the one named), loads the shared strings and the cell styles, and
// then inflates and parses the sheet XML chunk by chunk, so a sheet of any size is read in
// constant memory. Only the shared-string table is held whole (Excel indexes it at random); it
// is capped by XlsxLimits::max_shared_strings_bytes.
//
// Values come out as text: shared and inline strings as written, numbers as Excel stored them
// ("3.5", "44927"), booleans as "1"/"0" (VERDADERO/FALSO in Excel), and numbers whose cell
// style is a date format as ISO dates ("2023-01-01", the time of day dropped), using the 1900
// date system (the 1904 system of old Mac workbooks is honoured when workbook.xml says so).
// Missing cells are empty strings; missing rows are returned as empty records, so that the
// ingest engine counts them as blank rows.
//
// Protection against hostile archives (a "zip bomb" or a damaged file): every part is inflated
// with a running count, and reading stops with an error when a part grows beyond
// max_part_bytes, beyond the size the archive declares, or beyond max_ratio times its
// compressed size. A file that is not a ZIP archive, or a ZIP that is not a workbook, is an
// InvalidArgument error with a Spanish message.
//
// Thread-safety: one thread at a time per reader.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "modules/datos/records.h"

namespace abierto::datos {

struct XlsxLimits {
  int64_t max_part_bytes = int64_t{2} << 30;              // 2 GiB of XML for one part
  int64_t max_ratio = 200;                                // uncompressed / compressed, per part
  int64_t max_shared_strings_bytes = int64_t{256} << 20;  // 256 MiB of shared-string text
  size_t max_cell_bytes = 1 << 20;                        // 1 MiB per cell
};

class XlsxReader final : public RecordReader {
 public:
  // Opens `path` and prepares to read `sheet` (by name; empty: the first sheet).
  static Result<std::unique_ptr<XlsxReader>> Open(const std::string& path, const std::string& sheet,
                                                  const XlsxLimits& limits = {});
  ~XlsxReader() override;

  Result<bool> Next(std::vector<std::string>* fields) override;
  int64_t line() const override;
  int64_t bytes_read() const override;
  int64_t bytes_total() const override;
  // The name of the sheet being read.
  const std::string& sheet_name() const;
  // The names of all sheets, in workbook order.
  const std::vector<std::string>& sheet_names() const;

  struct Impl;

 private:
  explicit XlsxReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Returns true when the file starts like a ZIP archive ("PK\3\4").
bool LooksLikeZip(const std::string& path);

}  // namespace abierto::datos
