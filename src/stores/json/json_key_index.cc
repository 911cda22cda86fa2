// JsonKeyIndex: one scan of a file generation into sorted key hashes, then
// records read by pread from the open file.
#include "stores/json/json_key_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <tuple>

#include "stores/json/json_file_writer.h"
#include "stores/json/json_record_reader.h"

namespace cutover::json_store {
namespace {

// Closes a descriptor on every way out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

JsonKeyIndex::JsonKeyIndex(std::string path, spec::JsonLayout layout, std::string key_field)
    : path_(std::move(path)), layout_(layout), key_field_(std::move(key_field)) {}

std::shared_ptr<JsonKeyIndex> JsonKeyIndex::For(const std::string& path, spec::JsonLayout layout,
                                                const std::string& key_field) {
  static std::mutex mu;
  static std::map<std::tuple<std::string, int, std::string>, std::weak_ptr<JsonKeyIndex>> indexes;
  std::lock_guard<std::mutex> lock(mu);
  std::weak_ptr<JsonKeyIndex>& slot = indexes[{path, static_cast<int>(layout), key_field}];
  std::shared_ptr<JsonKeyIndex> index = slot.lock();
  if (index == nullptr) {
    index = std::make_shared<JsonKeyIndex>(path, layout, key_field);
    slot = index;
  }
  return index;
}

int64_t JsonKeyIndex::builds() const {
  std::lock_guard<std::mutex> lock(mu_);
  return builds_;
}

Result<bool> JsonKeyIndex::Build(const Generation& generation) {
  struct stat st {};
  JsonRecordReader reader(path_, layout_);
  RETURN_IF_ERROR(reader.Open({}));
  // What the reader mapped must be the generation the caller opened.
  if (stat(path_.c_str(), &st) != 0 || static_cast<int64_t>(st.st_ino) != generation.inode) {
    return false;
  }
  std::vector<Entry> entries;
  store::StoreBatch batch;
  Status broken;
  for (;;) {
    Result<bool> more = reader.Next(4096, &batch);
    // At a break the batch holds the whole records before it: they are
    // still found, and a key not among them gets the break's error.
    if (!more.ok()) broken = more.status();
    if (more.ok() && !*more) break;
    if (batch.rows.columns.empty()) break;
    const int doc = batch.rows.IndexOf("$doc");
    const int key = batch.rows.IndexOf("$key");
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch.rows.columns[doc].IsNull(i)) continue;
      const std::string_view text = batch.rows.columns[doc].BytesAt(i);
      std::optional<std::string> k;
      if (key >= 0) {
        if (!batch.rows.columns[key].IsNull(i)) k = std::string(batch.rows.columns[key].BytesAt(i));
      } else {
        k = DocumentKey(text, key_field_);
      }
      if (!k) continue;
      const XXH128_hash_t h = XXH3_128bits(k->data(), k->size());
      const store::RecordPosition& at = batch.positions[i];
      entries.push_back({h.high64, h.low64, at.byte_offset, at.record_index, at.line,
                         static_cast<uint32_t>(text.size())});
    }
    if (!broken.ok()) break;
  }
  std::sort(entries.begin(), entries.end());
  entries_ = std::move(entries);
  broken_ = broken;
  by_member_ = reader.layout() == spec::JsonLayout::kObject;
  indexed_ = generation;
  ++builds_;
  return true;
}

Status JsonKeyIndex::Read(const std::vector<std::string>& keys, store::StoreBatch* out) {
  *out = store::StoreBatch();
  out->origin = path_;
  out->rows.AddColumn("$doc", ValueType::kJsonb);
  out->rows.AddColumn("$key", ValueType::kText);
  for (int attempt = 0;; ++attempt) {
    Fd file{open(path_.c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.fd < 0) {
      if (errno != ENOENT) return IoError(path_ + ": " + std::strerror(errno));
      out->versions_floor = NowMicros();  // no file: every key is missing now
      return Status::Ok();
    }
    struct stat st {};
    if (fstat(file.fd, &st) != 0) return IoError(path_ + ": " + std::strerror(errno));
    const Generation generation{
        static_cast<int64_t>(st.st_ino),
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
        static_cast<int64_t>(st.st_size)};
    // The version of what this read sees: the modification time of the
    // generation it opened (json_file_committer.h).
    const int64_t version = generation.mtime_ns / 1000;
    std::lock_guard<std::mutex> lock(mu_);
    if (!(indexed_ == generation)) {
      ASSIGN_OR_RETURN(const bool built, Build(generation));
      if (!built) {
        if (attempt < 5) continue;
        return Unavailable(path_ + ": the file was replaced during every read of it; try again");
      }
    }
    out->versions_floor = version;
    ASSIGN_OR_RETURN(const bool fresh, Lookup(file.fd, keys, version, out));
    if (fresh) return Status::Ok();
    // Rewritten in place under the same generation: index it again.
    indexed_ = Generation{};
    out->rows.Clear();
    out->positions.clear();
    out->versions.clear();
    out->source_keys.clear();
    if (attempt >= 5) {
      return Unavailable(path_ + ": the file changed during every read of it; try again");
    }
  }
}

Result<bool> JsonKeyIndex::Lookup(int fd, const std::vector<std::string>& keys, int64_t version,
                                  store::StoreBatch* out) const {
  std::string text;
  for (const std::string& k : keys) {
    const XXH128_hash_t h = XXH3_128bits(k.data(), k.size());
    const Entry probe{h.high64, h.low64, INT64_MIN, 0, 0, 0};
    const auto at = std::lower_bound(entries_.begin(), entries_.end(), probe);
    // The key's first record in the file is its record.
    if (at == entries_.end() || at->high != h.high64 || at->low != h.low64) {
      if (!broken_.ok()) return broken_;  // it may be past the break
      continue;
    }
    text.resize(at->length);
    const ssize_t n = pread(fd, text.data(), at->length, at->offset);
    if (n != static_cast<ssize_t>(at->length)) return false;
    if (!by_member_ && DocumentKey(text, key_field_) != k) return false;
    out->rows.columns[0].AppendBytes(text);
    out->rows.columns[1].AppendBytes(k);
    out->positions.push_back({at->offset, at->line, at->record_index});
    out->versions.push_back(version);
    out->source_keys.push_back(k);
  }
  return true;
}

}  // namespace cutover::json_store
