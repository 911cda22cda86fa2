// Guards: the evidence a forward stage change needs, read from the target's
// control tables; each names what it checked and, when unmet, what is missing.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "control/stage.h"
#include "spec/spec.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::control {

// Guards by the stage moved into (windows and bounds from the spec's `stages:`):
//   dual_write  indexes_in_place  no bulk load has the target's keys set aside
//               (applications' upserts need them)
//               file_backfills_finished  no backfill of a file the gateway
//               writes (a JSON file, a Parquet archive) begun at legacy
//               (unversioned) is still under way
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
//               verify_clean   as above
// and, for rollout, primary and complete, gateways_drained: every gateway
// journal has landed the writes acknowledged before the move (it waits up
// to stages.drain_timeout; control/gateway_drain.h).
// Backward moves have no guards.
//
// A guard with nothing to judge never passes: a missing journal table, no
// entity in the spec, no shadow read or no read served by PostgreSQL in the
// window is "cannot be evaluated" (evaluated false, passed false), never a
// clean result; --force --reason is the way past it, and is recorded.
struct GuardResult {
  std::string name;
  bool passed = false;
  std::string detail;  // what was found, in words a user can act on
  // False when the evidence the guard reads does not exist; then `passed` is
  // false too and `detail` starts with "cannot be evaluated".
  bool evaluated = true;
};

struct GuardReport {
  std::vector<GuardResult> results;

  bool passed() const;
  // The first unmet guard, or null when all passed.
  const GuardResult* FirstUnmet() const;
  // [{"name", "passed", "evaluated", "detail"}...], as stored in
  // cutover.stage_audit.guards.
  nlohmann::json ToJson() const;
};

// Evaluates the guards of moving from `from` to (`to`, `to_percent`). Reads
// only; callers that act on the outcome run it inside their transaction.
Result<GuardReport> EvaluateGuards(pg_store::PgConnection* conn,
                                   const spec::MigrationSpec& migration, const StageState& from,
                                   Stage to, int to_percent);

// "10s", "5m", "48h", "1h30m": durations as a user writes them in the spec.
std::string FormatSeconds(int64_t seconds);

}  // namespace cutover::control
