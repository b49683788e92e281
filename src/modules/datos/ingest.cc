#include "modules/datos/ingest.h"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "abierto/json.h"
#include "abierto/text.h"
#include "modules/datos/csv.h"
#include "modules/datos/encoding.h"
#include "modules/datos/xlsx.h"

namespace abierto::datos {
namespace {

namespace json = boost::json;

constexpr int kMaxColumns = 1000;
constexpr size_t kMaxExamples = 20;
constexpr size_t kMaxIdentifier = 60;
constexpr int64_t kProgressEvery = 8192;  // rows
constexpr int kSqliteCacheKib = 32 * 1024;
constexpr int kFtsHashBytes = 4 << 20;

// ---- value classes ---------------------------------------------------------------------------

// What one value looks like, judged on its bytes with surrounding blanks trimmed.
enum ValueClass {
  kEmpty,
  kInt,           // -12, 0, 345 (no leading zero)
  kGroupedInt,    // 1,234 or 12,345,678 (thousands commas)
  kDotDecimal,    // 3.5, -0.25, .5, 1e3, 1.5E-3
  kGroupedDec,    // 1,234.5
  kCommaDecimal,  // 3,5 12,75 (a comma that cannot be a thousands separator)
  kDateIso,       // 2024-03-22
  kDateDmy,       // 22/03/2024
  kMarker,        // no digit at all, short: N/D, -, s/d, NA
  kOther,         // has digits but fits nothing: text
  kNumClasses
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!IsDigit(c)) return false;
  return true;
}

bool ParseDmy(std::string_view s, int* y, int* m, int* d) {
  // D/M/YYYY or DD/MM/YYYY
  size_t a = s.find('/');
  if (a == std::string_view::npos || a == 0 || a > 2) return false;
  size_t b = s.find('/', a + 1);
  if (b == std::string_view::npos || b - a - 1 == 0 || b - a - 1 > 2 || s.size() - b - 1 != 4)
    return false;
  std::string_view ds = s.substr(0, a), ms = s.substr(a + 1, b - a - 1), ys = s.substr(b + 1);
  if (!AllDigits(ds) || !AllDigits(ms) || !AllDigits(ys)) return false;
  char iso[11];
  std::snprintf(iso, sizeof iso, "%.4s-%02d-%02d", ys.data(), std::atoi(std::string(ms).c_str()),
                std::atoi(std::string(ds).c_str()));
  return text::ParseIsoDate(iso, y, m, d);
}

ValueClass Classify(std::string_view raw) {
  std::string_view s = Trim(raw);
  if (s.empty()) return kEmpty;
  bool digit = false;
  for (char c : s)
    if (IsDigit(c)) {
      digit = true;
      break;
    }
  if (!digit) return s.size() <= 20 ? kMarker : kOther;
  std::string_view body = s;
  if (body[0] == '-' || body[0] == '+') body.remove_prefix(1);
  if (body.empty()) return kOther;
  if (AllDigits(body)) {
    if (body.size() > 1 && body[0] == '0') return kOther;  // a code: keep its zeros
    if (body.size() > 18) {
      int64_t v;
      auto [p, ec] = std::from_chars(s.data() + (s[0] == '+'), s.data() + s.size(), v);
      if (ec != std::errc() || p != s.data() + s.size()) return kOther;  // beyond 64 bits
    }
    return kInt;
  }
  if (s.size() == 10 && s[4] == '-' && s[7] == '-') {
    return text::ParseIsoDate(s, nullptr, nullptr, nullptr) ? kDateIso : kOther;
  }
  if (body.find('/') != std::string_view::npos)
    return ParseDmy(s, nullptr, nullptr, nullptr) ? kDateDmy : kOther;
  // Numbers: int part, optional fraction, optional exponent; commas in the int part.
  size_t i = 0;
  size_t int_start = 0;
  bool commas = false, grouped_ok = true;
  size_t group_len = 0;
  bool first_group = true;
  size_t first_group_len = 0;
  while (i < body.size() && (IsDigit(body[i]) || body[i] == ',')) {
    if (body[i] == ',') {
      if (first_group)
        first_group_len = group_len;
      else if (group_len != 3)
        grouped_ok = false;
      if (group_len == 0) return kOther;
      first_group = false;
      commas = true;
      group_len = 0;
    } else {
      ++group_len;
    }
    ++i;
  }
  size_t int_len = i - int_start;
  if (commas && group_len != 3) grouped_ok = false;
  if (commas && (first_group_len > 3 || (first_group_len > 1 && body[0] == '0')))
    grouped_ok = false;
  bool has_dot = false, has_exp = false;
  size_t frac_len = 0;
  if (i < body.size() && body[i] == '.') {
    has_dot = true;
    ++i;
    while (i < body.size() && IsDigit(body[i])) {
      ++i;
      ++frac_len;
    }
  }
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E') && !commas) {
    has_exp = true;
    ++i;
    if (i < body.size() && (body[i] == '-' || body[i] == '+')) ++i;
    if (i == body.size() || !IsDigit(body[i])) return kOther;
    while (i < body.size() && IsDigit(body[i])) ++i;
  }
  if (i != body.size()) return kOther;
  if (int_len == 0 && frac_len == 0) return kOther;
  if (!commas) {
    if (int_len > 1 && body[0] == '0') return kOther;  // "007.5": a code
    return (has_dot || has_exp) ? kDotDecimal : kInt;
  }
  // With commas: thousands groups, or one decimal comma.
  if (grouped_ok) return has_dot ? kGroupedDec : kGroupedInt;
  if (!has_dot && !has_exp && std::count(body.begin(), body.end(), ',') == 1) return kCommaDecimal;
  return kOther;
}

// ---- columns ---------------------------------------------------------------------------------

// Columns with at most this many distinct values get hidden filter words (see "filter tokens"):
// there a filter value matches many rows, and every distinct value is one more term in the
// full-text index (11,520 names of the benchmark cost 1.5 s of build for 1,000,000 rows).
constexpr size_t kMaxTokenDistinct = 1000;
// Distinct values are counted in the first columns only, so a very wide file stays small.
constexpr size_t kMaxTokenColumns = 64;

struct ColumnStats {
  int64_t counts[kNumClasses] = {};
  int64_t text_bytes = 0;
  // Hashes of the distinct raw values, until there are more than kMaxTokenDistinct.
  std::unordered_set<uint64_t> distinct;
  bool many_values = false;
};

struct ColumnPlan {
  ColumnType type = ColumnType::kText;
  char decimal = '.';
  bool markers_broken = false;
};

ColumnPlan DecideType(const ColumnStats& s) {
  ColumnPlan p;
  const int64_t* n = s.counts;
  int64_t nonempty = 0;
  for (int k = kInt; k < kNumClasses; ++k) nonempty += n[k];
  int64_t typed = nonempty - n[kMarker];
  if (typed == 0 || n[kOther] > 0) return p;
  if (n[kMarker] * 20 > nonempty) return p;  // more than 5% markers: a text column
  p.markers_broken = n[kMarker] > 0;
  int64_t dates = n[kDateIso] + n[kDateDmy];
  if (dates == typed) {
    p.type = ColumnType::kDate;
    return p;
  }
  if (dates > 0) return ColumnPlan{};
  if (n[kCommaDecimal] > 0) {
    if (n[kDotDecimal] > 0 || n[kGroupedDec] > 0) return ColumnPlan{};
    p.type = ColumnType::kDecimal;
    p.decimal = ',';
    return p;
  }
  p.type = (n[kDotDecimal] > 0 || n[kGroupedDec] > 0) ? ColumnType::kDecimal : ColumnType::kInteger;
  return p;
}

// A SQL identifier from a header: folded, [a-z0-9_], not starting with a digit.
std::string Identifier(std::string_view header_utf8) {
  std::string folded = text::Fold(header_utf8);
  std::string id;
  for (char c : folded) {
    bool ok = (c >= 'a' && c <= 'z') || IsDigit(c);
    if (ok)
      id.push_back(c);
    else if (!id.empty() && id.back() != '_')
      id.push_back('_');
  }
  while (!id.empty() && id.back() == '_') id.pop_back();
  if (!id.empty() && IsDigit(id[0])) id = "c_" + id;
  if (id.size() > kMaxIdentifier) id.resize(kMaxIdentifier);
  while (!id.empty() && id.back() == '_') id.pop_back();
  return id;
}

std::string Quote(std::string_view id) { return "\"" + std::string(id) + "\""; }

bool ValidResourceId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

std::string TableBase(std::string_view resource) {
  std::string slug;
  for (char c : resource) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    slug.push_back(std::isalnum(static_cast<unsigned char>(l)) ? l : '_');
    if (slug.size() == 32) break;
  }
  // The slug may collide ("a-b" and "a_b"); a hash of the exact id keeps names apart.
  uint32_t h = 2166136261u;
  for (unsigned char c : resource) h = (h ^ c) * 16777619u;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", h);
  return "ds_" + slug + "_" + hex;
}

