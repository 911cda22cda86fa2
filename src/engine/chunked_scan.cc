#include "engine/chunked_scan.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "engine/lookup_resolver.h"
#include "engine/source_factory.h"
#include "map/columnar_mapper.h"

namespace cutover::engine {

Result<int> ScanChunkedSource(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
                              const ChunkedScanOptions& options, const ScanCallback& on_batch) {
  ASSIGN_OR_RETURN(const std::string location, SourceLocationOf(migration, entity));
  const spec::SourceSpec* source_spec = migration.FindSource(entity.source);
  const int threads_wanted = std::max(1, options.threads);
  Result<std::unique_ptr<source::ChunkedSource>> opened =
      options.opener
          ? options.opener(*source_spec, location, threads_wanted, migration.backfill.chunk_rows)
          : source::OpenChunkedSource(*source_spec, location,
                                      source::ChunkedSourceOptions{.threads = threads_wanted});
  if (!opened.ok()) return opened.status();
  std::unique_ptr<source::ChunkedSource> src = std::move(opened).value();
  ASSIGN_OR_RETURN(const auto chunks, src->PlanChunks());
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
    source::SourceBatch in;
    map::MappedBatch mapped;
    for (size_t i = next++; i < chunks.size() && !failed; i = next++) {
      ASSIGN_OR_RETURN(auto reader, src->OpenChunk(chunks[i]));
      RETURN_IF_ERROR(reader->Open({}));
      for (;;) {
        ASSIGN_OR_RETURN(bool more, reader->Next(options.batch_rows, &in));
        if (!more) break;
        mapper->Map(in, &mapped);
        if (resolver) RETURN_IF_ERROR(resolver->Resolve(&mapped));
        RETURN_IF_ERROR(on_batch(t, static_cast<int64_t>(i), in, mapped));
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

}  // namespace cutover::engine
