// StageMachine: the one way a migration's stage changes. Each transition is a
// single transaction: lock, check, evaluate guards, write, audit, notify.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "control/guards.h"
#include "control/stage.h"
#include "spec/spec.h"
#include "target/pg_connection.h"

namespace cutover::control {

// StageMachine design
//
// Invariant: cutover.stage holds exactly the state reached by the applied
// rows of cutover.stage_audit, in id order, and every process that reads the
// stage after a transition commits sees it.
//
// Why it holds: a transition runs in one transaction that takes the stage
// row's lock (SELECT ... FOR UPDATE, after creating the row if absent), checks
// the move against the state it just locked, evaluates the guards against the
// control tables in the same snapshot, then updates cutover.stage, appends the
// audit row and calls pg_notify. Two concurrent transitions serialize on the
// row lock, so neither can apply a move checked against a stale state; the
// audit row and the NOTIFY commit or vanish with the change itself (NOTIFY is
// delivered only at commit), so no listener hears of a change that rolled
// back and no change goes unaudited. A refused attempt is audited too
// (applied = false, with the guard results), so the table tells what was
// tried, by whom, and why it was refused; --force is recorded in `forced`.
//
// Cost: one round trip per statement inside one short transaction; guards
// read small control tables (read_stats is summed over its window, one row
// per reporter per second).
struct TransitionRequest {
  Stage to = Stage::kLegacy;
  // Required for rollout; others imply theirs (ImpliedPercent).
  std::optional<int> percent;
  bool force = false;  // apply even when guards are unmet; recorded
  std::string who;     // "user@host (cli)", "http 127.0.0.1"
  std::string why;     // free text from --reason
};

struct TransitionOutcome {
  StageState before;
  StageState after;  // == before when refused
  GuardReport guards;
  bool applied = false;
  bool forced = false;  // applied although a guard was unmet
};

// Moves the migration. InvalidArgument for an illegal move (CheckLegal), or a
// rollout without a percent; a refused move is not an error: the outcome has
// applied == false and names the guards. kUnavailable when PostgreSQL cannot
// be reached. Creates the control tables when absent.
Result<TransitionOutcome> Transition(target::PgConnection* conn,
                                     const spec::MigrationSpec& migration,
                                     const TransitionRequest& request);

}  // namespace cutover::control
