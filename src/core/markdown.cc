#include "abierto/markdown.h"

#include <cmark-gfm.h>

#include <cstdlib>
#include <memory>

namespace abierto::markdown {
namespace {

// Safe mode is cmark-gfm's default (raw HTML and dangerous link schemes dropped);
// VALIDATE_UTF8 replaces broken sequences so that the output is always valid UTF-8. The GFM
// extensions are left out on purpose: tables align cells with style attributes, which the
// site's Content-Security-Policy forbids.
constexpr int kOptions = CMARK_OPT_VALIDATE_UTF8 | CMARK_OPT_NOBREAKS;

std::string Take(char* s) {
  std::string out = s ? s : "";
  std::free(s);
  return out;
}

}  // namespace

std::string ToHtml(std::string_view source) {
  return Take(cmark_markdown_to_html(source.data(), source.size(), kOptions));
}

std::string ToPlainText(std::string_view source) {
  std::unique_ptr<cmark_node, decltype(&cmark_node_free)> doc(
      cmark_parse_document(source.data(), source.size(), kOptions), &cmark_node_free);
  if (!doc) return "";
  std::string out = Take(cmark_render_plaintext(doc.get(), kOptions, 0));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace abierto::markdown
