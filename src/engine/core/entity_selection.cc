#include "engine/core/entity_selection.h"

#include <fnmatch.h>

#include <cctype>
#include <charconv>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

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

// The priority --priority names: a name of kPriorityNames (in any case, as
// the spec takes them) or a number.
Result<int> ParsePriority(const std::string& text) {
  std::string lower = text;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [name, value] : spec::kPriorityNames) {
    if (lower == name) return value;
  }
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) return value;
  std::vector<std::string_view> known;
  for (const auto& [name, v] : spec::kPriorityNames) known.push_back(name);
  return InvalidArgument(fmt::format("--priority {}: no such priority; known: {} (or a number)",
                                     text, fmt::join(known, ", ")));
}

bool Globbed(const std::string& glob, const std::string& text) {
  return glob == text || fnmatch(glob.c_str(), text.c_str(), 0) == 0;
}

bool Selects(const EntityFilter& filter, int priority, const spec::EntitySpec& e) {
  if (e.source.empty()) return false;  // a lookup dimension moves with its facts
  if (!filter.priority.empty() && e.priority != priority) return false;
  if (!filter.pattern.empty()) {
    if (!e.redis) return false;
    if (!Globbed(filter.pattern, e.redis->pattern.text()) &&
        !Globbed(filter.pattern, e.redis->pattern.Glob())) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<std::vector<std::string>> ApplyEntityFilter(const spec::MigrationSpec& migration,
                                                   const std::vector<std::string>& names,
                                                   const EntityFilter& filter) {
  if (filter.empty()) return names;
  int priority = 0;
  if (!filter.priority.empty()) {
    ASSIGN_OR_RETURN(priority, ParsePriority(filter.priority));
  }
  std::vector<std::string> selected;
  if (names.empty()) {
    for (const auto& e : migration.entities) {
      if (Selects(filter, priority, e)) selected.push_back(e.name);
    }
  } else {
    for (const auto& name : names) {
      ASSIGN_OR_RETURN(const EntityMatch match, MatchEntity(migration, name));
      if (Selects(filter, priority, *match.top_level)) selected.push_back(name);
    }
  }
  if (!selected.empty()) return selected;
  std::vector<std::string> given;
  if (!filter.priority.empty()) given.push_back("--priority " + filter.priority);
  if (!filter.pattern.empty()) given.push_back("--pattern " + filter.pattern);
  for (const auto& name : names) given.push_back("--entity " + name);
  std::vector<std::string> offered;
  for (const auto& e : migration.entities) {
    if (e.source.empty()) continue;
    offered.push_back(fmt::format("{} ({}{})", e.name, spec::PriorityName(e.priority),
                                  e.redis ? ", " + e.redis->pattern.text() : ""));
  }
  return InvalidArgument(fmt::format("{} selects no entity of {}; it has: {}",
                                     fmt::join(given, " "), migration.spec_path,
                                     fmt::join(offered, ", ")));
}

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
