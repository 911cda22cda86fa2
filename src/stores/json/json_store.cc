// JsonStore: files matched from the source's path, each one partition, read
// by a BatchReader over JsonRecordReader whose JsonPosition is the cursor.
#include "stores/json/json_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "common/file_match.h"
#include "stores/json/json_file_committer.h"
#include "stores/json/json_file_replacer.h"
#include "stores/json/json_file_writer.h"
#include "stores/json/json_key_index.h"
#include "stores/json/json_record_reader.h"

namespace cutover::json_store {
namespace {

const std::vector<std::string> kExtensions = {".json", ".jsonl", ".ndjson"};

// Which file a byte position points into: a replace (the gateway's writes)
// makes a new file under the same name, where old positions mean nothing.
struct FileGeneration {
  int64_t inode = -1;
  int64_t mtime_ns = -1;
  int64_t size = -1;
  bool operator==(const FileGeneration&) const = default;
  int64_t mtime_us() const { return mtime_ns < 0 ? -1 : mtime_ns / 1000; }
};

// All -1 when `path` cannot be stat(2)ed, errno saying why.
FileGeneration GenerationOf(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return {};
  return {static_cast<int64_t>(st.st_ino),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<int64_t>(st.st_size)};
}

// "byte=B record=R line=L file=INODE.MTIME_NS.SIZE" (cursors written before
// the file part existed have none, and are taken as they are).
std::string EncodeCursor(const JsonPosition& at, const FileGeneration& file) {
  return "byte=" + std::to_string(at.byte_offset) + " record=" + std::to_string(at.record_index) +
         " line=" + std::to_string(at.line) + " file=" + std::to_string(file.inode) + "." +
         std::to_string(file.mtime_ns) + "." + std::to_string(file.size);
}

Result<JsonPosition> DecodeCursor(const store::Cursor& cursor, const std::string& file,
                                  std::optional<FileGeneration>* generation) {
  JsonPosition at;
  generation->reset();
  if (cursor.AtStart()) return at;
  std::string_view rest = cursor.token;
  auto number = [&](int64_t* value) {
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), *value);
    if (ec != std::errc() || *value < 0) return false;
    rest.remove_prefix(static_cast<size_t>(end - rest.data()));
    return true;
  };
  auto field = [&](std::string_view name, int64_t* value) {
    if (!rest.starts_with(name)) return false;
    rest.remove_prefix(name.size());
    return number(value);
  };
  auto dot = [&] {
    if (!rest.starts_with('.')) return false;
    rest.remove_prefix(1);
    return true;
  };
  bool ok = field("byte=", &at.byte_offset) && field(" record=", &at.record_index) &&
            field(" line=", &at.line);
  if (ok && !rest.empty()) {
    FileGeneration g;
    ok = field(" file=", &g.inode) && dot() && number(&g.mtime_ns) && dot() && number(&g.size);
    *generation = g;
  }
  if (!ok || !rest.empty()) {
    return InvalidArgument(file + ": '" + cursor.token + "' is not a JSON file cursor");
  }
  return at;
}

// A record's key: the "$key" column of a keyed-object file, else the value
// at `key_field`; "" when the record has none (the mapper rejects it).
std::string RecordKeyOf(const store::StoreBatch& batch, size_t i, int doc, int key,
                        const std::string& key_field) {
  if (key >= 0) {
    return batch.rows.columns[key].IsNull(i) ? "" : std::string(batch.rows.columns[key].BytesAt(i));
  }
  if (batch.rows.columns[doc].IsNull(i)) return "";
  return DocumentKey(batch.rows.columns[doc].BytesAt(i), key_field).value_or("");
}

