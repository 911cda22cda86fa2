// Whole-key writes into Redis from key documents, one MULTI/EXEC per key.
#include "stores/redis/redis_writer.h"

#include <simdjson.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>

#include "stores/redis/redis_connection.h"
#include "stores/redis/redis_document.h"
#include "stores/redis/redis_topology.h"
#include "stores/redis/redis_value.h"
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

  bool MayLandInPart() const override { return true; }

  bool ReadBackWrites() override {
    read_back_ = true;
    connections_.clear();  // each learns the server's version (PEXPIRETIME?) when it opens
    return true;
  }

  const std::map<store::RecordKey, Written>& written() const override { return written_; }

  Status Delete(const store::RecordKey& key) override {
    if (key.size() != 1) return InvalidArgument(entity_.name + ": a Redis key has one part");
    Staged s;
    s.remove = true;
    s.commands.push_back({"DEL", key[0]});
    staged_[key[0]] = std::move(s);
    return Status::Ok();
  }

  Status Flush() override {
    written_.clear();
    if (staged_.empty()) return Status::Ok();
    if (!topology_) {
      ASSIGN_OR_RETURN(RedisTopology t, DiscoverTopology(seed_));
      topology_ = std::move(t);
    }
    std::map<const RedisNode*, std::vector<const std::pair<const std::string, Staged>*>> by_node;
    for (const auto& staged : staged_) {
      const RedisNode* node = topology_->NodeFor(staged.first);
      if (node == nullptr)
        return Unavailable("redis " + seed_.Describe() + ": no master for a key");
      by_node[node].push_back(&staged);
    }
    std::map<store::RecordKey, Written> written;
    for (const auto& [node, writes] : by_node) {
      Status st = FlushNode(*node, writes, &written);
      if (!st.ok()) return st;
    }
    staged_.clear();
    written_ = std::move(written);
    return Status::Ok();
  }

 private:
  // The key's type as the entity's kind stores it.
  std::string_view StoredType() const {
    using V = spec::RedisKeySpec::Value;
    switch (entity_.redis->value) {
      case V::kHash:
        return "hash";
      case V::kSet:
        return "set";
      case V::kList:
        return "list";
      case V::kZset:
        return "zset";
      default:
        return "string";
    }
  }

  // One pipelined round trip to `node`: each key's MULTI, its commands (and
  // with read_back_ its read, inside the same transaction), EXEC. An error a
  // command meets inside EXEC (an INCRBY of a value that is no integer) is
  // the flush's error too: EXEC ran the key's other commands all the same.
  Status FlushNode(const RedisNode& node,
                   const std::vector<const std::pair<const std::string, Staged>*>& writes,
                   std::map<store::RecordKey, Written>* written) {
    auto& conn = connections_[node.PartitionId()];
    if (conn == nullptr) {
      ASSIGN_OR_RETURN(conn, RedisConnection::Connect(node.endpoint));
      if (read_back_) {
        Result<std::string> version = ServerVersion(*conn);
        if (!version.ok()) {
          connections_.erase(node.PartitionId());
          return version.status();
        }
        read_options_[node.PartitionId()].has_pexpiretime = std::atoi(version->c_str()) >= 7;
      }
    }
    std::vector<std::vector<std::string>> reads;
    for (const auto* w : writes) {
      conn->Append({"MULTI"});
      for (const auto& c : w->second.commands) {
        std::vector<std::string_view> args(c.begin(), c.end());
        conn->Append(args);
      }
      if (read_back_) {
        reads.clear();
        AppendReadInTransaction(w->first, StoredType(), read_options_[node.PartitionId()], &reads);
        for (const auto& c : reads) {
          std::vector<std::string_view> args(c.begin(), c.end());
          conn->Append(args);
        }
      }
      conn->Append({"EXEC"});
    }
    Result<std::vector<Reply>> replies = conn->ReadAll();
    if (!replies.ok()) {
      connections_.erase(node.PartitionId());
      topology_.reset();
      return replies.status();
    }
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    const std::string where = "redis " + node.endpoint.Describe() + ": writing " + entity_.name;
    for (const Reply& r : *replies) {
      if (r->type == REDIS_REPLY_ERROR) return ReplyError(where, r.get());
    }
    const size_t read_replies = read_back_ ? kReadInTransactionReplies : 0;
    size_t at = 0;
    for (const auto* w : writes) {
      const size_t commands = w->second.commands.size();
      at += 1 + commands + read_replies;  // MULTI's +OK, then a +QUEUED each
      const redisReply* exec = (*replies)[at++].get();
      if (exec->type != REDIS_REPLY_ARRAY || exec->elements != commands + read_replies) {
        return Internal(where + ": EXEC answered " + std::to_string(exec->elements) +
                        " replies for " + std::to_string(commands + read_replies) + " commands");
      }
      for (size_t c = 0; c < commands; ++c) {
        if (exec->element[c]->type == REDIS_REPLY_ERROR) {
          return ReplyError(where + " (the key's other commands ran)", exec->element[c]);
        }
      }
      if (!read_back_) continue;
      std::optional<RedisValue> state =
          TakeReadInTransaction(w->first, StoredType(), exec->element + commands,
                                read_options_[node.PartitionId()], now_ms);
      if (!state) continue;  // read back by the caller
      Written& out = (*written)[{w->first}];
      out.version = state->version;
      out.deleted = !state->exists();
      if (!out.deleted) AppendDocument(entity_, *state, &out.document);
    }
    return Status::Ok();
  }

  RedisEndpoint seed_;
  const spec::EntitySpec& entity_;
  simdjson::dom::parser parser_;
  std::map<std::string, Staged> staged_;  // key -> its last write
  std::optional<RedisTopology> topology_;
  std::map<std::string, std::unique_ptr<RedisConnection>> connections_;
  bool read_back_ = false;
  std::map<std::string, ReadOptions> read_options_;  // by node, as connections_
  std::map<store::RecordKey, Written> written_;      // of the last successful Flush
};

}  // namespace

std::unique_ptr<store::Writer> NewRedisWriter(const RedisEndpoint& seed,
                                              const spec::EntitySpec& entity) {
  return std::make_unique<RedisWriter>(seed, entity);
}

}  // namespace cutover::redis_store
