// The DuckDB adapter's entry point: a Parquet or CSV source of the spec opened
// as a ChunkedSource over its files. Only stores/registry.cc calls it.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "spec/spec.h"
#include "store/chunked_source.h"

namespace cutover::duckdb_store {

// Parquet or CSV source of the spec (type parquet|csv), over `path_or_glob`:
// a file, a directory (every *.parquet / *.csv under it, sorted) or a glob.
// The returned source is thread-safe: several workers may call OpenChunk at
// once; each reader belongs to one thread.
Result<std::unique_ptr<store::ChunkedSource>> OpenChunkedSource(const spec::SourceSpec& source,
                                                                const std::string& path_or_glob);
Result<std::unique_ptr<store::ChunkedSource>> OpenChunkedSource(
    const spec::SourceSpec& source, const std::string& path_or_glob,
    const store::ChunkedSourceOptions& options);

}  // namespace cutover::duckdb_store
