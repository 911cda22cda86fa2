#include "stores/postgres/table_shape.h"

#include <algorithm>

#include <fmt/format.h>

#include "stores/postgres/pg_connection.h"

namespace cutover::pg_store {

std::string TableShape::QualifiedName() const {
  return pg_store::QualifiedName(schema, table);
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
    TableColumn column{c.name, c.type, c.required || in_key};
    if (c.geometry) {
      column.srid = c.geometry->srid;
      column.point = !c.geometry->lon.empty() || !c.geometry->wkt.empty();
    }
    shape.columns.push_back(std::move(column));
  }
  if (entity.dedup) shape.keep_last_by = entity.dedup->keep_last_by;
  if (parent == nullptr) shape.partition = entity.partition;
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

std::string ColumnTypeDdl(const TableColumn& column) {
  if (column.type != ValueType::kGeometry || column.srid < 0) {
    return std::string(PostgresTypeName(column.type));
  }
  return fmt::format("geometry({}, {})", column.point ? "Point" : "Geometry", column.srid);
}

void MarkLookupTarget(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
                      TableShape* shape) {
  auto visit = [&](const spec::EntitySpec& e, auto&& self) -> void {
    for (const auto& c : e.columns) {
      if (!c.lookup || c.lookup->entity != entity.name) continue;
      std::vector<std::string> unique{c.lookup->match};
      if (std::find(shape->unique_keys.begin(), shape->unique_keys.end(), unique) ==
          shape->unique_keys.end()) {
        shape->unique_keys.push_back(unique);
      }
      for (auto& col : shape->columns) {
        if (col.name == c.lookup->returns) col.generated = true;
      }
    }
    for (const auto& child : e.children) self(child, self);
  };
  for (const auto& e : migration.entities) visit(e, visit);
}

bool NeedsPostgis(const TableShape& shape) {
  return std::any_of(shape.columns.begin(), shape.columns.end(),
                     [](const TableColumn& c) { return c.type == ValueType::kGeometry; });
}

}  // namespace cutover::pg_store
