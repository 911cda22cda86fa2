// Time partitions of a range-partitioned table: which ones a batch's rows
// need, and creating the missing ones before the rows are written.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/row_batch.h"
#include "common/status.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_shape.h"

namespace cutover::pg_store {

// TimePartitions design
//
// A table with `partition:` is PARTITION BY RANGE on its time column, with
// one partition per interval named <table>_pYYYY_MM (months) or
// <table>_pYYYY_MM_DD (days), and a DEFAULT partition, <table>_default.
// Intervals are aligned: N months start at a month whose index since year 0
// is a multiple of N (3 months are calendar quarters), N days at a multiple
// of N days from Monday 2000-01-03, so every process computes the same
// bounds for a row. Before any writer copies rows into the table it creates
// the partitions those rows fall in, in the writer's own transaction: as
// CREATE TABLE ... (LIKE parent) and ATTACH PARTITION, because ATTACH takes
// SHARE UPDATE EXCLUSIVE on the parent, which concurrent COPYs (ROW
// EXCLUSIVE) do not conflict with, where CREATE TABLE ... PARTITION OF would
// take ACCESS EXCLUSIVE and stall every other writer. ATTACH does take
// ACCESS EXCLUSIVE on the default partition, which it scans: a long reader
// of the whole table (a verify, a report) makes the first writer of a new
// interval wait for it, until its transaction ends; new intervals are rare
// (one a month for `every: 1 month`), so this is a pause, not a stall of
// every batch. A name PostgreSQL would cut (63 bytes) is refused by the
// spec loader; changing `every:` of a table with partitions is not
// supported (the old partitions keep their bounds). An advisory lock per
// table orders two writers that need the same partition; the second finds
// it attached. Which partitions exist is read from pg_inherits for every
// batch, never cached: a partition created in a transaction that rolled
// back must not be believed in. So rows reach the default partition only if
// someone writes to the table around cutover; `phase status` says so.

// A partition of an interval: its name and bounds as SQL literals.
struct TimePartition {
  std::string name;
  std::string from;  // inclusive
  std::string to;    // exclusive
};

// The partition holding `value` of the table's partition column, in the
// column's encoding (timestamptz: microseconds since 2000-01-01 UTC; date:
// days since 2000-01-01). REQUIRES: shape.partition.
TimePartition PartitionOf(const TableShape& shape, int64_t value);

// "<table>_default".
std::string DefaultPartitionName(const TableShape& shape);

// Creates the partitions the given rows of `batch` (columns in shape order)
// fall in that do not exist yet. No-op for a table without `partition`.
// REQUIRES: an open transaction on `conn`.
Status EnsureTimePartitions(PgConnection* conn, const TableShape& shape, const RowBatch& batch,
                            std::span<const uint32_t> rows);

}  // namespace cutover::pg_store
