// Reads and writes of cutover.sync_state.
#include "catalog/sync_state.h"

#include <fmt/format.h>

#include <chrono>
#include <thread>

namespace cutover::catalog {
namespace {

std::string OptionalText(const std::optional<double>& v) {
  return v ? std::to_string(*v) : std::string();
}

// The lock's text; hashtextextended makes the advisory lock's 64-bit id.
constexpr std::string_view kPresenceLock =
    "hashtextextended('cutover.sync:' || $1 || ':' || $2, 0)";

// How often a try of the presence lock is repeated, 10 ms apart, while a
// backfill and no sync holds it.
constexpr int kPresenceTries = 300;

}  // namespace

Status AnnounceSync(pg_store::PgConnection* conn, const std::string& migration,
                    const std::string& source) {
  return conn
      ->Query(fmt::format("SELECT pg_advisory_lock_shared({})", kPresenceLock), {migration, source})
      .status()
      .WithContext("announcing the sync of " + source);
}

Result<bool> ExcludeSyncs(pg_store::PgConnection* conn, const std::string& migration,
                          const std::string& source) {
  // Backfills deciding at once would fail each other's try of the exclusive
  // lock, each taking the other for a sync: they decide one at a time.
  RETURN_IF_ERROR(
      conn->Query("SELECT pg_advisory_xact_lock(hashtextextended('cutover.bulk_decision:' || $1 "
                  "|| ':' || $2, 0))",
                  {migration, source})
          .status());
  // Turns alone do not settle it: a transaction ending releases its locks one
  // by one, so the next backfill may get its turn while the one before still
  // holds the presence lock. Only a shared holder is a sync; an exclusive one
  // is a backfill about to let go, and the try is made again.
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto got, conn->QueryValue(fmt::format("SELECT pg_try_advisory_xact_lock({})",
                                                            kPresenceLock),
                                                {migration, source}));
    if (got && *got == "t") return true;
    ASSIGN_OR_RETURN(
        auto sync_runs,
        conn->QueryValue(
            fmt::format("SELECT EXISTS (SELECT 1 FROM pg_locks, (SELECT {} AS id) AS k "
                        "WHERE locktype = 'advisory' AND objsubid = 1 "
                        "AND classid = ((k.id >> 32) & 4294967295)::oid "
                        "AND objid = (k.id & 4294967295)::oid AND mode = 'ShareLock' AND granted)",
                        kPresenceLock),
            {migration, source}));
    if (!sync_runs || *sync_runs == "t") return false;
    // A backfill that holds it that long is not about to let go: load with
    // the indexes in place, which is right beside anything.
    if (attempt == kPresenceTries) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Status SaveSyncState(pg_store::PgConnection* conn, const SyncState& s) {
  ASSIGN_OR_RETURN(
      pg_store::QueryResult r,
      conn->Query(
          "INSERT INTO cutover.sync_state (migration, source, gaps, repairs, changes_applied, "
          "rows_deleted, last_gap, last_gap_at, lag_p50_ms, lag_p99_ms, updated_at) "
          "VALUES ($1, $2, $3::bigint, $4::bigint, $5::bigint, $6::bigint, NULLIF($7, ''), "
          "CASE WHEN $7 = '' THEN NULL ELSE now() END, NULLIF($8, '')::float8, "
          "NULLIF($9, '')::float8, now()) "
          "ON CONFLICT (migration, source) DO UPDATE SET gaps = excluded.gaps, "
          "repairs = excluded.repairs, changes_applied = excluded.changes_applied, "
          "rows_deleted = excluded.rows_deleted, "
          "last_gap_at = CASE WHEN excluded.last_gap IS DISTINCT FROM sync_state.last_gap "
          "THEN excluded.last_gap_at ELSE sync_state.last_gap_at END, "
          "last_gap = excluded.last_gap, lag_p50_ms = excluded.lag_p50_ms, "
          "lag_p99_ms = excluded.lag_p99_ms, updated_at = now()",
          {s.migration, s.source, std::to_string(s.gaps), std::to_string(s.repairs),
           std::to_string(s.changes_applied), std::to_string(s.rows_deleted), s.last_gap,
           OptionalText(s.lag_p50_ms), OptionalText(s.lag_p99_ms)}));
  (void)r;
  return Status::Ok();
}

Result<std::vector<SyncState>> LoadSyncStates(pg_store::PgConnection* conn,
                                              const std::string& migration) {
  ASSIGN_OR_RETURN(pg_store::QueryResult r,
                   conn->Query("SELECT source, gaps, repairs, changes_applied, rows_deleted, "
                               "coalesce(last_gap, ''), lag_p50_ms, lag_p99_ms "
                               "FROM cutover.sync_state WHERE migration = $1 ORDER BY source",
                               {migration}));
  std::vector<SyncState> out;
  for (const auto& row : r.rows) {
    SyncState s;
    s.migration = migration;
    s.source = row[0].value_or("");
    s.gaps = std::stoll(row[1].value_or("0"));
    s.repairs = std::stoll(row[2].value_or("0"));
    s.changes_applied = std::stoll(row[3].value_or("0"));
    s.rows_deleted = std::stoll(row[4].value_or("0"));
    s.last_gap = row[5].value_or("");
    if (row[6]) s.lag_p50_ms = std::stod(*row[6]);
    if (row[7]) s.lag_p99_ms = std::stod(*row[7]);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace cutover::catalog
