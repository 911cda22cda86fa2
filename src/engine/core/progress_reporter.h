// Progress of long work: a line redrawn in place on a terminal (rows, rows/s,
// ETA), a plain log line every few seconds otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace cutover::engine {

// Progress is measured in units of the caller's choosing, named by `unit`:
// bytes for a store whose partitions' sizes are known and record counts are
// not (JSON files), rows for one that plans its records (Parquet, CSV). Rows are always what the
// line counts; units only place the work between 0 and total for the ETA. Not thread-safe; owned by
// the loop doing the work.
class ProgressReporter {
 public:
  // `total_units` < 0 when the size is unknown (no ETA then).
  ProgressReporter(std::string label, int64_t total_units, std::string unit);
  // Call after each batch; prints at most a few times per second.
  void Update(int64_t rows, int64_t units_done);
  // Clears a terminal line so the next output starts clean.
  void Finish();

 private:
  std::string label_;
  int64_t total_units_;
  std::string unit_;  // what total_units_ counts: "bytes", "rows"
  int64_t units_done_ = 0;
  bool terminal_;
  bool drew_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
};

std::string FormatDuration(double seconds);

}  // namespace cutover::engine
