// DuckDbStore: the store protocol over a lazily opened ChunkedSource; each
// batch reader wraps a chunk reader and encodes the row it stands at.
#include "stores/duckdb/duckdb_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <string_view>

#include "common/file_match.h"
#include "stores/duckdb/duckdb_chunk_reader.h"
#include "stores/duckdb/open_chunked_source.h"
#include "stores/duckdb/parquet_archive.h"
#include "stores/duckdb/parquet_file_replacer.h"

namespace cutover::duckdb_store {
namespace {

// Readers add the hash column under the name store::Deduplication promises.
static_assert(std::string_view(kKeyHashColumn) == store::kKeyHashColumnName);

// Ranges of planned chunks per reader of a scan: enough for the readers to
// even out, few enough that per-query costs vanish.
constexpr int64_t kRangesPerReader = 4;

// Consecutive chunks of one file joined into about `readers *
// kRangesPerReader` ranges, in source order. A chunk is the backfill's unit of
// resumable work (a Parquet row group, possibly a few thousand rows); a scan
// needs no such unit, and every query costs DuckDB a bind that reads the
// file's footer and statistics, all row groups' of them: per row group that
// is quadratic in the file's size (measured: 172 row groups of 6,000 rows
// spent more time binding than reading).
std::vector<ChunkRef> CoalesceChunks(const std::vector<ChunkRef>& chunks, int readers) {
  int64_t total = 0;
  for (const auto& c : chunks) total += c.row_count;
  const int64_t target = std::max<int64_t>(1, total / (readers * kRangesPerReader));
  std::vector<ChunkRef> ranges;
  for (const auto& c : chunks) {
    ChunkRef* last = ranges.empty() ? nullptr : &ranges.back();
    if (last != nullptr && last->file == c.file &&
        last->first_row + last->row_count == c.first_row &&
        last->row_count + c.row_count <= target) {
      last->row_count += c.row_count;
      continue;
    }
    ranges.push_back(c);
  }
  return ranges;
}

// What versions a reader's rows carry: none (the default), or, for an
// archive the gateway writes, the file's modification time named by the
// rows' key columns (parquet_archive.h).
struct RowVersions {
  std::vector<std::string> key_columns;  // source names; empty: no versions
  int64_t file_mtime_us = -1;
};

class ChunkBatchReader : public store::BatchReader {
 public:
  ChunkBatchReader(std::unique_ptr<DuckChunkReader> chunk, RowVersions versions)
      : chunk_(std::move(chunk)), versions_(std::move(versions)) {}

  Result<bool> Next(size_t max_records, store::StoreBatch* out) override {
    Result<bool> more = chunk_->Next(max_records, out);
    if (!more.ok()) return more.status();
    out->end.token = "row=" + std::to_string(chunk_->next_row());
    out->versions.clear();
    out->source_keys.clear();
    if (!versions_.key_columns.empty()) {
      std::vector<int> keys;
      for (const std::string& k : versions_.key_columns) keys.push_back(out->rows.IndexOf(k));
      if (std::find(keys.begin(), keys.end(), -1) != keys.end()) {
        return FailedPrecondition("the rows of " + out->origin +
                                  " lack a key column, so they cannot carry key versions");
      }
      for (size_t r = 0; r < out->size(); ++r) {
        out->versions.push_back(versions_.file_mtime_us);
        out->source_keys.push_back(ArchiveKeyText(out->rows, r, keys));
      }
      out->versions_floor = versions_.file_mtime_us;
      // A key the archive holds twice: every row follows its key's claim,
      // as every one would land without versions.
      out->repeats_share_claim = true;
    }
    return *more;
  }

 private:
  std::unique_ptr<DuckChunkReader> chunk_;
  const RowVersions versions_;
};

// The ChunkedSource, opened on first use; shared by the store's parts.
class LazySource {
 public:
  LazySource(spec::SourceSpec source, std::string path_or_glob, ChunkedSourceOptions options)
      : source_(std::move(source)), path_(std::move(path_or_glob)), options_(options) {}

  Result<ChunkedSource*> Get() {
    std::lock_guard<std::mutex> lock(mu_);
    if (chunked_ == nullptr) {
      ASSIGN_OR_RETURN(chunked_, OpenChunkedSource(source_, path_, options_));
    }
    return chunked_.get();
  }

