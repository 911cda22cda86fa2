#include "engine/core/progress_reporter.h"

#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/log.h"

namespace cutover::engine {

std::string FormatDuration(double seconds) {
  if (seconds < 60) return fmt::format("{:.0f}s", seconds);
  if (seconds < 3600) return fmt::format("{:.0f}m{:02.0f}s", seconds / 60, std::fmod(seconds, 60));
  return fmt::format("{:.0f}h{:02.0f}m", seconds / 3600, std::fmod(seconds / 60, 60));
}

ProgressReporter::ProgressReporter(std::string label, int64_t total_units, std::string unit)
    : label_(std::move(label)),
      total_units_(total_units),
      unit_(std::move(unit)),
      terminal_(StderrIsTerminal()),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

void ProgressReporter::Update(int64_t rows, int64_t units_done) {
  units_done_ = units_done;
  auto now = std::chrono::steady_clock::now();
  auto since = now - last_print_;
  if (since < (terminal_ ? std::chrono::milliseconds(200) : std::chrono::seconds(5))) return;
  last_print_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double rate = elapsed > 0 ? rows / elapsed : 0;
  std::string eta;
  if (total_units_ > 0 && units_done > 0 && units_done < total_units_) {
    double left = elapsed * (static_cast<double>(total_units_ - units_done) / units_done);
    eta = fmt::format(", {:.0f}% done, ETA {}", 100.0 * units_done / total_units_,
                      FormatDuration(left));
  }
  std::string line = fmt::format("{}: {} rows, {:.0f} rows/s{}", label_, rows, rate, eta);
  if (terminal_) {
    fmt::print(stderr, "\r\033[K{}", line);
    std::fflush(stderr);
    drew_ = true;
  } else {
    spdlog::info("{}", line);
  }
}

void ProgressReporter::Finish() {
  spdlog::debug("{}: {} of {} {} done", label_, units_done_, total_units_, unit_);
  if (terminal_ && drew_) {
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
  }
}

}  // namespace cutover::engine
