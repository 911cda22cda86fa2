// Starts a DuckDB query whose result is fetched chunk by chunk, so that a
// reader holds one vector's worth of rows at a time, not the whole result.
#pragma once

#include <duckdb.h>

#include <string>

#include "common/status.h"
#include "stores/duckdb/duckdb_session.h"

namespace cutover::duckdb_store {

// Prepares and runs `sql` on `session` as a streaming query. On success
// `result` is live and the caller destroys it (duckdb_destroy_result); on
// failure nothing is left to destroy, and the error says `what` failed.
Status StartStreamingQuery(DuckSession* session, const std::string& sql, const std::string& what,
                           duckdb_result* result);

}  // namespace cutover::duckdb_store
