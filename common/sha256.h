// SHA-256 (FIPS 180-4), for checksums that other tools must be able to reproduce: a file's digest
// here equals `sha256sum`'s. Lower-case hex, 64 digits. Our own implementation, standard library
// only.
#pragma once

#include <string>
#include <string_view>

namespace orch {

std::string sha256_hex(std::string_view data);

// The digest of the file's bytes; throws orch::Error naming the file when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace orch
