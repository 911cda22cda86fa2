// DuckDbStore: the store protocol over a lazily opened ChunkedSource; each
// batch reader wraps a chunk's RowSource and encodes its ResumePoint.
#include "stores/duckdb/duckdb_store.h"

#include <unistd.h>

#include <charconv>
#include <map>
#include <mutex>
#include <string_view>

#include "common/file_match.h"
#include "stores/duckdb/open_chunked_source.h"

namespace cutover::duckdb_store {
namespace {

// Readers add the hash column under the name both protocols promise.
static_assert(std::string_view(store::kKeyHashColumn) == store::kKeyHashColumnName);

class ChunkBatchReader : public store::BatchReader {
 public:
  explicit ChunkBatchReader(std::unique_ptr<store::RowSource> chunk) : chunk_(std::move(chunk)) {}

  Result<bool> Next(size_t max_records, store::StoreBatch* out) override {
    Result<bool> more = chunk_->Next(max_records, out);
    if (!more.ok()) return more.status();
    out->end.token = "row=" + std::to_string(chunk_->position().record_index);
    return *more;
  }

 private:
  std::unique_ptr<store::RowSource> chunk_;
};

// The ChunkedSource, opened on first use; shared by the store's parts.
class LazySource {
 public:
  LazySource(spec::SourceSpec source, std::string path_or_glob, store::ChunkedSourceOptions options)
      : source_(std::move(source)), path_(std::move(path_or_glob)), options_(options) {}

  Result<store::ChunkedSource*> Get() {
    std::lock_guard<std::mutex> lock(mu_);
    if (chunked_ == nullptr) {
      ASSIGN_OR_RETURN(chunked_, OpenChunkedSource(source_, path_, options_));
    }
    return chunked_.get();
  }

  // The chunk a partition id names, planning the chunks on first use.
  Result<store::ChunkRef> Chunk(const std::string& id) {
    ASSIGN_OR_RETURN(store::ChunkedSource * source, Get());
    std::lock_guard<std::mutex> lock(mu_);
    if (!planned_) {
      ASSIGN_OR_RETURN(std::vector<store::ChunkRef> chunks, source->PlanChunks());
      for (auto& chunk : chunks) chunks_.emplace(chunk.Id(), chunk);
      planned_ = true;
    }
    auto it = chunks_.find(id);
    if (it == chunks_.end()) {
      return InvalidArgument("source '" + source_.name + "' has no chunk '" + id + "'");
    }
    return it->second;
  }

  const spec::SourceSpec& source() const { return source_; }
  const std::string& path() const { return path_; }

 private:
  const spec::SourceSpec source_;
  const std::string path_;
  const store::ChunkedSourceOptions options_;
  std::mutex mu_;
  std::unique_ptr<store::ChunkedSource> chunked_;  // protected by mu_
  bool planned_ = false;                           // protected by mu_
  std::map<std::string, store::ChunkRef> chunks_;  // protected by mu_
};

class ChunkSnapshotReader : public store::SnapshotReader {
 public:
  explicit ChunkSnapshotReader(LazySource* source) : source_(source) {}

  store::RecordShape shape() const override { return store::RecordShape::kColumns; }

  Result<std::vector<store::ColumnDescription>> Describe() override {
    ASSIGN_OR_RETURN(store::ChunkedSource * source, source_->Get());
    ASSIGN_OR_RETURN(auto columns, source->Describe());
    std::vector<store::ColumnDescription> out;
    for (auto& [name, type] : columns) out.push_back({name, type});
    return out;
  }

  void SelectColumns(const std::vector<std::string>& columns) override {
    auto source = source_->Get();
    if (source.ok()) (*source)->ReadOnly(columns);
  }

  Result<std::vector<std::pair<std::string, std::vector<std::string>>>> MissingColumns(
      const std::vector<std::string>& columns) override {
    ASSIGN_OR_RETURN(store::ChunkedSource * source, source_->Get());
    return source->MissingColumns(columns);
  }

  Result<std::vector<store::Partition>> Plan() override {
    ASSIGN_OR_RETURN(store::ChunkedSource * source, source_->Get());
    ASSIGN_OR_RETURN(std::vector<store::ChunkRef> chunks, source->PlanChunks());
    std::vector<store::Partition> partitions;
    for (const auto& chunk : chunks) {
      partitions.push_back({chunk.Id(), chunk.file, chunk.row_count, -1});
    }
    return partitions;
  }

