// A gateway write's JSON body as a Redis key document.
#include "gateway/record_body.h"

#include <charconv>
#include <chrono>
#include <optional>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "map/value_parsers.h"

namespace cutover::gateway {

namespace {
// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
constexpr int64_t kUnixToPgEpochMicros = 946684800000000;
}  // namespace

Result<std::string> RedisDocumentFromBody(const std::string& body) {
  const nlohmann::json in = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (in.is_discarded() || !in.is_object()) {
    return InvalidArgument(
        R"(the body must be a JSON object like {"value": {"name": "Ada"}, "expires_at": null})");
  }
  for (const auto& [name, v] : in.items()) {
    if (name != "value" && name != "expires_at") {
      return InvalidArgument("unknown field '" + name.substr(0, 64) +
                             "' in the body; it takes 'value' and 'expires_at'");
    }
  }
  if (!in.contains("value") || in["value"].is_null()) {
    return InvalidArgument("the body has no 'value'; a key is removed with DELETE");
  }
  nlohmann::json doc = {{"$value", in["value"]}};
  if (in.contains("expires_at") && !in["expires_at"].is_null()) {
    if (!in["expires_at"].is_string()) {
      return InvalidArgument("'expires_at' must be an ISO 8601 time with its offset, or null");
    }
    const std::string text = in["expires_at"].get<std::string>();
    Result<int64_t> pg_micros = map::ParseTimestamptz(text);
    if (!pg_micros.ok()) {
      return InvalidArgument("'expires_at': " + pg_micros.status().message());
    }
    doc["$expires_at_ms"] = (*pg_micros + kUnixToPgEpochMicros) / 1000;
  }
  return doc.dump();
}

namespace {
using nlohmann::json;

// A value as Redis holds it in a string: text as is, other scalars as their
// JSON text (the Redis writer's rule), binary as {"$bytes": hex} unchanged.
json AsRedisString(const json& v) {
  if (v.is_string() || v.is_object()) return v;
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}
}  // namespace

std::string AnswerRecord(spec::RedisKeySpec::Value kind, const std::string& document) {
  const json doc = json::parse(document, nullptr, /*allow_exceptions=*/false);
  json value = doc.is_object() ? doc.value("$value", json()) : json();
  using V = spec::RedisKeySpec::Value;
  if (!value.is_null()) {
    if (kind == V::kString || kind == V::kCounter) {
      value = AsRedisString(value);
    } else if (kind == V::kHash && value.is_object()) {
      for (auto& [field, v] : value.items()) v = AsRedisString(v);
    } else if ((kind == V::kSet || kind == V::kList) && value.is_array()) {
      for (auto& v : value) v = AsRedisString(v);
    }
  }
  json expires_at = nullptr;
  if (doc.is_object() && doc.contains("$expires_at_ms") && doc["$expires_at_ms"].is_number()) {
    const auto ms = doc["$expires_at_ms"].get<int64_t>();
    const int64_t seconds = ms / 1000 - (ms % 1000 < 0 ? 1 : 0);
    const std::chrono::sys_seconds at{std::chrono::seconds(seconds)};
    expires_at = fmt::format("{:%FT%T}.{:03}Z", at, ms - seconds * 1000);
  } else if (doc.is_object() && doc.contains("$expires_at")) {
    expires_at = doc["$expires_at"];
  }
  return json{{"value", std::move(value)}, {"expires_at", std::move(expires_at)}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

namespace {
// A Redis string as the integer INCRBY reads; nullopt when it is not one.
std::optional<int64_t> AsInteger(const json& v) {
  if (v.is_null()) return 0;
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_string()) return std::nullopt;
  const std::string text = v.get<std::string>();
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return n;
}
}  // namespace

Result<std::string> ApplyChange(spec::RedisKeySpec::Value kind, const std::string& current,
                                const std::string& change) {
  const json in = json::parse(change, nullptr, /*allow_exceptions=*/false);
  if (in.is_discarded() || !in.is_object()) {
    return InvalidArgument("the change is not a JSON object");
  }
  json doc = current.empty() ? json::object() : json::parse(current, nullptr, false);
  if (!doc.is_object()) return DataError("the stored record is not a JSON object");
  json& value = doc["$value"];
  using V = spec::RedisKeySpec::Value;
  for (const auto& [name, by] : in.items()) {
    if (name == "increment" && kind == V::kCounter) {
      if (!by.is_number_integer()) {
        return InvalidArgument("'increment' of a counter must be an integer");
      }
      const std::optional<int64_t> now = AsInteger(value);
      if (!now) return DataError("the counter's value is not an integer");
      value = *now + by.get<int64_t>();
    } else if (name == "increment" && kind == V::kHash && by.is_object()) {
      if (!value.is_object()) value = json::object();
      for (const auto& [field, n] : by.items()) {
        if (!n.is_number_integer()) {
          return InvalidArgument("'increment' of field '" + field + "' must be an integer");
        }
        const std::optional<int64_t> now = AsInteger(value.value(field, json()));
        if (!now) return DataError("field '" + field + "' is not an integer");
        value[field] = *now + n.get<int64_t>();
      }
    } else if (name == "set" && kind == V::kHash && by.is_object()) {
      if (!value.is_object()) value = json::object();
      for (const auto& [field, v] : by.items()) value[field] = v;
    } else {
      return InvalidArgument("'" + name.substr(0, 64) +
                             "' is no change these keys take (a counter takes increment; a hash "
                             "takes increment and set)");
    }
  }
  // Only what the writer reads: the value and the expiry.
  json out = {{"$value", value}};
  if (doc.contains("$expires_at_ms")) out["$expires_at_ms"] = doc["$expires_at_ms"];
  return out.dump(-1, ' ', false, json::error_handler_t::strict);
}

}  // namespace cutover::gateway
