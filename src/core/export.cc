#include "abierto/export.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "abierto/json.h"
#include "abierto/text.h"

namespace abierto::exporter {
namespace {

// Excel's limits.
constexpr size_t kMaxCellUtf16 = 32767;
constexpr size_t kMaxSheetNameUtf16 = 31;
constexpr size_t kMaxXlsxRows = 1048576;
constexpr size_t kMaxXlsxColumns = 16384;

const Cell kEmptyCell;

const Cell& CellAt(const std::vector<Cell>& row, size_t column) {
  return column < row.size() ? row[column] : kEmptyCell;
}

// Appends the shortest decimal form of `value` that reads back as the same double, in plain
// notation for the magnitudes of amounts and measurements (32000000, not 3.2e+07, which a
// reader or a tool expecting digits would stumble on) and in scientific notation beyond them.
void AppendNumber(double value, std::string* out) {
  char buf[64];
  const double magnitude = std::fabs(value);
  const bool plain = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e21);
  const auto [end, ec] = plain
                             ? std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed)
                             : std::to_chars(buf, buf + sizeof buf, value);
  if (ec == std::errc()) out->append(buf, end);
}

// Length in UTF-16 code units of the UTF-8 sequence led by byte `b`, which is how Excel counts.
size_t Utf16Units(unsigned char lead) { return lead >= 0xF0 ? 2 : 1; }

bool IsContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Cuts valid UTF-8 `s` to at most `max_units` UTF-16 code units, on a code point boundary.
void TruncateUtf16(std::string* s, size_t max_units) {
  size_t units = 0;
  for (size_t i = 0; i < s->size(); ++i) {
    const auto b = static_cast<unsigned char>((*s)[i]);
    if (IsContinuation(b)) continue;
    units += Utf16Units(b);
    if (units > max_units) {
      s->resize(i);
      return;
    }
  }
}

size_t CountCodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += !IsContinuation(static_cast<unsigned char>(c));
  return n;
}

