#include "engine/core/entity_selection.h"

#include <string_view>

#include <fmt/format.h>

#include "spec/nearest_name.h"

namespace cutover::engine {
namespace {

void CollectNames(const spec::EntitySpec& entity, std::vector<std::string_view>* names) {
  names->push_back(entity.name);
  for (const auto& child : entity.children) CollectNames(child, names);
}

bool Contains(const spec::EntitySpec& entity, std::string_view name) {
  if (entity.name == name) return true;
  for (const auto& child : entity.children) {
    if (Contains(child, name)) return true;
  }
  return false;
}

}  // namespace

Result<EntityMatch> MatchEntity(const spec::MigrationSpec& migration, const std::string& name) {
  EntityMatch match;
  for (const auto& top : migration.entities) {
    if (!Contains(top, name)) continue;
    match.top_level = &top;
    match.entity = migration.FindEntity(name);
    break;
  }
  if (match.entity == nullptr) {
    std::vector<std::string_view> names;
    for (const auto& top : migration.entities) CollectNames(top, &names);
    const std::string nearest = spec::NearestName(name, names);
    return InvalidArgument(nearest.empty()
                               ? fmt::format("--entity {}: no such entity in {}; it has: {}", name,
                                             migration.spec_path, fmt::join(names, ", "))
                               : fmt::format("--entity {}: no such entity in {}; did you mean {}?",
                                             name, migration.spec_path, nearest));
  }
  if (match.is_dimension()) {
    for (const auto& e : migration.entities) {
      for (const auto& c : e.columns) {
        if (c.lookup && c.lookup->entity == name) {
          match.filled_by.push_back(&e);
          break;
        }
      }
    }
  }
  return match;
}

std::set<std::string> EntityAndChildren(const spec::EntitySpec& entity) {
  std::vector<std::string_view> names;
  CollectNames(entity, &names);
  return {names.begin(), names.end()};
}

}  // namespace cutover::engine
