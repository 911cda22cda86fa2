// ExpandFiles: a directory walk or DuckDB's glob(), sorted, with a NotFound
// that names the path when nothing matches.
#include "stores/duckdb/file_set.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace cutover::duckdb_store {

Result<std::vector<std::string>> ExpandFiles(DuckSession* session, const std::string& path,
                                             const std::string& extension) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  if (path.find_first_of("*?[") != std::string::npos) {
    ASSIGN_OR_RETURN(const TextRows rows,
                     session->QueryText("SELECT file FROM glob(" + SqlLiteral(path) + ")",
                                        "listing files matching " + path));
    for (const auto& row : rows) {
      if (!row.empty() && row[0] && !fs::is_directory(*row[0], ec)) files.push_back(*row[0]);
    }
  } else if (fs::is_directory(path, ec)) {
    for (fs::recursive_directory_iterator
             it(path, fs::directory_options::skip_permission_denied, ec),
         end;
         !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec) && it->path().extension() == extension) {
        files.push_back(it->path().string());
      }
    }
    if (ec) return IoError("cannot list " + path + ": " + ec.message());
  } else if (fs::exists(path, ec)) {
    files.push_back(path);
  } else {
    return NotFound("source path " + path + " does not exist");
  }
  if (files.empty()) {
    return NotFound("no " + extension + " file matches " + path);
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace cutover::duckdb_store
