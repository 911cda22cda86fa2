// The PostgreSQL table an entity lands in, derived from the spec: columns,
// types, key and the foreign key to a parent entity's table.
#pragma once

#include <string>
#include <vector>

#include "common/value_type.h"
#include "spec/spec.h"

namespace cutover::target {

struct TableColumn {
  std::string name;
  ValueType type;
  bool not_null = false;
};

struct ForeignKey {
  std::vector<std::string> columns;
  std::string ref_schema;
  std::string ref_table;
  std::vector<std::string> ref_columns;
};

struct TableShape {
  std::string schema;
  std::string table;
  std::vector<TableColumn> columns;  // in spec order; batches use the same order
  std::vector<std::string> key;
  std::vector<ForeignKey> foreign_keys;

  std::string QualifiedName() const;
  int IndexOf(std::string_view column) const;
};

// `parent` is the entity whose nested array feeds `entity`, or null.
TableShape ShapeOf(const spec::EntitySpec& entity, const spec::EntitySpec* parent);

}  // namespace cutover::target
