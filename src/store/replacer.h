// Replacer: a store's whole contents written anew from a stream of records
// and swapped in at once (rollback into a file: an export of PostgreSQL).
#pragma once

#include <cstddef>

#include "common/row_batch.h"
#include "common/status.h"
#include "store/writer.h"

namespace cutover::store {

// A Writer changes records where they are, which for a file is a rewrite of
// the whole file per Flush; a Replacer writes the new contents once, in the
// order the records come, and readers see the old contents until Commit
// replaces them whole (a kill before leaves the old ones). Nothing is kept
// of the old contents, so a replace is as idempotent as its input: writing
// the same records again gives the same bytes.
//
// Not thread-safe: a replacer belongs to one thread, one replace at a time.
class Replacer {
 public:
  virtual ~Replacer() = default;

  // Starts new contents; the store is unchanged until Commit. Keeps other
  // writers of the store out until Commit or Abort (FailedPrecondition when
  // one is at work).
  virtual Status Begin() = 0;

  // Appends `rows`' row `row` (in the store's shape: a JSON record's "$doc")
  // as the record with `key`. REQUIRES: Begin succeeded.
  virtual Status Append(const RecordKey& key, const RowBatch& rows, size_t row) = 0;

  // Makes the appended records the store's whole contents, atomically and
  // durably, and lets other writers in again.
  virtual Status Commit() = 0;

  // Drops the new contents; the store keeps its old ones.
  virtual void Abort() = 0;
};

}  // namespace cutover::store
