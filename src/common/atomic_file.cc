// AtomicFile: write beside, fsync, rename over, fsync the directory.
#include "common/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/failpoint.h"

namespace cutover {
namespace {

namespace fs = std::filesystem;

Status Errno(const std::string& what) {
  return IoError(what + ": " + std::strerror(errno));
}

std::string DirectoryOf(const std::string& path) {
  const fs::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

std::string TemporaryPrefix(const std::string& target) {
  return "." + fs::path(target).filename().string() + ".cutover-tmp.";
}

}  // namespace

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) close(fd_);
  if (!path_.empty()) unlink(path_.c_str());
}

Status AtomicFile::Create(const std::string& target) {
  target_ = target;
  std::string name = DirectoryOf(target) + "/" + TemporaryPrefix(target) + "XXXXXX";
  fd_ = mkstemp(name.data());
  if (fd_ < 0) return Errno("creating a temporary file beside " + target);
  path_ = name;
  return Status::Ok();
}

Status AtomicFile::Append(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("writing " + path_);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status AtomicFile::Commit() {
  struct stat old_stat {};
  if (stat(target_.c_str(), &old_stat) == 0 && fchmod(fd_, old_stat.st_mode & 07777) != 0) {
    return Errno("setting the mode of the new " + target_);
  }
  if (fsync(fd_) != 0) return Errno("fsync " + path_);
  FailPoint("atomic_file.synced");
  const int fd = fd_;
  fd_ = -1;
  if (close(fd) != 0) return Errno("closing " + path_);
  if (rename(path_.c_str(), target_.c_str()) != 0) {
    return Errno("renaming " + path_ + " to " + target_);
  }
  path_.clear();
  FailPoint("atomic_file.renamed");
  return SyncDirectory(DirectoryOf(target_));
}

void AtomicFile::RemoveStale(const std::string& target) {
  const std::string prefix = TemporaryPrefix(target);
  std::error_code ec;
  for (fs::directory_iterator it(DirectoryOf(target), ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().filename().string().starts_with(prefix)) fs::remove(it->path(), ec);
  }
}

Status SyncFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("opening " + path);
  const int rc = fsync(fd);
  const int saved = errno;
  close(fd);
  errno = saved;
  if (rc != 0) return Errno("fsync " + path);
  return Status::Ok();
}

Status SyncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("opening directory " + dir);
  const int rc = fsync(fd);
  const int saved = errno;
  close(fd);
  errno = saved;
  if (rc != 0) return Errno("fsync directory " + dir);
  return Status::Ok();
}

}  // namespace cutover
