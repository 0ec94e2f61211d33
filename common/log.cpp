#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace orch {

void init_logging(const std::string& level, int rank) {
  auto logger = spdlog::stderr_color_mt("orch");
  const std::string who = rank >= 0 ? "[rank " + std::to_string(rank) + "] " : "";
  logger->set_pattern("%H:%M:%S %^%l%$ " + who + "%v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

}  // namespace orch
