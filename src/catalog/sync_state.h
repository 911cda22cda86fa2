// cutover.sync_state: what a `cutover sync` of one source has done, for
// people and for /metrics: gaps detected, repairs run, changes applied, lag.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

struct SyncState {
  std::string migration;
  std::string source;
  int64_t gaps = 0;
  int64_t repairs = 0;
  int64_t changes_applied = 0;
  int64_t rows_deleted = 0;
  std::string last_gap;  // the last gap's reason; "" when none
  std::optional<double> lag_p50_ms;
  std::optional<double> lag_p99_ms;
};

// Replaces the row of (state.migration, state.source) with `state`.
Status SaveSyncState(pg_store::PgConnection* conn, const SyncState& state);

// Sync presence design
//
// A bulk load sets an entity's key and indexes aside (deferred_ddl.h), and a
// sync cannot merge into a table without its key. So the two exclude each
// other through one advisory lock per (migration, source): a running sync
// holds it shared, on its session, for as long as it runs; a backfill
// deciding on a bulk load tries it exclusively inside the transaction that
// sets the indexes aside, and loads with them in place when a sync holds it.
// Backfills take turns at that decision, and only a shared holder counts as a
// sync: a backfill whose transaction is ending may hold the lock a moment
// after the next one's turn began, and is waited for. A sync that starts
// later waits for that transaction, then finds the entity's key deferred
// and leaves it alone until the load has built it
// (engine/sync/sync_command.cc). A reconnected session takes the lock again.

// Marks a sync of (migration, source) as running on `conn`'s session, waiting
// for a backfill that is deciding on a bulk load of one of its entities.
Status AnnounceSync(pg_store::PgConnection* conn, const std::string& migration,
                    const std::string& source);

// True when no sync of (migration, source) runs, and none can start until the
// caller's transaction ends. REQUIRES: an open transaction on `conn`.
Result<bool> ExcludeSyncs(pg_store::PgConnection* conn, const std::string& migration,
                          const std::string& source);

// Every source's row of `migration`, by source name.
Result<std::vector<SyncState>> LoadSyncStates(pg_store::PgConnection* conn,
                                              const std::string& migration);

}  // namespace cutover::catalog