void SetText(db::Value& v, std::string_view s) {
  if (auto* p = std::get_if<std::string>(&v))
    p->assign(s.data(), s.size());
  else
    v = std::string(s);
}

// ---- filter tokens -----------------------------------------------------------------------------
//
// On SQLite, every text column with an equality index and at most kMaxTokenDistinct distinct
// values (among the first kMaxTokenColumns columns) also gets one hidden word per row in the
// full-text index, in the hidden column _f: U+001F, the column's position, "x" and the FNV-1a
// hash of the exact value in hex. The tokenizer is told that U+001F belongs to words, and the
// words of q never contain it (Search splits q on every ASCII non-alphanumeric), so q can never
// match a hidden word. A filter plus q is then one MATCH that intersects two doclists inside
// FTS5; the exact equality is still checked in SQL for the rows returned.

constexpr char kTokenMark = '\x1f';
constexpr size_t kMaxTokenValues = 50000;  // distinct values remembered to rule out collisions

uint64_t ValueHash(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

void AppendFilterToken(size_t column, std::string_view value, std::string* out) {
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%c%zux%016llx", kTokenMark, column,
                        static_cast<unsigned long long>(ValueHash(value)));
  out->append(buf, static_cast<size_t>(n));
}

// ---- search words ------------------------------------------------------------------------------
//
// The words of folded text (text::Fold): runs of ASCII letters and digits and of non-ASCII
// characters (whole UTF-8 sequences). Every query is split this way on both backends (FTS5
// strings on SQLite, a tsquery on PostgreSQL), and on PostgreSQL the rows' words too: the load
// writes each row's tsvector itself, as a literal, instead of asking the server for
// to_tsvector() (whose parser cost 7.5 of the 9.6 s it took to insert a million rows), and the
// same split on both sides means a word found in a row is found by a query.

template <typename F>
void ForEachWord(std::string_view folded, F&& f) {
  size_t start = 0;
  for (size_t i = 0; i <= folded.size(); ++i) {
    const bool in_word =
        i < folded.size() && (std::isalnum(static_cast<unsigned char>(folded[i])) ||
                              static_cast<unsigned char>(folded[i]) >= 0x80);
    if (in_word) continue;
    if (i > start) f(folded.substr(start, i - start));
    start = i + 1;
  }
}

// PostgreSQL refuses lexemes of 2 KiB or more; to_tsvector() skips such words too.
constexpr size_t kMaxLexemeBytes = 2046;

// The tsvector literal of folded text: 'w1' 'w2' ... (the server sorts and deduplicates). The
// words hold no quote or backslash, so they need no escaping.
void AppendTsvector(std::string_view folded, std::string* out) {
  ForEachWord(folded, [&](std::string_view w) {
    if (w.size() > kMaxLexemeBytes) return;
    if (!out->empty()) out->push_back(' ');
    out->push_back('\'');
    out->append(w);
    out->push_back('\'');
  });
}

// ---- reading ---------------------------------------------------------------------------------

struct Source {
  std::unique_ptr<RecordReader> reader;  // a PrefetchReader over the file's own reader
  const CsvReader* csv = nullptr;        // the CSV reader inside, for has_bom()
  bool xlsx = false;
  char delimiter = ',';
  std::string sheet;
};

Result<Source> OpenSource(const IngestRequest& r) {
  Source s;
  bool ext_xlsx = r.path.size() >= 5 && (r.path.ends_with(".xlsx") || r.path.ends_with(".XLSX"));
  s.xlsx = r.format == IngestRequest::Format::kXlsx ||
           (r.format == IngestRequest::Format::kAuto && (LooksLikeZip(r.path) || ext_xlsx));
  if (s.xlsx) {
    XlsxLimits limits;
    limits.max_part_bytes = r.max_xlsx_part_bytes;
    limits.max_ratio = r.max_xlsx_ratio;
    limits.max_cell_bytes = r.max_record_bytes;
    ASSIGN_OR_RETURN(auto x, XlsxReader::Open(r.path, r.sheet, limits));
    s.sheet = x->sheet_name();
    s.reader = std::make_unique<PrefetchReader>(std::move(x));
    return s;
  }
  s.delimiter = r.delimiter;
  if (s.delimiter == 0) {
    FILE* f = std::fopen(r.path.c_str(), "rb");
    if (!f) return Status::NotFound("No se puede abrir el archivo");
    std::string sample(64 * 1024, '\0');
    sample.resize(std::fread(sample.data(), 1, sample.size(), f));
    std::fclose(f);
    s.delimiter = DetectDelimiter(sample);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<CsvReader> csv,
                   CsvReader::Open(r.path, s.delimiter, r.max_record_bytes));
  s.csv = csv.get();
  s.reader = std::make_unique<PrefetchReader>(std::move(csv));
  return s;
}

bool IsBlank(const std::vector<std::string>& f) {
  for (const auto& v : f)
    if (!Trim(v).empty()) return false;
  return true;
}

// Brings a record to the header's width. False when it has a different number of fields
// (trailing empty fields and, in XLSX, missing trailing cells are tolerated).
bool FitRecord(std::vector<std::string>* f, size_t width, bool pad) {
  while (f->size() > width && Trim(f->back()).empty()) f->pop_back();
  if (f->size() < width && pad) f->resize(width);
  return f->size() == width;
}

// A bounded hand-over of insert batches from the thread that converts records to the thread
// that writes them: at most kMax batches wait, so memory stays flat whatever the file size.
class BatchQueue {
 public:
  struct Batch {
    std::vector<db::Value> params;
    size_t rows = 0;
    int64_t loaded = 0;      // rows converted up to and including this batch
    int64_t bytes_read = 0;  // input consumed, for the progress bar
  };
  static constexpr size_t kMax = 4;

  // Takes *b (left empty). False when the writer has stopped: the converter should stop too.
  bool Push(Batch* b) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return cancelled_ || q_.size() < kMax; });
    if (cancelled_) return false;
    q_.push_back(std::move(*b));
    *b = Batch{};
    cv_.notify_all();
    return true;
  }
  // The converter is done, with its result.
  void Finish(Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    error_ = std::move(s);
    cv_.notify_all();
  }
  // The next batch; false once the converter has finished and every batch was taken.
  bool Pop(Batch* b) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_ || !q_.empty(); });
    if (q_.empty()) return false;
    *b = std::move(q_.front());
    q_.pop_front();
    cv_.notify_all();
    return true;
  }
  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  Status error() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> q_;
  bool done_ = false, cancelled_ = false;
  Status error_ = Status::Ok();
};

// ---- the analysis pass ------------------------------------------------------------------------

struct Analysis {
  std::vector<std::string> header_raw;
  std::vector<ColumnStats> stats;
  int64_t rows = 0, blank = 0, ragged = 0;
  std::vector<int64_t> ragged_lines;
  int64_t valid_nonascii = 0, invalid_values = 0;
  int64_t bytes = 0;
};

struct ProgressState {
  const ProgressCallback* cb;
  Status Report(Progress::Phase phase, const RecordReader* r, int64_t rows) {
    return r ? Report(phase, r->bytes_read(), r->bytes_total(), rows) : Report(phase, 0, 0, rows);
  }
  Status Report(Progress::Phase phase, int64_t bytes_done, int64_t bytes_total, int64_t rows) {
    if (!cb || !*cb) return Status::Ok();
    Progress p{phase};
    p.bytes_done = bytes_done;
    p.bytes_total = bytes_total;
    p.rows = rows;
    double f = p.bytes_total > 0 ? static_cast<double>(p.bytes_done) / p.bytes_total : 0;
    f = std::clamp(f, 0.0, 1.0);
    switch (phase) {
      case Progress::Phase::kAnalyzing:
        p.fraction = 0.3 * f;
        break;
      case Progress::Phase::kLoading:
        p.fraction = 0.3 + 0.6 * f;
        break;
      case Progress::Phase::kIndexing:
        p.fraction = 0.9;
        break;
      case Progress::Phase::kPublished:
        p.fraction = 0.95;
        break;
      case Progress::Phase::kDone:
        p.fraction = 1;
        break;
    }
    if (!(*cb)(p))
      return Status::Unavailable(
          "La importación se canceló; la versión anterior de la tabla sigue publicada");
    return Status::Ok();
  }
};

void CountEncoding(const std::string& v, Analysis* a) {
  if (IsAscii(v)) return;
  if (text::IsValidUtf8(v))
    ++a->valid_nonascii;
  else
    ++a->invalid_values;
}

