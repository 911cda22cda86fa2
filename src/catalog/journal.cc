// cutover.journal: append, claim in order per key, forget, and count the
// writes the second store of a dual write still owes (see journal.h).
#include "catalog/journal.h"

namespace cutover::catalog {

Result<int64_t> AppendJournal(pg_store::PgConnection* conn, const JournalEntry& e) {
  auto id = conn->QueryValue(
      "INSERT INTO cutover.journal (migration, entity, key, operation, state, owed_to) "
      "VALUES ($1, $2, $3, $4, NULLIF($5, '')::jsonb, $6) RETURNING id",
      {e.migration, e.entity, e.key, e.operation, e.state, e.owed_to});
  if (!id.ok()) return id.status().WithContext("journaling a write to " + e.entity);
  return std::stoll(id->value_or("0"));
}

Result<std::vector<JournalEntry>> ClaimJournalEntries(pg_store::PgConnection* conn,
                                                      const std::string& migration, int limit) {
  auto rows = conn->Query(
      "SELECT id, migration, entity, key, operation, coalesce(state::text, ''), owed_to, "
      "attempts, last_error FROM cutover.journal j "
      "WHERE migration = $1 AND next_attempt_at <= clock_timestamp() "
      "AND NOT EXISTS (SELECT 1 FROM cutover.journal o WHERE o.migration = j.migration "
      "AND o.entity = j.entity AND o.key = j.key AND o.id < j.id) "
      "ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
      {migration, std::to_string(limit)});
  if (!rows.ok()) return rows.status().WithContext("claiming journaled writes to replay");
  std::vector<JournalEntry> out;
  for (const auto& r : rows->rows) {
    JournalEntry e;
    e.id = std::stoll(r[0].value_or("0"));
    e.migration = r[1].value_or("");
    e.entity = r[2].value_or("");
    e.key = r[3].value_or("");
    e.operation = r[4].value_or("");
    e.state = r[5].value_or("");
    e.owed_to = r[6].value_or("");
    e.attempts = std::stoi(r[7].value_or("0"));
    e.last_error = r[8].value_or("");
    out.push_back(std::move(e));
  }
  return out;
}

Status ForgetJournalEntry(pg_store::PgConnection* conn, int64_t id) {
  return conn->Query("DELETE FROM cutover.journal WHERE id = $1", {std::to_string(id)})
      .status()
      .WithContext("forgetting a replayed journal entry");
}

Status RecordReplayFailure(pg_store::PgConnection* conn, int64_t id, const std::string& error,
                           std::chrono::milliseconds retry_after) {
  return conn
      ->Query(
          "UPDATE cutover.journal SET attempts = attempts + 1, last_error = $2, "
          "next_attempt_at = clock_timestamp() + make_interval(secs => $3::double precision) "
          "WHERE id = $1",
          {std::to_string(id), error, std::to_string(retry_after.count() / 1000.0)})
      .status()
      .WithContext("recording a failed replay");
}

Result<std::optional<int64_t>> CountUnreplayed(pg_store::PgConnection* conn) {
  auto exists = conn->QueryValue("SELECT to_regclass('cutover.journal')::text");
  if (!exists.ok()) return exists.status().WithContext("looking for the write journal");
  if (!exists->has_value()) return std::optional<int64_t>();
  auto n = conn->QueryValue("SELECT count(*) FROM cutover.journal");
  if (!n.ok()) return n.status().WithContext("counting the write journal");
  return std::optional<int64_t>(n->has_value() ? std::stoll(**n) : 0);
}

}  // namespace cutover::catalog
