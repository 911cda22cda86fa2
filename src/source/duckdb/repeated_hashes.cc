// FindRepeatedHashes: a streamed DuckDB query per pass, a sort per pass, and
// an appender writing the repeated values back into DuckDB.
#include "source/duckdb/repeated_hashes.h"

#include <duckdb.h>

#include <algorithm>
#include <vector>

namespace cutover::source {
namespace {

constexpr int64_t kRowsPerPass = 4 << 20;

// Appends every non-NULL UBIGINT of the first column of `sql`'s result.
Status StreamHashes(DuckSession* session, const std::string& sql, const std::string& what,
                    std::vector<uint64_t>* out) {
  duckdb_prepared_statement prepared = nullptr;
  if (duckdb_prepare(session->raw(), sql.c_str(), &prepared) == DuckDBError) {
    const char* error = duckdb_prepare_error(prepared);
    Status st = IoError(what + ": " + (error != nullptr ? error : "cannot prepare the query"));
    duckdb_destroy_prepare(&prepared);
    return st;
  }
  duckdb_result result;
  const duckdb_state state = duckdb_execute_prepared_streaming(prepared, &result);
  duckdb_destroy_prepare(&prepared);
  Status st;
  if (state == DuckDBError) {
    const char* error = duckdb_result_error(&result);
    st = IoError(what + ": " + (error != nullptr ? error : "query failed"));
  }
  while (st.ok()) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(result);
    if (chunk == nullptr) {
      const char* error = duckdb_result_error(&result);
      if (error != nullptr) st = IoError(what + ": " + error);
      break;
    }
    const idx_t n = duckdb_data_chunk_get_size(chunk);
    duckdb_vector vector = duckdb_data_chunk_get_vector(chunk, 0);
    const auto* values = static_cast<const uint64_t*>(duckdb_vector_get_data(vector));
    uint64_t* validity = duckdb_vector_get_validity(vector);
    for (idx_t i = 0; i < n; ++i) {
      if (validity == nullptr || duckdb_validity_row_is_valid(validity, i)) {
        out->push_back(values[i]);
      }
    }
    duckdb_destroy_data_chunk(&chunk);
  }
  duckdb_destroy_result(&result);
  return st;
}

}  // namespace

Result<int64_t> FindRepeatedHashes(DuckSession* session, const std::string& relation,
                                   const std::string& hash_expr, int64_t total_rows,
                                   const std::string& table, const std::string& what) {
  RETURN_IF_ERROR(
      session->Execute("CREATE OR REPLACE TABLE " + SqlIdentifier(table) + " (h UBIGINT)", what));
  duckdb_appender appender = nullptr;
  if (duckdb_appender_create(session->raw(), nullptr, table.c_str(), &appender) == DuckDBError) {
    const char* error = duckdb_appender_error(appender);
    Status st = IoError(what + ": " + (error != nullptr ? error : "cannot append"));
    duckdb_appender_destroy(&appender);
    return st;
  }
  const int64_t passes = std::max<int64_t>(1, (total_rows + kRowsPerPass - 1) / kRowsPerPass);
  std::vector<uint64_t> hashes;
  int64_t repeated = 0;
  Status st;
  for (int64_t pass = 0; pass < passes && st.ok(); ++pass) {
    hashes.clear();
    const std::string sql =
        "SELECT h FROM (SELECT " + hash_expr + " AS h FROM " + relation + ")" +
        (passes > 1 ? " WHERE h % " + std::to_string(passes) + " = " + std::to_string(pass) : "");
    st = StreamHashes(session, sql, what, &hashes);
    if (!st.ok()) break;
    std::sort(hashes.begin(), hashes.end());
    for (size_t i = 1; i < hashes.size() && st.ok(); ++i) {
      // The first repeat of each run of equal hashes.
      if (hashes[i] != hashes[i - 1] || (i >= 2 && hashes[i - 1] == hashes[i - 2])) continue;
      if (duckdb_append_uint64(appender, hashes[i]) == DuckDBError ||
          duckdb_appender_end_row(appender) == DuckDBError) {
        const char* error = duckdb_appender_error(appender);
        st = IoError(what + ": " + (error != nullptr ? error : "cannot append"));
      }
      ++repeated;
    }
  }
  hashes = {};
  if (duckdb_appender_destroy(&appender) == DuckDBError && st.ok()) {
    st = IoError(what + ": cannot finish writing the repeated keys");
  }
  RETURN_IF_ERROR(st);
  return repeated;
}

}  // namespace cutover::source
