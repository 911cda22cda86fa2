// PlanTables, CreateMapper and PlanEntity: an entity's tables in the
// mappers' order and the mapper its source kind needs.
#include "engine/core/entity_plan.h"

#include <fmt/format.h>

#include "engine/core/source_factory.h"
#include "map/columnar_mapper.h"
#include "map/document_mapper.h"

namespace cutover::engine {
namespace {

// Depth-first in spec order, parents first: RecordMapper::tables()' order.
void AddTables(const spec::EntitySpec& entity, int parent, std::vector<PlannedTable>* out) {
  const int index = static_cast<int>(out->size());
  const spec::EntitySpec* parent_entity = parent >= 0 ? (*out)[parent].entity : nullptr;
  out->push_back(PlannedTable{
      .entity = &entity, .parent = parent, .shape = pg_store::ShapeOf(entity, parent_entity)});
  for (const auto& child : entity.children) AddTables(child, index, out);
}

}  // namespace

std::vector<PlannedTable> PlanTables(const spec::MigrationSpec& migration,
                                     const spec::EntitySpec& entity) {
  std::vector<PlannedTable> tables;
  AddTables(entity, -1, &tables);
  pg_store::MarkLookupTarget(migration, entity, &tables[0].shape);
  return tables;
}

Result<std::unique_ptr<map::RecordMapper>> CreateMapper(const spec::MigrationSpec& migration,
                                                        const spec::EntitySpec& entity) {
  if (IsChunkedEntity(migration, entity)) {
    ASSIGN_OR_RETURN(auto mapper, map::ColumnarMapper::Create(entity));
    return std::unique_ptr<map::RecordMapper>(std::move(mapper));
  }
  ASSIGN_OR_RETURN(auto mapper, map::DocumentMapper::Create(entity));
  return std::unique_ptr<map::RecordMapper>(std::move(mapper));
}

Result<EntityPlan> PlanEntity(const spec::MigrationSpec& migration,
                              const spec::EntitySpec& entity) {
  EntityPlan plan;
  plan.entity = &entity;
  plan.chunked = IsChunkedEntity(migration, entity);
  ASSIGN_OR_RETURN(plan.mapper, CreateMapper(migration, entity));
  plan.tables = PlanTables(migration, entity);
  const auto& mapped = plan.mapper->tables();
  if (mapped.size() != plan.tables.size()) {
    return Internal(fmt::format("{}: the mapper fills {} tables, the plan has {}", entity.name,
                                mapped.size(), plan.tables.size()));
  }
  for (size_t i = 0; i < mapped.size(); ++i) {
    if (mapped[i] != plan.tables[i].entity || plan.mapper->ParentOf(i) != plan.tables[i].parent) {
      return Internal(fmt::format("{}: the mapper's table {} is not the plan's", entity.name, i));
    }
  }
  return plan;
}

}  // namespace cutover::engine