class JsonBatchReader : public store::BatchReader {
 public:
  // `file` is the generation `reader` reads; `version` >= 0: every record
  // is versioned with it and keyed by `key_field` (JsonStoreOptions::versioned).
  JsonBatchReader(std::unique_ptr<JsonRecordReader> reader, FileGeneration file, int64_t version,
                  std::string key_field)
      : reader_(std::move(reader)),
        file_(file),
        version_(version),
        key_field_(std::move(key_field)) {}

  Result<bool> Next(size_t max_records, store::StoreBatch* out) override {
    Result<bool> more = reader_->Next(max_records, out);
    if (!more.ok()) return more.status();
    out->end.token = EncodeCursor(reader_->position(), file_);
    out->versions.clear();
    out->source_keys.clear();
    if (version_ >= 0) {
      const int doc = out->rows.IndexOf("$doc");
      const int key = out->rows.IndexOf("$key");
      for (size_t i = 0; i < out->size(); ++i) {
        out->source_keys.push_back(RecordKeyOf(*out, i, doc, key, key_field_));
        out->versions.push_back(version_);
      }
      out->versions_floor = version_;
      out->repeats_share_claim = true;
    }
    return *more;
  }

 private:
  std::unique_ptr<JsonRecordReader> reader_;
  const FileGeneration file_;
  const int64_t version_;
  const std::string key_field_;
};

class JsonSnapshotReader : public store::SnapshotReader {
 public:
  JsonSnapshotReader(std::string path_or_glob, spec::JsonLayout layout, JsonStoreOptions options)
      : path_or_glob_(std::move(path_or_glob)), layout_(layout), options_(std::move(options)) {}

  store::RecordShape shape() const override { return store::RecordShape::kDocuments; }
  bool versioned() const override { return options_.versioned; }

  Result<std::vector<store::ColumnDescription>> Describe() override {
    return std::vector<store::ColumnDescription>{{"$doc", ValueType::kJsonb},
                                                 {"$key", ValueType::kText}};
  }

  Result<std::vector<store::Partition>> Plan() override {
    ASSIGN_OR_RETURN(std::vector<std::string> files, MatchFiles(path_or_glob_, kExtensions));
    {
      std::lock_guard<std::mutex> lock(mu_);
      planned_.insert(files.begin(), files.end());
    }
    std::vector<store::Partition> partitions;
    for (const auto& file : files) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(file, ec);
      partitions.push_back({file, file, -1, ec ? -1 : static_cast<int64_t>(size)});
    }
    return partitions;
  }

  Result<std::unique_ptr<store::BatchReader>> Open(const store::Partition& partition,
                                                   const store::Cursor& from) override {
    if (!Planned(partition.id)) {
      ASSIGN_OR_RETURN(std::vector<std::string> files, MatchFiles(path_or_glob_, kExtensions));
      if (std::find(files.begin(), files.end(), partition.id) == files.end()) {
        return InvalidArgument("'" + partition.id + "' is not a file of " + path_or_glob_);
      }
    }
    std::optional<FileGeneration> resumed;
    ASSIGN_OR_RETURN(JsonPosition at, DecodeCursor(from, partition.id, &resumed));
    // The generation is read before the open and checked after it: a
    // replace in between (the gateway writing the file) is opened again, so
    // the reader's file is the one the cursor and the version describe.
    std::unique_ptr<JsonRecordReader> reader;
    FileGeneration file;
    for (int attempt = 0;; ++attempt) {
      file = GenerationOf(partition.id);
      if (resumed && *resumed != file) {
        return FailedPrecondition(
            partition.id +
            " was replaced since this copy of it began (the dual-write gateway, or another "
            "writer, rewrote it), so the checkpoint's byte position no longer points into it; "
            "run the backfill again with --restart (rows already written are merged again, and "
            "newer writes through the gateway are kept)");
      }
      reader = std::make_unique<JsonRecordReader>(partition.id, layout_);
      RETURN_IF_ERROR(reader->Open(at));
      if (GenerationOf(partition.id) == file || attempt == 3) break;
    }
    // A version of the generation read: earlier than any replace it misses.
    const int64_t version = options_.versioned ? file.mtime_us() : -1;
    return std::unique_ptr<store::BatchReader>(
        new JsonBatchReader(std::move(reader), file, version, options_.key_field));
  }

 private:
  bool Planned(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    return planned_.contains(id);
  }

  const std::string path_or_glob_;
  const spec::JsonLayout layout_;
  const JsonStoreOptions options_;
  std::mutex mu_;
  std::set<std::string> planned_;  // files Plan() listed; protected by mu_
};

