// cutover.backfill_ledger: each entity's backfill checkpoint; progress lives
// in PostgreSQL, written in the same transaction as the data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

// One entity's progress. The position is where the next unread source record
// starts; counts are cumulative over the run, including resumed parts.
struct LedgerEntry {
  std::string entity;
  std::string source;
  int64_t byte_offset = 0;
  int64_t record_index = 0;
  int64_t line = 1;
  int64_t records_read = 0;
  int64_t rows_merged = 0;
  int64_t records_rejected = 0;
  // Records where an object names a key twice; the last value was used.
  int64_t records_repeated_keys = 0;
  bool done = false;
  bool exists = false;  // false when no run has started for this entity
};

Result<LedgerEntry> LoadLedger(pg_store::PgConnection* conn, const std::string& migration,
                               const std::string& entity);

// Upserts the entry; call inside the transaction that merged the batch.
Status SaveLedger(pg_store::PgConnection* conn, const std::string& migration,
                  const LedgerEntry& entry);

// What one checkpoint of a backfill adds to a table's entry.
struct LedgerDelta {
  int64_t read = 0;
  int64_t merged = 0;
  int64_t rejected = 0;
  int64_t repeated_keys = 0;
};

// Adds `delta` to the entry of `entity` (which must exist): its counts, and
// record_index, which then counts the records read. Call inside the
// transaction that merged the rows; parallel workers' increments add up.
Status AddToLedger(pg_store::PgConnection* conn, const std::string& migration,
                   const std::string& entity, const LedgerDelta& delta);

// Forgets an entity's progress and its rejects (rejects.h), for a fresh run.
Status ResetLedger(pg_store::PgConnection* conn, const std::string& migration,
                   const std::string& entity);

// The entities of `migration` whose backfill finished (done), in no order.
Result<std::vector<std::string>> DoneEntities(pg_store::PgConnection* conn,
                                              const std::string& migration);

}  // namespace cutover::catalog
