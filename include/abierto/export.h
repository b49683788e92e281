// Open-data exports: one Table rendered as CSV, XLSX or JSON, and Atom feeds.
//
// Everything a resident can see is downloadable; a module builds a Table (headers plus rows of
// text, number or empty cells) and hands it to these functions, so quoting, encoding and
// spreadsheet-formula neutralization are decided once, here.
//
// Formula injection: a spreadsheet treats a text cell that starts with =, +, -, @, tab or CR
// as a formula, so a resident could plant "=HYPERLINK(...)" in a proposal title and have it run
// on an official's computer. In CSV and XLSX such text cells get a leading apostrophe. Number
// cells are not text, so negative numbers stay numbers. JSON is for programs and is not
// altered.
//
// Rows shorter than the header are padded with empty cells; cells beyond the header are
// ignored, so every format has the same shape. Invalid UTF-8 bytes in text are dropped.
//
// Thread-safety: all functions are pure and safe to call concurrently (ToXlsx uses its own
// temporary file).
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "abierto/status.h"

namespace abierto::exporter {

// One cell: empty, text, or a number. Non-finite numbers are written as empty cells.
class Cell {
 public:
  Cell() = default;
  Cell(std::string text) : v_(std::move(text)) {}         // NOLINT: implicit by design
  Cell(std::string_view text) : v_(std::string(text)) {}  // NOLINT
  Cell(const char* text) : v_(std::string(text)) {}       // NOLINT
  // Any integer or floating type except bool (whose meaning in a spreadsheet is ambiguous).
  // Integers beyond 2^53 lose precision, as they would in any spreadsheet.
  template <class T>
  requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) Cell(T number)
      : v_(static_cast<double>(number)) {}  // NOLINT

  bool is_empty() const { return v_.index() == 0; }
  bool is_text() const { return v_.index() == 1; }
  bool is_number() const { return v_.index() == 2; }
  // The text; "" unless is_text().
  const std::string& text() const;
  // The number; 0 unless is_number().
  double number() const { return is_number() ? std::get<2>(v_) : 0.0; }

 private:
  std::variant<std::monostate, std::string, double> v_;
};

struct Table {
  std::vector<std::string> headers;
  std::vector<std::vector<Cell>> rows;
};

// Returns `text` with a leading apostrophe when a spreadsheet would read it as a formula
// (it starts with =, +, -, @, tab or CR); otherwise returns it unchanged.
std::string NeutralizeFormula(std::string_view text);

// Returns the table as RFC 4180 CSV: UTF-8 with a byte-order mark (so that Excel in es-MX shows
// accents right), CRLF line ends, a header line, fields quoted when they hold a comma, a quote,
// CR or LF (quotes doubled). Numbers are written in the shortest form that reads back exactly,
// with a dot as the decimal separator.
std::string ToCsv(const Table& table);

// Returns the rows of `table` as ToCsv() writes them, without the byte-order mark and the header
// line: a large export is written as ToCsv() of its header and first rows, then ToCsvRows() of
// each further batch, and the pieces add up to ToCsv() of the whole table.
std::string ToCsvRows(const Table& table);

// Returns the bytes of an .xlsx workbook with one sheet: a bold, frozen header row, numbers as
// number cells and text as string cells (never formulas). `sheet_name` goes through
// SanitizeSheetName(). Text longer than Excel's 32,767-character cell limit is cut. Returns
// kTooLarge beyond Excel's 1,048,576 rows or 16,384 columns, kInternal when the temporary file
// cannot be written or read.
Result<std::string> ToXlsx(const Table& table, std::string_view sheet_name);

// Returns the sheet name ToXlsx() uses for `name`: the characters [ ] : * ? / \ and controls
// removed, apostrophes and spaces trimmed from the ends, cut to 31 characters, "Datos" when
// nothing is left, and Excel's reserved "History" renamed.
std::string SanitizeSheetName(std::string_view name);

// Returns a JSON array with one object per row, keyed by header in header order: text cells as
// strings, numbers as numbers, empty cells as null. A repeated header gets a suffix ("_2", "_3")
// so no column is lost.
std::string ToJsonArray(const Table& table);

struct AtomEntry {
  std::string id;  // a permanent IRI, e.g. "tag:abierto.leon.gob.mx,2025:plan/12"
  std::string title;
  std::string updated;  // RFC 3339 timestamp or "YYYY-MM-DD"
  std::string link;     // the entry's page
  std::string summary;  // plain text
  std::string author;   // optional; the feed author is used when empty
};

// Returns an Atom 1.0 (RFC 4287) document. All text is XML-escaped. Dates given as
// "YYYY-MM-DD" become midnight UTC; an entry whose `updated` is not a valid date or timestamp
// takes the feed's `updated`, and an invalid feed `updated` is replaced by the current time,
// so the output always validates. The feed always carries an <author> (`author`, or the feed
// title when empty), which Atom requires unless every entry has one. Empty links are omitted.
std::string RenderAtom(std::string_view feed_id, std::string_view title, std::string_view self_link,
                       std::string_view alternate_link, std::string_view updated,
                       const std::vector<AtomEntry>& entries, std::string_view author = {});

}  // namespace abierto::exporter
