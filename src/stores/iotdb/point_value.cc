// PointValue: a rebuilt row's value converted to what its series' type holds.
#include "stores/iotdb/point_value.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "common/message_quote.h"

namespace cutover::iotdb_store {

std::vector<std::string_view> MembersFor(IotdbType type) {
  switch (type) {
    case IotdbType::kBoolean:
      return {"$boolean", "$value"};
    case IotdbType::kInt32:
    case IotdbType::kInt64:
      return {"$integer", "$numeric", "$value"};
    case IotdbType::kTimestamp:
      return {"$timestamp", "$integer", "$value"};
    case IotdbType::kFloat:
    case IotdbType::kDouble:
      return {"$numeric", "$integer", "$value"};
    case IotdbType::kText:
    case IotdbType::kString:
      return {"$text", "$value"};
    case IotdbType::kBlob:
      return {"$blob", "$value"};
    case IotdbType::kDate:
      return {"$date", "$value"};
  }
  return {"$value"};
}

std::optional<int64_t> IntegerOf(const nlohmann::json& v) {
  if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<int64_t>();
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // Exact only while a double holds every integer: up to 2^53.
    // From 2^53 on a double no longer holds every integer: 2^53 + 1 reads
    // as 2^53, so neither is known exactly.
    if (std::trunc(d) != d || std::fabs(d) >= 9007199254740992.0) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    int64_t out = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return out;
  }
  return std::nullopt;
}

std::optional<std::string> HexOf(const nlohmann::json& v) {
  std::string hex;
  if (v.is_object() && v.contains("$bytes") && v["$bytes"].is_string()) {
    hex = v["$bytes"].get<std::string>();
  } else if (v.is_string() && v.get_ref<const std::string&>().starts_with("0x")) {
    hex = v.get<std::string>().substr(2);
  } else {
    return std::nullopt;
  }
  if (hex.size() % 2 != 0) return std::nullopt;
  for (char& c : hex) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return hex;
}

Result<nlohmann::json> TabletValue(IotdbType type, const nlohmann::json& v,
                                   TimePrecision precision) {
  auto refuse = [&](std::string_view why) {
    return DataError(fmt::format(
        "{} cannot be written as a {} point{}",
        QuoteForMessage(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), '\''),
        IotdbTypeName(type), why));
  };
  switch (type) {
    case IotdbType::kBoolean:
      if (v.is_boolean()) return v;
      if (v == "true" || v == "false") return nlohmann::json(v == "true");
      return refuse("");
    case IotdbType::kInt32: {
      const std::optional<int64_t> i = IntegerOf(v);
      if (!i || *i < std::numeric_limits<int32_t>::min() ||
          *i > std::numeric_limits<int32_t>::max()) {
        return refuse(": it is no 32-bit integer");
      }
      return nlohmann::json(*i);
    }
    case IotdbType::kInt64: {
      const std::optional<int64_t> i = IntegerOf(v);
      if (!i) return refuse(": it is no 64-bit integer");
      return nlohmann::json(*i);
    }
    case IotdbType::kTimestamp: {
      if (std::optional<int64_t> i = IntegerOf(v)) return nlohmann::json(*i);
      if (v.is_string()) {
        Result<int64_t> t = ParseIotdbTime(v.get_ref<const std::string&>(), precision);
        if (t.ok()) return nlohmann::json(*t);
        return refuse(": " + t.status().message());
      }
      return refuse("");
    }
    case IotdbType::kFloat:
    case IotdbType::kDouble:
      if (v.is_number()) {
        // A FLOAT past float's range would be stored as an infinity.
        if (type == IotdbType::kFloat &&
            std::fabs(v.get<double>()) > std::numeric_limits<float>::max()) {
          return refuse(": it is beyond a FLOAT's range");
        }
        return v;
      }
      if (v == "NaN" || v == "Infinity" || v == "-Infinity") return v;
      if (v.is_string()) {
        const std::string& s = v.get_ref<const std::string&>();
        double d = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (ec == std::errc() && end == s.data() + s.size() && std::isfinite(d))
          return nlohmann::json(d);
      }
      return refuse(": it is no number");
    case IotdbType::kText:
    case IotdbType::kString:
      if (v.is_string()) return v;
      if (v.is_object() && v.contains("$bytes")) {
        return refuse(": it is bytes that are not UTF-8 text, which IoTDB's REST API cannot carry");
      }
      if (v.is_number() || v.is_boolean()) return nlohmann::json(v.dump());
      return refuse("");
    case IotdbType::kBlob:
      if (std::optional<std::string> hex = HexOf(v)) return nlohmann::json(*hex);
      return refuse(": a BLOB is bytes or \"0x\" and hex digits");
    case IotdbType::kDate: {
      if (v.is_number_integer()) return v;
      if (v.is_string()) {
        Result<IotdbValue> date =
            CanonicalValue(IotdbType::kDate, v.get_ref<const std::string&>(), precision);
        if (date.ok()) {  // "yyyy-mm-dd" -> yyyyMMdd
          const std::string& t = date->text;
          return nlohmann::json(std::stoll(t.substr(0, 4) + t.substr(5, 2) + t.substr(8, 2)));
        }
      }
      return refuse(": a DATE is yyyy-mm-dd");
    }
  }
  return refuse("");
}

