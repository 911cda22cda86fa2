// The audit's scan of a Redis deployment: SCAN per master, one pipelined
// round trip per page for types, TTLs and the sampled keys' memory.
#include "stores/redis/redis_audit_scan.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stores/redis/redis_connection.h"
#include "stores/redis/redis_topology.h"

namespace cutover::redis_store {
namespace {

bool IsRedirect(const redisReply* r) {
  if (r->type != REDIS_REPLY_ERROR) return false;
  const std::string_view text = ReplyText(r);
  return text.starts_with("MOVED ") || text.starts_with("ASK ");
}

// Queues the reads of `key`; with `asking` each one follows ASKING, which
// lets a node answer for a slot it is importing.
void AppendReads(RedisConnection& conn, const store::ScannedKey& key, bool asking) {
  const std::string_view name = key.name;
  if (asking) conn.Append({"ASKING"});
  conn.Append({"TYPE", name});
  if (asking) conn.Append({"ASKING"});
  conn.Append({"PTTL", name});
  if (key.measure) {
    if (asking) conn.Append({"ASKING"});
    conn.Append({"MEMORY", "USAGE", name, "SAMPLES", "0"});
  }
}

// Applies the replies of one key's reads, starting at replies[*at].
// Returns false when the node redirected the key elsewhere.
bool ApplyReads(const std::vector<Reply>& replies, size_t* at, bool asking,
                store::ScannedKey& key) {
  auto next = [&]() -> const redisReply* {
    if (asking) ++*at;  // ASKING's +OK
    return replies[(*at)++].get();
  };
  const redisReply* type = next();
  const redisReply* ttl = next();
  const redisReply* memory = key.measure ? next() : nullptr;
  if (IsRedirect(type) || IsRedirect(ttl)) return false;
  key.state = store::ScannedKey::State::kPresent;
  key.type = type->type == REDIS_REPLY_STATUS ? std::string(ReplyText(type)) : "unknown";
  key.ttl_ms = ttl->type == REDIS_REPLY_INTEGER ? ttl->integer : -1;
  // PTTL -2: the key no longer exists (deleted or expired since SCAN).
  if (key.type == "none" || (ttl->type == REDIS_REPLY_INTEGER && ttl->integer == -2)) {
    key.state = store::ScannedKey::State::kGone;
    key.ttl_ms = -1;
  }
  key.memory_bytes = -1;
  if (memory != nullptr && memory->type == REDIS_REPLY_INTEGER &&
      key.state == store::ScannedKey::State::kPresent) {
    key.memory_bytes = memory->integer;
  }
  return true;
}

// Reads the types, TTLs and memory of one page, then the keys a node
// redirected once more after ASKING.
Status ReadPage(RedisConnection& conn, bool cluster, std::vector<store::ScannedKey>& page) {
  for (const store::ScannedKey& key : page) AppendReads(conn, key, false);
  ASSIGN_OR_RETURN(std::vector<Reply> replies, conn.ReadAll());
  std::vector<size_t> redirected;
  size_t at = 0;
  for (size_t i = 0; i < page.size(); ++i) {
    if (!ApplyReads(replies, &at, false, page[i])) redirected.push_back(i);
  }
  if (redirected.empty()) return Status::Ok();
  if (cluster) {
    for (size_t i : redirected) AppendReads(conn, page[i], true);
    ASSIGN_OR_RETURN(replies, conn.ReadAll());
    at = 0;
    std::vector<size_t> still;
    for (size_t i : redirected) {
      if (!ApplyReads(replies, &at, true, page[i])) still.push_back(i);
    }
    redirected = std::move(still);
  }
  for (size_t i : redirected) {
    page[i].state = store::ScannedKey::State::kElsewhere;
    page[i].memory_bytes = -1;
  }
  return Status::Ok();
}

}  // namespace

Status ScanRedisKeyspace(const RedisEndpoint& seed, const store::KeyspaceScanOptions& options,
                         store::KeyspaceVisitor& visitor) {
  ASSIGN_OR_RETURN(RedisTopology topology, DiscoverTopology(seed));
  store::KeyspaceOverview overview;
  overview.cluster = topology.cluster;
  std::vector<std::unique_ptr<RedisConnection>> connections;
  for (const RedisNode& node : topology.masters) {
    ASSIGN_OR_RETURN(auto conn, RedisConnection::Connect(node.endpoint));
    ASSIGN_OR_RETURN(Reply size, conn->Run({"DBSIZE"}));
    overview.nodes.push_back(
        {node.endpoint.Describe(), size->type == REDIS_REPLY_INTEGER ? size->integer : 0});
    connections.push_back(std::move(conn));
  }
  visitor.Start(overview);
  const std::string count = std::to_string(options.scan_count > 0 ? options.scan_count : 1000);
  std::vector<store::ScannedKey> page;
  for (auto& conn : connections) {
    std::string cursor = "0";
    do {
      ASSIGN_OR_RETURN(Reply reply, conn->Run({"SCAN", cursor, "COUNT", count}));
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        return Internal("redis " + conn->where() + ": SCAN answered an unexpected reply");
      }
      cursor = std::string(ReplyText(reply->element[0]));
      const redisReply* found = reply->element[1];
      if (found->elements == 0) continue;
      page.clear();
      page.resize(found->elements);
      for (size_t i = 0; i < found->elements; ++i) {
        page[i].name = std::string(ReplyText(found->element[i]));
      }
      reply.reset();
      visitor.Admit(page);
      RETURN_IF_ERROR(ReadPage(*conn, overview.cluster, page));
      visitor.Visit(page);
    } while (cursor != "0");
  }
  return Status::Ok();
}

}  // namespace cutover::redis_store
