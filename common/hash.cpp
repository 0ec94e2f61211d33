#include "common/hash.h"

#include <cstdio>
#include <fstream>
#include <vector>

#include "common/status.h"

namespace orch {

void Fnv1a64::update(const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    state_ ^= p[i];
    state_ *= 0x100000001b3ULL;
  }
}

std::string Fnv1a64::hex() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(state_));
  return buf;
}

std::string hash_hex(std::string_view s) {
  Fnv1a64 h;
  h.update(s);
  return h.hex();
}

std::string file_checksum(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "' to checksum it");
  Fnv1a64 h;
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  return "fnv1a64:" + h.hex();
}

}  // namespace orch
