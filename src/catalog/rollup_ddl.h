// Rollups of an entity's table (spec `rollups:`): the aggregate table, the
// triggers that keep it exact under every write, and its check against the table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/spec.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_shape.h"

namespace cutover::catalog {

// Rollup design
//
// A rollup holds one row per group (`by` values, key columns) and bucket
// (`every` wide, counted from Monday 2000-01-03 00:00 UTC): the rows' count
// and, per value column, the count of non-NULLs, min, max and sum. It must
// equal the GROUP BY of the table at every commit, whoever writes through
// the table: cutover's backfill and sync, the gateway, or the application
// after cutover. So triggers on the table keep it, not cutover's writers.
// Statement-level triggers with transition tables, one per event:
//   insert  adds the inserted rows to their buckets: counts and sums add,
//           min and max widen (an upsert);
//   delete  takes the deleted rows out: counts and sums subtract; a bucket
//           whose min or max was among them reads both again from the
//           table; a bucket left without rows goes;
//   update  both, the new rows in and the old rows out;
//   truncate  empties the rollup.
// Only deltas move counts and sums, and re-reading min and max is
// idempotent, so a statement that fires two of them (INSERT ... ON CONFLICT
// DO UPDATE, which is cutover's own merge, MERGE, a writable CTE) counts
// each row once whichever trigger PostgreSQL fires first; recomputing a
// bucket's count from the table would count this statement's inserts twice.
// A sum cannot take NaN or an infinity back out, so they are counted apart
// (<v>_nans, <v>_pos_infs, <v>_neg_infs) beside the sum of the finite values,
// and <v>_sum is a generated column that gives what sum() would: NaN, an
// infinity, or the finite sum.
//
// Concurrency. Deltas commute: two writers upsert the same rollup row, the
// second waits for the first's row lock and adds to the committed value.
// Re-reading min and max must not miss an uncommitted insert into the same
// bucket, and it does not: the delete's subtraction, the statement before
// the re-read, writes the bucket's rollup row, so it waits for any writer
// that upserted that row to commit, and the re-read (a new statement, so a
// new snapshot in READ COMMITTED; trigger functions are volatile) sees its
// rows; a writer that upserts after it waits for this transaction instead,
// and then widens min and max itself. A writer in REPEATABLE READ gets a
// serialization failure, never a wrong value. What the row locks alone would
// allow is a deadlock: one statement locks its buckets' rows in whatever
// order its plan visits them. So every trigger first takes a
// transaction-scoped advisory lock per touched bucket, all at once and in
// order (256 slots per rollup, hashed from the group's values in a form
// equal values share and no session setting changes, and the bucket's
// epoch); unrelated buckets that share a slot wait for each other, and a
// COPY that touches thousands of buckets holds at most 256 locks. Statements
// that each take one batch of slots never deadlock; a transaction that takes
// two (two statements into the table, or an upsert that both inserts and
// updates) can deadlock with another such one, which PostgreSQL resolves by
// failing one (40P01), which cutover's writers retry and an application must.
//
// Exactness. Counts, minima and maxima are exact; integer and numeric sums
// too. A double precision sum adds and subtracts in another order than a
// fresh sum() does, so it may differ in the last bits, more so after large
// values came and went: the check allows 1e-9 of the sum of the absolute
// values. A finite sum that overflows double precision fails the write
// (22003), as a fresh sum() would fail the read.
//
// What the triggers do not see: rows written into a partition directly
// (not through the partitioned table), a partition truncated, attached or
// detached, and writes with session_replication_role = replica (logical
// replication, pg_restore --disable-triggers). After any of them, verify
// names the buckets that differ; dropping the rollup's table and running
// backfill --create-tables builds it again.
//
// Creating a rollup on a table that holds rows fills it from them under a
// SHARE ROW EXCLUSIVE lock (readers go on, writers wait), in the transaction
// that creates the triggers, so no write falls between the two.

// The statements that create `rollup` of `shape`'s table (no trailing
// semicolons): its table, its four functions and its four triggers. What
// inspect proposes and CreateRollup runs.
std::vector<std::string> RollupDdl(const pg_store::TableShape& shape,
                                   const spec::RollupSpec& rollup);

// Creates the rollup if it or any of its triggers is missing (filling it
// from the table's rows, see above), else replaces its functions with the
// current ones. Opens and commits its own transaction under the DDL lock.
Status CreateRollup(pg_store::PgConnection* conn, const pg_store::TableShape& shape,
                    const spec::RollupSpec& rollup);

// FailedPrecondition naming what is missing when the rollup's table or any
// of its triggers is absent.
Status CheckRollup(pg_store::PgConnection* conn, const pg_store::TableShape& shape,
                   const spec::RollupSpec& rollup);

// The rollup compared with a fresh GROUP BY of the table.
struct RollupComparison {
  bool exists = false;              // the rollup's table exists
  int64_t buckets = 0;              // in the table's GROUP BY
  int64_t missing = 0;              // a bucket of the table the rollup lacks
  int64_t extra = 0;                // a rollup row with no rows in the table
  int64_t changed = 0;              // a bucket whose aggregates differ
  std::vector<std::string> listed;  // the first differing buckets, named
  int64_t differences() const { return missing + extra + changed; }
};
Result<RollupComparison> CompareRollup(pg_store::PgConnection* conn,
                                       const pg_store::TableShape& shape,
                                       const spec::RollupSpec& rollup, int64_t max_listed);

}  // namespace cutover::catalog
