// What verify knows of one top-level entity while it reads both stores: its
// mapper and table shapes, row hashers, and the buckets pass 2 looks at.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/core/row_hasher.h"
#include "map/record_mapper.h"
#include "spec/spec.h"
#include "stores/postgres/table_shape.h"

namespace cutover::engine::verify {

// Rows read and mapped per batch, on both sides.
inline constexpr size_t kScanBatchRows = 8192;

struct VerifyPlan {
  const spec::EntitySpec* entity = nullptr;
  std::unique_ptr<map::RecordMapper> mapper;
  bool chunked = false;  // a Parquet/CSV source, read on several threads
  // Pass 1 keeps one row per source key (docs/verify.md): the source columns
  // of the dedup key; how many rows it left out.
  bool dedup_stream = false;
  std::vector<std::string> dedup_key_sources;
  int64_t superseded_rows = 0;
  std::vector<int> keep_last_by;  // column indexes in shapes[0]
  std::vector<pg_store::TableShape> shapes;
  std::vector<RowHasher> hashers;                        // parallel to shapes
  std::vector<std::unordered_set<size_t>> diff_buckets;  // pass 2 filter per table
};

// `shape` with only its key columns, in the shape's order (a batch mapped by
// a key-only entity has them in that order too).
pg_store::TableShape KeysOnly(const pg_store::TableShape& shape);

}  // namespace cutover::engine::verify
