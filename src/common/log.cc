#include "common/log.h"

#include <unistd.h>

#include <cstdlib>

#include <spdlog/sinks/stdout_sinks.h>

namespace cutover {

void InitLogging() {
  auto logger = spdlog::stderr_logger_mt("cutover");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  const char* level = std::getenv("CUTOVER_LOG");
  logger->set_level(level ? spdlog::level::from_str(level) : spdlog::level::info);
  spdlog::set_default_logger(logger);
}

bool StderrIsTerminal() {
  return isatty(STDERR_FILENO) == 1;
}

}  // namespace cutover
