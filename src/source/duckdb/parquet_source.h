// ParquetSource: Parquet files as a ChunkedSource, one chunk per row group,
// read by DuckDB with row-group pruning on file_row_number.
#pragma once

#include "source/duckdb/duckdb_file_source.h"

namespace cutover::source {

// Chunks come from parquet_metadata(): row group g of a file is rows
// [sum of the sizes of groups < g, + its size). A chunk is read with
// `WHERE file_row_number BETWEEN ...`, which DuckDB answers from the row
// group statistics, so reading one chunk reads only its row group (measured:
// the last of 20 row groups of a 20M-row file in 1/20 of the full scan).
// Files are read with their own schema and cast to the union of all files'
// columns (a column a file lacks is NULL). See DuckFileSource for threads.
class ParquetSource : public DuckFileSource {
 public:
  using DuckFileSource::DuckFileSource;

 protected:
  std::string Relation(const std::vector<std::string>& files) const override;
  Result<std::vector<ChunkRef>> PlanFile(DuckSession* session, const std::string& file,
                                         const std::vector<ColumnPlan>& columns) override;
  ChunkQuery MakeQuery(const ChunkRef& chunk, const std::string& select_list,
                       const std::vector<ColumnPlan>& file_columns) const override;
  std::string DedupRelation() const override;
};

}  // namespace cutover::source
