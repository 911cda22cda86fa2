// cutover.key_versions: the newest version of each key of a versioned source
// (Redis) written to PostgreSQL, so an older read never overwrites a newer one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

// One key's state as a writer is about to apply it.
struct KeyVersion {
  std::string key;  // the source's key, bytes
  int64_t version = 0;
  bool deleted = false;  // the key was found missing: its rows are deleted
};

// Key versions design
//
// A backfill and a sync may read one key at different moments and reach
// PostgreSQL in the other order: a value read before a change would then
// overwrite the change, and a key read before it was deleted would come
// back. Every state written carries the version it was read at (the
// source's clock, taken before the read), and a writer first claims each
// key here: the claim succeeds when no newer version was written. Claims run
// in the writer's transaction, so the row lock serializes two writers of
// one key, and a claim that loses means the rows of that key are left alone.
// Deletions stay as rows (tombstones), which is what stops a late read from
// resurrecting a deleted key. An equal version wins: two reads of one
// moment saw one state. Rows are keyed by (scope, key), the scope being the
// number cutover.key_scopes gives each (migration, entity), so an index
// search compares an integer and the key's bytes, never the two names.
//
// How a writer claims. A first backfill claims keys nobody claimed before:
// one plain COPY of the claims (under a savepoint) then costs a third of the
// upsert, and a unique violation says some key was claimed after all, so the
// batch is claimed again by the upsert. After kMaxCopyFailures such batches
// (a sync racing the backfill, a rerun) the writer stops trying.
//
// A bulk load (engine/backfill/bulk_load.cc) claims with first_only: it starts
// with no claim in its scope and no other writer of the entity, so a key
// claimed before was claimed by this load, and its rows are already written
// (SCAN returns a key again when the keyspace is resized meanwhile). It
// loses, whatever its version: the table has no key to merge a second state
// into, and the first state stands, as a later change does after any read.
struct ClaimStrategy {
  static constexpr int kMaxCopyFailures = 3;
  bool copy_first = false;
  bool first_only = false;
  int copy_failures = 0;
  // Set by each claim: the COPY took every key, so none had been claimed
  // before, and no writer (each claims first) has written any of them.
  bool last_copied = false;
};

// Claims `items` for (migration, entity) and returns, per item, whether it
// won (its state is the newest: write it). Items may repeat a key: the
// highest version among them is claimed and the others lose. `strategy`
// (may be null: upsert only) is updated as copies fail.
// REQUIRES: an open transaction on `conn`.
Result<std::vector<bool>> ClaimKeyVersions(pg_store::PgConnection* conn,
                                           const std::string& migration, const std::string& entity,
                                           const std::vector<KeyVersion>& items,
                                           ClaimStrategy* strategy = nullptr);

// Up to `limit` keys of (migration, entity) after `after` (bytewise; "" for
// the first page) whose written state is not a deletion and older than
// `version`: after a full scan whose reads all came after `version`, the keys
// the scan did not see, which may be gone.
Result<std::vector<std::string>> KeysOlderThan(pg_store::PgConnection* conn,
                                               const std::string& migration,
                                               const std::string& entity, int64_t version,
                                               const std::string& after, int limit);

// Up to `limit` keys after `after` (bytewise; "" for the first page) of rows
// of `table` that no claim of (migration, entity) names, `key_sql` giving a
// row's key (engine/core/redis_key_sql.h): rows a bulk load wrote without
// claims. After a full scan, which claims every key it reads, those are the
// rows of keys gone.
Result<std::vector<std::string>> UnclaimedKeys(pg_store::PgConnection* conn,
                                               const std::string& migration,
                                               const std::string& entity, const std::string& table,
                                               const std::string& key_sql, const std::string& after,
                                               int limit);

// True when (migration, entity) has a claim, a deletion's included.
Result<bool> HasKeyVersions(pg_store::PgConnection* conn, const std::string& migration,
                            const std::string& entity);

// Forgets the versions of (migration, entity): a fresh backfill starts over.
Status ForgetKeyVersions(pg_store::PgConnection* conn, const std::string& migration,
                         const std::string& entity);

}  // namespace cutover::catalog
