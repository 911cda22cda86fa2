// Finds the key hashes that occur more than once in a relation, pass by pass,
// so that memory stays bounded however many rows the relation holds.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "source/duckdb/duckdb_session.h"

namespace cutover::source {

// Creates (or replaces) DuckDB table `table` (h UBIGINT) holding each value of
// `hash_expr` over `relation` that occurs in more than one row; returns how
// many it holds. The values are streamed out of DuckDB in passes (pass p takes
// the hashes with h % passes = p), each sorted in a vector of at most about
// kRowsPerPass values: 32 MiB, whatever `total_rows` is. A hash is 64 bits, so
// distinct keys share one about once in 2^64 / rows^2 runs; a shared hash
// only sends both keys on to the exact comparison that follows.
Result<int64_t> FindRepeatedHashes(DuckSession* session, const std::string& relation,
                                   const std::string& hash_expr, int64_t total_rows,
                                   const std::string& table, const std::string& what);

}  // namespace cutover::source
