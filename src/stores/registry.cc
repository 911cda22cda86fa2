// Dispatch from the spec's source type to the adapter that reads it.
#include "stores/registry.h"

#include "stores/duckdb/open_chunked_source.h"
#include "stores/json/json_record_reader.h"

namespace cutover::stores {

Result<std::unique_ptr<store::ChunkedSource>> OpenChunkedSource(
    const spec::SourceSpec& source, const std::string& path_or_glob,
    const store::ChunkedSourceOptions& options) {
  return duckdb_store::OpenChunkedSource(source, path_or_glob, options);
}

Result<std::unique_ptr<store::RowSource>> OpenRowSource(const spec::SourceSpec& source,
                                                        const std::string& path) {
  if (source.type != "json") {
    return InvalidArgument("source '" + source.name + "': type '" + source.type +
                           "' is not read record by record (expected json)");
  }
  return std::unique_ptr<store::RowSource>(new json_store::JsonRecordReader(path, source.layout));
}

}  // namespace cutover::stores
