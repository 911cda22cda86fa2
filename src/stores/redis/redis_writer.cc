// Whole-key writes into Redis from key documents, one MULTI/EXEC per key.
#include "stores/redis/redis_writer.h"

#include <simdjson.h>

#include <map>

#include "stores/redis/redis_connection.h"
#include "stores/redis/redis_topology.h"

namespace cutover::redis_store {
namespace {

// A JSON scalar as the Redis string it stands for: a string's bytes (a
// {"$bytes"} object's decoded), a number's text, true/false.
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

struct Staged {
  bool remove = false;
  std::vector<std::vector<std::string>> commands;  // between MULTI and EXEC
};

class RedisWriter : public store::Writer {
 public:
  RedisWriter(RedisEndpoint seed, const spec::EntitySpec& entity)
      : seed_(std::move(seed)), entity_(entity) {}

  Status Upsert(const store::RecordKey& key, const RowBatch& rows, size_t row) override {
    const int doc_col = rows.IndexOf("$doc");
    if (doc_col < 0 || key.size() != 1) {
      return InvalidArgument(entity_.name + ": a Redis upsert needs a \"$doc\" row and one key");
    }
    simdjson::dom::element doc;
    const std::string text(rows.columns[doc_col].BytesAt(row));
    if (parser_.parse(text).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
      return DataError(entity_.name + ": the record to write is not a JSON object");
    }
    const std::string& k = key[0];
    Staged s;
    s.commands.push_back({"DEL", k});
    simdjson::dom::element value;
    const bool has_value = doc.at_key("$value").get(value) == simdjson::SUCCESS && !value.is_null();
    using V = spec::RedisKeySpec::Value;
    const V kind = entity_.redis->value;
    if (has_value) {
      if (kind == V::kJson) {
        s.commands.push_back({"SET", k, simdjson::minify(value)});
      } else if (kind == V::kString || kind == V::kCounter) {
        ASSIGN_OR_RETURN(std::string v, RedisString(value));
        s.commands.push_back({"SET", k, std::move(v)});
      } else if (kind == V::kHash) {
        std::vector<std::string> hset = {"HSET", k};
        for (auto field : value.get_object()) {
          if (field.value.is_null()) continue;
          ASSIGN_OR_RETURN(std::string v, RedisString(field.value));
          hset.emplace_back(field.key);
          hset.push_back(std::move(v));
        }
        if (hset.size() > 2) s.commands.push_back(std::move(hset));
      } else {
        std::vector<std::string> add = {kind == V::kSet    ? "SADD"
                                        : kind == V::kList ? "RPUSH"
                                                           : "ZADD",
                                        k};
        for (auto item : value.get_array()) {
          if (kind == V::kZset) {
            ASSIGN_OR_RETURN(std::string score, RedisString(item["score"]));
            ASSIGN_OR_RETURN(std::string member, RedisString(item["member"]));
            add.push_back(std::move(score));
            add.push_back(std::move(member));
          } else {
            ASSIGN_OR_RETURN(std::string member, RedisString(item));
            add.push_back(std::move(member));
          }
        }
        if (add.size() > 2) s.commands.push_back(std::move(add));
      }
    }
    int64_t expires_ms = 0;
    if (doc.at_key("$expires_at_ms").get(expires_ms) == simdjson::SUCCESS &&
        s.commands.size() > 1) {
      s.commands.push_back({"PEXPIREAT", k, std::to_string(expires_ms)});
    }
    staged_[k] = std::move(s);
    return Status::Ok();
  }

