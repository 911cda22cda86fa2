// What `cutover inspect` learns about a source: its files, and per column the
// type, null count, distinct estimate, min/max and a few sample rows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/value_type.h"

namespace cutover::store {

// How much a profile computes. Statistics cost one full scan of the source;
// samples cost reading the first `sample_rows` rows.
struct ProfileOptions {
  int64_t sample_rows = 5;  // default 5; 0 skips the samples
  bool statistics = true;   // default true; false skips the full scan
};

// One column as the source stores it. `native_type` is the store's own
// spelling ("DECIMAL(12,2)", "TIMESTAMP WITH TIME ZONE"), `type` what our
// batches carry. min/max are the store's text for the extreme values; absent
// for types without an order (nested, binary) or when every value is null.
struct ColumnProfile {
  std::string name;
  ValueType type = ValueType::kText;
  std::string native_type;
  // The PostgreSQL type a table would best use for it ("numeric(12,2)").
  std::string postgres_type;
  int64_t null_count = -1;         // -1 when statistics were not computed
  int64_t distinct_estimate = -1;  // HyperLogLog estimate, capped at the non-null count
  std::optional<std::string> min;
  std::optional<std::string> max;
};

// A profile of a whole source (every matching file together). Not
// thread-safe; plain data.
struct SourceProfile {
  std::vector<std::string> files;
  std::vector<int64_t> file_rows;  // rows per file, parallel to `files`
  int64_t row_count = 0;
  std::vector<ColumnProfile> columns;
  // The first rows, each value as the store's text; nullopt is NULL.
  std::vector<std::vector<std::optional<std::string>>> sample;
};

}  // namespace cutover::store
