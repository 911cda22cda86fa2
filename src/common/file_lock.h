// FileLock: an exclusive flock(2) that keeps a second process away from a file
// one process writes (a JSON file, a Parquet archive), released on close.
#pragma once

#include <string>

#include "common/status.h"

namespace cutover {

// Holds `lock_path`'s exclusive lock from Acquire until destruction (or the
// process's end: the kernel releases it, so a killed writer leaves none).
class FileLock {
 public:
  // Creates `lock_path` if missing and locks it without waiting.
  // FailedPrecondition "another process writes <what> (it holds <lock_path>)"
  // when another process holds it; IoError when it cannot be opened.
  static Result<FileLock> Acquire(const std::string& lock_path, const std::string& what);

  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace cutover
