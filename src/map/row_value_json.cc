// RowValueJson: PostgreSQL values as the JSON the legacy readers read them from.
#include "map/row_value_json.h"

#include <cmath>

#include "common/utf8.h"
#include "map/value_parsers.h"

namespace cutover::map {

using Json = nlohmann::ordered_json;

std::string HexBytes(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

Json RowValueJson(const Column& col, size_t row, bool numeric_as_number) {
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
    case ValueType::kNumeric: {
      // NaN and the infinities have no JSON number: their text, as a float's.
      if (numeric_as_number) {
        Json number = Json::parse(col.BytesAt(row), nullptr, false);
        if (!number.is_discarded()) return number;
      }
      return std::string(col.BytesAt(row));
    }
    case ValueType::kJsonb:
      return Json::parse(col.BytesAt(row), nullptr, false);
    case ValueType::kBytes:
    case ValueType::kGeometry: {
      const std::string_view b = col.BytesAt(row);
      if (IsValidUtf8(b)) return std::string(b);
      return Json{{"$bytes", HexBytes(b)}};
    }
    case ValueType::kText:
      return std::string(col.BytesAt(row));
  }
  return nullptr;
}

std::string KeyPartText(const Json& v) {
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

}  // namespace cutover::map
