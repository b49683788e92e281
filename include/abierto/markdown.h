// Markdown for descriptions that publishers write (dataset notes, the open-data policy).
//
// Rendered with cmark-gfm (CommonMark plus GitHub tables, strikethrough and autolinks) in its
// safe mode: raw HTML in the source is dropped and links with javascript:, vbscript:, file:
// or data: (other than images) become empty, so the result can go into a page unescaped.
//
// Thread-safety: free functions, safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace abierto::markdown {

// Safe HTML for `source` (UTF-8). Invalid UTF-8 is replaced, never passed through.
std::string ToHtml(std::string_view source);

// The text without markup, for search indexes, meta descriptions and plain-text exports.
std::string ToPlainText(std::string_view source);

}  // namespace abierto::markdown
