// Guards: the evidence a forward stage change needs, read from the target's
// control tables; each names what it checked and, when unmet, what is missing.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "control/stage.h"
#include "spec/spec.h"
#include "target/pg_connection.h"

namespace cutover::control {

// Guards by the stage moved into (windows and bounds from the spec's `stages:`):
//   dual_write  indexes_in_place  no bulk load has the target's keys set aside
//               (applications' upserts need them)
//   shadow      backfill_done  every entity's cutover.backfill_ledger row is done
//               verify_clean   every entity's latest cutover.verify_runs row is clean
//   rollout     shadow_window  shadow (or later) has held for `window`
//   (or a      shadow_mismatch_rate  over the last `window`, at least
//   higher %)                  `shadow_min_reads` shadow reads and a mismatch
//                              rate at most `shadow_mismatch_rate`
//   primary     rollout_full   the migration is at rollout 100%
//               fallback_window  it has held 100% for `fallback_window`
//               no_fallbacks   no fallback to legacy recorded in that window
//   complete    journal_empty  cutover.journal holds no write still to replay
//                              (no journal table: nothing was ever journaled)
//               verify_clean   as above
// Backward moves have no guards.
struct GuardResult {
  std::string name;
  bool passed = false;
  std::string detail;  // what was found, in words a user can act on
};

struct GuardReport {
  std::vector<GuardResult> results;

  bool passed() const;
  // The first unmet guard, or null when all passed.
  const GuardResult* FirstUnmet() const;
  // [{"name", "passed", "detail"}...], as stored in cutover.stage_audit.guards.
  nlohmann::json ToJson() const;
};

// Evaluates the guards of moving from `from` to (`to`, `to_percent`). Reads
// only; callers that act on the outcome run it inside their transaction.
Result<GuardReport> EvaluateGuards(target::PgConnection* conn, const spec::MigrationSpec& migration,
                                   const StageState& from, Stage to, int to_percent);

// "10s", "5m", "48h", "1h30m": durations as a user writes them in the spec.
std::string FormatSeconds(int64_t seconds);

}  // namespace cutover::control
