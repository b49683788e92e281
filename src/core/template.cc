#include "abierto/template.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <utility>

#include "abierto/text.h"

namespace abierto::tmpl {

namespace json = boost::json;

enum class Kind : std::uint8_t { kText, kEscaped, kRaw, kSection, kInverted, kPartial };

// The compiled form is a flat vector: a section's body is the run of nodes right after it, up
// to `end`. Rendering a section is then a loop over an index range, with no tree to chase.
struct Template::Node {
  Kind kind = Kind::kText;
  std::uint32_t line = 0;         // where the tag is, for render-time errors
  std::size_t end = 0;            // sections: one past the last node of the body
  std::string text;               // text: the literal; tags: the name as written
  std::vector<std::string> path;  // names split on '.'; empty for "."
};

namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (IsBlank(s.front()) || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (IsBlank(s.back()) || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Counts lines lazily; offsets are asked for in increasing order while parsing, except for
// errors, which may point back at an earlier section and so recount from the start.
class LineCounter {
 public:
  explicit LineCounter(std::string_view src) : src_(src) {}
  std::uint32_t At(std::size_t offset) {
    if (offset < counted_) {
      counted_ = 0;
      line_ = 1;
    }
    for (; counted_ < offset && counted_ < src_.size(); ++counted_) {
      if (src_[counted_] == '\n') ++line_;
    }
    return line_;
  }

 private:
  std::string_view src_;
  std::size_t counted_ = 0;
  std::uint32_t line_ = 1;
};

// A tag is standalone when only blanks share its line. If so, sets `line_start` to where that
// line begins and `next` to the start of the following line (or the end of the source).
// `pos` is where the text before the tag begins; a line start before it would belong to text
// already emitted, with another tag on this line.
bool Standalone(std::string_view src, std::size_t pos, std::size_t tag, std::size_t after,
                std::size_t* line_start, std::size_t* next) {
  std::size_t i = tag;
  while (i > pos && IsBlank(src[i - 1])) --i;
  if (i > 0 && src[i - 1] != '\n') return false;
  std::size_t j = after;
  while (j < src.size() && IsBlank(src[j])) ++j;
  if (j == src.size()) {
    *next = j;
  } else if (src[j] == '\n') {
    *next = j + 1;
  } else if (src[j] == '\r' && j + 1 < src.size() && src[j + 1] == '\n') {
    *next = j + 2;
  } else {
    return false;
  }
  *line_start = i;
  return true;
}

bool ValidName(std::string_view name) {
  if (name.empty()) return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    return IsBlank(c) || c == '\n' || c == '\r' || c == '{' || c == '}';
  });
}

// Splits "a.b.c"; "." is the empty path. Returns false for empty segments ("a..b", ".a").
bool SplitPath(std::string_view name, std::vector<std::string>* path) {
  if (name == ".") return true;
  while (true) {
    std::size_t dot = name.find('.');
    std::string_view seg = name.substr(0, dot);
    if (seg.empty()) return false;
    path->emplace_back(seg);
    if (dot == std::string_view::npos) return true;
    name.remove_prefix(dot + 1);
  }
}

void AppendEscaped(std::string& out, std::string_view s) { text::AppendHtmlEscaped(out, s); }

// At most two decimals, trailing zeros trimmed: 3.14159 -> "3.14", 2.5 -> "2.5", 7.0 -> "7".
void AppendDouble(std::string& out, double d) {
  if (!std::isfinite(d)) return;  // not representable in JSON; nothing sensible to show
  char buf[400];                  // fixed notation of DBL_MAX needs 309 digits
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed, 2);
  if (ec != std::errc()) return;
  while (end[-1] == '0') --end;  // there is always a '.' before the decimals
  if (end[-1] == '.') --end;
  std::string_view s(buf, end - buf);
  if (s == "-0") s = "0";  // -0.001 rounds to a zero that should not look negative
  out.append(s);
}

template <class Int>
void AppendInt(std::string& out, Int v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end - buf);
}

