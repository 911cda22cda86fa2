// cutover.backfill_chunks: the chunked backfill's plan (one row per chunk of
// the source) and each chunk's progress, claimed by parallel workers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

// One planned chunk: rows [first_row, first_row + row_count) of `file`.
struct PlannedChunk {
  std::string chunk_id;  // stable across runs over the same files
  int64_t seq = 0;       // the order chunks are claimed in
  std::string file;
  int64_t first_row = 0;
  int64_t row_count = 0;
};

// What a finished chunk read, merged and rejected.
struct ChunkCounts {
  int64_t read = 0;
  int64_t merged = 0;
  int64_t rejected = 0;
};

// Sums over the chunks of one entity.
struct ChunkTotals {
  int64_t done_chunks = 0;
  int64_t unfinished_chunks = 0;  // still pending (claimed or not)
  ChunkCounts all;                // over every chunk (pending ones count 0)
  ChunkCounts done;               // over the done chunks only
};

// Takes the transaction-scoped lock that serializes planning the chunks of
// (migration, entity) across processes. REQUIRES: inside a transaction.
Status LockChunkPlan(pg_store::PgConnection* conn, const std::string& migration,
                     const std::string& entity);

// Inserts the chunks not planned yet (a chunk already there keeps its state).
Status InsertChunks(pg_store::PgConnection* conn, const std::string& migration,
                    const std::string& entity, std::span<const PlannedChunk> chunks);

// Forgets the plan and progress of (migration, entity), for a fresh run.
Status DeleteChunks(pg_store::PgConnection* conn, const std::string& migration,
                    const std::string& entity);

// How many chunks are planned for (migration, entity); and of those, pending.
Result<int64_t> CountChunks(pg_store::PgConnection* conn, const std::string& migration,
                            const std::string& entity);
Result<int64_t> CountPendingChunks(pg_store::PgConnection* conn, const std::string& migration,
                                   const std::string& entity);

// Claims the pending chunk of lowest seq that no other transaction holds
// (FOR UPDATE SKIP LOCKED) for `worker`; its id, or nullopt when none is
// left to claim. The claim lasts until the caller's transaction ends.
// REQUIRES: inside a transaction, which FinishChunk then completes.
Result<std::optional<std::string>> ClaimChunk(pg_store::PgConnection* conn,
                                              const std::string& migration,
                                              const std::string& entity, const std::string& worker);

// Marks a claimed chunk done with its counts, in the claiming transaction.
Status FinishChunk(pg_store::PgConnection* conn, const std::string& migration,
                   const std::string& entity, const std::string& chunk_id,
                   const ChunkCounts& counts);

Result<ChunkTotals> SumChunks(pg_store::PgConnection* conn, const std::string& migration,
                              const std::string& entity);

}  // namespace cutover::catalog
