#include "target/copy_encoder.h"

#include <bit>
#include <cstring>

namespace cutover::target {
namespace {

constexpr char kSignature[] = "PGCOPY\n\377\r\n";  // 11 bytes with the NUL

inline void PutBE16(std::string* out, uint16_t v) {
  v = __builtin_bswap16(v);
  out->append(reinterpret_cast<const char*>(&v), 2);
}
inline void PutBE32(std::string* out, uint32_t v) {
  v = __builtin_bswap32(v);
  out->append(reinterpret_cast<const char*>(&v), 4);
}
inline void PutBE64(std::string* out, uint64_t v) {
  v = __builtin_bswap64(v);
  out->append(reinterpret_cast<const char*>(&v), 8);
}

void PutValue(const Column& col, uint32_t row, std::string* out) {
  if (col.IsNull(row)) {
    PutBE32(out, 0xFFFFFFFFu);  // -1: NULL
    return;
  }
  switch (col.type()) {
    case ValueType::kInt32:
    case ValueType::kDate:
      PutBE32(out, 4);
      PutBE32(out, static_cast<uint32_t>(col.IntAt(row)));
      return;
    case ValueType::kInt64:
    case ValueType::kFloat64:
    case ValueType::kTimestamptz:
      PutBE32(out, 8);
      PutBE64(out, static_cast<uint64_t>(col.IntAt(row)));
      return;
    case ValueType::kBool:
      PutBE32(out, 1);
      out->push_back(col.BoolAt(row) ? 1 : 0);
      return;
    case ValueType::kJsonb: {
      std::string_view v = col.BytesAt(row);
      PutBE32(out, static_cast<uint32_t>(v.size() + 1));
      out->push_back(1);  // jsonb binary format version
      out->append(v);
      return;
    }
    case ValueType::kText:
    case ValueType::kNumeric:
    case ValueType::kUuid: {
      std::string_view v = col.BytesAt(row);
      PutBE32(out, static_cast<uint32_t>(v.size()));
      out->append(v);
      return;
    }
  }
}

}  // namespace

void EncodeBinaryCopy(const RowBatch& batch, std::span<const int> column_order,
                      std::span<const uint32_t> rows, std::string* out) {
  out->append(kSignature, sizeof(kSignature));
  PutBE32(out, 0);  // flags
  PutBE32(out, 0);  // header extension length
  const uint16_t fields = static_cast<uint16_t>(column_order.size() + 1);
  for (uint32_t row : rows) {
    PutBE16(out, fields);
    PutBE32(out, 8);
    PutBE64(out, row);
    for (int c : column_order) PutValue(batch.columns[c], row, out);
  }
  PutBE16(out, 0xFFFF);  // trailer
}

}  // namespace cutover::target
