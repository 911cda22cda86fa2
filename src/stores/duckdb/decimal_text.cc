// Scaled 128-bit integer -> canonical decimal text, digit by digit, without
// a detour through floating point.
#include "stores/duckdb/decimal_text.h"

#include <cstdint>

namespace cutover::duckdb_store {

void AppendUnsignedText(UInt128 value, std::string* out) {
  char buf[40];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + static_cast<int>(value % 10));
    value /= 10;
  } while (value != 0);
  while (n > 0) out->push_back(buf[--n]);
}

void AppendDecimalText(Int128 value, int scale, std::string* out) {
  const bool negative = value < 0;
  // The magnitude of the most negative 128-bit value still fits unsigned.
  UInt128 magnitude =
      negative ? UInt128{0} - static_cast<UInt128>(value) : static_cast<UInt128>(value);
  char digits[80];  // 39 digits, padded up to scale + 1
  int n = 0;
  // 128-bit division is a library call; nearly every decimal fits 64 bits.
  if (magnitude <= UINT64_MAX) {
    uint64_t small = static_cast<uint64_t>(magnitude);
    do {
      digits[n++] = static_cast<char>('0' + static_cast<int>(small % 10));
      small /= 10;
    } while (small != 0);
  } else {
    do {
      digits[n++] = static_cast<char>('0' + static_cast<int>(magnitude % 10));
      magnitude /= 10;
    } while (magnitude != 0);
  }
  while (n <= scale) digits[n++] = '0';  // at least one digit before the point
  // digits[] is least significant first.
  if (negative) out->push_back('-');
  for (int i = n - 1; i >= scale; --i) out->push_back(digits[i]);
  if (scale > 0) {
    out->push_back('.');
    for (int i = scale - 1; i >= 0; --i) out->push_back(digits[i]);
  }
}

}  // namespace cutover::duckdb_store
