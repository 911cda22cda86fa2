// What one top-level entity loads into and how its records are mapped: the
// one place backfill, verify and inspect get an entity's mapper and tables.
#pragma once

#include <memory>
#include <vector>

#include "common/status.h"
#include "map/record_mapper.h"
#include "spec/spec.h"
#include "stores/postgres/table_shape.h"

namespace cutover::engine {

// One table an entity fills.
struct PlannedTable {
  const spec::EntitySpec* entity = nullptr;  // the entity or a descendant
  int parent = -1;                           // index of its parent in the plan, or -1
  pg_store::TableShape shape;                // as the backfill creates and checks it
};

struct EntityPlan {
  const spec::EntitySpec* entity = nullptr;
  bool chunked = false;  // a Parquet/CSV source: ColumnarMapper, one table
  // map::DocumentMapper (JSON records, with child tables) or
  // map::ColumnarMapper (Parquet/CSV rows). Not thread-safe: a thread that
  // maps concurrently creates its own with CreateMapper.
  std::unique_ptr<map::RecordMapper> mapper;
  // Parallel to mapper->tables(): the entity first, then its descendants in
  // depth-first spec order.
  std::vector<PlannedTable> tables;
};

// The tables of `entity` (top-level), without a mapper: enough to propose or
// create them. The entity's table is marked as a lookup target
// (pg_store::MarkLookupTarget: unique `match`, generated `returns`) when
// other entities' lookups name it, since the backfill fills it through them.
std::vector<PlannedTable> PlanTables(const spec::MigrationSpec& migration,
                                     const spec::EntitySpec& entity);

// A new mapper for `entity`, of the kind its source needs.
Result<std::unique_ptr<map::RecordMapper>> CreateMapper(const spec::MigrationSpec& migration,
                                                        const spec::EntitySpec& entity);

// The mapper and tables of `entity` (top-level, with a source). Fails as the
// mapper does, e.g. on a column the source's kind cannot map.
Result<EntityPlan> PlanEntity(const spec::MigrationSpec& migration, const spec::EntitySpec& entity);

}  // namespace cutover::engine