Result<Analysis> Analyze(RecordReader& r, bool xlsx, ProgressState& progress) {
  Analysis a;
  std::vector<std::string> f;
  // The header is the first non-blank record.
  for (;;) {
    ASSIGN_OR_RETURN(bool more, r.Next(&f));
    if (!more)
      return Status::InvalidArgument("El archivo está vacío: no tiene encabezados ni datos",
                                     {{"file", "Archivo vacío"}});
    if (!IsBlank(f)) break;
    ++a.blank;
  }
  while (!f.empty() && Trim(f.back()).empty() && xlsx) f.pop_back();
  if (f.size() > kMaxColumns)
    return Status::InvalidArgument("El archivo tiene " + std::to_string(f.size()) +
                                   " columnas; el máximo es " + std::to_string(kMaxColumns));
  a.header_raw = f;
  for (const auto& h : a.header_raw) CountEncoding(h, &a);
  const size_t width = a.header_raw.size();
  a.stats.resize(width);
  for (size_t i = kMaxTokenColumns; i < width; ++i) a.stats[i].many_values = true;
  int64_t seen = 0;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, r.Next(&f));
    if (!more) break;
    if (++seen % kProgressEvery == 0)
      RETURN_IF_ERROR(progress.Report(Progress::Phase::kAnalyzing, &r, seen));
    if (IsBlank(f)) {
      ++a.blank;
      continue;
    }
    if (!FitRecord(&f, width, xlsx)) {
      ++a.ragged;
      if (a.ragged_lines.size() < kMaxExamples) a.ragged_lines.push_back(r.line());
      continue;
    }
    ++a.rows;
    for (size_t i = 0; i < width; ++i) {
      const std::string& v = f[i];
      ValueClass k = Classify(v);
      ++a.stats[i].counts[k];
      a.stats[i].text_bytes += static_cast<int64_t>(v.size());
      if (!a.stats[i].many_values && k != kEmpty) {
        a.stats[i].distinct.insert(ValueHash(v));
        if (a.stats[i].distinct.size() > kMaxTokenDistinct) {
          a.stats[i].many_values = true;
          a.stats[i].distinct = {};
        }
      }
      if (!xlsx) CountEncoding(v, &a);
    }
  }
  a.bytes = r.bytes_total();
  if (a.rows == 0) {
    if (a.ragged > 0)
      return Status::InvalidArgument(
          "Ninguna fila tiene el mismo número de campos que el encabezado (" +
          std::to_string(width) + "); revise el delimitador o las comillas");
    return Status::InvalidArgument(
        "El archivo solo tiene la fila de encabezados; no hay datos que importar",
        {{"file", "Sin filas de datos"}});
  }
  return a;
}

// ---- converting values -----------------------------------------------------------------------

struct Converter {
  Encoding encoding = Encoding::kUtf8;
  int64_t invalid_utf8 = 0;
  std::string scratch;

  // The value as UTF-8, without NUL bytes (PostgreSQL text cannot hold them).
  std::string_view Text(const std::string& raw) {
    if (IsAscii(raw) && raw.find('\0') == std::string::npos) return raw;
    scratch.clear();
    if (encoding == Encoding::kWindows1252)
      AppendWindows1252AsUtf8(raw, &scratch);
    else
      invalid_utf8 += AppendUtf8Repaired(raw, &scratch);
    scratch.erase(std::remove(scratch.begin(), scratch.end(), '\0'), scratch.end());
    return scratch;
  }
};

// Sets *out from a value of a typed column. Returns false when the value is a marker (broken)
// and sets NULL; returns an error when the value no longer fits (the file changed).
Result<bool> ConvertTyped(const std::string& raw, const ColumnPlan& plan, db::Value* out) {
  std::string_view s = Trim(raw);
  if (s.empty()) {
    *out = std::monostate{};
    return true;
  }
  ValueClass k = Classify(s);
  if (k == kMarker) {
    *out = std::monostate{};
    return false;
  }
  auto changed = []() {
    return Status::Conflict("El archivo cambió mientras se importaba; vuelva a intentarlo");
  };
  char buf[128];
  switch (plan.type) {
    case ColumnType::kInteger: {
      size_t n = 0;
      for (char c : s)
        if (c != ',' && c != '+' && n < sizeof buf) buf[n++] = c;
      int64_t v;
      auto [p, ec] = std::from_chars(buf, buf + n, v);
      if (ec != std::errc() || p != buf + n) return changed();
      *out = v;
      return true;
    }
    case ColumnType::kDecimal: {
      size_t n = 0;
      for (char c : s) {
        if (n >= sizeof buf) return changed();
        if (c == '+') continue;
        if (c == ',') {
          if (plan.decimal == ',') buf[n++] = '.';
          continue;
        }
        buf[n++] = c;
      }
      double v;
      const char* start = buf;
      std::string tmp;
      if (n > 0 && buf[0] == '.') {  // from_chars wants a digit first
        tmp = "0" + std::string(buf, n);
      } else if (n > 1 && buf[0] == '-' && buf[1] == '.') {
        tmp = "-0" + std::string(buf + 1, n - 1);
      }
      if (!tmp.empty()) {
        auto [p, ec] = std::from_chars(tmp.data(), tmp.data() + tmp.size(), v);
        if (ec != std::errc() || p != tmp.data() + tmp.size()) return changed();
      } else {
        auto [p, ec] = std::from_chars(start, buf + n, v);
        if (ec != std::errc() || p != buf + n) return changed();
      }
      *out = v;
      return true;
    }
    case ColumnType::kDate: {
      int y, m, d;
      if (k == kDateIso) {
        SetText(*out, s);
        return true;
      }
      if (k != kDateDmy || !ParseDmy(s, &y, &m, &d)) return changed();
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
      SetText(*out, buf);
      return true;
    }
    case ColumnType::kText:
      break;
  }
  return changed();
}

// ---- the registry ----------------------------------------------------------------------------

struct Registered {
  std::string table;
  int64_t version = 0;
  json::array columns;
};

Result<std::optional<Registered>> LoadRegistered(db::Connection& c, const std::string& resource) {
  ASSIGN_OR_RETURN(db::Rows rows,
                   c.Query("SELECT table_name, version, columns FROM datastore_tables "
                           "WHERE resource_id = ?",
                           {resource}));
  if (rows.empty()) return std::optional<Registered>();
  Registered r;
  r.table = rows[0].Text("table_name");
  r.version = rows[0].Int("version");
  boost::system::error_code ec;
  json::value v = json::parse(rows[0].Text("columns"), ec);
  if (ec || !v.is_array()) return Status::Internal("datastore_tables.columns no es JSON");
  r.columns = v.as_array();
  return std::optional<Registered>(std::move(r));
}

Status EnsureSchema(db::Connection& c) { return db::Migrate(c, {DatastoreMigration()}); }

Status DropTables(db::Connection& c, const std::string& table) {
  if (c.dialect() == db::Dialect::kSqlite)
    RETURN_IF_ERROR(c.ExecScript("DROP TABLE IF EXISTS " + Quote(table + "_fts")));
  return c.ExecScript("DROP TABLE IF EXISTS " + Quote(table));
}

std::string DelimiterName(char d) {
  switch (d) {
    case '\t':
      return "tab";
    default:
      return std::string(1, d);
  }
}

}  // namespace

const char* ColumnTypeName(ColumnType t) {
  switch (t) {
    case ColumnType::kInteger:
      return "integer";
    case ColumnType::kDecimal:
      return "decimal";
    case ColumnType::kDate:
      return "date";
    case ColumnType::kText:
      return "text";
  }
  return "text";
}

db::Migration DatastoreMigration() {
  return {"datastore", 1, R"sql(
    CREATE TABLE datastore_tables (
      resource_id TEXT PRIMARY KEY,
      table_name TEXT NOT NULL UNIQUE,
      version {{INT}} NOT NULL,
      columns TEXT NOT NULL,
      report TEXT NOT NULL,
      created_at TEXT NOT NULL
    );
  )sql"};
}

