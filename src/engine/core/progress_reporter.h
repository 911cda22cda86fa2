// Progress of long work: a line redrawn in place on a terminal (rows, rows/s,
// ETA), a plain log line every few seconds otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace cutover::engine {

// Not thread-safe; owned by the loop doing the work.
class ProgressReporter {
 public:
  // `total_bytes` < 0 when the size is unknown (no ETA then).
  ProgressReporter(std::string label, int64_t total_bytes);
  // Call after each batch; prints at most a few times per second.
  void Update(int64_t rows, int64_t bytes_done);
  // Clears a terminal line so the next output starts clean.
  void Finish();

 private:
  std::string label_;
  int64_t total_bytes_;
  bool terminal_;
  bool drew_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
};

std::string FormatDuration(double seconds);

}  // namespace cutover::engine