// Text prepared for a spreadsheet: valid UTF-8, no control characters that XML 1.0 cannot hold
// (tab, LF and CR are kept), formula-neutralized.
std::string SpreadsheetText(std::string_view raw) {
  std::string s = text::SanitizeUtf8(raw);
  std::erase_if(s, [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return (b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7F;
  });
  return NeutralizeFormula(s);
}

bool NeedsCsvQuotes(std::string_view s) {
  return s.find_first_of(",\"\r\n") != std::string_view::npos;
}

void AppendCsvField(std::string_view s, std::string* out) {
  if (!NeedsCsvQuotes(s)) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendCsvCell(const Cell& cell, std::string* out) {
  if (cell.is_number()) {
    if (std::isfinite(cell.number())) AppendNumber(cell.number(), out);
  } else if (cell.is_text()) {
    AppendCsvField(NeutralizeFormula(text::SanitizeUtf8(cell.text())), out);
  }
}

void AppendCsvRows(const Table& table, std::string* out) {
  const size_t columns = table.headers.size();
  for (const auto& row : table.rows) {
    for (size_t c = 0; c < columns; ++c) {
      if (c > 0) out->push_back(',');
      AppendCsvCell(CellAt(row, c), out);
    }
    out->append("\r\n");
  }
}

// Closes and removes the temporary file on every exit path.
class TempFile {
 public:
  TempFile() {
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
    if (ec) dir = P_tmpdir;  // the C library's own default
    dir_ = dir.string();
    path_ = (dir / "abierto-export-XXXXXX.xlsx").string();
    fd_ = mkstemps(path_.data(), 5);
  }
  ~TempFile() {
    if (fd_ >= 0) {
      close(fd_);
      unlink(path_.c_str());
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  bool ok() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }

  // Reads the whole file through the descriptor kept open since creation. The writer reopens
  // the path with truncation, which keeps the same inode, so the descriptor sees its output.
  bool ReadAll(std::string* out) const {
    if (lseek(fd_, 0, SEEK_SET) != 0) return false;
    char buf[65536];
    for (;;) {
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n < 0) return false;
      if (n == 0) return true;
      out->append(buf, static_cast<size_t>(n));
    }
  }

 private:
  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

// Validates only the shape; a sensible fallback is chosen by the caller.
std::string AtomTimestamp(std::string_view value) {
  if (text::ParseIsoDate(value, nullptr, nullptr, nullptr)) {
    return std::string(value) + "T00:00:00Z";
  }
  if (text::IsRfc3339Timestamp(value)) return std::string(value);
  return "";
}

void AppendElement(std::string_view name, std::string_view value, std::string* out,
                   std::string_view attrs = {}) {
  out->append("<").append(name);
  if (!attrs.empty()) out->append(" ").append(attrs);
  out->append(">").append(text::XmlEscape(value)).append("</").append(name).append(">");
}

void AppendLink(std::string_view rel, std::string_view type, std::string_view href,
                std::string* out) {
  if (href.empty()) return;
  out->append("<link rel=\"").append(rel).append("\"");
  if (!type.empty()) out->append(" type=\"").append(type).append("\"");
  out->append(" href=\"").append(text::XmlEscape(href)).append("\"/>");
}

}  // namespace

const std::string& Cell::text() const {
  static const std::string kEmpty;
  return is_text() ? std::get<1>(v_) : kEmpty;
}

std::string NeutralizeFormula(std::string_view text) {
  if (!text.empty()) {
    switch (text.front()) {
      case '=':
      case '+':
      case '-':
      case '@':
      case '\t':
      case '\r':
        return "'" + std::string(text);
    }
  }
  return std::string(text);
}

std::string ToCsv(const Table& table) {
  std::string out = "\xEF\xBB\xBF";  // BOM: Excel otherwise assumes the ANSI code page
  out.reserve(64 * (table.rows.size() + 1));
  const size_t columns = table.headers.size();
  for (size_t c = 0; c < columns; ++c) {
    if (c > 0) out.push_back(',');
    AppendCsvField(NeutralizeFormula(text::SanitizeUtf8(table.headers[c])), &out);
  }
  out.append("\r\n");
  AppendCsvRows(table, &out);
  return out;
}

std::string ToCsvRows(const Table& table) {
  std::string out;
  out.reserve(64 * table.rows.size());
  AppendCsvRows(table, &out);
  return out;
}

std::string SanitizeSheetName(std::string_view name) {
  std::string s = text::SanitizeUtf8(name);
  std::erase_if(s, [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b < 0x20 || b == 0x7F || std::string_view("[]:*?/\\").find(c) != std::string_view::npos;
  });
  TruncateUtf16(&s, kMaxSheetNameUtf16);
  // Excel rejects names that begin or end with an apostrophe, and blank names.
  while (!s.empty() && (s.front() == '\'' || s.front() == ' ')) s.erase(0, 1);
  while (!s.empty() && (s.back() == '\'' || s.back() == ' ')) s.pop_back();
  if (s.empty()) return "Datos";
  // "History" is reserved by Excel for its change-tracking sheet.
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "history") s += " 1";
  return s;
}

Result<std::string> ToXlsx(const Table& table, std::string_view sheet_name) {
  if (table.rows.size() + 1 > kMaxXlsxRows || table.headers.size() > kMaxXlsxColumns) {
    return Status::TooLarge(
        "La tabla es demasiado grande para una hoja de cálculo; descárgala en CSV.");
  }
  TempFile file;
  if (!file.ok()) return Status::Internal("xlsx: cannot create a temporary file");

  lxw_workbook_options options = {};
  options.constant_memory = LXW_FALSE;
  options.tmpdir = const_cast<char*>(file.dir().c_str());
  lxw_workbook* workbook = workbook_new_opt(file.path().c_str(), &options);
  if (workbook == nullptr) return Status::Internal("xlsx: cannot create the workbook");

  const std::string name = SanitizeSheetName(sheet_name);
  lxw_worksheet* sheet = workbook_add_worksheet(workbook, name.c_str());
  lxw_format* bold = workbook_add_format(workbook);
  if (sheet == nullptr || bold == nullptr) {
    workbook_close(workbook);  // frees it; the temporary file is removed by TempFile
    return Status::Internal("xlsx: cannot add the worksheet");
  }
  format_set_bold(bold);

  lxw_error err = LXW_NO_ERROR;
  const size_t columns = table.headers.size();
  // Widths from the header and a sample of rows: enough for a readable sheet without scanning
  // a large export twice.
  std::vector<size_t> widths(columns, 8);
  for (size_t c = 0; c < columns && err == LXW_NO_ERROR; ++c) {
    std::string header = SpreadsheetText(table.headers[c]);
    TruncateUtf16(&header, kMaxCellUtf16);
    widths[c] = std::max(widths[c], CountCodePoints(header) + 2);
    err = worksheet_write_string(sheet, 0, static_cast<lxw_col_t>(c), header.c_str(), bold);
  }
  for (size_t r = 0; r < table.rows.size() && err == LXW_NO_ERROR; ++r) {
    const auto row_index = static_cast<lxw_row_t>(r + 1);
    for (size_t c = 0; c < columns && err == LXW_NO_ERROR; ++c) {
      const Cell& cell = CellAt(table.rows[r], c);
      const auto col = static_cast<lxw_col_t>(c);
      if (cell.is_number()) {
        if (std::isfinite(cell.number())) {
          err = worksheet_write_number(sheet, row_index, col, cell.number(), nullptr);
        }
      } else if (cell.is_text()) {
        std::string value = SpreadsheetText(cell.text());
        TruncateUtf16(&value, kMaxCellUtf16);
        if (r < 200) widths[c] = std::max(widths[c], CountCodePoints(value) + 1);
        err = worksheet_write_string(sheet, row_index, col, value.c_str(), nullptr);
      }
    }
  }
  for (size_t c = 0; c < columns && err == LXW_NO_ERROR; ++c) {
    err = worksheet_set_column(sheet, static_cast<lxw_col_t>(c), static_cast<lxw_col_t>(c),
                               static_cast<double>(std::min<size_t>(widths[c], 60)), nullptr);
  }
  if (err == LXW_NO_ERROR && columns > 0) worksheet_freeze_panes(sheet, 1, 0);

  const lxw_error close_err = workbook_close(workbook);
  if (err != LXW_NO_ERROR) return Status::Internal(std::string("xlsx: ") + lxw_strerror(err));
  if (close_err != LXW_NO_ERROR) {
    return Status::Internal(std::string("xlsx: ") + lxw_strerror(close_err));
  }
  std::string bytes;
  if (!file.ReadAll(&bytes) || bytes.size() < 4) {
    return Status::Internal("xlsx: cannot read back the workbook");
  }
  return bytes;
}

std::string ToJsonArray(const Table& table) {
  std::vector<std::string> keys;
  keys.reserve(table.headers.size());
  std::set<std::string> used;
  for (const auto& header : table.headers) {
    std::string key = text::SanitizeUtf8(header);
    for (int n = 2; used.count(key); ++n)
      key = text::SanitizeUtf8(header) + "_" + std::to_string(n);
    used.insert(key);
    keys.push_back(std::move(key));
  }
  boost::json::array array;
  array.reserve(table.rows.size());
  for (const auto& row : table.rows) {
    boost::json::object object;
    object.reserve(keys.size());
    for (size_t c = 0; c < keys.size(); ++c) {
      const Cell& cell = CellAt(row, c);
      if (cell.is_number() && std::isfinite(cell.number())) {
        object[keys[c]] = cell.number();
      } else if (cell.is_text()) {
        object[keys[c]] = text::SanitizeUtf8(cell.text());
      } else {
        object[keys[c]] = nullptr;
      }
    }
    array.emplace_back(std::move(object));
  }
  return JsonText(array);
}

std::string RenderAtom(std::string_view feed_id, std::string_view title, std::string_view self_link,
                       std::string_view alternate_link, std::string_view updated,
                       const std::vector<AtomEntry>& entries, std::string_view author) {
  std::string feed_updated = AtomTimestamp(updated);
  if (feed_updated.empty()) feed_updated = text::NowIso();
  // atom:id is required; fall back to the most stable thing at hand.
  std::string id(feed_id);
  if (id.empty()) id = self_link.empty() ? "urn:abierto:feed" : std::string(self_link);

  std::string out;
  out.reserve(1024 + entries.size() * 512);
  out.append("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
  out.append("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
  AppendElement("id", id, &out);
  out.append("\n");
  AppendElement("title", title, &out, "type=\"text\"");
  out.append("\n");
  AppendElement("updated", feed_updated, &out);
  out.append("\n");
  AppendLink("self", "application/atom+xml", self_link, &out);
  AppendLink("alternate", "text/html", alternate_link, &out);
  out.append("\n<author>");
  AppendElement("name", author.empty() ? title : author, &out);
  out.append("</author>\n");

  for (size_t i = 0; i < entries.size(); ++i) {
    const AtomEntry& e = entries[i];
    std::string entry_id = e.id;
    if (entry_id.empty()) entry_id = e.link.empty() ? id + "#" + std::to_string(i + 1) : e.link;
    std::string entry_updated = AtomTimestamp(e.updated);
    if (entry_updated.empty()) entry_updated = feed_updated;

    out.append("<entry>");
    AppendElement("id", entry_id, &out);
    AppendElement("title", e.title, &out, "type=\"text\"");
    AppendElement("updated", entry_updated, &out);
    if (!e.author.empty()) {
      out.append("<author>");
      AppendElement("name", e.author, &out);
      out.append("</author>");
    }
    if (e.link.empty()) {
      // Atom requires content when an entry has no alternate link.
      AppendElement("content", e.summary, &out, "type=\"text\"");
    } else {
      AppendLink("alternate", "text/html", e.link, &out);
      if (!e.summary.empty()) AppendElement("summary", e.summary, &out, "type=\"text\"");
    }
    out.append("</entry>\n");
  }
  out.append("</feed>\n");
  return out;
}

}  // namespace abierto::exporter
