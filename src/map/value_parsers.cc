// Exact text -> typed value parsers: strict hand-written grammars, with
// std::from_chars doing the arithmetic so no value passes through a locale.
#include "map/value_parsers.h"

#include "common/civil_calendar.h"
#include "common/message_quote.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <system_error>

namespace cutover::map {
namespace {

// Supported range, years 0001..9999 UTC, in PostgreSQL units.
constexpr int64_t kMinPgDays = DaysFromCivil(1, 1, 1) - kUnixToPgDays;
constexpr int64_t kMaxPgDays = DaysFromCivil(9999, 12, 31) - kUnixToPgDays;
constexpr int64_t kMinPgMicros = kMinPgDays * kMicrosPerDay;
constexpr int64_t kMaxPgMicros = (kMaxPgDays + 1) * kMicrosPerDay - 1;
constexpr int64_t kMinUnixMicros = kMinPgMicros + kUnixToPgMicros;
constexpr int64_t kMaxUnixMicros = kMaxPgMicros + kUnixToPgMicros;

bool IsLeapYear(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

char ToLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != lower[i]) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = ToLower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string Quote(std::string_view text) {
  return QuoteForMessage(text, '\'');
}

// A lone byte of a multi-byte UTF-8 character is escaped too, so the message
// stays valid UTF-8.
std::string QuoteChar(char c) {
  const auto b = static_cast<unsigned char>(c);
  if (b < 0x80) return Quote(std::string_view(&c, 1));
  char buf[8];
  std::snprintf(buf, sizeof(buf), "'\\x%02x'", b);
  return buf;
}

// Names the character at `pos` for a message, or says the input ended.
std::string Where(std::string_view text, size_t pos) {
  if (pos >= text.size()) return "end of input";
  return QuoteChar(text[pos]) + " at offset " + std::to_string(pos);
}

std::string DoubleText(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

// Reads exactly `n` digits at `*pos`.
bool ReadFixedDigits(std::string_view s, size_t* pos, int n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

// Rounds the decimal fraction 0.`digits` to a whole number of 10^-keep units,
// half to even, looking at every dropped digit so 0.50000001 rounds up. The
// result may equal 10^keep, a carry the caller adds to the whole part.
int64_t RoundFraction(std::string_view digits, int keep) {
  int64_t units = 0;
  for (int i = 0; i < keep; ++i) {
    units = units * 10 + (static_cast<size_t>(i) < digits.size() ? digits[i] - '0' : 0);
  }
  if (digits.size() <= static_cast<size_t>(keep)) return units;
  const int first_dropped = digits[keep] - '0';
  const bool rest_nonzero =
      digits.find_first_not_of('0', static_cast<size_t>(keep) + 1) != std::string_view::npos;
  if (first_dropped > 5 || (first_dropped == 5 && (rest_nonzero || units % 2 == 1))) ++units;
  return units;
}

Result<int64_t> ParseBoundedInt(std::string_view text, int64_t min, int64_t max,
                                std::string_view type_label) {
  if (text.empty()) return DataError("invalid integer '': empty");
  size_t digits_at = 0;
  if (text[0] == '+' || text[0] == '-') digits_at = 1;
  if (digits_at == text.size()) return DataError("invalid integer " + Quote(text) + ": no digits");
  for (size_t i = digits_at; i < text.size(); ++i) {
    if (!IsDigit(text[i])) {
      return DataError("invalid integer " + Quote(text) + ": unexpected " + Where(text, i) +
                       "; expected an optional sign and digits only");
    }
  }
  // from_chars takes '-' but not '+'.
  const size_t from = text[0] == '+' ? 1 : 0;
  int64_t v = 0;
  auto r = std::from_chars(text.data() + from, text.data() + text.size(), v);
  if (r.ec == std::errc::result_out_of_range || (r.ec == std::errc() && (v < min || v > max))) {
    return DataError("integer out of range for " + std::string(type_label) + ": " + Quote(text));
  }
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
    return DataError("invalid integer " + Quote(text));
  }
  return v;
}

constexpr std::string_view kInt32Label = "integer (int4)";
constexpr std::string_view kInt64Label = "bigint (int8)";

// The shape of a decimal literal, as scanned by ScanDecimal.
struct DecimalParts {
  bool negative = false;
  std::string_view int_digits;
  std::string_view frac_digits;
  bool has_exponent = false;
  // Saturated at +-kExponentCap: beyond that every use is out of range anyway.
  int64_t exponent = 0;
};

constexpr int64_t kExponentCap = int64_t{1} << 40;

// [sign] (digits [. [digits]] | . digits) [(e|E) [sign] digits], whole input.
// Returns an empty string on success, else the reason.
std::string ScanDecimal(std::string_view s, bool allow_exponent, DecimalParts* out) {
  if (s.empty()) return "empty";
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') {
    out->negative = s[0] == '-';
    i = 1;
  }
  const size_t int_start = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  out->int_digits = s.substr(int_start, i - int_start);
  if (i < s.size() && s[i] == '.') {
    const size_t frac_start = ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    out->frac_digits = s.substr(frac_start, i - frac_start);
  }
  if (out->int_digits.empty() && out->frac_digits.empty()) {
    return "expected digits, found " + Where(s, i);
  }
  if (allow_exponent && i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      exp_negative = s[i] == '-';
      ++i;
    }
    if (i == s.size() || !IsDigit(s[i])) return "exponent has no digits";
    int64_t e = 0;
    while (i < s.size() && IsDigit(s[i])) {
      e = std::min(e * 10 + (s[i] - '0'), kExponentCap);
      ++i;
    }
    out->has_exponent = true;
    out->exponent = exp_negative ? -e : e;
  }
  if (i != s.size()) return "unexpected " + Where(s, i);
  return "";
}

// Checks the calendar fields and returns PostgreSQL days. `what` is "date" or
// "timestamp", for the message.
Result<int64_t> ValidateYmd(std::string_view text, std::string_view what, int64_t year, int month,
                            int day) {
  if (year < 1 || year > 9999) {
    return DataError(std::string(what) + " out of range: year " + std::to_string(year) + " in " +
                     Quote(text) + " (years 0001..9999 are supported)");
  }
  if (month < 1 || month > 12) {
    return DataError("invalid " + std::string(what) + " " + Quote(text) + ": month " +
                     std::to_string(month) + " out of range");
  }
  if (day < 1 || day > DaysInMonth(year, month)) {
    char ym[16];
    std::snprintf(ym, sizeof(ym), "%04d-%02d", static_cast<int>(year), month);
    return DataError("invalid " + std::string(what) + " " + Quote(text) + ": day " +
                     std::to_string(day) + " out of range for " + ym);
  }
  return DaysFromCivil(year, month, day) - kUnixToPgDays;
}

// Parses "YYYY-MM-DD" (four or more year digits) at the start of `text`,
// leaving `*pos` just after it.
Result<int64_t> ParseYmdPrefix(std::string_view text, std::string_view what, size_t* pos) {
  // Built only on failure: every date and timestamp read passes here.
  const auto bad_shape = [&] {
    return "invalid " + std::string(what) + " " + Quote(text) + ": expected YYYY-MM-DD";
  };
  size_t i = 0;
  int64_t year = 0;
  while (i < text.size() && IsDigit(text[i])) {
    // Saturate: a 30-digit year is just "out of range", not an overflow.
    year = std::min<int64_t>(year * 10 + (text[i] - '0'), 1'000'000'000);
    ++i;
  }
  if (i < 4) return DataError(bad_shape());
  int month = 0;
  int day = 0;
  if (i >= text.size() || text[i] != '-') return DataError(bad_shape());
  ++i;
  if (!ReadFixedDigits(text, &i, 2, &month)) return DataError(bad_shape());
  if (i >= text.size() || text[i] != '-') return DataError(bad_shape());
  ++i;
  if (!ReadFixedDigits(text, &i, 2, &day)) return DataError(bad_shape());
  // A third day digit ("2024-01-011") is a malformed date, not trailing junk.
  if (i < text.size() && IsDigit(text[i])) return DataError(bad_shape());
  *pos = i;
  return ValidateYmd(text, what, year, month, day);
}

Status EpochOutOfRange(std::string_view value_text, bool millis) {
  return DataError("timestamp out of range: " + std::string(value_text) +
                   (millis ? " epoch milliseconds" : " epoch seconds") +
                   " is outside years 0001..9999");
}

std::string OffsetText(int32_t seconds) {
  const char sign = seconds < 0 ? '-' : '+';
  const int32_t magnitude = seconds < 0 ? -seconds : seconds;
  char buf[24];
  if (magnitude % 60 != 0) {
    std::snprintf(buf, sizeof(buf), "UTC%c%02d:%02d:%02d", sign, magnitude / 3600,
                  magnitude / 60 % 60, magnitude % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "UTC%c%02d:%02d", sign, magnitude / 3600, magnitude / 60 % 60);
  }
  return buf;
}

// Wall-clock microseconds since 2000-01-01 (as if UTC) -> the UTC instant in
// `zone`. `text` is the value as written, for messages.
Result<int64_t> FromWallClock(std::string_view text, int64_t local_micros, const TimeZone* zone) {
  if (zone == nullptr) {
    return DataError("timestamp " + Quote(text) +
                     " has no UTC offset and no time zone is set for it; name the zone its clock "
                     "shows with 'timezone:' on the column or its source (e.g. Europe/Berlin, or "
                     "UTC), so that it is not guessed");
  }
  // Floor to whole seconds; the zone works in seconds, the fraction rides along.
  int64_t local_seconds = local_micros / kMicrosPerSecond;
  int64_t fraction = local_micros % kMicrosPerSecond;
  if (fraction < 0) {
    fraction += kMicrosPerSecond;
    --local_seconds;
  }
  const auto r = zone->FromLocal(local_seconds + kUnixToPgMicros / kMicrosPerSecond);
  if (r.kind == TimeZone::LocalResult::kGap) {
    return DataError("timestamp " + Quote(text) + " does not exist in " + zone->name() +
                     ": clocks there jumped from " + OffsetText(r.offset_before) + " to " +
                     OffsetText(r.offset_after) + " over that time");
  }
  if (r.kind == TimeZone::LocalResult::kAmbiguous) {
    return DataError("timestamp " + Quote(text) + " happened twice in " + zone->name() + " (at " +
                     OffsetText(r.offset_before) + " and at " + OffsetText(r.offset_after) +
                     "); only a UTC offset in the value can say which");
  }
  const int64_t micros =
      (r.utc_seconds - kUnixToPgMicros / kMicrosPerSecond) * kMicrosPerSecond + fraction;
  if (micros < kMinPgMicros || micros > kMaxPgMicros) {
    return DataError("timestamp out of range: " + Quote(text) + " in " + zone->name() +
                     " is outside 0001-01-01..9999-12-31 UTC");
  }
  return micros;
}

}  // namespace

Result<int64_t> TimestampFromWallClock(int64_t local_micros, const TimeZone& zone) {
  if (local_micros < kMinPgMicros || local_micros > kMaxPgMicros) {
    return DataError("timestamp out of range: " + FormatTimestamptz(local_micros) +
                     " is outside years 0001..9999");
  }
  std::string written = FormatTimestamptz(local_micros);
  written.pop_back();  // no 'Z': it is a wall-clock time
  written[10] = ' ';
  return FromWallClock(written, local_micros, &zone);
}

Result<int64_t> ParseInt64(std::string_view text) {
  return ParseBoundedInt(text, std::numeric_limits<int64_t>::min(),
                         std::numeric_limits<int64_t>::max(), kInt64Label);
}

Result<int32_t> ParseInt32(std::string_view text) {
  ASSIGN_OR_RETURN(int64_t v, ParseBoundedInt(text, std::numeric_limits<int32_t>::min(),
                                              std::numeric_limits<int32_t>::max(), kInt32Label));
  return static_cast<int32_t>(v);
}

Result<int64_t> Int64FromDouble(double v, bool int32) {
  if (!std::isfinite(v) || std::trunc(v) != v) {
    return DataError("not an integer: " + DoubleText(v));
  }
  // 2^63 is exactly representable; INT64_MAX is not, so compare against 2^63.
  const bool in_range = int32 ? (v >= -2147483648.0 && v <= 2147483647.0)
                              : (v >= -9223372036854775808.0 && v < 9223372036854775808.0);
  if (!in_range) {
    return DataError("integer out of range for " + std::string(int32 ? kInt32Label : kInt64Label) +
                     ": " + DoubleText(v));
  }
  return static_cast<int64_t>(v);  // -0.0 converts to 0.
}

Result<double> ParseFloat64(std::string_view text) {
  std::string_view body = text;
  bool negative = false;
  bool has_sign = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    has_sign = true;
    body.remove_prefix(1);
  }
  if (EqualsIgnoreCase(body, "infinity") || EqualsIgnoreCase(body, "inf")) {
    const double inf = std::numeric_limits<double>::infinity();
    return negative ? -inf : inf;
  }
  if (!has_sign && EqualsIgnoreCase(body, "nan")) return std::numeric_limits<double>::quiet_NaN();

