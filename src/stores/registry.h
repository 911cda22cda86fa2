// The one place that knows which adapter reads which kind of source: engine
// asks here by the spec's source type and never includes an adapter itself.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "spec/spec.h"
#include "store/chunked_source.h"
#include "store/row_source.h"

namespace cutover::stores {

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
