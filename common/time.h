// Wall-clock timestamps for records that people read (provenance, reports).
#pragma once

#include <ctime>
#include <string>

namespace orch {

// UTC now, ISO 8601 to the second: "2026-12-04T13:45:00Z".
inline std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace orch
