// BatchReader: pulls the records of one partition in batches, each ending at a
// Cursor from which a later reader (another process, another run) resumes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/row_batch.h"
#include "common/status.h"
#include "store/cursor.h"
#include "store/record_position.h"

namespace cutover::store {

// A batch of records. `rows` holds them in the store's shape (see
// RecordShape in snapshot_reader.h): typed columns, or a document store's
// "$doc" (kJsonb, the record's exact text) and "$key" (kText) columns.
// positions[i] is where rows' record i sits. `end` resumes right after the
// batch's last record: a ledger that stores it with the batch's effects, in
// one transaction, resumes with no record lost and none read twice.
struct StoreBatch {
  std::string origin;  // the partition's human name: a file, a table
  RowBatch rows;
  std::vector<RecordPosition> positions;
  Cursor end;
  // For stores whose records carry a version (Redis: the server's clock in
  // microseconds, read just before the record): versions[i] and
  // source_keys[i] are record i's, so that writers keep each key's newest
  // state whatever order a copy and a change stream reach PostgreSQL in
  // (catalog/key_versions.h). Empty for other stores. versions_floor is a
  // version no later than any read of the batch: the keys a KeyReader found
  // missing were missing as of it.
  std::vector<int64_t> versions;
  std::vector<std::string> source_keys;
  int64_t versions_floor = -1;
  // A key may occur more than once in the batch under one version (a JSON
  // file repeats a key): every occurrence then lands if its key's claim
  // wins, as all of them would without versions, instead of one alone.
  bool repeats_share_claim = false;

  size_t size() const { return positions.size(); }
};

// Empties `out` for a document store's next batch: "$doc" and "$key"
// columns (cleared, not reallocated, when it already has them), no
// positions and no versions.
inline void ResetDocumentBatch(StoreBatch* out) {
  if (out->rows.columns.size() != 2) {
    out->rows = RowBatch();
    out->rows.AddColumn("$doc", ValueType::kJsonb);
    out->rows.AddColumn("$key", ValueType::kText);
  } else {
    out->rows.Clear();
  }
  out->positions.clear();
  out->versions.clear();
  out->source_keys.clear();
  out->versions_floor = -1;
}

// The shape of leveldb's Iterator: construction opens it at a cursor, Next()
// pulls. Batches are small (a caller picks `max_records`), so memory is
// bounded by the batch, never by the partition.
//
// Not thread-safe: a reader belongs to one thread. It keeps what it needs of
// its store alive on its own (a connection, a mapping), so it may outlive the
// SnapshotReader that opened it.
class BatchReader {
 public:
  virtual ~BatchReader() = default;

  // Fills `out` with up to `max_records` records that follow the previous
  // batch (the first batch starts at the cursor the reader was opened at).
  // Returns false, with `out` empty and out->end the partition's end, when
  // nothing follows. `out`'s columns are cleared, not reallocated, when their
  // shape is unchanged, so that a caller reusing one batch saves the
  // allocations.
  // REQUIRES: max_records > 0.
  // A broken store (a torn file, a lost connection) is an error Status with
  // the partition and the position; a malformed record is not: it comes out
  // as it is, for the mapper to reject with its position.
  virtual Result<bool> Next(size_t max_records, StoreBatch* out) = 0;
};

}  // namespace cutover::store
