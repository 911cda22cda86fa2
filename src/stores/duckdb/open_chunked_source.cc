// OpenChunkedSource: the factory that turns a parquet or csv source of the
// spec into a DuckDB-backed ChunkedSource over its files.
#include <memory>

#include "stores/duckdb/open_chunked_source.h"

#include "stores/duckdb/chunked_source.h"
#include "stores/duckdb/csv_source.h"
#include "stores/duckdb/duckdb_session.h"
#include "stores/duckdb/file_set.h"
#include "stores/duckdb/parquet_source.h"

namespace cutover::duckdb_store {

Result<std::unique_ptr<ChunkedSource>> OpenChunkedSource(const spec::SourceSpec& source,
                                                         const std::string& path_or_glob) {
  return OpenChunkedSource(source, path_or_glob, ChunkedSourceOptions{});
}

Result<std::unique_ptr<ChunkedSource>> OpenChunkedSource(const spec::SourceSpec& source,
                                                         const std::string& path_or_glob,
                                                         const ChunkedSourceOptions& options) {
  const std::string what = "source '" + source.name + "'";
  if (source.type != "parquet" && source.type != "csv") {
    return InvalidArgument(what + ": type '" + source.type +
                           "' is not read in chunks (expected parquet or csv)");
  }
  DuckSession::Options session_options;
  session_options.threads = options.threads;
  ASSIGN_OR_RETURN(std::unique_ptr<DuckSession> session, DuckSession::Open(session_options));
  const std::string extension = source.type == "parquet" ? ".parquet" : ".csv";
  auto files = ExpandFiles(session.get(), path_or_glob, extension);
  if (!files.ok()) return files.status().WithContext(what);
  if (source.type == "parquet") {
    // Readers of the same file share its footer instead of parsing it per chunk.
    RETURN_IF_ERROR(session->Execute("SET GLOBAL parquet_metadata_cache = true",
                                     what + ": configuring DuckDB"));
    return std::unique_ptr<ChunkedSource>(
        new ParquetSource(std::move(session), std::move(*files), what,
                          std::max<int64_t>(1, options.parquet_chunk_rows)));
  }
  return std::unique_ptr<ChunkedSource>(new CsvSource(std::move(session), std::move(*files), what,
                                                      source.csv, options.csv_chunk_rows));
}

}  // namespace cutover::duckdb_store
