// AppendNumericText: the digit groups of a binary numeric walked from its
// weight down to its display scale, zero groups filled in where not stored.
#include "stores/postgres/numeric_binary.h"

#include <cstring>

#include <fmt/format.h>

namespace cutover::pg_store {
namespace {

constexpr uint16_t kPositive = 0x0000;
constexpr uint16_t kNegative = 0x4000;
constexpr uint16_t kNaN = 0xC000;
constexpr uint16_t kPlusInfinity = 0xD000;
constexpr uint16_t kMinusInfinity = 0xF000;
constexpr int kDigitsPerGroup = 4;  // each int16 digit is 0..9999

uint16_t Read16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}

// Appends `group` as exactly four decimal digits.
void AppendGroup(uint16_t group, std::string* out) {
  const char digits[4] = {
      static_cast<char>('0' + group / 1000), static_cast<char>('0' + group / 100 % 10),
      static_cast<char>('0' + group / 10 % 10), static_cast<char>('0' + group % 10)};
  out->append(digits, 4);
}

}  // namespace

Status AppendNumericText(const char* p, uint32_t len, std::string* out) {
  if (len < 8) return Internal(fmt::format("binary numeric of {} bytes, at least 8 expected", len));
  const int ndigits = static_cast<int16_t>(Read16(p));
  const int weight = static_cast<int16_t>(Read16(p + 2));
  const uint16_t sign = Read16(p + 4);
  const int dscale = static_cast<int16_t>(Read16(p + 6));
  if (ndigits < 0 || dscale < 0 || len != 8 + 2 * static_cast<uint32_t>(ndigits)) {
    return Internal(
        fmt::format("binary numeric: {} digits and scale {} in {} bytes", ndigits, dscale, len));
  }
  switch (sign) {
    case kNaN:
      out->append("NaN");
      return Status::Ok();
    case kPlusInfinity:
      out->append("Infinity");
      return Status::Ok();
    case kMinusInfinity:
      out->append("-Infinity");
      return Status::Ok();
    case kPositive:
    case kNegative:
      break;
    default:
      return Internal(fmt::format("binary numeric: unknown sign {:#x}", sign));
  }
  const char* digits = p + 8;
  // Group i is worth 10000^(weight - i); groups outside 0..ndigits-1 are zero.
  auto group = [&](int i) -> uint16_t {
    return i < 0 || i >= ndigits ? 0 : Read16(digits + 2 * i);
  };
  for (int i = 0; i < ndigits; ++i) {
    if (group(i) > 9999) return Internal("binary numeric: a digit group above 9999");
  }
  if (sign == kNegative && ndigits > 0) out->push_back('-');
  if (weight < 0) {
    out->push_back('0');
  } else {
    // The leading group without its leading zeros, the rest in full.
    out->append(std::to_string(group(0)));
    for (int i = 1; i <= weight; ++i) AppendGroup(group(i), out);
  }
  if (dscale > 0) {
    out->push_back('.');
    const size_t fraction_begin = out->size();
    for (int i = weight + 1; static_cast<int>(out->size() - fraction_begin) < dscale; ++i) {
      AppendGroup(group(i), out);
    }
    out->resize(fraction_begin + dscale);
  }
  return Status::Ok();
}

}  // namespace cutover::pg_store
