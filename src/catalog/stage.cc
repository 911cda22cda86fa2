// cutover.stage: read, seed and lock, and update a migration's stage row.
#include "catalog/stage.h"

#include "catalog/schema.h"

namespace cutover::catalog {

Result<std::optional<StageRow>> ReadStageRow(pg_store::PgConnection* conn,
                                             const std::string& migration) {
  auto rows = conn->Query(
      "SELECT stage, percent, version, "
      "to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), changed_by, "
      "reason, forced FROM cutover.stage WHERE migration = $1",
      {migration});
  if (!rows.ok()) {
    if (IsMissingRelation(rows.status())) return std::optional<StageRow>();
    return rows.status().WithContext("reading the stage of " + migration);
  }
  if (rows->rows.empty()) return std::optional<StageRow>();
  const auto& r = rows->rows[0];
  StageRow row;
  row.stage = r[0].value_or("");
  row.percent = std::stoi(r[1].value_or("0"));
  row.version = std::stoll(r[2].value_or("0"));
  row.changed_at = r[3].value_or("");
  row.changed_by = r[4].value_or("");
  row.reason = r[5].value_or("");
  row.forced = r[6].value_or("f") == "t";
  return std::optional<StageRow>(std::move(row));
}

Result<std::optional<std::string>> CurrentStage(pg_store::PgConnection* conn,
                                                const std::string& migration) {
  ASSIGN_OR_RETURN(auto row, ReadStageRow(conn, migration));
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(row->stage);
}

Status LockStageRow(pg_store::PgConnection* conn, const std::string& migration) {
  auto seed = conn->Query(
      "INSERT INTO cutover.stage (migration, stage, percent, version, changed_by, reason) "
      "VALUES ($1, 'legacy', 0, 0, 'cutover', 'initial') ON CONFLICT (migration) DO NOTHING",
      {migration});
  if (!seed.ok()) return seed.status().WithContext("creating the stage row");
  return conn->Query("SELECT 1 FROM cutover.stage WHERE migration = $1 FOR UPDATE", {migration})
      .status()
      .WithContext("locking the stage row");
}

Status UpdateStageRow(pg_store::PgConnection* conn, const std::string& migration,
                      const std::string& stage, int percent, const std::string& changed_by,
                      const std::string& reason, bool forced) {
  auto updated = conn->Query(
      "UPDATE cutover.stage SET stage = $2, percent = $3, version = version + 1, "
      "changed_at = clock_timestamp(), changed_by = $4, reason = $5, forced = $6 "
      "WHERE migration = $1",
      {migration, stage, std::to_string(percent), changed_by, reason, forced ? "true" : "false"});
  return updated.ok() ? Status::Ok() : updated.status().WithContext("updating the stage");
}

Result<std::optional<int64_t>> SecondsSinceStageChanged(pg_store::PgConnection* conn,
                                                        const std::string& migration) {
  auto held = conn->QueryValue(
      "SELECT floor(extract(epoch FROM clock_timestamp() - changed_at))::bigint "
      "FROM cutover.stage WHERE migration = $1",
      {migration});
  if (!held.ok()) return held.status().WithContext("reading when the stage last changed");
  if (!held->has_value()) return std::optional<int64_t>();
  return std::optional<int64_t>(std::stoll(**held));
}

}  // namespace cutover::catalog
