#include "modules/datos/xlsx.h"

#include <expat.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <string_view>

#include "abierto/text.h"

namespace abierto::datos {
namespace {

constexpr char kNotXlsx[] =
    "El archivo no es un libro XLSX válido: no es un archivo ZIP (¿es un .xls antiguo, un CSV "
    "con otra extensión o un archivo dañado?)";

Status Damaged(const std::string& what) {
  return Status::InvalidArgument("El libro XLSX está dañado o incompleto: " + what);
}

uint32_t Le32(const unsigned char* p) {
  return p[0] | p[1] << 8 | p[2] << 16 | uint32_t(p[3]) << 24;
}
uint16_t Le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }

struct ZipEntry {
  uint16_t method = 0;
  int64_t csize = 0, usize = 0, local_offset = 0;
};

// The central directory of a ZIP archive.
class ZipArchive {
 public:
  ~ZipArchive() {
    if (f_) std::fclose(f_);
  }
  Status Open(const std::string& path) {
    f_ = std::fopen(path.c_str(), "rb");
    if (!f_) return Status::NotFound("No se puede abrir el archivo");
    struct stat st {};
    if (fstat(fileno(f_), &st) != 0) return Status::NotFound("No se puede abrir el archivo");
    size_ = st.st_size;
    if (size_ < 22) return Status::InvalidArgument(kNotXlsx);
    // The end-of-central-directory record is in the last 22 + 65535 bytes.
    int64_t tail = std::min<int64_t>(size_, 22 + 65535);
    std::string buf(static_cast<size_t>(tail), '\0');
    if (fseeko(f_, size_ - tail, SEEK_SET) != 0 ||
        std::fread(buf.data(), 1, buf.size(), f_) != buf.size())
      return Status::InvalidArgument(kNotXlsx);
    const auto* b = reinterpret_cast<const unsigned char*>(buf.data());
    int64_t eocd = -1;
    for (int64_t i = tail - 22; i >= 0; --i) {
      if (Le32(b + i) == 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) return Status::InvalidArgument(kNotXlsx);
    uint16_t count = Le16(b + eocd + 10);
    uint32_t cd_size = Le32(b + eocd + 12);
    uint32_t cd_offset = Le32(b + eocd + 16);
    if (cd_offset == 0xFFFFFFFF || count == 0xFFFF)
      return Status::InvalidArgument(
          "Los libros XLSX en formato ZIP64 (más de 4 GiB) no se admiten");
    if (int64_t{cd_offset} + cd_size > size_)
      return Damaged("directorio central fuera del archivo");
    std::string cd(cd_size, '\0');
    if (fseeko(f_, cd_offset, SEEK_SET) != 0 ||
        std::fread(cd.data(), 1, cd.size(), f_) != cd.size())
      return Damaged("no se puede leer el directorio central");
    const auto* p = reinterpret_cast<const unsigned char*>(cd.data());
    size_t off = 0;
    for (int i = 0; i < count; ++i) {
      if (off + 46 > cd.size() || Le32(p + off) != 0x02014b50) return Damaged("directorio central");
      ZipEntry e;
      e.method = Le16(p + off + 10);
      e.csize = Le32(p + off + 20);
      e.usize = Le32(p + off + 24);
      uint16_t name_len = Le16(p + off + 28), extra = Le16(p + off + 30),
               comment = Le16(p + off + 32);
      e.local_offset = Le32(p + off + 42);
      if (off + 46 + name_len > cd.size()) return Damaged("directorio central");
      std::string name(cd.data() + off + 46, name_len);
      entries_[name] = e;
      off += 46 + name_len + extra + comment;
    }
    return Status::Ok();
  }

  const ZipEntry* Find(const std::string& name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second;
  }
  FILE* file() { return f_; }
  int64_t size() const { return size_; }

 private:
  FILE* f_ = nullptr;
  int64_t size_ = 0;
  std::map<std::string, ZipEntry> entries_;
};

// Inflates one part in chunks, enforcing the limits against zip bombs.
class PartStream {
 public:
  PartStream(ZipArchive* zip, const ZipEntry& e, std::string name, const XlsxLimits& limits)
      : zip_(zip), e_(e), name_(std::move(name)), limits_(limits) {}
  ~PartStream() {
    if (inflating_) inflateEnd(&z_);
  }

