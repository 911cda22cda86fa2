// Opens the legacy-store reader for an entity, so the runners need not know
// which store a spec names.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "spec/spec.h"
#include "store/chunked_source.h"
#include "store/row_source.h"
#include "store/store.h"

namespace cutover::engine {

// The path or name recorded as the origin of the entity's records.
Result<std::string> SourceLocationOf(const spec::MigrationSpec& migration,
                                     const spec::EntitySpec& entity);

// The store an entity reads (stores::OpenStore), over its file or its
// source's path: `jobs` workers will read it, with the spec's
// backfill.chunk_rows. A JSON source whose path is a directory needs the
// entity's `file:`.
Result<std::unique_ptr<store::Store>> OpenEntityStore(const spec::MigrationSpec& migration,
                                                      const spec::EntitySpec& entity, int jobs);

Result<std::unique_ptr<store::RowSource>> OpenSource(const spec::MigrationSpec& migration,
                                                     const spec::EntitySpec& entity);

// Opens the chunked source of an entity; `jobs` is the number of workers
// that will read it, `chunk_rows` the spec's backfill.chunk_rows (0: default). Tests substitute
// their own; the default is stores::OpenChunkedSource.
using ChunkedSourceOpener = std::function<Result<std::unique_ptr<store::ChunkedSource>>(
    const spec::SourceSpec& source, const std::string& path_or_glob, int jobs, int64_t chunk_rows)>;

// True when the entity reads a parquet or csv source.
bool IsChunkedEntity(const spec::MigrationSpec& migration, const spec::EntitySpec& entity);

// The worker count when --jobs is 0: the machine's cores.
int DefaultJobs();

}  // namespace cutover::engine