Result<QualityReport> Ingest(db::Connection& c, const IngestRequest& req,
                             const ProgressCallback& progress_cb) {
  if (!ValidResourceId(req.resource_id))
    return Status::InvalidArgument("El identificador del recurso no es válido",
                                   {{"resource_id", "Use de 1 a 64 letras, dígitos, - o _"}});
  if (c.InTransaction())
    return Status::Internal("Ingest needs a connection outside any transaction");
  ProgressState progress{&progress_cb};

  // Pass 1: analysis.
  ASSIGN_OR_RETURN(Source src, OpenSource(req));
  ASSIGN_OR_RETURN(Analysis a, Analyze(*src.reader, src.xlsx, progress));
  bool bom = false;
  if (src.csv) bom = src.csv->has_bom();

  QualityReport rep;
  rep.resource_id = req.resource_id;
  rep.format = src.xlsx ? "XLSX" : "CSV";
  rep.sheet = src.sheet;
  rep.delimiter = src.xlsx ? "" : DelimiterName(src.delimiter);
  rep.bytes = a.bytes;
  rep.blank_rows = a.blank;
  rep.ragged_rows = a.ragged;
  rep.ragged_lines = a.ragged_lines;

  Converter conv;
  if (src.xlsx || bom || req.encoding == IngestRequest::EncodingChoice::kUtf8) {
    conv.encoding = bom ? Encoding::kUtf8Bom : Encoding::kUtf8;
  } else if (req.encoding == IngestRequest::EncodingChoice::kWindows1252 ||
             a.invalid_values > a.valid_nonascii) {
    conv.encoding = Encoding::kWindows1252;
  }
  rep.encoding = src.xlsx ? "UTF-8 (XLSX)" : EncodingName(conv.encoding);

  // Columns: identifiers, types.
  const size_t width = a.header_raw.size();
  std::vector<ColumnPlan> plans(width);
  std::unordered_set<std::string> used = {"_id", "_search", "_f"};
  for (size_t i = 0; i < width; ++i) {
    ColumnReport col;
    col.name = std::string(Trim(conv.Text(a.header_raw[i])));
    std::string id = Identifier(col.name);
    if (id.empty()) {
      id = "columna_" + std::to_string(i + 1);
      rep.warnings.push_back("La columna " + std::to_string(i + 1) +
                             " no tiene un nombre utilizable; se llamará «" + id + "»");
    }
    if (used.count(id)) {
      std::string base = id.substr(0, kMaxIdentifier - 4);
      int k = 2;
      while (used.count(base + "_" + std::to_string(k))) ++k;
      std::string renamed = base + "_" + std::to_string(k);
      rep.warnings.push_back("El nombre de columna «" + col.name + "» (columna " +
                             std::to_string(i + 1) + ") se repite; se llamará «" + renamed + "»");
      id = renamed;
    }
    used.insert(id);
    col.id = id;
    plans[i] = DecideType(a.stats[i]);
    col.type = plans[i].type;
    col.decimal_separator = plans[i].decimal;
    col.nulls = a.stats[i].counts[kEmpty];
    if (plans[i].markers_broken) {
      col.broken = a.stats[i].counts[kMarker];
      col.nulls += col.broken;
    }
    rep.columns.push_back(std::move(col));
  }

  for (const auto& wanted : req.indexes) {
    bool found = false;
    for (const auto& col : rep.columns) found = found || wanted == col.id || wanted == col.name;
    if (!found)
      return Status::InvalidArgument(
          "No se puede indexar «" + wanted + "»: no es una columna del archivo",
          {{"indexes", "Columna desconocida: " + wanted}});
  }

  // Pass 2: load into a new table inside one transaction.
  RETURN_IF_ERROR(EnsureSchema(c));
  ASSIGN_OR_RETURN(Source src2, OpenSource(req));
  RecordReader& r = *src2.reader;
  const bool pg = c.dialect() == db::Dialect::kPostgres;
  std::optional<Registered> previous;
  if (!pg) {
    // The default page cache (2 MiB) makes index builds thrash; 32 MiB keeps peak memory well
    // under 100 MiB. Connection-local; restored below.
    RETURN_IF_ERROR(c.ExecScript("PRAGMA cache_size = -" + std::to_string(kSqliteCacheKib)));
  }
  // The WAL is checkpointed at the end by this connection (below), not inside the commit: the
  // new version is visible as soon as the commit is in the WAL. Connection-local; restored.
  if (!pg) RETURN_IF_ERROR(c.ExecScript("PRAGMA wal_autocheckpoint = 0"));
  struct RestoreCache {
    db::Connection* c;
    bool on;
    ~RestoreCache() {
      if (on) (void)c->ExecScript("PRAGMA cache_size = -2000; PRAGMA wal_autocheckpoint = 1000");
    }
  } restore_cache{&c, !pg};
  std::vector<size_t> filter_indexes;
  {
    ASSIGN_OR_RETURN(auto tx, db::Transaction::Write(c));
    ASSIGN_OR_RETURN(previous, LoadRegistered(c, req.resource_id));
    const int64_t version = previous ? previous->version + 1 : 1;
    rep.table_name = TableBase(req.resource_id) + "_v" + std::to_string(version);
    const std::string table = Quote(rep.table_name);

    // Equality indexes: the columns asked for and, with auto_indexes, every integer and date
    // column and every short text column.
    std::vector<bool> indexed(width);
    for (size_t i = 0; i < width; ++i) {
      bool index = req.auto_indexes &&
                   (plans[i].type == ColumnType::kInteger || plans[i].type == ColumnType::kDate ||
                    (plans[i].type == ColumnType::kText &&
                     a.stats[i].text_bytes <= 64 * std::max<int64_t>(a.rows, 1)));
      for (const auto& wanted : req.indexes)
        if (wanted == rep.columns[i].id || wanted == rep.columns[i].name) index = true;
      indexed[i] = index;
    }

    std::string create = "CREATE TABLE " + table + " (_id {{INT}} PRIMARY KEY";
    std::vector<size_t> text_cols;
    for (size_t i = 0; i < width; ++i) {
      const char* t = "TEXT";
      if (plans[i].type == ColumnType::kInteger) t = "{{INT}}";
      if (plans[i].type == ColumnType::kDecimal) t = "{{REAL}}";
      if (plans[i].type == ColumnType::kText) text_cols.push_back(i);
      create += ", " + Quote(rep.columns[i].id) + " " + t;
    }
    const bool pg_search = pg && !text_cols.empty();
    if (pg_search) create += ", _search tsvector";
    // SQLite: the hidden filter words (see "filter tokens" above) of the indexed text columns.
    struct TokenColumn {
      size_t column;
      bool exact = true;  // no two distinct values seen with the same hash
      std::unordered_map<uint64_t, std::string> seen;
    };
    std::vector<TokenColumn> token_cols;
    if (!pg)
      for (size_t i : text_cols)
        if (indexed[i] && !a.stats[i].many_values) token_cols.push_back({i});
    const bool has_tokens = !token_cols.empty();
    bool mark_in_text = false;  // some value holds U+001F: a hidden word could be forged
    if (has_tokens) create += ", _f TEXT";
    create += ")";
    RETURN_IF_ERROR(c.ExecScript(db::ExpandDialect(create, c.dialect())));

    const size_t per_row = width + 1 + (pg_search || has_tokens ? 1 : 0);
    // Batches of at most 500 rows and 32,000 values: on SQLite one batch is then exactly one
    // INSERT of the bulk path (see SqliteBulkInsert), with no copy.
    size_t batch = std::min<size_t>(500, std::max<size_t>(1, 32000 / per_row));
    if (req.batch_rows > 0) batch = std::min<size_t>(batch, static_cast<size_t>(req.batch_rows));
    // Rows go in through the backend's bulk path: COPY on PostgreSQL (where the _search value
    // is a tsvector literal the column's type reads), multi-row INSERTs on SQLite.
    std::vector<std::string> insert_columns = {"_id"};
    for (size_t i = 0; i < width; ++i) insert_columns.push_back(rep.columns[i].id);
    if (pg_search) insert_columns.push_back("_search");
    if (has_tokens) insert_columns.push_back("_f");
    ASSIGN_OR_RETURN(std::unique_ptr<db::BulkInsert> bulk,
                     c.BulkInsertInto(rep.table_name, insert_columns));

    // Two threads: this one writes batches to the database while a converter thread reads the
    // file and turns records into the next batches' values, a few batches ahead (BatchQueue).
    // Everything the converter counts (rows, broken values, hidden-word state) is read here
    // only after it has been joined. Progress and cancellation stay on this thread.
    BatchQueue queue;
    std::string search_text, tsvector, tokens;
    int64_t loaded = 0;
    auto convert = [&]() -> Status {
      std::vector<std::string> f;
      bool header_done = false;
      BatchQueue::Batch b;
      b.params.resize(batch * per_row);
      for (;;) {
        ASSIGN_OR_RETURN(bool more, r.Next(&f));
        if (!more) break;
        if (IsBlank(f)) continue;
        if (!header_done) {
          header_done = true;
          continue;
        }
        if (!FitRecord(&f, width, src2.xlsx)) continue;
        ++loaded;
        db::Value* out = &b.params[b.rows * per_row];
        out[0] = loaded;
        if (pg_search) search_text.clear();
        for (size_t i = 0; i < width; ++i) {
          db::Value& v = out[i + 1];
          if (plans[i].type == ColumnType::kText) {
            std::string_view t = conv.Text(f[i]);
            if (Trim(t).empty())
              v = std::monostate{};
            else
              SetText(v, t);
            if (has_tokens && !mark_in_text && t.find(kTokenMark) != std::string_view::npos)
              mark_in_text = true;
            if (pg_search && !t.empty()) {
              search_text.append(t);
              search_text.push_back(' ');
            }
          } else {
            ASSIGN_OR_RETURN(bool fits, ConvertTyped(f[i], plans[i], &v));
            if (!fits) {
              ++rep.broken_values;
              if (rep.broken_examples.size() < kMaxExamples)
                rep.broken_examples.push_back(
                    {r.line(), rep.columns[i].id, std::string(conv.Text(f[i]))});
            }
          }
        }
        if (pg_search) {
          tsvector.clear();
          AppendTsvector(text::Fold(search_text), &tsvector);
          SetText(out[width + 1], tsvector);
        }
        if (has_tokens) {
          tokens.clear();
          for (auto& tc : token_cols) {
            const auto* value = std::get_if<std::string>(&out[tc.column + 1]);
            if (!value) continue;  // NULL: no word, and no filter value equals NULL
            if (!tokens.empty()) tokens.push_back(' ');
            AppendFilterToken(tc.column + 1, *value, &tokens);
            if (!tc.exact) continue;
            auto [it, inserted] = tc.seen.try_emplace(ValueHash(*value));
            if (inserted) {
              if (tc.seen.size() > kMaxTokenValues) {
                tc.exact = false;  // too many values to keep: Search checks every row it counts
                tc.seen.clear();
              } else {
                it->second = *value;
              }
            } else if (it->second != *value) {
              tc.exact = false;  // a hash collision
            }
          }
          if (tokens.empty())
            out[width + 1] = std::monostate{};
          else
            SetText(out[width + 1], tokens);
        }
        if (++b.rows == batch) {
          b.loaded = loaded;
          b.bytes_read = r.bytes_read();
          if (!queue.Push(&b)) return Status::Ok();  // the writer stopped; it has the reason
          b.params.resize(batch * per_row);
        }
      }
      if (b.rows > 0) {
        b.loaded = loaded;
        b.bytes_read = r.bytes_read();
        b.params.resize(b.rows * per_row);
        queue.Push(&b);
      }
      return Status::Ok();
    };
    std::thread converter([&] { queue.Finish(convert()); });
    struct JoinOnExit {
      BatchQueue& q;
      std::thread& t;
      ~JoinOnExit() {
        q.Cancel();
        if (t.joinable()) t.join();
      }
    } join_on_exit{queue, converter};

    BatchQueue::Batch b;
    int64_t reported = 0;
    while (queue.Pop(&b)) {
      RETURN_IF_ERROR(bulk->Add(b.params, b.rows));
      if (b.loaded - reported >= kProgressEvery) {
        reported = b.loaded;
        RETURN_IF_ERROR(
            progress.Report(Progress::Phase::kLoading, b.bytes_read, r.bytes_total(), b.loaded));
      }
    }
    RETURN_IF_ERROR(queue.error());
    converter.join();  // before reading what it counted
    RETURN_IF_ERROR(bulk->Finish());
    bulk.reset();
    if (loaded != a.rows)
      return Status::Conflict("El archivo cambió mientras se importaba; vuelva a intentarlo");
    rep.rows = loaded;
    rep.invalid_utf8 = conv.invalid_utf8;

    // Indexes.
    RETURN_IF_ERROR(progress.Report(Progress::Phase::kIndexing, nullptr, loaded));
    for (auto& tc : token_cols) tc.seen = {};
    for (size_t i = 0; i < width; ++i)
      if (indexed[i]) filter_indexes.push_back(i);
    if (!text_cols.empty()) {
      if (pg) {
        RETURN_IF_ERROR(c.ExecScript("CREATE INDEX " + Quote(rep.table_name + "_search") + " ON " +
                                     table + " USING GIN (_search)"));
      } else {
        std::string cols;
        for (size_t i : text_cols) cols += Quote(rep.columns[i].id) + ", ";
        if (has_tokens) cols += "_f, ";
        const std::string fts = Quote(rep.table_name + "_fts");
        std::string tokenize = "unicode61 remove_diacritics 2";
        if (has_tokens) tokenize += std::string(" tokenchars ''") + kTokenMark + "''";
        RETURN_IF_ERROR(c.ExecScript("CREATE VIRTUAL TABLE " + fts + " USING fts5(" + cols +
                                     "content=" + Quote(rep.table_name) +
                                     ", content_rowid='_id', tokenize='" + tokenize +
                                     "', detail=none, columnsize=0)"));
        // FTS5 writes a new index segment each time its pending terms pass 'hashsize' (1 MiB
        // by default) and merges the segments as it goes; with a few MiB it writes and merges
        // far less (a million rows: 1.12 s -> 0.85 s) for a little more peak memory.
        RETURN_IF_ERROR(c.ExecScript("INSERT INTO " + fts + "(" + fts +
                                     ", rank) VALUES('hashsize', " + std::to_string(kFtsHashBytes) +
                                     ")"));
        RETURN_IF_ERROR(c.ExecScript("INSERT INTO " + fts + "(" + fts + ") VALUES('rebuild')"));
      }
    }

    json::array columns;
    for (size_t i = 0; i < width; ++i) {
      const auto& col = rep.columns[i];
      json::object jc{{"id", col.id},
                      {"name", col.name},
                      {"type", ColumnTypeName(col.type)},
                      {"text_index", col.type == ColumnType::kText}};
      // PostgreSQL: the table's tsvector holds ForEachWord's words (tables loaded before it
      // hold to_tsvector()'s, and are searched with plainto_tsquery()).
      if (pg && col.type == ColumnType::kText) jc["words"] = true;
      // "token": the column has hidden filter words; "token_exact": they match exactly the rows
      // holding the value (no collision, no forged word), so a count needs no row check.
      for (const auto& tc : token_cols)
        if (tc.column == i) {
          jc["token"] = static_cast<int64_t>(i + 1);
          jc["token_exact"] = tc.exact && !mark_in_text;
        }
      columns.push_back(std::move(jc));
    }
    RETURN_IF_ERROR(
        c.Exec("INSERT INTO datastore_tables (resource_id, table_name, version, columns, report, "
               "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (resource_id) DO UPDATE SET "
               "table_name = excluded.table_name, version = excluded.version, "
               "columns = excluded.columns, report = excluded.report, "
               "created_at = excluded.created_at",
               {req.resource_id, rep.table_name, version, JsonText(columns), JsonText(rep.ToJson()),
                text::NowIso()})
            .status());
    if (req.before_commit) RETURN_IF_ERROR(req.before_commit(c, rep));
    // Last chance to cancel before the new version becomes visible.
    RETURN_IF_ERROR(progress.Report(Progress::Phase::kIndexing, nullptr, loaded));
    RETURN_IF_ERROR(tx.Commit());
  }
  // Published: from here on nothing undoes the new version, and a cancellation is ignored.
  (void)progress.Report(Progress::Phase::kPublished, nullptr, rep.rows);
  if (previous) {
    Status dropped = DropTables(c, previous->table);
    if (!dropped.ok())
      rep.warnings.push_back("No se pudo borrar la versión anterior (" + previous->table +
                             "); se reintentará en la próxima importación");
  }
  // The equality-filter indexes, each in its own transaction; until one exists a filter on its
  // column scans the table. A newer version published meanwhile makes these fail harmlessly.
  for (size_t i : filter_indexes) {
    Status built = c.ExecScript("CREATE INDEX IF NOT EXISTS " +
                                Quote(rep.table_name + "_i" + std::to_string(i + 1)) + " ON " +
                                Quote(rep.table_name) + " (" + Quote(rep.columns[i].id) + ")");
    if (!built.ok())
      rep.warnings.push_back("No se pudo crear el índice de filtros de la columna «" +
                             rep.columns[i].id + "»: los filtros sobre ella recorrerán la tabla");
  }
  if (!pg) (void)c.ExecScript("PRAGMA wal_checkpoint(PASSIVE)");
  // PostgreSQL: the visibility map, hint bits and planner statistics of the new table now,
  // rather than in the first searches (150 ms each for a million rows before this, 3 ms after).
  if (pg) (void)c.ExecScript("VACUUM ANALYZE " + Quote(rep.table_name));
  (void)progress.Report(Progress::Phase::kDone, nullptr, rep.rows);
  return rep;
}

