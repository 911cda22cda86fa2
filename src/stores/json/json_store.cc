// JsonStore: files matched from the source's path, each one partition, read
// by a BatchReader over JsonRecordReader whose JsonPosition is the cursor.
#include "stores/json/json_store.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <mutex>
#include <set>

#include "common/file_match.h"
#include "stores/json/json_file_writer.h"
#include "stores/json/json_record_reader.h"

namespace cutover::json_store {
namespace {

const std::vector<std::string> kExtensions = {".json", ".jsonl", ".ndjson"};

std::string EncodeCursor(const JsonPosition& at) {
  return "byte=" + std::to_string(at.byte_offset) + " record=" + std::to_string(at.record_index) +
         " line=" + std::to_string(at.line);
}

Result<JsonPosition> DecodeCursor(const store::Cursor& cursor, const std::string& file) {
  JsonPosition at;
  if (cursor.AtStart()) return at;
  std::string_view rest = cursor.token;
  auto field = [&](std::string_view name, int64_t* value) {
    if (!rest.starts_with(name)) return false;
    rest.remove_prefix(name.size());
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), *value);
    if (ec != std::errc() || *value < 0) return false;
    rest.remove_prefix(static_cast<size_t>(end - rest.data()));
    return true;
  };
  if (!field("byte=", &at.byte_offset) || !field(" record=", &at.record_index) ||
      !field(" line=", &at.line) || !rest.empty()) {
    return InvalidArgument(file + ": '" + cursor.token + "' is not a JSON file cursor");
  }
  return at;
}

class JsonBatchReader : public store::BatchReader {
 public:
  explicit JsonBatchReader(std::unique_ptr<JsonRecordReader> reader) : reader_(std::move(reader)) {}

  Result<bool> Next(size_t max_records, store::StoreBatch* out) override {
    Result<bool> more = reader_->Next(max_records, out);
    if (!more.ok()) return more.status();
    out->end.token = EncodeCursor(reader_->position());
    return *more;
  }

 private:
  std::unique_ptr<JsonRecordReader> reader_;
};

class JsonSnapshotReader : public store::SnapshotReader {
 public:
  JsonSnapshotReader(std::string path_or_glob, spec::JsonLayout layout)
      : path_or_glob_(std::move(path_or_glob)), layout_(layout) {}

  store::RecordShape shape() const override { return store::RecordShape::kDocuments; }

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
    ASSIGN_OR_RETURN(JsonPosition at, DecodeCursor(from, partition.id));
    auto reader = std::make_unique<JsonRecordReader>(partition.id, layout_);
    RETURN_IF_ERROR(reader->Open(at));
    return std::unique_ptr<store::BatchReader>(new JsonBatchReader(std::move(reader)));
  }

 private:
  bool Planned(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    return planned_.contains(id);
  }

  const std::string path_or_glob_;
  const spec::JsonLayout layout_;
  std::mutex mu_;
  std::set<std::string> planned_;  // files Plan() listed; protected by mu_
};

// store::Writer over JsonFileWriter: a row's "$doc" is the document.
class JsonStoreWriter : public store::Writer {
 public:
  JsonStoreWriter(std::string path, spec::JsonLayout layout, std::string key_field)
      : writer_(std::move(path), layout, std::move(key_field)) {}

  Status Upsert(const store::RecordKey& key, const RowBatch& rows, size_t row) override {
    RETURN_IF_ERROR(CheckKey(key));
    const int doc = rows.IndexOf("$doc");
    if (doc < 0 || row >= rows.num_rows() || rows.columns[doc].IsNull(row)) {
      return InvalidArgument(writer_.path() + ": an upsert needs a \"$doc\" value");
    }
    return writer_.Upsert(key[0], rows.columns[doc].BytesAt(row));
  }
  Status Delete(const store::RecordKey& key) override {
    RETURN_IF_ERROR(CheckKey(key));
    return writer_.Delete(key[0]);
  }
  Status Flush() override { return writer_.Flush(); }
  void Discard() override { writer_.Discard(); }

 private:
  Status CheckKey(const store::RecordKey& key) const {
    if (key.size() != 1) {
      return InvalidArgument(writer_.path() + ": a JSON record's key has one part, not " +
                             std::to_string(key.size()));
    }
    return Status::Ok();
  }
  JsonFileWriter writer_;
};

class JsonStore : public store::Store {
 public:
  JsonStore(const spec::SourceSpec& source, std::string path_or_glob, JsonStoreOptions options)
      : name_(source.name),
        path_or_glob_(path_or_glob),
        layout_(source.layout),
        options_(std::move(options)),
        snapshot_(std::move(path_or_glob), source.layout) {}

  store::SnapshotReader& snapshot() override { return snapshot_; }

  store::Writer* writer() override {
    std::error_code ec;
    if (IsGlob(path_or_glob_) || std::filesystem::is_directory(path_or_glob_, ec)) return nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    if (writer_ == nullptr) {
      writer_ = std::make_unique<JsonStoreWriter>(path_or_glob_, layout_, options_.key_field);
    }
    return writer_.get();
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
  std::unique_ptr<JsonStoreWriter> writer_;  // protected by mu_
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
