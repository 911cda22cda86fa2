#include "stores/postgres/copy_encoder.h"

#include <bit>
#include <cstring>
#include <vector>

namespace cutover::pg_store {
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
    case ValueType::kNumeric: {
      const size_t len_at = out->size();
      PutBE32(out, 0);
      EncodeNumeric(col.BytesAt(row), out);
      uint32_t len = __builtin_bswap32(static_cast<uint32_t>(out->size() - len_at - 4));
      std::memcpy(out->data() + len_at, &len, 4);
      return;
    }
    case ValueType::kText:
    case ValueType::kUuid:
    case ValueType::kBytes:
    case ValueType::kGeometry: {  // EWKB is PostGIS geometry's binary form
      std::string_view v = col.BytesAt(row);
      PutBE32(out, static_cast<uint32_t>(v.size()));
      out->append(v);
      return;
    }
  }
}

}  // namespace

void EncodeNumeric(std::string_view text, std::string* out) {
  constexpr uint16_t kPositive = 0x0000, kNegative = 0x4000, kNaN = 0xC000;
  if (text == "NaN") {
    for (uint16_t v : {uint16_t{0}, uint16_t{0}, kNaN, uint16_t{0}}) PutBE16(out, v);
    return;
  }
  uint16_t sign = kPositive;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    sign = text[0] == '-' ? kNegative : kPositive;
    text.remove_prefix(1);
  }
  const size_t dot = text.find('.');
  std::string_view int_part = text.substr(0, dot);
  std::string_view frac_part = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  const uint16_t dscale = static_cast<uint16_t>(frac_part.size());
  // Pad both parts to whole groups of four decimal digits around the point.
  std::string digits((4 - int_part.size() % 4) % 4, '0');
  digits.append(int_part);
  const size_t int_groups = digits.size() / 4;
  digits.append(frac_part);
  digits.append((4 - frac_part.size() % 4) % 4, '0');
  std::vector<uint16_t> groups(digits.size() / 4);
  for (size_t g = 0; g < groups.size(); ++g) {
    uint16_t v = 0;
    for (size_t k = 0; k < 4; ++k) v = v * 10 + (digits[g * 4 + k] - '0');
    groups[g] = v;
  }
  int weight = static_cast<int>(int_groups) - 1;
  size_t first = 0;
  while (first < groups.size() && groups[first] == 0) {
    ++first;
    --weight;
  }
  size_t last = groups.size();
  while (last > first && groups[last - 1] == 0) --last;
  if (first == last) {  // zero
    weight = 0;
    sign = kPositive;
  }
  PutBE16(out, static_cast<uint16_t>(last - first));
  PutBE16(out, static_cast<uint16_t>(static_cast<int16_t>(weight)));
  PutBE16(out, sign);
  PutBE16(out, dscale);
  for (size_t g = first; g < last; ++g) PutBE16(out, groups[g]);
}

void EncodeBinaryCopy(const RowBatch& batch, std::span<const int> column_order,
                      std::span<const uint32_t> rows, bool with_ordinal, std::string* out) {
  out->append(kSignature, sizeof(kSignature));
  PutBE32(out, 0);  // flags
  PutBE32(out, 0);  // header extension length
  const uint16_t fields = static_cast<uint16_t>(column_order.size() + (with_ordinal ? 1 : 0));
  for (uint32_t row : rows) {
    PutBE16(out, fields);
    if (with_ordinal) {
      PutBE32(out, 8);
      PutBE64(out, row);
    }
    for (int c : column_order) PutValue(batch.columns[c], row, out);
  }
  PutBE16(out, 0xFFFF);  // trailer
}

}  // namespace cutover::pg_store
