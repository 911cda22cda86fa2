// Text -> column value by the column's type, through the exact parsers of
// value_parsers.h; numeric text keeps its scale, and is copied as it is when
// already in PostgreSQL's form.
#include "map/value_converter.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "common/failpoint.h"
#include "map/value_parsers.h"

namespace cutover::map {
namespace {

// True when minified JSON holds the escape \u0000; "\\u0000" (an escaped
// backslash, then "u0000") is six ordinary characters and does not count.
bool HasEscapedNul(std::string_view json) {
  for (size_t at = json.find("\\u0000"); at != std::string_view::npos;
       at = json.find("\\u0000", at + 1)) {
    size_t backslashes = 0;
    while (backslashes <= at && json[at - backslashes] == '\\') ++backslashes;
    if (backslashes % 2 == 1) return true;
  }
  return false;
}

}  // namespace

bool IsNumericText(std::string_view text) {
  // The canonical spelling once the fraction's trailing zeros, and then a
  // bare point, are dropped ("1.50" -> "1.5", "2.00" -> "2"); a point with
  // no digit after it was never a number.
  if (text.find('.') != std::string_view::npos) {
    if (text.ends_with('.')) return false;
    while (text.ends_with('0')) text.remove_suffix(1);
    if (text.ends_with('.')) text.remove_suffix(1);
  }
  return IsCanonicalNumeric(text);
}

Result<std::string> NumericText(std::string_view text) {
  // CanonicalNumeric validates and expands; the scale is then counted as
  // PostgreSQL counts it: fraction digits written, less the exponent.
  ASSIGN_OR_RETURN(std::string canonical, CanonicalNumeric(text));
  if (canonical == "NaN") return canonical;
  const size_t e = text.find_first_of("eE");
  const std::string_view mantissa = text.substr(0, e);
  const size_t dot = mantissa.find('.');
  int64_t scale =
      dot == std::string_view::npos ? 0 : static_cast<int64_t>(mantissa.size() - dot - 1);
  if (e != std::string_view::npos) {
    int64_t exponent = 0;
    const std::string_view digits = text.substr(e + 1);
    auto r = std::from_chars(digits.data() + (digits[0] == '+' ? 1 : 0),
                             digits.data() + digits.size(), exponent);
    if (r.ec != std::errc()) exponent = 0;  // CanonicalNumeric bounded it already
    scale = std::max<int64_t>(0, scale - exponent);
  }
  const size_t point = canonical.find('.');
  const int64_t have =
      point == std::string::npos ? 0 : static_cast<int64_t>(canonical.size() - point - 1);
  if (scale > have) {
    if (point == std::string::npos) canonical += '.';
    canonical.append(static_cast<size_t>(scale - have), '0');
  }
  return canonical;
}

std::optional<std::string> NumericAtScale(std::string_view text, int scale) {
  if (text == "NaN") return std::string(text);
  const size_t point = text.find('.');
  const size_t have = point == std::string_view::npos ? 0 : text.size() - point - 1;
  std::string out(text);
  if (have < static_cast<size_t>(scale)) {
    if (point == std::string_view::npos) out += '.';
    out.append(static_cast<size_t>(scale) - have, '0');
    return out;
  }
  // Dropping digits is exact only when they are zeros.
  const size_t keep_end = point + 1 + static_cast<size_t>(scale);
  if (have > static_cast<size_t>(scale)) {
    if (out.find_first_not_of('0', keep_end) != std::string::npos) return std::nullopt;
    // What remains is nonzero: a zero never carries a sign in `text`.
    out.resize(scale == 0 ? point : keep_end);
  }
  return out;
}

std::string JsonQuoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (const char ch : text) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(ch));
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
  return out;
}

Status AppendJsonText(std::string json, Column* out) {
  // jsonb refuses \u0000 (SQLSTATE 22P05); catch it here with a clear reason.
  if (HasEscapedNul(json)) {
    return DataError("JSON value contains \\u0000, which jsonb cannot store");
  }
  out->AppendBytes(json);
  return Status::Ok();
}

