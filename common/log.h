// Logging goes through spdlog's default logger, to stderr; stdout is kept for results (tables,
// JSON) and progress a user asked for. main() calls init_logging once; libraries only log.
// Live progress (common/progress.h) shares stderr: the logger's sink clears the progress bar
// before each line and redraws it after, so bars and log lines never garble each other.
#pragma once

#include <spdlog/spdlog.h>

#include <optional>
#include <string>

namespace orch {

// level: trace, debug, info, warn, error. `rank` >= 0 prefixes every line with the MPI rank.
// Also configures the process-wide progress console for stderr (bars on a terminal, plain lines
// elsewhere). `progress_interval_s` is the plain-line interval; when not given it comes from
// ORCH_PROGRESS_INTERVAL_S (seconds; read here, at the edge, since the CLI calls this once
// before any command), else 5 s.
void init_logging(const std::string& level, int rank = -1,
                  std::optional<double> progress_interval_s = std::nullopt);

}  // namespace orch
