// IoTDB's data types, time precisions and one point's value in the canonical
// text that both ways in (REST and the export tool's CSV) reduce to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cutover::iotdb_store {

// Every TSDataType a tree-model series can have.
enum class IotdbType {
  kBoolean,
  kInt32,
  kInt64,
  kFloat,
  kDouble,
  kText,
  kString,
  kBlob,
  kTimestamp,
  kDate,
};

// "BOOLEAN", "INT32", ... as IoTDB spells them.
std::string_view IotdbTypeName(IotdbType type);
// The type named `name`, matched without regard to case; nullopt when IoTDB
// has no such type.
std::optional<IotdbType> ParseIotdbType(std::string_view name);

// The server's timestamp_precision: every time (and TIMESTAMP value) is an
// integer count of these units since the Unix epoch.
enum class TimePrecision { kMs, kUs, kNs };
// "ms", "us", "ns".
std::string_view PrecisionName(TimePrecision precision);
// Fraction digits of one unit: 3, 6, 9.
int PrecisionDigits(TimePrecision precision);

// Canonical value design
//
// A point reaches cutover as a REST JSON value or an export CSV cell, whose
// spellings differ (REST gives a BLOB as "0xcafe", CSV as 0xcafe; REST a
// DOUBLE as a JSON number, CSV as Java's "1.2345678E7"; REST a DATE as
// "2025-07-14" or, before its change #15917, 20250714). Both readers reduce a value to
// one canonical text per type, so the same data read either way makes the
// same document, byte for byte, and so the same rows:
//   BOOLEAN            "true" / "false"
//   INT32, INT64       the decimal integer, exact (never through a double)
//   TIMESTAMP          the decimal integer, in the source's precision
//   FLOAT, DOUBLE      the shortest text that reads back as the same double
//                      (std::to_chars), or "NaN", "Infinity", "-Infinity"
//   TEXT, STRING       the text itself, unescaped and unquoted (bytes)
//   BLOB               the raw bytes (decoded from hex)
//   DATE               "yyyy-mm-dd"
// A FLOAT is widened to a double before it is printed: IoTDB prints a FLOAT
// by its own shortest text ("1.41"), which reads as the double 1.41, and
// that is what both readers keep.
struct IotdbValue {
  IotdbType type = IotdbType::kText;
  std::string text;  // canonical, as above
};

// The canonical value of a CSV cell or a REST string/number written as
// `raw` (already unescaped; TEXT/STRING still in the quotes the export tool
// adds, which are removed here). A DataError names the type and the text
// when `raw` is no value of `type`. `precision` reads a TIMESTAMP value
// (an integer, or ISO 8601 as ParseIotdbTime reads it).
Result<IotdbValue> CanonicalValue(IotdbType type, std::string_view raw, TimePrecision precision);

// The canonical text of a double: shortest round-trip form, or "NaN",
// "Infinity", "-Infinity".
std::string CanonicalDouble(double value);

// `epoch` units of `precision` since the Unix epoch as ISO 8601 in UTC with
// exactly the precision's fraction digits: "2024-01-01T00:00:00.123456Z".
std::string IsoTime(int64_t epoch, TimePrecision precision);

// The epoch of an IoTDB time: an integer (already in `precision`), or ISO
// 8601 with a UTC offset ("1970-01-01T08:00:00.001+08:00", "...Z") whose
// fraction has no more digits than the precision keeps. DataError otherwise.
Result<int64_t> ParseIotdbTime(std::string_view text, TimePrecision precision);

}  // namespace cutover::iotdb_store
