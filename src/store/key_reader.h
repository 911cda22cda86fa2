// KeyReader: a store that reads records by key (a Redis GET, a primary-key
// lookup), for dirty-key hints, shadow reads and repairing a verify diff.
#pragma once

#include <vector>

#include "common/status.h"
#include "store/batch_reader.h"
#include "store/writer.h"

namespace cutover::store {

// An optional capability (Store::key_reader() is null without it).
// Not thread-safe: call from one thread, or open one store per thread.
class KeyReader {
 public:
  virtual ~KeyReader() = default;

  // Fills `out` (cleared first) with the records of those of `keys` that
  // exist, in the store's shape; a missing key is left out, not an error.
  // out->end is not meaningful.
  virtual Status Read(const std::vector<RecordKey>& keys, StoreBatch* out) = 0;

  // Fills `out` with one record per key holding only what the key itself
  // says (a Redis key's captures and name), in the store's shape, so that
  // the rows of a key that is gone can be found by mapping its key columns.
  // Reads nothing from the store. Default: the store keys records by
  // nothing a name carries (FailedPrecondition).
  virtual Status KeyRecords(const std::vector<RecordKey>& keys, StoreBatch* out) {
    (void)keys;
    (void)out;
    return FailedPrecondition("this store cannot turn a key into a record");
  }

  // Fills `out` (cleared first) with the records that `documents` (one per
  // key, in the writer's layout: store/writer.h) read back as once written,
  // each with `version`, without reading or writing the store: what Read
  // would return right after the Upserts. A document that leaves no record
  // (an empty Redis collection) is left out, as Read leaves out a missing
  // key. Lets a writer that writes PostgreSQL first map a record exactly as
  // a later read of the store would. Default: FailedPrecondition.
  virtual Status WrittenRecords(const std::vector<RecordKey>& keys,
                                const std::vector<std::string>& documents, int64_t version,
                                StoreBatch* out) {
    (void)keys;
    (void)documents;
    (void)version;
    (void)out;
    return FailedPrecondition("this store cannot say what a write leaves behind");
  }
};

}  // namespace cutover::store
