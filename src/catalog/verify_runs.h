// cutover.verify_runs: the outcome of each recorded verify, per entity; the
// guards into shadow and complete read the latest one.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

// What one verify found for one entity.
struct VerifyRun {
  std::string entity;
  int64_t source_rows = 0;
  int64_t target_rows = 0;
  int64_t missing = 0;
  int64_t extra = 0;
  int64_t changed = 0;
  bool clean = false;
};

// Appends one row per run, in order, so the last one of an entity is the
// latest.
Status RecordVerifyRuns(pg_store::PgConnection* conn, const std::string& migration,
                        std::span<const VerifyRun> runs);

// The latest run of each entity of `migration` that was ever verified, in
// entity order.
Result<std::vector<VerifyRun>> LatestVerifyRuns(pg_store::PgConnection* conn,
                                                const std::string& migration);

}  // namespace cutover::catalog
