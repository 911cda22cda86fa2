// Turns source records into typed rows for one top-level entity and its
// nested children, following the spec; records that cannot be stored become rejects.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/reject.h"
#include "common/row_batch.h"
#include "common/status.h"
#include "source/row_source.h"
#include "spec/spec.h"

namespace cutover::map {

// Read = mapped + rejected holds for every table, counted here.
struct TableCounts {
  int64_t read = 0;
  int64_t rejected = 0;
};

// Where a mapped row came from: the record's index in the source batch and,
// for a nested child, its place in the record ("tasks[3]").
struct RowOrigin {
  uint32_t record = 0;
  std::string item;
};

// The result of mapping one source batch. tables[i] belongs to
// EntityMapper::tables()[i]: the entity first, then its descendants in
// depth-first spec order, so parents always precede their children.
struct MappedBatch {
  std::vector<RowBatch> tables;
  std::vector<std::vector<RowOrigin>> origins;  // origins[i][row] for tables[i]
  std::vector<TableCounts> counts;
  std::vector<Reject> rejects;
};

class EntityMapper {
 public:
  ~EntityMapper();
  // Compiles the entity's column plan; fails (with the spec location) when a
  // default cannot be converted or a parent link's types do not match.
  static Result<std::unique_ptr<EntityMapper>> Create(const spec::EntitySpec& entity);

  // The entity, then its descendants; parents precede children.
  const std::vector<const spec::EntitySpec*>& tables() const;
  // For tables()[i], the index of its parent in tables(), or -1.
  int ParentOf(size_t table) const;

  // Maps every record of `in` into `out` (cleared first). Never fails: a
  // record that cannot be mapped is counted and kept in out->rejects.
  void Map(const source::SourceBatch& in, MappedBatch* out);

 private:
  struct Impl;
  explicit EntityMapper(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cutover::map