Status AppendFromText(std::string_view text, const spec::ColumnSpec& c, Column* out) {
  switch (c.type) {
    case ValueType::kText:
      if (HasNulByte(text))
        return DataError("text contains a NUL byte, which PostgreSQL cannot store");
      out->AppendBytes(text);
      return Status::Ok();
    case ValueType::kInt32: {
      ASSIGN_OR_RETURN(int32_t v, ParseInt32(text));
      out->AppendInt(v);
      return Status::Ok();
    }
    case ValueType::kInt64: {
      ASSIGN_OR_RETURN(int64_t v, ParseInt64(text));
      out->AppendInt(v);
      return Status::Ok();
    }
    case ValueType::kNumeric: {
      if (IsNumericText(text)) {
        out->AppendBytes(text);
        return Status::Ok();
      }
      ASSIGN_OR_RETURN(std::string v, NumericText(text));
      out->AppendBytes(v);
      return Status::Ok();
    }
    case ValueType::kFloat64: {
      ASSIGN_OR_RETURN(double v, ParseFloat64(text));
      out->AppendFloat(StoredFloat(v));
      return Status::Ok();
    }
    case ValueType::kBool: {
      ASSIGN_OR_RETURN(bool v, ParseBool(text));
      out->AppendBool(v);
      return Status::Ok();
    }
    case ValueType::kUuid: {
      ASSIGN_OR_RETURN(auto v, ParseUuid(text));
      out->AppendBytes(std::string_view(reinterpret_cast<const char*>(v.data()), v.size()));
      return Status::Ok();
    }
    case ValueType::kDate: {
      ASSIGN_OR_RETURN(int32_t v, ParseDate(text));
      out->AppendInt(v);
      return Status::Ok();
    }
    case ValueType::kTimestamptz: {
      Result<int64_t> v =
          c.time_format == spec::TimeFormat::kIso8601
              ? ParseTimestamptz(text, c.timezone.get())
              : TimestampFromEpochText(text, c.time_format == spec::TimeFormat::kEpochMillis);
      if (!v.ok()) return v.status();
      out->AppendInt(*v);
      return Status::Ok();
    }
    case ValueType::kJsonb: {
      // A JSON string mapped to jsonb stays a JSON string.
      return AppendJsonText(JsonQuoted(text), out);
    }
    case ValueType::kBytes:
    case ValueType::kGeometry:
      return DataError(
          fmt::format("{} columns are not read from JSON documents", ValueTypeName(c.type)));
  }
  return Internal("unhandled type");
}

Status AppendFromInteger(int64_t v, const spec::ColumnSpec& c, Column* out) {
  switch (c.type) {
    case ValueType::kInt32:
      if (v < INT32_MIN || v > INT32_MAX) {
        return DataError(fmt::format("{} is out of range for integer (int4)", v));
      }
      out->AppendInt(v);
      return Status::Ok();
    case ValueType::kInt64:
      out->AppendInt(v);
      return Status::Ok();
    case ValueType::kFloat64:
      out->AppendFloat(static_cast<double>(v));
      return Status::Ok();
    case ValueType::kNumeric:
    case ValueType::kText:
      out->AppendBytes(std::to_string(v));
      return Status::Ok();
    case ValueType::kBool:
      if (v != 0 && v != 1) return DataError(fmt::format("{} is not a boolean (0 or 1)", v));
      out->AppendBool(v == 1);
      return Status::Ok();
    case ValueType::kTimestamptz: {
      if (c.time_format == spec::TimeFormat::kIso8601) {
        return DataError(
            "expected an ISO 8601 string, got number (set format: epoch_s or epoch_ms)");
      }
      ASSIGN_OR_RETURN(int64_t ts,
                       TimestampFromEpoch(v, c.time_format == spec::TimeFormat::kEpochMillis));
      out->AppendInt(ts);
      return Status::Ok();
    }
    case ValueType::kJsonb:
      out->AppendBytes(std::to_string(v));
      return Status::Ok();
    default:
      return DataError(fmt::format("expected {}, got number", ValueTypeName(c.type)));
  }
}

double StoredFloat(double v) {
  if (const std::optional<long> digits = FailPointValue("map.round_float")) {
    const double scale = std::pow(10.0, static_cast<double>(*digits));
    return std::round(v * scale) / scale;
  }
  return v;
}

}  // namespace cutover::map
