// cutover.backfill_ledger: load, save and reset an entity's checkpoint.
#include "catalog/ledger.h"

#include <fmt/format.h>

#include "catalog/rejects.h"

namespace cutover::catalog {
Result<LedgerEntry> LoadLedger(pg_store::PgConnection* conn, const std::string& migration,
                               const std::string& entity) {
  auto r = conn->Query(
      "SELECT source, byte_offset, record_index, line, records_read, rows_merged, "
      "records_rejected, done, records_repeated_keys FROM cutover.backfill_ledger "
      "WHERE migration = $1 AND entity = $2",
      {migration, entity});
  if (!r.ok()) return r.status().WithContext("reading the backfill ledger of " + entity);
  LedgerEntry e;
  e.entity = entity;
  if (r->rows.empty()) return e;
  const auto& row = r->rows[0];
  e.exists = true;
  e.source = *row[0];
  e.byte_offset = std::stoll(*row[1]);
  e.record_index = std::stoll(*row[2]);
  e.line = std::stoll(*row[3]);
  e.records_read = std::stoll(*row[4]);
  e.rows_merged = std::stoll(*row[5]);
  e.records_rejected = std::stoll(*row[6]);
  e.done = *row[7] == "t";
  e.records_repeated_keys = std::stoll(*row[8]);
  return e;
}

Status SaveLedger(pg_store::PgConnection* conn, const std::string& migration,
                  const LedgerEntry& e) {
  auto r = conn->Query(
      "INSERT INTO cutover.backfill_ledger AS l (migration, entity, source, byte_offset, "
      "record_index, line, records_read, rows_merged, records_rejected, done, "
      "records_repeated_keys) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
      "ON CONFLICT (migration, entity) DO UPDATE SET source = EXCLUDED.source, "
      "byte_offset = EXCLUDED.byte_offset, record_index = EXCLUDED.record_index, "
      "line = EXCLUDED.line, records_read = EXCLUDED.records_read, "
      "rows_merged = EXCLUDED.rows_merged, records_rejected = EXCLUDED.records_rejected, "
      "done = EXCLUDED.done, records_repeated_keys = EXCLUDED.records_repeated_keys, "
      "updated_at = now()",
      {migration, e.entity, e.source, std::to_string(e.byte_offset), std::to_string(e.record_index),
       std::to_string(e.line), std::to_string(e.records_read), std::to_string(e.rows_merged),
       std::to_string(e.records_rejected), e.done ? "true" : "false",
       std::to_string(e.records_repeated_keys)});
  return r.ok() ? Status::Ok()
                : r.status().WithContext("saving the backfill ledger of " + e.entity);
}

Status AddToLedger(pg_store::PgConnection* conn, const std::string& migration,
                   const std::string& entity, const LedgerDelta& delta) {
  auto r = conn->Query(
      "UPDATE cutover.backfill_ledger SET record_index = record_index + $3, "
      "records_read = records_read + $3, rows_merged = rows_merged + $4, "
      "records_rejected = records_rejected + $5, "
      "records_repeated_keys = records_repeated_keys + $6, updated_at = now() "
      "WHERE migration = $1 AND entity = $2 RETURNING 1",
      {migration, entity, std::to_string(delta.read), std::to_string(delta.merged),
       std::to_string(delta.rejected), std::to_string(delta.repeated_keys)});
  if (!r.ok()) return r.status().WithContext("updating the backfill ledger of " + entity);
  if (r->rows.size() != 1) {
    return Internal("the backfill ledger has no entry for " + entity + " to add to");
  }
  return Status::Ok();
}

Status ResetLedger(pg_store::PgConnection* conn, const std::string& migration,
                   const std::string& entity) {
  auto r = conn->Query("DELETE FROM cutover.backfill_ledger WHERE migration = $1 AND entity = $2",
                       {migration, entity});
  if (!r.ok()) return r.status().WithContext("resetting the backfill ledger of " + entity);
  return DeleteRejects(conn, migration, entity)
      .WithContext("resetting the backfill ledger of " + entity);
}

Result<std::vector<std::string>> DoneEntities(pg_store::PgConnection* conn,
                                              const std::string& migration) {
  auto rows = conn->Query(
      "SELECT entity FROM cutover.backfill_ledger WHERE migration = $1 AND done", {migration});
  if (!rows.ok()) return rows.status().WithContext("reading the backfill ledger");
  std::vector<std::string> out;
  for (const auto& r : rows->rows) out.push_back(r[0].value_or(""));
  return out;
}

}  // namespace cutover::catalog