  Status Start() {
    unsigned char h[30];
    if (fseeko(zip_->file(), e_.local_offset, SEEK_SET) != 0 ||
        std::fread(h, 1, 30, zip_->file()) != 30 || Le32(h) != 0x04034b50)
      return Damaged("cabecera local de " + name_);
    data_offset_ = e_.local_offset + 30 + Le16(h + 26) + Le16(h + 28);
    if (data_offset_ + e_.csize > zip_->size()) return Damaged(name_ + " fuera del archivo");
    if (e_.method == 8) {
      std::memset(&z_, 0, sizeof z_);
      if (inflateInit2(&z_, -MAX_WBITS) != Z_OK) return Status::Internal("zlib");
      inflating_ = true;
    } else if (e_.method != 0) {
      return Damaged("método de compresión no admitido en " + name_);
    }
    return Status::Ok();
  }

  // Fills up to `cap` bytes; returns 0 at the end of the part.
  Result<size_t> Read(char* out, size_t cap) {
    if (done_) return size_t{0};
    size_t produced = 0;
    if (e_.method == 0) {
      int64_t left = e_.csize - in_read_;
      size_t n = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(cap)));
      if (n == 0) {
        done_ = true;
        return size_t{0};
      }
      if (fseeko(zip_->file(), data_offset_ + in_read_, SEEK_SET) != 0 ||
          std::fread(out, 1, n, zip_->file()) != n)
        return Damaged(name_ + " truncado");
      in_read_ += static_cast<int64_t>(n);
      produced = n;
    } else {
      z_.next_out = reinterpret_cast<Bytef*>(out);
      z_.avail_out = static_cast<uInt>(cap);
      while (z_.avail_out > 0 && !done_) {
        if (z_.avail_in == 0) {
          int64_t left = e_.csize - in_read_;
          size_t n = static_cast<size_t>(std::min<int64_t>(left, sizeof in_buf_));
          if (n == 0) return Damaged(name_ + " truncado");
          if (fseeko(zip_->file(), data_offset_ + in_read_, SEEK_SET) != 0 ||
              std::fread(in_buf_, 1, n, zip_->file()) != n)
            return Damaged(name_ + " truncado");
          in_read_ += static_cast<int64_t>(n);
          z_.next_in = reinterpret_cast<Bytef*>(in_buf_);
          z_.avail_in = static_cast<uInt>(n);
        }
        int rc = inflate(&z_, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
          done_ = true;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
          return Damaged("datos comprimidos inválidos en " + name_);
        }
      }
      produced = cap - z_.avail_out;
    }
    out_total_ += static_cast<int64_t>(produced);
    RETURN_IF_ERROR(CheckLimits());
    return produced;
  }

  int64_t compressed_read() const { return in_read_; }

 private:
  Status CheckLimits() const {
    const std::string bomb =
        "El libro XLSX se descomprime a un tamaño desproporcionado (posible «bomba ZIP»); se "
        "rechaza por seguridad (parte " +
        name_ + ")";
    if (out_total_ > limits_.max_part_bytes) return Status::InvalidArgument(bomb);
    // The declared size may lie; a part may never grow past it.
    if (out_total_ > e_.usize) return Status::InvalidArgument(bomb);
    // Small parts compress very well legitimately; the ratio is judged past the first MiB.
    if (out_total_ > (1 << 20) && out_total_ > limits_.max_ratio * std::max<int64_t>(in_read_, 1))
      return Status::InvalidArgument(bomb);
    return Status::Ok();
  }

  ZipArchive* zip_;
  ZipEntry e_;
  std::string name_;
  XlsxLimits limits_;
  z_stream z_{};
  bool inflating_ = false, done_ = false;
  int64_t data_offset_ = 0, in_read_ = 0, out_total_ = 0;
  char in_buf_[64 * 1024];
};

