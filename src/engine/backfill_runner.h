// `cutover backfill`: copies every source record of the selected entities
// into PostgreSQL in checkpointed batches, resumable after a crash at any point.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/spec.h"

namespace cutover::engine {

struct BackfillRequest {
  bool dry_run = false;                // read, map and validate; write nothing
  std::vector<std::string> entities;   // top-level entities to run; empty = all
  int64_t batch_size = 0;              // 0: the spec's backfill.batch_size
  std::optional<int64_t> max_rejects;  // unset: the spec's; -1: no limit
  bool create_tables = false;          // create missing tables from the spec
  bool restart = false;                // ignore the ledger and start over
  // Parallel workers for chunked (Parquet/CSV) sources, each with its own
  // PostgreSQL connection; 0: one per core. JSON sources read on one thread.
  int jobs = 0;
};

struct TableSummary {
  std::string entity;
  int64_t read = 0;
  int64_t migrated = 0;
  int64_t rejected = 0;
  // Records in which an object names a key twice (JSON sources).
  int64_t repeated_keys = 0;
  double seconds = 0;
  std::string state;  // "done", "resumed", "skipped (done)", "stopped", "dry run"
};

struct BackfillReport {
  std::vector<TableSummary> tables;
  int64_t rejected_total = 0;
  int64_t max_rejects = 0;
  bool stopped_on_rejects = false;
  bool dry_run = false;
  std::string reject_file;

  bool ok() const {
    return !stopped_on_rejects && (max_rejects < 0 || rejected_total <= max_rejects);
  }
};

Result<BackfillReport> RunBackfill(const spec::MigrationSpec& migration,
                                   const std::string& target_url, const BackfillRequest& request);

// The end-of-run table: per entity read, migrated, rejected, rows/s.
std::string FormatBackfillSummary(const BackfillReport& report);

}  // namespace cutover::engine
