// RowDeleter: deletes the rows of one table whose given columns equal those
// of a batch's rows (a key, or a child table's link to its parent), set-based.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/row_batch.h"
#include "common/status.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_shape.h"

namespace cutover::pg_store {

// The batch's rows are binary-COPYed into a session-private staging table of
// the match columns, then one DELETE ... USING removes every row that equals
// one of them on all match columns. Made for many small transactions (sync):
// the staging table is emptied with DELETE, not truncated at each commit
// (see MergeWriter::set_small_transactions), and Compact() truncates it now
// and then. Like MergeWriter it opens no
// transaction: the caller puts deletes and merges of one step in one.
// A temporary table is never analyzed by autovacuum, and without statistics
// the planner guesses a thousand staged rows and hash-joins the whole target
// (0.6 s a batch at 570,000 child rows); so the staging table is analyzed
// whenever the staged count strays past 4x from the last analyzed one.
// Not thread-safe; one deleter per connection.
class RowDeleter {
 public:
  // REQUIRES: every match column is a column of `shape`.
  RowDeleter(TableShape shape, std::vector<std::string> match_columns);

  // Creates the staging table; once per (re)connection.
  Status PrepareStaging(PgConnection* conn);

  // Truncates the staging table; outside a transaction.
  Status Compact(PgConnection* conn);

  // Deletes the table's rows matching `rows` of `batch`, whose columns named
  // like the match columns are read (other columns are ignored). Returns the
  // rows deleted. REQUIRES: batch has every match column, typed as the shape.
  Result<int64_t> Delete(PgConnection* conn, const RowBatch& batch, std::span<const uint32_t> rows);

 private:
  TableShape shape_;
  std::vector<std::string> match_;
  std::string staging_;
  std::string buffer_;
  // Rows staged when the staging table was last analyzed; -1: never (or
  // truncated since, which forgets the table's size).
  int64_t analyzed_rows_ = -1;
};

}  // namespace cutover::pg_store