// store::Writer over the file's JsonFileCommitter: a row's "$doc" is the
// document. Writers of one file in one process share the committer, so each
// Flush is a group commit with theirs.
class JsonStoreWriter : public store::Writer {
 public:
  JsonStoreWriter(std::string path, spec::JsonLayout layout, std::string key_field)
      : path_(std::move(path)), layout_(layout), key_field_(std::move(key_field)) {}

  Status Upsert(const store::RecordKey& key, const RowBatch& rows, size_t row) override {
    RETURN_IF_ERROR(CheckKey(key));
    const int doc = rows.IndexOf("$doc");
    if (doc < 0 || row >= rows.num_rows() || rows.columns[doc].IsNull(row)) {
      return InvalidArgument(path_ + ": an upsert needs a \"$doc\" value");
    }
    staged_.push_back({key[0], std::string(rows.columns[doc].BytesAt(row))});
    return Status::Ok();
  }
  Status Delete(const store::RecordKey& key) override {
    RETURN_IF_ERROR(CheckKey(key));
    staged_.push_back({key[0], std::nullopt});
    return Status::Ok();
  }
  Status Flush() override {
    if (staged_.empty()) return Status::Ok();
    // The file's lock is taken at the first write, not when the store opens.
    if (committer_ == nullptr) {
      ASSIGN_OR_RETURN(committer_, JsonFileCommitter::ForFile(path_, layout_, key_field_));
    }
    ASSIGN_OR_RETURN(version_, committer_->Commit(staged_));
    staged_.clear();
    return Status::Ok();
  }
  void Discard() override { staged_.clear(); }
  int64_t flushed_version() const override { return version_; }

 private:
  Status CheckKey(const store::RecordKey& key) const {
    if (key.size() != 1) {
      return InvalidArgument(path_ + ": a JSON record's key has one part, not " +
                             std::to_string(key.size()));
    }
    return Status::Ok();
  }
  const std::string path_;
  const spec::JsonLayout layout_;
  const std::string key_field_;
  std::shared_ptr<JsonFileCommitter> committer_;
  std::vector<JsonChange> staged_;
  int64_t version_ = -1;
};

// Records of one file by key, through the file's key index
// (json_key_index.h): one scan per generation of the file, then a pread per
// key.
class JsonKeyReader : public store::KeyReader {
 public:
  JsonKeyReader(std::string path, spec::JsonLayout layout, std::string key_field)
      : path_(path), key_field_(key_field), index_(JsonKeyIndex::For(path, layout, key_field)) {}

  Status Read(const std::vector<store::RecordKey>& keys, store::StoreBatch* out) override {
    std::vector<std::string> wanted;
    std::set<std::string_view> seen;
    for (const auto& k : keys) {
      if (k.size() == 1 && seen.insert(k[0]).second) wanted.push_back(k[0]);
    }
    return index_->Read(wanted, out);
  }

  // A document holding the key alone: {"id": 42} at the key field (a
  // number when the key reads as one, else a string), or {} with "$key" for
  // a file keyed by member name.
  Status KeyRecords(const std::vector<store::RecordKey>& keys, store::StoreBatch* out) override {
    *out = store::StoreBatch();
    out->rows.AddColumn("$doc", ValueType::kJsonb);
    out->rows.AddColumn("$key", ValueType::kText);
    for (const auto& k : keys) {
      if (k.size() != 1) return InvalidArgument(path_ + ": a JSON record's key has one part");
      out->rows.columns[0].AppendBytes(KeyDocument(k[0]));
      out->rows.columns[1].AppendBytes(k[0]);
      out->positions.push_back({-1, -1, -1});
      out->source_keys.push_back(k[0]);
    }
    return Status::Ok();
  }

