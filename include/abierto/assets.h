// Files compiled into the binary: templates, message catalogues, the stylesheet and scripts.
// Paths are relative to the repository root ("assets/static/abierto.css",
// "src/modules/plan/templates/plan.html"). Thread-safety: read-only static data.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace abierto::assets {

// The bytes of an embedded file, or nullopt.
std::optional<std::string_view> Find(std::string_view path);
// Every embedded path, for listings and tests.
std::vector<std::string_view> List();

}  // namespace abierto::assets
