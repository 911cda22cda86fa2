// The migration spec: what a user declares in cutover.yaml, after ${VAR}
// expansion and validation. Lookups over the plain data in spec.h.
#include "spec/spec.h"

namespace cutover::spec {
namespace {

const EntitySpec* FindEntityIn(const std::vector<EntitySpec>& entities, std::string_view name) {
  for (const EntitySpec& entity : entities) {
    if (entity.name == name) return &entity;
    if (const EntitySpec* child = FindEntityIn(entity.children, name)) return child;
  }
  return nullptr;
}

}  // namespace

std::string Location::ToString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

const ColumnSpec* EntitySpec::FindColumn(std::string_view column) const {
  for (const ColumnSpec& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

const SourceSpec* MigrationSpec::FindSource(std::string_view source_name) const {
  for (const SourceSpec& s : sources) {
    if (s.name == source_name) return &s;
  }
  return nullptr;
}

const EntitySpec* MigrationSpec::FindEntity(std::string_view entity_name) const {
  return FindEntityIn(entities, entity_name);
}

}  // namespace cutover::spec