std::string_view LocalName(const XML_Char* qname) {
  std::string_view n(qname);
  size_t colon = n.rfind(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

const char* Attr(const XML_Char** atts, std::string_view name) {
  for (int i = 0; atts[i]; i += 2)
    if (LocalName(atts[i]) == name) return atts[i + 1];
  return nullptr;
}

// Runs expat over a whole part with the given handlers (for the small parts, and shared strings).
class XmlParse {
 public:
  using Start = std::function<void(std::string_view, const XML_Char**)>;
  using End = std::function<void(std::string_view)>;
  using Text = std::function<void(std::string_view)>;
  XmlParse(Start s, End e, Text t) : start_(std::move(s)), end_(std::move(e)), text_(std::move(t)) {
    p_ = XML_ParserCreate("UTF-8");
    XML_SetUserData(p_, this);
    XML_SetElementHandler(
        p_,
        [](void* u, const XML_Char* n, const XML_Char** a) {
          static_cast<XmlParse*>(u)->start_(LocalName(n), a);
        },
        [](void* u, const XML_Char* n) { static_cast<XmlParse*>(u)->end_(LocalName(n)); });
    XML_SetCharacterDataHandler(p_, [](void* u, const XML_Char* s, int len) {
      auto* self = static_cast<XmlParse*>(u);
      if (self->text_) self->text_(std::string_view(s, static_cast<size_t>(len)));
    });
    // No DTDs in OOXML: refusing them shuts the door on entity-expansion attacks.
    XML_SetStartDoctypeDeclHandler(
        p_, [](void* u, const XML_Char*, const XML_Char*, const XML_Char*, int) {
          XML_StopParser(static_cast<XmlParse*>(u)->p_, XML_FALSE);
        });
  }
  ~XmlParse() { XML_ParserFree(p_); }
  XML_Parser parser() { return p_; }

  // Feeds a chunk (final: the last one). Returns an error naming the part on bad XML.
  Status Feed(const char* data, size_t n, bool final, const std::string& part) {
    if (XML_Parse(p_, data, static_cast<int>(n), final) != XML_STATUS_OK)
      return Damaged("XML inválido en " + part + " (" + XML_ErrorString(XML_GetErrorCode(p_)) +
                     ")");
    return Status::Ok();
  }

 private:
  XML_Parser p_;
  Start start_;
  End end_;
  Text text_;
};

}  // namespace

struct XlsxReader::Impl {
  ZipArchive zip;
  XlsxLimits limits;
  std::vector<std::string> sheet_names;
  std::string sheet_name, sheet_part;
  bool date1904 = false;
  std::vector<bool> date_style;    // by cellXfs index
  std::string ss_data;             // shared strings, concatenated
  std::vector<size_t> ss_offsets;  // start of each; one extra at the end

  // Streaming state of the sheet.
  std::unique_ptr<PartStream> stream;
  XML_Parser parser = nullptr;
  std::deque<std::vector<std::string>> ready;  // complete rows
  std::deque<int64_t> ready_rows;
  std::vector<std::string> row;
  int64_t row_number = 0, last_row = 0, current_line = 0;
  bool in_row = false, in_cell = false, in_value = false, in_inline_t = false;
  std::string cell_type, cell_text;
  int cell_style = 0, cell_col = -1, next_col = 0;
  bool cell_too_long = false, input_done = false;
  Status error;
  std::unique_ptr<char[]> chunk = std::make_unique<char[]>(256 * 1024);

  ~Impl() {
    if (parser) XML_ParserFree(parser);
  }

  Result<std::string> ReadPart(const std::string& name, int64_t max) {
    const ZipEntry* e = zip.Find(name);
    if (!e) return Damaged("falta la parte " + name);
    XlsxLimits l = limits;
    l.max_part_bytes = std::min(l.max_part_bytes, max);
    PartStream s(&zip, *e, name, l);
    RETURN_IF_ERROR(s.Start());
    std::string out;
    char buf[64 * 1024];
    for (;;) {
      ASSIGN_OR_RETURN(size_t n, s.Read(buf, sizeof buf));
      if (n == 0) break;
      out.append(buf, n);
    }
    return out;
  }

  Status ParsePart(const std::string& name, XmlParse& xml, int64_t max) {
    const ZipEntry* e = zip.Find(name);
    if (!e) return Status::Ok();  // optional parts (styles, shared strings)
    XlsxLimits l = limits;
    l.max_part_bytes = std::min(l.max_part_bytes, max);
    PartStream s(&zip, *e, name, l);
    RETURN_IF_ERROR(s.Start());
    for (;;) {
      ASSIGN_OR_RETURN(size_t n, s.Read(chunk.get(), 256 * 1024));
      RETURN_IF_ERROR(xml.Feed(chunk.get(), n, n == 0, name));
      if (!error.ok()) return error;
      if (n == 0) return Status::Ok();
    }
  }

  Status LoadWorkbook(const std::string& wanted) {
    constexpr int64_t kSmall = 16 << 20;
    std::vector<std::pair<std::string, std::string>> sheets;  // name, rel id
    XmlParse wb(
        [&](std::string_view n, const XML_Char** a) {
          if (n == "sheet") {
            const char* nm = Attr(a, "name");
            const char* id = Attr(a, "id");
            if (nm && id) sheets.emplace_back(nm, id);
          } else if (n == "workbookPr") {
            const char* d = Attr(a, "date1904");
            date1904 = d && (std::string_view(d) == "1" || std::string_view(d) == "true");
          }
        },
        [](std::string_view) {}, nullptr);
    if (!zip.Find("xl/workbook.xml"))
      return Status::InvalidArgument(
          "El archivo ZIP no es un libro de Excel (no contiene xl/workbook.xml)");
    RETURN_IF_ERROR(ParsePart("xl/workbook.xml", wb, kSmall));
    if (sheets.empty()) return Damaged("el libro no tiene hojas");
    for (auto& s : sheets) sheet_names.push_back(s.first);
    const std::pair<std::string, std::string>* chosen = &sheets[0];
    if (!wanted.empty()) {
      chosen = nullptr;
      for (auto& s : sheets)
        if (s.first == wanted) chosen = &s;
      if (!chosen) {
        std::string names;
        for (auto& s : sheets) names += (names.empty() ? "«" : ", «") + s.first + "»";
        return Status::InvalidArgument(
            "El libro no tiene una hoja llamada «" + wanted + "»; sus hojas son: " + names,
            {{"sheet", "Hoja inexistente"}});
      }
    }
    sheet_name = chosen->first;
    std::string target;
    XmlParse rels(
        [&](std::string_view n, const XML_Char** a) {
          if (n != "Relationship") return;
          const char* id = Attr(a, "Id");
          const char* t = Attr(a, "Target");
          if (id && t && chosen->second == id) target = t;
        },
        [](std::string_view) {}, nullptr);
    RETURN_IF_ERROR(ParsePart("xl/_rels/workbook.xml.rels", rels, kSmall));
    if (target.empty()) target = "worksheets/sheet1.xml";
    sheet_part = target[0] == '/' ? target.substr(1) : "xl/" + target;
    if (!zip.Find(sheet_part)) return Damaged("falta la hoja " + sheet_part);
    RETURN_IF_ERROR(LoadStyles(kSmall));
    return LoadSharedStrings();
  }

  Status LoadStyles(int64_t max) {
    std::map<int, bool> custom_date;
    bool in_xfs = false;
    XmlParse st(
        [&](std::string_view n, const XML_Char** a) {
          if (n == "numFmt") {
            const char* id = Attr(a, "numFmtId");
            const char* code = Attr(a, "formatCode");
            if (id && code) custom_date[std::atoi(id)] = IsDateFormat(code);
          } else if (n == "cellXfs") {
            in_xfs = true;
          } else if (n == "xf" && in_xfs) {
            const char* id = Attr(a, "numFmtId");
            int f = id ? std::atoi(id) : 0;
            bool date = (f >= 14 && f <= 22) || (f >= 45 && f <= 47);
            if (auto it = custom_date.find(f); it != custom_date.end()) date = it->second;
            date_style.push_back(date);
          }
        },
        [&](std::string_view n) {
          if (n == "cellXfs") in_xfs = false;
        },
        nullptr);
    return ParsePart("xl/styles.xml", st, max);
  }

  // A custom number format shows a date when it has day, month or year codes outside quoted
  // literals and [brackets] ("[Red]", "[$-80A]"), and is not elapsed time.
  static bool IsDateFormat(std::string_view code) {
    bool quoted = false, bracket = false;
    for (size_t i = 0; i < code.size(); ++i) {
      char c = code[i];
      if (c == '"') quoted = !quoted;
      if (quoted) continue;
      if (c == '\\') {
        ++i;
        continue;
      }
      if (c == '[') bracket = true;
      if (c == ']') bracket = false;
      if (bracket) continue;
      char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (l == 'd' || l == 'y' || l == 'm') return true;
    }
    return false;
  }

  Status LoadSharedStrings() {
    bool in_si = false, in_t = false, in_rph = false;
    std::string cur;
    ss_offsets.push_back(0);
    XmlParse ss(
        [&](std::string_view n, const XML_Char**) {
          if (n == "si") {
            in_si = true;
            cur.clear();
          } else if (n == "rPh") {
            in_rph = true;  // phonetic guide (Japanese): not part of the text
          } else if (n == "t" && in_si && !in_rph) {
            in_t = true;
          }
        },
        [&](std::string_view n) {
          if (n == "t") {
            in_t = false;
          } else if (n == "rPh") {
            in_rph = false;
          } else if (n == "si") {
            in_si = false;
            if (static_cast<int64_t>(ss_data.size() + cur.size()) >
                limits.max_shared_strings_bytes) {
              error = Status::InvalidArgument(
                  "La tabla de textos compartidos del libro XLSX es demasiado grande para "
                  "importarse");
              return;
            }
            ss_data += cur;
            ss_offsets.push_back(ss_data.size());
          }
        },
        [&](std::string_view t) {
          if (in_t && cur.size() < limits.max_cell_bytes) cur.append(t);
        });
    // The handlers cannot reach the parser: `error` stops the reading after the chunk.
    return ParsePart("xl/sharedStrings.xml", ss, limits.max_part_bytes);
  }

  std::string_view SharedString(size_t i) const {
    if (i + 1 >= ss_offsets.size()) return {};
    return std::string_view(ss_data).substr(ss_offsets[i], ss_offsets[i + 1] - ss_offsets[i]);
  }

  // ---- the sheet -------------------------------------------------------------------------------

  Status StartSheet() {
    stream = std::make_unique<PartStream>(&zip, *zip.Find(sheet_part), sheet_part, limits);
    RETURN_IF_ERROR(stream->Start());
    parser = XML_ParserCreate("UTF-8");
    XML_SetUserData(parser, this);
    XML_SetElementHandler(parser, &Impl::OnStart, &Impl::OnEnd);
    XML_SetCharacterDataHandler(parser, &Impl::OnText);
    XML_SetStartDoctypeDeclHandler(
        parser, [](void* u, const XML_Char*, const XML_Char*, const XML_Char*, int) {
          auto* self = static_cast<Impl*>(u);
          self->error = Damaged("la hoja declara un DTD");
          XML_StopParser(self->parser, XML_FALSE);
        });
    return Status::Ok();
  }

  static int ColumnOf(const char* ref) {
    int col = 0;
    const char* p = ref;
    while (*p >= 'A' && *p <= 'Z') col = col * 26 + (*p++ - 'A' + 1);
    return col > 0 && col <= 16384 ? col - 1 : -1;
  }

  static void OnStart(void* u, const XML_Char* qn, const XML_Char** a) {
    auto* s = static_cast<Impl*>(u);
    std::string_view n = LocalName(qn);
    if (n == "row") {
      const char* r = Attr(a, "r");
      int64_t num = r ? std::atoll(r) : s->last_row + 1;
      if (num <= s->last_row) num = s->last_row + 1;
      // Rows Excel leaves out are empty: hand them on so that they count as blank rows.
      for (int64_t k = s->last_row + 1; k < num && k - s->last_row < 1000000; ++k) {
        s->ready.emplace_back();
        s->ready_rows.push_back(k);
      }
      s->last_row = num;
      s->row.clear();
      s->in_row = true;
      s->next_col = 0;
    } else if (n == "c" && s->in_row) {
      s->in_cell = true;
      const char* t = Attr(a, "t");
      s->cell_type = t ? t : "n";
      const char* st = Attr(a, "s");
      s->cell_style = st ? std::atoi(st) : 0;
      const char* r = Attr(a, "r");
      s->cell_col = r ? ColumnOf(r) : s->next_col;
      if (s->cell_col < 0) s->cell_col = s->next_col;
      s->cell_text.clear();
      s->cell_too_long = false;
    } else if (s->in_cell && (n == "v" || (n == "t" && s->cell_type == "inlineStr"))) {
      s->in_value = true;
    }
  }

  static void OnText(void* u, const XML_Char* t, int len) {
    auto* s = static_cast<Impl*>(u);
    if (!s->in_value) return;
    if (s->cell_text.size() + static_cast<size_t>(len) > s->limits.max_cell_bytes) {
      s->error = Status::InvalidArgument("La celda de la fila " + std::to_string(s->last_row) +
                                         " excede el máximo de 1 MiB");
      XML_StopParser(s->parser, XML_FALSE);
      return;
    }
    s->cell_text.append(t, static_cast<size_t>(len));
  }

  static void OnEnd(void* u, const XML_Char* qn) {
    auto* s = static_cast<Impl*>(u);
    std::string_view n = LocalName(qn);
    if (n == "v" || n == "t") {
      s->in_value = false;
    } else if (n == "c" && s->in_cell) {
      s->in_cell = false;
      size_t col = static_cast<size_t>(s->cell_col);
      if (s->row.size() <= col) s->row.resize(col + 1);
      s->row[col] = s->CellValue();
      s->next_col = s->cell_col + 1;
    } else if (n == "row" && s->in_row) {
      s->in_row = false;
      s->ready.push_back(std::move(s->row));
      s->ready_rows.push_back(s->last_row);
      s->row = {};
    }
  }

  std::string CellValue() {
    if (cell_type == "s") {
      char* end = nullptr;
      unsigned long i = std::strtoul(cell_text.c_str(), &end, 10);
      return std::string(SharedString(i));
    }
    if (cell_type == "b") return cell_text == "1" ? "1" : "0";
    if (cell_type == "n" && !cell_text.empty() && cell_style >= 0 &&
        static_cast<size_t>(cell_style) < date_style.size() && date_style[cell_style]) {
      char* end = nullptr;
      double serial = std::strtod(cell_text.c_str(), &end);
      if (end && *end == '\0' && serial >= 1 && serial < 2958466) {
        // Serial 60 is Excel's 1900-02-29, a day that never was; serials after it are one
        // day ahead of the real count from 1899-12-31.
        int64_t days = static_cast<int64_t>(std::floor(serial));
        int64_t unix_days = date1904 ? days - 24107 : (days < 60 ? days - 25568 : days - 25569);
        if (!(days == 60 && !date1904)) return text::IsoFromDays(unix_days);
      }
    }
    return std::move(cell_text);
  }

  Result<bool> Next(std::vector<std::string>* fields) {
    while (ready.empty()) {
      if (input_done) return false;
      ASSIGN_OR_RETURN(size_t n, stream->Read(chunk.get(), 256 * 1024));
      if (n == 0) input_done = true;
      if (XML_Parse(parser, chunk.get(), static_cast<int>(n), n == 0) != XML_STATUS_OK) {
        if (!error.ok()) return error;
        return Damaged("XML inválido en " + sheet_part + " (" +
                       XML_ErrorString(XML_GetErrorCode(parser)) + ")");
      }
      if (!error.ok()) return error;
    }
    *fields = std::move(ready.front());
    ready.pop_front();
    current_line = ready_rows.front();
    ready_rows.pop_front();
    return true;
  }
};

XlsxReader::XlsxReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
XlsxReader::~XlsxReader() = default;

Result<std::unique_ptr<XlsxReader>> XlsxReader::Open(const std::string& path,
                                                     const std::string& sheet,
                                                     const XlsxLimits& limits) {
  auto impl = std::make_unique<Impl>();
  impl->limits = limits;
  RETURN_IF_ERROR(impl->zip.Open(path));
  RETURN_IF_ERROR(impl->LoadWorkbook(sheet));
  RETURN_IF_ERROR(impl->StartSheet());
  return std::unique_ptr<XlsxReader>(new XlsxReader(std::move(impl)));
}

Result<bool> XlsxReader::Next(std::vector<std::string>* fields) { return impl_->Next(fields); }
int64_t XlsxReader::line() const { return impl_->current_line; }
int64_t XlsxReader::bytes_read() const { return impl_->stream->compressed_read(); }
int64_t XlsxReader::bytes_total() const { return impl_->zip.Find(impl_->sheet_part)->csize; }
const std::string& XlsxReader::sheet_name() const { return impl_->sheet_name; }
const std::vector<std::string>& XlsxReader::sheet_names() const { return impl_->sheet_names; }

bool LooksLikeZip(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char b[4] = {};
  size_t n = std::fread(b, 1, 4, f);
  std::fclose(f);
  return n == 4 && std::memcmp(b, "PK\3\4", 4) == 0;
}

}  // namespace abierto::datos
