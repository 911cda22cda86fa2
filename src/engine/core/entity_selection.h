// What `--entity NAME` selects, for every command that takes it: the named
// entity, the top-level entity whose records carry it, and what to report.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/spec.h"

namespace cutover::engine {

// One --entity name, found anywhere in the spec.
struct EntityMatch {
  const spec::EntitySpec* entity = nullptr;     // the named one
  const spec::EntitySpec* top_level = nullptr;  // it, or the top-level entity it is nested in
  // For a lookup dimension (no source of its own): the entities whose
  // lookups fill it, so reading them is what reveals the names it must hold.
  std::vector<const spec::EntitySpec*> filled_by;
  bool is_child() const { return entity != top_level; }
  bool is_dimension() const { return !is_child() && entity->source.empty(); }
};

// Finds `name` among every entity of the spec, children at any depth
// included. An unknown name is InvalidArgument naming the option, the spec
// and the nearest valid name ("did you mean users?").
Result<EntityMatch> MatchEntity(const spec::MigrationSpec& migration, const std::string& name);

// The entity and every table nested in it, by entity name.
std::set<std::string> EntityAndChildren(const spec::EntitySpec& entity);

}  // namespace cutover::engine
