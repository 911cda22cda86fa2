// The one place that knows which adapter reads which kind of store: engine
// and server ask here by the spec's source type and never include an adapter.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/spec.h"
#include "store/chunked_source.h"
#include "store/row_source.h"
#include "store/store.h"
#include "stores/postgres/table_shape.h"

namespace cutover::stores {

// What a store needs besides its spec.
struct StoreOptions {
  // Chunk sizes and DuckDB threads of Parquet and CSV stores.
  store::ChunkedSourceOptions chunking;
  // The dotted path of a record's key inside a JSON record, for the writer
  // of an array or lines file (the entity's key column's `from`).
  std::string key_field;
};

// The source types OpenStore knows, sorted ("csv", "json", "parquet").
const std::vector<std::string>& KnownStoreTypes();

// The store of `source` over `path_or_glob` (the source's path, or an
// entity's file under it): a file, a directory or a glob. Cheap: nothing is
// read until a part of the store is used, so opening a store to Ping it
// costs a few system calls. InvalidArgument naming the known types for a
// type no adapter reads.
Result<std::unique_ptr<store::Store>> OpenStore(const spec::SourceSpec& source,
                                                const std::string& path_or_glob,
                                                const StoreOptions& options = {});

// The PostgreSQL table `shape` names, in the database at `url`, as a store
// (pg_table_store.h): the source of a rollback, the target of a writer.
Result<std::unique_ptr<store::Store>> OpenTableStore(const std::string& url,
                                                     const pg_store::TableShape& shape);

// A parquet or csv source over `path_or_glob`: a file, a directory (every
// *.parquet / *.csv under it, sorted) or a glob. Thread-safe: several workers
// may call OpenChunk at once; each reader belongs to one thread.
Result<std::unique_ptr<store::ChunkedSource>> OpenChunkedSource(
    const spec::SourceSpec& source, const std::string& path_or_glob,
    const store::ChunkedSourceOptions& options = {});

// A json source's records, read from the file `path` in the source's layout.
Result<std::unique_ptr<store::RowSource>> OpenRowSource(const spec::SourceSpec& source,
                                                        const std::string& path);

}  // namespace cutover::stores
