#include "catalog/ledger.h"

#include <fmt/format.h>

#include "common/utf8.h"

namespace cutover::catalog {
namespace {

std::string HexBytea(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace

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

Status ResetLedger(pg_store::PgConnection* conn, const std::string& migration,
                   const std::string& entity) {
  for (const char* sql :
       {"DELETE FROM cutover.backfill_ledger WHERE migration = $1 AND entity = $2",
        "DELETE FROM cutover.rejects WHERE migration = $1 AND entity = $2"}) {
    auto r = conn->Query(sql, {migration, entity});
    if (!r.ok()) return r.status().WithContext("resetting the backfill ledger of " + entity);
  }
  return Status::Ok();
}

Status InsertRejects(pg_store::PgConnection* conn, const std::string& migration,
                     std::span<const Reject> rejects) {
  for (const auto& rj : rejects) {
    auto r = conn->Query(
        "INSERT INTO cutover.rejects (migration, entity, source, byte_offset, line, "
        "record_index, item, field, reason, record) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9, $10::bytea) "
        "ON CONFLICT (migration, entity, source, record_index, item) DO UPDATE SET "
        "byte_offset = EXCLUDED.byte_offset, line = EXCLUDED.line, field = EXCLUDED.field, "
        "reason = EXCLUDED.reason, record = EXCLUDED.record, rejected_at = now()",
        {migration, rj.entity, EscapeInvalidUtf8(rj.source), std::to_string(rj.byte_offset),
         std::to_string(rj.line), std::to_string(rj.record_index), EscapeInvalidUtf8(rj.item),
         EscapeInvalidUtf8(rj.field), EscapeInvalidUtf8(rj.reason), HexBytea(rj.record)});
    if (!r.ok()) return r.status().WithContext("recording a reject of " + rj.entity);
  }
  return Status::Ok();
}

}  // namespace cutover::catalog
