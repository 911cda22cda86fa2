// AtomicFile: a file's new contents written beside it and renamed over it, so
// a reader sees the old file or the new one whole, even after a crash.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace cutover {

// AtomicFile design
//
// Create makes `.<name>.cutover-tmp.XXXXXX` in the target's directory: a dot
// name with no data extension, which no source (a file, a directory of
// *.json, a glob) reads. Commit fsyncs it, gives it the old file's mode,
// renames it over the target (atomic within a filesystem) and fsyncs the
// directory, so the rename itself survives a power cut. Destroyed without a
// Commit (an error, an exception), the temporary file is removed; a process
// killed before the rename leaves it behind, and RemoveStale (which every
// writer of the target calls before it starts) removes it later.
class AtomicFile {
 public:
  AtomicFile() = default;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  // Starts the new contents of `target`.
  Status Create(const std::string& target);
  Status Append(std::string_view bytes);
  // Makes the contents the target's, durably (see the design).
  Status Commit();
  int fd() const { return fd_; }

  // Removes temporary files that a killed writer of `target` left.
  static void RemoveStale(const std::string& target);

 private:
  int fd_ = -1;
  std::string path_;  // the temporary file, until renamed
  std::string target_;
};

// fsync(2) of a directory, so the renames and creations in it are durable.
Status SyncDirectory(const std::string& dir);

// fsync(2) of a file another writer (DuckDB) wrote, before it is renamed.
Status SyncFile(const std::string& path);

}  // namespace cutover
