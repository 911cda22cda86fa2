// ChunkRef's stable id: the ledger key of a unit of resumable work, the same
// across runs as long as the file is unchanged.
#include "stores/duckdb/chunked_source.h"

namespace cutover::duckdb_store {

std::string ChunkRef::Id() const {
  return file + "#" + std::to_string(first_row) + "+" + std::to_string(row_count);
}

}  // namespace cutover::duckdb_store
