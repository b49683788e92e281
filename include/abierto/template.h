// HTML templates: a logic-less, Mustache-style engine rendering against a JSON context.
//
// A Template is compiled once from its source and rendered many times. Rendering walks a flat
// list of pre-parsed nodes and resolves names to pointers into the caller's boost::json::value,
// so no JSON value is copied while rendering. Output is HTML-escaped unless a raw tag asks
// otherwise.
//
// Supported tags:
//   {{name}}            the value, HTML-escaped (& < > " ' become entities). Strings as they are,
//                       integers without decimals, doubles with at most two decimals (trailing
//                       zeros trimmed), true/false as words; null, objects, arrays and unknown
//                       names render nothing.
//   {{{name}}} {{& name}}  the value unescaped. Only for HTML the application built itself
//                       (an SVG chart, Markdown already sanitized), never for user input.
//   {{#name}}..{{/name}}   a section. Skipped when the value is missing, null, false, an empty
//                       array or an empty string; repeated once per element of a non-empty array
//                       (the element pushed on the context stack); otherwise (an object, true, a
//                       number — zero included — or a non-empty string) rendered once with the
//                       value pushed. Use a boolean to switch a block on a count.
//   {{^name}}..{{/name}}   inverted: rendered exactly when the section above would be skipped.
//   {{a.b.c}}           dotted names: `a` is resolved up the context stack, then b and c are
//                       looked up inside it (and nowhere else).
//   {{.}}               the top of the context stack (the current array element).
//   {{! comment}}       nothing.
//   {{> name}}          a partial, rendered with the current context stack.
// Names are resolved as in Mustache: the stack is searched from the top, and the first object
// holding the key wins. Beware that a key missing from an element is therefore found in an
// outer context: a tree rendered by a partial that includes itself for {{#children}} needs an
// explicit empty "children" on its leaves, or the recursion stops only at kMaxPartialDepth.
// A line holding only a section, inverted, close, comment or partial tag
// (and spaces or tabs) leaves no blank line behind. Unlike the Mustache spec, the lines of an
// indented standalone partial are not re-indented: the HTML does not need it and it would cost a
// pass over the partial's output. Set-delimiter tags ({{=<% %>=}}) are not supported.
//
// Thread-safety: a compiled Template and a TemplateSet are immutable; any number of threads may
// render them at once.
#pragma once

#include <atomic>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "abierto/status.h"

namespace abierto::tmpl {

class Template;

// Finds a partial by name while rendering. Returns a Template owned by the caller that must
// outlive the render, or nullptr when there is no such partial (the render then fails).
using PartialLookup = std::function<const Template*(std::string_view name)>;

// The deepest chain of partials a render may enter; deeper means runaway recursion.
inline constexpr int kMaxPartialDepth = 32;

class Template {
 public:
  // Parses `source`. `name` is used in error messages and by TemplateSet. Returns
  // InvalidArgument naming the template and the line for an unclosed tag, an unclosed section,
  // a close tag not matching the open section, an empty or malformed name, or a set-delimiter
  // tag. The Template owns copies of everything it needs; `source` may be freed afterwards.
  static Result<Template> Compile(std::string_view source, std::string name);

  // Renders into a new string. `partials` may be empty when the template has no partial tags.
  // Errors (Internal, since they are bugs in the templates, not in the input): a partial that
  // `partials` does not find, partials nested deeper than kMaxPartialDepth.
  Result<std::string> Render(const boost::json::value& context,
                             const PartialLookup& partials = {}) const;

  // Appends the output to `out`, so a caller may reuse one buffer across renders. On error,
  // `out` holds what was rendered before the error and should be discarded.
  Status RenderTo(std::string& out, const boost::json::value& context,
                  const PartialLookup& partials = {}) const;

  const std::string& name() const { return name_; }
  // Names of the partials this template includes directly, in order of appearance (repeats
  // kept). TemplateSet uses it to check that every partial exists.
  std::vector<std::string_view> PartialNames() const;

  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  Template(const Template&);
  Template& operator=(const Template&);
  ~Template();

 private:
  struct Node;  // defined in template.cc
  friend class Renderer;

  Template();

  std::string name_;
  std::vector<Node> nodes_;
  // Bytes of literal text; a floor for the output size.
  std::size_t text_bytes_ = 0;
  // The largest output seen so far, so Render() can reserve the whole page in one allocation.
  // Relaxed atomics: it is only a hint and may be stale.
  mutable std::atomic<std::size_t> size_hint_{0};
};

// One named source for TemplateSet. The views need only live through TemplateSet::Compile.
struct TemplateSource {
  std::string_view name;
  std::string_view source;
};

// A registry of named templates that include one another as partials ({{> name}} finds the
// template of that name in the same set). Built once, typically from the embedded assets at
// startup, then shared.
class TemplateSet {
 public:
  // Compiles every source. Returns InvalidArgument for the first compile error, for a name
  // given twice, or for a partial tag naming a template that is not in the set — so a broken
  // template is found at startup rather than on the page that uses it.
  static Result<TemplateSet> Compile(const std::vector<TemplateSource>& sources);

  // The template called `name`, owned by the set, or nullptr.
  const Template* Find(std::string_view name) const;
  std::size_t size() const { return templates_.size(); }

  // Renders the template called `name`. NotFound if the set has no such template; otherwise as
  // Template::Render.
  Result<std::string> Render(std::string_view name, const boost::json::value& context) const;
  // Appends to `out`; as Template::RenderTo.
  Status RenderTo(std::string& out, std::string_view name, const boost::json::value& context) const;

 private:
  TemplateSet() = default;
  PartialLookup Lookup() const;

  // std::map keeps element addresses stable, so Template pointers handed out stay valid when
  // the set is moved.
  std::map<std::string, Template, std::less<>> templates_;
};

}  // namespace abierto::tmpl