Status DeleteResource(db::Connection& c, const std::string& resource_id) {
  RETURN_IF_ERROR(EnsureSchema(c));
  ASSIGN_OR_RETURN(auto tx, db::Transaction::Write(c));
  ASSIGN_OR_RETURN(auto reg, LoadRegistered(c, resource_id));
  if (!reg) return Status::NotFound("El recurso no tiene datos en el almacén");
  RETURN_IF_ERROR(DropTables(c, reg->table));
  RETURN_IF_ERROR(
      c.Exec("DELETE FROM datastore_tables WHERE resource_id = ?", {resource_id}).status());
  return tx.Commit();
}

// ---- reports ---------------------------------------------------------------------------------

json::object QualityReport::ToJson() const {
  json::object o;
  o["resource_id"] = resource_id;
  o["table_name"] = table_name;
  o["format"] = format;
  o["encoding"] = encoding;
  if (!delimiter.empty()) o["delimiter"] = delimiter;
  if (!sheet.empty()) o["sheet"] = sheet;
  o["bytes"] = bytes;
  o["rows"] = rows;
  o["blank_rows"] = blank_rows;
  o["ragged_rows"] = ragged_rows;
  json::array rl;
  for (int64_t l : ragged_lines) rl.push_back(l);
  o["ragged_lines"] = std::move(rl);
  o["broken_values"] = broken_values;
  json::array be;
  for (const auto& b : broken_examples)
    be.push_back({{"line", b.line}, {"column", b.column}, {"value", b.value}});
  o["broken_examples"] = std::move(be);
  o["invalid_utf8"] = invalid_utf8;
  json::array cols;
  for (const auto& col : columns) {
    json::object jc{{"id", col.id},
                    {"name", col.name},
                    {"type", ColumnTypeName(col.type)},
                    {"nulls", col.nulls},
                    {"broken", col.broken}};
    if (col.type == ColumnType::kDecimal)
      jc["decimal_separator"] = std::string(1, col.decimal_separator);
    cols.push_back(std::move(jc));
  }
  o["columns"] = std::move(cols);
  json::array w;
  for (const auto& s : warnings) w.push_back(json::string(s));
  o["warnings"] = std::move(w);
  return o;
}

