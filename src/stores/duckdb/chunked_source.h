// Files that split into independent chunks (Parquet row groups, CSV row
// ranges): what the DuckDB store's partitions, dedup and profile are made of.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/spec.h"
#include "store/batch_reader.h"
#include "store/profiler.h"
#include "store/source_profile.h"

namespace cutover::duckdb_store {

class DuckChunkReader;

// A unit of resumable work: rows [first_row, first_row + row_count) of one
// file. A chunk is merged whole or redone; its id is stable across runs as
// long as the file is unchanged.
struct ChunkRef {
  std::string file;
  int64_t first_row = 0;
  int64_t row_count = 0;
  std::string Id() const;  // "<file>#<first_row>+<row_count>"
};

// The column readers of chunks add after ChunkedSource::HashKeys.
inline constexpr char kKeyHashColumn[] = "cutover_key_hash";

// Batches from a chunk carry typed columns named as in the source file
// (Parquet/CSV column names), with positions' record_index = the row's ordinal
// in its file, byte_offset and line -1 (CSV: line when known).
class ChunkedSource {
 public:
  virtual ~ChunkedSource() = default;
  // Every chunk of every matching file, in a deterministic order.
  virtual Result<std::vector<ChunkRef>> PlanChunks() = 0;
  // A reader of exactly the chunk's rows; Open(chunk.first_row) starts at its first row.
  // Consecutive planned chunks of one file may be joined into one ChunkRef
  // (a scan that needs no resumable unit reads fewer, longer ranges).
  virtual Result<std::unique_ptr<DuckChunkReader>> OpenChunk(const ChunkRef& chunk) = 0;
  // Column names and types as the source describes them (for a glob, the
  // union of its files' columns).
  virtual Result<std::vector<std::pair<std::string, ValueType>>> Describe() = 0;
  // Restricts the columns chunk readers yield to those of `columns` the
  // source has (call before OpenChunk; empty: every column), so that a
  // column the spec never reads is never decoded.
  virtual void ReadOnly(const std::vector<std::string>& columns) { (void)columns; }
  // Per file, those of `columns` it lacks (files lacking none are left out),
  // so that a file whose schema drifted is named rather than read as NULLs.
  virtual Result<std::vector<std::pair<std::string, std::vector<std::string>>>> MissingColumns(
      const std::vector<std::string>& columns) {
    (void)columns;
    return std::vector<std::pair<std::string, std::vector<std::string>>>{};
  }
  // From now on, readers of chunks skip every row that a later row with the
  // same key supersedes: of the rows with one value of `key_source_columns`,
  // all but the one with the greatest `order_source_columns` (compared as the
  // source types compare), ties going to the later row in source order (file,
  // then row in file). A row with a NULL key or order value is not ranked: it
  // is kept, for the mapper to reject (see engine/core/source_dedup.h). Every process computes the
  // same set from the same files, so chunk contents stay stable across processes and reruns.
  // FailedPrecondition when the source cannot tell.
  virtual Status SkipSupersededRows(const std::vector<std::string>& key_source_columns,
                                    const std::vector<std::string>& order_source_columns) {
    (void)key_source_columns;
    (void)order_source_columns;
    return FailedPrecondition("this source cannot deduplicate itself");
  }
  // Rows of `chunk` that SkipSupersededRows removed (0 before it is called);
  // a reader of the chunk yields row_count minus these.
  virtual Result<int64_t> SupersededRows(const ChunkRef& chunk) {
    (void)chunk;
    return int64_t{0};
  }
  // From now on readers of chunks add a last column, kKeyHashColumn (bigint):
  // a 63-bit hash of `key_source_columns` as the source stores them, equal
  // for equal keys. Returns the hashes that more than one row carries,
  // sorted; a row whose hash is not among them is the only row of its key.
  // Memory: 8 bytes per repeated key. InvalidArgument for an unknown column.
  virtual Result<std::vector<int64_t>> HashKeys(
      const std::vector<std::string>& key_source_columns) {
    (void)key_source_columns;
    return FailedPrecondition("this source cannot hash its keys");
  }
  // What the files' GeoParquet metadata says of their geometry columns, one
  // entry per file and column it describes; empty for files without it.
  virtual Result<std::vector<store::GeometryCrs>> GeometryReferenceSystems() {
    return std::vector<store::GeometryCrs>{};
  }
  // Files, row counts, per-column statistics and sample rows (cutover
  // inspect). Sources that cannot profile themselves say so.
  virtual Result<store::SourceProfile> Profile(const store::ProfileOptions& options) {
    (void)options;
    return FailedPrecondition("this source cannot profile itself");
  }
};

// Knobs of the DuckDB-backed sources; the defaults suit a backfill.
struct ChunkedSourceOptions {
  // Rows per CSV chunk. Default 1,000,000: large enough that the per-chunk
  // query start is noise, small enough that a redone chunk costs seconds.
  // Reading chunk k of a CSV file re-parses the k chunks before it (a CSV file
  // has no row index), so a file of n chunks costs about n/2 extra passes.
  int64_t csv_chunk_rows = 1000000;
  // Rows per Parquet chunk: consecutive row groups of a file are joined until
  // they hold at least this many (a row group is never split). Files written
  // with small row groups would otherwise cost a query and a transaction
  // every few thousand rows. Default 100,000: a redone chunk costs under a
  // second, and 25M rows still make hundreds of chunks to share.
  int64_t parquet_chunk_rows = 100000;
  // DuckDB worker threads shared by every reader of this source; 0 = DuckDB's
  // default (all cores). Default 1: a chunk is one row group, which DuckDB
  // reads on one thread anyway, and parallel backfill workers already use
  // the cores (measured: a 20M-row file read chunk by chunk at 5.8M rows/s
  // with 1 thread, 2.9M with 2). Whole-source scans (Profile) gain from 0.
  int threads = 1;
};

}  // namespace cutover::duckdb_store
