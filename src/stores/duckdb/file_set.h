// Resolves a source path (a file, a directory or a glob) into the sorted list
// of data files it names.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "stores/duckdb/duckdb_session.h"

namespace cutover::duckdb_store {

// A directory means every file ending in `extension` (".parquet") anywhere
// under it; a path with * ? [ is a glob (DuckDB's glob(), ** included); else
// the file itself, whatever its name. Sorted by path, so chunk order and ids
// are deterministic. NotFound when nothing matches.
Result<std::vector<std::string>> ExpandFiles(DuckSession* session, const std::string& path,
                                             const std::string& extension);

}  // namespace cutover::duckdb_store