std::string QualityReport::ToText() const {
  auto num = [](int64_t v) { return text::FormatNumber(static_cast<double>(v), 0); };
  std::string t;
  t += "Reporte de calidad de datos — recurso " + resource_id + "\n";
  t += "Tabla: " + table_name + "\n";
  t += "Formato: " + format;
  if (!sheet.empty()) t += " (hoja «" + sheet + "»)";
  t += "; codificación: " + encoding;
  if (!delimiter.empty()) t += "; delimitador: «" + delimiter + "»";
  t += "; " + num(bytes) + " bytes\n";
  t += "Filas cargadas: " + num(rows) + "\n";
  t += "Columnas: " + num(static_cast<int64_t>(columns.size())) + "\n";
  t += "Filas en blanco (omitidas): " + num(blank_rows) + "\n";
  t += "Filas con un número de campos distinto al encabezado (omitidas): " + num(ragged_rows);
  if (!ragged_lines.empty()) {
    t += " — líneas";
    for (size_t i = 0; i < ragged_lines.size(); ++i)
      t += (i ? ", " : " ") + std::to_string(ragged_lines[i]);
    if (ragged_rows > static_cast<int64_t>(ragged_lines.size())) t += "…";
  }
  t += "\n";
  t += "Valores que no corresponden al tipo de su columna (guardados vacíos): " +
       num(broken_values) + "\n";
  for (const auto& b : broken_examples)
    t += "  línea " + std::to_string(b.line) + ", columna " + b.column + ": «" + b.value + "»\n";
  if (invalid_utf8 > 0)
    t += "Secuencias UTF-8 inválidas sustituidas por «\xEF\xBF\xBD»: " + num(invalid_utf8) + "\n";
  t += "\nColumna | nombre original | tipo | vacíos | valores inválidos\n";
  static const char* kEs[] = {"entero", "decimal", "fecha", "texto"};
  for (const auto& col : columns) {
    std::string type = kEs[static_cast<int>(col.type)];
    if (col.type == ColumnType::kDecimal && col.decimal_separator == ',') type += " (coma decimal)";
    t += col.id + " | " + col.name + " | " + type + " | " + num(col.nulls) + " | " +
         num(col.broken) + "\n";
  }
  if (!warnings.empty()) {
    t += "\nAvisos:\n";
    for (const auto& w : warnings) t += "  - " + w + "\n";
  }
  return t;
}

// ---- search ----------------------------------------------------------------------------------

const char* CkanType(std::string_view t) {
  if (t == "integer") return "int";
  if (t == "decimal") return "numeric";
  if (t == "date") return "date";
  return "text";
}

namespace {

struct Col {
  std::string type, name;
  bool text_index = false;
  int64_t token = 0;  // the position of its hidden filter words; 0: none
  bool token_exact = false;
};

struct SortKey {
  std::string column;
  bool desc = false;
};

// A search's FROM and WHERE with their parameters, shared by Search, SearchCursor, Aggregate
// and GeoPoints so that they all read the same rows. The table is always "t"; with a full-text
// query on SQLite the FTS table drives the join, so that rows come out in rowid order straight
// from the index and a page stops early.
struct Compiled {
  Registered reg;
  std::unordered_map<std::string, Col> cols;
  std::vector<std::string> order;  // _id and the columns, in table order
  std::string from;
  std::string where;      // "" or " WHERE ..."
  std::string fts_match;  // SQLite: the MATCH expression when q has words
  std::vector<db::Value> params;
  std::vector<SortKey> sort;          // as asked, without the _id tie-break
  bool filters_exact_in_fts = false;  // SQLite: the filters are answered by hidden FTS words

  std::string Fts() const { return Quote(reg.table + "_fts"); }
  // The tie-break that keeps the order total: the FTS rowid when it drives an unsorted query.
  std::string TieBreak() const {
    return sort.empty() && !fts_match.empty() ? Fts() + ".rowid" : std::string("t._id");
  }
  // Ties are broken by _id in the direction of the last sort key, so that a sort on an indexed
  // column is a walk of its index (which holds the rowid after the value) in either direction.
  bool TieBreakDesc() const { return !sort.empty() && sort.back().desc; }
  std::string OrderBy() const {
    std::string out;
    for (const SortKey& k : sort)
      out += std::string(out.empty() ? " ORDER BY t." : ", t.") + Quote(k.column) +
             (k.desc ? " DESC" : " ASC");
    return out.empty() ? " ORDER BY " + TieBreak()
                       : out + ", t._id" + (TieBreakDesc() ? " DESC" : " ASC");
  }
  void And(const std::string& condition) {
    where += std::string(where.empty() ? " WHERE " : " AND ") + condition;
  }
  Status Unknown(const std::string& field, const std::string& name) const {
    return Status::InvalidArgument("La columna «" + name + "» no existe en este recurso",
                                   {{field, "Columna desconocida: " + name}});
  }
  bool Numeric(const std::string& id) const {
    auto it = cols.find(id);
    return it != cols.end() && (it->second.type == "integer" || it->second.type == "decimal");
  }
};

Result<Compiled> Compile(db::Connection& c, const std::string& resource_id,
                         const std::vector<std::pair<std::string, std::string>>& filters,
                         const std::string& q, const std::string& sort) {
  if (!ValidResourceId(resource_id))
    return Status::InvalidArgument("El identificador del recurso no es válido",
                                   {{"resource_id", "Identificador no válido"}});
  // Migrations run outside transactions; inside one (a read action) the server has applied
  // the registry's migration at start.
  if (!c.InTransaction()) RETURN_IF_ERROR(EnsureSchema(c));
  ASSIGN_OR_RETURN(auto reg, LoadRegistered(c, resource_id));
  if (!reg) return Status::NotFound("El recurso no tiene datos en el almacén");

  Compiled out;
  out.reg = std::move(*reg);
  out.order = {"_id"};
  out.cols["_id"] = {"integer", "", false};
  bool any_text = false;
  bool words = false;  // PostgreSQL: the tsvector holds ForEachWord's words
  for (const auto& v : out.reg.columns) {
    const auto& o = v.as_object();
    std::string id(o.at("id").as_string());
    Col col{std::string(o.at("type").as_string()), std::string(o.at("name").as_string()),
            o.contains("text_index") && o.at("text_index").as_bool()};
    if (const auto* t = o.if_contains("token"); t && t->is_int64()) {
      col.token = t->as_int64();
      const auto* exact = o.if_contains("token_exact");
      col.token_exact = exact && exact->is_bool() && exact->as_bool();
    }
    any_text = any_text || col.text_index;
    if (const auto* w = o.if_contains("words"); w && w->is_bool() && w->as_bool()) words = true;
    out.cols[id] = col;
    out.order.push_back(id);
  }

  const bool pg = c.dialect() == db::Dialect::kPostgres;
  out.from = Quote(out.reg.table) + " AS t";
  // SQLite: the hidden filter words of the filters on columns that have them, and whether
  // every filter is answered exactly by its word (then the FTS index alone counts the rows).
  std::string filter_words;
  bool filters_exact_in_fts = !pg;
  for (const auto& [name, value] : filters) {
    auto it = out.cols.find(name);
    if (it == out.cols.end()) return out.Unknown("filters", name);
    const std::string& type = it->second.type;
    db::Value v;
    auto bad = [&]() {
      return Status::InvalidArgument(
          "El valor «" + value + "» no es válido para la columna «" + name + "»",
          {{"filters", "Valor no válido para " + name}});
    };
    if (type == "integer" || type == "decimal") {
      ValueClass k = Classify(value);
      if (k != kInt && k != kDotDecimal && k != kGroupedInt && k != kGroupedDec &&
          k != kCommaDecimal)
        return bad();
      ColumnPlan plan;
      plan.type = (type == "integer" && (k == kInt || k == kGroupedInt)) ? ColumnType::kInteger
                                                                         : ColumnType::kDecimal;
      plan.decimal = k == kCommaDecimal ? ',' : '.';
      auto r = ConvertTyped(value, plan, &v);
      if (!r.ok()) return bad();
    } else if (type == "date") {
      ValueClass k = Classify(value);
      ColumnPlan plan{ColumnType::kDate};
      if ((k != kDateIso && k != kDateDmy) || !ConvertTyped(value, plan, &v).ok()) return bad();
    } else {
      v = value;
    }
    if (!pg && it->second.token > 0) {
      std::string token;
      AppendFilterToken(static_cast<size_t>(it->second.token), value, &token);
      filter_words += "\"" + token + "\" ";
      filters_exact_in_fts = filters_exact_in_fts && it->second.token_exact;
    } else {
      filters_exact_in_fts = false;
    }
    out.And("t." + Quote(name) + " = ?");
    out.params.push_back(std::move(v));
  }
  if (!Trim(q).empty()) {
    if (!any_text)
      return Status::InvalidArgument("Este recurso no tiene columnas de texto para buscar",
                                     {{"q", "Sin columnas de texto"}});
    std::string folded = text::Fold(q);
    if (pg && !words) {
      out.And("t._search @@ plainto_tsquery('simple', ?)");
      out.params.push_back(folded);
    } else if (pg) {
      // Every word, as the load wrote them: 'w1' & 'w2' (no query syntax reaches the server).
      std::string query;
      ForEachWord(folded, [&](std::string_view w) {
        if (w.size() > kMaxLexemeBytes) return;
        query += (query.empty() ? "'" : " & '") + std::string(w) + "'";
      });
      if (!query.empty()) {
        out.And("t._search @@ ?::tsquery");
        out.params.push_back(query);
      }
    } else {
      // Each word as a quoted FTS5 string: no query syntax reaches the engine.
      std::string match;
      ForEachWord(folded, [&](std::string_view w) {
        match += (match.empty() ? "\"" : " \"") + std::string(w) + "\"";
      });
      if (!match.empty()) {
        const std::string fts = out.Fts();
        // CROSS JOIN fixes the order: SQLite would otherwise probe the FTS index once per row.
        out.from =
            fts + " CROSS JOIN " + Quote(out.reg.table) + " AS t ON t._id = " + fts + ".rowid";
        out.fts_match = fts + " MATCH ?";
        // First among the conditions, so its parameter is the first one. The hidden filter
        // words make FTS5 intersect the filter with the words of q; the equalities stay.
        out.where =
            " WHERE " + out.fts_match + (out.where.empty() ? "" : " AND " + out.where.substr(7));
        out.params.insert(out.params.begin(), filter_words + match);
      }
    }
  }

  std::string_view rest = sort;
  while (!Trim(rest).empty()) {
    size_t comma = rest.find(',');
    std::string_view part = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    size_t sp = part.find(' ');
    std::string name(part.substr(0, sp));
    std::string dir = sp == std::string_view::npos ? "" : std::string(Trim(part.substr(sp + 1)));
    for (char& ch : dir) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!out.cols.count(name)) return out.Unknown("sort", name);
    if (!dir.empty() && dir != "asc" && dir != "desc")
      return Status::InvalidArgument("El orden debe ser asc o desc", {{"sort", "asc o desc"}});
    out.sort.push_back({name, dir == "desc"});
  }
  out.filters_exact_in_fts = filters_exact_in_fts;
  return out;
}