Result<std::optional<nlohmann::json>> PointValue(IotdbType type, const nlohmann::json& doc,
                                                 TimePrecision precision) {
  // A member that cannot hold the value exactly (a double past 2^53 for an
  // INT64) gives way to the next (the jsonb copy holds every digit); the
  // first one's error stands when none can.
  std::optional<Status> first_error;
  for (std::string_view member : MembersFor(type)) {
    auto it = doc.find(std::string(member));
    if (it == doc.end()) continue;
    Result<nlohmann::json> v = TabletValue(type, *it, precision);
    if (v.ok()) return std::optional<nlohmann::json>(std::move(*v));
    if (!first_error) first_error = v.status();
  }
  if (first_error) return *first_error;
  return std::optional<nlohmann::json>();
}

Result<IotdbValue> ValueFromRest(const nlohmann::json& v, IotdbType type, TimePrecision precision) {
  if (v.is_boolean()) return IotdbValue{type, v.get<bool>() ? "true" : "false"};
  if (v.is_number_integer()) {
    if (type == IotdbType::kFloat || type == IotdbType::kDouble) {
      return IotdbValue{type, CanonicalDouble(v.get<double>())};
    }
    const std::string digits = v.is_number_unsigned() ? std::to_string(v.get<uint64_t>())
                                                      : std::to_string(v.get<int64_t>());
    if (type == IotdbType::kDate) return CanonicalValue(type, digits, precision);
    return IotdbValue{type, digits};
  }
  if (v.is_number_float()) return IotdbValue{type, CanonicalDouble(v.get<double>())};
  if (v.is_string()) {
    const std::string& text = v.get_ref<const std::string&>();
    // A string is the text itself: no export quotes to strip.
    if (type == IotdbType::kText || type == IotdbType::kString) return IotdbValue{type, text};
    return CanonicalValue(type, text, precision);
  }
  return DataError("a " + std::string(IotdbTypeName(type)) + " value came as JSON " +
                   std::string(v.type_name()));
}

Result<IotdbValue> StoredValue(IotdbType type, const nlohmann::json& sent,
                               TimePrecision precision) {
  if (type == IotdbType::kBlob && sent.is_string()) {
    return ValueFromRest("0x" + sent.get<std::string>(), type, precision);
  }
  if (type == IotdbType::kFloat) {
    // IoTDB prints a single with Java's digits, not always the shortest,
    // and read as a double they name another number than the shortest
    // would: only a read gives them.
    return FailedPrecondition("a FLOAT point's state is known by reading it");
  }
  return ValueFromRest(sent, type, precision);
}

}  // namespace cutover::iotdb_store
