// Encodes RowBatch rows in PostgreSQL's binary COPY format, column by
// column type without per-value dispatch through virtual calls.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/row_batch.h"

namespace cutover::pg_store {

// Appends a complete binary COPY stream (header, one tuple per selected row,
// trailer) to `out`. Each tuple starts with a bigint ordinal (the row's index
// in `batch`) unless `with_ordinal` is false, then the columns in `column_order`.
void EncodeBinaryCopy(const RowBatch& batch, std::span<const int> column_order,
                      std::span<const uint32_t> rows, bool with_ordinal, std::string* out);

// PostgreSQL's binary numeric: base-10000 digits with weight, sign and display
// scale. `canonical` is CanonicalNumeric's output ("-12.5", "NaN").
void EncodeNumeric(std::string_view canonical, std::string* out);

}  // namespace cutover::pg_store
