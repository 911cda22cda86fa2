// Order-preserving bytes for keep_last_by values: memcmp on them orders rows
// as PostgreSQL's merge does, so verify ranks a repeated key's rows itself.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/row_batch.h"

namespace cutover::engine::verify {

// Bytes that compare (memcmp) as the numeric `text` does in PostgreSQL:
// -Infinity, negatives, zero, positives, Infinity, NaN. A finite value is
// its decimal exponent (the position of its point after the first
// significant digit), then those digits; negatives with every byte inverted,
// so that a greater magnitude sorts first. Text that is not a number sorts
// as NaN. Pure; thread-safe.
std::string NumericOrderBytes(std::string_view text);

// Bytes that compare (memcmp) as the values of `columns` of row `row` do in
// the merge, column by column: NULL first, integers and times big-endian
// with the sign flipped, floats by the IEEE order trick, numerics by
// NumericOrderBytes, text as is (COLLATE "C") with a terminator.
std::string RankOf(const RowBatch& batch, size_t row, const std::vector<int>& columns);

}  // namespace cutover::engine::verify
