// Opens the store an entity reads, so the commands need not know which
// adapter a spec names.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "spec/spec.h"
#include "store/store.h"

namespace cutover::engine {

// The path or name recorded as the origin of the entity's records.
Result<std::string> SourceLocationOf(const spec::MigrationSpec& migration,
                                     const spec::EntitySpec& entity);

// The store an entity reads (stores::OpenStore), over its file or its
// source's path: `jobs` workers will read it, with the spec's
// backfill.chunk_rows. A JSON source whose path is a directory needs the
// entity's `file:`; a JSON entity addressed by key (JsonKeyFieldOf) gets a
// store whose reads carry versions and that reads and writes by key.
Result<std::unique_ptr<store::Store>> OpenEntityStore(const spec::MigrationSpec& migration,
                                                      const spec::EntitySpec& entity, int jobs);

// The dotted path of a JSON entity's key inside its records, "" for a file
// keyed by member name (`from: $key`); nullopt when its records are not
// addressed by key (no single `file:`, or a key of more than one column):
// then nothing writes them one by one, and their reads carry no versions.
std::optional<std::string> JsonKeyFieldOf(const spec::EntitySpec& entity);

// True when the entity reads a parquet or csv source.
bool IsChunkedEntity(const spec::MigrationSpec& migration, const spec::EntitySpec& entity);

// The worker count when --jobs is 0: the machine's cores.
int DefaultJobs();

}  // namespace cutover::engine
