// SourceDedupOf: maps the entity's dedup (or key) columns back to the source
// columns they are read from.
#include "engine/core/source_dedup.h"

namespace cutover::engine {

std::optional<SourceDedup> SourceDedupOf(const spec::EntitySpec& entity) {
  const bool declared = entity.dedup && !entity.dedup->key.empty();
  const std::vector<std::string>& key_columns = declared ? entity.dedup->key : entity.key;
  if (key_columns.empty()) return std::nullopt;
  auto source_of = [&](const std::string& name) -> std::optional<std::string> {
    for (const auto& c : entity.columns) {
      if (c.name != name) continue;
      if (c.geometry || c.default_value) return std::nullopt;
      return c.from.empty() ? c.name : c.from;
    }
    return std::nullopt;
  };
  SourceDedup out;
  for (const auto& k : key_columns) {
    auto from = source_of(k);
    if (!from) return std::nullopt;
    out.key.push_back(*from);
  }
  if (declared) {
    for (const auto& k : entity.dedup->keep_last_by) {
      auto from = source_of(k);
      if (!from) return std::nullopt;
      out.order.push_back(*from);
    }
  }
  return out;
}

}  // namespace cutover::engine
