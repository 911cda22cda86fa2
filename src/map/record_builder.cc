// Rows back into Redis key documents, following the entity's column sources.
#include "map/record_builder.h"

#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "map/iotdb_record_builder.h"
#include "map/row_value_json.h"

namespace cutover::map {
namespace {

using Json = nlohmann::ordered_json;

class RedisRecordBuilder final : public RecordBuilder {
 public:
  explicit RedisRecordBuilder(const spec::EntitySpec& entity) : entity_(entity) {}
  Result<std::string> Build(const RowBatch& rows, size_t row) const override;
  Result<std::string> Key(const RowBatch& rows, size_t row) const override;

 private:
  const spec::EntitySpec& entity_;
};

Result<std::string> RedisRecordBuilder::Key(const RowBatch& rows, size_t row) const {
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
    captures.push_back(KeyPartText(RowValueJson(rows.columns[at], row)));
  }
  std::string key = pattern.Format(captures);
  if (pattern.Match(key) != captures) {
    return DataError("the captures would make the key '" + EscapeInvalidUtf8(key) +
                     "', which the pattern '" + pattern.text() +
                     "' splits differently (a capture holds the text that follows it)");
  }
  return key;
}

Result<std::string> RedisRecordBuilder::Build(const RowBatch& rows, size_t row) const {
  ASSIGN_OR_RETURN(const std::string key, Key(rows, row));
  Json doc = Json::object();
  doc["$key"] = IsValidUtf8(key) ? Json(key) : Json{{"$bytes", HexBytes(key)}};
  doc["$type"] = std::string(spec::RedisTypeName(entity_.redis->value));
  Json value = nullptr;
  for (const auto& c : entity_.columns) {
    const int at = rows.IndexOf(c.name);
    if (at < 0) continue;
    const bool json_value = entity_.redis->value == spec::RedisKeySpec::Value::kJson;
    Json v = RowValueJson(rows.columns[at], row, json_value);
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

}  // namespace

Result<std::unique_ptr<RecordBuilder>> RecordBuilder::Create(const spec::EntitySpec& entity) {
  if (!entity.redis && !entity.iotdb) {
    return FailedPrecondition(entity.name +
                              ": only entities of redis and iotdb sources are rebuilt as records");
  }
  if (!entity.write_back) {
    return FailedPrecondition(spec::NotWrittenBack(entity, entity.redis ? "keys" : "points"));
  }
  if (entity.iotdb) return NewIotdbRecordBuilder(entity);
  return std::unique_ptr<RecordBuilder>(new RedisRecordBuilder(entity));
}

}  // namespace cutover::map
