// CsvSource: CSV files as a ChunkedSource, in row ranges of a fixed size,
// parsed by DuckDB with the dialect and encoding the spec declares.
#pragma once

#include "spec/spec.h"
#include "stores/duckdb/duckdb_file_source.h"

namespace cutover::duckdb_store {

// The dialect (delimiter, quote, escape, header, encoding, null string) is
// passed to read_csv explicitly; column types are sniffed once per file and
// then pinned (`types = {...}`) so that every chunk of a file agrees. A file
// is counted once when planned; chunk k is read with LIMIT/OFFSET, which makes
// DuckDB parse the rows before it again (a CSV file has no row index): a file
// of n chunks costs about n/2 extra parses in total. A value that does not fit
// the sniffed type fails its chunk with DuckDB's message.
//
// Positions carry the row's ordinal and, when every row is exactly one line
// (the file's line count equals its row count plus the header; UTF-8 and
// Latin-1 only), its line number; otherwise line -1.
class CsvSource : public DuckFileSource {
 public:
  CsvSource(std::unique_ptr<DuckSession> session, std::vector<std::string> files, std::string what,
            spec::CsvOptions csv, int64_t chunk_rows);

 protected:
  std::string Relation(const std::vector<std::string>& files) const override;
  // Each file numbers its rows in read order, as LIMIT/OFFSET counts them.
  std::string DedupRelation() const override;
  Result<std::vector<ChunkRef>> PlanFile(DuckSession* session, const std::string& file,
                                         const std::vector<ColumnPlan>& columns) override;
  ChunkQuery MakeQuery(const ChunkRef& chunk, const std::string& select_list,
                       const std::vector<ColumnPlan>& file_columns) const override;

 private:
  // The read_csv arguments after the file: the dialect, plus pinned types.
  std::string Arguments(const std::vector<ColumnPlan>* pinned) const;

  // Constant after construction.
  const spec::CsvOptions csv_;
  const int64_t chunk_rows_;

  // Protected by mu_: line of row 0 per planned file (-1 unknown).
  std::map<std::string, int64_t> line_of_row0_;
};

}  // namespace cutover::duckdb_store
