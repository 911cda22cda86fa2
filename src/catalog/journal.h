// cutover.journal: the writes a dual write acknowledged but could not yet
// land in the second store, kept durably and replayed in order per key.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

// Journal design
//
// From dual_write on, the gateway writes each record to the primary store
// (legacy until `primary`, PostgreSQL after) and then to the secondary. A
// write that reached the primary but not the secondary is acknowledged only
// once it is appended here (DESIGN.md: no acknowledged write is ever lost),
// and the replayer lands it later. The table is a queue of debts, not a
// history: a row exists exactly while the secondary still owes its write,
// and the replayer deletes it once it landed. So the journal_empty guard
// counts rows, and `complete` waits for zero.
//
// Columns:
//   id          bigserial: the order the writes were acknowledged in.
//   migration, entity, key
//               which record; `key` is the entity's key columns as the
//               spec encodes them (one text, equal keys equal strings).
//   operation   'upsert' or 'delete'.
//   state       jsonb: the record's whole state after the write (NULL for a
//               delete), never a diff, so replaying it twice, or after a
//               later write of the same key already landed, is harmless
//               through the keyed, idempotent writer (store/ protocol).
//   owed_to     'postgres' or 'legacy': the store that still lacks it.
//   written_at  when it was acknowledged (clock_timestamp()).
//   attempts, last_error, next_attempt_at
//               the replayer's bookkeeping: how often it tried, why the
//               last try failed, and when it may try again (backoff).
//
// Order per key: the replayer only takes an entry with no older entry of the
// same (migration, entity, key) (index journal_key_idx), so writes to one key
// land in the order they were acknowledged; different keys replay in
// parallel (FOR UPDATE SKIP LOCKED). An entry owed to PostgreSQL is applied
// and deleted in one transaction: exactly once. One owed to a legacy store is
// applied, then deleted: a crash in between replays it again, which the full
// state makes harmless.
//
// The table exists only once a process that journals (the gateway) called
// EnsureJournalSchema (schema.h): until then nothing records whether every
// dual write reached both stores, and the guard says so instead of passing.

// One journal entry. `state` is the record as JSON text; empty for a delete.
struct JournalEntry {
  int64_t id = 0;  // assigned by AppendJournal
  std::string migration;
  std::string entity;
  std::string key;
  std::string operation;  // "upsert" or "delete"
  std::string state;
  std::string owed_to;  // "postgres" or "legacy"
  int attempts = 0;
  std::string last_error;
};

// Appends `entry` (its id is ignored) and returns the id it got.
// REQUIRES: EnsureJournalSchema has run on this database.
Result<int64_t> AppendJournal(pg_store::PgConnection* conn, const JournalEntry& entry);

// Up to `limit` entries of `migration` due for replay, oldest first, each the
// oldest pending entry of its key, locked FOR UPDATE SKIP LOCKED until the
// caller's transaction ends. REQUIRES: inside a transaction.
Result<std::vector<JournalEntry>> ClaimJournalEntries(pg_store::PgConnection* conn,
                                                      const std::string& migration, int limit);

// Deletes a replayed entry; for an entry owed to PostgreSQL, in the
// transaction that applied it.
Status ForgetJournalEntry(pg_store::PgConnection* conn, int64_t id);

// Records a failed replay: one more attempt, its error, and no new try
// before `retry_after` has passed.
Status RecordReplayFailure(pg_store::PgConnection* conn, int64_t id, const std::string& error,
                           std::chrono::milliseconds retry_after);

// How many writes the journal still holds (every migration: a target serves
// one migration at a time); nullopt when the table does not exist.
Result<std::optional<int64_t>> CountUnreplayed(pg_store::PgConnection* conn);

}  // namespace cutover::catalog
