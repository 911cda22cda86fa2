// Finds the key hashes that occur more than once in a relation, in one read
// and with memory bounded however many rows the relation holds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "stores/duckdb/duckdb_session.h"

namespace cutover::duckdb_store {

// Hashes sorted at once: 32 MiB.
inline constexpr int64_t kRepeatedHashesPerPart = 4 << 20;

// Creates (or replaces) DuckDB table `table` (h UBIGINT) holding each value of
// `hash_expr` over `relation` that occurs in more than one row; returns how
// many it holds. The values are streamed out of DuckDB once; past about 4M
// (from `total_rows`), they are split by value into parts kept in temporary
// files, so that at most about 4M are sorted at once: 32 MiB, whatever the
// relation's size. A hash is 64 bits, so
// distinct keys share one about once in 2^64 / rows^2 runs; a shared hash
// only sends both keys on to the exact comparison that follows.
Result<int64_t> FindRepeatedHashes(DuckSession* session, const std::string& relation,
                                   const std::string& hash_expr, int64_t total_rows,
                                   const std::string& table, const std::string& what,
                                   int64_t rows_per_part = kRepeatedHashesPerPart);

// The same values, returned sorted instead of written into a table.
Result<std::vector<uint64_t>> CollectRepeatedHashes(DuckSession* session,
                                                    const std::string& relation,
                                                    const std::string& hash_expr,
                                                    int64_t total_rows, const std::string& what,
                                                    int64_t rows_per_part = kRepeatedHashesPerPart);

}  // namespace cutover::duckdb_store
