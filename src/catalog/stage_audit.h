// cutover.stage_audit: append-only, one row per attempt to move a
// migration's stage (applied or not, with the guards that judged it) or rollback.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

// One attempt, as written. `outcome` is one of applied, forced, refused,
// illegal, invalid, or rollback (rows deleted by `cutover rollback`, the stage
// unchanged) (the column's CHECK); `applied` and `forced` follow from it and
// are stored for the readers that predate the column.
struct AuditRow {
  std::string from_stage;
  int from_percent = 0;
  std::string to_stage;           // "" when the request named no known stage
  std::optional<int> to_percent;  // stored as NULL when absent
  std::string who;
  std::string why;
  bool forced = false;
  bool applied = false;
  nlohmann::json guards = nlohmann::json::array();
  std::string outcome;
  std::string detail;
};

// Appends one row; in the caller's transaction, if any.
Status AppendAuditRow(pg_store::PgConnection* conn, const std::string& migration,
                      const AuditRow& row);

// One stored row of cutover.stage_audit.
struct AuditEntry {
  int64_t id = 0;
  std::string at;  // ISO 8601 UTC, seconds
  std::string from_stage;
  int from_percent = 0;
  std::string to_stage;
  std::optional<int> to_percent;
  std::string who;
  std::string why;
  bool forced = false;
  bool applied = false;
  nlohmann::json guards;
  std::string outcome;  // "" for rows older than the column
  std::string detail;
};

// The newest `limit` entries of `migration`, newest first; none when the
// table does not exist yet.
Result<std::vector<AuditEntry>> ReadAudit(pg_store::PgConnection* conn,
                                          const std::string& migration, int limit);

// Whole seconds since the latest applied move from a stage in `below` to one
// not in it; nullopt when no such move was ever applied.
Result<std::optional<int64_t>> SecondsSinceAppliedMoveOutOf(pg_store::PgConnection* conn,
                                                            const std::string& migration,
                                                            const std::vector<std::string>& below);

}  // namespace cutover::catalog
