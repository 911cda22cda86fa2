// A Parquet or CSV source of the spec opened as a ChunkedSource over its
// files: what the DuckDB store is made of (duckdb_store.cc calls it).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "spec/spec.h"
#include "stores/duckdb/chunked_source.h"

namespace cutover::duckdb_store {

// Parquet or CSV source of the spec (type parquet|csv), over `path_or_glob`:
// a file, a directory (every *.parquet / *.csv under it, sorted) or a glob.
// The returned source is thread-safe: several workers may call OpenChunk at
// once; each reader belongs to one thread.
Result<std::unique_ptr<ChunkedSource>> OpenChunkedSource(const spec::SourceSpec& source,
                                                         const std::string& path_or_glob);
Result<std::unique_ptr<ChunkedSource>> OpenChunkedSource(const spec::SourceSpec& source,
                                                         const std::string& path_or_glob,
                                                         const ChunkedSourceOptions& options);

}  // namespace cutover::duckdb_store
