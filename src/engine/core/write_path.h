// The write path of a backfill: a batch merged under a savepoint and split
// to isolate bad rows, and the probe for the direct COPY.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/reject.h"
#include "common/status.h"
#include "map/record_mapper.h"
#include "store/batch_reader.h"
#include "stores/postgres/merge_writer.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_shape.h"

namespace cutover::engine {

// How the rows of one table reach it.
enum class WriteMode {
  kMerge,   // upsert on the key (the whole batch may take the direct COPY)
  kAppend,  // a bulk load into a table whose key is set aside: COPY only
};

// One table of one mapped batch, and where its refused rows are reported.
struct TableWrite {
  pg_store::MergeWriter* writer = nullptr;
  WriteMode mode = WriteMode::kMerge;
  const store::StoreBatch* in = nullptr;      // the records the batch was mapped from
  const map::MappedBatch* mapped = nullptr;   // the batch
  size_t table = 0;                           // index into mapped->tables
  const map::RecordMapper* mapper = nullptr;  // gives a refused row's record text
  std::string_view entity;                    // the table's entity, for rejects
  // The parent table: marks (sized to in->size()) the records whose parent
  // row PostgreSQL refused. A child table: reads them (see "Orphans").
  std::vector<bool>* refused_parents = nullptr;
  // The table's key columns when its key is set aside for a bulk load that
  // lets no key through twice but for repeats within the batch: a row whose
  // key an earlier row of the batch holds is refused, as the key would (see
  // "Repeated child keys").
  const std::vector<std::string>* refuse_repeated_key = nullptr;
};

// Bisect design
//
// A batch is written in one statement (COPY, then one INSERT ... SELECT ...
// ON CONFLICT for a merge) inside SAVEPOINT cutover_merge. When PostgreSQL
// refuses it for its data (kDataError: a constraint, a value out of a
// column's range), the savepoint is rolled back and each half is written the
// same way, down to single rows, each of which is then a reject. The good
// rows still land, and k bad rows among N cost O(k log N) statements. Any
// other error (a lost connection, a deadlock) ends the write: the caller's
// transaction is retried whole (stores/postgres/retry.h). The whole batch
// may take the direct COPY; halves are always merged.
//
// Orphans design
//
// A child row whose record's parent row was refused would break its foreign
// key. It is refused before it reaches PostgreSQL, with a reason that says
// so, rather than left to the key's per-row check: a child table loaded at
// stage legacy has its foreign key set aside (engine/backfill/bulk_load.cc),
// and would otherwise take the orphan. A parent row and its children are
// mapped from one record and written in one transaction, parent first, so
// the parent's refusals are known when its children are written; the
// parent rows that land stay locked by that transaction until it commits.
//
// Repeated child keys design
//
// A child table loaded in bulk may have its key set aside
// (engine/backfill/bulk_load.cc, "Child keys set aside") only where no two
// records can give one child key: its key holds its parent's, which is one
// source key's alone and written once. Two items of one record can still
// repeat a child key; the key would have refused the second row, so the
// write path refuses it here, with its record, before PostgreSQL sees it.
// Rows are compared by their key columns' bytes, which decide equality for
// the types such a key may have (integers, text, bytes, uuid, dates, times).
//
// Writes `rows` (indexes into the table's rows) of `target`, counting rows
// written in *accepted, rows inserted or changed (a merge leaves a row
// equal to the incoming one alone) in *changed when given, and appending a
// reject per refused row to *refused.
// REQUIRES: an open transaction on `conn`.
Status MergeWithBisect(pg_store::PgConnection* conn, const TableWrite& target,
                       std::vector<uint32_t> rows, int64_t* accepted, std::vector<Reject>* refused,
                       int64_t* changed = nullptr);

// True when `shape`'s table holds no row: then the keys a load brings are
// new, and the direct COPY (or a bulk load) pays off.
Result<bool> TableIsEmpty(pg_store::PgConnection* conn, const pg_store::TableShape& shape);

}  // namespace cutover::engine
