// Logging goes through spdlog's default logger, to stderr; stdout is kept for results (tables,
// JSON) and progress a user asked for. main() calls init_logging once; libraries only log.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace orch {

// level: trace, debug, info, warn, error. `rank` >= 0 prefixes every line with the MPI rank.
void init_logging(const std::string& level, int rank = -1);

}  // namespace orch