  DecimalParts parts;
  const std::string reason = ScanDecimal(text, /*allow_exponent=*/true, &parts);
  if (!reason.empty()) return DataError("invalid float " + Quote(text) + ": " + reason);

  const size_t from = text[0] == '+' ? 1 : 0;
  double v = 0;
  auto r =
      std::from_chars(text.data() + from, text.data() + text.size(), v, std::chars_format::general);
  if (r.ec == std::errc::result_out_of_range) {
    // Tell overflow from underflow by the decimal order of the leading
    // nonzero digit; from_chars reports both the same way.
    const std::string digits = std::string(parts.int_digits) + std::string(parts.frac_digits);
    const size_t lead = std::min(digits.find_first_not_of('0'), digits.size());
    const int64_t order =
        static_cast<int64_t>(parts.int_digits.size()) - static_cast<int64_t>(lead) + parts.exponent;
    return DataError("float out of range for double precision: " + Quote(text) +
                     (order > 0 ? " overflows" : " underflows to zero"));
  }
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
    return DataError("invalid float " + Quote(text));
  }
  return v;
}

Result<bool> ParseBool(std::string_view text) {
  static constexpr std::string_view kTrue[] = {"true", "t", "yes", "y", "on", "1"};
  static constexpr std::string_view kFalse[] = {"false", "f", "no", "n", "off", "0"};
  for (std::string_view w : kTrue) {
    if (EqualsIgnoreCase(text, w)) return true;
  }
  for (std::string_view w : kFalse) {
    if (EqualsIgnoreCase(text, w)) return false;
  }
  return DataError("invalid boolean " + Quote(text) +
                   ": expected true/false, t/f, yes/no, y/n, on/off or 1/0");
}

