// A gateway write's JSON body as a Redis key document.
#include "gateway/record_body.h"

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

}  // namespace cutover::gateway
