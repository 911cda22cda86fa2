// IoTDB types, precisions and canonical values: strict hand-written grammars
// with std::from_chars doing the arithmetic, so no value passes through a locale.
#include "stores/iotdb/iotdb_types.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <system_error>

#include "common/civil_calendar.h"
#include "common/message_quote.h"

namespace cutover::iotdb_store {
namespace {

constexpr std::array<std::pair<IotdbType, std::string_view>, 10> kTypeNames = {{
    {IotdbType::kBoolean, "BOOLEAN"},
    {IotdbType::kInt32, "INT32"},
    {IotdbType::kInt64, "INT64"},
    {IotdbType::kFloat, "FLOAT"},
    {IotdbType::kDouble, "DOUBLE"},
    {IotdbType::kText, "TEXT"},
    {IotdbType::kString, "STRING"},
    {IotdbType::kBlob, "BLOB"},
    {IotdbType::kTimestamp, "TIMESTAMP"},
    {IotdbType::kDate, "DATE"},
}};

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

char ToLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = ToLower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

std::string Quote(std::string_view text) {
  return QuoteForMessage(text, '"');
}

Status NotA(IotdbType type, std::string_view raw) {
  return DataError(
      "not a" + std::string(type == IotdbType::kInt32 || type == IotdbType::kInt64 ? "n " : " ") +
      std::string(IotdbTypeName(type)) + ": " + Quote(raw));
}

bool IsLeapYear(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// Reads exactly `s.size()` decimal digits; the callers have checked they are digits.
int Digits(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

struct Ymd {
  int year;
  int month;
  int day;
};

// "yyyy-mm-dd" with a real calendar day (Java's LocalDate.parse takes no other shape).
std::optional<Ymd> ParseYmd(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  if (!AllDigits(s.substr(0, 4)) || !AllDigits(s.substr(5, 2)) || !AllDigits(s.substr(8, 2))) {
    return std::nullopt;
  }
  Ymd d{Digits(s.substr(0, 4)), Digits(s.substr(5, 2)), Digits(s.substr(8, 2))};
  if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > DaysInMonth(d.year, d.month)) {
    return std::nullopt;
  }
  return d;
}

// A decimal integer with an optional sign; from_chars alone would refuse the
// '+' and, after a stripped '+', accept a second sign.
template <typename Int>
std::optional<Int> ParseInteger(std::string_view s) {
  const bool signed_text = !s.empty() && (s[0] == '+' || s[0] == '-');
  if (!AllDigits(s.substr(signed_text ? 1 : 0))) return std::nullopt;
  if (s[0] == '+') s.remove_prefix(1);
  Int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Java's Double.toString / Float.toString output, plus a leading '+' and the
// "inf" spelling other tools use.
std::optional<double> ParseJavaDouble(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (EqualsIgnoreCase(s, "nan")) return std::numeric_limits<double>::quiet_NaN();
  if (EqualsIgnoreCase(s, "infinity") || EqualsIgnoreCase(s, "inf")) {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  // from_chars would also take "nan(...)" and a second sign; only a digit or
  // a point may start the magnitude.
  if (s.empty() || !(IsDigit(s[0]) || s[0] == '.')) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return negative ? -v : v;
}

std::optional<std::string> ParseHexBytes(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexValue(hex[i]);
    const int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

int64_t UnitsPerSecond(TimePrecision precision) {
  switch (precision) {
    case TimePrecision::kMs:
      return 1'000;
    case TimePrecision::kUs:
      return 1'000'000;
    case TimePrecision::kNs:
      return 1'000'000'000;
  }
  return 1'000;
}

// Floor division, so times before 1970 land on the day and second they are in.
int64_t FloorDiv(int64_t a, int64_t b, int64_t* rem) {
  int64_t q = a / b;
  int64_t r = a % b;
  if (r < 0) {
    r += b;
    --q;
  }
  *rem = r;
  return q;
}

// ParseIotdbTime's grammar; on failure nullopt with `why` set to the reason
// when there is a more useful one than "not a time".
std::optional<int64_t> ParseTime(std::string_view text, TimePrecision precision, std::string* why) {
  if (!text.empty() && (IsDigit(text[0]) || text[0] == '-') &&
      AllDigits(text.substr(text[0] == '-' ? 1 : 0))) {
    auto v = ParseInteger<int64_t>(text);
    if (!v) *why = "out of the 64-bit range";
    return v;
  }
  // yyyy-mm-ddTHH:MM:SS is 19 bytes; the fraction and offset follow.
  if (text.size() < 19) return std::nullopt;
  const std::optional<Ymd> date = ParseYmd(text.substr(0, 10));
  if (!date) return std::nullopt;
  if (text[10] != 'T' && text[10] != ' ') return std::nullopt;
  if (!AllDigits(text.substr(11, 2)) || text[13] != ':' || !AllDigits(text.substr(14, 2)) ||
      text[16] != ':' || !AllDigits(text.substr(17, 2))) {
    return std::nullopt;
  }
  const int hour = Digits(text.substr(11, 2));
  const int minute = Digits(text.substr(14, 2));
  const int second = Digits(text.substr(17, 2));
  if (hour > 23 || minute > 59 || second > 59) return std::nullopt;

  const int keep = PrecisionDigits(precision);
  std::string_view rest = text.substr(19);
  int64_t fraction = 0;
  if (!rest.empty() && rest[0] == '.') {
    size_t n = 1;
    while (n < rest.size() && IsDigit(rest[n])) ++n;
    std::string_view digits = rest.substr(1, n - 1);
    rest.remove_prefix(n);
    if (digits.empty()) return std::nullopt;
    if (digits.size() > static_cast<size_t>(keep)) {
      // Trailing zeros lose nothing; any other digit would be silently cut.
      if (digits.substr(keep).find_first_not_of('0') != std::string_view::npos) {
        *why = std::to_string(digits.size()) + " fraction digits; the " +
               std::string(PrecisionName(precision)) + " precision keeps only " +
               std::to_string(keep);
        return std::nullopt;
      }
      digits = digits.substr(0, keep);
    }
    for (int i = 0; i < keep; ++i) {
      fraction = fraction * 10 + (i < static_cast<int>(digits.size()) ? digits[i] - '0' : 0);
    }
  }

  int64_t offset_seconds = 0;
  if (rest == "Z" || rest == "z") {
    offset_seconds = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') &&
             AllDigits(rest.substr(1, 2)) && rest[3] == ':' && AllDigits(rest.substr(4, 2))) {
    const int oh = Digits(rest.substr(1, 2));
    const int om = Digits(rest.substr(4, 2));
    // Java's ZoneOffset spans -18:00..+18:00.
    if (oh > 18 || om > 59 || (oh == 18 && om != 0)) {
      *why = "bad UTC offset";
      return std::nullopt;
    }
    offset_seconds = (oh * 3600 + om * 60) * (rest[0] == '-' ? -1 : 1);
  } else if (rest.empty()) {
    // A local time would need the exporter's zone, which the file does not carry.
    *why = "no UTC offset";
    return std::nullopt;
  } else {
    return std::nullopt;
  }

  const int64_t days = DaysFromCivil(date->year, date->month, date->day);
  const int64_t seconds = days * 86'400 + hour * 3600 + minute * 60 + second - offset_seconds;
  const int64_t unit = UnitsPerSecond(precision);
  // Before 1970 the whole seconds alone can pass the int64 range that the
  // time with its fraction still fits (the ns minimum, 1677-09-21T00:12:43.145224192Z),
  // so count from the next second down instead.
  int64_t whole = seconds;
  if (seconds < 0 && fraction > 0) {
    whole = seconds + 1;
    fraction -= unit;
  }
  int64_t epoch = 0;
  if (__builtin_mul_overflow(whole, unit, &epoch) ||
      __builtin_add_overflow(epoch, fraction, &epoch)) {
    *why = "out of the 64-bit " + std::string(PrecisionName(precision)) + " range";
    return std::nullopt;
  }
  return epoch;
}

}  // namespace

std::string_view IotdbTypeName(IotdbType type) {
  for (const auto& [t, name] : kTypeNames) {
    if (t == type) return name;
  }
  return "UNKNOWN";
}

std::optional<IotdbType> ParseIotdbType(std::string_view name) {
  for (const auto& [t, n] : kTypeNames) {
    if (EqualsIgnoreCase(name, n)) return t;
  }
  return std::nullopt;
}

std::string_view PrecisionName(TimePrecision precision) {
  switch (precision) {
    case TimePrecision::kMs:
      return "ms";
    case TimePrecision::kUs:
      return "us";
    case TimePrecision::kNs:
      return "ns";
  }
  return "ms";
}

int PrecisionDigits(TimePrecision precision) {
  switch (precision) {
    case TimePrecision::kMs:
      return 3;
    case TimePrecision::kUs:
      return 6;
    case TimePrecision::kNs:
      return 9;
  }
  return 3;
}

std::string CanonicalDouble(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  (void)ec;  // 64 bytes hold every shortest double
  return std::string(buf, p);
}

Result<IotdbValue> CanonicalValue(IotdbType type, std::string_view raw, TimePrecision precision) {
  IotdbValue out;
  out.type = type;
  switch (type) {
    case IotdbType::kBoolean:
      if (EqualsIgnoreCase(raw, "true")) {
        out.text = "true";
      } else if (EqualsIgnoreCase(raw, "false")) {
        out.text = "false";
      } else {
        return NotA(type, raw);
      }
      return out;
    case IotdbType::kInt32: {
      auto v = ParseInteger<int32_t>(raw);
      if (!v) return NotA(type, raw);
      out.text = std::to_string(*v);
      return out;
    }
    case IotdbType::kInt64: {
      auto v = ParseInteger<int64_t>(raw);
      if (!v) return NotA(type, raw);
      out.text = std::to_string(*v);
      return out;
    }
    case IotdbType::kTimestamp: {
      std::string why;
      std::optional<int64_t> v = ParseTime(raw, precision, &why);
      if (!v) {
        return DataError("not a TIMESTAMP: " + Quote(raw) + (why.empty() ? "" : " (" + why + ")"));
      }
      out.text = std::to_string(*v);
      return out;
    }
    case IotdbType::kFloat:
    case IotdbType::kDouble: {
      auto v = ParseJavaDouble(raw);
      if (!v) return NotA(type, raw);
      out.text = CanonicalDouble(*v);
      return out;
    }
    case IotdbType::kText:
    case IotdbType::kString:
      // Only the export tool's own quotes go: a value that itself starts and
      // ends with '"' was written with a second pair around it.
      if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
        raw = raw.substr(1, raw.size() - 2);
      }
      out.text = std::string(raw);
      return out;
    case IotdbType::kBlob: {
      std::optional<std::string> bytes;
      if (raw.size() >= 2 && raw[0] == '0' && (raw[1] == 'x' || raw[1] == 'X')) {
        bytes = ParseHexBytes(raw.substr(2));
      } else if (raw.size() >= 3 && (raw[0] == 'X' || raw[0] == 'x') && raw[1] == '\'' &&
                 raw.back() == '\'') {
        bytes = ParseHexBytes(raw.substr(2, raw.size() - 3));
      }
      if (!bytes) return NotA(type, raw);
      out.text = std::move(*bytes);
      return out;
    }
    case IotdbType::kDate: {
      if (ParseYmd(raw)) {
        out.text = std::string(raw);
        return out;
      }
      // REST before 1.3.5 sends the int IoTDB stores a DATE as: yyyymmdd.
      if (raw.size() == 8 && AllDigits(raw)) {
        std::string dashed = std::string(raw.substr(0, 4)) + "-" + std::string(raw.substr(4, 2)) +
                             "-" + std::string(raw.substr(6, 2));
        if (ParseYmd(dashed)) {
          out.text = std::move(dashed);
          return out;
        }
      }
      return NotA(type, raw);
    }
  }
  return NotA(type, raw);
}

std::string IsoTime(int64_t epoch, TimePrecision precision) {
  const int64_t unit = UnitsPerSecond(precision);
  int64_t fraction = 0;
  const int64_t seconds = FloorDiv(epoch, unit, &fraction);
  int64_t second_of_day = 0;
  const int64_t days = FloorDiv(seconds, 86'400, &second_of_day);
  const Civil civil = CivilFromDays(days);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:%02d.%0*lldZ",
                static_cast<long long>(civil.year), civil.month, civil.day,
                static_cast<int>(second_of_day / 3600), static_cast<int>(second_of_day / 60 % 60),
                static_cast<int>(second_of_day % 60), PrecisionDigits(precision),
                static_cast<long long>(fraction));
  return buf;
}

Result<int64_t> ParseIotdbTime(std::string_view text, TimePrecision precision) {
  std::string why;
  std::optional<int64_t> epoch = ParseTime(text, precision, &why);
  if (!epoch)
    return DataError("not a time: " + Quote(text) + (why.empty() ? "" : " (" + why + ")"));
  return *epoch;
}

}  // namespace cutover::iotdb_store
