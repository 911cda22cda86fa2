// NumericOrderBytes and RankOf: keep_last_by values encoded so that their
// bytes sort as the values do.
#include "engine/verify/order_bytes.h"

#include <cstdint>

#include "map/value_parsers.h"

namespace cutover::engine::verify {

std::string NumericOrderBytes(std::string_view text) {
  if (text == "-Infinity") return std::string(1, '\x00');
  if (text == "Infinity") return std::string(1, '\x04');
  auto canonical = map::CanonicalNumeric(text);
  if (!canonical.ok() || *canonical == "NaN") return std::string(1, '\x05');
  std::string_view v = *canonical;
  if (v == "0") return std::string(1, '\x02');
  const bool negative = v.front() == '-';
  if (negative) v.remove_prefix(1);
  const size_t dot = v.find('.');
  const std::string_view int_part = v.substr(0, dot);
  const std::string_view frac_part = dot == std::string_view::npos ? "" : v.substr(dot + 1);
  std::string digits;
  int32_t exponent = 0;
  if (int_part != "0") {
    exponent = static_cast<int32_t>(int_part.size());
    digits.append(int_part).append(frac_part);
  } else {
    const size_t lead = frac_part.find_first_not_of('0');
    exponent = -static_cast<int32_t>(lead);
    digits.append(frac_part.substr(lead));
  }
  digits.erase(digits.find_last_not_of('0') + 1);
  std::string body;
  const uint32_t biased = static_cast<uint32_t>(exponent) ^ (uint32_t{1} << 31);
  for (int shift = 24; shift >= 0; shift -= 8) body.push_back(static_cast<char>(biased >> shift));
  body.append(digits);
  body.push_back('\0');  // a shorter digit string is the smaller value
  if (negative) {
    for (char& c : body) c = static_cast<char>(~static_cast<unsigned char>(c));
  }
  return (negative ? std::string(1, '\x01') : std::string(1, '\x03')) + body;
}

std::string RankOf(const RowBatch& batch, size_t row, const std::vector<int>& columns) {
  std::string out;
  for (int c : columns) {
    const Column& col = batch.columns[c];
    if (col.IsNull(row)) {
      out.push_back('\0');
      continue;
    }
    out.push_back('\1');
    uint64_t bits = 0;
    switch (col.type()) {
      case ValueType::kFloat64:
        bits = static_cast<uint64_t>(col.IntAt(row));
        bits = (bits >> 63) ? ~bits : bits | (uint64_t{1} << 63);
        break;
      case ValueType::kNumeric:
        out.append(NumericOrderBytes(col.BytesAt(row)));
        continue;
      case ValueType::kText:
        out.append(col.BytesAt(row));
        out.push_back('\0');
        continue;
      default:
        bits = static_cast<uint64_t>(col.IntAt(row)) ^ (uint64_t{1} << 63);
    }
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(bits >> shift));
  }
  return out;
}

}  // namespace cutover::engine::verify
