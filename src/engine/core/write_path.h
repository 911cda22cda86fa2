// The write path every backfill runner shares: each step retried through
// outages, a batch merged under a savepoint and split to isolate bad rows.
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
#include "store/row_source.h"
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
  const store::StoreBatch* in = nullptr;     // the records the batch was mapped from
  const map::MappedBatch* mapped = nullptr;   // the batch
  size_t table = 0;                           // index into mapped->tables
  const map::RecordMapper* mapper = nullptr;  // gives a refused row's record text
  std::string_view entity;                    // the table's entity, for rejects
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
// Writes `rows` (indexes into the table's rows) of `target`, counting rows
// written in *accepted and appending a reject per refused row to *refused.
// REQUIRES: an open transaction on `conn`.
Status MergeWithBisect(pg_store::PgConnection* conn, const TableWrite& target,
                       std::vector<uint32_t> rows, int64_t* accepted, std::vector<Reject>* refused);

// RetryStep design
//
// Every step a runner sends to PostgreSQL (a batch's transaction, a chunk, a
// ledger update, one index rebuild) either commits whole or leaves nothing,
// so it is run again after a failure that a later attempt may outlive: the
// connection lost (reconnected to, then `on_reconnect` recreates session
// state such as staging tables), the server restarting, a deadlock or a
// serialization failure (pg_store::IsRetryable). The policy is
// pg_store::RetryBudget's: a time budget (--retry-for) per streak of
// failures, backoff from 100 ms to 2 s; any other error ends the step at once
// with `what` as context.
//
// A step must leave no transaction open when it fails: it opens them with
// pg_store::Transaction, whose destructor rolls back. So RetryStep sends no
// ROLLBACK of its own; a second one would only make PostgreSQL warn "there
// is no transaction in progress" on every retried deadlock.
//
// Runs `step` on *conn (connected first when null or lost) until it
// succeeds, within `span` per streak of failures.
Status RetryStep(std::unique_ptr<pg_store::PgConnection>* conn, const std::string& url,
                 std::chrono::milliseconds span, std::string_view what,
                 const std::function<Status()>& step,
                 const std::function<Status()>& on_reconnect = nullptr);

// True when `shape`'s table holds no row: then the keys a load brings are
// new, and the direct COPY (or a bulk load) pays off.
Result<bool> TableIsEmpty(pg_store::PgConnection* conn, const pg_store::TableShape& shape);

}  // namespace cutover::engine
