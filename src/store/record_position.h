// RecordPosition: where one record sits in its store, for reject reports and
// progress: its ordinal, and for files its byte offset and line.
#pragma once

#include <cstdint>

namespace cutover::store {

// record_index is the record's ordinal in its partition (a JSON file's record
// number, a Parquet row's ordinal in its file; a Redis key, which has no
// stable position, a 63-bit hash of the key). byte_offset and line are what
// a text file knows of it, -1 when the store has no such thing (Parquet rows,
// Redis keys, PostgreSQL rows). Plain data.
struct RecordPosition {
  int64_t byte_offset = 0;
  int64_t line = 1;
  int64_t record_index = 0;
};

}  // namespace cutover::store
