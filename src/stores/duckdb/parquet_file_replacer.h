// ParquetFileReplacer: a Parquet file written anew from rows in the order
// given, with the old file's column names and types, then renamed over it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/file_lock.h"
#include "store/replacer.h"

namespace cutover::duckdb_store {

class DuckSession;

// Rows are appended (DuckDB's appender) to a table in a DuckDB database
// file beside the target, `.<name>.cutover-tmp.duckdb`, so memory stays
// bounded however many rows come; Commit copies the table, in insertion
// order, to `.<name>.cutover-tmp` (a dot name with no data extension, which
// no source reads), fsyncs it, renames it over the
// target and fsyncs the folder. The table has the old file's columns, names
// and types (DuckDB casts each value to them), so the new file reads as
// the old one did; a column of the old file that no row carries is NULL,
// and a row's column the old file lacks is an error. A file that does not
// exist yet takes the first rows' columns and types. Timestamps are
// written in UTC. A lock on `.<name>.cutover-lock` keeps another replacer
// of the file out from Begin to Commit. Not thread-safe.
class ParquetFileReplacer : public store::Replacer {
 public:
  explicit ParquetFileReplacer(std::string path);
  ~ParquetFileReplacer() override;

  Status Begin() override;
  Status Append(const store::RecordKey& key, const RowBatch& rows, size_t row) override;
  Status Commit() override;
  void Abort() override;

 private:
  struct Table;
  Status CreateTable(const RowBatch& rows);

  const std::string path_;
  std::optional<FileLock> lock_;
  std::unique_ptr<DuckSession> session_;
  std::unique_ptr<Table> table_;
  std::vector<std::string> file_types_;  // the old file's columns' types; empty: none
  std::vector<std::string> file_names_;
};

}  // namespace cutover::duckdb_store
