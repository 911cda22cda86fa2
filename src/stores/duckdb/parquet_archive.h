// ParquetArchive: a directory of Parquet files that the gateway appends to,
// each group of writes one new file; with its writer and its reader by key.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/row_batch.h"
#include "common/status.h"
#include "store/key_reader.h"
#include "store/writer.h"

namespace cutover::duckdb_store {

struct ArchiveOptions {
  std::chrono::milliseconds flush_interval{100};
  size_t flush_rows = 10000;
};

// ParquetArchive design
//
// A Parquet file cannot be changed, so an archive grows by new files: writes
// are queued and written together (common/group_commit.h) as one new file
// once `flush_rows` wait or `flush_interval` has passed since the oldest,
// which is what a collector that buffers rows does, except that no write is
// answered before its file is on disk. A file is written under a dot name
// ending in .tmp (which no read of the directory lists), fsync'd, renamed to
// `cutover-<microseconds>.parquet` and the directory fsync'd, so a reader
// sees the whole file or none of it, and a crash leaves at most a .tmp file.
//
// Records arrive as JSON objects of column values and are cast by DuckDB to
// the types the directory's files already have (their union by name), so a
// new file reads exactly as the old ones do. A record that names no column,
// or whose value does not cast, is refused alone; the rest of its group is
// written. The archive only appends: a key written twice is two rows, and
// what a read by key returns is the last of them in source order (files by
// path, rows in file order), as a backfill deduplicating the source keeps.
//
// Each file's version is the wall clock after its rename, strictly
// increasing. One process appends to a directory: the registry hands every
// caller of a process the same archive, and an exclusive flock(2) on
// `.cutover-archive-lock` in the directory refuses a second process.
// The archive is thread-safe; its writers and key readers belong to one
// thread each.
struct ArchiveCounts {
  std::string dir;
  int64_t files = 0;    // files written
  int64_t records = 0;  // records they carried
};
// Per archive this process appends to.
std::vector<ArchiveCounts> ArchiveWriteCounts();

// The key of row `row` of `rows` (the store's columns) as the archive's key
// versions name it: the values of `key_columns` (indexes into `rows`) in
// JSON array (numbers for numbers, dates and times as their integer days or
// microseconds, text as strings), so that a backfill's rows and the
// gateway's writes of the same key claim the same name whatever text a
// client spelled the key in, and no two keys share one.
std::string ArchiveKeyText(const RowBatch& rows, size_t row, const std::vector<int>& key_columns);

// The archive's writer for the gateway (store/writer.h): an Upsert takes a
// one-row batch whose "$doc" column is the record, a JSON object of column
// values, and whose key columns (`key_columns`, source names) must equal
// `key`'s parts; Flush appends the staged records as one write. Delete is
// refused (FailedPrecondition): an archive only appends. The archive (and
// its lock) is taken at the first Flush.
std::unique_ptr<store::Writer> MakeArchiveWriter(std::string dir,
                                                 std::vector<std::string> key_columns,
                                                 ArchiveOptions options);

// Reads the archive by key (store/key_reader.h): a key's last row in source
// order, in the columns and types a snapshot read yields; and, without
// reading the directory, what records written by the archive writer read
// back as (WrittenRecords), for the gateway's copy into PostgreSQL. A key
// has one part per key column, or one part holding them all separated by
// commas (the gateway's URL form).
std::unique_ptr<store::KeyReader> MakeArchiveKeyReader(std::string dir,
                                                       std::vector<std::string> key_columns);

}  // namespace cutover::duckdb_store
