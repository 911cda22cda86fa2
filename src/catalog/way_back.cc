// Reads and writes of cutover.way_back, and the slots its rows name.
#include "catalog/way_back.h"

#include <xxhash.h>

#include <fmt/format.h>

#include <chrono>
#include <thread>

namespace cutover::catalog {
namespace {

std::string OptionalText(const std::optional<double>& v) {
  return v ? std::to_string(*v) : std::string();
}

}  // namespace

std::string WayBackSlotName(std::string_view migration, std::string_view entity) {
  std::string text;
  for (std::string_view part : {migration, entity}) {
    text += std::to_string(part.size());
    text += ':';
    text += part;
  }
  return fmt::format("cutover_wb_{:016x}", XXH3_64bits(text.data(), text.size()));
}

Status SaveWayBack(pg_store::PgConnection* conn, const WayBackState& s) {
  return conn
      ->Query(
          "INSERT INTO cutover.way_back (migration, entity, slot, reconciled, changes_applied, "
          "keys_written, keys_deleted, own_skipped, lag_p50_ms, lag_p99_ms, updated_at) "
          "VALUES ($1, $2, $3, $4::boolean, $5::bigint, $6::bigint, $7::bigint, $8::bigint, "
          "NULLIF($9, '')::float8, NULLIF($10, '')::float8, now()) "
          "ON CONFLICT (migration, entity) DO UPDATE SET slot = excluded.slot, "
          "reconciled = excluded.reconciled, changes_applied = excluded.changes_applied, "
          "keys_written = excluded.keys_written, keys_deleted = excluded.keys_deleted, "
          "own_skipped = excluded.own_skipped, lag_p50_ms = excluded.lag_p50_ms, "
          "lag_p99_ms = excluded.lag_p99_ms, updated_at = now()",
          {s.migration, s.entity, s.slot, s.reconciled ? "true" : "false",
           std::to_string(s.changes_applied), std::to_string(s.keys_written),
           std::to_string(s.keys_deleted), std::to_string(s.own_skipped),
           OptionalText(s.lag_p50_ms), OptionalText(s.lag_p99_ms)})
      .status()
      .WithContext("recording the way back of " + s.entity);
}

Result<std::vector<WayBackSlotStatus>> LoadWayBacks(pg_store::PgConnection* conn,
                                                    const std::string& migration) {
  ASSIGN_OR_RETURN(
      pg_store::QueryResult r,
      conn->Query(
          "SELECT w.entity, w.slot, w.reconciled, w.changes_applied, w.keys_written, "
          "w.keys_deleted, w.own_skipped, w.lag_p50_ms, w.lag_p99_ms, s.slot_name IS NOT NULL, "
          "coalesce(s.wal_status, ''), coalesce(s.confirmed_flush_lsn::text, ''), "
          "pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint, coalesce(s.active, "
          "false) FROM cutover.way_back w LEFT JOIN pg_replication_slots s ON s.slot_name = "
          "w.slot WHERE w.migration = $1 ORDER BY w.entity",
          {migration}));
  std::vector<WayBackSlotStatus> out;
  for (const auto& row : r.rows) {
    WayBackSlotStatus s;
    s.state.migration = migration;
    s.state.entity = row[0].value_or("");
    s.state.slot = row[1].value_or("");
    s.state.reconciled = row[2].value_or("f") == "t";
    s.state.changes_applied = std::stoll(row[3].value_or("0"));
    s.state.keys_written = std::stoll(row[4].value_or("0"));
    s.state.keys_deleted = std::stoll(row[5].value_or("0"));
    s.state.own_skipped = std::stoll(row[6].value_or("0"));
    if (row[7]) s.state.lag_p50_ms = std::stod(*row[7]);
    if (row[8]) s.state.lag_p99_ms = std::stod(*row[8]);
    s.slot_exists = row[9].value_or("f") == "t";
    s.wal_status = row[10].value_or("");
    s.confirmed_lsn = row[11].value_or("");
    if (row[12]) s.retained_wal = std::stoll(*row[12]);
    s.active = row[13].value_or("f") == "t";
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<std::string>> DropWayBacks(pg_store::PgConnection* conn,
                                              const std::string& migration) {
  ASSIGN_OR_RETURN(const pg_store::QueryResult rows,
                   conn->Query("SELECT slot FROM cutover.way_back WHERE migration = $1 "
                               "ORDER BY entity",
                               {migration}));
  std::vector<std::string> dropped;
  for (const auto& row : rows.rows) {
    const std::string slot = row[0].value_or("");
    // A way back that just stopped leaves its server process a moment to go.
    pg_store::QueryResult found;
    for (int tries = 0;; ++tries) {
      ASSIGN_OR_RETURN(found, conn->Query("SELECT active_pid FROM pg_replication_slots WHERE "
                                          "slot_name = $1",
                                          {slot}));
      if (found.rows.empty() || !found.rows[0][0] || tries >= 100) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!found.rows.empty()) {
      if (found.rows[0][0]) {
        return FailedPrecondition(fmt::format(
            "replication slot '{}' is in use by a `cutover sync` (process {} on the server); "
            "stop it first",
            slot, *found.rows[0][0]));
      }
      RETURN_IF_ERROR(conn->Query("SELECT pg_drop_replication_slot($1)", {slot})
                          .status()
                          .WithContext("dropping replication slot '" + slot + "'"));
      dropped.push_back(slot);
    }
    RETURN_IF_ERROR(conn->Exec("DROP PUBLICATION IF EXISTS " + pg_store::QuoteIdent(slot)));
  }
  RETURN_IF_ERROR(
      conn->Query("DELETE FROM cutover.way_back WHERE migration = $1", {migration}).status());
  return dropped;
}

}  // namespace cutover::catalog
