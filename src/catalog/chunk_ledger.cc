// cutover.backfill_chunks: plan, claim, finish and sum the chunks of an
// entity (see chunk_backfill_runner.cc for how the runner uses them).
#include "catalog/chunk_ledger.h"

#include <algorithm>

#include <fmt/format.h>

namespace cutover::catalog {

Status LockChunkPlan(pg_store::PgConnection* conn, const std::string& migration,
                     const std::string& entity) {
  return conn->Exec(
      fmt::format("SELECT pg_advisory_xact_lock(hashtext({}))",
                  pg_store::QuoteLiteral("cutover.chunks:" + migration + ":" + entity)));
}

Status InsertChunks(pg_store::PgConnection* conn, const std::string& migration,
                    const std::string& entity, std::span<const PlannedChunk> chunks) {
  // Several hundred rows per statement: one round trip each, and a plan of
  // a hundred thousand chunks stays a few hundred statements.
  constexpr size_t kPerStatement = 500;
  for (size_t start = 0; start < chunks.size(); start += kPerStatement) {
    std::string values;
    for (size_t i = start; i < std::min(chunks.size(), start + kPerStatement); ++i) {
      const auto& c = chunks[i];
      if (!values.empty()) values += ",\n";
      values += fmt::format("({}, {}, {}, {}, {}, {}, {})", pg_store::QuoteLiteral(migration),
                            pg_store::QuoteLiteral(entity), pg_store::QuoteLiteral(c.chunk_id),
                            c.seq, pg_store::QuoteLiteral(c.file), c.first_row, c.row_count);
    }
    RETURN_IF_ERROR(conn->Exec(
        "INSERT INTO cutover.backfill_chunks (migration, entity, chunk_id, seq, file, first_row, "
        "row_count) VALUES " +
        values + " ON CONFLICT DO NOTHING"));
  }
  return Status::Ok();
}

Status DeleteChunks(pg_store::PgConnection* conn, const std::string& migration,
                    const std::string& entity) {
  auto deleted =
      conn->Query("DELETE FROM cutover.backfill_chunks WHERE migration = $1 AND entity = $2",
                  {migration, entity});
  return deleted.ok() ? Status::Ok() : deleted.status().WithContext("resetting the chunk ledger");
}

Result<int64_t> CountChunks(pg_store::PgConnection* conn, const std::string& migration,
                            const std::string& entity) {
  ASSIGN_OR_RETURN(auto n, conn->QueryValue("SELECT count(*) FROM cutover.backfill_chunks "
                                            "WHERE migration = $1 AND entity = $2",
                                            {migration, entity}));
  return n ? std::stoll(*n) : 0;
}

Result<int64_t> CountPendingChunks(pg_store::PgConnection* conn, const std::string& migration,
                                   const std::string& entity) {
  ASSIGN_OR_RETURN(auto v, conn->QueryValue("SELECT count(*) FROM cutover.backfill_chunks WHERE "
                                            "migration = $1 AND entity = $2 AND state = 'pending'",
                                            {migration, entity}));
  return v ? std::stoll(*v) : 0;
}

Result<std::optional<std::string>> ClaimChunk(pg_store::PgConnection* conn,
                                              const std::string& migration,
                                              const std::string& entity,
                                              const std::string& worker) {
  ASSIGN_OR_RETURN(auto claimed,
                   conn->Query("UPDATE cutover.backfill_chunks SET worker = $3, updated_at = now() "
                               "WHERE migration = $1 AND entity = $2 AND chunk_id = ("
                               "SELECT chunk_id FROM cutover.backfill_chunks "
                               "WHERE migration = $1 AND entity = $2 AND state = 'pending' "
                               "ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING chunk_id",
                               {migration, entity, worker}));
  if (claimed.rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(claimed.rows[0][0].value_or(""));
}

Status FinishChunk(pg_store::PgConnection* conn, const std::string& migration,
                   const std::string& entity, const std::string& chunk_id,
                   const ChunkCounts& counts) {
  return conn
      ->Query(
          "UPDATE cutover.backfill_chunks SET state = 'done', rows_read = $4, rows_merged = $5, "
          "rows_rejected = $6, updated_at = now() "
          "WHERE migration = $1 AND entity = $2 AND chunk_id = $3",
          {migration, entity, chunk_id, std::to_string(counts.read), std::to_string(counts.merged),
           std::to_string(counts.rejected)})
      .status();
}

Result<ChunkTotals> SumChunks(pg_store::PgConnection* conn, const std::string& migration,
                              const std::string& entity) {
  ASSIGN_OR_RETURN(auto r,
                   conn->Query("SELECT count(*) FILTER (WHERE state = 'done'), "
                               "count(*) FILTER (WHERE state <> 'done'), "
                               "coalesce(sum(rows_read), 0), coalesce(sum(rows_merged), 0), "
                               "coalesce(sum(rows_rejected), 0), "
                               "coalesce(sum(rows_read) FILTER (WHERE state = 'done'), 0), "
                               "coalesce(sum(rows_merged) FILTER (WHERE state = 'done'), 0), "
                               "coalesce(sum(rows_rejected) FILTER (WHERE state = 'done'), 0) "
                               "FROM cutover.backfill_chunks WHERE migration = $1 AND entity = $2",
                               {migration, entity}));
  const auto& row = r.rows.at(0);
  auto at = [&](int i) { return std::stoll(row[i].value_or("0")); };
  ChunkTotals t;
  t.done_chunks = at(0);
  t.unfinished_chunks = at(1);
  t.all = {at(2), at(3), at(4)};
  t.done = {at(5), at(6), at(7)};
  return t;
}

}  // namespace cutover::catalog
