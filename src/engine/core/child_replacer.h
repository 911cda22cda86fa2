// ChildReplacer: deletes the child rows of an entity's parents, so that a
// key's state written again replaces its children instead of adding to them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/row_batch.h"
#include "common/status.h"
#include "engine/core/entity_plan.h"
#include "spec/spec.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/row_deleter.h"

namespace cutover::engine {

// A merge keyed by (parent, item) adds and updates child rows but never
// removes one the new state no longer has: a thread that lost a tweet would
// keep it. Whoever writes a parent's whole state (sync, the gateway's
// replayer, a backfill of a versioned store that may follow them) deletes
// the children of the parents it writes first, matching each child table on
// its link columns. Children one level deep whose link is within the
// parent's key (checked at Create). Not thread-safe: one per connection.
class ChildReplacer {
 public:
  // FailedPrecondition naming the entity when a child is nested deeper or
  // links by columns outside the key.
  static Result<std::unique_ptr<ChildReplacer>> Create(const spec::EntitySpec& entity,
                                                       const EntityPlan& plan);

  Status Prepare(pg_store::PgConnection* conn);  // after each (re)connection
  Status Compact(pg_store::PgConnection* conn);  // outside a transaction

  // Deletes, from every child table, the rows linked to `rows` of
  // `parents` (rows of the entity's own table, as mapped).
  Status DeleteChildrenOf(pg_store::PgConnection* conn, const RowBatch& parents,
                          const std::vector<uint32_t>& rows);

 private:
  ChildReplacer() = default;
  // Per plan table (0, the entity itself, unused): the parent columns its
  // link reads, the child's link columns, and its deleter.
  std::vector<std::vector<std::string>> link_parent_, link_child_;
  std::vector<std::unique_ptr<pg_store::RowDeleter>> deleters_;
};

}  // namespace cutover::engine
