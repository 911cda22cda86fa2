// A Parquet or CSV source as a store::Store: partitions are the chunks of
// ChunkedSource, with DuckDB's deduplication and profiling as capabilities.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/spec.h"
#include "store/store.h"
#include "stores/duckdb/chunked_source.h"

namespace cutover::duckdb_store {

// `path_or_glob`: a file, a directory (every *.parquet / *.csv under it) or a
// glob. Partition ids are ChunkRef ids ("<file>#<first_row>+<row_count>"); a
// cursor is the next row's ordinal in its file, "row=N". DuckDB is started on
// first use of the snapshot, dedup or profiler, never by Ping (which looks at
// the filesystem alone), so opening a store to Ping it is cheap.
// Thread-safe as store.h says. A Parquet folder read by `key_columns` (the
// entity's key, source names) is also an archive the gateway appends to:
// the store then has a writer and a key reader (parquet_archive.h). Read
// `versioned` by `key_columns` (an archive, or any file or glob: the file
// sync), its rows carry versions (their file's modification time before the
// read) and key names (ArchiveKeyText), as applying them by key needs.
Result<std::unique_ptr<store::Store>> OpenDuckDbStore(
    const spec::SourceSpec& source, const std::string& path_or_glob,
    const ChunkedSourceOptions& options, const std::vector<std::string>& key_columns = {},
    bool versioned = false);

}  // namespace cutover::duckdb_store
