#include "abierto/assets.h"

#include <utility>

namespace abierto::assets_internal {
extern const std::pair<std::string_view, std::string_view> kTable[];
}

namespace abierto::assets {

std::optional<std::string_view> Find(std::string_view path) {
  for (const auto* e = assets_internal::kTable; !e->first.empty(); ++e)
    if (e->first == path) return e->second;
  return std::nullopt;
}

std::vector<std::string_view> List() {
  std::vector<std::string_view> out;
  for (const auto* e = assets_internal::kTable; !e->first.empty(); ++e) out.push_back(e->first);
  return out;
}

}  // namespace abierto::assets
