// The interface every mapper implements (JSON documents, columnar batches):
// source batch in, typed rows per target table out, rejects kept with reasons.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/reject.h"
#include "common/row_batch.h"
#include "spec/spec.h"
#include "store/batch_reader.h"

namespace cutover::map {

// Read = mapped + rejected holds for every table, counted here.
struct TableCounts {
  int64_t read = 0;
  int64_t rejected = 0;
  // Records where an object names a key twice; the last value was used, as
  // jsonb does (counted on the top-level table only).
  int64_t repeated_keys = 0;
};

// Where a mapped row came from: the record's index in the source batch and,
// for a nested child, its place in the record ("tasks[3]").
struct RowOrigin {
  uint32_t record = 0;
  std::string item;
};

// The result of mapping one source batch. tables[i] belongs to
// RecordMapper::tables()[i]: the entity first, then its descendants in
// depth-first spec order, so parents always precede their children.
struct MappedBatch {
  std::vector<RowBatch> tables;
  std::vector<std::vector<RowOrigin>> origins;  // origins[i][row] for tables[i]
  std::vector<TableCounts> counts;
  std::vector<Reject> rejects;
};

// A mapper is compiled once per entity and then maps batch after batch. Not
// thread-safe: parallel workers each own one. The pipeline, the backfill
// runners and the verifier use mappers only through this interface.
class RecordMapper {
 public:
  virtual ~RecordMapper() = default;

  // The entity, then its descendants; parents precede children.
  virtual const std::vector<const spec::EntitySpec*>& tables() const = 0;
  // For tables()[i], the index of its parent in tables(), or -1.
  virtual int ParentOf(size_t table) const = 0;

  // Maps every record of `in` into `out` (cleared first). Never fails: a
  // record that cannot be mapped is counted and kept in out->rejects.
  virtual void Map(const store::StoreBatch& in, MappedBatch* out) = 0;

  // The raw record of row `record` of `in` as text, for a reject that
  // PostgreSQL caused after mapping (the mapper's own rejects carry it).
  virtual std::string RecordText(const store::StoreBatch& in, size_t record) const = 0;
};

}  // namespace cutover::map