Result<std::array<uint8_t, 16>> ParseUuid(std::string_view text) {
  std::string_view s = text;
  size_t offset = 0;  // of s within text, for messages
  if (!s.empty() && s.front() == '{') {
    if (s.size() < 2 || s.back() != '}') {
      return DataError("invalid uuid " + Quote(text) + ": '{' without closing '}'");
    }
    s = s.substr(1, s.size() - 2);
    offset = 1;
  } else if (!s.empty() && s.back() == '}') {
    return DataError("invalid uuid " + Quote(text) + ": '}' without opening '{'");
  }
  const bool dashed = s.size() == 36;
  if (!dashed && s.size() != 32) {
    return DataError("invalid uuid " + Quote(text) +
                     ": expected 32 hex digits, as 8-4-4-4-12 or without dashes");
  }
  std::array<uint8_t, 16> out{};
  int nibbles = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
      if (s[i] != '-') {
        return DataError("invalid uuid " + Quote(text) + ": expected '-' but found " +
                         Where(text, offset + i));
      }
      continue;
    }
    const int h = HexValue(s[i]);
    if (h < 0) {
      return DataError("invalid uuid " + Quote(text) + ": " + Where(text, offset + i) +
                       " is not a hex digit");
    }
    out[nibbles / 2] = static_cast<uint8_t>(out[nibbles / 2] << 4 | h);
    ++nibbles;
  }
  return out;
}

