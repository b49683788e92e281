#include "modules/presupuesto/pabulib.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace abierto::presupuesto {
namespace {

Status LineError(int line, const std::string& message) {
  return Status::InvalidArgument("línea " + std::to_string(line) + ": " + message);
}

// Quotes a value for an error message, cut short so a huge field cannot make a huge message.
std::string Shown(std::string_view value) {
  constexpr size_t kMax = 60;
  if (value.size() <= kMax) return "«" + std::string(value) + "»";
  size_t cut = kMax;
  // Do not cut a UTF-8 sequence in half.
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  return "«" + std::string(value.substr(0, cut)) + "…»";
}

struct Record {
  std::vector<std::string> fields;
  int line = 0;  // physical line where the record starts (1-based)
};

// Splits the text into `;`-separated records with double-quote quoting. A quoted field may span
// lines. Text after a closing quote or an unterminated quote is an error, not a guess.
class RecordReader {
 public:
  explicit RecordReader(std::string_view text) : text_(text) {}

  // Fills `record` and returns true, or returns false at the end of the text or on error
  // (then `status` is set). The strings of the previous record are overwritten in place, so
  // that records of the same shape (every ballot) allocate nothing.
  bool Next(Record* record, Status* status) {
    if (pos_ >= text_.size()) return false;
    record->line = line_;
    size_t count = 0;
    while (true) {
      if (count == record->fields.size()) record->fields.emplace_back();
      std::string& field = record->fields[count++];
      field.clear();
      if (pos_ < text_.size() && text_[pos_] == '"') {
        const int quote_line = line_;
        ++pos_;
        while (true) {
          if (pos_ >= text_.size()) {
            *status = LineError(quote_line, "hay unas comillas que no se cierran");
            return false;
          }
          const char c = text_[pos_];
          if (c == '"') {
            if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
              field.push_back('"');
              pos_ += 2;
              continue;
            }
            ++pos_;
            break;
          }
          if (c == '\n') ++line_;
          field.push_back(c);
          ++pos_;
        }
        if (pos_ < text_.size() && text_[pos_] != ';' && !AtLineEnd()) {
          *status = LineError(line_, "hay texto después de cerrar las comillas de un campo");
          return false;
        }
      } else {
        const size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] != ';' && !AtLineEnd()) ++pos_;
        field.assign(text_.substr(start, pos_ - start));
      }
      if (pos_ >= text_.size()) break;
      if (text_[pos_] == ';') {
        ++pos_;
        continue;
      }
      // Line end: "\n" or "\r\n".
      pos_ += text_[pos_] == '\r' ? 2 : 1;
      ++line_;
      break;
    }
    record->fields.resize(count);
    return true;
  }

 private:
  bool AtLineEnd() const {
    return text_[pos_] == '\n' ||
           (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n');
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
};

// A non-negative integer written as digits, optionally followed by a decimal point and zeros
// ("50000" or "50000.0"), at most kPbMaxAmount.
std::optional<int64_t> ParseAmount(std::string_view s) {
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  if (whole.empty() || whole.size() > 16) return std::nullopt;
  if (dot != std::string_view::npos) {
    std::string_view frac = s.substr(dot + 1);
    if (frac.empty() || frac.find_first_not_of('0') != std::string_view::npos) {
      return std::nullopt;
    }
  }
  int64_t value = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > kPbMaxAmount) return std::nullopt;
  return value;
}

// Fills `parts` (reused from ballot to ballot).
void SplitCommas(std::string_view s, std::vector<std::string_view>* parts) {
  parts->clear();
  if (s.empty()) return;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    parts->push_back(s.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
}

// Lets the project index be searched with the string_views of a ballot, without making a
// std::string of each.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

bool LooksLikeSectionName(std::string_view s) {
  if (s.empty() || s.size() > 40) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; });
}

