// `cutover rollback --tag T`: deletes from PostgreSQL exactly the rows that
// runs wrote under source tag T (with their child rows), or counts them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "spec/spec.h"

namespace cutover::engine {

struct TagRollbackRequest {
  std::string tag;
  // Top-level entities to roll back; empty: every entity tagged `tag`.
  std::vector<std::string> entities;
  bool dry_run = false;
  int batch_size = 10'000;  // parent rows deleted per transaction
  std::chrono::milliseconds retry_for{60'000};
  std::string who;  // recorded in cutover.stage_audit
};

// One table of an entity: the rows carrying the tag (top-level) or linked to
// such a row (children).
struct TagRollbackTable {
  std::string table{};  // schema-qualified, as PostgreSQL names it
  int64_t rows = 0;     // deleted; with dry_run, that would be deleted
  int64_t kept = 0;     // rows of the table left (counted after the run)
};

struct TagRollbackEntity {
  std::string entity{};
  std::string tag_column{};
  bool table_exists = true;
  std::vector<TagRollbackTable> tables{};  // the entity's table first, then its children
};

struct TagRollbackReport {
  std::string tag{};
  bool dry_run = false;
  std::string stage{};  // where the migration stood
  std::vector<TagRollbackEntity> entities{};
  int64_t total_rows() const;
};

// Tag rollback design
//
// A source tag is a value the spec gives a Redis entity; every row its
// backfill, sync and gateway write carries it in the tag column (text, or
// jsonb {"source": tag}), so the rows one tag wrote are found by that column
// alone, whatever else the table holds. Rows are deleted in batches of
// parent rows, each batch one statement that deletes the parents and,
// through data-modifying CTEs, every child row linked to them, so no batch
// leaves an orphan and the foreign keys are checked once at its end. A batch
// is a transaction: after a kill the rows already deleted stay deleted and a
// rerun deletes the rest (it finds them by the tag again), so nothing is
// deleted twice or left behind.
//
// The first batch of each entity also forgets the entity's backfill
// progress (ledger, partitions, rejects): its rows are gone, so a guard that
// asks whether it was backfilled must say no, and the next backfill copies
// it again. It also appends a row to cutover.stage_audit (outcome
// `rollback`) naming the tag and the rows counted, so the audit trail shows
// every change to what PostgreSQL holds that was not a copy.
//
// Refused (FailedPrecondition) from rollout on: PostgreSQL then answers
// reads, and deleting rows would take them from the application. The stage
// is moved back to shadow or before first.
Result<TagRollbackReport> RunTagRollback(const spec::MigrationSpec& migration,
                                         const std::string& target_url,
                                         const TagRollbackRequest& request);

nlohmann::json TagRollbackReportJson(const TagRollbackReport& report);
std::string FormatTagRollbackReport(const TagRollbackReport& report);

}  // namespace cutover::engine
