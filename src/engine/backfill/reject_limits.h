// What a backfill says about rejects as it goes: the dry run's first few
// "would reject" warnings, and the stop when --max-rejects is passed.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/reject.h"

namespace cutover::engine {

// A dry run warns about this many rejects of the whole run, then counts the
// rest silently: enough to see what goes wrong without a wall of warnings.
inline constexpr int64_t kDryRunWarnings = 20;

// Counts `rejects` into *run_rejects, warning about each while the run's
// count is within kDryRunWarnings. Not thread-safe: callers serialize.
void WarnWouldReject(const std::vector<Reject>& rejects, std::atomic<int64_t>* run_rejects);

// Logs that `entity` stops because `rejected` records exceed --max-rejects.
void LogStopOnRejects(std::string_view entity, int64_t rejected, int64_t max_rejects,
                      const std::string& reject_file);

}  // namespace cutover::engine