void AppendValue(std::string& out, const json::value& v, bool escape) {
  switch (v.kind()) {
    case json::kind::string: {
      const json::string& s = v.get_string();
      if (escape) {
        AppendEscaped(out, std::string_view(s.data(), s.size()));
      } else {
        out.append(s.data(), s.size());
      }
      break;
    }
    case json::kind::int64:
      AppendInt(out, v.get_int64());
      break;
    case json::kind::uint64:
      AppendInt(out, v.get_uint64());
      break;
    case json::kind::double_:
      AppendDouble(out, v.get_double());
      break;
    case json::kind::bool_:
      out.append(v.get_bool() ? "true" : "false");
      break;
    default:
      break;  // null, objects and arrays have no text form
  }
}

bool Truthy(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return false;
    case json::kind::bool_:
      return v.get_bool();
    case json::kind::array:
      return !v.get_array().empty();
    case json::kind::string:
      return !v.get_string().empty();
    default:
      return true;
  }
}

}  // namespace

// Walks compiled nodes against a context stack of pointers into the caller's JSON.
class Renderer {
 public:
  Renderer(std::string& out, const json::value& root, const PartialLookup& partials)
      : out_(out), partials_(partials) {
    stack_.reserve(16);
    stack_.push_back(&root);
  }

  Status Run(const Template& t) { return Range(t, 0, t.nodes_.size(), 0); }

 private:
  Status Range(const Template& t, std::size_t begin, std::size_t end, int depth) {
    const std::vector<Template::Node>& nodes = t.nodes_;
    std::size_t i = begin;
    while (i < end) {
      const Template::Node& n = nodes[i];
      switch (n.kind) {
        case Kind::kText:
          out_.append(n.text);
          ++i;
          break;
        case Kind::kEscaped:
        case Kind::kRaw:
          if (const json::value* v = Resolve(n.path))
            AppendValue(out_, *v, n.kind == Kind::kEscaped);
          ++i;
          break;
        case Kind::kSection: {
          const json::value* v = Resolve(n.path);
          if (v != nullptr && Truthy(*v)) {
            if (const json::array* items = v->if_array()) {
              for (const json::value& item : *items) {
                stack_.push_back(&item);
                RETURN_IF_ERROR(Range(t, i + 1, n.end, depth));
                stack_.pop_back();
              }
            } else {
              stack_.push_back(v);
              RETURN_IF_ERROR(Range(t, i + 1, n.end, depth));
              stack_.pop_back();
            }
          }
          i = n.end;
          break;
        }
        case Kind::kInverted: {
          const json::value* v = Resolve(n.path);
          if (v == nullptr || !Truthy(*v)) RETURN_IF_ERROR(Range(t, i + 1, n.end, depth));
          i = n.end;
          break;
        }
        case Kind::kPartial: {
          if (depth >= kMaxPartialDepth) {
            return Status::Internal(Where(t, n) + "partials nested deeper than " +
                                    std::to_string(kMaxPartialDepth) + " (recursive partial?)");
          }
          const Template* p = partials_ ? partials_(n.text) : nullptr;
          if (p == nullptr) return Status::Internal(Where(t, n) + "partial not found: " + n.text);
          RETURN_IF_ERROR(Range(*p, 0, p->nodes_.size(), depth + 1));
          ++i;
          break;
        }
      }
    }
    return Status::Ok();
  }

  // Mustache lookup: the first segment up the stack (first object holding it wins), the rest
  // strictly inside what it found.
  const json::value* Resolve(const std::vector<std::string>& path) const {
    if (path.empty()) return stack_.back();
    const json::value* v = nullptr;
    for (auto it = stack_.rbegin(); it != stack_.rend() && v == nullptr; ++it) {
      if (const json::object* o = (*it)->if_object()) v = o->if_contains(path.front());
    }
    for (std::size_t k = 1; k < path.size() && v != nullptr; ++k) {
      const json::object* o = v->if_object();
      v = o != nullptr ? o->if_contains(path[k]) : nullptr;
    }
    return v;
  }

