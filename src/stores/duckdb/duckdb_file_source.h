// DuckFileSource: what the Parquet and CSV sources share — a DuckDB database,
// the file list, the source's columns, per-file schemas, chunk readers and the
// profile. Subclasses say how to read their format.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "stores/duckdb/chunked_source.h"
#include "stores/duckdb/duckdb_chunk_reader.h"
#include "stores/duckdb/duckdb_session.h"
#include "stores/duckdb/vector_converter.h"

namespace cutover::duckdb_store {

// Thread-safe: PlanChunks, OpenChunk, Describe and Profile may be called from
// several threads; each returned reader has its own DuckDB connection and
// belongs to one thread. The source must outlive none of its readers (they
// keep the database alive on their own).
class DuckFileSource : public ChunkedSource {
 public:
  DuckFileSource(std::unique_ptr<DuckSession> session, std::vector<std::string> files,
                 std::string what);

  Result<std::vector<ChunkRef>> PlanChunks() override;
  Result<std::unique_ptr<DuckChunkReader>> OpenChunk(const ChunkRef& chunk) override;
  Result<std::vector<std::pair<std::string, ValueType>>> Describe() override;
  void ReadOnly(const std::vector<std::string>& columns) override;
  Result<std::vector<std::pair<std::string, std::vector<std::string>>>> MissingColumns(
      const std::vector<std::string>& columns) override;
  Result<store::SourceProfile> Profile(const store::ProfileOptions& options) override;
  Status SkipSupersededRows(const std::vector<std::string>& key_source_columns,
                            const std::vector<std::string>& order_source_columns) override;
  Result<int64_t> SupersededRows(const ChunkRef& chunk) override;
  Result<std::vector<int64_t>> HashKeys(
      const std::vector<std::string>& key_source_columns) override;

  const std::vector<std::string>& files() const { return files_; }

 protected:
  // A FROM-clause expression reading `files` (every file when unioning by
  // name, so that the columns are those of all of them).
  virtual std::string Relation(const std::vector<std::string>& files) const = 0;
  // Chunks of one file, whose columns are `columns`; called under mu_.
  virtual Result<std::vector<ChunkRef>> PlanFile(DuckSession* session, const std::string& file,
                                                 const std::vector<ColumnPlan>& columns) = 0;
  // How to read `chunk`; `select_list` yields the source's columns.
  virtual ChunkQuery MakeQuery(const ChunkRef& chunk, const std::string& select_list,
                               const std::vector<ColumnPlan>& file_columns) const = 0;
  // A FROM-clause expression reading every file with two more columns,
  // `filename` and `file_row_number` (the row's ordinal in its file), whose
  // descending order is the reverse of source order; empty when the format
  // has no such columns (SkipSupersededRows and RankedRelation then fail).
  virtual std::string DedupRelation() const { return {}; }
  // A relation of every row of every file (DedupRelation) with one more
  // column, cutover_rank: 1 for the row that stands for its key, 2... for
  // those it supersedes; with `where`, only the rows it holds for (the keys
  // of the rows it keeps, or a key is ranked wrongly). Configures `session`
  // to spill the window's sort.
  Result<std::string> RankedRelation(DuckSession* session, const std::vector<ColumnPlan>& columns,
                                     const std::vector<std::string>& key_source_columns,
                                     const std::vector<std::string>& order_source_columns,
                                     const std::string& what, const std::string& where = "") const;
  Result<int64_t> SupersededRowsLocked(const ChunkRef& chunk);
  // Rows of all files, as planned; called under mu_.
  Result<int64_t> TotalRowsLocked();
  // DuckDB's hash of the key columns, as FindRepeatedHashes groups them.
  static std::string KeyHash(const std::vector<std::string>& key_source_columns);
  // HashKeys' hash over columns stored as `file_columns` (the union's, or
  // one file's), so that every file's rows hash as the union's do.
  std::string KeyHashOver(const std::vector<ColumnPlan>& file_columns) const;
  // `file`'s number in cutover_superseded (its 1-based position in files_).
  std::string FileIndex(const std::string& file) const;
  // The row filter that skips superseded rows [begin, end) of `file`
  // (" AND ..."), for
  // queries whose rows carry file_row_number; empty when none are skipped.
  std::string SupersededFilter(const std::string& file, int64_t begin, int64_t end) const;
  // Columns of one file as read on its own.
  virtual Result<std::vector<ColumnPlan>> FileColumns(DuckSession* session,
                                                      const std::string& file) const;

  // The source's columns (union over the files); called under mu_.
  Result<std::shared_ptr<const std::vector<ColumnPlan>>> ColumnsLocked();
  Result<const std::vector<ColumnPlan>*> FileColumnsLocked(const std::string& file);
  // The planned chunks of one file (planned on first use, then cached).
  Result<const std::vector<ChunkRef>*> FileChunksLocked(const std::string& file);

  // Constant after construction.
  const std::vector<std::string> files_;
  const std::string what_;  // "source 'prices'", for messages

  // Protected by mu_ (the root session is not thread-safe).
  std::mutex mu_;
  std::unique_ptr<DuckSession> session_;
  std::shared_ptr<const std::vector<ColumnPlan>> columns_;
  std::vector<std::string> read_only_;  // ReadOnly's columns; empty: all
  std::map<std::string, std::vector<ColumnPlan>> file_columns_;
  std::map<std::string, std::vector<ChunkRef>> file_chunks_;
  bool skip_superseded_ = false;
  std::vector<ColumnPlan> hashed_keys_;               // set by HashKeys
  std::map<std::string, int64_t> superseded_counts_;  // by chunk id
};

}  // namespace cutover::duckdb_store
