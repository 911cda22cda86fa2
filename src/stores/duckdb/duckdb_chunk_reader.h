// DuckChunkReader: streams one chunk (a row range of one file) out of a DuckDB
// query into SourceBatches, converting DuckDB vectors column by column.
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/batch_reader.h"
#include "stores/duckdb/duckdb_session.h"
#include "stores/duckdb/vector_converter.h"

namespace cutover::duckdb_store {

// What to read. `make_sql(begin, end)` returns the query for rows
// [begin, end) of the file; when `ordinal_column` is true its first column
// is each row's ordinal in the file (Parquet's file_row_number), otherwise
// rows are numbered from `begin` in the order DuckDB returns them (CSV).
struct ChunkQuery {
  std::string file;
  int64_t first_row = 0;
  // -1: the query's whole result, however many rows (make_sql gets
  // (first_row, INT64_MAX) and the count is not checked).
  int64_t row_count = 0;
  std::function<std::string(int64_t begin, int64_t end)> make_sql;
  bool ordinal_column = false;
  // Rows of the range that the query leaves out on purpose (superseded
  // duplicates); a read of the whole range yields row_count minus these.
  int64_t skipped_rows = 0;
  // Line of row 0 when every row of the file is exactly one line (so row k
  // is on line `line_of_row0 + k`); -1 when lines are unknown.
  int64_t line_of_row0 = -1;
};

// Memory is bounded by one DuckDB vector (2048 rows) plus the caller's batch:
// the result is streamed, never materialized. Not thread-safe; a reader owns
// its session (a connection of its own) and belongs to one thread.
class DuckChunkReader {
 public:
  DuckChunkReader(std::unique_ptr<DuckSession> session,
                  std::shared_ptr<const std::vector<ColumnPlan>> columns, ChunkQuery query);
  ~DuckChunkReader();
  DuckChunkReader(const DuckChunkReader&) = delete;
  DuckChunkReader& operator=(const DuckChunkReader&) = delete;

  // Starts at row max(first_row, from_row) of the chunk.
  Status Open(int64_t from_row);
  // Fails with a DataError when the chunk ends with fewer rows than planned
  // (the file changed since the chunks were planned).
  Result<bool> Next(size_t max_records, store::StoreBatch* out);
  // The ordinal in its file of the row after the last one Next() returned
  // (after Open, before any Next: where it opened).
  int64_t next_row() const { return next_ordinal_; }

 private:
  void Close();
  Status FetchChunk();  // next DuckDB data chunk into chunk_; null at the end

  // Constant after construction.
  const std::unique_ptr<DuckSession> session_;
  const std::shared_ptr<const std::vector<ColumnPlan>> columns_;
  const ChunkQuery query_;

  // Scan state, set by Open().
  bool open_ = false;
  bool has_result_ = false;
  bool done_ = false;
  duckdb_result result_{};
  duckdb_data_chunk chunk_ = nullptr;
  idx_t chunk_size_ = 0;
  idx_t chunk_offset_ = 0;
  int64_t begin_ = 0;         // first row this Open() reads
  int64_t next_ordinal_ = 0;  // ordinal of the next row (without an ordinal column)
  int64_t rows_read_ = 0;
};

}  // namespace cutover::duckdb_store