// The SELECT list and field descriptions for `fields` (empty: _id and every column).
Status SelectFields(const Compiled& q, const std::vector<std::string>& requested,
                    std::vector<SearchField>* fields, std::string* select) {
  for (const auto& f : requested.empty() ? q.order : requested) {
    auto it = q.cols.find(f);
    if (it == q.cols.end()) return q.Unknown("fields", f);
    fields->push_back({f, CkanType(it->second.type), it->second.name});
    *select += (select->empty() ? "t." : ", t.") + Quote(f);
  }
  return Status::Ok();
}

}  // namespace

Result<SearchResult> Search(db::Connection& c, const SearchRequest& req) {
  if (!ValidResourceId(req.resource_id))
    return Status::InvalidArgument("El identificador del recurso no es válido",
                                   {{"resource_id", "Identificador no válido"}});
  if (req.limit < 0 || req.limit > 32000)
    return Status::InvalidArgument("limit debe estar entre 0 y 32000",
                                   {{"limit", "Entre 0 y 32000"}});
  if (req.offset < 0)
    return Status::InvalidArgument("offset no puede ser negativo", {{"offset", "No negativo"}});
  ASSIGN_OR_RETURN(Compiled q, Compile(c, req.resource_id, req.filters, req.q, req.sort));

  SearchResult res;
  res.resource_id = req.resource_id;
  std::string select;
  RETURN_IF_ERROR(SelectFields(q, req.fields, &res.fields, &select));

  if (req.include_total) {
    // A full-text query alone, or with filters that its hidden words answer exactly, is counted
    // in the FTS index without touching the rows.
    const bool fts_only = !q.fts_match.empty() && q.filters_exact_in_fts;
    std::string count_sql = fts_only
                                ? "SELECT COUNT(*) AS n FROM " + q.Fts() + " WHERE " + q.fts_match
                                : "SELECT COUNT(*) AS n FROM " + q.from + q.where;
    std::vector<db::Value> count_params = q.params;
    if (fts_only) count_params.resize(1);  // the MATCH only
    ASSIGN_OR_RETURN(db::Rows n, c.Query(count_sql, count_params));
    res.total = n[0].Int("n");
  }
  std::vector<db::Value> page = q.params;
  page.push_back(req.limit);
  page.push_back(req.offset);
  ASSIGN_OR_RETURN(db::Rows rows, c.Query("SELECT " + select + " FROM " + q.from + q.where +
                                              q.OrderBy() + " LIMIT ? OFFSET ?",
                                          page));
  res.records.reserve(rows.size());
  for (auto& row : rows) res.records.push_back(row.values());
  return res;
}

// ---- the cursor ----------------------------------------------------------------------------

struct SearchCursor::State {
  Compiled q;
  std::string resource_id;
  std::vector<SearchField> fields;
  std::string select;             // the fields, then the sort keys and the tie-break
  std::vector<std::string> keys;  // key expressions, in ORDER BY order
  std::vector<bool> desc;
  std::vector<db::Value> last;  // the keys of the last row read; empty before the first page
  bool done = false;
};

SearchCursor::SearchCursor(std::unique_ptr<State> state) : state_(std::move(state)) {}
SearchCursor::SearchCursor(SearchCursor&&) noexcept = default;
SearchCursor& SearchCursor::operator=(SearchCursor&&) noexcept = default;
SearchCursor::~SearchCursor() = default;

const std::vector<SearchField>& SearchCursor::fields() const { return state_->fields; }

Result<SearchCursor> SearchCursor::Open(db::Connection& c, const SearchRequest& req) {
  auto st = std::make_unique<State>();
  ASSIGN_OR_RETURN(st->q, Compile(c, req.resource_id, req.filters, req.q, req.sort));
  st->resource_id = req.resource_id;
  RETURN_IF_ERROR(SelectFields(st->q, req.fields, &st->fields, &st->select));
  for (const SortKey& k : st->q.sort) {
    st->keys.push_back("t." + Quote(k.column));
    st->desc.push_back(k.desc);
  }
  st->keys.push_back(st->q.TieBreak());
  st->desc.push_back(st->q.TieBreakDesc());
  for (const std::string& k : st->keys) st->select += ", " + k;
  return SearchCursor(std::move(st));
}

Result<SearchResult> SearchCursor::Next(db::Connection& c, int64_t rows) {
  if (rows < 1 || rows > 32000)
    return Status::InvalidArgument("Las páginas son de 1 a 32000 filas");
  State& st = *state_;
  SearchResult res;
  res.resource_id = st.resource_id;
  res.fields = st.fields;
  if (st.done) return res;
  // Rows after the last one read: for keys k1..kn, (k1 after v1) or (k1 = v1 and k2 after v2)
  // and so on. NULLs sort first in ascending order on SQLite and last on PostgreSQL, and the
  // other way round in descending order; "after" follows the backend's own ORDER BY.
  Compiled q = st.q;
  std::vector<db::Value> params = q.params;
  if (!st.last.empty()) {
    const bool sqlite = c.dialect() == db::Dialect::kSqlite;
    std::string any;
    std::string equal_so_far;
    std::vector<db::Value> equal_params;
    for (size_t i = 0; i < st.keys.size(); ++i) {
      const std::string& k = st.keys[i];
      const db::Value& v = st.last[i];
      const bool is_null = std::holds_alternative<std::monostate>(v);
      const bool nulls_first = sqlite ? !st.desc[i] : st.desc[i];
      std::string after;
      std::vector<db::Value> after_params;
      if (is_null) {
        after = nulls_first ? k + " IS NOT NULL" : "";
      } else {
        after = k + (st.desc[i] ? " < ?" : " > ?");
        after_params.push_back(v);
        if (!nulls_first) after = "(" + after + " OR " + k + " IS NULL)";
      }
      if (!after.empty()) {
        any += std::string(any.empty() ? "" : " OR ") + "(" + equal_so_far +
               (equal_so_far.empty() ? "" : " AND ") + after + ")";
        params.insert(params.end(), equal_params.begin(), equal_params.end());
        params.insert(params.end(), after_params.begin(), after_params.end());
      }
      equal_so_far += std::string(equal_so_far.empty() ? "" : " AND ") +
                      (is_null ? k + " IS NULL" : k + " = ?");
      if (!is_null) equal_params.push_back(v);
    }
    if (any.empty()) {
      st.done = true;
      return res;
    }
    q.And("(" + any + ")");
  }
  params.push_back(rows);
  ASSIGN_OR_RETURN(db::Rows found, c.Query("SELECT " + st.select + " FROM " + q.from + q.where +
                                               q.OrderBy() + " LIMIT ?",
                                           params));
  const size_t n = st.fields.size();
  res.records.reserve(found.size());
  for (const db::Row& row : found) {
    const auto& values = row.values();
    res.records.emplace_back(values.begin(), values.begin() + static_cast<ptrdiff_t>(n));
  }
  if (static_cast<int64_t>(found.size()) < rows) st.done = true;
  if (!found.empty()) {
    const auto& values = found.back().values();
    st.last.assign(values.begin() + static_cast<ptrdiff_t>(n), values.end());
  }
  return res;
}

