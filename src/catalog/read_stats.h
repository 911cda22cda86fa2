// cutover.read_stats: read outcomes reported by the processes that serve
// reads, one row per (migration, entity, reporter, second); the guards into
// rollout and primary sum them over a window.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

// Read outcomes reported by a process that serves reads (the gateway, or an
// application through POST /v1/reads).
struct ReadCounts {
  int64_t shadow_reads = 0;       // reads also compared against PostgreSQL
  int64_t shadow_mismatches = 0;  // of those, how many differed
  int64_t postgres_reads = 0;     // reads served from PostgreSQL
  int64_t fallbacks = 0;          // of those, how many fell back to legacy
};

// Adds `counts` to the current second's row of (migration, entity, origin);
// per-second rows keep a seconds-long rehearsal window exact and a 48-hour
// one cheap to sum (at most one row per second per reporter).
Status RecordReads(pg_store::PgConnection* conn, const std::string& migration,
                   const std::string& entity, const std::string& origin, const ReadCounts& counts);

// The sums over every entity and reporter of `migration` in the last
// `window_seconds` (by the database's clock).
Result<ReadCounts> SumReads(pg_store::PgConnection* conn, const std::string& migration,
                            int64_t window_seconds);

}  // namespace cutover::catalog
