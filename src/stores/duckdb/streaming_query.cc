// StartStreamingQuery: prepare, execute streaming, and DuckDB's error text
// carried into the Status either step fails with.
#include "stores/duckdb/streaming_query.h"

namespace cutover::duckdb_store {

Status StartStreamingQuery(DuckSession* session, const std::string& sql, const std::string& what,
                           duckdb_result* result) {
  duckdb_prepared_statement prepared = nullptr;
  if (duckdb_prepare(session->raw(), sql.c_str(), &prepared) == DuckDBError) {
    const char* error = duckdb_prepare_error(prepared);
    Status st = IoError(what + ": " + (error != nullptr ? error : "cannot prepare the query"));
    duckdb_destroy_prepare(&prepared);
    return st;
  }
  const duckdb_state state = duckdb_execute_prepared_streaming(prepared, result);
  duckdb_destroy_prepare(&prepared);
  if (state == DuckDBError) {
    const char* error = duckdb_result_error(result);
    Status st = IoError(what + ": " + (error != nullptr ? error : "query failed"));
    duckdb_destroy_result(result);
    return st;
  }
  return Status::Ok();
}

}  // namespace cutover::duckdb_store
