// cutover.backfill_partitions: plan, claim, checkpoint and sum the partitions
// of an entity (see partition_backfill.cc for how the backfill uses them).
#include "catalog/partition_ledger.h"

#include <algorithm>

#include <fmt/format.h>

namespace cutover::catalog {
namespace {

// Cursors are the store's opaque tokens: kept as bytes, sent and read as hex.
std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

Result<std::string> Unhex(const std::string& hex) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return Internal("a partition cursor of odd hex length");
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return Internal("a partition cursor that is not hex");
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace

Status LockPartitionPlan(pg_store::PgConnection* conn, const std::string& migration,
                         const std::string& entity) {
  return conn->Exec(
      fmt::format("SELECT pg_advisory_xact_lock(hashtext({}))",
                  pg_store::QuoteLiteral("cutover.partitions:" + migration + ":" + entity)));
}

Status InsertPartitions(pg_store::PgConnection* conn, const std::string& migration,
                        const std::string& entity, std::span<const PlannedPartition> partitions) {
  // Several hundred rows per statement: one round trip each, and a plan of
  // a hundred thousand partitions stays a few hundred statements.
  constexpr size_t kPerStatement = 500;
  for (size_t start = 0; start < partitions.size(); start += kPerStatement) {
    std::string values;
    for (size_t i = start; i < std::min(partitions.size(), start + kPerStatement); ++i) {
      const auto& p = partitions[i];
      if (!values.empty()) values += ",\n";
      values += fmt::format("({}, {}, {}, {}, {}, {})", pg_store::QuoteLiteral(migration),
                            pg_store::QuoteLiteral(entity), pg_store::QuoteLiteral(p.partition_id),
                            p.seq, pg_store::QuoteLiteral(p.origin), p.records);
    }
    RETURN_IF_ERROR(conn->Exec(
        "INSERT INTO cutover.backfill_partitions (migration, entity, partition_id, seq, origin, "
        "records) VALUES " +
        values + " ON CONFLICT DO NOTHING"));
  }
  return Status::Ok();
}

Status DeletePartitions(pg_store::PgConnection* conn, const std::string& migration,
                        const std::string& entity) {
  auto deleted =
      conn->Query("DELETE FROM cutover.backfill_partitions WHERE migration = $1 AND entity = $2",
                  {migration, entity});
  return deleted.ok() ? Status::Ok()
                      : deleted.status().WithContext("resetting the partition ledger");
}

Result<int64_t> CountPartitions(pg_store::PgConnection* conn, const std::string& migration,
                                const std::string& entity) {
  ASSIGN_OR_RETURN(auto n, conn->QueryValue("SELECT count(*) FROM cutover.backfill_partitions "
                                            "WHERE migration = $1 AND entity = $2",
                                            {migration, entity}));
  return n ? std::stoll(*n) : 0;
}

Result<int64_t> CountPendingPartitions(pg_store::PgConnection* conn, const std::string& migration,
                                       const std::string& entity) {
  ASSIGN_OR_RETURN(auto v,
                   conn->QueryValue("SELECT count(*) FROM cutover.backfill_partitions WHERE "
                                    "migration = $1 AND entity = $2 AND state = 'pending'",
                                    {migration, entity}));
  return v ? std::stoll(*v) : 0;
}

Result<std::optional<ClaimedPartition>> ClaimPartition(pg_store::PgConnection* conn,
                                                       const std::string& migration,
                                                       const std::string& entity,
                                                       const std::string& worker,
                                                       const std::string& preferred) {
  // The preferred partition sorts first; SKIP LOCKED passes over it (and
  // any other) while another transaction holds it.
  ASSIGN_OR_RETURN(
      auto claimed,
      conn->Query("UPDATE cutover.backfill_partitions SET worker = $3, updated_at = now() "
                  "WHERE migration = $1 AND entity = $2 AND partition_id = ("
                  "SELECT partition_id FROM cutover.backfill_partitions "
                  "WHERE migration = $1 AND entity = $2 AND state = 'pending' "
                  "ORDER BY partition_id = $4 DESC, seq LIMIT 1 FOR UPDATE SKIP LOCKED) "
                  "RETURNING partition_id, encode(cursor, 'hex'), rows_read, rows_merged, "
                  "rows_rejected",
                  {migration, entity, worker, preferred}));
  if (claimed.rows.empty()) return std::optional<ClaimedPartition>();
  const auto& row = claimed.rows[0];
  ClaimedPartition p;
  p.partition_id = row[0].value_or("");
  ASSIGN_OR_RETURN(p.cursor, Unhex(row[1].value_or("")));
  p.counts = {std::stoll(row[2].value_or("0")), std::stoll(row[3].value_or("0")),
              std::stoll(row[4].value_or("0"))};
  return std::optional<ClaimedPartition>(std::move(p));
}

Status CheckpointPartition(pg_store::PgConnection* conn, const std::string& migration,
                           const std::string& entity, const std::string& partition_id,
                           const std::string& cursor, const PartitionCounts& added, bool done) {
  auto updated = conn->Query(
      "UPDATE cutover.backfill_partitions SET cursor = decode($4, 'hex'), "
      "rows_read = rows_read + $5, rows_merged = rows_merged + $6, "
      "rows_rejected = rows_rejected + $7, state = CASE WHEN $8 THEN 'done' ELSE state END, "
      "updated_at = now() WHERE migration = $1 AND entity = $2 AND partition_id = $3",
      {migration, entity, partition_id, Hex(cursor), std::to_string(added.read),
       std::to_string(added.merged), std::to_string(added.rejected), done ? "true" : "false"});
  if (!updated.ok()) return updated.status().WithContext("checkpointing partition " + partition_id);
  return Status::Ok();
}

Result<PartitionTotals> SumPartitions(pg_store::PgConnection* conn, const std::string& migration,
                                      const std::string& entity) {
  ASSIGN_OR_RETURN(
      auto r, conn->Query("SELECT count(*) FILTER (WHERE state = 'done'), "
                          "count(*) FILTER (WHERE state <> 'done'), "
                          "coalesce(sum(rows_read), 0), coalesce(sum(rows_merged), 0), "
                          "coalesce(sum(rows_rejected), 0), "
                          "coalesce(sum(rows_read) FILTER (WHERE state = 'done'), 0), "
                          "coalesce(sum(rows_merged) FILTER (WHERE state = 'done'), 0), "
                          "coalesce(sum(rows_rejected) FILTER (WHERE state = 'done'), 0) "
                          "FROM cutover.backfill_partitions WHERE migration = $1 AND entity = $2",
                          {migration, entity}));
  const auto& row = r.rows.at(0);
  auto at = [&](int i) { return std::stoll(row[i].value_or("0")); };
  PartitionTotals t;
  t.done_partitions = at(0);
  t.unfinished_partitions = at(1);
  t.all = {at(2), at(3), at(4)};
  t.done = {at(5), at(6), at(7)};
  return t;
}

}  // namespace cutover::catalog
