// FamilyReader: rows of an entity's table read with their children's rows,
// grouped under each parent row, as a JSON record is rebuilt from them.
#pragma once

#include <string>
#include <vector>

#include "common/row_batch.h"
#include "common/status.h"
#include "map/document_builder.h"
#include "spec/spec.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_shape.h"

namespace cutover::engine {

// Parent rows and, per row, the rows of each child that belong to it.
struct FamilyPage {
  RowBatch rows;
  // The key values of each row as SQL literals, "(l1, l2)", parallel to rows.
  std::vector<std::string> key_tuples;
  std::vector<RowBatch> child_rows;                   // one batch per child entity
  std::vector<std::vector<map::ChildRows>> children;  // [row][child]: its slice
};

// Reads an entity's rows and their children in the caller's transaction:
// the parents matching a condition, then each child's rows by the parents'
// keys (`IN (VALUES …)`, ordered by link and key, so a parent's children
// come in key order). Grandchildren are not read (InvertibilityProblem
// refuses them for write-back).
class FamilyReader {
 public:
  // FailedPrecondition when a child does not hold its parent's key.
  static Result<FamilyReader> Create(const spec::MigrationSpec& migration,
                                     const spec::EntitySpec& entity);

  const pg_store::TableShape& shape() const { return shape_; }

  // The parents matching `where` (SQL over the entity's table; "" for all)
  // in the order and limit `tail` says, with their children, into `out`.
  // DataError when a parent's key has no exact SQL literal.
  Status Read(pg_store::PgConnection* conn, const std::string& where, const std::string& tail,
              FamilyPage* out) const;

 private:
  struct ChildTable {
    pg_store::TableShape shape{};
    // The child's columns that hold its parent's key columns, in key order.
    std::vector<std::string> link{};
  };

  std::string entity_name_;
  pg_store::TableShape shape_;
  std::vector<ChildTable> children_;
};

}  // namespace cutover::engine
