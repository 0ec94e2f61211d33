#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "common/status.h"

namespace orch {

void init_logging(const std::string& level, int rank) {
  auto logger = spdlog::stderr_color_mt("orch");
  const std::string who = rank >= 0 ? "[rank " + std::to_string(rank) + "] " : "";
  logger->set_pattern("%H:%M:%S %^%l%$ " + who + "%v");
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off")
    throw Error("unknown log level '" + level +
                "'; expected trace, debug, info, warn, error or off");
  logger->set_level(parsed);
  spdlog::set_default_logger(logger);
}

}  // namespace orch
