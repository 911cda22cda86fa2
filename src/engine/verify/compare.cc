// Comparing what both sides hold: pass 2's rows key by key (floats within
// the tolerance), and lookup dimensions as sets of names.
#include "engine/verify/compare.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include <fmt/format.h>

#include "stores/postgres/pg_connection.h"

namespace cutover::engine::verify {

bool WithinTolerance(double a, double b, double tolerance) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= tolerance * std::max(std::fabs(a), std::fabs(b));
}

void CompareRows(const pg_store::TableShape& shape, const SideTable& src, const SideTable& dst,
                 const CompareOptions& options, TableVerdict* v) {
  for (const auto& [key, s] : src.rows_in_diff) {
    if (s.occurrences > 1) v->source_duplicates += s.occurrences - 1;
    auto it = dst.rows_in_diff.find(key);
    if (it == dst.rows_in_diff.end()) {
      v->missing++;
      if (v->missing_keys.size() < options.max_listed_keys) v->missing_keys.push_back(key);
      continue;
    }
    const RowInfo& d = it->second;
    if (s.row_hash == d.row_hash) continue;
    ChangedKey changed{key, {}};
    for (size_t c = 0; c < s.column_hashes.size(); ++c) {
      if (s.column_hashes[c] == d.column_hashes[c]) continue;
      const bool both_float =
          shape.columns[c].type == ValueType::kFloat64 && s.column_hashes[c] != d.column_hashes[c];
      // A NULL is never "within tolerance" of a number, not even of 0.0.
      if (both_float && options.float_tolerance > 0 && s.floats[c] && d.floats[c] &&
          WithinTolerance(*s.floats[c], *d.floats[c], options.float_tolerance)) {
        continue;
      }
      changed.columns.push_back(shape.columns[c].name);
    }
    if (changed.columns.empty()) continue;  // equal within the float tolerance
    v->changed++;
    if (v->changed_keys.size() < options.max_listed_keys) {
      if (!options.detailed) changed.columns.clear();
      v->changed_keys.push_back(std::move(changed));
    }
  }
  for (const auto& [key, d] : dst.rows_in_diff) {
    if (src.rows_in_diff.contains(key)) continue;
    v->extra++;
    if (v->extra_keys.size() < options.max_listed_keys) v->extra_keys.push_back(key);
  }
}

Result<std::optional<TableVerdict>> VerifyDimension(const spec::MigrationSpec& migration,
                                                    const std::string& url,
                                                    const spec::EntitySpec& dimension,
                                                    const DimensionNames& names,
                                                    const CompareOptions& options) {
  auto it = names.find(dimension.name);
  std::string match;
  for (const auto& e : migration.entities) {
    for (const auto& c : e.columns) {
      if (c.lookup && c.lookup->entity == dimension.name) match = c.lookup->match;
    }
  }
  if (it == names.end() || match.empty()) return std::optional<TableVerdict>();
  const auto shape = pg_store::ShapeOf(dimension, nullptr);
  ASSIGN_OR_RETURN(auto conn, pg_store::PgConnection::ConnectWithRetry(url));
  ASSIGN_OR_RETURN(auto rows,
                   conn->Query(fmt::format("SELECT {} FROM {}", pg_store::QuoteIdent(match),
                                           shape.QualifiedName())));
  TableVerdict v;
  v.entity = dimension.name;
  v.table = shape.schema + "." + shape.table;
  v.source_rows = static_cast<int64_t>(it->second.size());
  v.target_rows = static_cast<int64_t>(rows.rows.size());
  std::unordered_set<std::string> in_target;
  for (const auto& row : rows.rows) {
    const std::string name = row[0].value_or("");
    in_target.insert(name);
    if (!it->second.contains(name)) {
      v.extra++;
      if (v.extra_keys.size() < options.max_listed_keys) v.extra_keys.push_back(match + "=" + name);
    }
  }
  for (const auto& name : it->second) {
    if (in_target.contains(name)) continue;
    v.missing++;
    if (v.missing_keys.size() < options.max_listed_keys) {
      v.missing_keys.push_back(match + "=" + name);
    }
  }
  v.matched = v.source_rows - v.missing;
  return std::optional<TableVerdict>(std::move(v));
}

}  // namespace cutover::engine::verify
