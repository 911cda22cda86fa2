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

// Every source's row of `migration`, by source name.
Result<std::vector<SyncState>> LoadSyncStates(pg_store::PgConnection* conn,
                                              const std::string& migration);

}  // namespace cutover::catalog
