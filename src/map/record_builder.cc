// Rows back into Redis key documents, following the entity's column sources.
#include "map/record_builder.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "map/value_parsers.h"

namespace cutover::map {
namespace {

using Json = nlohmann::ordered_json;

std::string Hex(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

// A column's value as the JSON the document reader produced it from. A
// numeric is a JSON number in a JSON value and text elsewhere (a hash field,
// a string), where its scale ("12.50") is part of the value.
Json ValueJson(const Column& col, size_t row, bool numeric_as_number = false) {
  if (col.IsNull(row)) return nullptr;
  switch (col.type()) {
    case ValueType::kInt32:
    case ValueType::kInt64:
      return col.IntAt(row);
    case ValueType::kFloat64: {
      const double d = col.FloatAt(row);
      if (std::isfinite(d)) return d;
      return std::isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity");
    }
    case ValueType::kBool:
      return col.BoolAt(row);
    case ValueType::kDate:
      return FormatDate(static_cast<int32_t>(col.IntAt(row)));
    case ValueType::kTimestamptz:
      return FormatTimestamptz(col.IntAt(row));
    case ValueType::kUuid:
      return FormatUuid(reinterpret_cast<const uint8_t*>(col.BytesAt(row).data()));
    case ValueType::kNumeric:
      if (numeric_as_number) return Json::parse(col.BytesAt(row), nullptr, false);
      return std::string(col.BytesAt(row));
    case ValueType::kJsonb:
      return Json::parse(col.BytesAt(row), nullptr, false);
    case ValueType::kBytes:
    case ValueType::kGeometry: {
      const std::string_view b = col.BytesAt(row);
      if (IsValidUtf8(b)) return std::string(b);
      return Json{{"$bytes", Hex(b)}};
    }
    case ValueType::kText:
      return std::string(col.BytesAt(row));
  }
  return nullptr;
}

// A capture's text: a string as it is, anything else as its JSON text.
std::string CaptureText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("$bytes")) {
    const std::string hex = v["$bytes"].get<std::string>();
    std::string bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    return bytes;
  }
  return v.dump();
}

}  // namespace

Result<std::unique_ptr<RecordBuilder>> RecordBuilder::Create(const spec::EntitySpec& entity) {
  if (!entity.redis) {
    return FailedPrecondition(entity.name + ": only redis entities can be written back yet");
  }
  if (!entity.write_back) {
    return FailedPrecondition(spec::NotWrittenBack(entity, "keys"));
  }
  return std::unique_ptr<RecordBuilder>(new RecordBuilder(entity));
}

Result<std::string> RecordBuilder::Key(const RowBatch& rows, size_t row) const {
  const spec::KeyPattern& pattern = entity_.redis->pattern;
  std::vector<std::string> captures;
  for (const std::string& name : pattern.captures()) {
    const spec::ColumnSpec* column = nullptr;
    for (const auto& c : entity_.columns) {
      if (c.from == name) column = &c;
    }
    const int at = column == nullptr ? -1 : rows.IndexOf(column->name);
    if (at < 0) return DataError("the row has no column for the key's capture '" + name + "'");
    if (rows.columns[at].IsNull(row)) {
      return DataError("the key's capture '" + name + "' (column " + column->name + ") is NULL");
    }
    captures.push_back(CaptureText(ValueJson(rows.columns[at], row)));
  }
  std::string key = pattern.Format(captures);
  if (pattern.Match(key) != captures) {
    return DataError("the captures would make the key '" + EscapeInvalidUtf8(key) +
                     "', which the pattern '" + pattern.text() +
                     "' splits differently (a capture holds the text that follows it)");
  }
  return key;
}

Result<std::string> RecordBuilder::Build(const RowBatch& rows, size_t row) const {
  ASSIGN_OR_RETURN(const std::string key, Key(rows, row));
  Json doc = Json::object();
  doc["$key"] = IsValidUtf8(key) ? Json(key) : Json{{"$bytes", Hex(key)}};
  doc["$type"] = std::string(spec::RedisTypeName(entity_.redis->value));
  Json value = nullptr;
  for (const auto& c : entity_.columns) {
    const int at = rows.IndexOf(c.name);
    if (at < 0) continue;
    const bool json_value = entity_.redis->value == spec::RedisKeySpec::Value::kJson;
    Json v = ValueJson(rows.columns[at], row, json_value);
    if (c.from == "$expires_at") {
      if (!v.is_null()) {
        doc["$expires_at"] = v;
        // Unix milliseconds, so the writer sets PEXPIREAT without parsing a
        // date; the column holds microseconds since PostgreSQL's epoch
        // (2000-01-01), 946684800 s after Unix's.
        constexpr int64_t kPgEpochUnixMs = 946684800000;
        const int64_t micros = rows.columns[at].IntAt(row);
        const int64_t ms = micros / 1000 - (micros % 1000 < 0 ? 1 : 0);
        doc["$expires_at_ms"] = ms + kPgEpochUnixMs;
      }
    } else if (c.from == "$value") {
      value = std::move(v);
    } else if (c.from.starts_with("$value.")) {
      if (v.is_null()) continue;  // an absent field reads as NULL
      if (!value.is_object()) value = Json::object();
      Json* at_path = &value;
      std::string_view path = std::string_view(c.from).substr(7);
      while (true) {
        const size_t dot = path.find('.');
        const std::string part(path.substr(0, dot));
        if (dot == std::string_view::npos) {
          (*at_path)[part] = std::move(v);
          break;
        }
        Json& next = (*at_path)[part];
        if (!next.is_object()) next = Json::object();
        at_path = &next;
        path.remove_prefix(dot + 1);
      }
    }
  }
  doc["$value"] = std::move(value);
  return doc.dump(-1, ' ', false, Json::error_handler_t::strict);
}

}  // namespace cutover::map
