#include "common/log.h"

#include <cstdlib>
#include <memory>

#include <spdlog/sinks/sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "common/progress.h"
#include "common/status.h"

namespace orch {

namespace {

// Writes through `inner` with the progress bar cleared around every line.
class ProgressAwareSink : public spdlog::sinks::sink {
 public:
  ProgressAwareSink(std::shared_ptr<spdlog::sinks::sink> inner, ProgressConsole& console)
      : inner_(std::move(inner)), console_(console) {}
  void log(const spdlog::details::log_msg& msg) override {
    console_.print_above([&] { inner_->log(msg); });
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    inner_->set_formatter(std::move(formatter));
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_;
  ProgressConsole& console_;
};

std::optional<double> progress_interval_from_env() {
  const char* v = std::getenv("ORCH_PROGRESS_INTERVAL_S");
  if (!v || !*v) return std::nullopt;
  char* end = nullptr;
  const double s = std::strtod(v, &end);
  if (end == v || *end != '\0' || !(s >= 0)) return std::nullopt;
  return s;
}

}  // namespace

void init_logging(const std::string& level, int rank, std::optional<double> progress_interval_s) {
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off")
    throw Error("unknown log level '" + level +
                "'; expected trace, debug, info, warn, error or off");
  ProgressConsole& console = progress_console();
  console.configure(stderr_progress_options(progress_interval_s ? progress_interval_s
                                                                : progress_interval_from_env()));
  auto sink = std::make_shared<ProgressAwareSink>(
      std::make_shared<spdlog::sinks::stderr_color_sink_mt>(), console);
  auto logger = std::make_shared<spdlog::logger>("orch", std::move(sink));
  const std::string who = rank >= 0 ? "[rank " + std::to_string(rank) + "] " : "";
  logger->set_pattern("%H:%M:%S %^%l%$ " + who + "%v");
  logger->set_level(parsed);
  spdlog::set_default_logger(logger);
}

}  // namespace orch
