// `cutover backfill`: copies every source record of the selected entities
// into PostgreSQL in checkpointed batches, resumable after a crash at any point.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/core/entity_selection.h"
#include "spec/spec.h"

namespace cutover::engine {

struct BackfillRequest {
  bool dry_run = false;  // read, map and validate; write nothing
  // Top-level entities to run; empty = all. A child, a lookup dimension or
  // an unknown name is InvalidArgument naming the entity to give instead.
  std::vector<std::string> entities;
  // --priority and --pattern: narrow `entities` (or all) further.
  EntityFilter filter;
  int64_t batch_size = 0;              // 0: the spec's backfill.batch_size
  std::optional<int64_t> max_rejects;  // unset: the spec's; -1: no limit
  bool create_tables = false;          // create missing tables from the spec
  bool restart = false;                // ignore the ledger and start over
  // Parallel workers for chunked (Parquet/CSV) sources, each with its own
  // PostgreSQL connection; 0: one per core. JSON sources read on one thread.
  int jobs = 0;
  // How long one outage of PostgreSQL (lost connections, a restart) is waited
  // out before the run fails; each step of the run gets the whole budget
  // again (stores/postgres/retry.h). Longer survives longer outages; shorter fails
  // sooner when the server is really gone.
  std::chrono::milliseconds retry_for{60'000};
};

// How an entity's run ended, as the summary's last column says it.
enum class RunState {
  kDone,              // "done": loaded from the start
  kResumed,           // "resumed": loaded from where an earlier run stopped
  kSkippedDone,       // "skipped (done)": an earlier run finished it
  kStopped,           // "stopped": more rejects than --max-rejects
  kDryRun,            // "dry run": read and mapped, nothing written
  kNamesFromLookups,  // "names from <entity>": a dimension its facts' lookups filled
};

// The summary's text for `state` ("names from" for kNamesFromLookups, which
// TableSummary::StateText completes with the entity).
std::string_view RunStateName(RunState state);

// One table's counts. read = migrated + rejected + superseded: `migrated`
// is the rows the table holds from this load, `superseded` the rows merged
// into a later row with the same key (a repeated key, `dedup:`).
struct TableSummary {
  std::string entity;
  int64_t read = 0;
  int64_t migrated = 0;
  int64_t rejected = 0;
  int64_t superseded = 0;
  // False when repeated keys cannot be told apart from rows written (a run
  // that resumed, stopped early, or merged into a table that held rows):
  // `migrated` then counts rows written, repeats included.
  bool superseded_known = true;
  // A lookup dimension: its rows are names its facts brought, not records read.
  bool from_lookups = false;
  // Records in which an object names a key twice (JSON sources).
  int64_t repeated_keys = 0;
  double seconds = 0;
  RunState state = RunState::kDone;
  std::string filled_by;  // kNamesFromLookups: the entity whose lookups filled it

  // The summary's state column: RunStateName, with filled_by for a dimension.
  std::string StateText() const;
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

// The end-of-run table: per entity read, migrated, rejected, superseded, rows/s.
std::string FormatBackfillSummary(const BackfillReport& report);

}  // namespace cutover::engine
