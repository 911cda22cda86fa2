// Dispatch from the spec's source type to the adapter that reads it.
#include "stores/registry.h"

#include "stores/duckdb/duckdb_store.h"
#include "stores/duckdb/open_chunked_source.h"
#include "stores/json/json_record_reader.h"
#include "stores/json/json_store.h"
#include "stores/postgres/pg_table_store.h"

namespace cutover::stores {

const std::vector<std::string>& KnownStoreTypes() {
  static const std::vector<std::string> kTypes = {"csv", "json", "parquet"};
  return kTypes;
}

Result<std::unique_ptr<store::Store>> OpenStore(const spec::SourceSpec& source,
                                                const std::string& path_or_glob,
                                                const StoreOptions& options) {
  if (source.type == "json") {
    return json_store::OpenJsonStore(source, path_or_glob, {options.key_field});
  }
  if (source.type == "parquet" || source.type == "csv") {
    return duckdb_store::OpenDuckDbStore(source, path_or_glob, options.chunking);
  }
  std::string known;
  for (const auto& type : KnownStoreTypes()) known += (known.empty() ? "" : ", ") + type;
  return InvalidArgument("source '" + source.name + "': unknown store type '" + source.type +
                         "'; known types: " + known);
}

Result<std::unique_ptr<store::Store>> OpenTableStore(const std::string& url,
                                                     const pg_store::TableShape& shape) {
  return pg_store::OpenTableStore(url, shape);
}

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
