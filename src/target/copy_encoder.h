// Encodes RowBatch rows in PostgreSQL's binary COPY format, column by
// column type without per-value dispatch through virtual calls.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/row_batch.h"

namespace cutover::target {

// Appends a complete binary COPY stream (header, one tuple per selected row,
// trailer) to `out`. Each tuple starts with a bigint ordinal (the row's index
// in `batch`), then the columns in `column_order`. kNumeric is sent as text,
// because the staging table holds it as text (see MergeWriter).
void EncodeBinaryCopy(const RowBatch& batch, std::span<const int> column_order,
                      std::span<const uint32_t> rows, std::string* out);

}  // namespace cutover::target
