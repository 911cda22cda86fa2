// Writer: keyed, idempotent writes into a store (the dual-write gateway, and
// rollback into the legacy store), so that replaying a change is harmless.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/row_batch.h"
#include "common/status.h"

namespace cutover::store {

// A record's key as the store addresses it, one part per key column, each
// the value's text: a JSON object's member name or its id field ("42" for
// the number 42 and for the string "42" alike), a Redis key, a PostgreSQL
// key in its text form. Plain data.
using RecordKey = std::vector<std::string>;

// Writes are buffered and land at Flush(). Each one is keyed and states the
// final value (an upsert replaces the whole record, a delete removes it), so
// applying the same write twice, or a write the store already holds, leaves
// the store as one application would: replaying a journal is harmless. Of
// several writes to one key before a Flush, the last one counts.
//
// Not thread-safe: a writer belongs to one thread.
class Writer {
 public:
  virtual ~Writer() = default;

  // Stages `rows`' row `row` (in the store's shape; see RecordShape in
  // snapshot_reader.h) as the record whose key is `key`.
  // REQUIRES: `key` is the key `rows`' row `row` carries; row < num_rows().
  virtual Status Upsert(const RecordKey& key, const RowBatch& rows, size_t row) = 0;

  // Stages the removal of the record with `key`; removing a missing record
  // is not an error.
  virtual Status Delete(const RecordKey& key) = 0;

  // Stages a change the store applies to the record in place, as the
  // store's own operation (`change` is JSON; a Redis key takes
  // {"increment": N} for a counter, {"increment": {"field": N}} and
  // {"set": {"field": value}} for a hash). Unlike Upsert it is not
  // idempotent: a Flush that fails after such a change was sent may or may
  // not have applied it, so the caller Discards instead of retrying, and
  // reads the record back to learn its state. Default: the store has no
  // such operations (FailedPrecondition).
  virtual Status Modify(const RecordKey& key, const std::string& change) {
    (void)key;
    (void)change;
    return FailedPrecondition("this store changes records only whole");
  }

  // Makes every staged write durable, all together or (on error) none of
  // them as far as the store allows (a file is replaced atomically; a
  // database commits one transaction). After an error the writes stay
  // staged, so a retried Flush tries them again.
  virtual Status Flush() = 0;

  // Whether a failed Flush may have landed part of what was staged (Redis:
  // one MULTI/EXEC per key, so keys before the error were written; IoTDB:
  // one tablet per device). A caller that answers with the error must then
  // read the records back to learn what the store holds. Default: a Flush
  // lands whole or not at all.
  virtual bool MayLandInPart() const { return false; }

  // Drops every staged write: a caller that answers its client with the
  // error instead of retrying must not have that write land with the next
  // Flush.
  virtual void Discard() = 0;

  // A record's state as the write that left it saw it, read in the same
  // atomic step.
  struct Written {
    bool deleted = false;
    std::string document;  // as the store's key reader gives the record; "" if deleted
    int64_t version = 0;   // as the key reader's versions (catalog/key_versions.h)
  };
  // Asks the writer to read each record back within the step that writes it
  // (Redis: inside the key's MULTI/EXEC), so no other writer's change can
  // fall between the write and the read, and the caller saves a round trip
  // of its own. Returns false (the default) when the store cannot.
  virtual bool ReadBackWrites() { return false; }
  // After a successful Flush, once ReadBackWrites() returned true: the state
  // each key was left in. A key missing here must be read back with the
  // store's key reader (a collection too big to read in one step).
  virtual const std::map<RecordKey, Written>& written() const {
    static const std::map<RecordKey, Written> kNone;
    return kNone;
  }

  // For a store whose writer is the only one (a JSON file: one process
  // writes it), the version of what the last successful Flush wrote, as
  // catalog/key_versions.h orders versions; the records are then exactly
  // what was staged. -1 (the default) when other writers may change the
  // store, so what a write left must be read back with its version (Redis).
  virtual int64_t flushed_version() const { return -1; }
};

}  // namespace cutover::store
