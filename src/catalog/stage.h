// cutover.stage: one row per migration, the stage it stands at. The stage
// machine (control/stage_machine.h) is the only writer; anyone may read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

// One row of cutover.stage, as stored. `stage` is one of the names the
// table's CHECK allows (control/stage.h parses it).
struct StageRow {
  std::string stage;
  int percent = 0;
  int64_t version = 0;     // applied transitions; 0: never moved
  std::string changed_at;  // ISO 8601 UTC with microseconds
  std::string changed_by;
  std::string reason;
  bool forced = false;
};

// The row of `migration`; nullopt when there is none, or no table yet (so a
// reader needs no write privilege).
Result<std::optional<StageRow>> ReadStageRow(pg_store::PgConnection* conn,
                                             const std::string& migration);

// Just the stage name of ReadStageRow.
Result<std::optional<std::string>> CurrentStage(pg_store::PgConnection* conn,
                                                const std::string& migration);

// Inserts `migration`'s row at legacy (version 0) unless it exists, then
// locks it FOR UPDATE, so that the first transition of a migration
// serializes like every later one. REQUIRES: inside a transaction.
Status LockStageRow(pg_store::PgConnection* conn, const std::string& migration);

// Moves the locked row to (stage, percent), bumping its version, stamped
// with the clock now. REQUIRES: LockStageRow in the same transaction.
Status UpdateStageRow(pg_store::PgConnection* conn, const std::string& migration,
                      const std::string& stage, int percent, const std::string& changed_by,
                      const std::string& reason, bool forced);

// Whole seconds since the row last changed; nullopt when there is no row.
Result<std::optional<int64_t>> SecondsSinceStageChanged(pg_store::PgConnection* conn,
                                                        const std::string& migration);

}  // namespace cutover::catalog
