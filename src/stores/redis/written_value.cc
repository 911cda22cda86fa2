// What a key holds after a record is written to it, and the commands to write it.
#include "stores/redis/written_value.h"

#include <algorithm>
#include <map>
#include <utility>

namespace cutover::redis_store {

Result<std::string> RedisString(simdjson::dom::element v) {
  switch (v.type()) {
    case simdjson::dom::element_type::STRING:
      return std::string(std::string_view(v.get_string()));
    case simdjson::dom::element_type::INT64:
      return std::to_string(int64_t(v.get_int64()));
    case simdjson::dom::element_type::UINT64:
      return std::to_string(uint64_t(v.get_uint64()));
    case simdjson::dom::element_type::DOUBLE:
      return simdjson::to_string(v);
    case simdjson::dom::element_type::BOOL:
      return std::string(bool(v.get_bool()) ? "true" : "false");
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::element hex;
      if (v.at_key("$bytes").get(hex) == simdjson::SUCCESS && hex.is_string()) {
        std::string_view h = hex.get_string();
        std::string bytes;
        for (size_t i = 0; i + 1 < h.size(); i += 2) {
          bytes.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
        }
        return bytes;
      }
      return DataError("an object where a Redis string was expected");
    }
    default:
      return DataError("a JSON array or null where a Redis string was expected");
  }
}

Result<RedisValue> WrittenValue(const spec::EntitySpec& entity, std::string_view key,
                                std::string_view document, int64_t now_ms,
                                simdjson::dom::parser* parser) {
  simdjson::dom::element doc;
  if (parser->parse(document.data(), document.size()).get(doc) != simdjson::SUCCESS ||
      !doc.is_object()) {
    return DataError(entity.name + ": the record to write is not a JSON object");
  }
  RedisValue out;
  out.key = std::string(key);
  out.type = "none";
  simdjson::dom::element value;
  if (doc.at_key("$value").get(value) != simdjson::SUCCESS || value.is_null()) return out;
  using V = spec::RedisKeySpec::Value;
  const V kind = entity.redis->value;
  if (kind == V::kJson) {
    out.type = "string";
    out.str = simdjson::minify(value);
  } else if (kind == V::kString || kind == V::kCounter) {
    out.type = "string";
    ASSIGN_OR_RETURN(out.str, RedisString(value));
  } else if (kind == V::kHash) {
    if (!value.is_object()) return DataError(entity.name + ": a hash's value must be an object");
    out.type = "hash";
    std::map<std::string, size_t> at;  // field -> its value's index in items
    for (auto field : value.get_object()) {
      if (field.value.is_null()) continue;
      ASSIGN_OR_RETURN(std::string v, RedisString(field.value));
      const std::string name(field.key);
      if (auto it = at.find(name); it != at.end()) {
        out.items[it->second] = std::move(v);
        continue;
      }
      at[name] = out.items.size() + 1;
      out.items.push_back(name);
      out.items.push_back(std::move(v));
    }
  } else {
    if (!value.is_array()) {
      return DataError(entity.name + ": a " + std::string(spec::RedisTypeName(kind)) +
                       "'s value must be an array");
    }
    out.type = std::string(spec::RedisTypeName(kind));
    if (kind == V::kZset) {
      std::map<std::string, std::pair<double, std::string>> members;  // member -> score
      for (auto item : value.get_array()) {
        ASSIGN_OR_RETURN(std::string score, RedisString(item["score"]));
        ASSIGN_OR_RETURN(std::string member, RedisString(item["member"]));
        char* end = nullptr;
        const double s = std::strtod(score.c_str(), &end);
        if (score.empty() || end != score.c_str() + score.size()) {
          return DataError(entity.name + ": a sorted set's score '" + score + "' is no number");
        }
        members[member] = {s, std::move(score)};
      }
      std::vector<std::pair<std::pair<double, std::string>, std::string>> ordered;
      for (auto& [member, score] : members)
        ordered.push_back({{score.first, member}, score.second});
      std::sort(ordered.begin(), ordered.end());
      for (auto& [by, score] : ordered) {
        out.items.push_back(by.second);
        out.items.push_back(std::move(score));
      }
    } else {
      for (auto item : value.get_array()) {
        ASSIGN_OR_RETURN(std::string member, RedisString(item));
        out.items.push_back(std::move(member));
      }
      if (kind == V::kSet) {
        std::sort(out.items.begin(), out.items.end());
        out.items.erase(std::unique(out.items.begin(), out.items.end()), out.items.end());
      }
    }
    if (out.items.empty()) out.type = "none";
  }
  if (out.type == "hash" && out.items.empty()) out.type = "none";
  int64_t expires_ms = 0;
  if (doc.at_key("$expires_at_ms").get(expires_ms) == simdjson::SUCCESS) {
    out.expire_at_ms = expires_ms;
    if (expires_ms <= now_ms) out.type = "none";  // PEXPIREAT in the past deletes the key
  }
  if (out.type == "none") {
    out.str.clear();
    out.items.clear();
    out.expire_at_ms = -1;
  }
  return out;
}

std::vector<std::vector<std::string>> CommandsFor(const RedisValue& value) {
  const std::string& k = value.key;
  std::vector<std::vector<std::string>> commands = {{"DEL", k}};
  if (value.type == "none") return commands;
  if (value.type == "string") {
    commands.push_back({"SET", k, value.str});
  } else if (value.type == "hash") {
    std::vector<std::string> hset = {"HSET", k};
    hset.insert(hset.end(), value.items.begin(), value.items.end());
    commands.push_back(std::move(hset));
  } else if (value.type == "zset") {
    std::vector<std::string> zadd = {"ZADD", k};
    for (size_t i = 0; i + 1 < value.items.size(); i += 2) {
      zadd.push_back(value.items[i + 1]);  // score before member
      zadd.push_back(value.items[i]);
    }
    commands.push_back(std::move(zadd));
  } else {
    std::vector<std::string> add = {value.type == "set" ? "SADD" : "RPUSH", k};
    add.insert(add.end(), value.items.begin(), value.items.end());
    commands.push_back(std::move(add));
  }
  if (value.expire_at_ms >= 0) {
    commands.push_back({"PEXPIREAT", k, std::to_string(value.expire_at_ms)});
  }
  return commands;
}

}  // namespace cutover::redis_store
