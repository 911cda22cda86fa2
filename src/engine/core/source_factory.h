// Opens the store an entity reads, so the commands need not know which
// adapter a spec names.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/spec.h"
#include "store/shared_pass.h"
#include "store/store.h"

namespace cutover::engine {

// The path or name recorded as the origin of the entity's records.
Result<std::string> SourceLocationOf(const spec::MigrationSpec& migration,
                                     const spec::EntitySpec& entity);

// The store an entity reads (stores::OpenStore), over its file or its
// source's path: `jobs` workers will read it, with the spec's
// backfill.chunk_rows. A JSON source whose path is a directory needs the
// entity's `file:`; a JSON entity addressed by key (spec::JsonKeyField), or
// a Parquet entity kept in a folder (an archive), gets a store that reads
// and writes by key, whose reads carry versions when `file_versions` is true
// (stores/json/json_store.h, stores/duckdb/duckdb_store.h; a backfill from
// dual_write on, when the gateway writes the same files). `pass`: a read
// shared with other entities of the source (stores::OpenSharedPass), or null.
Result<std::unique_ptr<store::Store>> OpenEntityStore(
    const spec::MigrationSpec& migration, const spec::EntitySpec& entity, int jobs,
    bool file_versions = false, std::shared_ptr<store::SharedPass> pass = nullptr);

// One read of a source that `entities` (all of it, starting together) share,
// in batches of `batch_size` (stores::OpenSharedPass); null when its type
// reads each entity apart.
std::shared_ptr<store::SharedPass> OpenSharedPass(
    const spec::MigrationSpec& migration, const std::vector<const spec::EntitySpec*>& entities,
    int64_t batch_size);

// True when the entity reads a parquet or csv source.
bool IsChunkedEntity(const spec::MigrationSpec& migration, const spec::EntitySpec& entity);

// The worker count when --jobs is 0: the machine's cores.
int DefaultJobs();

}  // namespace cutover::engine
