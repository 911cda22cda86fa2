// The protocol every legacy store implements to be read: open at a resume
// point, then pull batches of records, each with its position in the store.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/row_batch.h"
#include "common/status.h"
#include "store/batch_reader.h"
#include "store/record_position.h"

namespace cutover::store {

// Where reading stopped or should start. For files: the byte offset of the
// next unread record, with the record ordinal and line number there, so that
// positions reported after a resume stay exact.
struct ResumePoint {
  int64_t byte_offset = 0;
  int64_t record_index = 0;
  int64_t line = 1;
};

class RowSource {
 public:
  virtual ~RowSource() = default;
  // Positions the source at `from`; the first batch starts there.
  virtual Status Open(const ResumePoint& from) = 0;
  // Fills `out` (cleared first) with up to `max_records`; false at the end.
  // Leaves out->end alone: the adapter that wraps the source encodes
  // position() there.
  virtual Result<bool> Next(size_t max_records, StoreBatch* out) = 0;
  // Where the record after the last one Next() returned starts (after
  // Open(from), before any Next(): `from`).
  virtual ResumePoint position() const = 0;
  // Total size in bytes when known (for progress and ETA), else -1.
  virtual int64_t SizeHint() const { return -1; }
};

}  // namespace cutover::store
