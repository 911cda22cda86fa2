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
};

}  // namespace cutover::store
