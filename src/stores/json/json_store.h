// The JSON files of one source as a store::Store: a partition per file read
// through JsonRecordReader, and (for a single file) a JsonFileWriter.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "spec/spec.h"
#include "store/store.h"

namespace cutover::json_store {

// Options the spec's source does not carry.
struct JsonStoreOptions {
  // The dotted path of a record's key inside it, for writes into array and
  // lines files (the entity's key column's `from`); empty: such files cannot
  // be written.
  std::string key_field;
  // Records are addressed by key (`key_field`, or the member name of a
  // keyed-object file): a single file's batches then carry versions and
  // source keys, as a Redis store's do, so a backfill racing the gateway's
  // writes to the file never lands an older state over a newer one
  // (catalog/key_versions.h); keys the file repeats keep their meaning
  // (StoreBatch::repeats_share_claim). A batch's version is the
  // modification time, in microseconds, of the file generation it reads, taken before opening it:
  // earlier than the version of any replace the read does not see (json_file_committer.h).
  bool versioned = false;
};

// `path_or_glob`: a file, a directory (every *.json, *.jsonl and *.ndjson
// under it) or a glob. Partitions are files, with the file's path as the id;
// a cursor is the next record's byte offset, ordinal and line, encoded
// "byte=B record=R line=L". writer() is non-null only when `path_or_glob`
// names one file (which may not exist yet). Nothing is opened until used, so
// opening a store to Ping it is cheap. Thread-safe as store.h says.
Result<std::unique_ptr<store::Store>> OpenJsonStore(const spec::SourceSpec& source,
                                                    const std::string& path_or_glob,
                                                    const JsonStoreOptions& options);

}  // namespace cutover::json_store
