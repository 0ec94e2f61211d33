// Stable, platform-independent hashing for trial ids and artifact checksums. FNV-1a (64 bit) is
// not cryptographic; it only has to be stable across runs, machines and compilers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace orch {

class Fnv1a64 {
 public:
  void update(const void* data, std::size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::uint64_t digest() const { return state_; }
  std::string hex() const;  // 16 lower-case hex digits

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ULL;
};

std::string hash_hex(std::string_view s);

// Checksum of a whole file ("fnv1a64:<hex>"); throws orch::Error naming the file if unreadable.
std::string file_checksum(const std::string& path);

}  // namespace orch