Result<std::string> CanonicalNumeric(std::string_view text) {
  if (EqualsIgnoreCase(text, "nan")) return std::string("NaN");
  DecimalParts parts;
  const std::string reason = ScanDecimal(text, /*allow_exponent=*/true, &parts);
  if (!reason.empty()) return DataError("invalid numeric " + Quote(text) + ": " + reason);

  // Value = 0.<digits> * 10^point: `point` counts digits before the decimal
  // point and may be negative (leading zeros after it) or exceed the digit
  // count (trailing zeros before it).
  std::string_view int_digits = parts.int_digits;
  std::string_view frac_digits = parts.frac_digits;
  int64_t point = static_cast<int64_t>(int_digits.size()) + parts.exponent;
  const size_t int_lead = int_digits.find_first_not_of('0');
  std::string digits;
  if (int_lead != std::string_view::npos) {
    digits.append(int_digits.substr(int_lead));
    digits.append(frac_digits);
    point -= static_cast<int64_t>(int_lead);
  } else {
    point -= static_cast<int64_t>(int_digits.size());
    const size_t frac_lead = frac_digits.find_first_not_of('0');
    if (frac_lead == std::string_view::npos) return std::string("0");
    digits.append(frac_digits.substr(frac_lead));
    point -= static_cast<int64_t>(frac_lead);
  }
  digits.erase(digits.find_last_not_of('0') + 1);

  const auto len = static_cast<int64_t>(digits.size());
  const int64_t out_digits = point <= 0 ? 1 - point + len : std::max(point, len);
  constexpr int64_t kMaxExpandedDigits = 1000;
  if (parts.has_exponent && out_digits > kMaxExpandedDigits) {
    return DataError("invalid numeric " + Quote(text) + ": exponent would expand to " +
                     std::to_string(out_digits) + " digits (limit " +
                     std::to_string(kMaxExpandedDigits) + ")");
  }

  std::string out;
  out.reserve(static_cast<size_t>(out_digits) + 2);
  if (parts.negative) out += '-';
  if (point <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-point), '0');
    out += digits;
  } else if (point >= len) {
    out += digits;
    out.append(static_cast<size_t>(point - len), '0');
  } else {
    out.append(digits, 0, static_cast<size_t>(point));
    out += '.';
    out.append(digits, static_cast<size_t>(point));
  }
  return out;
}