  Status Modify(const store::RecordKey& key, const std::string& change) override {
    if (key.size() != 1) return InvalidArgument(entity_.name + ": a Redis key has one part");
    simdjson::dom::element doc;
    if (parser_.parse(change).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
      return InvalidArgument("the change is not a JSON object");
    }
    using V = spec::RedisKeySpec::Value;
    const V kind = entity_.redis->value;
    const std::string& k = key[0];
    // Queued after whatever is staged for the key, in the same MULTI.
    Staged& s = staged_[k];
    for (auto [name, value] : doc.get_object()) {
      if (name == "increment" && kind == V::kCounter) {
        int64_t by = 0;
        if (value.get(by) != simdjson::SUCCESS) {
          return InvalidArgument("'increment' of a counter must be an integer");
        }
        s.commands.push_back({"INCRBY", k, std::to_string(by)});
      } else if (name == "increment" && kind == V::kHash && value.is_object()) {
        for (auto field : value.get_object()) {
          int64_t by = 0;
          if (field.value.get(by) != simdjson::SUCCESS) {
            return InvalidArgument("'increment' of field '" + std::string(field.key) +
                                   "' must be an integer");
          }
          s.commands.push_back({"HINCRBY", k, std::string(field.key), std::to_string(by)});
        }
      } else if (name == "set" && kind == V::kHash && value.is_object()) {
        std::vector<std::string> hset = {"HSET", k};
        for (auto field : value.get_object()) {
          ASSIGN_OR_RETURN(std::string v, RedisString(field.value));
          hset.emplace_back(field.key);
          hset.push_back(std::move(v));
        }
        if (hset.size() > 2) s.commands.push_back(std::move(hset));
      } else {
        return InvalidArgument("'" + std::string(name) + "' is no change " + entity_.name +
                               "'s keys take (a counter takes increment; a hash takes "
                               "increment and set)");
      }
    }
    return Status::Ok();
  }

  void Discard() override { staged_.clear(); }

  Status Delete(const store::RecordKey& key) override {
    if (key.size() != 1) return InvalidArgument(entity_.name + ": a Redis key has one part");
    Staged s;
    s.remove = true;
    s.commands.push_back({"DEL", key[0]});
    staged_[key[0]] = std::move(s);
    return Status::Ok();
  }

  Status Flush() override {
    if (staged_.empty()) return Status::Ok();
    if (!topology_) {
      ASSIGN_OR_RETURN(RedisTopology t, DiscoverTopology(seed_));
      topology_ = std::move(t);
    }
    std::map<const RedisNode*, std::vector<const Staged*>> by_node;
    for (const auto& [key, s] : staged_) {
      const RedisNode* node = topology_->NodeFor(key);
      if (node == nullptr)
        return Unavailable("redis " + seed_.Describe() + ": no master for a key");
      by_node[node].push_back(&s);
    }
    for (const auto& [node, writes] : by_node) {
      auto& conn = connections_[node->PartitionId()];
      if (conn == nullptr) {
        ASSIGN_OR_RETURN(conn, RedisConnection::Connect(node->endpoint));
      }
      for (const Staged* s : writes) {
        conn->Append({"MULTI"});
        for (const auto& c : s->commands) {
          std::vector<std::string_view> args(c.begin(), c.end());
          conn->Append(args);
        }
        conn->Append({"EXEC"});
      }
      Result<std::vector<Reply>> replies = conn->ReadAll();
      if (!replies.ok()) {
        connections_.erase(node->PartitionId());
        topology_.reset();
        return replies.status();
      }
      for (const Reply& r : *replies) {
        if (r->type == REDIS_REPLY_ERROR) {
          return FailedPrecondition("redis " + node->endpoint.Describe() + ": writing " +
                                    entity_.name + ": " + std::string(ReplyText(r.get())));
        }
      }
    }
    staged_.clear();
    return Status::Ok();
  }

 private:
  RedisEndpoint seed_;
  const spec::EntitySpec& entity_;
  simdjson::dom::parser parser_;
  std::map<std::string, Staged> staged_;  // key -> its last write
  std::optional<RedisTopology> topology_;
  std::map<std::string, std::unique_ptr<RedisConnection>> connections_;
};

}  // namespace

std::unique_ptr<store::Writer> NewRedisWriter(const RedisEndpoint& seed,
                                              const spec::EntitySpec& entity) {
  return std::make_unique<RedisWriter>(seed, entity);
}

}  // namespace cutover::redis_store
