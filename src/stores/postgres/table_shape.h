// The PostgreSQL table an entity lands in, derived from the spec: columns,
// types, key and the foreign key to a parent entity's table.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/value_type.h"
#include "spec/spec.h"

namespace cutover::pg_store {

struct TableColumn {
  std::string name;
  ValueType type;
  bool not_null = false;
  // Geometry: the SRID the column enforces (-1: any) and whether it holds
  // points only, so the table says geometry(Point, 4326) as PostGIS users expect.
  int srid = -1;
  bool point = false;
  // Numeric: the scale the target column declares (numeric(12,2): 2), which
  // PostgreSQL gives every value it stores there; -1 when unconstrained or
  // not read from the database (catalog::ReadNumericScales).
  int numeric_scale = -1;
  // Filled by the database when an insert leaves it out: the id of a lookup
  // dimension (identity for integers, gen_random_uuid() for uuids).
  bool generated = false;
};

// The column's type in CREATE TABLE: geometry(Point, 4326), else the type's
// PostgreSQL name.
std::string ColumnTypeDdl(const TableColumn& column);

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
  std::vector<std::vector<std::string>> unique_keys;  // besides the key (a lookup's match)
  // Dedup (spec `dedup.keep_last_by`): of rows with one key, the merge keeps
  // the one with the greatest values here; empty: the last one merged.
  std::vector<std::string> keep_last_by;
  // `partition:`: range partitioned by a time column (time_partitions.h).
  std::optional<spec::TimePartitionSpec> partition;

  std::string QualifiedName() const;
  int IndexOf(std::string_view column) const;
};

// `parent` is the entity whose nested array feeds `entity`, or null.
TableShape ShapeOf(const spec::EntitySpec& entity, const spec::EntitySpec* parent);

// When other entities look names up in `entity` (spec `lookup:`), its
// `match` column becomes unique and its `returns` column generated, so that
// a missing name can be inserted once, by name alone, from any worker.
void MarkLookupTarget(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
                      TableShape* shape);

// True when any column is a PostGIS geometry (the extension must exist).
bool NeedsPostgis(const TableShape& shape);

}  // namespace cutover::pg_store
