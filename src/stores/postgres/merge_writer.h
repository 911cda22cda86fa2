// Writes batches into one table the set-based way: binary COPY into a
// session-private staging table, then one INSERT ... ON CONFLICT per batch.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/row_batch.h"
#include "common/status.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_shape.h"

namespace cutover::pg_store {

// MergeWriter design
//
// A batch may hold the same key more than once (a record edited twice in a
// JSON-lines log, duplicates in a export). PostgreSQL refuses to update one
// row twice in one INSERT ... ON CONFLICT (SQLSTATE 21000), so each staged
// row carries its ordinal and the merge keeps, per key, the highest ordinal:
// the last occurrence wins, as it would had the rows been applied in order.
// Unchanged rows are skipped by the WHERE ... IS DISTINCT FROM clause, so a
// resumed or repeated run rewrites nothing it already wrote.
//
// When the keys are new (a first load, or the part after a resume), staging
// and merging is wasted work: Write() first tries one binary COPY straight
// into the table under a savepoint. A key that already exists fails it
// (SQLSTATE 23505), the savepoint is rolled back, and the batch is merged.
// After a few such failures the writer stops trying for the rest of the run.
//
// Dedup (shape.keep_last_by, from the spec's `dedup:`): of the rows with one
// key, the one with the greatest keep_last_by values wins, whatever order the
// rows arrive in. Within a batch, DISTINCT ON orders by keep_last_by DESC
// before the ordinal; against the table, the conflict update only fires when
// the incoming keep_last_by is greater (row comparison; text in "C" order, so
// the verifier can reproduce it bytewise). Parallel workers merging different
// chunks therefore converge on the same row in any interleaving: the final
// row is the maximum, and max is order-independent. Equal keep_last_by values
// are a tie: the incoming row replaces the stored one only if it differs, so
// ties resolve to the later row within a chunk, but to whichever chunk merged
// last across chunks; declare keep_last_by columns that are unique per key
// (add a sequence or a source timestamp) when ties must be deterministic.
//
// The writer does not open transactions: the caller wraps the merges of a
// batch and its ledger update in one, which is what makes a batch land whole
// or not at all. Not thread-safe; one writer per connection.
class MergeWriter {
 public:
  explicit MergeWriter(TableShape shape);

  const TableShape& shape() const { return shape_; }

  // Creates the temporary staging table; call once per (re)connection.
  Status PrepareStaging(PgConnection* conn);

  // Declares that no batch repeats a key (the source removed repeats), so the
  // merge can skip ordering each batch to keep one row per key. A batch that
  // does repeat one (two source keys mapping to one target key) is merged the
  // careful way, and so is every batch after it.
  void set_keys_unique(bool unique) { keys_unique_ = unique; }

  // For many small transactions (sync): the staging table keeps its rows
  // across commits and is emptied with DELETE before each use, because
  // truncating a table at every commit (ON COMMIT DELETE ROWS, TRUNCATE)
  // scans shared buffers and costs tens of milliseconds per commit. Compact()
  // then truncates it now and then, between transactions, so it does not
  // grow. Call before PrepareStaging.
  void set_small_transactions(bool small) { small_transactions_ = small; }
  // Truncates the staging table; outside a transaction.
  Status Compact(PgConnection* conn);

  // Allows Write() to try the direct COPY (default off).
  void set_direct_copy(bool enabled) { direct_copy_ = enabled; }

  // Writes the rows: direct COPY when allowed and the keys are new, else Merge.
  // Must run inside a transaction (it uses a savepoint).
  Result<int64_t> Write(PgConnection* conn, const RowBatch& batch, std::span<const uint32_t> rows);

  // Copies the rows straight into the table, with no conflict handling: for
  // a bulk load into a table whose keys are known to be new (see
  // deferred_ddl.h). A refused row fails the COPY (kDataError).
  Status Append(PgConnection* conn, const RowBatch& batch, std::span<const uint32_t> rows);

  // Stages and merges the given rows of `batch` (columns in shape order).
  // Returns the number of rows inserted or changed.
  Result<int64_t> Merge(PgConnection* conn, const RowBatch& batch, std::span<const uint32_t> rows);

 private:
  // " COLLATE \"C\"" for a text column, else "".
  std::string CollateOf(const std::string& column) const;
  // ROW(<prefix>"a", <prefix>"b") over the keep_last_by columns.
  std::string KeepLastByRow(std::string_view prefix) const;

  TableShape shape_;
  std::string staging_name_;
  std::string copy_sql_;
  std::string merge_sql_;
  std::string merge_unique_sql_;  // merge_sql_ without DISTINCT ON and its sort
  bool keys_unique_ = false;
  std::string direct_copy_sql_;
  bool direct_copy_ = false;
  bool small_transactions_ = false;
  int direct_failures_ = 0;
  std::vector<int> column_order_;
  std::string buffer_;  // reused across batches to avoid reallocation
};

}  // namespace cutover::pg_store