int ColumnIndex(const std::vector<std::string>& header, std::string_view name) {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

enum class Section { kNone, kMeta, kProjects, kVotes };

const char* SectionName(Section s) {
  switch (s) {
    case Section::kMeta:
      return "META";
    case Section::kProjects:
      return "PROJECTS";
    case Section::kVotes:
      return "VOTES";
    case Section::kNone:
      break;
  }
  return "";
}

class Parser {
 public:
  Result<PbInstance> Run(std::string_view text) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    RecordReader reader(text);
    Record record;
    Status status;
    while (reader.Next(&record, &status)) {
      if (record.fields.size() == 1 && record.fields[0].empty()) continue;  // blank line
      RETURN_IF_ERROR(Handle(record));
    }
    RETURN_IF_ERROR(status);
    return Finish();
  }

 private:
  Status Handle(const Record& r) {
    if (r.fields.size() == 1) {
      const std::string& name = r.fields[0];
      Section next = name == "META"       ? Section::kMeta
                     : name == "PROJECTS" ? Section::kProjects
                     : name == "VOTES"    ? Section::kVotes
                                          : Section::kNone;
      if (next != Section::kNone) return StartSection(next, r.line);
      if (LooksLikeSectionName(name)) {
        return LineError(r.line, "sección desconocida " + Shown(name) +
                                     "; las secciones son META, PROJECTS y VOTES");
      }
    }
    if (section_ == Section::kNone) {
      return LineError(r.line, "el archivo debe empezar con la sección META");
    }
    if (expect_header_) return Header(r);
    switch (section_) {
      case Section::kMeta:
        return MetaRow(r);
      case Section::kProjects:
        return ProjectRow(r);
      case Section::kVotes:
        return VoteRow(r);
      case Section::kNone:
        break;
    }
    return Status::Internal("sección inválida");
  }

  Status StartSection(Section next, int line) {
    const Section expected = section_ == Section::kNone       ? Section::kMeta
                             : section_ == Section::kMeta     ? Section::kProjects
                             : section_ == Section::kProjects ? Section::kVotes
                                                              : Section::kNone;
    if (next != expected) {
      if (expected == Section::kNone) {
        return LineError(line, std::string("la sección ") + SectionName(next) +
                                   " aparece de nuevo o fuera de orden");
      }
      return LineError(line, std::string("se esperaba la sección ") + SectionName(expected) +
                                 " y se encontró " + SectionName(next) +
                                 " (el orden es META, PROJECTS, VOTES)");
    }
    if (expect_header_) return LineError(line, "falta la línea de encabezado de la sección");
    if (next == Section::kVotes) RETURN_IF_ERROR(CheckMeta());
    section_ = next;
    expect_header_ = true;
    return Status::Ok();
  }

  Status Header(const Record& r) {
    expect_header_ = false;
    header_line_ = r.line;
    const std::vector<std::string>& h = r.fields;
    for (size_t i = 0; i < h.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (h[i] == h[j]) return LineError(r.line, "la columna " + Shown(h[i]) + " está repetida");
      }
    }
    auto require = [&](std::string_view column) -> Status {
      if (ColumnIndex(h, column) < 0) {
        return LineError(r.line, std::string("al encabezado de ") + SectionName(section_) +
                                     " le falta la columna «" + std::string(column) + "»");
      }
      return Status::Ok();
    };
    switch (section_) {
      case Section::kMeta:
        if (h.size() != 2 || h[0] != "key" || h[1] != "value") {
          return LineError(r.line, "el encabezado de META debe ser «key;value»");
        }
        break;
      case Section::kProjects:
        RETURN_IF_ERROR(require("project_id"));
        RETURN_IF_ERROR(require("cost"));
        out_.project_columns = h;
        col_id_ = ColumnIndex(h, "project_id");
        col_cost_ = ColumnIndex(h, "cost");
        break;
      case Section::kVotes:
        RETURN_IF_ERROR(require("voter_id"));
        RETURN_IF_ERROR(require("vote"));
        if (out_.vote_type == VoteType::kCumulative) RETURN_IF_ERROR(require("points"));
        out_.vote_columns = h;
        col_id_ = ColumnIndex(h, "voter_id");
        col_vote_ = ColumnIndex(h, "vote");
        col_points_ = ColumnIndex(h, "points");
        break;
      case Section::kNone:
        break;
    }
    return Status::Ok();
  }

  Status FieldCount(const Record& r, size_t expected) {
    if (r.fields.size() == expected) return Status::Ok();
    return LineError(r.line, "la fila tiene " + std::to_string(r.fields.size()) +
                                 " campos y el encabezado de " + SectionName(section_) + " tiene " +
                                 std::to_string(expected));
  }

  Status MetaRow(const Record& r) {
    RETURN_IF_ERROR(FieldCount(r, 2));
    const std::string& key = r.fields[0];
    if (meta_lines_.count(key)) {
      return LineError(r.line, "la clave " + Shown(key) +
                                   " de META está repetida (ya en la línea " +
                                   std::to_string(meta_lines_[key]) + ")");
    }
    meta_lines_[key] = r.line;
    out_.meta.emplace_back(key, r.fields[1]);
    return Status::Ok();
  }

  // Reads an optional non-negative integer META value.
  Status MetaAmount(std::string_view key, std::optional<int64_t>* value) {
    const std::string* text = out_.Meta(key);
    if (text == nullptr) return Status::Ok();
    *value = ParseAmount(*text);
    if (!*value) {
      return LineError(meta_lines_[std::string(key)],
                       "el valor de «" + std::string(key) +
                           "» en META no es un entero no negativo: " + Shown(*text));
    }
    return Status::Ok();
  }

  // Validates META once it is complete (at the start of VOTES, when the ballots need it).
  Status CheckMeta() {
    const std::string* budget = out_.Meta("budget");
    if (budget == nullptr) return Status::InvalidArgument("falta la clave «budget» en META");
    std::optional<int64_t> b;
    RETURN_IF_ERROR(MetaAmount("budget", &b));
    out_.budget = *b;
    const std::string* type = out_.Meta("vote_type");
    if (type == nullptr) return Status::InvalidArgument("falta la clave «vote_type» en META");
    if (*type == "approval") {
      out_.vote_type = VoteType::kApproval;
    } else if (*type == "cumulative") {
      out_.vote_type = VoteType::kCumulative;
    } else if (*type == "ordinal") {
      out_.vote_type = VoteType::kOrdinal;
    } else if (*type == "choose-1") {
      out_.vote_type = VoteType::kChoose1;
    } else {
      return LineError(meta_lines_["vote_type"],
                       "tipo de voto desconocido " + Shown(*type) +
                           "; se admiten approval, cumulative, ordinal y choose-1");
    }
    RETURN_IF_ERROR(MetaAmount("min_length", &min_length_));
    RETURN_IF_ERROR(MetaAmount("max_length", &max_length_));
    RETURN_IF_ERROR(MetaAmount("max_sum_points", &max_sum_points_));
    std::optional<int64_t> num_projects;
    RETURN_IF_ERROR(MetaAmount("num_projects", &num_projects));
    if (num_projects && *num_projects != static_cast<int64_t>(out_.projects.size())) {
      return LineError(meta_lines_["num_projects"],
                       "META dice num_projects = " + std::to_string(*num_projects) +
                           " pero PROJECTS tiene " + std::to_string(out_.projects.size()) +
                           " proyectos");
    }
    // Size the duplicate check for the ballots announced (checked against the real count at
    // the end), so that it is not rehashed as it grows; capped, since META is not trusted.
    if (const std::string* announced = out_.Meta("num_votes")) {
      if (std::optional<int64_t> n = ParseAmount(*announced)) {
        voter_ids_.reserve(static_cast<size_t>(std::min<int64_t>(*n, int64_t{1} << 20)));
      }
    }
    return Status::Ok();
  }

  Status ProjectRow(const Record& r) {
    RETURN_IF_ERROR(FieldCount(r, out_.project_columns.size()));
    PbProject p;
    p.id = r.fields[col_id_];
    if (p.id.empty()) return LineError(r.line, "el project_id está vacío");
    if (p.id.find(',') != std::string::npos) {
      return LineError(r.line, "el project_id " + Shown(p.id) +
                                   " contiene una coma, que separa los proyectos de un voto");
    }
    const std::string& cost = r.fields[col_cost_];
    std::optional<int64_t> value = ParseAmount(cost);
    if (!value) {
      return LineError(r.line, "el costo " + Shown(cost) + " del proyecto " + Shown(p.id) +
                                   " no es un entero no negativo (hasta 10^15)");
    }
    p.cost = *value;
    auto [it, inserted] = project_index_.emplace(p.id, static_cast<int32_t>(out_.projects.size()));
    if (!inserted) {
      return LineError(r.line, "el proyecto " + Shown(p.id) + " está repetido (ya en la línea " +
                                   std::to_string(project_lines_[it->second]) + ")");
    }
    for (size_t i = 0; i < r.fields.size(); ++i) {
      if (static_cast<int>(i) != col_id_ && static_cast<int>(i) != col_cost_) {
        p.extra.push_back(r.fields[i]);
      }
    }
    project_lines_.push_back(r.line);
    out_.projects.push_back(std::move(p));
    return Status::Ok();
  }

  Status VoteRow(const Record& r) {
    RETURN_IF_ERROR(FieldCount(r, out_.vote_columns.size()));
    PbVote v;
    v.voter_id = r.fields[col_id_];
    if (v.voter_id.empty()) return LineError(r.line, "el voter_id está vacío");
    if (!voter_ids_.insert(v.voter_id).second) {
      return LineError(r.line, "el votante " + Shown(v.voter_id) + " está repetido");
    }
    const std::vector<std::string_view>& ids = ids_;
    SplitCommas(r.fields[col_vote_], &ids_);
    v.projects.reserve(ids.size());
    for (std::string_view id : ids) {
      auto it = project_index_.find(id);
      if (it == project_index_.end()) {
        return LineError(r.line,
                         "el voto menciona el proyecto " + Shown(id) + ", que no está en PROJECTS");
      }
      if (std::find(v.projects.begin(), v.projects.end(), it->second) != v.projects.end()) {
        return LineError(r.line, "el voto menciona dos veces el proyecto " + Shown(id));
      }
      v.projects.push_back(it->second);
    }
    const int64_t length = static_cast<int64_t>(v.projects.size());
    if (min_length_ && length < *min_length_) {
      return LineError(r.line, "el voto tiene " + std::to_string(length) +
                                   " proyectos y META exige al menos min_length = " +
                                   std::to_string(*min_length_));
    }
    if (max_length_ && length > *max_length_) {
      return LineError(r.line, "el voto tiene " + std::to_string(length) +
                                   " proyectos y META permite como máximo max_length = " +
                                   std::to_string(*max_length_));
    }
    if (col_points_ >= 0) {
      const std::vector<std::string_view>& points = points_;
      SplitCommas(r.fields[col_points_], &points_);
      if (points.size() != v.projects.size()) {
        return LineError(r.line, "el voto tiene " + std::to_string(v.projects.size()) +
                                     " proyectos pero " + std::to_string(points.size()) +
                                     " valores en points");
      }
      int64_t sum = 0;
      for (std::string_view p : points) {
        std::optional<int64_t> value = ParseAmount(p);
        if (!value) {
          return LineError(r.line, "el valor " + Shown(p) +
                                       " de points no es un entero no negativo (hasta 10^15)");
        }
        sum += *value;  // at most 10^15 per value; stop before the sum could overflow
        if (sum > kPbMaxAmount) {
          return LineError(r.line, "la suma de points pasa de 10^15");
        }
        v.points.push_back(*value);
      }
      if (max_sum_points_ && sum > *max_sum_points_) {
        return LineError(r.line, "el voto suma " + std::to_string(sum) +
                                     " puntos y META permite como máximo max_sum_points = " +
                                     std::to_string(*max_sum_points_));
      }
    }
    for (size_t i = 0; i < r.fields.size(); ++i) {
      const int c = static_cast<int>(i);
      if (c != col_id_ && c != col_vote_ && c != col_points_) v.extra.push_back(r.fields[i]);
    }
    out_.votes.push_back(std::move(v));
    return Status::Ok();
  }

  Result<PbInstance> Finish() {
    if (expect_header_) {
      return Status::InvalidArgument(std::string("falta el encabezado de la sección ") +
                                     SectionName(section_));
    }
    if (section_ != Section::kVotes) {
      const char* missing = section_ == Section::kNone   ? "META"
                            : section_ == Section::kMeta ? "PROJECTS"
                                                         : "VOTES";
      return Status::InvalidArgument(std::string("falta la sección ") + missing);
    }
    std::optional<int64_t> num_votes;
    RETURN_IF_ERROR(MetaAmount("num_votes", &num_votes));
    if (num_votes && *num_votes != static_cast<int64_t>(out_.votes.size())) {
      return LineError(meta_lines_["num_votes"],
                       "META dice num_votes = " + std::to_string(*num_votes) +
                           " pero VOTES tiene " + std::to_string(out_.votes.size()) + " votos");
    }
    return std::move(out_);
  }

  PbInstance out_;
  Section section_ = Section::kNone;
  bool expect_header_ = false;
  int header_line_ = 0;
  int col_id_ = -1, col_cost_ = -1, col_vote_ = -1, col_points_ = -1;
  std::unordered_map<std::string, int> meta_lines_;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> project_index_;
  std::vector<int> project_lines_;
  std::unordered_set<std::string> voter_ids_;
  std::vector<std::string_view> ids_, points_;  // VoteRow's split fields
  std::optional<int64_t> min_length_, max_length_, max_sum_points_;
};