bool IsCanonicalNumeric(std::string_view text) {
  if (text == "NaN") return true;
  size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) ++i;
  const size_t int_begin = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  const size_t int_digits = i - int_begin;
  if (int_digits == 0 || (int_digits > 1 && text[int_begin] == '0')) return false;
  bool zero = int_digits == 1 && text[int_begin] == '0';
  if (i < text.size()) {
    if (text[i] != '.') return false;
    const size_t frac_begin = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      zero = zero && text[i] == '0';
      ++i;
    }
    if (i != text.size() || i == frac_begin || text[i - 1] == '0') return false;
  }
  return !(negative && zero);  // "-0" prints as "0"
}

Result<int32_t> ParseDate(std::string_view text) {
  size_t pos = 0;
  ASSIGN_OR_RETURN(int64_t days, ParseYmdPrefix(text, "date", &pos));
  if (pos != text.size()) {
    return DataError("invalid date " + Quote(text) + ": unexpected " + Where(text, pos) +
                     " after YYYY-MM-DD");
  }
  return static_cast<int32_t>(days);
}

Result<int64_t> ParseTimestamptz(std::string_view text, const TimeZone* local_zone) {
  size_t i = 0;
  ASSIGN_OR_RETURN(int64_t days, ParseYmdPrefix(text, "timestamp", &i));
  const auto fail = [&](const std::string& reason) {
    return DataError("invalid timestamp " + Quote(text) + ": " + reason);
  };
  if (i == text.size()) return FromWallClock(text, days * kMicrosPerDay, local_zone);

  if (text[i] != 'T' && text[i] != 't' && text[i] != ' ') {
    return fail("expected 'T' or ' ' between date and time, found " + Where(text, i));
  }
  ++i;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!ReadFixedDigits(text, &i, 2, &hour) || i >= text.size() || text[i++] != ':' ||
      !ReadFixedDigits(text, &i, 2, &minute)) {
    return fail("expected HH:MM after the date");
  }
  if (hour > 23) return fail("hour " + std::to_string(hour) + " out of range (00..23)");
  if (minute > 59) return fail("minute " + std::to_string(minute) + " out of range (00..59)");
  int64_t frac_micros = 0;
  if (i < text.size() && text[i] == ':') {
    ++i;
    if (!ReadFixedDigits(text, &i, 2, &second)) return fail("expected two digits of seconds");
    if (second == 60) return fail("leap second 60 is not supported");
    if (second > 59) return fail("second " + std::to_string(second) + " out of range (00..59)");
    if (i < text.size() && text[i] == '.') {
      const size_t start = ++i;
      while (i < text.size() && IsDigit(text[i])) ++i;
      const size_t n = i - start;
      if (n < 1 || n > 9) {
        return fail("fraction of seconds must have 1 to 9 digits, found " + std::to_string(n));
      }
      frac_micros = RoundFraction(text.substr(start, n), 6);
    }
  }

  int64_t offset_seconds = 0;
  if (i == text.size()) {
    return FromWallClock(text,
                         days * kMicrosPerDay +
                             (hour * 3600 + minute * 60 + second) * kMicrosPerSecond + frac_micros,
                         local_zone);
  }
  {
    const char z = text[i];
    if (z == 'Z' || z == 'z') {
      ++i;
    } else if (z == '+' || z == '-') {
      ++i;
      int oh = 0;
      int om = 0;
      if (!ReadFixedDigits(text, &i, 2, &oh)) return fail("expected zone offset +-HH[:MM]");
      if (i < text.size() && text[i] == ':') {
        ++i;
        if (!ReadFixedDigits(text, &i, 2, &om)) return fail("expected minutes after zone ':'");
      } else if (i < text.size() && IsDigit(text[i])) {
        if (!ReadFixedDigits(text, &i, 2, &om)) return fail("expected zone offset +-HHMM");
      }
      // PostgreSQL refuses offsets of 16 hours or more.
      if (oh > 15) return fail("zone offset hour " + std::to_string(oh) + " out of range (00..15)");
      if (om > 59) return fail("zone offset minute " + std::to_string(om) + " out of range");
      offset_seconds = (oh * 3600 + om * 60) * (z == '-' ? -1 : 1);
    } else {
      return fail("unexpected " + Where(text, i) + " where a zone or the end was expected");
    }
    if (i != text.size()) return fail("unexpected " + Where(text, i) + " after the zone");
  }

  const int64_t micros = days * kMicrosPerDay +
                         (hour * 3600 + minute * 60 + second - offset_seconds) * kMicrosPerSecond +
                         frac_micros;
  if (micros < kMinPgMicros || micros > kMaxPgMicros) {
    return DataError("timestamp out of range: " + Quote(text) +
                     " is outside 0001-01-01..9999-12-31 UTC");
  }
  return micros;
}