// ---- charts and maps ---------------------------------------------------------------------------

const char* AggregationName(Aggregation a) {
  switch (a) {
    case Aggregation::kNone:
      return "ninguno";
    case Aggregation::kCount:
      return "conteo";
    case Aggregation::kSum:
      return "suma";
    case Aggregation::kAvg:
      return "promedio";
  }
  return "ninguno";
}

bool ParseAggregation(std::string_view name, Aggregation* out) {
  for (Aggregation a :
       {Aggregation::kNone, Aggregation::kCount, Aggregation::kSum, Aggregation::kAvg}) {
    if (name == AggregationName(a)) {
      *out = a;
      return true;
    }
  }
  return false;
}

Result<AggregateResult> Aggregate(db::Connection& c, const AggregateRequest& req) {
  if (req.limit < 1 || req.limit > 1000)
    return Status::InvalidArgument("limit debe estar entre 1 y 1000",
                                   {{"limit", "Entre 1 y 1000"}});
  ASSIGN_OR_RETURN(Compiled q, Compile(c, req.resource_id, req.filters, req.q, ""));
  auto xt = q.cols.find(req.x);
  if (xt == q.cols.end())
    return req.x.empty()
               ? Status::InvalidArgument("Elija la columna del eje X", {{"x", "Elija una columna"}})
               : q.Unknown("x", req.x);
  const bool count = req.aggregation == Aggregation::kCount;
  if (!count && !q.Numeric(req.y))
    return Status::InvalidArgument(
        q.cols.count(req.y) ? "La columna «" + req.y + "» no es numérica"
                            : "Elija una columna numérica para el eje Y",
        {{"y", req.y.empty() ? "Elija una columna numérica" : "Columna no numérica: " + req.y}});
  AggregateResult out;
  out.x_type = CkanType(xt->second.type);
  out.y_type = count ? "int" : CkanType(q.cols.at(req.y).type);

  const std::string x = "t." + Quote(req.x);
  const std::string y = count ? "" : "t." + Quote(req.y);
  q.And(x + " IS NOT NULL");
  if (!count) q.And(y + " IS NOT NULL");
  // Sums and averages as doubles on both backends (PostgreSQL's are NUMERIC for integers).
  std::string value;
  switch (req.aggregation) {
    case Aggregation::kNone:
      value = "CAST(" + y + " AS DOUBLE PRECISION)";
      break;
    case Aggregation::kCount:
      value = "COUNT(*)";
      break;
    case Aggregation::kSum:
      value = "CAST(SUM(" + y + ") AS DOUBLE PRECISION)";
      break;
    case Aggregation::kAvg:
      value = "CAST(AVG(" + y + ") AS DOUBLE PRECISION)";
      break;
  }
  std::vector<db::Value> params = q.params;
  params.push_back(req.limit);
  std::string sql, count_sql;
  if (req.aggregation == Aggregation::kNone) {
    sql = "SELECT " + x + " AS x, " + value + " AS y FROM " + q.from + q.where + " ORDER BY " +
          q.TieBreak() + " LIMIT ?";
    count_sql = "SELECT COUNT(*) AS n FROM " + q.from + q.where;
  } else {
    sql = "SELECT " + x + " AS x, " + value + " AS y FROM " + q.from + q.where + " GROUP BY " + x +
          " ORDER BY " + x + " LIMIT ?";
    count_sql = "SELECT COUNT(*) AS n FROM (SELECT " + x + " FROM " + q.from + q.where +
                " GROUP BY " + x + ") AS g";
  }
  ASSIGN_OR_RETURN(db::Rows rows, c.Query(sql, params));
  ASSIGN_OR_RETURN(db::Rows n, c.Query(count_sql, q.params));
  out.total = n[0].Int("n");
  for (const db::Row& r : rows) out.points.push_back({r.Get("x"), r.Real("y")});
  return out;
}

std::optional<GeoColumns> DetectGeoColumns(const std::vector<SearchField>& fields) {
  auto named = [](const SearchField& f, std::initializer_list<const char*> names) {
    for (const std::string& s : {f.id, text::Fold(f.label)}) {
      std::string trimmed(Trim(s));
      for (const char* n : names)
        if (trimmed == n) return true;
    }
    return false;
  };
  GeoColumns g;
  for (const SearchField& f : fields) {
    if (f.type == "numeric" && g.lat.empty() && named(f, {"lat", "latitud", "latitude"}))
      g.lat = f.id;
    else if (f.type == "numeric" && g.lon.empty() &&
             named(f, {"lon", "lng", "long", "longitud", "longitude"}))
      g.lon = f.id;
    else if (f.type == "text" && g.label.empty())
      g.label = f.id;
  }
  if (g.lat.empty() || g.lon.empty()) return std::nullopt;
  return g;
}

Result<GeoResult> GeoPoints(db::Connection& c, const GeoRequest& req) {
  if (req.limit < 1 || req.limit > 50000)
    return Status::InvalidArgument("limit debe estar entre 1 y 50000",
                                   {{"limit", "Entre 1 y 50000"}});
  ASSIGN_OR_RETURN(Compiled q, Compile(c, req.resource_id, req.filters, req.q, ""));
  auto not_numeric = [](const std::string& field, const std::string& id) {
    return Status::InvalidArgument("La columna «" + id + "» no es numérica",
                                   {{field, "Columna no numérica: " + id}});
  };
  if (!q.Numeric(req.columns.lat)) return not_numeric("lat", req.columns.lat);
  if (!q.Numeric(req.columns.lon)) return not_numeric("lon", req.columns.lon);
  if (!req.columns.label.empty() && !q.cols.count(req.columns.label))
    return q.Unknown("label", req.columns.label);
  const std::string lat = "t." + Quote(req.columns.lat), lon = "t." + Quote(req.columns.lon);
  q.And(lat + " BETWEEN -90 AND 90");
  q.And(lon + " BETWEEN -180 AND 180");
  std::string label = req.columns.label.empty() ? "NULL" : "t." + Quote(req.columns.label);
  std::vector<db::Value> params = q.params;
  params.push_back(req.limit);
  ASSIGN_OR_RETURN(
      db::Rows rows,
      c.Query("SELECT t._id AS id, CAST(" + lat + " AS DOUBLE PRECISION) AS lat, CAST(" + lon +
                  " AS DOUBLE PRECISION) AS lon, " + label + " AS label FROM " + q.from + q.where +
                  " ORDER BY " + q.TieBreak() + " LIMIT ?",
              params));
  ASSIGN_OR_RETURN(db::Rows n, c.Query("SELECT COUNT(*) AS n FROM " + q.from + q.where, q.params));
  GeoResult out;
  out.total = n[0].Int("n");
  for (const db::Row& r : rows)
    out.points.push_back({r.Int("id"), r.Real("lat"), r.Real("lon"), r.Text("label")});
  return out;
}

json::object SearchResult::ToJson() const {
  json::object o;
  o["resource_id"] = resource_id;
  json::array fs;
  for (const auto& f : fields) {
    json::object jf{{"id", f.id}, {"type", f.type}};
    if (!f.label.empty()) jf["info"] = {{"label", f.label}};
    fs.push_back(std::move(jf));
  }
  o["fields"] = std::move(fs);
  json::array recs;
  for (const auto& r : records) {
    json::object jr;
    for (size_t i = 0; i < fields.size() && i < r.size(); ++i) {
      const db::Value& v = r[i];
      json::value jv;
      if (auto* x = std::get_if<int64_t>(&v))
        jv = *x;
      else if (auto* d = std::get_if<double>(&v))
        jv = *d;
      else if (auto* s = std::get_if<std::string>(&v))
        jv = *s;
      else if (auto* b = std::get_if<db::Blob>(&v))
        jv = b->bytes;
      jr[fields[i].id] = std::move(jv);
    }
    recs.push_back(std::move(jr));
  }
  o["records"] = std::move(recs);
  if (total) o["total"] = *total;
  return o;
}

}  // namespace abierto::datos
