// Helpers shared by the phantom and dataset tests: the options a test writes a phantom with, and
// a folder's files as bytes (to compare two phantoms for byte identity).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "common/config/config.h"
#include "common/fs.h"

namespace orch::testing {

// PhantomOptions with generation enabled: `cases` cases of `size` voxels (i, j, k) from `seed`.
inline PhantomOptions phantom_options(std::uint64_t seed, int cases, std::array<int, 3> size) {
  PhantomOptions o;
  o.enabled = true;
  o.cases = cases;
  o.seed = seed;
  o.size = size;
  return o;
}

// Relative path -> bytes of every regular file under `root`.
inline std::map<std::string, std::string> tree_bytes(const std::filesystem::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file())
      out[std::filesystem::relative(e.path(), root).string()] = read_file(e.path());
  return out;
}

}  // namespace orch::testing
