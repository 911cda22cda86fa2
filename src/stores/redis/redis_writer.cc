// Whole-key writes into Redis from key documents, one MULTI/EXEC per key.
#include "stores/redis/redis_writer.h"

#include <simdjson.h>

#include <chrono>
#include <map>

#include "stores/redis/redis_connection.h"
#include "stores/redis/redis_topology.h"
#include "stores/redis/written_value.h"

namespace cutover::redis_store {
namespace {

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
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    ASSIGN_OR_RETURN(
        const RedisValue value,
        WrittenValue(entity_, key[0], rows.columns[doc_col].BytesAt(row), now_ms, &parser_));
    Staged s;
    s.commands = CommandsFor(value);
    const std::string& k = key[0];
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
          return ReplyError("redis " + node->endpoint.Describe() + ": writing " + entity_.name,
                            r.get());
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