  Result<std::unique_ptr<store::BatchReader>> Open(const store::Partition& partition,
                                                   const store::Cursor& from) override {
    ASSIGN_OR_RETURN(store::ChunkedSource * source, source_->Get());
    ASSIGN_OR_RETURN(store::ChunkRef chunk, source_->Chunk(partition.id));
    store::ResumePoint at;
    at.byte_offset = -1;
    at.line = -1;
    at.record_index = chunk.first_row;
    if (!from.AtStart()) {
      std::string_view token = from.token;
      int64_t row = -1;
      const bool prefixed = token.starts_with("row=");
      if (prefixed) token.remove_prefix(4);
      auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), row);
      if (!prefixed || ec != std::errc() || end != token.data() + token.size() ||
          row < chunk.first_row || row > chunk.first_row + chunk.row_count) {
        return InvalidArgument("chunk " + partition.id + ": '" + from.token +
                               "' is not a cursor of this chunk");
      }
      at.record_index = row;
    }
    ASSIGN_OR_RETURN(std::unique_ptr<store::RowSource> reader, source->OpenChunk(chunk));
    RETURN_IF_ERROR(reader->Open(at));
    return std::unique_ptr<store::BatchReader>(new ChunkBatchReader(std::move(reader)));
  }

 private:
  LazySource* source_;
};

class ChunkDeduplication : public store::Deduplication {
 public:
  explicit ChunkDeduplication(LazySource* source) : source_(source) {}

  Status SkipSupersededRows(const std::vector<std::string>& key_columns,
                            const std::vector<std::string>& order_columns) override {
    ASSIGN_OR_RETURN(store::ChunkedSource * source, source_->Get());
    return source->SkipSupersededRows(key_columns, order_columns);
  }
  Result<int64_t> SupersededRows(const store::Partition& partition) override {
    ASSIGN_OR_RETURN(store::ChunkedSource * source, source_->Get());
    ASSIGN_OR_RETURN(store::ChunkRef chunk, source_->Chunk(partition.id));
    return source->SupersededRows(chunk);
  }
  Result<std::vector<int64_t>> HashKeys(const std::vector<std::string>& key_columns) override {
    ASSIGN_OR_RETURN(store::ChunkedSource * source, source_->Get());
    return source->HashKeys(key_columns);
  }

 private:
  LazySource* source_;
};

class ChunkProfiler : public store::Profiler {
 public:
  explicit ChunkProfiler(LazySource* source) : source_(source) {}
  Result<store::SourceProfile> Profile(const store::ProfileOptions& options) override {
    ASSIGN_OR_RETURN(store::ChunkedSource * source, source_->Get());
    return source->Profile(options);
  }

 private:
  LazySource* source_;
};

class DuckDbStore : public store::Store {
 public:
  DuckDbStore(const spec::SourceSpec& source, const std::string& path_or_glob,
              const store::ChunkedSourceOptions& options)
      : source_(source, path_or_glob, options),
        snapshot_(&source_),
        dedup_(&source_),
        profiler_(&source_) {}

  store::SnapshotReader& snapshot() override { return snapshot_; }
  store::Deduplication* dedup() override { return &dedup_; }
  store::Profiler* profiler() override { return &profiler_; }

  Status Ping() override {
    const std::string extension = "." + source_.source().type;
    auto files = MatchFiles(source_.path(), {extension});
    const std::string what = "source '" + source_.source().name + "'";
    if (!files.ok()) return files.status().WithContext(what);
    for (const auto& file : *files) {
      if (access(file.c_str(), R_OK) != 0) return IoError(what + ": " + file + " is not readable");
    }
    return Status::Ok();
  }

 private:
  LazySource source_;
  ChunkSnapshotReader snapshot_;
  ChunkDeduplication dedup_;
  ChunkProfiler profiler_;
};

}  // namespace

Result<std::unique_ptr<store::Store>> OpenDuckDbStore(const spec::SourceSpec& source,
                                                      const std::string& path_or_glob,
                                                      const store::ChunkedSourceOptions& options) {
  if (source.type != "parquet" && source.type != "csv") {
    return InvalidArgument("source '" + source.name + "': type '" + source.type +
                           "' is not read through DuckDB (expected parquet or csv)");
  }
  return std::unique_ptr<store::Store>(new DuckDbStore(source, path_or_glob, options));
}

}  // namespace cutover::duckdb_store
