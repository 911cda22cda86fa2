// JsonFileCommitter: group commit of keyed JSON writes into one file, with a
// per-file version clock and a lock that keeps other processes out.
#include "stores/json/json_file_committer.h"

#include <filesystem>
#include <map>
#include <mutex>

namespace cutover::json_store {
namespace fs = std::filesystem;

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
  ASSIGN_OR_RETURN(
      FileLock file_lock,
      FileLock::Acquire(p.parent_path() / ("." + p.filename().string() + ".cutover-lock"),
                        absolute));
  std::shared_ptr<JsonFileCommitter> made(
      new JsonFileCommitter(absolute, layout, key_field, std::move(file_lock)));
  registry[absolute] = made;
  return made;
}

JsonFileCommitter::JsonFileCommitter(std::string path, spec::JsonLayout layout,
                                     std::string key_field, FileLock lock)
    : lock_(std::move(lock)), writer_(std::move(path), layout, std::move(key_field)) {}

JsonFileCommitter::~JsonFileCommitter() = default;

Result<int64_t> JsonFileCommitter::Commit(const std::vector<JsonChange>& changes) {
  return group_.Commit(changes, changes.size(),
                       [this](std::vector<Group::Member*>& group) { Replace(group); });
}

void JsonFileCommitter::Replace(std::vector<Group::Member*>& group) {
  // Stage every caller's changes; a caller whose change the writer refuses
  // is failed and the group staged again without it, so nothing of its
  // changes lands.
  std::vector<Group::Member*> staged(group.begin(), group.end());
  for (bool clean = false; !clean;) {
    clean = true;
    writer_.Discard();
    for (size_t i = 0; i < staged.size() && clean; ++i) {
      for (const JsonChange& c : *staged[i]->work) {
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
    for (Group::Member* w : staged) w->status = flushed;
    return;
  }
  const int64_t version = NextWallClockVersion(&last_version_);
  for (Group::Member* w : staged) w->version = version;
}

std::vector<JsonFileCommitter::Counts> JsonFileCommitter::AllCounts() {
  std::vector<Counts> out;
  std::lock_guard<std::mutex> lock(registry_mu);
  for (const auto& [path, weak] : Registry()) {
    const std::shared_ptr<JsonFileCommitter> c = weak.lock();
    if (c == nullptr) continue;
    out.push_back({path, c->group_.writes(), c->group_.applied()});
  }
  return out;
}

}  // namespace cutover::json_store
