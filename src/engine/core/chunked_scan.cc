// ScanChunkedSource: worker threads take ranges of the source in turn, map
// them, resolve their lookups and hand each batch to the caller.
#include "engine/core/chunked_scan.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "engine/core/lookup_resolver.h"
#include "engine/core/source_factory.h"
#include "engine/core/source_schema_check.h"
#include "map/columnar_mapper.h"
#include "stores/registry.h"

namespace cutover::engine {
namespace {

// Ranges of planned chunks per reader thread: enough for the threads to even
// out, few enough that per-query costs vanish.
constexpr int64_t kRangesPerThread = 4;

// Consecutive chunks of one file joined into about `threads *
// kRangesPerThread` ranges, in source order. A chunk is the backfill's unit of
// resumable work (a Parquet row group, possibly a few thousand rows); a scan
// needs no such unit, and every query costs DuckDB a bind that reads the
// file's footer and statistics, all row groups' of them: per row group that
// is quadratic in the file's size (measured: 172 row groups of 6,000 rows
// spent more time binding than reading).
std::vector<store::ChunkRef> CoalesceChunks(const std::vector<store::ChunkRef>& chunks,
                                            int threads) {
  int64_t total = 0;
  for (const auto& c : chunks) total += c.row_count;
  const int64_t target = std::max<int64_t>(1, total / (threads * kRangesPerThread));
  std::vector<store::ChunkRef> ranges;
  for (const auto& c : chunks) {
    store::ChunkRef* last = ranges.empty() ? nullptr : &ranges.back();
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

}  // namespace

Result<int> ScanChunkedSource(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
                              const ChunkedScanOptions& options, const ScanCallback& on_batch) {
  ASSIGN_OR_RETURN(const std::string location, SourceLocationOf(migration, entity));
  const spec::SourceSpec* source_spec = migration.FindSource(entity.source);
  const int threads_wanted = std::max(1, options.threads);
  // Each reader thread runs its own chunk's query; worker threads of DuckDB's
  // own would only contend with them for the cores (measured: verify of 5M
  // agriprofit rows on 2 cores took 5.1 s with two of them, 4.7 s with none).
  constexpr int kDuckDbThreads = 1;
  Result<std::unique_ptr<store::ChunkedSource>> opened =
      options.opener
          ? options.opener(*source_spec, location, kDuckDbThreads, migration.backfill.chunk_rows)
          : stores::OpenChunkedSource(*source_spec, location,
                                      store::ChunkedSourceOptions{.threads = kDuckDbThreads});
  if (!opened.ok()) return opened.status();
  std::unique_ptr<store::ChunkedSource> src = std::move(opened).value();
  RETURN_IF_ERROR(CheckSourceSchema(*source_spec, entity, src.get()));
  if (options.prepare) RETURN_IF_ERROR(options.prepare(src.get()));
  ASSIGN_OR_RETURN(const auto planned, src->PlanChunks());
  const std::vector<store::ChunkRef> chunks = CoalesceChunks(planned, threads_wanted);
  std::unique_ptr<LookupResolver> resolver;
  if (!options.url.empty()) {
    ASSIGN_OR_RETURN(resolver, LookupResolver::Create(migration, entity, options.url,
                                                      /*create_missing=*/false));
  }
  const int threads =
      std::max(1, std::min(threads_wanted, static_cast<int>(std::max<size_t>(chunks.size(), 1))));
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<Status> results(threads);
  auto work = [&](int t) -> Status {
    ASSIGN_OR_RETURN(auto mapper, map::ColumnarMapper::Create(entity));
    store::StoreBatch in, picked;
    map::MappedBatch mapped;
    std::vector<size_t> keep;
    for (size_t i = next++; i < chunks.size() && !failed; i = next++) {
      ASSIGN_OR_RETURN(auto reader, src->OpenChunk(chunks[i]));
      RETURN_IF_ERROR(reader->Open({}));
      for (;;) {
        ASSIGN_OR_RETURN(bool more, reader->Next(options.batch_rows, &in));
        if (!more) break;
        const store::StoreBatch* batch = &in;
        if (options.select) {
          keep.clear();
          RETURN_IF_ERROR(options.select(t, in, &keep));
          if (keep.empty()) continue;
          if (keep.size() < in.size()) {
            PickRecords(in, keep, &picked);
            batch = &picked;
          }
        }
        mapper->Map(*batch, &mapped);
        if (resolver) RETURN_IF_ERROR(resolver->Resolve(&mapped));
        RETURN_IF_ERROR(on_batch(t, static_cast<int64_t>(i), *batch, mapped));
      }
    }
    return Status::Ok();
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      results[t] = work(t);
      if (!results[t].ok()) failed = true;
    });
  }
  for (auto& p : pool) p.join();
  for (const auto& st : results) RETURN_IF_ERROR(st);
  return threads;
}

void PickRecords(const store::StoreBatch& in, const std::vector<size_t>& keep,
                 store::StoreBatch* out) {
  out->origin = in.origin;
  out->end = in.end;
  out->positions.clear();
  // Same names are not enough to reuse `out`'s columns: a column of another
  // type would take values it cannot hold (see ColumnarMapper::Map).
  bool same_shape = out->rows.names == in.rows.names;
  for (size_t c = 0; same_shape && c < in.rows.columns.size(); ++c) {
    same_shape = out->rows.columns[c].type() == in.rows.columns[c].type();
  }
  if (!same_shape) {
    out->rows = RowBatch();
    for (size_t c = 0; c < in.rows.columns.size(); ++c) {
      out->rows.AddColumn(in.rows.names[c], in.rows.columns[c].type());
    }
  } else {
    out->rows.Clear();
  }
  for (size_t record : keep) {
    for (size_t c = 0; c < in.rows.columns.size(); ++c) {
      out->rows.columns[c].AppendFrom(in.rows.columns[c], record);
    }
    out->positions.push_back(in.positions[record]);
  }
}

}  // namespace cutover::engine
