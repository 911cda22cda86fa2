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
// (`every` wide, aligned to midnight UTC of Monday 2000-01-03): the rows'
// count and, per value column, the count of non-NULLs, their sum, min and max.
// It must equal the GROUP BY of the table at every commit, whoever writes:
// cutover's backfill and sync, the gateway, or the application after cutover.
// So triggers on the table keep it, not cutover's writers:
//   insert  adds the inserted rows' aggregates to their buckets (an upsert:
//           counts and sums add, min and max widen), O(rows inserted);
//   update, delete  recompute every touched bucket from the table (a
//           deleted minimum cannot be subtracted);
//   truncate  empties the rollup.
// Statement-level triggers with transition tables: one upsert per statement,
// which a COPY of 5,000 rows of one device touches a few buckets of.
//
// Concurrency. Deltas commute: two inserting transactions upsert the same
// rollup row, the second waits for the first's row lock and adds to the
// committed sum. A recompute does not commute with a delta: computed from a
// snapshot that misses an uncommitted insert, it would overwrite that
// insert's delta when it commits. So both take a transaction-scoped advisory
// lock per touched bucket (256 slots per rollup, hashed from the group's
// session-independent text and the bucket's epoch, taken in slot order):
// a recompute waits for every inserter of its buckets to commit, and its
// next statement takes a fresh snapshot (READ COMMITTED, a volatile
// function) that sees their rows. A writer in REPEATABLE READ gets a
// serialization failure or a unique violation there, never a wrong sum.
// Slots bound the locks a statement holds, so a COPY that touches thousands
// of buckets does not fill the lock table. A trigger takes its slots at once
// and in order, so statements that each take one batch never deadlock; a
// transaction that takes two (two statements into the table, or an upsert
// that both inserts and updates) can deadlock with another such one, which
// PostgreSQL resolves by failing one (40P01) and cutover's writers retry.
//
// Exactness. Counts, minima and maxima are exact; integer and numeric sums
// too (numeric). A double precision sum adds in another order than a fresh
// sum() does, so it may differ in the last bits: the check allows 1e-9 of the
// sum of the absolute values.
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
