#include "target/table_shape.h"

#include <algorithm>

#include "target/pg_connection.h"

namespace cutover::target {

std::string TableShape::QualifiedName() const {
  return target::QualifiedName(schema, table);
}

int TableShape::IndexOf(std::string_view column) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == column) return static_cast<int>(i);
  }
  return -1;
}

TableShape ShapeOf(const spec::EntitySpec& entity, const spec::EntitySpec* parent) {
  TableShape shape;
  shape.schema = entity.schema;
  shape.table = entity.table.empty() ? entity.name : entity.table;
  shape.key = entity.key;
  for (const auto& c : entity.columns) {
    bool in_key = std::find(entity.key.begin(), entity.key.end(), c.name) != entity.key.end();
    shape.columns.push_back({c.name, c.type, c.required || in_key});
  }
  if (parent != nullptr && !entity.parent_columns.empty()) {
    ForeignKey fk;
    fk.ref_schema = parent->schema;
    fk.ref_table = parent->table.empty() ? parent->name : parent->table;
    for (const auto& [child_col, parent_col] : entity.parent_columns) {
      fk.columns.push_back(child_col);
      fk.ref_columns.push_back(parent_col);
    }
    shape.foreign_keys.push_back(std::move(fk));
  }
  return shape;
}

}  // namespace cutover::target