 private:
  std::string KeyDocument(const std::string& key) const {
    if (key_field_.empty()) return "{}";
    nlohmann::json value = nlohmann::json::parse(key, nullptr, false);
    if (value.is_discarded() || !value.is_number()) value = key;
    // "meta.id" nests: {"meta": {"id": ...}}.
    std::string path = key_field_;
    for (size_t dot; (dot = path.rfind('.')) != std::string::npos; path.resize(dot)) {
      value = nlohmann::json{{path.substr(dot + 1), std::move(value)}};
    }
    return nlohmann::json{{path, std::move(value)}}.dump();
  }

  const std::string path_;
  const std::string key_field_;
  std::shared_ptr<JsonKeyIndex> index_;  // shared by every reader of the file in the process
};

class JsonStore : public store::Store {
 public:
  JsonStore(const spec::SourceSpec& source, std::string path_or_glob, JsonStoreOptions options)
      : name_(source.name),
        path_or_glob_(path_or_glob),
        layout_(source.layout),
        options_(std::move(options)),
        snapshot_(std::move(path_or_glob), source.layout, options_) {}

  store::SnapshotReader& snapshot() override { return snapshot_; }

  store::Writer* writer() override {
    if (!OneFile()) return nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    if (writer_ == nullptr) {
      writer_ = std::make_unique<JsonStoreWriter>(path_or_glob_, layout_, options_.key_field);
    }
    return writer_.get();
  }

  store::Replacer* replacer() override {
    if (!OneFile()) return nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    if (replacer_ == nullptr) {
      replacer_ = std::make_unique<JsonFileReplacer>(path_or_glob_, layout_);
    }
    return replacer_.get();
  }

  store::KeyReader* key_reader() override {
    if (!OneFile()) return nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    if (key_reader_ == nullptr) {
      key_reader_ = std::make_unique<JsonKeyReader>(path_or_glob_, layout_, options_.key_field);
    }
    return key_reader_.get();
  }

  Status Ping() override {
    auto files = MatchFiles(path_or_glob_, kExtensions);
    if (!files.ok()) return files.status().WithContext("source '" + name_ + "'");
    for (const auto& file : *files) {
      if (access(file.c_str(), R_OK) != 0) {
        return IoError("source '" + name_ + "': " + file + " is not readable");
      }
    }
    return Status::Ok();
  }

 private:
  const std::string name_;
  const std::string path_or_glob_;
  const spec::JsonLayout layout_;
  const JsonStoreOptions options_;
  JsonSnapshotReader snapshot_;
  std::mutex mu_;
  std::unique_ptr<JsonStoreWriter> writer_;     // protected by mu_
  std::unique_ptr<JsonKeyReader> key_reader_;   // protected by mu_
  std::unique_ptr<JsonFileReplacer> replacer_;  // protected by mu_

  // Writers and key readers address one file (which may not exist yet).
  bool OneFile() const {
    std::error_code ec;
    return !IsGlob(path_or_glob_) && !std::filesystem::is_directory(path_or_glob_, ec);
  }
};

}  // namespace

Result<std::unique_ptr<store::Store>> OpenJsonStore(const spec::SourceSpec& source,
                                                    const std::string& path_or_glob,
                                                    const JsonStoreOptions& options) {
  if (source.type != "json") {
    return InvalidArgument("source '" + source.name + "': type '" + source.type +
                           "' is not a JSON store");
  }
  return std::unique_ptr<store::Store>(new JsonStore(source, path_or_glob, options));
}

}  // namespace cutover::json_store