Result<int64_t> TimestampFromEpoch(int64_t value, bool millis) {
  const int64_t per_unit = millis ? 1000 : kMicrosPerSecond;
  // kMinUnixMicros is a whole number of seconds, so plain division is exact
  // at the low end and floors at the high end.
  if (value < kMinUnixMicros / per_unit || value > kMaxUnixMicros / per_unit) {
    return EpochOutOfRange(std::to_string(value), millis);
  }
  return value * per_unit - kUnixToPgMicros;
}

Result<int64_t> TimestampFromEpochText(std::string_view text, bool millis) {
  DecimalParts parts;
  std::string reason = ScanDecimal(text, /*allow_exponent=*/false, &parts);
  if (reason.empty() && parts.int_digits.empty()) reason = "expected digits before '.'";
  if (!reason.empty()) return DataError("invalid epoch timestamp " + Quote(text) + ": " + reason);

  const int64_t per_unit = millis ? 1000 : kMicrosPerSecond;
  const int keep = millis ? 3 : 6;  // fraction digits that are whole microseconds
  // Bound the whole part before multiplying so huge inputs cannot overflow.
  const int64_t limit = std::max(-kMinUnixMicros, kMaxUnixMicros) / per_unit + 1;
  int64_t whole = 0;
  for (char c : parts.int_digits) {
    whole = std::min(whole * 10 + (c - '0'), limit);
  }
  int64_t magnitude = whole * per_unit + RoundFraction(parts.frac_digits, keep);
  const int64_t micros = parts.negative ? -magnitude : magnitude;
  if (micros < kMinUnixMicros || micros > kMaxUnixMicros) {
    return EpochOutOfRange(Quote(text), millis);
  }
  return micros - kUnixToPgMicros;
}

bool HasNulByte(std::string_view text) {
  return text.find('\0') != std::string_view::npos;
}

}  // namespace cutover::map
