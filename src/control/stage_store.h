// The stage machine's view of its tables (catalog/stage.h, stage_audit.h,
// read_stats.h): the current stage as a StageState, attempts as outcomes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/read_stats.h"
#include "catalog/stage_audit.h"
#include "common/status.h"
#include "control/stage.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::control {

// NOTIFY channel of stage changes; the payload is {"migration", "version"}
// and is only a hint to re-read, never the state itself.
inline constexpr char kStageChannel[] = "cutover_stage";

// Creates (or upgrades) the control schema, stage tables included
// (catalog::EnsureControlSchema). Idempotent; safe from several processes.
Status EnsureStageSchema(pg_store::PgConnection* conn);

// The current state; a migration that never moved (no row, or no schema yet)
// is at `legacy` with version 0, so a reader needs no write privilege.
Result<StageState> ReadStage(pg_store::PgConnection* conn, const std::string& migration);

// What became of an attempt to move the stage; the `outcome` column.
//   applied  every guard passed        forced   applied with a guard unmet
//   refused  a guard unmet, no force   illegal  the move is never allowed
//                                               from where the stage stood
//   invalid  the request itself was malformed (a bad field, a forced move
//            without a reason); nothing was judged
enum class AttemptOutcome { kApplied, kForced, kRefused, kIllegal, kInvalid };
std::string_view AttemptOutcomeName(AttemptOutcome outcome);

// One attempt, as AppendAudit writes it.
struct AuditRecord {
  StageState from;                // where the stage stood
  std::string to_stage;           // "" when the request named no known stage
  std::optional<int> to_percent;  // none when not given or not a percent
  std::string who;
  std::string why;
  AttemptOutcome outcome = AttemptOutcome::kInvalid;
  std::string detail;  // why it was refused, illegal or invalid; "" otherwise
  nlohmann::json guards = nlohmann::json::array();
};

// Appends one row to cutover.stage_audit; in the caller's transaction, if any.
Status AppendAudit(pg_store::PgConnection* conn, const std::string& migration,
                   const AuditRecord& record);

// One row of the audit trail (catalog/stage_audit.h).
using AuditEntry = catalog::AuditEntry;

// The newest `limit` entries, newest first.
Result<std::vector<AuditEntry>> ReadAudit(pg_store::PgConnection* conn,
                                          const std::string& migration, int limit);

// Read outcomes reported by a process that serves reads; the guards into
// rollout and primary read these (catalog/read_stats.h).
using ReadCounts = catalog::ReadCounts;

// Adds `counts` to the current second's row of (migration, entity, origin);
// per-second rows keep a seconds-long rehearsal window exact and a 48-hour
// one cheap to sum (at most one row per second per reporter).
Status RecordReads(pg_store::PgConnection* conn, const std::string& migration,
                   const std::string& entity, const std::string& origin, const ReadCounts& counts);

}  // namespace cutover::control
