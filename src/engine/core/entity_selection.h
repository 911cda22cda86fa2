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

// --priority and --pattern, which backfill and verify share. Empty: not given.
struct EntityFilter {
  // A priority name (critical, high, medium, low) or number: the top-level
  // entities of that priority.
  std::string priority;
  // A glob (fnmatch(3)): the entities of Redis sources whose key pattern's
  // text ("threadr:usage:{ip}:{day}") or SCAN glob ("threadr:usage:*:*")
  // it matches, or that equal it.
  std::string pattern;
  bool empty() const { return priority.empty() && pattern.empty(); }
};

// The --entity names to run once `filter` applies to `names` (empty: every
// entity): `names` itself when the filter is empty; else the top-level
// entities with a source that the filter selects, or, when names were given,
// those of `names` (a child or dimension by the entity it is read through)
// that it selects. InvalidArgument for an unknown priority name (naming the
// known ones) and for a selection of nothing (naming what each entity has):
// a filter that moves nothing is a mistake, never a run of 0 rows.
Result<std::vector<std::string>> ApplyEntityFilter(const spec::MigrationSpec& migration,
                                                   const std::vector<std::string>& names,
                                                   const EntityFilter& filter);

}  // namespace cutover::engine
