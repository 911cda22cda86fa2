// The dry run's reject warnings and the --max-rejects stop message, said the
// same way by every runner.
#include "engine/backfill/reject_limits.h"

#include <spdlog/spdlog.h>

namespace cutover::engine {

void WarnWouldReject(const std::vector<Reject>& rejects, std::atomic<int64_t>* run_rejects) {
  for (const auto& r : rejects) {
    if (++*run_rejects <= kDryRunWarnings) {
      spdlog::warn("would reject {} at {}: {}", r.entity, r.PositionText(), r.reason);
    }
  }
}

void LogStopOnRejects(std::string_view entity, int64_t rejected, int64_t max_rejects,
                      const std::string& reject_file) {
  spdlog::error("{}: {} records rejected, more than --max-rejects {}; stopping (see {})", entity,
                rejected, max_rejects, reject_file);
}

}  // namespace cutover::engine
