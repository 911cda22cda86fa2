// JsonFileCommitter: group commit of keyed JSON writes into one file, with a
// per-file version clock and a lock that keeps other processes out.
#include "stores/json/json_file_committer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>

namespace cutover::json_store {
namespace fs = std::filesystem;

struct JsonFileCommitter::Waiter {
  const std::vector<JsonChange>* changes = nullptr;
  Status status;
  int64_t version = 0;
  bool done = false;
};

namespace {
// The process's committers by absolute path.
std::mutex registry_mu;
std::map<std::string, std::weak_ptr<JsonFileCommitter>>& Registry() {
  static auto* registry = new std::map<std::string, std::weak_ptr<JsonFileCommitter>>();
  return *registry;
}
}  // namespace

Result<std::shared_ptr<JsonFileCommitter>> JsonFileCommitter::ForFile(
    const std::string& path, spec::JsonLayout layout, const std::string& key_field) {
  auto& registry = Registry();
  std::error_code ec;
  const std::string absolute = fs::absolute(path, ec).lexically_normal().string();
  std::lock_guard<std::mutex> lock(registry_mu);
  if (auto found = registry[absolute].lock()) return found;
  const fs::path p(absolute);
  const std::string lock_path = (p.parent_path() / ("." + p.filename().string() + ".cutover-lock"));
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return IoError("cannot open the write lock " + lock_path + ": " + std::strerror(errno));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) {
      return FailedPrecondition("another process writes " + absolute + " (it holds " + lock_path +
                                "); one process at a time writes a JSON file");
    }
    return IoError("cannot lock " + lock_path + ": " + std::strerror(err));
  }
  std::shared_ptr<JsonFileCommitter> made(new JsonFileCommitter(absolute, layout, key_field, fd));
  registry[absolute] = made;
  return made;
}

JsonFileCommitter::JsonFileCommitter(std::string path, spec::JsonLayout layout,
                                     std::string key_field, int lock_fd)
    : lock_fd_(lock_fd), writer_(std::move(path), layout, std::move(key_field)) {}

JsonFileCommitter::~JsonFileCommitter() {
  close(lock_fd_);  // releases the flock
}

Result<int64_t> JsonFileCommitter::Commit(const std::vector<JsonChange>& changes) {
  Waiter me;
  me.changes = &changes;
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(&me);
  while (!me.done) {
    if (leading_) {
      done_.wait(lock);
      continue;
    }
    leading_ = true;
    std::vector<Waiter*> group;
    group.swap(queue_);
    lock.unlock();
    Replace(group);
    lock.lock();
    int64_t applied = 0;
    for (Waiter* w : group) {
      if (w->status.ok()) applied += static_cast<int64_t>(w->changes->size());
      w->done = true;
    }
    ++replaces_;
    changes_ += applied;
    leading_ = false;
    done_.notify_all();
  }
  if (!me.status.ok()) return me.status;
  return me.version;
}

void JsonFileCommitter::Replace(const std::vector<Waiter*>& group) {
  // Stage every caller's changes; a caller whose change the writer refuses
  // is failed and the group staged again without it, so nothing of its
  // changes lands.
  std::vector<Waiter*> staged(group.begin(), group.end());
  for (bool clean = false; !clean;) {
    clean = true;
    writer_.Discard();
    for (size_t i = 0; i < staged.size() && clean; ++i) {
      for (const JsonChange& c : *staged[i]->changes) {
        Status st = c.document ? writer_.Upsert(c.key, *c.document) : writer_.Delete(c.key);
        if (!st.ok()) {
          staged[i]->status = st;
          staged.erase(staged.begin() + static_cast<std::ptrdiff_t>(i));
          clean = false;
          break;
        }
      }
    }
  }
  if (staged.empty()) return;
  Status flushed = writer_.Flush();
  if (!flushed.ok()) {
    writer_.Discard();  // their callers hear the error: none of it may land later
    for (Waiter* w : staged) w->status = flushed;
    return;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  last_version_ = std::max(now, last_version_ + 1);
  for (Waiter* w : staged) w->version = last_version_;
}

std::vector<JsonFileCommitter::Counts> JsonFileCommitter::AllCounts() {
  std::vector<Counts> out;
  std::lock_guard<std::mutex> lock(registry_mu);
  for (const auto& [path, weak] : Registry()) {
    const std::shared_ptr<JsonFileCommitter> c = weak.lock();
    if (c == nullptr) continue;
    std::lock_guard<std::mutex> counts_lock(c->mu_);
    out.push_back({path, c->replaces_, c->changes_});
  }
  return out;
}

}  // namespace cutover::json_store
