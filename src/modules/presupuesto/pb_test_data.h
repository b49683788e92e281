// Test helper: where the shared Pabulib reference files live.
//
// Tests find them through ABIERTO_SOURCE_DIR (ctest sets it to the repository root); the
// files sit in ../shared/data/pabulib/ next to the checkout and are never copied into it.
// Thread-safety: pure functions.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace abierto::presupuesto::testing {

inline std::filesystem::path PabulibDir() {
  const char* root = std::getenv("ABIERTO_SOURCE_DIR");
  if (root == nullptr) return {};
  return std::filesystem::path(root) / ".." / "shared" / "data" / "pabulib";
}

inline std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace abierto::presupuesto::testing
