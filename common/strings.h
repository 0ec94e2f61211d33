// Small string helpers shared by every folder.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace orch {

// "a, b, c" (or with another separator) from any list whose items `<<` into a stream.
template <typename Items>
std::string join(const Items& items, const std::string& separator = ", ") {
  std::ostringstream out;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out << separator;
    out << item;
    first = false;
  }
  return out.str();
}

}  // namespace orch
