// ValueText and the formatters behind it: a typed value as the canonical text
// a key, a message or a legacy record shows it.
#include "common/value_text.h"

#include <cstdio>

#include <fmt/format.h>

#include "common/civil_calendar.h"

namespace cutover {

std::string FormatTimestamptz(int64_t micros) {
  // Floor division, written so INT64_MIN does not overflow.
  int64_t days = micros / kMicrosPerDay;
  int64_t rem = micros % kMicrosPerDay;
  if (rem < 0) {
    rem += kMicrosPerDay;
    --days;
  }
  const Civil c = CivilFromDays(days + kUnixToPgDays);
  const int64_t secs = rem / kMicrosPerSecond;
  const int64_t frac = rem % kMicrosPerSecond;
  char buf[64];
  int n =
      std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:%02d",
                    static_cast<long long>(c.year), c.month, c.day, static_cast<int>(secs / 3600),
                    static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  if (frac != 0) {
    n += std::snprintf(buf + n, sizeof(buf) - n, ".%06lld", static_cast<long long>(frac));
  }
  std::snprintf(buf + n, sizeof(buf) - n, "Z");
  return buf;
}

std::string FormatDate(int32_t days) {
  const Civil c = CivilFromDays(static_cast<int64_t>(days) + kUnixToPgDays);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02d", static_cast<long long>(c.year), c.month,
                c.day);
  return buf;
}

std::string FormatUuid(const uint8_t* bytes16) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes16[i] >> 4];
    out += kHex[bytes16[i] & 0xF];
  }
  return out;
}

std::string ValueText(const Column& col, size_t row) {
  if (col.IsNull(row)) return "NULL";
  switch (col.type()) {
    case ValueType::kInt32:
    case ValueType::kInt64:
      return std::to_string(col.IntAt(row));
    case ValueType::kFloat64:
      return fmt::format("{}", col.FloatAt(row));  // shortest text that reads back exactly
    case ValueType::kBool:
      return col.BoolAt(row) ? "true" : "false";
    case ValueType::kDate:
      return FormatDate(static_cast<int32_t>(col.IntAt(row)));
    case ValueType::kTimestamptz:
      return FormatTimestamptz(col.IntAt(row));
    case ValueType::kUuid:
      return FormatUuid(reinterpret_cast<const uint8_t*>(col.BytesAt(row).data()));
    default:
      return std::string(col.BytesAt(row));
  }
}

}  // namespace cutover
