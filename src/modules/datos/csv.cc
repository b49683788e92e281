#include "modules/datos/csv.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

namespace abierto::datos {
namespace {

// Field counts of the first lines of `sample` split on `d`, honouring quotes.
std::vector<int> FieldCounts(std::string_view sample, char d, int max_lines) {
  std::vector<int> counts;
  int fields = 1;
  bool quoted = false;
  size_t i = 0;
  for (; i < sample.size() && static_cast<int>(counts.size()) < max_lines; ++i) {
    char c = sample[i];
    if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && c == d) {
      ++fields;
    } else if (!quoted && (c == '\n' || c == '\r')) {
      if (c == '\r' && i + 1 < sample.size() && sample[i + 1] == '\n') ++i;
      counts.push_back(fields);
      fields = 1;
    }
  }
  // The last line counts only when the sample holds the whole file (no cut line).
  if (i == sample.size() && fields > 1 && !quoted && static_cast<int>(counts.size()) < max_lines)
    counts.push_back(fields);
  return counts;
}

}  // namespace

char DetectDelimiter(std::string_view sample) {
  static constexpr char kCandidates[] = {',', ';', '\t', '|'};
  char best = ',';
  double best_score = 0;
  for (char d : kCandidates) {
    std::vector<int> counts = FieldCounts(sample, d, 50);
    if (counts.empty() || counts[0] < 2) continue;
    // Lines agreeing with the header's field count, weighted a little by the count so that a
    // delimiter splitting consistently into more columns wins a tie.
    int agree = static_cast<int>(std::count(counts.begin(), counts.end(), counts[0]));
    double score = agree + 0.001 * counts[0];
    if (score > best_score) {
      best_score = score;
      best = d;
    }
  }
  return best;
}

Result<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path, char delimiter,
                                                   size_t max_record_bytes) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::NotFound("No se puede abrir el archivo");
  struct stat st {};
  int64_t total = fstat(fileno(f), &st) == 0 ? st.st_size : 0;
  return std::unique_ptr<CsvReader>(new CsvReader(f, delimiter, max_record_bytes, total));
}

CsvReader::~CsvReader() {
  if (f_) std::fclose(f_);
}

bool CsvReader::Refill() {
  if (eof_) return false;
  consumed_ += static_cast<int64_t>(len_);
  pos_ = 0;
  len_ = std::fread(buf_.get(), 1, kBufferSize, f_);
  if (len_ == 0) {
    eof_ = true;
    return false;
  }
  return true;
}

Result<bool> CsvReader::Next(std::vector<std::string>* out) {
  if (!started_) {
    started_ = true;
    if (!Refill()) return false;
    if (len_ >= 3 && std::memcmp(buf_.get(), "\xEF\xBB\xBF", 3) == 0) {
      has_bom_ = true;
      pos_ = 3;
    }
  }
  if (skip_lf_) {
    if (pos_ == len_ && !Refill()) return false;
    if (buf_[pos_] == '\n') ++pos_;
    skip_lf_ = false;
  }
  if (pos_ == len_ && !Refill()) return false;

  enum State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted };
  State state = kFieldStart;
  size_t nf = 0;
  auto next_field = [&]() -> std::string* {
    if (nf == out->size()) out->emplace_back();
    std::string* f = &(*out)[nf++];
    f->clear();
    return f;
  };
  std::string* field = next_field();
  size_t record_bytes = 0;
  record_line_ = line_;
  const int64_t quote_line = line_;
  int64_t open_quote_line = quote_line;
  auto too_long = [&]() {
    return Status::InvalidArgument("El registro que empieza en la línea " +
                                   std::to_string(record_line_) + " excede el máximo de " +
                                   std::to_string(max_record_ >> 10) +
                                   " KiB por registro (¿comillas sin cerrar o un archivo que no "
                                   "es CSV?)");
  };

  for (;;) {
    if (pos_ == len_) {
      if (!Refill()) {
        if (state == kQuoted)
          return Status::InvalidArgument("Comillas sin cerrar: el campo que empieza en la línea " +
                                         std::to_string(open_quote_line) +
                                         " no se cierra antes del final del archivo");
        out->resize(nf);
        return true;
      }
    }
    const char* b = buf_.get();
    switch (state) {
      case kFieldStart:
        if (b[pos_] == '"') {
          ++pos_;
          ++record_bytes;
          state = kQuoted;
          open_quote_line = line_;
          continue;
        }
        state = kUnquoted;
        [[fallthrough]];
      case kUnquoted: {
        // Fast path: copy up to the next character that means something.
        size_t start = pos_;
        while (pos_ < len_) {
          char c = b[pos_];
          if (c == delim_ || c == '\n' || c == '\r') break;
          ++pos_;
        }
        field->append(b + start, pos_ - start);
        record_bytes += pos_ - start;
        if (record_bytes > max_record_) return too_long();
        if (pos_ == len_) continue;
        char c = b[pos_++];
        if (c == delim_) {
          ++record_bytes;
          field = next_field();
          state = kFieldStart;
          continue;
        }
        ++line_;
        if (c == '\r') {
          if (pos_ < len_) {
            if (b[pos_] == '\n') ++pos_;
          } else {
            skip_lf_ = true;
          }
        }
        out->resize(nf);
        return true;
      }
      case kQuoted: {
        size_t start = pos_;
        const char* q = static_cast<const char*>(std::memchr(b + pos_, '"', len_ - pos_));
        size_t end = q ? static_cast<size_t>(q - b) : len_;
        line_ += std::count(b + start, b + end, '\n');
        field->append(b + start, end - start);
        record_bytes += end - start;
        if (record_bytes > max_record_) return too_long();
        pos_ = end;
        if (q) {
          ++pos_;
          ++record_bytes;
          state = kQuoteInQuoted;
        }
        continue;
      }
      case kQuoteInQuoted:
        if (b[pos_] == '"') {
          field->push_back('"');
          ++pos_;
          state = kQuoted;
        } else {
          // Closed; whatever follows up to the delimiter is appended (lenient).
          state = kUnquoted;
        }
        continue;
    }
  }
}

}  // namespace abierto::datos