  // The chunk a partition id names, planning the chunks on first use.
  Result<ChunkRef> Chunk(const std::string& id) {
    ASSIGN_OR_RETURN(ChunkedSource * source, Get());
    std::lock_guard<std::mutex> lock(mu_);
    if (!planned_) {
      ASSIGN_OR_RETURN(std::vector<ChunkRef> chunks, source->PlanChunks());
      for (auto& chunk : chunks) chunks_.emplace(chunk.Id(), chunk);
      planned_ = true;
    }
    auto it = chunks_.find(id);
    if (it == chunks_.end()) {
      return InvalidArgument("source '" + source_.name + "' has no chunk '" + id + "'");
    }
    return it->second;
  }

  // Makes `chunk` (a run of planned chunks joined for a scan) openable by id.
  void Register(const ChunkRef& chunk) {
    std::lock_guard<std::mutex> lock(mu_);
    chunks_.emplace(chunk.Id(), chunk);
  }

  const spec::SourceSpec& source() const { return source_; }
  const std::string& path() const { return path_; }

 private:
  const spec::SourceSpec source_;
  const std::string path_;
  const ChunkedSourceOptions options_;
  std::mutex mu_;
  std::unique_ptr<ChunkedSource> chunked_;  // protected by mu_
  bool planned_ = false;                    // protected by mu_
  std::map<std::string, ChunkRef> chunks_;  // protected by mu_
};

class ChunkSnapshotReader : public store::SnapshotReader {
 public:
  // `version_keys`: the key columns that name a row's version; empty: the
  // rows carry none.
  ChunkSnapshotReader(LazySource* source, std::vector<std::string> version_keys)
      : source_(source), version_keys_(std::move(version_keys)) {}

  store::RecordShape shape() const override { return store::RecordShape::kColumns; }
  bool versioned() const override { return !version_keys_.empty(); }

  Result<std::vector<store::ColumnDescription>> Describe() override {
    ASSIGN_OR_RETURN(ChunkedSource * source, source_->Get());
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
    ASSIGN_OR_RETURN(ChunkedSource * source, source_->Get());
    return source->MissingColumns(columns);
  }

  Result<std::vector<store::Partition>> Plan() override {
    ASSIGN_OR_RETURN(ChunkedSource * source, source_->Get());
    ASSIGN_OR_RETURN(std::vector<ChunkRef> chunks, source->PlanChunks());
    std::vector<store::Partition> partitions;
    for (const auto& chunk : chunks) {
      partitions.push_back({chunk.Id(), chunk.file, chunk.row_count, -1});
    }
    return partitions;
  }

  Result<std::vector<store::Partition>> PlanScan(int readers) override {
    ASSIGN_OR_RETURN(ChunkedSource * source, source_->Get());
    ASSIGN_OR_RETURN(const std::vector<ChunkRef> chunks, source->PlanChunks());
    std::vector<store::Partition> partitions;
    for (const auto& range : CoalesceChunks(chunks, std::max(1, readers))) {
      source_->Register(range);
      partitions.push_back({range.Id(), range.file, range.row_count, -1});
    }
    return partitions;
  }

  Result<std::unique_ptr<store::BatchReader>> Open(const store::Partition& partition,
                                                   const store::Cursor& from) override {
    ASSIGN_OR_RETURN(ChunkedSource * source, source_->Get());
    ASSIGN_OR_RETURN(ChunkRef chunk, source_->Chunk(partition.id));
    int64_t at = chunk.first_row;
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
      at = row;
    }
    // The file's modification time before its rows are read: a gateway
    // write claimed later than the file was written is newer than its rows.
    RowVersions versions;
    if (!version_keys_.empty()) {
      struct stat st {};
      if (stat(chunk.file.c_str(), &st) != 0) {
        return IoError("cannot stat " + chunk.file + ": " + std::strerror(errno));
      }
      versions.key_columns = version_keys_;
      versions.file_mtime_us =
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000 + st.st_mtim.tv_nsec / 1000;
    }
    ASSIGN_OR_RETURN(std::unique_ptr<DuckChunkReader> reader, source->OpenChunk(chunk));
    RETURN_IF_ERROR(reader->Open(at));
    return std::unique_ptr<store::BatchReader>(
        new ChunkBatchReader(std::move(reader), std::move(versions)));
  }

 private:
  LazySource* source_;
  const std::vector<std::string> version_keys_;
};

class ChunkDeduplication : public store::Deduplication {
 public:
  explicit ChunkDeduplication(LazySource* source) : source_(source) {}

