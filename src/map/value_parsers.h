// Exact text -> typed value parsers: turn source text into the binary forms
// PostgreSQL's binary COPY uses, and format those forms back for messages.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/time_zone.h"
#include "common/value_text.h"

namespace cutover::map {

// All parsers are pure functions, thread-safe, and never throw. They are
// deliberately strict: no surrounding whitespace, no locale, no lossy
// round trip through double. A failure is a DataError whose message names
// the input (quoted, truncated to 64 bytes, non-printables escaped) and what
// was wrong with it, so a rejected row can be explained without a debugger.
//
// Epochs follow PostgreSQL: dates are days since 2000-01-01 and timestamps
// are microseconds since 2000-01-01 00:00:00 UTC. Dates and timestamps are
// limited to years 0001..9999 so every accepted value round-trips through
// ISO 8601 text.

// Optional '+' or '-', then one or more ASCII digits; leading zeros allowed.
Result<int64_t> ParseInt64(std::string_view text);
Result<int32_t> ParseInt32(std::string_view text);

// For JSON numbers such as 3.0: accepts `v` only when it is integral and in
// range for int32 (when `int32`) or int64. -0.0 becomes 0.
Result<int64_t> Int64FromDouble(double v, bool int32);

// Decimal with optional exponent, correctly rounded. Also "NaN", "Infinity",
// "inf" with an optional sign on the infinities (case-insensitive). Values
// that overflow to infinity or underflow to zero are errors; denormals are
// accepted, as PostgreSQL does.
Result<double> ParseFloat64(std::string_view text);

// true/false/t/f/yes/no/y/n/on/off/1/0, case-insensitive.
Result<bool> ParseBool(std::string_view text);

// 8-4-4-4-12 hex (either case), 32 hex digits without dashes, or either form
// wrapped in {braces}.
Result<std::array<uint8_t, 16>> ParseUuid(std::string_view text);

// Validates a decimal ([sign] digits [. digits] [e|E [sign] digits], or
// ".5"-style) or "NaN" (case-insensitive) and returns canonical plain text:
// no exponent, no leading zeros, no trailing fractional zeros, "-0" -> "0",
// ".5" -> "0.5", "1e3" -> "1000", "NaN" for NaN. When an exponent is present
// the expanded result may hold at most 1000 digits, so "1e999999999" cannot
// make us allocate a gigabyte. Infinity is rejected: numeric infinity needs a
// special binary encoding the target does not produce.
Result<std::string> CanonicalNumeric(std::string_view text);
// Whether `text` is already what CanonicalNumeric returns for it, checked
// without allocating: the common case of decimals that DuckDB, PostgreSQL and
// the mappers print, which then need no copy.
bool IsCanonicalNumeric(std::string_view text);

// "YYYY-MM-DD" (year of four or more digits, then range-checked to
// 0001..9999), with real calendar validation. Returns days since 2000-01-01.
Result<int32_t> ParseDate(std::string_view text);

// ISO 8601 / RFC 3339 subset:
//   YYYY-MM-DD
//   YYYY-MM-DD<sep>HH:MM[:SS[.f]][zone]
// <sep> is 'T', 't' or ' '; f is 1..9 digits; zone is 'Z', 'z', +-HH:MM,
// +-HHMM or +-HH (hours 00..15). Fractions finer than a microsecond are
// rounded half to even (as PostgreSQL's rint() does), which may carry into
// the next second. Hour 24 and leap second 60 are rejected. Both the written
// local time and the resulting UTC instant must lie in years 0001..9999.
//
// A value without a zone (a date alone is its midnight) is a wall-clock time
// in `local_zone`, the zone the spec names for the column or its source. With
// no zone named it is an error, never read as UTC: which clock the source
// meant is not ours to guess. A wall-clock time that does not exist in the
// zone (skipped when clocks go forward) or exists twice (when they go back)
// is an error naming the zone and the offsets around the change.
Result<int64_t> ParseTimestamptz(std::string_view text, const TimeZone* local_zone = nullptr);

// A wall-clock time written as microseconds since 2000-01-01 00:00 (as if
// UTC: a Parquet TIMESTAMP without isAdjustedToUTC, a DATE's midnight) ->
// microseconds since 2000-01-01 UTC, by `zone`, with ParseTimestamptz's rules
// for times that do not exist or exist twice.
Result<int64_t> TimestampFromWallClock(int64_t local_micros, const TimeZone& zone);

// Unix epoch seconds (or milliseconds when `millis`) -> microseconds since
// 2000-01-01, range-checked to years 0001..9999 UTC.
Result<int64_t> TimestampFromEpoch(int64_t value, bool millis);

// As TimestampFromEpoch, from text: an integer, or a plain decimal with a
// fraction ("1700000000.5"; for milliseconds too). Digits beyond the
// microsecond are rounded half to even. No exponent, no whitespace.
Result<int64_t> TimestampFromEpochText(std::string_view text, bool millis);

// The formatters live in common/value_text.h; map's callers name them here.
using cutover::FormatDate;
using cutover::FormatTimestamptz;
using cutover::FormatUuid;

// PostgreSQL text cannot hold NUL, so callers reject such values up front.
bool HasNulByte(std::string_view text);

}  // namespace cutover::map
