// cutover.read_stats: add a reporter's read outcomes to the current second,
// and sum them over a window.
#include "catalog/read_stats.h"

namespace cutover::catalog {

Status RecordReads(pg_store::PgConnection* conn, const std::string& migration,
                   const std::string& entity, const std::string& origin, const ReadCounts& counts) {
  auto r = conn->Query(
      "INSERT INTO cutover.read_stats AS s (migration, entity, origin, at, shadow_reads, "
      "shadow_mismatches, postgres_reads, fallbacks) "
      "VALUES ($1, $2, $3, date_trunc('second', clock_timestamp()), $4, $5, $6, $7) "
      "ON CONFLICT (migration, entity, origin, at) DO UPDATE SET "
      "shadow_reads = s.shadow_reads + excluded.shadow_reads, "
      "shadow_mismatches = s.shadow_mismatches + excluded.shadow_mismatches, "
      "postgres_reads = s.postgres_reads + excluded.postgres_reads, "
      "fallbacks = s.fallbacks + excluded.fallbacks",
      {migration, entity, origin, std::to_string(counts.shadow_reads),
       std::to_string(counts.shadow_mismatches), std::to_string(counts.postgres_reads),
       std::to_string(counts.fallbacks)});
  if (!r.ok()) return r.status().WithContext("recording read statistics");
  return Status::Ok();
}

Result<ReadCounts> SumReads(pg_store::PgConnection* conn, const std::string& migration,
                            int64_t window_seconds) {
  auto rows = conn->Query(
      "SELECT coalesce(sum(shadow_reads), 0), coalesce(sum(shadow_mismatches), 0), "
      "coalesce(sum(postgres_reads), 0), coalesce(sum(fallbacks), 0) "
      "FROM cutover.read_stats WHERE migration = $1 "
      "AND at >= clock_timestamp() - make_interval(secs => $2::bigint)",
      {migration, std::to_string(window_seconds)});
  if (!rows.ok()) return rows.status().WithContext("reading read statistics");
  const auto& r = rows->rows.at(0);
  auto n = [](const std::optional<std::string>& v) { return v ? std::stoll(*v) : 0; };
  return ReadCounts{n(r[0]), n(r[1]), n(r[2]), n(r[3])};
}

}  // namespace cutover::catalog
