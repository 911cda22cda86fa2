// The control tables of the stage machine in the target's `cutover` schema:
// current stage, audit trail, read statistics; their DDL and plain reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "control/stage.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::control {

// NOTIFY channel of stage changes; the payload is {"migration", "version"}
// and is only a hint to re-read, never the state itself.
inline constexpr char kStageChannel[] = "cutover_stage";

// Creates cutover.stage, cutover.stage_audit and cutover.read_stats (and the
// rest of the control schema) if absent. Idempotent; serialized with every
// other cutover DDL by an advisory lock.
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

// One row of cutover.stage_audit: every attempt to move the stage, applied or
// not (see AttemptOutcome), with the guard results that judged it.
struct AuditEntry {
  int64_t id = 0;
  std::string at;
  std::string from_stage;
  int from_percent = 0;
  std::string to_stage;
  std::optional<int> to_percent;
  std::string who;
  std::string why;
  bool forced = false;
  bool applied = false;
  nlohmann::json guards;
  std::string outcome;  // AttemptOutcomeName; "" for rows older than the column
  std::string detail;
};

// The newest `limit` entries, newest first.
Result<std::vector<AuditEntry>> ReadAudit(pg_store::PgConnection* conn,
                                          const std::string& migration, int limit);

// Read outcomes reported by a process that serves reads (the gateway, or an
// application through POST /v1/reads); the guards into rollout and primary
// read these.
struct ReadCounts {
  int64_t shadow_reads = 0;       // reads also compared against PostgreSQL
  int64_t shadow_mismatches = 0;  // of those, how many differed
  int64_t postgres_reads = 0;     // reads served from PostgreSQL
  int64_t fallbacks = 0;          // of those, how many fell back to legacy
};

// Adds `counts` to the current second's row of (migration, entity, origin);
// per-second rows keep a seconds-long rehearsal window exact and a 48-hour
// one cheap to sum (at most one row per second per reporter).
Status RecordReads(pg_store::PgConnection* conn, const std::string& migration,
                   const std::string& entity, const std::string& origin, const ReadCounts& counts);

}  // namespace cutover::control
