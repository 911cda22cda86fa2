// EntitySync: applies the current state of changed keys of one entity to its
// PostgreSQL tables, newest state per key only, deletes and children included.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/core/child_replacer.h"
#include "engine/core/entity_plan.h"
#include "map/record_mapper.h"
#include "spec/spec.h"
#include "store/store.h"
#include "stores/postgres/merge_writer.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/row_deleter.h"

namespace cutover::engine {

// What applying did, summed over calls.
struct ApplyCounts {
  int64_t keys = 0;          // keys whose state was applied (upserted or deleted)
  int64_t upserted = 0;      // records written (their rows merged)
  int64_t deleted = 0;       // keys found gone whose rows were deleted
  int64_t superseded = 0;    // states older than one already written: skipped
  int64_t rejected = 0;      // records the mapper or PostgreSQL refused
  int64_t rows_changed = 0;  // rows inserted or changed (unchanged rows are not rewritten)
};

// EntitySync design
//
// A key's state is applied whole: its row is upserted, its child rows are
// replaced (deleted by their link to the parent, then merged), and a key
// found missing has its row and child rows deleted. Each state carries the
// version it was read at, and only the newest state of each key is applied
// (catalog::ClaimKeyVersions, in the same transaction as the writes), so a
// sync and a backfill, or two syncs, converge on the newest read whatever
// order they commit in, and a deleted key is never brought back. One
// transaction per call: a key's state lands whole or not at all.
//
// Not thread-safe: one EntitySync per applying thread.
class EntitySync {
 public:
  static Result<std::unique_ptr<EntitySync>> Create(const spec::MigrationSpec& migration,
                                                    const spec::EntitySpec& entity,
                                                    store::Store* store);

  const spec::EntitySpec& entity() const { return *entity_; }
  store::Store* store() const { return store_; }

  // Whether each transaction is marked as cutover's own write
  // (catalog/own_writes.h), so the way back skips it. True by default: the
  // state came from the legacy store. The gateway's PostgreSQL-first writes
  // turn it off, since the legacy store has not got them yet.
  void set_marks_own_writes(bool marks) { marks_own_writes_ = marks; }

  // Creates the session's staging tables; call after each (re)connection.
  Status Prepare(pg_store::PgConnection* conn);

  // Applies `present` (records read, with versions) and `missing` (keys found
  // gone as of `missing_version`) in one transaction on `conn`.
  Status Apply(pg_store::PgConnection* conn, const store::StoreBatch& present,
               const std::vector<std::string>& missing, int64_t missing_version,
               ApplyCounts* counts);
  // The same, each missing key found gone as of its own version
  // (missing_versions[i] is missing[i]'s): deletions journaled at different
  // moments, applied together.
  Status Apply(pg_store::PgConnection* conn, const store::StoreBatch& present,
               const std::vector<std::string>& missing,
               const std::vector<int64_t>& missing_versions, ApplyCounts* counts);

  // Re-reads `keys` from the store now and applies what it finds (a key not
  // found is a delete). Both this and applying a missing key need the
  // store's KeyReader (FailedPrecondition without one: a Parquet file).
  Status Refresh(pg_store::PgConnection* conn, const std::vector<std::string>& keys,
                 ApplyCounts* counts);

 private:
  EntitySync() = default;
  Status NoKeyReader() const;

  const spec::MigrationSpec* migration_ = nullptr;
  const spec::EntitySpec* entity_ = nullptr;
  store::Store* store_ = nullptr;
  bool marks_own_writes_ = true;
  EntityPlan plan_;
  spec::EntitySpec key_entity_;  // the entity's key columns only
  std::unique_ptr<map::RecordMapper> key_mapper_;
  std::vector<std::unique_ptr<pg_store::MergeWriter>> writers_;  // per plan table
  std::unique_ptr<pg_store::RowDeleter> key_deleter_;            // the entity's rows, by key
  std::unique_ptr<ChildReplacer> children_;
  store::StoreBatch read_, keys_;
  int64_t applies_ = 0;
  int64_t staged_since_compact_ = 0;  // keys applied since the staging tables were truncated
  map::MappedBatch mapped_, key_rows_;
};

}  // namespace cutover::engine