  static std::string Where(const Template& t, const Template::Node& n) {
    return "template '" + t.name() + "' line " + std::to_string(n.line) + ": ";
  }

  std::string& out_;
  const PartialLookup& partials_;
  std::vector<const json::value*> stack_;
};

Template::Template() = default;
Template::~Template() = default;

Template::Template(const Template& o)
    : name_(o.name_),
      nodes_(o.nodes_),
      text_bytes_(o.text_bytes_),
      size_hint_(o.size_hint_.load(std::memory_order_relaxed)) {}

Template::Template(Template&& o) noexcept
    : name_(std::move(o.name_)),
      nodes_(std::move(o.nodes_)),
      text_bytes_(o.text_bytes_),
      size_hint_(o.size_hint_.load(std::memory_order_relaxed)) {}

Template& Template::operator=(const Template& o) {
  if (this != &o) *this = Template(o);
  return *this;
}

Template& Template::operator=(Template&& o) noexcept {
  name_ = std::move(o.name_);
  nodes_ = std::move(o.nodes_);
  text_bytes_ = o.text_bytes_;
  size_hint_.store(o.size_hint_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  return *this;
}

Result<Template> Template::Compile(std::string_view src, std::string name) {
  Template t;
  t.name_ = std::move(name);
  LineCounter lines(src);
  auto error = [&](std::size_t offset, std::string_view what) {
    return Status::InvalidArgument("template '" + t.name_ + "' line " +
                                   std::to_string(lines.At(offset)) + ": " + std::string(what));
  };

  struct Open {
    std::size_t node;
    std::string_view name;
    std::size_t offset;
  };
  std::vector<Open> open;
  // Adjacent literal text (say, around a comment) is merged into one node; never across a
  // section boundary, where the previous node may be the last of a closed body.
  bool mergeable = false;
  auto add_text = [&](std::string_view s) {
    if (s.empty()) return;
    t.text_bytes_ += s.size();
    if (mergeable) {
      t.nodes_.back().text.append(s);
      return;
    }
    Node n;
    n.text = std::string(s);
    t.nodes_.push_back(std::move(n));
    mergeable = true;
  };

  std::size_t pos = 0;
  while (pos < src.size()) {
    const std::size_t tag = src.find("{{", pos);
    if (tag == std::string_view::npos) {
      add_text(src.substr(pos));
      break;
    }
    std::size_t p = tag + 2;
    const char sigil = p < src.size() ? src[p] : '\0';
    std::string_view close = "}}";
    switch (sigil) {
      case '{':
        close = "}}}";
        [[fallthrough]];
      case '&':
      case '#':
      case '^':
      case '/':
      case '!':
      case '>':
        ++p;
        break;
      case '=':
        return error(tag, "set-delimiter tags are not supported");
      default:
        break;
    }
    const std::size_t close_at = src.find(close, p);
    if (close_at == std::string_view::npos) {
      return error(tag, "unclosed tag: no '" + std::string(close) + "' after '{{'");
    }
    const std::string_view body = Trim(src.substr(p, close_at - p));
    std::size_t after = close_at + close.size();
    std::size_t text_end = tag;

    const bool may_stand_alone =
        sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!' || sigil == '>';
    std::size_t line_start = 0, next = 0;
    if (may_stand_alone && Standalone(src, pos, tag, after, &line_start, &next)) {
      // A partial keeps its indentation so the first line of what it renders lines up.
      if (sigil != '>') text_end = line_start;
      after = next;
    }
    add_text(src.substr(pos, text_end - pos));
    pos = after;

    if (sigil == '!') continue;
    if (!ValidName(body)) {
      return error(tag, "bad tag name '" + std::string(body) + "'");
    }
    if (sigil == '/') {
      if (open.empty()) return error(tag, "{{/" + std::string(body) + "}} closes no section");
      if (open.back().name != body) {
        return error(tag, "{{/" + std::string(body) + "}} does not close {{#" +
                              std::string(open.back().name) + "}} opened on line " +
                              std::to_string(lines.At(open.back().offset)));
      }
      t.nodes_[open.back().node].end = t.nodes_.size();
      open.pop_back();
      mergeable = false;
      continue;
    }

    Node n;
    n.line = lines.At(tag);
    n.text = std::string(body);
    switch (sigil) {
      case '{':
      case '&':
        n.kind = Kind::kRaw;
        break;
      case '#':
        n.kind = Kind::kSection;
        break;
      case '^':
        n.kind = Kind::kInverted;
        break;
      case '>':
        n.kind = Kind::kPartial;
        break;
      default:
        n.kind = Kind::kEscaped;
        break;
    }
    if (n.kind != Kind::kPartial && !SplitPath(body, &n.path)) {
      return error(tag, "bad tag name '" + std::string(body) + "'");
    }
    if (n.kind == Kind::kSection || n.kind == Kind::kInverted) {
      open.push_back({t.nodes_.size(), body, tag});
    }
    t.nodes_.push_back(std::move(n));
    mergeable = false;
  }
  if (!open.empty()) {
    return error(open.back().offset,
                 "section {{#" + std::string(open.back().name) + "}} is not closed");
  }
  return t;
}

Status Template::RenderTo(std::string& out, const json::value& context,
                          const PartialLookup& partials) const {
  const std::size_t start = out.size();
  const std::size_t hint = size_hint_.load(std::memory_order_relaxed);
  out.reserve(start + std::max(hint + hint / 8, text_bytes_ + text_bytes_ / 4 + 64));
  Renderer r(out, context, partials);
  RETURN_IF_ERROR(r.Run(*this));
  // Pages of one template are of similar size from render to render; remember the largest.
  const std::size_t produced = out.size() - start;
  if (produced > hint) size_hint_.store(produced, std::memory_order_relaxed);
  return Status::Ok();
}

Result<std::string> Template::Render(const json::value& context,
                                     const PartialLookup& partials) const {
  std::string out;
  RETURN_IF_ERROR(RenderTo(out, context, partials));
  return out;
}

std::vector<std::string_view> Template::PartialNames() const {
  std::vector<std::string_view> names;
  for (const Node& n : nodes_) {
    if (n.kind == Kind::kPartial) names.push_back(n.text);
  }
  return names;
}

Result<TemplateSet> TemplateSet::Compile(const std::vector<TemplateSource>& sources) {
  TemplateSet set;
  for (const TemplateSource& s : sources) {
    if (set.templates_.contains(s.name)) {
      return Status::InvalidArgument("template '" + std::string(s.name) + "' given twice");
    }
    ASSIGN_OR_RETURN(Template t, Template::Compile(s.source, std::string(s.name)));
    set.templates_.emplace(std::string(s.name), std::move(t));
  }
  for (const auto& [name, t] : set.templates_) {
    for (std::string_view partial : t.PartialNames()) {
      if (set.Find(partial) == nullptr) {
        return Status::InvalidArgument("template '" + name + "' includes {{> " +
                                       std::string(partial) + "}}, which is not in the set");
      }
    }
  }
  return set;
}

const Template* TemplateSet::Find(std::string_view name) const {
  auto it = templates_.find(name);
  return it == templates_.end() ? nullptr : &it->second;
}

PartialLookup TemplateSet::Lookup() const {
  // Captures one pointer, which std::function stores without allocating.
  return [this](std::string_view name) { return Find(name); };
}

Status TemplateSet::RenderTo(std::string& out, std::string_view name,
                             const json::value& context) const {
  const Template* t = Find(name);
  if (t == nullptr) return Status::NotFound("template not found: " + std::string(name));
  return t->RenderTo(out, context, Lookup());
}

Result<std::string> TemplateSet::Render(std::string_view name, const json::value& context) const {
  std::string out;
  RETURN_IF_ERROR(RenderTo(out, name, context));
  return out;
}

}  // namespace abierto::tmpl
