// StageMachine: the one way a migration's stage changes. Each transition is a
// single transaction: lock, check, evaluate guards, write, audit, notify.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "control/guards.h"
#include "control/stage.h"
#include "spec/spec.h"
#include "stores/postgres/pg_connection.h"

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
// back and no change goes unaudited. Every other attempt is audited too, so
// the table tells what was tried, by whom, and why it did not apply: a
// refused one with the guard results, an illegal one (a skipped stage, a
// percent outside rollout) with the rule it broke, committed on its own
// without touching cutover.stage, and a malformed one (a forced move without
// a reason, a reason with control characters; see ValidateRequest) before
// any lock is taken. --force is recorded in `forced`.
//
// Cost: one round trip per statement inside one short transaction; guards
// read small control tables (read_stats is summed over its window, one row
// per reporter per second).
struct TransitionRequest {
  Stage to = Stage::kLegacy;
  // Required for rollout; others imply theirs (ImpliedPercent).
  std::optional<int> percent;
  bool force = false;  // apply even when guards are unmet; needs `why`; recorded
  // Who asked, from an identity the caller proved or the OS gave, never from
  // the environment: "alice@host (cli)", "token:ops (http 127.0.0.1)".
  std::string who;
  std::string why;  // free text, at most kMaxReasonBytes, no control characters
  // Set by `cutover rollback`, which has just written PostgreSQL's state into
  // the legacy store: moving back from primary then needs no way back.
  bool legacy_holds_postgres_state = false;
};

// Longest reason kept in the audit trail, in bytes: a sentence or two, so a
// client cannot store megabytes per attempt.
inline constexpr size_t kMaxReasonBytes = 1000;

// InvalidArgument naming the field when the request is malformed whatever
// the stage: a forced move without a reason, a reason over kMaxReasonBytes or
// holding a control character (a NUL would cut it short in PostgreSQL, a
// newline would forge lines in `phase status`), an empty `who`.
Status ValidateRequest(const TransitionRequest& request);

struct TransitionOutcome {
  StageState before;
  StageState after;  // == before when refused
  GuardReport guards;
  bool applied = false;
  bool forced = false;  // applied although a guard was unmet
  std::string illegal;  // why the move is illegal (audited, nothing else done); "" if legal
  // The way back lives only at primary: leaving it drops its replication
  // slots (catalog/way_back.h), or says why they are still there.
  std::vector<std::string> way_back_slots_dropped{};
  std::string way_back_slots_kept{};
};

// Moving back from primary while the way back has slots (catalog/way_back.h)
// is FailedPrecondition, before anything is written, when a `cutover sync`
// still streams from one (the legacy store would take writes from both
// sides), or when the slots may hold changes the legacy store lacks and the
// move is neither forced nor made by `cutover rollback`.
//
// Moves the migration. InvalidArgument for a malformed request
// (ValidateRequest), an illegal move (CheckLegal) or a rollout without a
// percent, each audited first; a refused move is not an error: the outcome
// has applied == false and names the guards. kUnavailable when PostgreSQL
// cannot be reached. Creates the control tables when absent.
Result<TransitionOutcome> Transition(pg_store::PgConnection* conn,
                                     const spec::MigrationSpec& migration,
                                     const TransitionRequest& request);

// Audits an attempt whose request could not even be read as one (a field of
// the wrong type or out of range, an unknown stage or field): outcome
// `invalid`, with `problem` as the detail and the stage it stood at. The
// request's reason is not stored, since it may be what was malformed.
// `to_stage` is "" when no known stage was named.
Status RecordInvalidAttempt(pg_store::PgConnection* conn, const spec::MigrationSpec& migration,
                            const std::string& who, const std::string& to_stage,
                            std::optional<int> to_percent, const std::string& problem);

}  // namespace cutover::control
