// Splits a JSON document file (array, keyed object or JSON lines) into raw
// record texts without building a DOM; the mapper parses each record later.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "spec/spec.h"
#include "store/batch_reader.h"

namespace cutover::json_store {

// Reads the records of one JSON file (the JSON store's partition). Each batch holds a
// "$doc" column (kJsonb) with the exact bytes of every record, trimmed of
// surrounding whitespace, and for keyed objects a "$key" column (kText) with
// the decoded member name (NULL for a value that had no key).
//
// The file is memory-mapped and read front to back; pages already consumed
// are handed back to the kernel so resident memory stays bounded by the batch
// rather than the file. A malformed record comes out as it is, so the mapper
// can reject it with its position; a broken container (a missing or doubled
// separator, a missing colon or closing bracket, anything after the closer)
// is a DataError with the file, byte offset and line, as are I/O failures.
//
// The file must not be truncated while it is open (the mapping would fault).
// Not thread-safe; one reader belongs to one scanning thread.
// Where reading stopped or should start: the byte offset of the next unread
// record, with the record ordinal and line number there, so that positions
// reported after a resume stay exact. The JSON store's cursor encodes it.
struct JsonPosition {
  int64_t byte_offset = 0;
  int64_t record_index = 0;
  int64_t line = 1;
};

class JsonRecordReader {
 public:
  JsonRecordReader(std::string path, spec::JsonLayout layout);
  ~JsonRecordReader();
  JsonRecordReader(const JsonRecordReader&) = delete;
  JsonRecordReader& operator=(const JsonRecordReader&) = delete;

  // (Re)maps the file and positions the reader at `from`, which must be zero
  // or an `end` previously returned by Next() for the same file.
  Status Open(const JsonPosition& from);
  // Fills `out` (cleared first) with up to `max_records`; false at the end.
  // Leaves out->end alone: the store encodes position() there.
  Result<bool> Next(size_t max_records, store::StoreBatch* out);
  // Where the record after the last one Next() returned starts (after
  // Open(from), before any Next: `from`).
  JsonPosition position() const { return position_; }
  // The file size in bytes, or -1 before Open().
  int64_t SizeHint() const;

  // The layout in use after Open(): kAuto resolved from the extension and
  // the first bytes of the file.
  spec::JsonLayout layout() const { return resolved_; }

 private:
  void Unmap();
  spec::JsonLayout DetectLayout() const;
  // Line number at `offset`, which must not lie before the last one asked.
  int64_t LineAt(size_t offset);
  // Returns the pages before `offset` to the kernel once enough piled up.
  void ReleaseConsumed(size_t offset, bool force);

  // Append one record to `out`; false at the end of the data, or after a
  // break in the container, which leaves error_ set.
  bool NextLine(store::StoreBatch* out);
  bool NextElement(store::StoreBatch* out);
  // `closer` is the layout's closing bracket: checks that only whitespace
  // follows it and ends the data.
  bool Close(const char* closer);
  // Sets error_ to a break of the container at `at`; returns false.
  bool Broken(const char* at, std::string_view what);

  // Constant after construction.
  const std::string path_;
  const spec::JsonLayout requested_;

  // Set by Open().
  spec::JsonLayout resolved_ = spec::JsonLayout::kAuto;
  const char* data_ = nullptr;  // mapping of the whole file; null when empty
  size_t size_ = 0;
  bool open_ = false;
  JsonPosition position_;  // after the last batch Next() returned

  // Scan state: the next byte to look at, the ordinal of the next record, and
  // a cursor (offset, line) the line counter resumes from.
  size_t pos_ = 0;
  int64_t record_index_ = 0;
  size_t line_offset_ = 0;
  int64_t line_ = 1;
  size_t released_ = 0;    // pages before this offset were given back
  bool at_start_ = false;  // the opening bracket is still to be checked
  Status error_;           // the container's first break; sticky

  std::string key_;  // reused buffer for decoding object keys
};

}  // namespace cutover::json_store
