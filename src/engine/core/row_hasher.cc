// RowHasher: canonical forms of each value type hashed with XXH3, so a row
// hashes alike whether it was mapped from the source or read from PostgreSQL.
#include "engine/core/row_hasher.h"

#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>
// Inlined: verify hashes every value of both stores, a dozen calls per row,
// and most values are 8 bytes that the inlined code hashes in a few cycles.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "map/json_document.h"
#include "map/value_converter.h"
#include "map/value_parsers.h"

namespace cutover::engine {
namespace {

constexpr uint64_t kNullHash = 0x6e756c6c6e756c6cULL;  // distinct from any value's hash

uint64_t HashBytes(std::string_view bytes, uint64_t seed) {
  return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
}

uint64_t HashInt(int64_t v, uint64_t seed) {
  return XXH3_64bits_withSeed(&v, sizeof(v), seed);
}

}  // namespace

RowHasher::RowHasher(const pg_store::TableShape& shape) {
  for (const auto& c : shape.columns) numeric_scales_.push_back(c.numeric_scale);
  for (const auto& k : shape.key) {
    key_columns_.push_back(shape.IndexOf(k));
    key_names_.push_back(k);
  }
}

uint64_t RowHasher::ColumnHash(const Column& col, size_t row, int column) const {
  if (col.IsNull(row)) return kNullHash;
  // Integer widths hash alike: an integer column read back as bigint is equal.
  const uint64_t seed = col.type() == ValueType::kInt32 ? static_cast<uint64_t>(ValueType::kInt64)
                                                        : static_cast<uint64_t>(col.type());
  switch (col.type()) {
    case ValueType::kFloat64: {
      double d = col.FloatAt(row);
      if (d == 0) d = 0;  // -0.0 == 0.0
      if (std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
      int64_t bits;
      std::memcpy(&bits, &d, sizeof(bits));
      return HashInt(bits, seed);
    }
    case ValueType::kNumeric: {
      std::string_view text = col.BytesAt(row);
      std::string normalized;
      if (!map::IsNumericText(text)) {
        auto n = map::NumericText(text);
        if (n.ok()) normalized = std::move(*n);
        text = n.ok() ? std::string_view(normalized) : text;
      }
      const int scale = column >= 0 && static_cast<size_t>(column) < numeric_scales_.size()
                            ? numeric_scales_[column]
                            : -1;
      if (scale >= 0) {
        // A value that would round at this scale keeps its own and differs.
        if (auto at = map::NumericAtScale(text, scale)) return HashBytes(*at, seed);
      }
      return HashBytes(text, seed);
    }
    case ValueType::kJsonb:
      return HashBytes(map::CanonicalJsonText(col.BytesAt(row)), seed);
    default:
      if (IsFixedWidth(col.type())) return HashInt(col.IntAt(row), seed);
      return HashBytes(col.BytesAt(row), seed);
  }
}

uint64_t RowHasher::RowHash(const RowBatch& batch, size_t row,
                            std::vector<uint64_t>* column_hashes) const {
  column_hashes->resize(batch.columns.size());
  for (size_t c = 0; c < batch.columns.size(); ++c) {
    (*column_hashes)[c] = ColumnHash(batch.columns[c], row, static_cast<int>(c));
  }
  return XXH3_64bits(column_hashes->data(), column_hashes->size() * sizeof(uint64_t));
}

uint64_t RowHasher::KeyHash(const RowBatch& batch, size_t row) const {
  uint64_t h[8];
  size_t n = std::min<size_t>(key_columns_.size(), 8);
  for (size_t i = 0; i < n; ++i) {
    h[i] = ColumnHash(batch.columns[key_columns_[i]], row, key_columns_[i]);
  }
  return XXH3_64bits(h, n * sizeof(uint64_t));
}

uint64_t RowHasher::KeyHash(const std::vector<uint64_t>& column_hashes) const {
  uint64_t h[8];
  size_t n = std::min<size_t>(key_columns_.size(), 8);
  for (size_t i = 0; i < n; ++i) h[i] = column_hashes[key_columns_[i]];
  return XXH3_64bits(h, n * sizeof(uint64_t));
}

std::string RowHasher::KeyText(const RowBatch& batch, size_t row) const {
  std::string out;
  for (size_t i = 0; i < key_columns_.size(); ++i) {
    if (i) out += ",";
    out += key_names_[i] + "=" + ValueText(batch.columns[key_columns_[i]], row);
  }
  return out;
}

}  // namespace cutover::engine
