// The protocol of sources that split into independent chunks (Parquet row
// groups, CSV row ranges), so that parallel workers can share one backfill.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "source/row_source.h"
#include "spec/spec.h"

namespace cutover::source {

// A unit of resumable work: rows [first_row, first_row + row_count) of one
// file. A chunk is merged whole or redone; its id is stable across runs as
// long as the file is unchanged.
struct ChunkRef {
  std::string file;
  int64_t first_row = 0;
  int64_t row_count = 0;
  std::string Id() const;  // "<file>#<first_row>+<row_count>"
};

// Batches from a chunk carry typed columns named as in the source file
// (Parquet/CSV column names), with positions' record_index = the row's ordinal
// in its file, byte_offset and line -1 (CSV: line when known).
class ChunkedSource {
 public:
  virtual ~ChunkedSource() = default;
  // Every chunk of every matching file, in a deterministic order.
  virtual Result<std::vector<ChunkRef>> PlanChunks() = 0;
  // A reader of exactly the chunk's rows; Open({}) starts at its first row.
  virtual Result<std::unique_ptr<RowSource>> OpenChunk(const ChunkRef& chunk) = 0;
  // Column names and types as the source describes them.
  virtual Result<std::vector<std::pair<std::string, ValueType>>> Describe() = 0;
};

// Parquet or CSV source of the spec (type parquet|csv), over `path_or_glob`.
Result<std::unique_ptr<ChunkedSource>> OpenChunkedSource(const spec::SourceSpec& source,
                                                         const std::string& path_or_glob);

}  // namespace cutover::source
