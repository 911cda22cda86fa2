// Resolves a source path (a file, a directory or a glob) into the sorted list
// of files it names, with the filesystem alone (no database, no network).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace cutover {

// A path with * ? or [ is a glob: each segment is matched as fnmatch(3) does
// (a leading dot is matched only by a dot), and a segment `**` matches any
// number of folders. A directory means every regular file under it, at any
// depth, whose name ends in one of `extensions` (".parquet"); an empty list
// takes every file. Anything else is the file itself, whatever its name.
// Sorted by path. NotFound, saying which of the three it was, when nothing
// matches; IoError when a folder cannot be listed.
Result<std::vector<std::string>> MatchFiles(const std::string& path,
                                            const std::vector<std::string>& extensions);

// True when `path` would be read as a glob by MatchFiles.
bool IsGlob(const std::string& path);

}  // namespace cutover