  Status SkipSupersededRows(const std::vector<std::string>& key_columns,
                            const std::vector<std::string>& order_columns) override {
    ASSIGN_OR_RETURN(ChunkedSource * source, source_->Get());
    return source->SkipSupersededRows(key_columns, order_columns);
  }
  Result<int64_t> SupersededRows(const store::Partition& partition) override {
    ASSIGN_OR_RETURN(ChunkedSource * source, source_->Get());
    ASSIGN_OR_RETURN(ChunkRef chunk, source_->Chunk(partition.id));
    return source->SupersededRows(chunk);
  }
  Result<std::vector<int64_t>> HashKeys(const std::vector<std::string>& key_columns) override {
    ASSIGN_OR_RETURN(ChunkedSource * source, source_->Get());
    return source->HashKeys(key_columns);
  }

 private:
  LazySource* source_;
};

class ChunkProfiler : public store::Profiler {
 public:
  explicit ChunkProfiler(LazySource* source) : source_(source) {}
  Result<store::SourceProfile> Profile(const store::ProfileOptions& options) override {
    ASSIGN_OR_RETURN(ChunkedSource * source, source_->Get());
    return source->Profile(options);
  }
  Result<std::vector<store::GeometryCrs>> GeometryReferenceSystems() override {
    ASSIGN_OR_RETURN(ChunkedSource * source, source_->Get());
    return source->GeometryReferenceSystems();
  }

 private:
  LazySource* source_;
};

class DuckDbStore : public store::Store {
 public:
  DuckDbStore(const spec::SourceSpec& source, const std::string& path_or_glob,
              const ChunkedSourceOptions& options, const std::vector<std::string>& key_columns,
              bool versioned)
      : source_(source, path_or_glob, options),
        // Versions name rows by their key: an archive's reads, and a file
        // the file sync loads (engine/sync/file_sync.h).
        snapshot_(&source_, versioned ? key_columns : std::vector<std::string>()),
        dedup_(&source_),
        profiler_(&source_) {
    if (IsArchive(source, path_or_glob, key_columns)) {
      writer_ = MakeArchiveWriter(
          path_or_glob, key_columns,
          {.flush_interval = std::chrono::milliseconds(source.archive.flush_interval_ms),
           .flush_rows = static_cast<size_t>(source.archive.flush_rows)});
      key_reader_ = MakeArchiveKeyReader(path_or_glob, key_columns);
    }
    // One Parquet file (not a folder, not a glob) can be written anew.
    std::error_code ec;
    if (source.type == "parquet" && !IsGlob(path_or_glob) &&
        !std::filesystem::is_directory(path_or_glob, ec)) {
      replacer_ = std::make_unique<ParquetFileReplacer>(path_or_glob);
    }
  }

  // A folder of Parquet files addressed by key is an archive the gateway
  // appends to (parquet_archive.h).
  static bool IsArchive(const spec::SourceSpec& source, const std::string& path,
                        const std::vector<std::string>& key_columns) {
    std::error_code ec;
    return source.type == "parquet" && !key_columns.empty() &&
           std::filesystem::is_directory(path, ec);
  }

  store::SnapshotReader& snapshot() override { return snapshot_; }
  store::Deduplication* dedup() override { return &dedup_; }
  store::Profiler* profiler() override { return &profiler_; }
  store::Writer* writer() override { return writer_.get(); }
  store::KeyReader* key_reader() override { return key_reader_.get(); }
  store::Replacer* replacer() override { return replacer_.get(); }

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
  std::unique_ptr<store::Writer> writer_;         // an archive's, else null
  std::unique_ptr<store::KeyReader> key_reader_;  // an archive's, else null
  std::unique_ptr<store::Replacer> replacer_;     // one Parquet file's, else null
};

}  // namespace

Result<std::unique_ptr<store::Store>> OpenDuckDbStore(const spec::SourceSpec& source,
                                                      const std::string& path_or_glob,
                                                      const ChunkedSourceOptions& options,
                                                      const std::vector<std::string>& key_columns,
                                                      bool versioned) {
  if (source.type != "parquet" && source.type != "csv") {
    return InvalidArgument("source '" + source.name + "': type '" + source.type +
                           "' is not read through DuckDB (expected parquet or csv)");
  }
  return std::unique_ptr<store::Store>(
      new DuckDbStore(source, path_or_glob, options, key_columns, versioned));
}

}  // namespace cutover::duckdb_store
