// cutover.backfill_partitions: the backfill's plan (one row per partition of
// the source) and each partition's progress, kept as the store's cursor.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

// One planned partition (store::Partition, as the ledger keeps it).
struct PlannedPartition {
  std::string partition_id;  // stable across runs over unchanged data
  int64_t seq = 0;           // the order partitions are claimed in
  std::string origin;        // for people: a file, a table
  int64_t records = -1;      // when the store knows it before reading, else -1
};

// What a partition read, merged and rejected (its entity's own table; child
// tables count in the ledger only).
struct PartitionCounts {
  int64_t read = 0;
  int64_t merged = 0;
  int64_t rejected = 0;
};

// A partition a worker holds: where to resume it, and what it did so far.
struct ClaimedPartition {
  std::string partition_id;
  std::string cursor;  // the store's token; empty: the partition's start
  PartitionCounts counts;
};

// Sums over the partitions of one entity.
struct PartitionTotals {
  int64_t done_partitions = 0;
  int64_t unfinished_partitions = 0;  // still pending, started or not
  PartitionCounts all;                // over every partition
  PartitionCounts done;               // over the done partitions only
};

// Takes the transaction-scoped lock that serializes planning the partitions
// of (migration, entity) across processes. REQUIRES: inside a transaction.
Status LockPartitionPlan(pg_store::PgConnection* conn, const std::string& migration,
                         const std::string& entity);

// Inserts the partitions not planned yet (one already there keeps its state).
Status InsertPartitions(pg_store::PgConnection* conn, const std::string& migration,
                        const std::string& entity, std::span<const PlannedPartition> partitions);

// Forgets the plan and progress of (migration, entity), for a fresh run.
Status DeletePartitions(pg_store::PgConnection* conn, const std::string& migration,
                        const std::string& entity);

// How many partitions are planned for (migration, entity); and of those, pending.
Result<int64_t> CountPartitions(pg_store::PgConnection* conn, const std::string& migration,
                                const std::string& entity);
Result<int64_t> CountPendingPartitions(pg_store::PgConnection* conn, const std::string& migration,
                                       const std::string& entity);

// Claims for `worker` a pending partition that no other transaction holds
// (FOR UPDATE SKIP LOCKED): `preferred` when it is claimable (a worker
// carrying on with the partition it has open), else the one of lowest seq.
// Nullopt when none is left to claim. The claim lasts until the caller's
// transaction ends. REQUIRES: inside a transaction, which
// CheckpointPartition then completes.
Result<std::optional<ClaimedPartition>> ClaimPartition(pg_store::PgConnection* conn,
                                                       const std::string& migration,
                                                       const std::string& entity,
                                                       const std::string& worker,
                                                       const std::string& preferred);

// Moves a claimed partition to `cursor`, adds `added` to its counts, and
// marks it done when `done`, in the claiming transaction.
Status CheckpointPartition(pg_store::PgConnection* conn, const std::string& migration,
                           const std::string& entity, const std::string& partition_id,
                           const std::string& cursor, const PartitionCounts& added, bool done);

Result<PartitionTotals> SumPartitions(pg_store::PgConnection* conn, const std::string& migration,
                                      const std::string& entity);

}  // namespace cutover::catalog
