// The stage machine's view of its tables: the stored stage parsed into a
// StageState, attempts written with their outcome; the SQL is in catalog/.
#include "control/stage_store.h"

#include <fmt/format.h>

#include "catalog/schema.h"
#include "catalog/stage.h"

namespace cutover::control {

Status EnsureStageSchema(pg_store::PgConnection* conn) {
  return catalog::EnsureControlSchema(conn);
}

Result<StageState> ReadStage(pg_store::PgConnection* conn, const std::string& migration) {
  ASSIGN_OR_RETURN(const std::optional<catalog::StageRow> row,
                   catalog::ReadStageRow(conn, migration));
  if (!row) return StageState{};
  const std::optional<Stage> stage = ParseStage(row->stage);
  if (!stage) return Internal("cutover.stage holds an unknown stage '" + row->stage + "'");
  StageState state;
  state.stage = *stage;
  state.percent = row->percent;
  state.version = row->version;
  state.changed_at = row->changed_at;
  state.changed_by = row->changed_by;
  state.reason = row->reason;
  state.forced = row->forced;
  return state;
}

std::string_view AttemptOutcomeName(AttemptOutcome outcome) {
  switch (outcome) {
    case AttemptOutcome::kApplied:
      return "applied";
    case AttemptOutcome::kForced:
      return "forced";
    case AttemptOutcome::kRefused:
      return "refused";
    case AttemptOutcome::kIllegal:
      return "illegal";
    case AttemptOutcome::kInvalid:
      return "invalid";
  }
  return "invalid";
}

Status AppendAudit(pg_store::PgConnection* conn, const std::string& migration,
                   const AuditRecord& record) {
  catalog::AuditRow row;
  row.from_stage = std::string(StageName(record.from.stage));
  row.from_percent = record.from.percent;
  row.to_stage = record.to_stage;
  // The request named no percent, or one that was not a number in 0..100.
  row.to_percent = record.to_percent;
  row.who = record.who;
  row.why = record.why;
  row.forced = record.outcome == AttemptOutcome::kForced;
  row.applied =
      record.outcome == AttemptOutcome::kApplied || record.outcome == AttemptOutcome::kForced;
  row.guards = record.guards;
  row.outcome = std::string(AttemptOutcomeName(record.outcome));
  row.detail = record.detail;
  return catalog::AppendAuditRow(conn, migration, row);
}

Result<std::vector<AuditEntry>> ReadAudit(pg_store::PgConnection* conn,
                                          const std::string& migration, int limit) {
  return catalog::ReadAudit(conn, migration, limit);
}

Status RecordReads(pg_store::PgConnection* conn, const std::string& migration,
                   const std::string& entity, const std::string& origin, const ReadCounts& counts) {
  return catalog::RecordReads(conn, migration, entity, origin, counts);
}

}  // namespace cutover::control
