// ParquetSource: Parquet files as a ChunkedSource, a chunk being consecutive
// row groups, read by DuckDB with row-group pruning on file_row_number.
#pragma once

#include "stores/duckdb/duckdb_file_source.h"

namespace cutover::duckdb_store {

// Chunks come from parquet_metadata(): row group g of a file is rows
// [sum of the sizes of groups < g, + its size), and a chunk is a run of
// consecutive row groups holding at least `chunk_rows` rows (or the file's
// last ones). A chunk is read with
// `WHERE file_row_number BETWEEN ...`, which DuckDB answers from the row
// group statistics, so reading one chunk reads only its row group (measured:
// the last of 20 row groups of a 20M-row file in 1/20 of the full scan).
// Files are read with their own schema and cast to the union of all files'
// columns (a column a file lacks is NULL). See DuckFileSource for threads.
class ParquetSource : public DuckFileSource {
 public:
  ParquetSource(std::unique_ptr<DuckSession> session, std::vector<std::string> files,
                std::string what, int64_t chunk_rows)
      : DuckFileSource(std::move(session), std::move(files), std::move(what)),
        chunk_rows_(chunk_rows) {}

  // From each file's `geo` key-value metadata (geoparquet.cc).
  Result<std::vector<store::GeometryCrs>> GeometryReferenceSystems() override;

 protected:
  std::string Relation(const std::vector<std::string>& files) const override;
  Result<std::vector<ChunkRef>> PlanFile(DuckSession* session, const std::string& file,
                                         const std::vector<ColumnPlan>& columns) override;
  ChunkQuery MakeQuery(const ChunkRef& chunk, const std::string& select_list,
                       const std::vector<ColumnPlan>& file_columns) const override;
  std::string DedupRelation() const override;

 private:
  const int64_t chunk_rows_;
};

}  // namespace cutover::duckdb_store
