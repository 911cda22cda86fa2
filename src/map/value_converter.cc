// Text -> column value by the column's type, through the exact parsers of
// value_parsers.h; numeric text already canonical is copied as it is.
#include "map/value_converter.h"

#include <fmt/format.h>
#include <simdjson.h>

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
      if (IsCanonicalNumeric(text)) {
        out->AppendBytes(text);
        return Status::Ok();
      }
      ASSIGN_OR_RETURN(std::string v, CanonicalNumeric(text));
      out->AppendBytes(v);
      return Status::Ok();
    }
    case ValueType::kFloat64: {
      ASSIGN_OR_RETURN(double v, ParseFloat64(text));
      out->AppendFloat(v);
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
              ? ParseTimestamptz(text)
              : TimestampFromEpochText(text, c.time_format == spec::TimeFormat::kEpochMillis);
      if (!v.ok()) return v.status();
      out->AppendInt(*v);
      return Status::Ok();
    }
    case ValueType::kJsonb: {
      // A JSON string mapped to jsonb stays a JSON string.
      simdjson::internal::mini_formatter f;
      f.string(text);
      return AppendJsonText(std::string(f.str()), out);
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

}  // namespace cutover::map
