// Writes batches into one table the set-based way: binary COPY into a
// session-private staging table, then one INSERT ... ON CONFLICT per batch.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/row_batch.h"
#include "common/status.h"
#include "target/pg_connection.h"
#include "target/table_shape.h"

namespace cutover::target {

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
// The writer does not open transactions: the caller wraps the merges of a
// batch and its ledger update in one, which is what makes a batch land whole
// or not at all. Not thread-safe; one writer per connection.
class MergeWriter {
 public:
  explicit MergeWriter(TableShape shape);

  const TableShape& shape() const { return shape_; }

  // Creates the temporary staging table; call once per (re)connection.
  Status PrepareStaging(PgConnection* conn);

  // Allows Write() to try the direct COPY (default off).
  void set_direct_copy(bool enabled) { direct_copy_ = enabled; }

  // Writes the rows: direct COPY when allowed and the keys are new, else Merge.
  // Must run inside a transaction (it uses a savepoint).
  Result<int64_t> Write(PgConnection* conn, const RowBatch& batch, std::span<const uint32_t> rows);

  // Stages and merges the given rows of `batch` (columns in shape order).
  // Returns the number of rows inserted or changed.
  Result<int64_t> Merge(PgConnection* conn, const RowBatch& batch, std::span<const uint32_t> rows);

 private:
  TableShape shape_;
  std::string staging_name_;
  std::string copy_sql_;
  std::string merge_sql_;
  std::string direct_copy_sql_;
  bool direct_copy_ = false;
  int direct_failures_ = 0;
  std::vector<int> column_order_;
  std::string buffer_;  // reused across batches to avoid reallocation
};

}  // namespace cutover::target