void AppendField(std::string_view value, std::string* out) {
  if (value.find_first_of(";\"\r\n") == std::string_view::npos) {
    out->append(value);
    return;
  }
  out->push_back('"');
  for (char c : value) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

const std::string* PbInstance::Meta(std::string_view key) const {
  for (const auto& [k, v] : meta) {
    if (k == key) return &v;
  }
  return nullptr;
}

const char* VoteTypeName(VoteType type) {
  switch (type) {
    case VoteType::kApproval:
      return "approval";
    case VoteType::kCumulative:
      return "cumulative";
    case VoteType::kOrdinal:
      return "ordinal";
    case VoteType::kChoose1:
      return "choose-1";
  }
  return "approval";
}

Result<PbInstance> ParsePb(std::string_view text) { return Parser().Run(text); }

Result<PbInstance> ReadPbFile(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return Status::NotFound("no se puede leer el archivo " + path.string());
  if (size > (uintmax_t{1} << 30)) {
    return Status::TooLarge("el archivo " + path.string() + " pasa de 1 GiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("no se puede abrir el archivo " + path.string());
  std::string text(static_cast<size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return ParsePb(text);
}

std::string WritePb(const PbInstance& x) {
  std::string out;
  auto end_row = [&out] { out.push_back('\n'); };
  auto write_header = [&](const std::vector<std::string>& header) {
    for (size_t i = 0; i < header.size(); ++i) {
      if (i) out.push_back(';');
      AppendField(header[i], &out);
    }
    end_row();
  };
  out += "META\nkey;value\n";
  for (const auto& [k, v] : x.meta) {
    AppendField(k, &out);
    out.push_back(';');
    AppendField(v, &out);
    end_row();
  }
  out += "PROJECTS\n";
  write_header(x.project_columns);
  for (const PbProject& p : x.projects) {
    size_t extra = 0;
    for (size_t i = 0; i < x.project_columns.size(); ++i) {
      if (i) out.push_back(';');
      const std::string& column = x.project_columns[i];
      if (column == "project_id") {
        AppendField(p.id, &out);
      } else if (column == "cost") {
        out += std::to_string(p.cost);
      } else if (extra < p.extra.size()) {
        AppendField(p.extra[extra++], &out);
      }
    }
    end_row();
  }
  out += "VOTES\n";
  write_header(x.vote_columns);
  std::string list;
  for (const PbVote& v : x.votes) {
    size_t extra = 0;
    for (size_t i = 0; i < x.vote_columns.size(); ++i) {
      if (i) out.push_back(';');
      const std::string& column = x.vote_columns[i];
      if (column == "voter_id") {
        AppendField(v.voter_id, &out);
      } else if (column == "vote") {
        list.clear();
        for (size_t j = 0; j < v.projects.size(); ++j) {
          if (j) list.push_back(',');
          const int32_t index = v.projects[j];
          if (index >= 0 && static_cast<size_t>(index) < x.projects.size()) {
            list += x.projects[index].id;
          }
        }
        AppendField(list, &out);
      } else if (column == "points") {
        list.clear();
        for (size_t j = 0; j < v.points.size(); ++j) {
          if (j) list.push_back(',');
          list += std::to_string(v.points[j]);
        }
        out += list;
      } else if (extra < v.extra.size()) {
        AppendField(v.extra[extra++], &out);
      }
    }
    end_row();
  }
  return out;
}

}  // namespace abierto::presupuesto
